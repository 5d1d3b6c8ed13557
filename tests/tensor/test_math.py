"""Focused tests of tensor/math.py that the op table cannot express: names, errors,
static shapes, gradient conventions at ties and boundaries, and NumPy's error cases."""

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st


def _eval(out, inputs, *values):
    return sc.function(inputs, out, mode="py")(*values)


def test_names_used_by_tensor_variable_exist():
    for name in (
        "abs",
        "invert",
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "pow",
        "mod",
        "int_div",
        "clip",
        "round",
        "exp",
        "log",
        "sqrt",
    ):
        assert callable(getattr(st, name)), name


def test_aliases():
    assert st.floor_divide is st.int_div and st.power is st.pow and st.remainder is st.mod
    assert st.abs_ is st.abs and st.square is st.sqr and st.psi is st.digamma
    assert st.and_ is st.bitwise_and and st.or_ is st.bitwise_or and st.xor is st.bitwise_xor
    assert st.bitwise_not is st.invert


def test_operators_build_the_math_ops():
    x, y = st.lvector("x"), st.lvector("y")
    ops = [
        type(v.owner.op.scalar_op).__name__
        for v in (x // y, x % y, x**y, abs(x), ~x, x & y, x | y, x ^ y)
    ]
    assert ops == ["IntDiv", "Mod", "Pow", "Abs", "Invert", "BitwiseAnd", "BitwiseOr", "BitwiseXor"]


def test_static_shapes_broadcast():
    x = st.tensor("float64", (3, 1))
    y = st.tensor("float64", (None, 4))
    assert st.arctan2(x, y).type.shape == (3, 4)
    assert st.clip(x, st.tensor("float64", (1, 4)), 1.0).type.shape == (3, 4)
    with pytest.raises(ValueError, match="cannot broadcast"):
        st.minimum(st.tensor("float64", (3,)), st.tensor("float64", (4,)))


def test_weak_python_scalars_keep_the_tensor_dtype():
    x = st.bvector("x")
    assert (x // 3).dtype == "int8" and (x % 3).dtype == "int8" and (x**2).dtype == "int8"
    assert st.clip(x, 0, 5).dtype == "int8"
    assert st.minimum(st.fvector(), 0.5).dtype == "float32"
    assert st.exp(x).dtype == "float32" and st.exp(st.ivector()).dtype == "float64"


def test_round_modes():
    x = st.dvector("x")
    v = np.array([0.5, 1.5, 2.5, -0.5, -1.5])
    np.testing.assert_array_equal(_eval(st.round(x), [x], v), [0, 2, 2, -0.0, -2])
    np.testing.assert_array_equal(_eval(x.round("half_away_from_zero"), [x], v), [1, 2, 3, -1, -2])
    with pytest.raises(ValueError, match="half_to_even"):
        st.round(x, "half_up")


def test_clip_with_one_or_no_bound():
    x = st.dvector("x")
    assert type(st.clip(x, None, 1).owner.op.scalar_op).__name__ == "Minimum"
    assert type(st.clip(x, 0, None).owner.op.scalar_op).__name__ == "Maximum"
    v = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_array_equal(_eval(st.clip(x, None, None), [x], v), v)


def test_type_errors_name_the_op():
    with pytest.raises(TypeError, match="Sign"):
        st.sign(st.tensor("bool", (None,)))
    with pytest.raises(TypeError, match="BitwiseAnd"):
        st.bitwise_and(st.dvector(), st.dvector())
    with pytest.raises(TypeError, match="Invert"):
        ~st.fvector()


def test_integer_negative_power_raises_at_run_time():
    x, y = st.lvector("x"), st.lvector("y")
    f = sc.function([x, y], x**y, mode="py")
    np.testing.assert_array_equal(f(np.array([2, 3]), np.array([3, 0])), [8, 1])
    with pytest.raises(ValueError, match="negative integer powers"):
        f(np.array([2]), np.array([-1]))


def test_integer_division_by_zero_gives_zero():
    x, y = st.ivector("x"), st.ivector("y")
    with np.errstate(divide="ignore"):
        got = _eval(
            [x // y, x % y], [x, y], np.array([5, -5], np.int32), np.array([0, 0], np.int32)
        )
    np.testing.assert_array_equal(got[0], [0, 0])
    np.testing.assert_array_equal(got[1], [0, 0])


def _grads(cost, wrt, *values):
    return sc.function(wrt, sc.grad(cost, wrt), mode="py")(*values)


def test_minimum_maximum_ties_go_to_x():
    x, y = st.dvector("x"), st.dvector("y")
    vx, vy = np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 4.0])
    gx, gy = _grads(st.minimum(x, y).sum(), [x, y], vx, vy)
    np.testing.assert_array_equal(gx, [1, 0, 1])
    np.testing.assert_array_equal(gy, [0, 1, 0])
    gx, gy = _grads(st.maximum(x, y).sum(), [x, y], vx, vy)
    np.testing.assert_array_equal(gx, [1, 1, 0])
    np.testing.assert_array_equal(gy, [0, 0, 1])


def test_clip_gradient_partition():
    x, lo, hi = st.dvector("x"), st.dvector("lo"), st.dvector("hi")
    vx = np.array([-5.0, 0.0, 5.0, 1.0, -1.0, 0.0])
    vlo = np.array([-1.0, -1.0, -1.0, 1.0, -1.0, 2.0])  # last: lo > hi, so hi wins
    vhi = np.array([1.0, 1.0, 1.0, 2.0, 1.0, 1.0])
    gx, glo, ghi = _grads(st.clip(x, lo, hi).sum(), [x, lo, hi], vx, vlo, vhi)
    np.testing.assert_array_equal(gx, [0, 1, 0, 1, 1, 0])
    np.testing.assert_array_equal(glo, [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(ghi, [0, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(gx + glo + ghi, np.ones(6))


def test_pow_gradient_at_zero():
    x, y = st.dvector("x"), st.dvector("y")
    vx, vy = np.zeros(4), np.array([0.0, 1.0, 2.0, 3.0])
    gx, gy = _grads(st.pow(x, y).sum(), [x, y], vx, vy)
    np.testing.assert_array_equal(gx, [0, 1, 0, 0])
    np.testing.assert_array_equal(gy, [0, 0, 0, 0])


def test_abs_gradient_and_second_derivatives():
    x = st.dvector("x")
    (g,) = _grads(abs(x).sum(), [x], np.array([-2.0, 3.0]))
    np.testing.assert_array_equal(g, [-1, 1])
    gx = sc.grad(st.sigmoid(x).sum(), x)
    h = sc.function([x], sc.grad(gx.sum(), x), mode="py")(np.array([0.3]))
    s = 1 / (1 + np.exp(-0.3))
    np.testing.assert_allclose(h, s * (1 - s) * (1 - 2 * s))


def test_gammaln_gradient_is_digamma():
    x = st.dvector("x")
    (g,) = _grads(st.gammaln(x).sum(), [x], np.array([0.5, 3.0]))
    np.testing.assert_allclose(g, [-1.9635100260214235, 0.9227843350984671], rtol=1e-12)


def test_non_differentiable_ops_give_zero_gradients():
    x = st.dvector("x")
    for out in (st.floor(x), st.sign(x), st.round(x), x // 2.0, st.digamma(x), st.isnan(x)):
        node = out.owner
        assert node.op.pullback(node.inputs, node.outputs, [st.ones_like(out)]) == [None] * len(
            node.inputs
        )
        (g,) = _grads(st.cast(out, "float64").sum() + x.sum(), [x], np.array([1.5, -2.0]))
        np.testing.assert_array_equal(g, [1, 1])


def test_cast_gradient_keeps_the_input_dtype():
    x = st.dvector("x")
    g = sc.grad(st.cast(x, "float32").sum(), x)
    assert g.dtype == "float64"
    np.testing.assert_array_equal(sc.function([x], g, mode="py")(np.ones(3)), np.ones(3))
