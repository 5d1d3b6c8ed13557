"""Focused tests for reductions: errors, dtypes, static shapes and special gradients."""

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.tensor.reduction import Max, Sum


def _run(inputs, outputs, *values):
    return sc.function(inputs, outputs, mode="py", on_unused_input="ignore")(*values)


def test_axes_are_normalized_in_the_op():
    x = st.tensor3("x")
    a = st.sum(x, axis=(-1, 0))
    b = st.sum(x, axis=(2, 0))
    assert a.owner.op == Sum((0, 2), False) and a.owner.op.axes == (0, 2)
    assert a is b  # equal ops on the same input give the same node
    assert hash(Sum((2, 0))) == hash(Sum((0, 2)))


@pytest.mark.parametrize("axis", [2, -3, (0, 0), (1, -1)])
def test_bad_axes(axis):
    x = st.matrix("x")
    with pytest.raises(ValueError, match="sum"):
        st.sum(x, axis=axis)


def test_bad_axis_type():
    with pytest.raises(TypeError, match="axis"):
        st.sum(st.matrix(), axis=1.5)


@pytest.mark.parametrize(
    "dtype,expected",
    [
        ("int8", "int64"),
        ("bool", "int64"),
        ("uint8", "uint64"),
        ("int32", "int64"),
        ("float32", "float32"),
        ("float16", "float16"),
    ],
)
def test_sum_dtype_follows_numpy(dtype, expected):
    x = st.vector("x", dtype=dtype)
    assert st.sum(x).dtype == expected == np.sum(np.zeros(2, dtype)).dtype.name
    assert st.prod(x).dtype == expected
    assert st.cumsum(x).dtype == expected


def test_sum_explicit_dtype_and_int8_overflow():
    x = st.vector("x", dtype="int8")
    value = np.full(300, 100, dtype=np.int8)
    assert int(_run([x], st.sum(x), value)) == 30000
    assert _run([x], st.sum(x, dtype="int8"), value) == np.sum(value, dtype="int8")


def test_static_shapes():
    x = st.tensor("float64", shape=(2, None, 4))
    assert st.sum(x, axis=1).type.shape == (2, 4)
    assert st.max(x, axis=(0, 2), keepdims=True).type.shape == (1, None, 1)
    assert st.argmax(x).type.shape == ()
    assert st.argmax(x, keepdims=True).type.shape == (1, 1, 1)
    assert st.argmin(x, axis=-1).type.shape == (2, None)
    assert st.mean(x, axis=0).type.shape == (None, 4)
    assert st.cumsum(st.tensor("float64", shape=(2, 3))).type.shape == (6,)
    assert st.cumsum(x).type.shape == (None,)


def test_empty_reduction_sum_is_zero_max_raises():
    x = st.vector("x")
    f = sc.function([x], [st.sum(x), st.prod(x), st.all(x), st.any(x)], mode="py")
    assert [float(v) for v in f(np.zeros(0))] == [0.0, 1.0, 1.0, 0.0]
    g = sc.function([x], st.max(x), mode="py")
    with pytest.raises(ValueError, match="Max"):
        g(np.zeros(0))
    with pytest.raises(ValueError, match="Argmin"):
        sc.function([x], st.argmin(x), mode="py")(np.zeros(0))


def test_empty_reduction_static_raises_at_build():
    x = st.tensor("float64", shape=(3, 0))
    with pytest.raises(ValueError, match="Min"):
        st.min(x, axis=1)
    assert st.min(x, axis=0).type.shape == (0,)
    with pytest.raises(ValueError, match="argmax"):
        st.argmax(x)


def test_argmax_axis_must_be_one_int():
    with pytest.raises(TypeError, match="argmax"):
        st.argmax(st.matrix(), axis=(0, 1))
    assert st.argmax(st.matrix(), axis=(1,)).owner.op.axis == 1


def test_prod_gradient_with_zeros():
    x = st.vector("x")
    g = sc.grad(st.prod(x), x)
    f = sc.function([x], g, mode="py")
    np.testing.assert_allclose(f(np.array([2.0, 3.0, 4.0])), [12.0, 8.0, 6.0])
    np.testing.assert_allclose(f(np.array([2.0, 0.0, 4.0])), [0.0, 8.0, 0.0])
    np.testing.assert_allclose(f(np.array([0.0, 0.0, 4.0])), [0.0, 0.0, 0.0])


def test_max_gradient_splits_ties_evenly():
    x = st.matrix("x")
    g = sc.grad(st.max(x, axis=1).sum(), x)
    value = np.array([[1.0, 3.0, 3.0], [2.0, 1.0, 0.0]])
    np.testing.assert_allclose(_run([x], g, value), [[0, 0.5, 0.5], [1, 0, 0]])


def test_min_gradient_keepdims():
    x = st.matrix("x")
    g = sc.grad((st.min(x, axis=0, keepdims=True) * 2).sum(), x)
    value = np.array([[1.0, 0.0], [0.5, 3.0]])
    np.testing.assert_allclose(_run([x], g, value), [[0, 2], [2, 0]])


def test_integer_inputs_have_no_gradient():
    x = st.ivector("x")
    for op in (st.sum, st.prod, st.max, st.cumsum):
        assert op(x).owner.op.pullback([x], [op(x)], [st.dscalar()]) == [None]


def test_logsumexp_infinities():
    x = st.matrix("x")
    value = np.array([[-np.inf, -np.inf], [0.0, -np.inf], [np.inf, 1.0], [1000.0, 1000.0]])
    got = _run([x], st.logsumexp(x, axis=1), value)
    np.testing.assert_allclose(got, [-np.inf, 0.0, np.inf, 1000.0 + np.log(2)])


def test_logsumexp_gradient_is_softmax():
    x = st.vector("x")
    value = np.array([0.5, -1.0, 2.0])
    got = _run([x], sc.grad(st.logsumexp(x), x), value)
    np.testing.assert_allclose(got, np.exp(value) / np.exp(value).sum())


def test_cumsum_gradient_is_reverse_cumsum():
    x = st.vector("x")
    w = np.array([1.0, 2.0, 3.0, 4.0])
    got = _run([x], sc.grad((st.cumsum(x) * w).sum(), x), np.zeros(4))
    np.testing.assert_allclose(got, np.cumsum(w[::-1])[::-1])


def test_mean_and_var_dtypes():
    assert st.mean(st.ivector()).dtype == "float64"
    assert st.mean(st.fvector()).dtype == "float32"
    assert st.var(st.bvector()).dtype == "float64"
    assert st.std(st.fmatrix(), axis=0).dtype == "float32"
    assert st.mean(st.tensor("float16", shape=(None,))).dtype == "float16"


def test_var_ddof_symbolic_and_too_large():
    x = st.matrix("x")
    value = np.arange(6.0).reshape(2, 3)
    with np.errstate(all="ignore"):
        expected = np.var(value, axis=1, ddof=5)
    got = _run([x], st.var(x, axis=1, ddof=5), value)
    np.testing.assert_array_equal(got, expected)


def test_max_op_is_a_reduce_with_normalized_axes():
    x = st.tensor3()
    out = x.max(axis=-1)
    assert isinstance(out.owner.op, Max) and out.owner.op.axes == (2,)
