"""Native execution: NativeRunner (one compiled C++ module per function), the debug runner
that checks it against the py runner, and ``make_runner``, which picks the runner for a mode.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Sequence

import numpy as np

from symcomp.compile.runner import PyRunner, node_error


class NativeRunner:
    """Runs a FunctionGraph through its generated C++ module; ``run(values) -> list`` like
    PyRunner. ``source`` is the generated C++; ``cache_entry`` the compile-cache entry."""

    def __init__(self, fgraph, profile=None, compiler=None, plan_key=None):
        from symcomp.codegen.toolchain import find_compiler

        self.fgraph = fgraph
        self.profile = profile
        compiler = compiler or find_compiler()
        if compiler is None:
            raise RuntimeError("no C++ compiler found")
        if plan_key is not None and not _symcomp_code_only(fgraph):
            plan_key = None  # code from outside symcomp: always generate (see the function)
        plan_parts = _plan_parts(plan_key, compiler) if plan_key is not None else None
        found = _planned_module(fgraph, plan_parts) if plan_parts is not None else None
        if found is not None:
            self.module, self.cache_entry, fallback, self._constants, self.reusable = found
            self._source = None
        else:
            fallback = self._generate(fgraph, compiler, plan_parts)
        if plan_parts is not None:
            n_nodes = len(fgraph.apply_nodes)
            _remember(plan_parts, (self.module, self.cache_entry, fallback, self.reusable, n_nodes))
        self.fallback_nodes = [fgraph.apply_nodes[k] for k in fallback]
        self._run = self.module.run
        fallback = set(fallback)
        self._thunks = node_thunks(fgraph.apply_nodes, fallback)

    def _generate(self, fgraph, compiler, plan_parts) -> tuple:
        """Generate the source and get its module (compiled on a cache miss); records the
        plan under ``plan_parts`` so the next process skips this. Returns the fallback nodes."""
        from symcomp.codegen.cache import get_module, put_pickled
        from symcomp.codegen.cpu.emitter import generate

        code = generate(fgraph)
        self._source = code.source
        self._constants = code.constants
        self.reusable = code.reusable
        self.module, self.cache_entry = get_module(
            code.source, code.name, compiler, description=_description(fgraph)
        )
        if plan_parts is not None:
            plan = (
                self.cache_entry.key,
                code.name,
                len(fgraph.apply_nodes),
                code.fallback,
                len(code.constants),
                code.reusable,
            )
            put_pickled(plan_parts, plan, name="native")
        return code.fallback

    @property
    def source(self) -> str:
        """The generated C++ (read from the cache entry when this process did not generate
        it)."""
        if self._source is None:
            self._source = (self.cache_entry.path / "source.cpp").read_text()
        return self._source

    def run(self, values: Sequence) -> list:
        start = time.perf_counter() if self.profile is not None else 0.0
        try:
            results = self._run(values, self._constants, self._thunks)
        except Exception as err:
            raise self._located(err, values) from err
        if self.profile is not None:
            self.profile.record(_WHOLE_FUNCTION, time.perf_counter() - start)
        return results

    def caller(self, n_explicit, containers, updated, copy, kind, keys, general, filter):
        """The module's native call path for a Function (see caller.hpp), or None when the
        module has none. ``copy[k]``: whether output k must be a fresh array (else it is
        borrowed: Out(borrow=True)). A borrowed output that the module can compute into a
        given buffer (``self.reusable``) is kept by the caller and written into by the next
        call when its shape and dtype still fit."""
        make = getattr(self.module, "caller", None)
        if make is None:
            return None
        reusable = set(self.reusable)
        codes = bytes(1 if c else 2 if k in reusable else 0 for k, c in enumerate(copy))
        return make(
            n_explicit,
            self._constants,
            self._thunks,
            containers,
            updated,
            codes,
            kind,
            keys,
            general,
            filter,
            self._raise_located,
        )

    def _raise_located(self, err: Exception, values) -> None:
        raise self._located(err, values) from err

    def _located(self, err: Exception, values) -> Exception:
        """``err`` raised by the module, re-raised as the py runner would: naming the node
        (its description, input shapes and dtypes, the user's source line)."""
        k = getattr(err, "_symcomp_node", None)
        if k is not None:
            node = self.fgraph.apply_nodes[k]
            return node_error(node, list(getattr(err, "_symcomp_inputs", ())), err)
        k = getattr(err, "_symcomp_input", None)
        if k is not None:
            var = self.fgraph.inputs[k]
            try:
                return type(err)(f"input {k} ({var}, {var.type}): {err}")
            except Exception:
                return err
        return err


def _symcomp_code_only(fgraph) -> bool:
    """Whether every op of ``fgraph`` (and every scalar op of its elementwise nodes) and its
    emitter are symcomp's own. A plan stands for generated source, and ops, emitters or
    templates from a library can change without symcomp's digests seeing it, so such graphs
    always generate their source (the module is still cached, keyed by that source)."""
    import sys

    from symcomp.scalar.composite import Composite

    # Emitters from outside symcomp register through the registry module, so while it is not
    # imported (a warm start loads modules without it, and without Jinja) there are none.
    registry = sys.modules.get("symcomp.codegen.cpu.registry")
    find_emitter = registry.find_emitter if registry is not None else lambda op: None
    ops = [node.op for node in fgraph.apply_nodes]
    while ops:
        op = ops.pop()
        emit = find_emitter(op)
        if not type(op).__module__.startswith("symcomp.") or (
            emit is not None and not emit.__module__.startswith("symcomp.")
        ):
            return False
        scalar = getattr(op, "scalar_op", None)
        if scalar is not None:
            ops.append(scalar)
        if isinstance(op, Composite):
            ops.extend(inner for inner, *_ in op.nodes)
        graphs = getattr(op, "inner_graphs", None)
        if graphs is not None:  # the ops of loops' and branches' inner graphs are code too
            ops.extend(node.op for g in graphs() for node in g.apply_nodes)
    return True


def _plan_parts(plan_key: str, compiler) -> list:
    """What the generated module of a function depends on beyond its rewritten graph (which
    ``plan_key`` stands for): the code-changing options, the compiler, the templates."""
    from symcomp.codegen.cache import templates_hash
    from symcomp.config import config

    options = (config.openmp, config.openmp_elemwise_minsize)
    return ["plan", plan_key, repr(options), compiler.identity(), templates_hash()]


# This process's runners by plan parts: (module, cache entry, fallback node indices,
# reusable output positions, number of nodes). A function built again in the same process
# (a new graph object from the same code) then touches no file and loads no module.
# Bounded: oldest out first.
_RUNNERS: dict[tuple, tuple] = {}
_RUNNERS_MAX = 512


def _remember(plan_parts, found: tuple) -> None:
    key = tuple(plan_parts)
    _RUNNERS.pop(key, None)
    _RUNNERS[key] = found
    while len(_RUNNERS) > _RUNNERS_MAX:
        del _RUNNERS[next(iter(_RUNNERS))]


def _planned_module(fgraph, plan_parts) -> tuple | None:
    """(module, cache entry, fallback node indices, constants, reusable output positions)
    recorded for ``plan_parts`` by an earlier compile (in this process, or in the cache if its
    module is still there); None otherwise."""
    from symcomp.codegen.cache import find_module, find_pickled

    known = _RUNNERS.get(tuple(plan_parts))
    if known is not None and known[4] == len(fgraph.apply_nodes):
        module, entry, fallback, reusable, _ = known
        return module, entry, fallback, tuple(_constant_arrays(fgraph)), reusable
    plan = find_pickled(plan_parts, name="native")
    if not isinstance(plan, tuple) or len(plan) != 6:
        return None
    key, name, n_nodes, fallback, n_constants, reusable = plan
    constants = _constant_arrays(fgraph)
    if n_nodes != len(fgraph.apply_nodes) or n_constants != len(constants):
        return None
    found = find_module(key, name)
    if found is None:
        return None
    return found[0], found[1], fallback, tuple(constants), reusable


def _constant_arrays(fgraph) -> list:
    """The graph's constants as the module takes them (``emitter.generate``'s order)."""
    inputs = set(fgraph.inputs)
    return [
        np.require(np.asarray(c.data, dtype=c.type.dtype), requirements=["A", "C"])
        for c in fgraph.constants
        if c not in inputs
    ]


class _WholeFunction:
    """Stands in for a node in profiles: native code is timed as a whole."""

    op = "native module"

    def __str__(self):
        return "native module (all nodes)"


_WHOLE_FUNCTION = _WholeFunction()


def _perform(node, *args):
    return node.op.perform(node, list(args))


def node_thunks(nodes, fallback=None) -> tuple:
    """The ``thunks`` argument of generated code for a graph's ``nodes`` (in their order):
    per node its Python perform where the code may call it (the indices in ``fallback``;
    every node when None: an inner graph's fallbacks are only known to its code), else None.
    A node with inner graphs (``op.inner_graphs()``: Scan, MapIndex, IfElse) gets an
    ``_InnerThunks`` of their thunks, callable as its perform."""
    thunks = []
    for k, node in enumerate(nodes):
        graphs = getattr(node.op, "inner_graphs", None)
        if graphs is not None:
            thunks.append(_InnerThunks(node, graphs()))
        elif fallback is None or k in fallback:
            thunks.append(functools.partial(_perform, node))
        else:
            thunks.append(None)
    return tuple(thunks)


class _InnerThunks(tuple):
    """The thunks of each of ``node``'s inner graphs (a tuple, read by the node's code), and,
    called, its perform (where the node runs in Python)."""

    def __new__(cls, node, graphs):
        self = super().__new__(cls, (node_thunks(g.apply_nodes) for g in graphs))
        self.node = node
        return self

    def __call__(self, *args):
        return _perform(self.node, *args)


def _description(fgraph) -> str:
    outs = ", ".join(str(o) for o in fgraph.outputs)
    return f"{len(fgraph.apply_nodes)} nodes -> {outs}"[:500]


class DebugRunner:
    """Runs the native and the py runner on the same inputs and raises ``DebugModeError``
    at the first value where they differ (dtype, shape, or values beyond the dtype's
    tolerance), naming the node that computed it."""

    def __init__(self, fgraph, profile=None):
        from symcomp.graph.fgraph import FunctionGraph

        self.fgraph = fgraph
        # Every intermediate is an output of the checked graph, so the first node whose
        # value differs is found (its inputs agreed, so it is the culprit).
        self.checked = [v for node in fgraph.apply_nodes for v in node.outputs]
        wide = FunctionGraph(fgraph.inputs, list(fgraph.outputs) + self.checked, check=False)
        self.native = NativeRunner(wide, profile)
        self.py = PyRunner(wide, None)
        self.source = self.native.source
        self.cache_entry = self.native.cache_entry
        self.n_outputs = len(fgraph.outputs)

    def run(self, values: Sequence) -> list:
        before = [np.array(v, copy=True) for v in values]
        got = self.native.run(values)
        for k, (v, b) in enumerate(zip(values, before)):
            if not _same(v, b, exact=True):
                raise DebugModeError(f"native code modified input {k} ({self.fgraph.inputs[k]})")
        expected = self.py.run(values)
        n = self.n_outputs
        for var, g, e in zip(self.checked, got[n:], expected[n:]):
            problem = _difference(g, e)
            if problem:
                node = var.owner
                raise DebugModeError(
                    f"native and py results differ: {problem}\nfor output {var.index} of "
                    f"node {node}\nInputs:\n{node.describe_inputs()}" + _where(node)
                )
        for k, (g, e) in enumerate(zip(got[:n], expected[:n])):
            problem = _difference(g, e)
            if problem:
                raise DebugModeError(f"output {k} differs between native and py: {problem}")
        return got[:n]


class DebugModeError(AssertionError):
    """mode="debug" found a difference between native and py results."""


def _where(node) -> str:
    from symcomp.tensor.errors import where

    return where(node.trace)


TOLERANCES = {"float64": (1e-10, 1e-12), "float32": (1e-4, 1e-5), "float16": (1e-2, 1e-3)}


def _difference(got, expected) -> str:
    """Why two results differ, or "" when they agree (NaNs agree with NaNs)."""
    got, expected = np.asarray(got), np.asarray(expected)
    if got.dtype != expected.dtype:
        return f"dtype {got.dtype} (native) vs {expected.dtype} (py)"
    if got.shape != expected.shape:
        return f"shape {got.shape} (native) vs {expected.shape} (py)"
    if _same(got, expected, exact=got.dtype.kind not in "fc"):
        return ""
    bad = np.flatnonzero(~_close(got, expected))
    j = np.unravel_index(int(bad[0]), got.shape) if got.ndim else ()
    return (
        f"{bad.size} of {got.size} values differ; at index {tuple(int(i) for i in j)}: "
        f"{got[j]!r} (native) vs {expected[j]!r} (py)"
    )


def _close(a, b):
    if a.dtype.kind not in "fc":
        return a == b
    rtol, atol = TOLERANCES.get(a.real.dtype.name, (1e-10, 1e-12))
    with np.errstate(all="ignore"):
        return np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def _same(a, b, exact: bool) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if exact and a.dtype.kind not in "fc":
        return bool(np.array_equal(a, b))
    if exact:
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(_close(a, b).all())


_warned_no_compiler = False


def make_runner(fgraph, mode: str, profile=None, plan_key=None):
    """The runner for ``mode``: "py" -> PyRunner; "native" -> NativeRunner when a C++
    compiler is found (else PyRunner, with one warning per process); "debug" -> DebugRunner
    (native checked against py; PyRunner, warned, without a compiler)."""
    global _warned_no_compiler
    if mode == "py":
        return PyRunner(fgraph, profile)
    from symcomp.codegen.toolchain import find_compiler

    if find_compiler() is None:
        if not _warned_no_compiler:
            _warned_no_compiler = True
            warnings.warn("no C++ compiler found; running in py mode", stacklevel=3)
        return PyRunner(fgraph, profile)
    try:
        if mode == "debug":
            return DebugRunner(fgraph, profile)
        return NativeRunner(fgraph, profile, plan_key=plan_key)
    except NotImplementedError as err:
        from symcomp.codegen.cpu.emitter import UnsupportedGraph  # raised there: imported

        if not isinstance(err, UnsupportedGraph):
            raise
        warnings.warn(f"{err}; this function runs in py mode", stacklevel=3)
        return PyRunner(fgraph, profile)
