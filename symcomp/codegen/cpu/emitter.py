"""Emit one C++ extension module for a whole FunctionGraph.

Python decides everything here (slots, names, which nodes run natively, when to free
intermediates); ``templates/cpu/module.cpp.j2`` lays it out. The module exports
``run(inputs, constants, thunks) -> list``: ``inputs`` in ``fgraph.inputs`` order, the graph's
constants as arrays, and one entry per node in ``thunks`` (a Python callable for nodes that
run their ``perform``, else None; for nodes with inner graphs, the thunks of those graphs: see
``node_thunks`` in symcomp/compile/native.py). Outputs come back in ``fgraph.outputs`` order.

Output buffers: a node whose emitter returns ``ReusesOutput`` code may start with ``out[0]``
set to a buffer it may write its output into, and keeps it when its dtype and shape fit
(``sc::fit_or_empty``): the buffer of an input that ``fgraph.inplace_plan`` (see
symcomp.optimize.inplace) lets it overwrite, or else, for a function output, the array the
caller passes for reuse (``Out(borrow=True)``: the previous call's output).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from symcomp.codegen.cpu.registry import (
    TYPENUMS,
    ModuleBuilder,
    NodeCode,
    NodeContext,
    dims_literal,
    find_emitter,
    load_emitters,
)
from symcomp.codegen.templates import render
from symcomp.codegen.toolchain import SHARED_MARKER, UNIT_MARKER
from symcomp.graph.variable import Constant


class UnsupportedGraph(NotImplementedError):
    """The graph has values generated code cannot hold (e.g. an object dtype)."""


@dataclass(frozen=True)
class EmitOptions:
    """The settings that change generated code (so they are in the source, and the key)."""

    openmp: bool = True
    openmp_minsize: int = 200000
    nogil_minsize: int = 16384  # elements: below this, releasing the GIL costs more than it saves
    # A module whose node code is larger than this (characters of node bodies and the helper
    # functions they call) is split into `units` translation units of node functions plus one
    # of glue, which the toolchain compiles concurrently.
    split_above: int = 24000
    units: int = 2

    @classmethod
    def from_config(cls) -> EmitOptions:
        from symcomp.config import config

        return cls(openmp=config.openmp, openmp_minsize=config.openmp_elemwise_minsize)


@dataclass(frozen=True)
class Argument:
    slot: int
    typenum: str
    ndim: int
    dims: str


@dataclass(frozen=True)
class NodeSpec:
    index: int
    comment: str
    body: str
    inputs: str  # C initializer of the input array list
    n_inputs: int
    outputs: tuple  # slots
    out_size: int
    frees: tuple  # slots released after the node
    out_init: str = "{}"  # C initializer of the output array list (a candidate buffer)


@dataclass(frozen=True)
class ModuleSpec:
    title: str
    includes: tuple
    functions: tuple
    nodes: tuple
    units: tuple  # tuples of NodeSpec, one per translation unit of node functions
    marker: str  # the line between translation units; empty for a single unit
    declarations: tuple  # the glue unit's marker and node declarations when split
    linkage: str  # of the node functions: "static" in one unit, else hidden and external
    arguments: tuple
    constant_slots: tuple
    output_slots: tuple
    n_constants: int
    n_nodes: int
    n_slots: int


@dataclass(frozen=True)
class ModuleCode:
    """The generated source and what calling it needs."""

    source: str
    name: str  # readable, for the cache entry's directory
    constants: tuple  # arrays, in the module's constant order
    fallback: tuple  # indices of the nodes that run their Python perform
    reusable: tuple = ()  # positions in fgraph.outputs whose node takes a buffer to reuse


@dataclass(frozen=True)
class ReusesOutput(NodeCode):
    """Node code that takes a candidate output buffer: on entry ``out[0]`` is a new reference
    to a buffer (aligned, writeable, C-contiguous, sharing no memory with the node's inputs
    unless planned in place) or nullptr; the body sets ``out[0] = sc::fit_or_empty(out[0],
    nd, shape, typenum)`` before writing, and on failure may leave it for the caller to
    release. The node must write its output without reading it (so an input planned in
    place is read at each element before that element is written)."""


def generate(fgraph, options: EmitOptions | None = None) -> ModuleCode:
    """The C++ module computing ``fgraph`` (deterministic: same graph, same bytes)."""
    options = options or EmitOptions.from_config()
    load_emitters()
    slots = {v: k for k, v in enumerate(fgraph.variables)}
    for v in slots:
        if v.type.dtype not in TYPENUMS:
            raise UnsupportedGraph(f"native code cannot hold {v} of dtype {v.type.dtype}")
    inputs = set(fgraph.inputs)
    constants = [c for c in fgraph.constants if c not in inputs]
    builder = ModuleBuilder()
    nodes, fallback, reusable = [], [], []
    last_use = _last_uses(fgraph, slots)
    plan = getattr(fgraph, "inplace_plan", None)
    first_position = {}
    for j, o in enumerate(fgraph.outputs):
        first_position.setdefault(o, j)
    for k, node in enumerate(fgraph.apply_nodes):
        code = _emit_node(builder, node, options, k)
        if code is None:
            fallback.append(k)
            code = _fallback_code(node, k)
        out_init = "{}"
        if isinstance(code, ReusesOutput):
            out_init = _candidate(node, plan, first_position, len(fgraph.inputs), reusable)
        ins = [f"v[{slots[i]}]" for i in node.inputs] or ["nullptr"]
        nodes.append(
            NodeSpec(
                index=k,
                comment=_describe(node, k in fallback),
                body=code.body.rstrip("\n"),
                inputs="{" + ", ".join(ins) + "}",
                n_inputs=len(node.inputs),
                outputs=tuple(slots[o] for o in node.outputs),
                out_size=max(1, len(node.outputs)),
                frees=tuple(sorted(s for s, last in last_use.items() if last == k)),
                out_init=out_init,
            )
        )
    units = _units(nodes, builder.functions, options)
    spec = ModuleSpec(
        title=_title(fgraph),
        includes=tuple(builder.includes),
        # When split, the helper functions follow the marker of code shared by node units.
        functions=(SHARED_MARKER,) * (len(units) > 1) + tuple(builder.functions),
        nodes=tuple(nodes),
        units=units,
        marker=UNIT_MARKER if len(units) > 1 else "",
        declarations=(UNIT_MARKER,)
        + tuple(
            f"SC_NODE int node{n.index}(PyArrayObject* const*, PyArrayObject**, PyObject*);"
            for n in nodes
        )
        if len(units) > 1
        else (),
        linkage="SC_NODE" if len(units) > 1 else "static",
        arguments=tuple(
            Argument(slots[v], TYPENUMS[v.type.dtype], v.type.ndim, dims_literal(v.type.shape))
            for v in fgraph.inputs
        ),
        constant_slots=tuple(slots[c] for c in constants),
        output_slots=tuple(slots[o] for o in fgraph.outputs),
        n_constants=len(constants),
        n_nodes=len(fgraph.apply_nodes),
        n_slots=max(1, len(slots)),
    )
    source = render("cpu/module.cpp.j2", m=spec)
    arrays = tuple(_constant_array(c) for c in constants)
    return ModuleCode(
        source, _readable_name(fgraph), arrays, tuple(fallback), tuple(sorted(reusable))
    )


def _candidate(node, plan, first_position: dict, n_given: int, reusable: list) -> str:
    """The output initializer of a ``ReusesOutput`` node: its planned in-place input's buffer
    (checked at run time), or the buffer passed to reuse for the function output it computes
    (its first position in ``fgraph.outputs``; appended to ``reusable``), or none."""
    if plan is not None and node in plan.nodes:
        k = plan.nodes[node]
        return f"{{sc::inplace_candidate(in, {len(node.inputs)}, {k}, given, {n_given})}}"
    j = first_position.get(node.outputs[0])
    if j is None:
        return "{}"
    reusable.append(j)
    return f"{{sc::reuse_candidate(reuse, {j})}}"


_FUNCTION_NAME = re.compile(r"(\w+)\s*\(")


def _units(nodes: list, functions: list, options: EmitOptions) -> tuple:
    """The node functions spread over translation units of about equal compile cost
    (deterministic). A node's cost is the size of its body and of the helper functions it
    calls: each unit holds every helper, but the compiler only compiles those called there."""
    helpers = {}
    for fn in functions:
        for line in fn.splitlines():
            if line.startswith("static ") and (found := _FUNCTION_NAME.search(line)):
                helpers[found.group(1)] = len(fn)
                break
    costs = []
    for node in nodes:
        called = set(re.findall(r"\b(\w+)\s*\(", node.body))
        costs.append(len(node.body) + sum(size for name, size in helpers.items() if name in called))
    if options.units < 2 or sum(costs) <= options.split_above or len(nodes) < options.units:
        return (tuple(nodes),)
    loads = [0] * options.units
    members: list[list] = [[] for _ in range(options.units)]
    for k in sorted(range(len(nodes)), key=lambda k: (-costs[k], k)):
        unit = loads.index(min(loads))
        loads[unit] += costs[k]
        members[unit].append(k)
    return tuple(tuple(nodes[k] for k in sorted(ks)) for ks in members if ks)


def _emit_node(builder, node, options, index: int) -> NodeCode | None:
    fn = find_emitter(node.op)
    if fn is None:
        return None
    return fn(node, NodeContext(builder, node, options, index))


def _fallback_code(node, index: int) -> NodeCode:
    outs = node.outputs
    dims = [dims_literal(o.type.shape)[1:-1] for o in outs if o.type.ndim]
    body = render(
        "cpu/fallback.cpp.j2",
        index=index,
        n_inputs=len(node.inputs),
        n_outputs=len(outs),
        typenums="{" + ", ".join(TYPENUMS[o.type.dtype] for o in outs) + "}",
        ndims="{" + ", ".join(str(o.type.ndim) for o in outs) + "}",
        dims="{" + (", ".join(dims) or "-1") + "}",
    )
    return NodeCode(body)


def _last_uses(fgraph, slots) -> dict:
    """slot -> index of the last node reading it, for values the module may release early
    (not outputs)."""
    keep = {slots[o] for o in fgraph.outputs}
    last: dict = {}
    for k, node in enumerate(fgraph.apply_nodes):
        for i in node.inputs:
            last[slots[i]] = k
        for o in node.outputs:  # an unused output is released right away
            last.setdefault(slots[o], k)
    return {s: k for s, k in last.items() if s not in keep}


def _describe(node, fallback: bool) -> str:
    # Op names only (no variable names): the same computation gives the same source.
    text = f"{node.op}: {len(node.inputs)} inputs -> " + ", ".join(
        str(o.type) for o in node.outputs
    )
    text = text + (" [Python perform]" if fallback else "")
    return text.replace("\n", " ").replace("\\", "/")


def _op_name(op) -> str:
    scalar = getattr(op, "scalar_op", None)
    name = type(scalar if scalar is not None else op).__name__.lower()
    return re.sub(r"[^a-z0-9]+", "", name)


def _readable_name(fgraph) -> str:
    names: list[str] = []
    for node in fgraph.apply_nodes:
        n = _op_name(node.op)
        if n not in names:
            names.append(n)
    return ("_".join(names[:4]) or "identity")[:48]


def _title(fgraph) -> str:
    return (
        f"{len(fgraph.inputs)} inputs, {len(fgraph.outputs)} outputs, "
        f"{len(fgraph.apply_nodes)} nodes"
    )


def _constant_array(c: Constant) -> np.ndarray:
    return np.require(np.asarray(c.data, dtype=c.type.dtype), requirements=["A", "C"])


# -- inner graphs (Scan steps, IfElse branches) as functions of the same module ---------------

MAX_INNER_CONSTANT_BYTES = 1 << 16  # larger constants keep the node in Python


@dataclass(frozen=True)
class InnerConstant:
    slot: int
    typenum: str
    ndim: int
    dims: str
    data: str  # a C string literal of the bytes
    nbytes: int


@dataclass(frozen=True)
class InnerSpec:
    name: str
    title: str
    nodes: tuple
    input_slots: tuple
    constants: tuple
    output_slots: tuple
    n_slots: int


def emit_inner(builder: ModuleBuilder, fgraph, options: EmitOptions) -> str | None:
    """Add ``static int NAME(PyArrayObject* const* args, PyArrayObject** results,
    PyObject* thunks, npy_intp step)`` computing ``fgraph`` to the module and return NAME;
    None when a value or constant cannot be held, so the caller's node runs its Python
    perform. A node without native code calls its perform, as in ``generate``.

    args are in ``fgraph.inputs`` order (borrowed); results get one new reference per
    output; thunks has one entry per node of ``fgraph``; step (-1: none) is named by errors.
    Constants are built once, from their bytes in the source.
    """
    load_emitters()
    slots = {v: k for k, v in enumerate(fgraph.variables)}
    if any(v.type.dtype not in TYPENUMS or v.type.dtype == "object" for v in slots):
        return None
    inputs = set(fgraph.inputs)
    constants = []
    for c in fgraph.constants:
        if c in inputs:
            continue
        arr = _constant_array(c)
        if arr.nbytes > MAX_INNER_CONSTANT_BYTES:
            return None
        constants.append(
            InnerConstant(
                slots[c],
                TYPENUMS[c.type.dtype],
                arr.ndim,
                dims_literal(arr.shape),
                _bytes_literal(arr.tobytes()),
                arr.nbytes,
            )
        )
    last_use = _last_uses(fgraph, slots)
    nodes = []
    for k, node in enumerate(fgraph.apply_nodes):
        code = _emit_node(builder, node, options, k)
        fallback = code is None
        if fallback:
            code = _fallback_code(node, k)
        ins = [f"v[{slots[i]}]" for i in node.inputs] or ["nullptr"]
        nodes.append(
            NodeSpec(
                index=k,
                comment=_describe(node, fallback),
                body=code.body.rstrip("\n"),
                inputs="{" + ", ".join(ins) + "}",
                n_inputs=len(node.inputs),
                outputs=tuple(slots[o] for o in node.outputs),
                out_size=max(1, len(node.outputs)),
                frees=tuple(sorted(s for s, last in last_use.items() if last == k)),
            )
        )
    name = f"g{len(builder.functions)}"  # after the nodes: nested graphs come first
    spec = InnerSpec(
        name=name,
        title="inner graph: " + _title(fgraph),
        nodes=tuple(nodes),
        input_slots=tuple(slots[v] for v in fgraph.inputs),
        constants=tuple(constants),
        output_slots=tuple(slots[o] for o in fgraph.outputs),
        n_slots=max(1, len(slots)),
    )
    builder.include("symcomp/scan.hpp")
    builder.functions.append(render("cpu/scan_inner.cpp.j2", g=spec))
    return name


def _bytes_literal(data: bytes) -> str:
    if not data:
        return "nullptr"
    return '"' + "".join(f"\\x{b:02x}" for b in data) + '"'
