"""Batch normalization: training (batch statistics) and inference (given statistics) modes
against NumPy, 2-d and 4-d, float32/float64, native and py; gradients by finite
differences; running averages through shared-variable updates; clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.gradient_check import verify_grad

native = pytest.mark.cxx
MODES = ["py", pytest.param("native", marks=native)]


def ref_bn_train(x, gamma, beta, eps, axes):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    shape = [1 if d in axes else n for d, n in enumerate(x.shape)]
    out = (x - mean) / np.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)
    return out, mean.squeeze(axis=axes), var.squeeze(axis=axes)


def _stat_shape(shape, axes):
    return tuple(n for d, n in enumerate(shape) if d not in axes)


TRAIN_SHAPES = [((8, 3, 5, 4), (0, 2, 3)), ((16, 5), (0,)), ((4, 1, 1, 1), (0, 2, 3))]


def _train_graph(shape, dtype):
    x = st.tensor(dtype, (None,) * len(shape), name="x")
    gamma = st.tensor(dtype, (None,), name="gamma")
    beta = st.tensor(dtype, (None,), name="beta")
    out, mean, var = st.nnet.batch_normalization_train(x, gamma, beta, epsilon=1e-3)
    return [x, gamma, beta], [out, mean, var]


def _train_inputs(shape, axes, dtype):
    rng = np.random.default_rng(0)
    xv = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    gv = rng.uniform(0.5, 2, _stat_shape(shape, axes)).astype(dtype)
    bv = rng.standard_normal(_stat_shape(shape, axes)).astype(dtype)
    return xv, gv, bv


@pytest.fixture(scope="module")
def native_all_shapes():
    """dtype -> one native function computing every TRAIN_SHAPES case, each of its own
    inputs: one g++ run per dtype, not one per shape. Built on first use."""
    built = {}

    def get(dtype):
        if dtype not in built:
            inputs, outputs = [], []
            for shape, _ in TRAIN_SHAPES:
                ins, outs = _train_graph(shape, dtype)
                inputs += ins
                outputs += outs
            built[dtype] = sc.function(inputs, outputs, mode="native")
        return built[dtype]

    return get


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,axes", TRAIN_SHAPES)
def test_batchnorm_train_matches_numpy(shape, axes, mode, dtype, native_all_shapes):
    if mode == "native":
        whole = native_all_shapes(dtype)
        k = TRAIN_SHAPES.index((shape, axes))
        rest = [_train_inputs(*case, dtype) for case in TRAIN_SHAPES]

        def f(*own):  # this shape's outputs; the others get their usual inputs
            args = [a for i, trio in enumerate(rest) for a in (own if i == k else trio)]
            return whole(*args)[3 * k : 3 * k + 3]

    else:
        f = sc.function(*_train_graph(shape, dtype), mode=mode)
    xv, gv, bv = _train_inputs(shape, axes, dtype)
    expected = ref_bn_train(xv.astype(np.float64), gv, bv, 1e-3, axes)
    tol = {"rtol": 1e-10, "atol": 1e-10} if dtype == "float64" else {"rtol": 1e-4, "atol": 1e-4}
    for got, e in zip(f(xv, gv, bv), expected):
        assert got.dtype == np.dtype(dtype) and got.shape == e.shape
        np.testing.assert_allclose(got, e, **tol)
    big = np.zeros(shape[:-1] + (2 * shape[-1],), dtype)
    big[..., ::2] = xv
    np.testing.assert_allclose(f(big[..., ::2], gv, bv)[0], expected[0], **tol)


@pytest.mark.parametrize("mode", MODES)
def test_batchnorm_test_mode_matches_numpy(mode):
    rng = np.random.default_rng(1)
    x = st.dtensor4("x")
    g, b, m, v = (st.dvector(n) for n in "gbmv")
    f = sc.function([x, g, b, m, v], st.nnet.batch_normalization_test(x, g, b, m, v), mode=mode)
    xv = rng.standard_normal((4, 3, 2, 5))
    gv, bv, mv = rng.standard_normal((3, 3))
    vv = rng.uniform(0.5, 2, 3)
    c = (slice(None), None, None)
    expected = (xv - mv[c]) / np.sqrt(vv[c] + 1e-4) * gv[c] + bv[c]
    np.testing.assert_allclose(f(xv, gv, bv, mv, vv), expected, rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(6, 2, 3, 3), (7, 4)])
def test_batchnorm_train_verify_grad(shape, mode):
    rng = np.random.default_rng(2)
    stat = (shape[1],)

    def fn(x, gamma, beta):
        out, mean, var = st.nnet.batch_normalization_train(x, gamma, beta)
        return out + 0.5 * mean.sum() + 0.25 * var.sum()

    pt = [rng.standard_normal(shape), rng.uniform(0.5, 2, stat), rng.standard_normal(stat)]
    verify_grad(fn, pt, rng=rng, mode=mode)


@pytest.mark.parametrize("mode", MODES)
def test_batchnorm_running_averages_with_updates(mode):
    """Training mode feeds running averages through shared-variable updates; test mode
    then uses them."""
    rng = np.random.default_rng(3)
    x = st.dmatrix("x")
    gamma, beta = sc.shared(np.ones(3)), sc.shared(np.zeros(3))
    rmean, rvar = sc.shared(np.zeros(3)), sc.shared(np.ones(3))
    out, mean, var = st.nnet.batch_normalization_train(x, gamma, beta)
    m = x.shape[0].astype("float64")
    f = sc.function(
        [x],
        out,
        updates=[(rmean, 0.9 * rmean + 0.1 * mean), (rvar, 0.9 * rvar + 0.1 * var * m / (m - 1))],
        mode=mode,
    )
    xv = rng.standard_normal((10, 3)) * 2 + 3
    f(xv)
    np.testing.assert_allclose(rmean.get_value(), 0.1 * xv.mean(0), rtol=1e-12)
    np.testing.assert_allclose(rvar.get_value(), 0.9 + 0.1 * xv.var(0, ddof=1), rtol=1e-12)


def test_batchnorm_bad_input_raises_clearly():
    with pytest.raises(TypeError, match="gamma must have 1 dims"):
        st.nnet.batch_normalization_train(st.dtensor4(), st.dmatrix(), st.dvector())
    with pytest.raises(ValueError, match="give axes"):
        st.nnet.batch_normalization_train(st.dtensor3(), st.dvector(), st.dvector())
    out, mean, _ = st.nnet.batch_normalization_train(
        st.dtensor3(), st.dmatrix(), st.dmatrix(), axes=(0,)
    )
    assert out.ndim == 3 and mean.ndim == 2
