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

    def __init__(self, fgraph, profile=None, compiler=None):
        from symcomp.codegen.cache import get_module
        from symcomp.codegen.cpu.emitter import generate
        from symcomp.codegen.toolchain import find_compiler

        self.fgraph = fgraph
        self.profile = profile
        compiler = compiler or find_compiler()
        if compiler is None:
            raise RuntimeError("no C++ compiler found")
        code = generate(fgraph)
        self.source = code.source
        self.fallback_nodes = [fgraph.apply_nodes[k] for k in code.fallback]
        self.module, self.cache_entry = get_module(
            code.source, code.name, compiler, description=_description(fgraph)
        )
        self._run = self.module.run
        self._constants = code.constants
        fallback = set(code.fallback)
        self._thunks = tuple(
            functools.partial(_perform, node) if k in fallback else None
            for k, node in enumerate(fgraph.apply_nodes)
        )

    def run(self, values: Sequence) -> list:
        start = time.perf_counter() if self.profile is not None else 0.0
        try:
            results = self._run(values, self._constants, self._thunks)
        except Exception as err:
            raise self._located(err, values) from err
        if self.profile is not None:
            self.profile.record(_WHOLE_FUNCTION, time.perf_counter() - start)
        return results

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


class _WholeFunction:
    """Stands in for a node in profiles: native code is timed as a whole."""

    op = "native module"

    def __str__(self):
        return "native module (all nodes)"


_WHOLE_FUNCTION = _WholeFunction()


def _perform(node, *args):
    return node.op.perform(node, list(args))


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


def make_runner(fgraph, mode: str, profile=None):
    """The runner for ``mode``: "py" -> PyRunner; "native" -> NativeRunner when a C++
    compiler is found (else PyRunner, with one warning per process); "debug" -> DebugRunner
    (native checked against py; PyRunner, warned, without a compiler)."""
    global _warned_no_compiler
    if mode == "py":
        return PyRunner(fgraph, profile)
    from symcomp.codegen.cpu.emitter import UnsupportedGraph
    from symcomp.codegen.toolchain import find_compiler

    if find_compiler() is None:
        if not _warned_no_compiler:
            _warned_no_compiler = True
            warnings.warn("no C++ compiler found; running in py mode", stacklevel=3)
        return PyRunner(fgraph, profile)
    try:
        if mode == "debug":
            return DebugRunner(fgraph, profile)
        return NativeRunner(fgraph, profile)
    except UnsupportedGraph as err:
        warnings.warn(f"{err}; this function runs in py mode", stacklevel=3)
        return PyRunner(fgraph, profile)
