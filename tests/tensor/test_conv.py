"""conv2d and its gradient ops: native and py results against loop and SciPy references
(strides, padding modes, dilation, groups, flipping, float32/float64, non-contiguous
inputs, size-1 dims), gradients by finite differences (first and second order), and clear
errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import convolve2d, correlate2d

import symcomp as sc
import symcomp.tensor as st
from symcomp.gradient_check import verify_grad
from tests.tensor.nnet_configs import MODE_DTYPES, AllConfigs, native, noncontig
from tests.tensor.optable_conv import ref_conv_all

CONFIGS = [
    # (x shape, w shape, conv2d keywords)
    ((2, 3, 7, 6), (4, 3, 3, 2), {}),
    ((2, 3, 7, 6), (4, 3, 3, 2), {"filter_flip": False}),
    ((2, 2, 9, 8), (3, 2, 3, 3), {"stride": 2, "padding": 1}),
    ((2, 2, 9, 8), (3, 2, 3, 2), {"stride": (2, 3), "padding": (2, 1), "filter_flip": False}),
    ((1, 2, 8, 9), (2, 2, 2, 3), {"dilation": 2, "padding": "full"}),
    ((2, 2, 8, 9), (2, 2, 3, 3), {"dilation": (2, 1), "padding": "same"}),
    ((2, 2, 6, 7), (3, 2, 2, 4), {"padding": "half"}),
    ((2, 4, 7, 7), (6, 2, 3, 3), {"groups": 2, "stride": 2, "padding": "same"}),
    ((2, 6, 5, 5), (6, 1, 3, 3), {"groups": 6, "filter_flip": False}),  # depthwise
    ((1, 1, 1, 5), (1, 1, 1, 2), {}),  # size-1 dims
    ((2, 3, 4, 4), (5, 3, 1, 1), {}),  # 1x1: the im2col-free path
    ((3, 1, 7, 7), (2, 1, 2, 2), {"stride": 3}),  # stride larger than the filter
    # OpenMP over the batch (6M multiply-adds, gemms small enough for one BLAS thread)
    ((64, 4, 20, 20), (8, 4, 3, 3), {"filter_flip": False}),
]


def _ref_kwargs(kw):
    out = {k: v for k, v in kw.items() if k != "filter_flip"}
    out["flip"] = kw.get("filter_flip", True)
    return out


def _graph(kw, dtype):
    x, w = st.tensor4("x", dtype=dtype), st.tensor4("w", dtype=dtype)
    gy = st.tensor4("gy", dtype=dtype)
    y = st.nnet.conv2d(x, w, **kw)
    gx, gw = sc.grad(None, [x, w], known_grads={y: gy})
    return [x, w, gy], [y, gx, gw]


def _inputs(xshape, wshape, kw, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xshape).astype(dtype)
    w = rng.standard_normal(wshape).astype(dtype)
    y, _, _ = ref_conv_all(x.astype(np.float64), w.astype(np.float64), **_ref_kwargs(kw))
    gy = rng.standard_normal(y.shape).astype(dtype)
    return x, w, gy


@pytest.fixture(scope="module")
def native_all_configs():
    return AllConfigs(
        CONFIGS, lambda c, dtype: _graph(c[2], dtype), lambda c, dtype: _inputs(*c, dtype)
    )


@pytest.mark.parametrize("mode,dtype", MODE_DTYPES)
@pytest.mark.parametrize("xshape,wshape,kw", CONFIGS)
def test_conv2d_and_grads_match_loop_reference(xshape, wshape, kw, mode, dtype, native_all_configs):
    x, w, gy = _inputs(xshape, wshape, kw, dtype)
    if mode == "native":
        f = native_all_configs.outputs_of((xshape, wshape, kw), dtype)
    else:
        inputs, outputs = _graph(kw, dtype)
        f = sc.function(inputs, outputs, mode=mode)
    expected = ref_conv_all(
        x.astype(np.float64), w.astype(np.float64), gy.astype(np.float64), **_ref_kwargs(kw)
    )
    tol = {"rtol": 1e-10, "atol": 1e-11} if dtype == "float64" else {"rtol": 2e-4, "atol": 2e-4}
    for args in [(x, w, gy), tuple(noncontig(a) for a in (x, w, gy))]:
        before = [a.copy() for a in args]
        got = f(*args)
        for name, g, e in zip(["y", "gx", "gw"], got, expected):
            assert g.dtype == np.dtype(dtype), name
            assert g.shape == e.shape, name
            np.testing.assert_allclose(g, e, err_msg=name, **tol)
        for a, b in zip(args, before):
            np.testing.assert_array_equal(a, b)


@native
@pytest.mark.parametrize("padding", ["valid", "full", "same"])
@pytest.mark.parametrize("flip", [True, False])
def test_conv2d_against_scipy(padding, flip):
    rng = np.random.default_rng(1)
    x, w = st.dtensor4("x"), st.dtensor4("w")
    f = sc.function([x, w], st.nnet.conv2d(x, w, padding=padding, filter_flip=flip))
    xv, wv = rng.standard_normal((2, 3, 8, 7)), rng.standard_normal((4, 3, 3, 5))
    scipy_fn = convolve2d if flip else correlate2d
    expected = np.zeros((2, 4) + scipy_fn(xv[0, 0], wv[0, 0], mode=padding).shape)
    for n in range(2):
        for o in range(4):
            for c in range(3):
                expected[n, o] += scipy_fn(xv[n, c], wv[o, c], mode=padding)
    np.testing.assert_allclose(f(xv, wv), expected, rtol=1e-10, atol=1e-12)


def test_conv2d_static_shape_and_dtype_rules():
    x = st.tensor("float32", (None, 3, 28, 28))
    w = st.tensor("float32", (16, 3, 3, 3))
    y = st.nnet.conv2d(x, w, stride=2, padding=1)
    assert y.type.shape == (None, 16, 14, 14) and y.dtype == "float32"
    assert st.nnet.conv2d(st.itensor4(), st.ftensor4()).dtype == "float64"
    # Theano's keyword names
    y2 = st.nnet.conv2d(x, w, subsample=(2, 2), border_mode=(1, 1))
    assert y2.owner.op == y.owner.op


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"stride": (2, 1), "padding": 1, "filter_flip": False},
        {"dilation": 2, "groups": 2, "padding": "full"},
    ],
)
@pytest.mark.parametrize("mode", ["py", pytest.param("native", marks=native)])
def test_conv2d_verify_grad(kw, mode):
    rng = np.random.default_rng(2)
    x, w = (
        rng.standard_normal((2, 4, 6, 5)),
        rng.standard_normal((2, 4 // kw.get("groups", 1), 2, 3)),
    )
    verify_grad(lambda a, b: st.nnet.conv2d(a, b, **kw), [x, w], rng=rng, mode=mode)


@pytest.mark.parametrize("mode", ["py", pytest.param("native", marks=native)])
def test_conv2d_second_derivatives(mode):
    """The gradient ops' own pullbacks: d/dx and d/dw of <grad, v>."""
    rng = np.random.default_rng(3)
    kw = {"stride": 2, "padding": 1, "groups": 2}
    # small values: the cost is quartic, and large values swamp finite differences in rounding
    xv, wv = 0.5 * rng.standard_normal((2, 4, 5, 6)), 0.5 * rng.standard_normal((4, 2, 3, 2))

    def grad_norm(a, b):
        y = st.nnet.conv2d(a, b, **kw)
        gx, gw = sc.grad((y * y).sum(), [a, b])
        return (gx * gx).sum() + (gw * gw).sum()

    verify_grad(grad_norm, [xv, wv], rng=rng, mode=mode)


def _compile(mode, **kw):
    x, w = st.dtensor4("x"), st.dtensor4("w")
    return sc.function([x, w], st.nnet.conv2d(x, w, **kw), mode=mode)


@pytest.mark.parametrize("mode", ["py", pytest.param("native", marks=native)])
def test_conv2d_bad_input_raises_clearly(mode):
    f = _compile(mode, groups=2)
    with pytest.raises(ValueError, match=r"channel mismatch.*input shape \(1, 3, 5, 5\)") as err:
        f(np.ones((1, 3, 5, 5)), np.ones((4, 2, 3, 3)))
    assert "Conv2d" in str(err.value)
    f = _compile(mode, padding=1)
    with pytest.raises(ValueError, match=r"larger than the padded input.*\(1, 1, 2, 2\)"):
        f(np.ones((1, 1, 2, 2)), np.ones((1, 1, 5, 5)))
    f = _compile(mode, padding="same")
    with pytest.raises(ValueError, match="odd"):
        f(np.ones((1, 1, 5, 5)), np.ones((1, 1, 2, 2)))


def test_conv2d_bad_graph_raises_clearly():
    with pytest.raises(TypeError, match="must be 4-d"):
        st.nnet.conv2d(st.dmatrix(), st.dtensor4())
    with pytest.raises(ValueError, match="padding"):
        st.nnet.conv2d(st.dtensor4(), st.dtensor4(), padding="wide")
    with pytest.raises(ValueError, match=">= 1"):
        st.nnet.conv2d(st.dtensor4(), st.dtensor4(), stride=0)


@native
def test_conv2d_output_gradient_shape_checked_natively():
    from symcomp.tensor.nnet.conv import Conv2dGradInputs

    w, gy, x = st.dtensor4("w"), st.dtensor4("gy"), st.dtensor4("x")
    f = sc.function([w, gy, x], Conv2dGradInputs()(w, gy, x))
    with pytest.raises(ValueError, match="output gradient has shape"):
        f(np.ones((2, 1, 3, 3)), np.ones((1, 2, 4, 4)), np.ones((1, 1, 5, 5)))


@native
def test_conv2d_empty_batch():
    f = _compile("native")
    out = f(np.ones((0, 2, 5, 5)), np.ones((3, 2, 3, 3)))
    assert out.shape == (0, 3, 3, 3)
