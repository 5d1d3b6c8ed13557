"""specialize: each rule's graph before and after, and that values (and gradients) agree
with the unrewritten graph."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.optimize.mode import Mode
from symcomp.optimize.specialize import specialize
from tests.optimize.util import assert_graph_equal, assert_same_values, count_nodes, run_passes

PLAIN = Mode(linker="py", optimizer=None)


def _grads_agree(before, after, inputs, wrt, values=None, rtol=1e-7):
    """d sum(before) / d wrt == d sum(after) / d wrt on random data."""
    gb = sc.grad(st.sum(before), wrt)
    ga = sc.grad(st.sum(after), wrt)
    assert_same_values(gb, ga, inputs, values=values, rtol=rtol)


# -- powers ---------------------------------------------------------------------------------

POWERS = [
    (1, lambda x: x),
    (2, st.sqr),
    (3, lambda x: st.sqr(x) * x),
    (4, lambda x: st.sqr(st.sqr(x))),
    (0.5, st.sqrt),
    (-0.5, lambda x: st.reciprocal(st.sqrt(x))),
    (-1, st.reciprocal),
    (-2, lambda x: st.reciprocal(st.sqr(x))),
    (-3, lambda x: st.reciprocal(st.sqr(x) * x)),
    (-4, lambda x: st.reciprocal(st.sqr(st.sqr(x)))),
    (2.0, st.sqr),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("p,expected", POWERS, ids=[str(p) for p, _ in POWERS])
def test_pow_by_constant(p, expected, dtype):
    x = st.matrix("x", dtype=dtype)
    before = x**p
    after = run_passes(before, specialize)
    assert_graph_equal(after, expected(x))
    assert count_nodes(after, type(st.pow(x, x).owner.op.scalar_op)) == 0
    rtol = 1e-7 if dtype == "float64" else 1e-5
    assert_same_values(before, after, [x], rtol=rtol)
    if dtype == "float64":
        _grads_agree(before, after, [x], [x])


@pytest.mark.parametrize("p,expected", POWERS[:4], ids=[str(p) for p, _ in POWERS[:4]])
def test_integer_pow_wraps_like_numpy(p, expected):
    x = st.bvector("x")
    before = x**p
    after = run_passes(before, specialize)
    assert_graph_equal(after, expected(x))
    values = [np.array([-128, -100, -3, 0, 1, 7, 100, 127], dtype=np.int8)]
    got = assert_same_values(before, after, [x], values=values)
    np.testing.assert_array_equal(sc.function([x], after, mode=PLAIN)(*got), values[0] ** p)


def test_integer_negative_pow_is_kept():
    # NumPy raises for integers to negative integer powers: the rewrite keeps pow.
    x = st.ivector("x")
    for p in (-1, -2):
        before = x**p
        assert run_passes(before, specialize) is before


def test_integer_to_float_power_casts_first():
    x = st.ivector("x")
    before = x**0.5
    assert before.dtype == "float64"
    after = run_passes(before, specialize)
    assert_graph_equal(after, st.sqrt(st.cast(x, "float64")))
    assert_same_values(before, after, [x], values=[np.array([0, 1, 4, 7], dtype=np.int32)])


def test_wider_exponent_casts_base():
    x = st.fvector("x")
    before = x ** st.constant(np.float64(2.0))
    assert before.dtype == "float64"
    after = run_passes(before, specialize)
    assert_graph_equal(after, st.sqr(st.cast(x, "float64")))
    assert_same_values(before, after, [x])


def test_exponent_that_broadcasts_is_kept():
    x = st.vector("x", dtype="float64")
    for c in (np.full((2, 3), 2.0), np.full((3,), 2.0)):
        before = x ** st.constant(c)
        assert run_passes(before, specialize) is before
    # a length-1 exponent cannot grow x
    before = x ** st.constant(np.array([2.0]))
    assert_graph_equal(run_passes(before, specialize), st.sqr(x))


def test_other_exponents_are_kept():
    x = st.dvector("x")
    for p in (5, 1.5, -5, 0.25):
        before = x**p
        assert run_passes(before, specialize) is before


def test_sqrt_caveat_negative_zero():
    # documented: (-0.0) ** 0.5 is +0.0, sqrt(-0.0) is -0.0; they compare equal
    x = st.dvector("x")
    after = run_passes(x**0.5, specialize)
    got = sc.function([x], after, mode=PLAIN)(np.array([-0.0, 4.0]))
    np.testing.assert_array_equal(got, [0.0, 2.0])


def test_div_one_to_reciprocal():
    x = st.matrix("x", dtype="float32")
    before = 1 / x
    after = run_passes(before, specialize)
    assert_graph_equal(after, st.reciprocal(x))
    assert_same_values(before, after, [x])
    i = st.ivector("i")
    before = 1 / i
    after = run_passes(before, specialize)
    assert_graph_equal(after, st.reciprocal(st.cast(i, "float64")))
    assert_same_values(before, after, [i], values=[np.array([1, 2, -3, 7], dtype=np.int32)])
    d = st.dmatrix("d")
    _grads_agree(1 / d, run_passes(1 / d, specialize), [d], [d])


# -- sums -----------------------------------------------------------------------------------


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (-1, True), ((0, 1), False)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sum_of_scaled(axis, keepdims, dtype):
    x = st.matrix("x", dtype=dtype)
    before = st.sum(3 * x, axis=axis, keepdims=keepdims)
    after = run_passes(before, specialize)
    three = st.constant(np.asarray(3, dtype=dtype))
    assert_graph_equal(after, three * st.sum(x, axis=axis, keepdims=keepdims))
    rtol = 1e-7 if dtype == "float64" else 1e-5
    assert_same_values(before, after, [x], rtol=rtol)
    if dtype == "float64":
        _grads_agree(before, after, [x], [x])


def test_sum_of_scaled_by_a_size_one_constant_and_accumulating_dtype():
    x = st.fmatrix("x")
    before = st.sum(x * st.constant(np.full((1, 1), 0.5, dtype="float32")), dtype="float64")
    after = run_passes(before, specialize)
    half = st.constant(np.float64(0.5))
    assert_graph_equal(after, half * st.sum(x, dtype="float64"))
    assert_same_values(before, after, [x], rtol=1e-6)


def test_sum_of_scaled_is_kept_when_unsafe():
    x = st.ivector("x")
    before = st.sum(3 * x)  # integers: the product wraps in int32, the sum is int64
    assert run_passes(before, specialize) is before
    d = st.dvector("d")
    for c in (np.inf, np.nan):  # sum over an empty axis: 0 vs c * 0
        before = st.sum(st.constant(c) * d)
        assert run_passes(before, specialize) is before
    before = st.sum(st.constant(np.full((3,), 2.0)) * d)  # not a single value
    assert run_passes(before, specialize) is before
    f = st.fvector("f")
    before = st.sum(st.constant(np.float64(2.0)) * f)  # the product widens f
    assert run_passes(before, specialize) is before


def test_sum_of_neg():
    x = st.dmatrix("x")
    before = st.sum(-x, axis=1)
    after = run_passes(before, specialize)
    assert_graph_equal(after, -st.sum(x, axis=1))
    assert_same_values(before, after, [x])
    _grads_agree(before, after, [x], [x])
    i = st.ivector("i")
    assert run_passes(st.sum(-i), specialize) is st.sum(-i)


# -- subtraction ----------------------------------------------------------------------------


def test_add_neg_to_sub():
    x, y = st.dmatrix("x"), st.dvector("y")
    for before in (x + st.neg(y), st.neg(y) + x):
        after = run_passes(before, specialize)
        assert_graph_equal(after, x - y)
        assert_same_values(before, after, [x, y])
        _grads_agree(before, after, [x, y], [x, y])
    f = st.fvector("f")
    before = x + st.neg(f)  # neg of a narrower float is exact
    assert_graph_equal(run_passes(before, specialize), x - f)


def test_add_neg_to_sub_integers():
    a, b = st.ivector("a"), st.ivector("b")
    before = a + st.neg(b)
    after = run_passes(before, specialize)
    assert_graph_equal(after, a - b)
    big = np.iinfo(np.int32)
    values = [np.array([big.max, 0, -5], np.int32), np.array([big.min, big.min, 3], np.int32)]
    assert_same_values(before, after, [a, b], values=values)
    # neg(int8 -128) wraps before the add widens it: not rewritten
    c = st.bvector("c")
    before = a + st.neg(c)
    assert run_passes(before, specialize) is before


# -- in the default pipeline ----------------------------------------------------------------


def test_default_pipeline_specializes_powers():
    x = st.dvector("x")
    fn = sc.function([x], [x**2 + x**-1], mode=Mode(linker="py"))
    assert not any("Pow" in str(n.op) for n in fn.maker.fgraph.apply_nodes)
    v = np.array([0.5, 2.0, 3.0])
    np.testing.assert_allclose(fn(v)[0], v**2 + 1 / v)
