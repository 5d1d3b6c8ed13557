"""Focused tests for symcomp/tensor/nnet: stability at extreme values, errors, gradients
of the composed losses. Values against NumPy are in optable_nnet.py."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.tensor.nnet import (
    CrossentropyCategorical1Hot,
    CrossentropyCategorical1HotGrad,
    LogSoftmax,
    Softmax,
)

nnet = st.nnet
HUGE = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, 999.0]])


def _run(outputs, inputs, *values):
    return sc.function(inputs, outputs, mode="py")(*values)


def test_exports():
    for name in (
        "sigmoid",
        "softplus",
        "relu",
        "softmax",
        "log_softmax",
        "categorical_crossentropy",
        "binary_crossentropy",
        "sigmoid_binary_crossentropy",
        "categorical_crossentropy_from_logits",
    ):
        assert callable(getattr(nnet, name)), name


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softmax_huge_values_stay_finite(dtype):
    x = st.matrix("x", dtype=dtype)
    sm, lsm = _run([nnet.softmax(x), nnet.log_softmax(x)], [x], HUGE.astype(dtype))
    assert np.isfinite(sm).all() and np.isfinite(lsm).all()
    np.testing.assert_allclose(sm.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(sm[1], 1 / 3, rtol=1e-6)
    assert lsm[0, 1] == pytest.approx(-2000.0)


def test_softmax_gradients_finite_at_huge_values():
    x = st.dmatrix("x")
    w = np.arange(9.0).reshape(3, 3)
    grads = [sc.grad((nnet.softmax(x) * w).sum(), x), sc.grad((nnet.log_softmax(x) * w).sum(), x)]
    for g in _run(grads, [x], HUGE):
        assert np.isfinite(g).all()


def test_softmax_axis_and_type_errors():
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        nnet.softmax(st.matrix(), axis=2)
    with pytest.raises(ValueError, match="out of range"):
        nnet.log_softmax(st.vector(), axis=-2)
    with pytest.raises(TypeError, match="real inputs"):
        nnet.softmax(st.matrix(dtype="complex128"))


def test_softmax_ops_normalize_axis_and_keep_static_shape():
    x = st.tensor3(shape=(2, None, 4))
    assert nnet.softmax(x, axis=-2) is nnet.softmax(x, axis=1)
    assert nnet.softmax(x).owner.op == Softmax(2)
    assert nnet.log_softmax(x).owner.op == LogSoftmax(2)
    assert nnet.softmax(x).type.shape == (2, None, 4)
    assert nnet.softmax(st.imatrix()).dtype == "float64"
    assert nnet.softmax(st.fmatrix()).dtype == "float32"


def test_crossentropy_1hot_errors():
    p = st.matrix("p", shape=(4, 3))
    with pytest.raises(TypeError, match="integer vector"):
        CrossentropyCategorical1Hot()(p, st.vector())
    with pytest.raises(ValueError, match="4 rows but true_dist has 5"):
        nnet.categorical_crossentropy(p, st.ivector(shape=(5,)))
    with pytest.raises(TypeError, match="categorical_crossentropy"):
        nnet.categorical_crossentropy(st.tensor3(), st.ivector())
    t = st.ivector("t")
    f = sc.function([p, t], nnet.categorical_crossentropy(p, t), mode="py")
    with pytest.raises(IndexError, match="out of range"):
        f(np.full((4, 3), 1 / 3), np.array([0, 1, 3, 0], dtype="int32"))
    with pytest.raises(IndexError):
        f(np.full((4, 3), 1 / 3), np.array([0, -1, 2, 0], dtype="int32"))


def test_crossentropy_1hot_builds_dedicated_ops():
    p, t = st.dmatrix("p"), st.lvector("t")
    cost = nnet.categorical_crossentropy(p, t)
    assert isinstance(cost.owner.op, CrossentropyCategorical1Hot)
    gp = sc.grad(cost.sum(), p)
    assert isinstance(gp.owner.op, CrossentropyCategorical1HotGrad)


def test_softmax_crossentropy_gradient_is_softmax_minus_onehot():
    z, t = st.dmatrix("z"), st.lvector("t")
    cost = nnet.categorical_crossentropy(nnet.softmax(z), t).sum()
    cost_logits = nnet.categorical_crossentropy_from_logits(z, t).sum()
    grads = sc.grad(cost, z), sc.grad(cost_logits, z)
    zv = np.random.default_rng(0).normal(size=(5, 4))
    tv = np.array([0, 3, 1, 1, 2])
    sm = np.exp(zv) / np.exp(zv).sum(1, keepdims=True)
    expected = sm - np.eye(4)[tv]
    for g in _run(list(grads), [z, t], zv, tv):
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12)


def test_crossentropy_from_logits_is_finite_at_huge_logits():
    z, t = st.dmatrix("z"), st.lvector("t")
    loss = nnet.categorical_crossentropy_from_logits(z, t)
    g = sc.grad(loss.sum(), z)
    lv, gv = _run([loss, g], [z, t], HUGE, np.array([1, 0, 2]))
    np.testing.assert_allclose(lv, [2000.0, np.log(3), 1 + np.log(2 + np.exp(-1))])
    assert np.isfinite(gv).all()


def test_sigmoid_binary_crossentropy_huge_logits():
    z, t = st.dvector("z"), st.dvector("t")
    loss = nnet.sigmoid_binary_crossentropy(z, t)
    g = sc.grad(loss.sum(), z)
    zv = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    tv = np.array([1.0, 0.0, 0.0, 1.0])
    lv, gv = _run([loss, g], [z, t], zv, tv)
    np.testing.assert_allclose(lv, [0, 0, 1000, 1000], atol=1e-12)
    np.testing.assert_allclose(gv, [0, 0, 1, -1], atol=1e-12)


def test_binary_crossentropy_matches_formula():
    o, t = st.dvector("o"), st.dvector("t")
    ov, tv = np.array([0.1, 0.5, 0.9]), np.array([0.0, 1.0, 0.3])
    expected = -(tv * np.log(ov) + (1 - tv) * np.log(1 - ov))
    np.testing.assert_allclose(_run(nnet.binary_crossentropy(o, t), [o, t], ov, tv), expected)


def test_relu_with_symbolic_alpha():
    x, a = st.dvector("x"), st.dscalar("a")
    xv = np.array([-2.0, -0.5, 0.5, 3.0])
    np.testing.assert_allclose(_run(nnet.relu(x, a), [x, a], xv, 0.25), [-0.5, -0.125, 0.5, 3.0])
    np.testing.assert_allclose(_run(sc.grad(nnet.relu(x).sum(), x), [x], xv), [0, 0, 1, 1])
    assert nnet.relu(st.ivector()).dtype == "int32"


def test_crossentropy_hessian_through_grad_op():
    # d2/dp2 of -log(p[i, t_i]) is 1 / p[i, t_i]**2 on the picked entries.
    p, t = st.dvector("p"), st.lvector("t")
    cost = nnet.categorical_crossentropy(p.reshape((1, 3)), t).sum()
    h = sc.hessian(cost, p)
    pv = np.array([0.2, 0.5, 0.3])
    np.testing.assert_allclose(_run(h, [p, t], pv, np.array([1])), np.diag([0, 4.0, 0]))


def test_crossentropy_1hot_native():
    # Both ops, float64 with int32 classes and float32 with uint8 classes, in one module.
    p, t, g = st.dmatrix("p"), st.ivector("t"), st.dvector("g")
    p32, t8, g32 = st.fmatrix("p32"), st.vector("t8", dtype="uint8"), st.fvector("g32")
    outs = [
        nnet.crossentropy_categorical_1hot(p, t),
        nnet.crossentropy_categorical_1hot_grad(g, p, t),
        nnet.crossentropy_categorical_1hot(p32, t8),
        nnet.crossentropy_categorical_1hot_grad(g32, p32, t8),
    ]
    f = sc.function([p, t, g, p32, t8, g32], outs, mode="native")
    assert not f.runner.fallback_nodes

    def expected(pv, tv, gv):
        rows = np.arange(pv.shape[0])
        gp = np.zeros(pv.shape, pv.dtype)
        gp[rows, tv] = -gv / pv[rows, tv]
        return -np.log(pv[rows, tv]), gp

    rng = np.random.default_rng(0)
    base = rng.uniform(0.05, 1.0, size=(6, 10))
    cases = [
        (base, np.array([0, 9, 3, 3, 1, 5]), rng.normal(size=6)),
        (base[::-2, ::-3], np.array([0, 3, 1]), rng.normal(size=1)),  # strided, g broadcasts
        (base[:, 1:2], np.zeros(6, int), rng.normal(size=6)),  # one class
        (np.zeros((0, 4)), np.zeros(0, int), np.zeros(0)),  # no rows
    ]
    for pv, tv, gv in cases:
        args = (pv, tv.astype("int32"), gv, pv.astype("float32"), tv.astype("uint8"))
        got = f(*args, gv.astype("float32"))
        for k, (pk, tk, gk) in enumerate([args[:3], (*args[3:], gv.astype("float32"))]):
            for have, want in zip(got[2 * k : 2 * k + 2], expected(pk, tk, gk)):
                assert have.dtype == want.dtype and have.shape == want.shape
                np.testing.assert_allclose(have, want, rtol=1e-6 if k else 1e-12)
    pv = np.full((3, 4), 0.25)
    good = (pv, np.array([0, 1, 2], "int32"), np.ones(3))
    good32 = (pv.astype("float32"), np.array([0, 1, 2], "uint8"), np.ones(3, "float32"))
    with pytest.raises(IndexError, match=r"CrossentropyCategorical1Hot.*true_dist\[1\] = 4"):
        f(pv, np.array([0, 4, 2], "int32"), np.ones(3), *good32)
    with pytest.raises(IndexError, match=r"\[0, 4\): true_dist\[2\] = -1"):
        f(pv, np.array([0, 1, -1], "int32"), np.ones(3), *good32)
    with pytest.raises(IndexError, match="true_dist\\[0\\] = 200"):
        f(*good, pv.astype("float32"), np.array([200, 0, 0], "uint8"), np.ones(3, "float32"))
    with pytest.raises(ValueError, match="3 rows but true_dist has 2 entries"):
        f(pv, np.array([0, 1], "int32"), np.ones(3), *good32)
    with pytest.raises(ValueError, match="g has 2 entries, expected 1 or 3"):
        f(pv, good[1], np.ones(2), *good32)


def test_softmax_any_axis_native():
    """Softmax/LogSoftmax along a middle, the first or all axes (strided rows), against the
    NumPy reference (mode="py"), with infinities and NaN, views, size-0 and size-1 dims."""
    xs = [st.tensor3("x64"), st.tensor3("x32", dtype="float32")]
    outs = []
    for x in xs:
        outs += [nnet.softmax(x, axis=0), nnet.log_softmax(x, axis=1), nnet.softmax(x, axis=None)]
        outs += [nnet.log_softmax(x, axis=None), nnet.softmax(x, axis=-1)]
    f = sc.function(xs, outs, mode="native")
    g = sc.function(xs, outs, mode="py")
    assert not f.runner.fallback_nodes
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 5, 6)) * 4
    a[1, 2, 3], a[2, :, 1], a[3, 1, :] = np.nan, np.inf, -np.inf
    for view in (a, a[::-1, :, ::2], a.transpose(2, 0, 1), a[:, :0], a[:1, :1]):
        got, want = f(view, view.astype("float32")), g(view, view.astype("float32"))
        for k, (have, ref) in enumerate(zip(got, want)):
            assert have.dtype == ref.dtype and have.shape == ref.shape, k
            tol = 1e-12 if k < 5 else 1e-5
            np.testing.assert_allclose(have, ref, rtol=tol, atol=tol, err_msg=str(k))
