"""Pooling and its gradient ops: native and py against a loop reference (Theano's
pool_2d semantics) for max/sum/average with and without padding, partial windows, strides,
float32/float64, non-contiguous inputs and size-1 dims; ties in max pooling; gradients by
finite differences; clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.gradient_check import verify_grad
from tests.tensor.nnet_configs import MODE_DTYPES, AllConfigs, native, noncontig
from tests.tensor.optable_conv import ref_pool_all

CONFIGS = [
    ((2, 3, 6, 5), {"ws": 2}),
    ((2, 3, 6, 5), {"ws": 2, "ignore_border": False}),
    ((2, 2, 7, 8), {"ws": 3, "stride": 2, "pad": (1, 2)}),
    ((2, 2, 7, 8), {"ws": (3, 2), "stride": (1, 2), "ignore_border": False}),
    ((3, 5, 6), {"ws": (2, 3), "stride": 1}),  # 3-d: pools the last two dims
    ((1, 1, 1, 4), {"ws": (1, 2)}),  # size-1 dims
    ((32, 16, 40, 40), {"ws": 2}),  # large enough for OpenMP
]
MODES = ["max", "sum", "average_inc_pad", "average_exc_pad"]


def _graph(shape, kw, dtype):
    x = st.tensor(dtype, (None,) * len(shape), name="x")
    gz = st.tensor(dtype, (None,) * len(shape), name="gz")
    outputs = []
    for pool_mode in MODES:
        y = st.nnet.pool_2d(x, **kw, mode=pool_mode)
        outputs += [y, *sc.grad(None, [x], known_grads={y: gz})]
    return [x, gz], outputs


def _inputs(shape, kw, dtype):
    rng = np.random.default_rng(0)
    xv = rng.standard_normal(shape).astype(dtype)
    y_ref, _ = ref_pool_all(xv.astype(np.float64), **kw)
    return xv, rng.standard_normal(y_ref.shape).astype(dtype)


@pytest.fixture(scope="module")
def native_all_configs():
    return AllConfigs(
        CONFIGS, lambda c, dtype: _graph(*c, dtype), lambda c, dtype: _inputs(*c, dtype)
    )


@pytest.mark.parametrize("mode,dtype", MODE_DTYPES)
@pytest.mark.parametrize("shape,kw", CONFIGS)
def test_pool_and_grad_match_loop_reference(shape, kw, mode, dtype, native_all_configs):
    """Every pooling mode of one geometry in one compiled function (y and gx per mode)."""
    if mode == "native":
        f = native_all_configs.outputs_of((shape, kw), dtype)
    else:
        inputs, outputs = _graph(shape, kw, dtype)
        f = sc.function(inputs, outputs, mode=mode)
    xv, gzv = _inputs(shape, kw, dtype)
    expected = []
    for pool_mode in MODES:
        expected += ref_pool_all(
            xv.astype(np.float64), gzv.astype(np.float64), **kw, mode=pool_mode
        )
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-5, "atol": 1e-5}
    for args in [(xv, gzv), (noncontig(xv), noncontig(gzv))]:
        got = f(*args)
        for k, (g, e) in enumerate(zip(got, expected)):
            label = f"{MODES[k // 2]} {'gx' if k % 2 else 'y'}"
            assert g.dtype == np.dtype(dtype), label
            np.testing.assert_allclose(g, e, err_msg=label, **tol)


@pytest.mark.parametrize("mode", ["py", pytest.param("native", marks=native)])
def test_max_pool_ties_route_to_every_maximum(mode):
    """As Theano/PyTensor's MaxPoolGrad: each position equal to the maximum gets gz."""
    x = st.dtensor4("x")
    y = st.nnet.max_pool_2d(x, (2, 2), stride=(1, 1))
    f = sc.function([x], sc.grad(y.sum(), x), mode=mode)
    xv = np.array([[[[1.0, 1.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.0, 0.0]]]])
    expected = np.array([[[[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]])
    np.testing.assert_array_equal(f(xv), expected)


@pytest.mark.parametrize("mode", ["py", pytest.param("native", marks=native)])
def test_max_pool_propagates_nan(mode):
    x = st.dmatrix("x")
    f = sc.function([x], st.nnet.max_pool_2d(x, 2), mode=mode)
    out = f(np.array([[1.0, np.nan], [3.0, 2.0]]))
    assert np.isnan(out[0, 0])


@pytest.mark.parametrize(
    "kw",
    [
        {"ws": 2},
        {"ws": 3, "stride": 2, "pad": 1, "mode": "average_exc_pad"},
        {"ws": 3, "stride": 2, "pad": 1, "mode": "average_inc_pad"},
        {"ws": (2, 3), "stride": 1, "ignore_border": False, "mode": "sum"},
    ],
)
@pytest.mark.parametrize("mode", ["py", pytest.param("native", marks=native)])
def test_pool_verify_grad(kw, mode):
    rng = np.random.default_rng(5)
    # distinct values: finite differences of max pooling need no ties
    xv = (rng.permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6) / 120.0).astype(np.float64)
    verify_grad(lambda a: st.nnet.pool_2d(a, **kw), [xv], rng=rng, mode=mode)


@pytest.mark.parametrize("pool_mode", ["average_inc_pad", "max"])
@pytest.mark.parametrize("mode", ["py", pytest.param("native", marks=native)])
def test_pool_second_derivative(pool_mode, mode):
    """Through AveragePoolGrad's pullback (a Pool2d) and MaxPoolGrad's (MaxPoolGradGrad)."""
    rng = np.random.default_rng(6)

    def fn(a):
        y = st.nnet.pool_2d(a, 3, stride=2, pad=(1, 1), mode=pool_mode)
        (g,) = sc.grad((y * y).sum(), [a])
        return (g * g).sum()

    # distinct values: finite differences of max pooling need no ties
    xv = rng.permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6) / 60.0
    verify_grad(fn, [xv], rng=rng, mode=mode)


@pytest.mark.parametrize("mode", ["py", pytest.param("native", marks=native)])
def test_pool_bad_input_raises_clearly(mode):
    x = st.dtensor4("x")
    f = sc.function([x], st.nnet.max_pool_2d(x, (3, 3)), mode=mode)
    with pytest.raises(ValueError, match=r"window \(3, 3\) is larger.*\(1, 1, 2, 5\)") as err:
        f(np.ones((1, 1, 2, 5)))
    assert "Pool2d" in str(err.value)
    with pytest.raises(ValueError, match="empty image"):
        f(np.ones((1, 1, 0, 5)))


def test_pool_bad_graph_raises_clearly():
    with pytest.raises(TypeError, match="at least 2 dims"):
        st.nnet.max_pool_2d(st.dvector(), 2)
    with pytest.raises(ValueError, match="ignore_border"):
        st.nnet.max_pool_2d(st.dmatrix(), 2, pad=1, ignore_border=False)
    with pytest.raises(ValueError, match="smaller than the window"):
        st.nnet.max_pool_2d(st.dmatrix(), 2, pad=2)
    with pytest.raises(ValueError, match="average"):
        st.nnet.avg_pool_2d(st.dmatrix(), 2, mode="max")


def test_pool_static_shape():
    x = st.tensor("float32", (None, 16, 26, 26))
    assert st.nnet.max_pool_2d(x, 2).type.shape == (None, 16, 13, 13)
    assert st.nnet.avg_pool_2d(x, 3, stride=2, pad=(1, 1)).type.shape == (None, 16, 13, 13)
    assert st.nnet.max_pool_2d(x, 4, ignore_border=False).type.shape == (None, 16, 7, 7)


def test_max_pool_grad_grad_is_the_adjoint_of_max_pool_grad():
    """MaxPoolGradGrad(x, maxout, ggx) = A ggx where MaxPoolGrad(x, maxout, gz) = A^T gz:
    <A ggx, gz> = <ggx, A^T gz> for every gz, ties included (a tied window sums them)."""
    from symcomp.tensor.nnet.pool import MaxPoolGradGrad

    configs = [
        {"ws": 2, "stride": 1},  # overlapping windows
        {"ws": 3, "stride": 2, "pad": (1, 1)},
        {"ws": (3, 2), "stride": (2, 1), "ignore_border": False},
    ]
    cases = []  # (config, x shape, dtype)
    for dtype in ("float64", "float32"):
        cases += [(kw, (2, 3, 5, 6), dtype) for kw in configs]
    inputs, outputs = [], []
    for kw, shape, dtype in cases:
        x, ggx = st.tensor(dtype, (None,) * 4), st.tensor(dtype, (None,) * 4)
        y = st.nnet.pool_2d(x, **kw)
        inputs += [x, ggx]
        outputs += [y, MaxPoolGradGrad(**y.owner.op.params)(x, y, ggx)]
    native_f = sc.function(inputs, outputs, mode="native")
    assert not native_f.runner.fallback_nodes
    py_f = sc.function(inputs, outputs, mode="py")
    rng = np.random.default_rng(8)
    args = []
    for kw, shape, dtype in cases:
        xv = rng.integers(0, 3, shape).astype(dtype)  # many ties
        args += [xv, noncontig(rng.standard_normal(shape).astype(dtype))]
    for f in (native_f, py_f):
        got = f(*args)
        for k, (kw, shape, dtype) in enumerate(cases):
            xv, ggxv = args[2 * k], args[2 * k + 1]
            y, ggz = got[2 * k], got[2 * k + 1]
            assert ggz.dtype == np.dtype(dtype) and ggz.shape == y.shape
            for _ in range(2):
                gz = rng.standard_normal(y.shape)
                _, gx = ref_pool_all(xv.astype(np.float64), gz, **kw)
                lhs = float((ggz.astype(np.float64) * gz).sum())
                rhs = float((ggxv.astype(np.float64) * gx).sum())
                tol = 1e-10 if dtype == "float64" else 1e-4
                assert lhs == pytest.approx(rhs, rel=tol, abs=tol), (kw, dtype)
    bad = list(args)
    bad[1] = bad[1][:, :, :4]
    with pytest.raises(ValueError, match="MaxPoolGradGrad: ggx does not have the input's shape"):
        native_f(*bad)
    with pytest.raises(ValueError, match="MaxPoolGradGrad: ggx has shape"):
        py_f(*bad)
