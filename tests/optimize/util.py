"""Helpers for rewrite tests: run chosen passes, compare graphs and values."""

from __future__ import annotations

import numpy as np

import symcomp as sc
from symcomp.graph import graph_inputs, toposort
from symcomp.graph.variable import Constant
from symcomp.optimize.engine import RewriteContext
from symcomp.optimize.mode import Mode
from symcomp.optimize.pipeline import check_rewrite
from symcomp.optimize.report import RewriteReport
from symcomp.printing import debugprint


def run_passes(outputs, *passes, inputs=None):
    """``outputs`` (a Variable or list) after running ``passes`` in order; also checks the
    graph invariants after each pass and that a second run changes nothing."""
    single = not isinstance(outputs, (list, tuple))
    outs = [outputs] if single else list(outputs)
    if inputs is None:
        inputs = [v for v in graph_inputs(outs) if not isinstance(v, Constant)]
    ctx = RewriteContext(inputs, RewriteReport(), on_error="raise")
    for p in passes:
        new = p.run(list(outs), ctx)
        check_rewrite(inputs, outs, new, p.name)
        outs = new
    again = outs
    for p in passes:
        again = p.run(list(again), ctx)
    assert all(a is b for a, b in zip(again, outs)), "rewriting is not idempotent"
    return outs[0] if single else outs


def assert_graph_equal(got, expected):
    """Nodes are hash-consed, so equal graphs over the same inputs are the same object."""
    if got is not expected:
        raise AssertionError(
            "graphs differ\n--- got:\n"
            + debugprint(got, file="str")
            + "\n--- expected:\n"
            + debugprint(expected, file="str")
        )


def count_nodes(outputs, op_type=None) -> int:
    outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    nodes = toposort(outs)
    if op_type is None:
        return len(nodes)
    return sum(
        1
        for n in nodes
        if isinstance(n.op, op_type) or isinstance(getattr(n.op, "scalar_op", None), op_type)
    )


def assert_same_values(before, after, inputs, values=None, rng=None, rtol=1e-7, atol=1e-12):
    """``before`` and ``after`` (graphs over ``inputs``) give the same values, both run
    with no rewrites in py mode, on ``values`` or random data from the input types."""
    rng = rng or np.random.default_rng(0)
    if values is None:
        values = [_random_value(i, rng) for i in inputs]
    plain = Mode(linker="py", optimizer=None)
    b = sc.function(inputs, before, mode=plain, on_unused_input="ignore")(*values)
    a = sc.function(inputs, after, mode=plain, on_unused_input="ignore")(*values)
    for x, y in zip(b if isinstance(b, list) else [b], a if isinstance(a, list) else [a]):
        np.testing.assert_allclose(y, x, rtol=rtol, atol=atol, equal_nan=True)
    return values


def _random_value(var, rng):
    shape = tuple(3 if s is None else s for s in var.type.shape)
    dtype = np.dtype(var.dtype)
    if dtype.kind == "f":
        return rng.uniform(0.1, 0.9, size=shape).astype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    return rng.integers(0, 3, size=shape).astype(dtype)
