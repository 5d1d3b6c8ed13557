"""MapIndex (a loop over an index, stacking its body's outputs) compiled natively: values
against NumPy and the py mode, empty and negative lengths, bodies with Python-only ops."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.control.map import MapIndex
from tests.control.pyops import PythonOnlyUnary

pytestmark = pytest.mark.cxx


@dataclass(frozen=True)
class PySquare(PythonOnlyUnary):
    """x * x in Python only (no emitter)."""

    def perform(self, node, inputs):
        return [inputs[0] * inputs[0]]


def _maps(f):
    return [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, MapIndex)]


def _check(got, want, tol=1e-12):
    got = np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_jacobian_loop_native_matches_py_and_numpy():
    x, W, x32 = st.dvector("x"), st.dmatrix("W"), st.fvector("x32")
    b = sc.shared(np.zeros(1), name="b")  # read inside the body: an input of the node
    t = st.tanh(W @ x + b)
    y = t * x.sum()
    outs = [*sc.jacobian(y, [x, W, b]), sc.jacobian(st.exp(x32) * x32[::-1], x32)]
    f = sc.function([x, W, x32], outs, mode="native")
    g = sc.function([x, W, x32], outs, mode="py")
    assert len(_maps(f)) == 2 and not f.runner.fallback_nodes
    rng = np.random.default_rng(0)
    for n in (3, 1, 0):
        xv, Wv = rng.normal(size=n), rng.normal(size=(n, n))
        x32v = rng.normal(size=n + 1).astype(np.float32)[::-1]  # negative stride
        b.set_value(rng.normal(size=n))
        tv = np.tanh(Wv @ xv + b.get_value())
        d = (1 - tv**2) * xv.sum()
        want = [
            d[:, None] * Wv + tv[:, None],
            np.einsum("ij,k->ijk", np.diag(d), xv),
            np.diag(d),
            np.diag(np.exp(x32v) * x32v[::-1]) + np.fliplr(np.diag(np.exp(x32v))),
        ]
        native, py = f(xv, Wv, x32v), g(xv, Wv, x32v)
        for k, (a, p, w) in enumerate(zip(native, py, want)):
            tol = 1e-5 if k == 3 else 1e-12
            _check(a, p, tol)
            _check(a, w.astype(a.dtype), tol)


def test_map_body_with_python_only_op():
    n, v, s = st.lscalar("n"), st.dvector("v"), sc.shared(np.arange(3.0), name="s")
    i, w = st.lscalar("i"), st.dvector("w")
    ops = [
        MapIndex((i, w), (PySquare()(w) * i, i * 2, st.cast(i % 2, "bool"))),
        MapIndex((i, w), (w * s + i,)),  # reads a shared variable it does not take
    ]
    outs = [*ops[0](n, v), ops[1](n, v)]
    f = sc.function([n, v], outs, mode="native")
    g = sc.function([n, v], outs, mode="py")
    native_map, python_map = _maps(f)
    assert native_map not in f.runner.fallback_nodes and python_map in f.runner.fallback_nodes
    assert "[Python perform]" in f.source
    vv = np.array([1.5, -2.0, 0.5])
    for count in (4, 1, 0):
        idx = np.arange(count)
        want = [
            np.outer(idx, vv**2) if count else np.zeros((0, 0)),
            idx * 2,
            idx % 2 == 1,
            vv * np.arange(3.0) + idx[:, None] if count else np.zeros((0, 0)),
        ]
        for a, p, w_ in zip(f(count, vv), g(count, vv), want):
            _check(a, p)
            _check(a, w_)
    for fn in (f, g):
        with pytest.raises(ValueError, match="number of rows must be >= 0"):
            fn(-1, vv)
