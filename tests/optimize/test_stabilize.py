"""stabilize: each rule's graph before and after, and values (and gradients) unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.optimize.mode import Mode
from symcomp.optimize.stabilize import stabilize
from symcomp.scalar import TrueDiv
from symcomp.tensor.nnet.crossentropy import CrossentropyCategorical1HotGrad
from symcomp.tensor.nnet.fused_xent import crossentropy_softmax_1hot
from symcomp.tensor.nnet.softmax import LogSoftmax
from symcomp.tensor.reduction import logsumexp
from tests.optimize.util import assert_graph_equal, assert_same_values, count_nodes, run_passes

nnet = st.nnet


def check(before, expected, inputs, grad_wrt=None, values=None, rtol=1e-7):
    """``before`` rewrites to ``expected``; values (and gradients wrt ``grad_wrt``) agree."""
    after = run_passes(before, stabilize)
    assert_graph_equal(after, expected)
    values = assert_same_values(before, after, inputs, values=values, rtol=rtol)
    if grad_wrt is not None:
        g_before = sc.grad(before.sum(), grad_wrt)
        g_after = run_passes(g_before, stabilize)
        assert_same_values(g_before, g_after, inputs, values=values)
    return after


# -- log1p, expm1 -------------------------------------------------------------------------


def test_log1p_of_add_one():
    x = st.dvector("x")
    check(st.log(1 + x), st.log1p(x), [x], grad_wrt=x)
    check(st.log(x + 1), st.log1p(x), [x])


def test_log1p_of_add_one_float32_keeps_dtype():
    x = st.fvector("x")
    after = check(st.log(1 + x), st.log1p(x), [x], rtol=1e-6)
    assert after.dtype == "float32"


def test_log1p_not_for_integers_or_broadcasting_constants():
    i = st.ivector("i")
    before = st.log(1 + i)  # 1 + i can wrap around in int32; log1p(i) would not
    assert run_passes(before, stabilize) is before
    x = st.dvector("x")
    before = st.log(st.constant(np.ones((2, 3))) + x)  # the constant widens x's shape
    assert run_passes(before, stabilize) is before


def test_log1p_of_one_minus():
    x = st.dvector("x")
    check(st.log(1 - x), st.log1p(st.neg(x)), [x], grad_wrt=x)


def test_expm1_of_exp_minus_one():
    x = st.dvector("x")
    check(st.exp(x) - 1, st.expm1(x), [x], grad_wrt=x)
    check(st.add(st.exp(x), -1), st.expm1(x), [x])


def test_neg_expm1_of_one_minus_exp():
    x = st.dvector("x")
    check(1 - st.exp(x), st.neg(st.expm1(x)), [x], grad_wrt=x)
    check(1 + st.neg(st.exp(x)), st.neg(st.expm1(x)), [x])


def test_x_of_log_exp():
    x = st.dmatrix("x")
    check(st.log(st.exp(x)), x, [x], grad_wrt=x)


# -- sigmoid and softplus ----------------------------------------------------------------


def test_sigmoid_of_one_over_one_plus_exp():
    x = st.dvector("x")
    check(1 / (1 + st.exp(-x)), nnet.sigmoid(x), [x], grad_wrt=x)
    check(1 / (1 + st.exp(x)), nnet.sigmoid(st.neg(x)), [x])


def test_sigmoid_of_reciprocal_one_plus_exp():
    x = st.dvector("x")
    check(st.reciprocal(1 + st.exp(-x)), nnet.sigmoid(x), [x], grad_wrt=x)


def test_sigmoid_rule_skips_a_numerator_that_broadcasts():
    x = st.dvector("x")
    before = st.true_div(st.constant(np.ones((2, 1))), 1 + st.exp(-x))
    assert run_passes(before, stabilize) is before


def test_sigmoid_of_exp_over_one_plus_exp():
    a, y = st.dvector("a"), st.dvector("y")
    e = st.exp(y)
    check(a / (1 + e) * e, a * nnet.sigmoid(y), [a, y])


def test_neg_softplus_of_log_sigmoid():
    x = st.dvector("x")
    check(st.log(nnet.sigmoid(x)), st.neg(nnet.softplus(st.neg(x))), [x], grad_wrt=x)


def test_neg_softplus_of_log_one_minus_sigmoid():
    x = st.dvector("x")
    check(st.log(1 - nnet.sigmoid(x)), st.neg(nnet.softplus(x)), [x], grad_wrt=x)
    check(st.log1p(-nnet.sigmoid(x)), st.neg(nnet.softplus(x)), [x])


def test_neg_softplus_of_log_one_minus_sigmoid_alone():
    x = st.dvector("x")
    before = st.log(1 - nnet.sigmoid(x))
    mode_free = run_passes(before, stabilize)
    assert_graph_equal(mode_free, st.neg(nnet.softplus(x)))


def test_sigmoid_of_one_minus_sigmoid():
    x = st.dvector("x")
    check(1 - nnet.sigmoid(x), nnet.sigmoid(st.neg(x)), [x], grad_wrt=x)
    check(1 + st.neg(nnet.sigmoid(x)), nnet.sigmoid(st.neg(x)), [x])


def test_softplus_of_log1p_exp():
    x = st.dvector("x")
    check(st.log1p(st.exp(x)), nnet.softplus(x), [x], grad_wrt=x)
    check(st.log(1 + st.exp(x)), nnet.softplus(x), [x])


# -- gradients ---------------------------------------------------------------------------


def test_cancel_division_by_positive():
    y, x = st.dmatrix("y"), st.dmatrix("x")
    a, e = st.cos(x) * y, st.exp(x)  # a provably has e's shape (a broadcast of x's)
    check((a / e) * e, a, [y, x])
    check(e * -(a / e), st.neg(a), [y, x])


def test_cancel_division_broadcasts_a_smaller_numerator():
    a, x = st.dvector("a"), st.dmatrix("x")
    e = st.exp(x)
    before = (a / e) * e
    after = run_passes(before, stabilize)
    assert count_nodes(after, st.Alloc) == 1 and count_nodes(after, TrueDiv) == 0
    assert_same_values(before, after, [a, x])


def test_cancel_division_only_by_positive_functions():
    a, b = st.dvector("a"), st.dvector("b")
    before = (a / b) * b  # b may really be 0: NumPy gives NaN there, keep it
    assert run_passes(before, stabilize) is before


def test_gradient_of_log_sigmoid_is_finite():
    x = st.dvector("x")
    g = sc.grad(st.log(nnet.sigmoid(x)).sum(), x)
    after = run_passes(g, stabilize)
    values = [np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])]
    out = sc.function([x], after, mode=Mode(linker="py", optimizer=None))(*values)
    np.testing.assert_allclose(out, 0.5 * (1 - np.tanh(values[0] / 2)))  # 1 - sigmoid(x)


# -- softmax family ----------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, None])
def test_log_softmax_of_log_softmax(axis):
    x = st.dmatrix("x")
    after = check(st.log(nnet.softmax(x, axis=axis)), nnet.log_softmax(x, axis=axis), [x], x)
    assert isinstance(after.owner.op, LogSoftmax)


@pytest.mark.parametrize("axis,keepdims", [(1, False), (0, True), (None, False), ((0, 1), True)])
def test_logsumexp_of_log_sum_exp(axis, keepdims):
    x = st.dmatrix("x")
    before = st.log(st.sum(st.exp(x), axis=axis, keepdims=keepdims))
    check(before, logsumexp(x, axis, keepdims=keepdims), [x], grad_wrt=x)


def test_logsumexp_is_not_rewritten_again():
    x = st.dmatrix("x")
    lse = logsumexp(x, 1)
    assert run_passes(lse, stabilize) is lse


def test_softmax_of_logsumexp_grad():
    x = st.dmatrix("x")
    g = sc.grad(st.log(st.sum(st.exp(x), axis=1)).sum(), x)
    after = run_passes(g, stabilize)
    assert count_nodes(after, TrueDiv) == 0
    assert_same_values(g, after, [x])
    big = [np.array([[1000.0, 1000.0], [-1000.0, 0.0]])]
    out = sc.function([x], after, mode=Mode(linker="py", optimizer=None))(*big)
    np.testing.assert_allclose(out, [[0.5, 0.5], [0.0, 1.0]])


def test_crossentropy_softmax_1hot_of_crossentropy():
    x, t = st.dmatrix("x"), st.ivector("t")
    before = nnet.categorical_crossentropy(nnet.softmax(x), t)
    after = check(before, crossentropy_softmax_1hot(x, t), [x, t])
    assert after.dtype == before.dtype


def test_crossentropy_of_softmax_on_axis_0_is_kept():
    x, t = st.dmatrix("x"), st.ivector("t")
    before = nnet.categorical_crossentropy(nnet.softmax(x, axis=0), t)
    assert run_passes(before, stabilize) is before


def test_one_hot_of_crossentropy_grad_times_p():
    x, t = st.dmatrix("x"), st.ivector("t")
    g = sc.grad(nnet.categorical_crossentropy(nnet.softmax(x), t).sum(), x)
    after = run_passes(g, stabilize)
    assert count_nodes(after, CrossentropyCategorical1HotGrad) == 0
    assert_same_values(g, after, [x, t])


def test_design_example_gradient_is_stable():
    # DESIGN.md's model: -mean(log(softmax(x @ W + b))[arange(n), t]) and its gradient.
    x, t, W, b = st.dmatrix("x"), st.ivector("t"), st.dmatrix("W"), st.dvector("b")
    p = nnet.softmax(x @ W + b)
    cost = -st.mean(st.log(p)[st.arange(t.shape[0]), t])
    outs = [cost, *sc.grad(cost, [W, b])]
    after = run_passes(outs, stabilize)
    assert all(count_nodes(o, TrueDiv) <= 1 for o in after[1:])
    rng = np.random.default_rng(1)
    values = [
        rng.normal(size=(3, 4)),
        np.array([0, 2, 1], np.int32),
        rng.normal(size=(4, 3)),
        rng.normal(size=3),
    ]
    assert_same_values(outs, after, [x, t, W, b], values=values)
    values[0] = np.eye(3, 4) * 1000.0
    values[2] = np.array([[1.0, -1, 0], [-1, 1, 0], [0, 0, 1], [0, 0, 0]])
    res = sc.function([x, t, W, b], after, mode=Mode(linker="py", optimizer=None))(*values)
    assert all(np.all(np.isfinite(r)) for r in res)
