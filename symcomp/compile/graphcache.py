"""The rewritten-graph cache: a new process compiling a known function skips rewriting.

Key: the graph as the user built it (ops, structure, input types, constant values, user
source lines) plus the rewrite options and symcomp's version. Value: the rewritten graph
in a flat form (a list of nodes referring to each other by position), so deep graphs
pickle without recursion, and with inputs referred to by position, so shared values are
never stored and the loaded graph runs on the caller's own variables.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from pathlib import Path

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.basic import toposort
from symcomp.graph.variable import Constant

FORMAT = 1

# The rewritten graphs (dumped) this process has seen, by key: a graph built again by the same
# code skips the cache store (no file system access). Bounded: oldest out first.
_SEEN: dict[str, bytes] = {}
_SEEN_MAX = 256


class _NotPicklable(Exception):
    """The rewritten graph is not cached: pickle cannot store it (e.g. an op class defined
    inside a function), or a rule failed while rewriting it."""


@functools.cache
def code_digest() -> str:
    """A digest of symcomp's own Python sources: rules, passes and ops decide what a graph
    rewrites into, so any change to them must miss the cache (about 5 ms, once)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def graph_key(inputs, outputs, options: tuple) -> str:
    """A digest of the graph as built (structure, ops, types, constants, source lines)."""
    return _graph_key(inputs, outputs, options)[0]


def _graph_key(inputs, outputs, options: tuple) -> tuple[str, int]:
    """(graph_key, number of nodes)."""
    h = hashlib.sha256(repr((FORMAT, options)).encode())
    ids: dict = {}
    for k, v in enumerate(inputs):
        ids[v] = f"i{k}"
        h.update(f"in {k} {v.type}".encode())
    nodes = toposort(outputs, blockers=inputs)
    for j, node in enumerate(nodes):
        args = []
        for v in node.inputs:
            if v not in ids:
                if not isinstance(v, Constant):
                    raise ValueError(f"{v} is neither an input nor a constant")
                ids[v] = f"c{len(ids)}"
                h.update(f"const {ids[v]} {v.type} {v.weak}".encode())
                h.update(np.ascontiguousarray(v.data).tobytes())
            args.append(ids[v])
        trace = node.trace
        where = f"{trace.filename}:{trace.lineno}" if trace is not None else "-"
        h.update(f"node {j} {node.op!r} {args} {where}".encode())
        for out in node.outputs:
            ids[out] = f"n{j}.{out.index}"
    for o in outputs:
        if o not in ids and isinstance(o, Constant):  # an output no node uses
            ids[o] = f"c{len(ids)}"
            h.update(f"const {ids[o]} {o.type} {o.weak}".encode())
            h.update(np.ascontiguousarray(o.data).tobytes())
    h.update(repr([ids.get(o, "?") for o in outputs]).encode())
    return h.hexdigest(), len(nodes)


def dump_graph(inputs, outputs) -> bytes:
    """The graph ``inputs -> outputs`` as bytes (flat; inputs by position)."""
    ref: dict = {v: ("in", k) for k, v in enumerate(inputs)}
    constants, nodes = [], []
    for node in toposort(outputs, blockers=inputs):
        args = []
        for v in node.inputs:
            if v not in ref:
                ref[v] = ("const", len(constants))
                constants.append((v.type, v.data, v.weak, v.name))
            args.append(ref[v])
        for out in node.outputs:
            ref[out] = ("node", len(nodes), out.index)
        nodes.append((node.op, tuple(args), tuple(o.type for o in node.outputs), node.trace))
    for o in outputs:
        if o not in ref:  # an output that is a constant
            ref[o] = ("const", len(constants))
            constants.append((o.type, o.data, o.weak, o.name))
    flat = (FORMAT, constants, nodes, [ref[o] for o in outputs])
    return pickle.dumps(flat, protocol=pickle.HIGHEST_PROTOCOL)


@functools.lru_cache(maxsize=64)
def _unpickled(data: bytes) -> tuple:
    """The flat graph in ``data``; memoized, as a process compiling one graph again (e.g.
    a new model instance) reads the same bytes. Read only: load_graph builds new nodes."""
    return pickle.loads(data)


def load_graph(data: bytes, inputs) -> list:
    """The outputs of a dumped graph, rebuilt on ``inputs`` (the caller's variables)."""
    return _load_graph(data, inputs)[0]


def _load_graph(data: bytes, inputs) -> tuple[list, int]:
    """(the outputs of a dumped graph rebuilt on ``inputs``, its number of nodes)."""
    fmt, constants, nodes, out_refs = _unpickled(data)
    if fmt != FORMAT:
        raise ValueError("graph cache format changed")
    consts = [type_.constant_class(type_, d, name, weak) for type_, d, weak, name in constants]
    built: list = []

    def get(r):
        if r[0] == "in":
            return inputs[r[1]]
        if r[0] == "const":
            return consts[r[1]]
        return built[r[1]].outputs[r[2]]

    for op, args, out_types, trace in nodes:
        built.append(Apply(op, [get(a) for a in args], out_types, trace=trace))
    return [get(r) for r in out_refs], len(built)


def cached_rewrite(inputs, outputs, mode, on_error, rewrite):
    """``rewrite(inputs, outputs, ...)`` through the cache; returns (outputs, report)."""
    from symcomp import __version__
    from symcomp.codegen.cache import get_pickled

    options = (
        mode.optimizer,
        tuple(mode.included),
        tuple(mode.excluded),
        on_error,
        __version__,
        code_digest(),
    )
    key, n_before = _graph_key(inputs, outputs, options)
    fresh: dict = {}

    def build() -> bytes:
        new, report = rewrite(
            inputs, outputs, mode.optimizer, mode.included, mode.excluded, on_error=on_error
        )
        fresh["result"] = (new, report)
        if report.failures:
            raise _NotPicklable  # a rule failed: don't keep a result that may differ later
        try:
            return dump_graph(inputs, new)
        except (pickle.PicklingError, AttributeError, TypeError) as err:
            raise _NotPicklable from err  # e.g. an op class defined inside a function

    data = _SEEN.get(key)
    if data is None:
        try:
            data = get_pickled([key], build, name="graph")
        except _NotPicklable:
            return fresh["result"]
        _SEEN[key] = data
        while len(_SEEN) > _SEEN_MAX:
            del _SEEN[next(iter(_SEEN))]
    if "result" in fresh:
        fresh["result"][1].graph_key = key
        return fresh["result"]
    from symcomp.optimize.report import RewriteReport

    report = RewriteReport()
    report.from_cache = True
    report.graph_key = key  # the rewritten graph is a function of this key
    new, n_after = _load_graph(data, inputs)
    report.nodes_before = n_before
    report.nodes_after = n_after  # every stored node is used: the dump is a toposort
    return new, report
