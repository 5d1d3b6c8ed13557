"""Issue 3's stabilize acceptance checks: the full default rewrite pipeline (fast_run), run
by the py runner (MODE) so no compiler is needed."""

from __future__ import annotations

import math

import numpy as np

import symcomp as sc
import symcomp.tensor as st

nnet = st.nnet
LOGITS = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]])
MODE = "py"
CLASSES = np.array([1, 2], dtype=np.int32)


def _finite(*arrays) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)


def test_log_one_plus_tiny():
    x = st.dscalar("x")
    assert sc.function([x], st.log(1 + x), mode=MODE)(1e-20) == 1e-20


def test_softplus_of_1000():
    x = st.dscalar("x")
    assert sc.function([x], nnet.softplus(x), mode=MODE)(1000.0) == 1000.0


def test_log_sigmoid_of_minus_1000():
    x = st.dscalar("x")
    cost = st.log(nnet.sigmoid(x))
    f = sc.function([x], [cost, sc.grad(cost, x)], mode=MODE)
    value, grad = f(-1000.0)
    assert value == -1000.0 and grad == 1.0


def test_log_of_user_written_sigmoid():
    x = st.dvector("x")
    cost = st.log(1 / (1 + st.exp(-x)))
    value, grad = sc.function([x], [cost, sc.grad(cost.sum(), x)], mode=MODE)(
        np.array([-1000.0, 1000.0])
    )
    np.testing.assert_array_equal(value, [-1000.0, 0.0])
    np.testing.assert_array_equal(grad, [1.0, 0.0])


def test_log_softmax_at_huge_logits():
    x = st.dmatrix("x")
    for out in (nnet.log_softmax(x), st.log(nnet.softmax(x))):
        value, grad = sc.function([x], [out, sc.grad(out[:, 0].sum(), x)], mode=MODE)(LOGITS)
        np.testing.assert_allclose(value[:, :2], [[0.0, -2000.0], [-2000.0, 0.0]])
        assert _finite(value, grad)


def test_crossentropy_of_softmax_at_huge_logits():
    x, t = st.dmatrix("x"), st.ivector("t")
    cost = nnet.categorical_crossentropy(nnet.softmax(x), t)
    value, grad = sc.function([x, t], [cost, sc.grad(cost.sum(), x)], mode=MODE)(LOGITS, CLASSES)
    np.testing.assert_allclose(value, [2000.0, 1000.0])
    np.testing.assert_allclose(grad, [[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])


def test_crossentropy_of_softmax_with_distributions_at_huge_logits():
    x, t = st.dmatrix("x"), st.dmatrix("t")
    cost = nnet.categorical_crossentropy(nnet.softmax(x), t)
    targets = np.eye(3)[CLASSES]
    value, grad = sc.function([x, t], [cost, sc.grad(cost.sum(), x)], mode=MODE)(LOGITS, targets)
    np.testing.assert_allclose(value, [2000.0, 1000.0])
    assert _finite(grad)


def test_design_example_at_huge_logits():
    x, t = st.dmatrix("x"), st.ivector("t")
    W = sc.shared(np.array([[1.0, -1, 0], [-1, 1, 0], [0, 0, 1], [0, 0, 0]]), name="W")
    b = sc.shared(np.zeros(3), name="b")
    p = nnet.softmax(x @ W + b)
    cost = -st.mean(st.log(p)[st.arange(t.shape[0]), t])
    gW, gb = sc.grad(cost, [W, b])
    f = sc.function([x, t], [cost, gW, gb], mode=MODE)
    value, gw, gbv = f(np.eye(2, 4) * 1000.0, CLASSES)
    assert value == 1500.0  # rows: -log_softmax = 2000 and 1000
    assert _finite(gw, gbv)
    np.testing.assert_allclose(gbv, [0.5, 0.0, -0.5])


def test_log_sum_exp_of_1000s():
    x = st.dvector("x")
    cost = st.log(st.sum(st.exp(x)))
    value, grad = sc.function([x], [cost, sc.grad(cost, x)], mode=MODE)(np.array([1000.0, 1000.0]))
    assert math.isclose(value, 1000 + math.log(2), rel_tol=1e-15)
    np.testing.assert_allclose(grad, [0.5, 0.5])
