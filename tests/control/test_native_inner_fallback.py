"""Loops and branches whose inner graphs hold an op with only a Python perform still compile
natively: the loop runs in C++ and calls just that node's perform at each step."""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.control.ifelse import IfElse
from symcomp.control.scan_op import Scan
from symcomp.graph import Apply, Op
from tests.control.pyops import PythonOnlyUnary

pytestmark = pytest.mark.cxx
CALLS = {"cube": 0}


class TwoArgError(Exception):
    """An exception type that cannot be rebuilt from one message."""

    def __init__(self, code, detail):
        super().__init__(code, detail)


@dataclass(frozen=True)
class PyCube(PythonOnlyUnary):
    """x**3, elementwise, in Python only (no emitter); -1 raises ValueError, -2 TwoArgError."""

    def perform(self, node, inputs):
        (x,) = inputs
        CALLS["cube"] += 1
        if np.any(x == -1):
            raise ValueError("PyCube got -1")
        if np.any(x == -2):
            raise TwoArgError(2, "PyCube got -2")
        return [x * x * x]

    def pullback(self, inputs, outputs, cotangents):
        return [PyCubeGrad()(inputs[0], cotangents[0])]


@dataclass(frozen=True)
class PyCubeGrad(Op):
    """3 x**2 g, in Python only: the reverse scan calls it too."""

    def make_node(self, x, g):
        x, g = st.as_tensor_variable(x), st.as_tensor_variable(g)
        return Apply.make(self, [x, g], [x.type])

    def perform(self, node, inputs):
        x, g = inputs
        return [np.asarray(3 * x * x * g, dtype=x.dtype)]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]


def _loops(xs, h0):
    """A scan whose step calls PyCube directly, inside a nested scan and inside an ifelse."""
    zero = st.as_tensor_variable(np.float64(0))

    def step(x_t, h):
        h_new = st.tanh(0.5 * h) + PyCube()(x_t)
        sums, _ = sc.scan(lambda a, acc: acc + PyCube()(a), sequences=x_t, outputs_info=zero)
        chosen = sc.ifelse(st.gt(x_t.sum(), 0), PyCube()(h_new), h_new - 1, computed=[h_new])
        return [h_new, sums[-1], chosen]

    (hs, inner, chosen), _ = sc.scan(step, sequences=xs, outputs_info=[h0, None, None])
    return hs, inner, chosen


def _expected(xs, h0):
    h, hs, inner, chosen = h0, [], [], []
    for x in xs:
        h = np.tanh(0.5 * h) + x**3
        hs.append(h)
        inner.append((x**3).sum())
        chosen.append(h**3 if x.sum() > 0 else h - 1)
    if not hs:  # a per-step output's unknown lengths count as 0 then (as in py mode)
        return np.zeros((0,) + h0.shape), np.zeros(0), np.zeros((0, 0))
    return np.stack(hs), np.array(inner), np.stack(chosen)


@pytest.fixture(scope="module")
def compiled():
    xs, h0, x32 = st.dmatrix("xs"), st.dvector("h0"), st.fvector("x32")
    cubes32, _ = sc.scan(lambda a: PyCube()(a) * 2, sequences=x32)
    f = sc.function([xs, h0, x32], [*_loops(xs, h0), cubes32], mode="native")
    return f


def _check(got, want):
    got = np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = 1e-5 if want.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_scan_with_python_only_op_compiles_natively(compiled):
    f = compiled
    scans = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Scan)]
    assert scans and not set(scans) & set(f.runner.fallback_nodes)
    assert not f.runner.fallback_nodes
    assert "PyCube: 1 inputs" in f.source and "[Python perform]" in f.source
    rng = np.random.default_rng(0)
    base = rng.normal(size=(7, 6))
    cases = [
        (base[:, :3], rng.normal(size=3)),  # strided rows
        (base[::-2, ::2], rng.normal(size=3)),  # negative stride
        (base[:1, :3].copy(), rng.normal(size=3)),  # one step
        (np.zeros((0, 2)), np.ones(2)),  # zero steps
        (base[:3, 2:3], rng.normal(size=1)),  # size-1 rows
        # rows past the size where kernels release the GIL: it is back for the performs
        (rng.uniform(0.1, 1.0, size=(2, 20000)), rng.normal(size=20000)),
    ]
    for xs, h0 in cases:
        x32 = xs[:, 0].astype(np.float32) if xs.shape[1] else np.zeros(xs.shape[0], np.float32)
        CALLS["cube"] = 0
        got = f(xs, h0, x32)
        for g, w in zip(got, _expected(xs, h0)):
            _check(g, w)
        _check(got[3], (x32**3 * 2).astype(np.float32))
        n = xs.shape[0]
        # per step: the step's cube, one per nested step, the then branch when taken; x32
        taken = int((xs.sum(axis=1) > 0).sum())
        assert CALLS["cube"] == n + n * xs.shape[1] + taken + n


def test_gradient_through_python_only_ops():
    def cost(xs, h0):
        def step(x_t, h):
            return st.tanh(PyCube()(h) * 0.3 + x_t)

        hs, _ = sc.scan(step, sequences=xs, outputs_info=h0)
        return hs[-1] * hs.sum(axis=0)

    rng = np.random.default_rng(1)
    sc.verify_grad(cost, [rng.normal(size=(4, 3)), rng.normal(size=3)], n_tests=1, mode="native")
    xs, h0 = st.dmatrix("xs"), st.dvector("h0")
    g = sc.grad(cost(xs, h0).sum(), [xs, h0])
    f = sc.function([xs, h0], g, mode="native")
    loops = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Scan)]
    assert len(loops) == 2 and not f.runner.fallback_nodes  # forward and reverse scan


def test_inner_perform_errors_name_the_node_and_step(compiled):
    f = compiled
    xs, h0, x32 = np.ones((5, 3)), np.zeros(3), np.ones(5, np.float32)
    xs[3, 1] = -1.0
    refs = [sys.getrefcount(a) for a in (xs, h0, x32)]
    for _ in range(3):
        with pytest.raises(ValueError) as info:
            f(xs, h0, x32)
        text = str(info.value)
        assert "PyCube got -1" in text
        assert "Inner node that caused the error (step 3): PyCube: 1 inputs" in text
        assert "input 0: shape (3,), dtype float64" in text
        assert "Apply node that caused the error: Scan" in text
        del info
    xs[3, 1] = -2.0  # a type that cannot take one message: raised as it was
    with pytest.raises(TwoArgError) as info:
        f(xs, h0, x32)
    assert "PyCube got -2" in str(info.value)
    del info
    gc.collect()
    assert [sys.getrefcount(a) for a in (xs, h0, x32)] == refs
    xs[3, 1] = 1.0  # the function still works after the errors
    for g, w in zip(f(xs, h0, x32), _expected(xs, h0)):
        _check(g, w)


def test_ifelse_branch_with_python_only_op():
    c, x = st.dscalar("c"), st.dvector("x")
    f = sc.function([c, x], sc.ifelse(st.gt(c, 0), PyCube()(x) + 1, x * 2), mode="native")
    assert not f.runner.fallback_nodes
    assert [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, IfElse)]
    xv = np.array([1.0, -3.0, 0.5])
    _check(f(1.0, xv), xv**3 + 1)
    _check(f(-1.0, xv), xv * 2)
    with pytest.raises(ValueError, match=r"PyCube got -1\nInner node that caused the error: "):
        f(1.0, np.array([-1.0]))
