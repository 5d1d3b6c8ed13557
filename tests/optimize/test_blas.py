"""The Gemm/Gemv ops and the blas pass: each rule's graph before and after, values and
gradients against the unrewritten graph."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.optimize.blas import blas
from symcomp.optimize.mode import Mode
from symcomp.tensor.blas import Gemm, Gemv, gemm, gemv
from symcomp.tensor.linalg import Dot
from tests.optimize.util import assert_graph_equal, assert_same_values, count_nodes, run_passes

PLAIN = Mode(linker="py", optimizer=None)


def _c(value, dtype="float64"):
    return st.constant(np.asarray(value, dtype=dtype))


def _zero(dtype="float64"):
    return _c(0, dtype)


def _one(dtype="float64"):
    return _c(1, dtype)


def _check(before, expected, inputs, wrt=None, rtol=1e-7):
    """Run the pass; the result is ``expected``; values and gradients agree."""
    after = run_passes(before, blas)
    assert_graph_equal(after, expected)
    assert_same_values(before, after, inputs, rtol=rtol)
    if wrt:
        gb = sc.grad(st.sum(before * before), wrt)
        ga = sc.grad(st.sum(after * after), wrt)
        assert_same_values(gb, ga, inputs, rtol=rtol)
    return after


# -- the ops --------------------------------------------------------------------------------


def test_gemm_static_shapes_and_str():
    C, a, b = st.tensor("float32", (None, 5)), st.fscalar("a"), st.fscalar("b")
    A, B = st.tensor("float32", (3, 4)), st.tensor("float32", (4, None))
    out = gemm(C, a, A, B, b)
    assert out.type.shape == (3, 5) and out.dtype == "float32"
    assert str(out.owner.op) == "Gemm{NN}"
    out = gemm(st.fvector(), a, st.tensor("float32", (4, 3)), B, b, trans_a=True)
    assert out.type.shape == (3, None) and str(out.owner.op) == "Gemm{TN}"
    v = gemv(st.fvector(), a, st.tensor("float32", (4, 3)), st.fvector(), b, trans=True)
    assert v.type.shape == (3,) and str(v.owner.op) == "Gemv{T}"


def test_gemm_python_scalars_take_the_dtype():
    A = st.fmatrix("A")
    out = gemm(st.fvector("c"), 2, A, A, 0.5)
    assert out.dtype == "float32"
    assert all(i.dtype == "float32" for i in out.owner.inputs)


def test_gemm_errors():
    f, d, i = st.fmatrix(), st.dmatrix(), st.imatrix()
    s = st.fscalar()
    with pytest.raises(TypeError, match="share one dtype"):
        gemm(f, s, f, d, s)
    with pytest.raises(TypeError, match="float32 or float64"):
        gemm(i, st.iscalar(), i, i, st.iscalar())
    with pytest.raises(TypeError, match="at most 2 dims"):
        gemm(st.ftensor3(), s, f, f, s)
    with pytest.raises(TypeError, match="A a matrix"):
        gemm(f, s, st.fvector(), f, s)
    with pytest.raises(TypeError, match="alpha, beta scalars"):
        gemm(f, st.fvector(), f, f, s)
    with pytest.raises(ValueError, match="not aligned"):
        gemm(f, s, st.tensor("float32", (2, 3)), st.tensor("float32", (4, 2)), s)
    with pytest.raises(TypeError, match="B a vector"):
        gemv(st.fvector(), s, f, f, s)


def test_nan_in_c_propagates_through_zero_beta():
    # The op is exactly beta * C + alpha * (A @ B): 0 * nan is nan (unlike BLAS's beta == 0).
    C, A, B = st.dmatrix("C"), st.dmatrix("A"), st.dmatrix("B")
    b = st.dscalar("b")
    fn = sc.function([C, A, B, b], gemm(C, 1.0, A, B, b), mode=PLAIN)
    got = fn(np.full((2, 2), np.nan), np.eye(2), np.eye(2), 0.0)
    assert np.isnan(got).all()


def test_gemm_gradient_of_a_repeated_input():
    # A @ A: each use contributes once, as for dot(A, A)
    A = st.dmatrix("A")
    before = st.sum(st.dot(A, A) * 2)
    after = st.sum(gemm(_zero(), 2.0, A, A, 0.0))
    assert_same_values(sc.grad(before, A), sc.grad(after, A), [A])


# -- transposes -----------------------------------------------------------------------------


def test_transposed_dot_to_gemm():
    A, B = st.dmatrix("A"), st.dmatrix("B")
    z, one = _zero(), _one()
    _check(st.dot(A.T, B), gemm(z, one, A, B, z, trans_a=True), [A, B], [A, B])
    _check(st.dot(A, B.T), gemm(z, one, A, B, z, trans_b=True), [A, B], [A, B])
    _check(A.T @ B.T, gemm(z, one, A, B, z, True, True), [A, B], [A, B])


def test_transposed_matrix_vector_to_gemv():
    A, v = st.dmatrix("A"), st.dvector("v")
    z, one = _zero(), _one()
    _check(st.dot(A.T, v), gemv(z, one, A, v, z, trans=True), [A, v], [A, v])
    _check(st.dot(v, A.T), gemv(z, one, A, v, z), [A, v], [A, v])


def test_plain_dots_are_kept():
    A, B, v = st.dmatrix("A"), st.dmatrix("B"), st.dvector("v")
    for before in (st.dot(A, B), st.dot(A, v), st.dot(v, A), st.dot(v, v)):
        assert run_passes(before, blas) is before


def test_gemm_absorbs_transpose():
    C, A, B = st.dmatrix("C"), st.dmatrix("A"), st.dmatrix("B")
    a, b = st.dscalar("a"), st.dscalar("b")
    before = gemm(C, a, A.T, B.T, b, trans_a=False, trans_b=True)
    _check(before, gemm(C, a, A, B, b, trans_a=True, trans_b=False), [C, a, A, B, b])
    v = st.dvector("v")
    before = gemv(v, a, A.T, v, b, trans=True)
    _check(before, gemv(v, a, A, v, b), [v, a, A, b])


# -- folds ----------------------------------------------------------------------------------


def test_bias_add_to_gemm():
    x, W, b = st.dmatrix("x"), st.dmatrix("W"), st.dvector("b")
    one = _one()
    for before in (st.dot(x, W) + b, b + x @ W):
        _check(before, gemm(b, one, x, W, one), [x, W, b], [x, W, b])


def test_scaled_sum_to_gemm():
    C, A, B = st.dmatrix("C"), st.dmatrix("A"), st.dmatrix("B")
    a, b = st.dscalar("a"), st.dscalar("b")
    _check(a * st.dot(A, B) + b * C, gemm(C, a, A, B, b), [C, a, A, B, b], [C, a, A, B, b])
    _check(C * b + st.dot(A, B) * a, gemm(C, a, A, B, b), [C, a, A, B, b])
    _check(2 * st.dot(A.T, B) + C, gemm(C, _c(2), A, B, _one(), trans_a=True), [C, A, B])


def test_sub_to_gemm():
    C, A, B = st.dmatrix("C"), st.dmatrix("A"), st.dmatrix("B")
    a = st.dscalar("a")
    _check(st.dot(A, B) - C, gemm(C, _one(), A, B, _c(-1)), [C, A, B], [C, A, B])
    _check(C - a * st.dot(A.T, B), gemm(C, -a, A, B, _one(), True), [C, a, A, B], [C, a, A, B])
    # the SGD update W - lr * dot(x.T, g) is one gemm
    W, x, g = st.dmatrix("W"), st.dmatrix("x"), st.dmatrix("g")
    _check(W - 0.1 * st.dot(x.T, g), gemm(W, _c(-0.1), x, g, _one(), True), [W, x, g])


def test_scaled_dot_to_gemm():
    A, B = st.dmatrix("A"), st.dmatrix("B")
    a = st.dscalar("a")
    z = _zero()
    _check(a * st.dot(A, B), gemm(z, a, A, B, z), [a, A, B], [a, A, B])
    _check(-st.dot(A, B), gemm(z, _c(-1), A, B, z), [A, B], [A, B])
    _check(2 * (3 * st.dot(A, B)), gemm(z, _c(6), A, B, z), [A, B])
    # a size-1 factor with dims is a scalar too
    s = st.tensor("float64", (1, 1), name="s")
    _check(s * st.dot(A, B), gemm(z, st.dimshuffle(s, ()), A, B, z), [s, A, B], [s, A, B])


def test_gemv_folds():
    A, v, c = st.dmatrix("A"), st.dvector("v"), st.dvector("c")
    a = st.dscalar("a")
    one = _one()
    _check(st.dot(A, v) + c, gemv(c, one, A, v, one), [A, v, c], [A, v, c])
    _check(st.dot(v, A) * a + c, gemv(c, a, A, v, one, trans=True), [A, v, c, a], [A, v, a])
    _check(c - st.dot(A, v), gemv(c, _c(-1), A, v, one), [A, v, c])


def test_float32_folds():
    x, W, b = st.fmatrix("x"), st.fmatrix("W"), st.fvector("b")
    one = _one("float32")
    _check(st.dot(x, W) + b, gemm(b, one, x, W, one), [x, W, b], rtol=1e-5)
    i = st.bvector("i")  # int8 bias: cast, as NumPy's add casts it
    _check(st.dot(x, W) + i, gemm(st.cast(i, "float32"), one, x, W, one), [x, W, i], rtol=1e-5)


def test_bias_that_broadcasts_the_product():
    # dot(x, w) is (m, 1); adding b (n,) makes (m, n): the Gemm output broadcasts too
    x, w, b = st.dmatrix("x"), st.dmatrix("w"), st.dvector("b")
    before = st.dot(x, w) + b
    after = _check(before, gemm(b, _one(), x, w, _one()), [x, w, b])
    vals = [np.ones((2, 3)), np.ones((3, 1)), np.arange(4.0)]
    got = assert_same_values(before, after, [x, w, b], values=vals)
    out = sc.function([x, w, b], after, mode=PLAIN)(*got)
    assert out.shape == (2, 4)
    gb = sc.grad(st.sum(before), [x, w, b])
    ga = sc.grad(st.sum(after), [x, w, b])
    assert_same_values(gb, ga, [x, w, b], values=vals)


def test_not_folded():
    x, W = st.dmatrix("x"), st.dmatrix("W")
    d = st.dot(x, W)
    # int products, a C of more dims, a non-scalar factor
    i = st.imatrix("i")
    t3 = st.dtensor3("t3")
    for before in (st.dot(i, i) + 1, d + t3, d * x):
        assert count_nodes(run_passes(before, blas), (Gemm, Gemv)) == 0
    f32 = st.dot(st.fmatrix(), st.fmatrix()) + st.dvector()  # the add widens to float64
    assert count_nodes(run_passes(f32, blas), (Gemm, Gemv)) == 0


def test_shared_product_is_not_recomputed():
    # a dot read by another node stays a Dot: folding it would compute it twice
    x, W, b = st.dmatrix("x"), st.dmatrix("W"), st.dvector("b")
    d = st.dot(x, W)
    outs = run_passes([d + b, st.tanh(d)], blas)
    assert count_nodes(outs, Gemm) == 0 and count_nodes(outs, Dot) == 1
    outs = run_passes([d + b, d], blas)  # an output is a reader too
    assert count_nodes(outs, Gemm) == 0
    s = 2 * d
    outs = run_passes([s + b, st.exp(s)], blas)  # the scaled product: folded alone once
    assert count_nodes(outs, Gemm) == 1 and count_nodes(outs, Dot) == 0
    assert_same_values([s + b, st.exp(s)], outs, [x, W, b])


def test_rule_can_be_excluded():
    x, W, b = st.dmatrix("x"), st.dmatrix("W"), st.dvector("b")
    mode = Mode(linker="py").including("blas").excluding("add_dot_to_gemm")
    fn = sc.function([x, W, b], st.dot(x, W) + b, mode=mode)
    assert not any(isinstance(n.op, Gemm) for n in fn.maker.fgraph.apply_nodes)


def test_default_pipeline_uses_trans_flags():
    A, B = st.dmatrix("A"), st.dmatrix("B")
    fn = sc.function([A, B], st.dot(A.T, B), mode=Mode(linker="py"))
    ops = [type(n.op).__name__ for n in fn.maker.fgraph.apply_nodes]
    assert ops == ["Gemm"]
    a, b = np.random.default_rng(0).random((2, 3, 4))
    np.testing.assert_allclose(fn(a, b), a.T @ b)
