"""CrossentropySoftmax1Hot: type errors, static shapes, stability, its gradient."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.optimize.mode import Mode
from symcomp.tensor.nnet.fused_xent import crossentropy_softmax_1hot

PLAIN = Mode(linker="py", optimizer=None)


def test_types_and_static_shape():
    x = st.tensor("float32", shape=(4, 3))
    out = crossentropy_softmax_1hot(x, st.ivector("t"))
    assert out.dtype == "float32" and out.type.shape == (4,)
    assert crossentropy_softmax_1hot(st.imatrix("x"), st.ivector("t")).dtype == "float64"


@pytest.mark.parametrize(
    "x,t,err",
    [
        (st.dvector("x"), st.ivector("t"), TypeError),
        (st.dmatrix("x"), st.dvector("t"), TypeError),
        (st.dmatrix("x"), st.imatrix("t"), TypeError),
        (st.tensor("float64", shape=(2, 3)), st.tensor("int64", shape=(3,)), ValueError),
    ],
)
def test_bad_inputs(x, t, err):
    with pytest.raises(err, match="CrossentropySoftmax1Hot"):
        crossentropy_softmax_1hot(x, t)


def test_runtime_index_errors():
    x, t = st.dmatrix("x"), st.ivector("t")
    f = sc.function([x, t], crossentropy_softmax_1hot(x, t), mode=PLAIN)
    with pytest.raises(IndexError):
        f(np.zeros((2, 3)), np.array([0, 3], np.int32))
    with pytest.raises(ValueError):
        f(np.zeros((2, 3)), np.array([0], np.int32))


def test_huge_logits_value_and_gradient():
    x, t = st.dmatrix("x"), st.ivector("t")
    out = crossentropy_softmax_1hot(x, t)
    f = sc.function([x, t], [out, sc.grad(out.sum(), x)], mode=PLAIN)
    value, grad = f(np.array([[1000.0, -1000.0], [0.0, 0.0]]), np.array([1, 0], np.int32))
    np.testing.assert_allclose(value, [2000.0, np.log(2)])
    np.testing.assert_allclose(grad, [[1.0, -1.0], [-0.5, 0.5]])


def test_second_derivative():
    rng = np.random.default_rng(0)
    t = np.array([0, 2, 1])
    sc.gradient.verify_grad(
        lambda x: sc.grad(crossentropy_softmax_1hot(x, t).sum(), x),
        [rng.normal(size=(3, 3))],
        mode="py",
    )
