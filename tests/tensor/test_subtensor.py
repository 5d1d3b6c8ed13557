"""Indexing tests the op table cannot express: static shapes, op parameters, views, errors,
set/inc semantics and gradients through symcomp.grad."""

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.tensor.advanced import AdvancedIncSubtensor, AdvancedSubtensor
from symcomp.tensor.subtensor import SYM, IncSubtensor, Subtensor


def run(inputs, outputs, *values):
    return sc.function(inputs, outputs, mode="py")(*values)


# -- structure and static shapes ----------------------------------------------------------


def test_constant_bounds_are_folded_into_the_op():
    x = st.dmatrix("x")
    y = x[1:-1:2, 3]
    assert y.owner.op == Subtensor((("slice", 1, -1, 2), ("int", 3)))
    assert y.owner.inputs == (x,)
    assert x[1:-1:2, 3] is y  # hash-consed: same op, same inputs
    assert x[1:3, :].owner.op == x[1:3].owner.op  # trailing full slices are dropped


def test_symbolic_bounds_are_inputs():
    x, a, b = st.dvector("x"), st.lscalar("a"), st.iscalar("b")
    y = x[a:b:2]
    assert y.owner.op.idx_list == (("slice", SYM, SYM, 2),)
    assert y.owner.inputs == (x, a, b)
    assert x[st.constant(2)].owner.op.idx_list == (("int", 2),)


@pytest.mark.parametrize(
    "index,shape",
    [
        (np.s_[1:3], (2, 4)),
        (np.s_[::-1, 1], (5,)),
        (np.s_[-2:], (2, 4)),
        (np.s_[None, 0, ..., None], (1, 4, 1)),
        (np.s_[10:], (0, 4)),
        (np.s_[..., ::3], (5, 2)),
        (np.s_[[0, 1, 1]], (3, 4)),
        (np.s_[:, [[0], [1]]], (5, 2, 1)),
        (np.s_[[0, 1], [2, 3]], (2,)),
        (np.s_[np.array([True, False, True, True, False])], (3, 4)),
    ],
)
def test_static_shapes(index, shape):
    x = st.tensor("float64", shape=(5, 4))
    y = x[index]
    assert y.type.shape == shape
    assert np.zeros((5, 4))[index].shape == shape


def test_unknown_lengths_stay_unknown():
    x = st.dmatrix("x")
    m = st.tensor("bool", shape=(None,))
    assert x[1:3].type.shape == (None, None)
    assert x[m].type.shape == (None, None)
    assert x[x > 0].type.shape == (None,)
    assert st.tensor("float64", shape=(5, 4))[st.lscalar() :].type.shape == (None, 4)


def test_advanced_dims_placement_matches_numpy():
    a = np.zeros((5, 6, 7))
    x = st.tensor("float64", shape=(5, 6, 7))
    for index in [
        np.s_[:, [0, 1, 2], None, [0, 1, 2]],
        np.s_[:, 1, ..., [0, 1]],
        np.s_[0, :, [1, 2]],
        np.s_[None, 0, [1, 2]],
        np.s_[:, [0], 0],
    ]:
        assert x[index].type.shape == a[index].shape, index


def test_str():
    x = st.dmatrix("x")
    assert str(x[1:, ::-1].owner.op) == "Subtensor{1:, ::-1}"
    assert "AdvancedSubtensor" in str(x[[0, 1]].owner.op)
    assert str(st.set_subtensor(x[0], 1.0).owner.op).startswith("SetSubtensor")


# -- values -------------------------------------------------------------------------------


def test_subtensor_perform_returns_a_view():
    x = st.dmatrix("x")
    node = x[1:, ::2].owner
    a = np.arange(12.0).reshape(3, 4)
    (out,) = node.op.perform(node, [a])
    assert np.shares_memory(out, a)
    (scalar,) = x[1, 2].owner.op.perform(x[1, 2].owner, [a])
    assert isinstance(scalar, np.ndarray) and scalar.shape == ()


def test_set_and_inc_do_not_modify_input():
    x, i = st.dvector("x"), st.lvector("i")
    a = np.zeros(4)
    s, c = run(
        [x, i], [st.set_subtensor(x[i], 5.0), st.inc_subtensor(x[i], 1.0)], a, np.array([1, 1, 3])
    )
    np.testing.assert_array_equal(s, [0, 5, 0, 5])
    np.testing.assert_array_equal(c, [0, 2, 0, 1])  # repeated indices accumulate
    np.testing.assert_array_equal(a, 0)


def test_set_last_value_wins():
    x, y = st.dvector("x"), st.dvector("y")
    out = run([x, y], st.set_subtensor(x[[2, 0, 2]], y), np.zeros(3), np.array([1.0, 2, 3]))
    np.testing.assert_array_equal(out, [2, 0, 3])


def test_set_casts_the_value_and_inc_refuses_a_lossy_value():
    x = st.ivector("x")
    out = st.set_subtensor(x[:2], st.dscalar("y"))
    assert out.dtype == "int32"
    assert st.inc_subtensor(x[:2], 3).dtype == "int32"  # a weak Python int is fine
    with pytest.raises(TypeError, match="same_kind"):
        st.inc_subtensor(x[:2], st.dscalar())


def test_set_subtensor_needs_an_indexing_expression():
    x = st.dvector("x")
    with pytest.raises(TypeError, match="indexing expression"):
        st.set_subtensor(x, 1.0)
    with pytest.raises(TypeError, match="indexing expression"):
        st.inc_subtensor(x * 2, 1.0)


def test_update_ops_types():
    x = st.dmatrix("x")
    assert isinstance(st.inc_subtensor(x[0], 1.0).owner.op, IncSubtensor)
    op = st.set_subtensor(x[[0, 1]], 1.0).owner.op
    assert isinstance(op, AdvancedIncSubtensor) and op.set_instead_of_inc
    with pytest.raises(ValueError, match="broadcast"):
        st.set_subtensor(st.tensor("float64", shape=(4, 3))[1:3], st.tensor("float64", (2, 2)))
    with pytest.raises(ValueError, match="broadcast"):
        st.set_subtensor(x[0], st.dmatrix())


def test_symbolic_index_scalars_and_lists():
    x, i, j = st.dmatrix("x"), st.lscalar("i"), st.lscalar("j")
    a = np.arange(12.0).reshape(3, 4)
    out = run([x, i, j], [x[i], x[i:, j], x[[i, j]], x[i, [0, -1]]], a, -1, 2)
    for got, want in zip(out, [a[-1], a[-1:, 2], a[[-1, 2]], a[-1, [0, -1]]]):
        np.testing.assert_array_equal(got, want)


def test_empty_list_index():
    x = st.dmatrix("x")
    a = np.ones((3, 2))
    np.testing.assert_array_equal(run([x], x[[]], a), a[[]])


def test_arange_target_cost_gradient():
    x, t = st.dmatrix("x"), st.lvector("t")
    n = st.shape_i(x, 0)
    cost = -st.mean(x[st.arange(n), t])
    gx = sc.grad(cost, x)
    a = np.arange(6.0).reshape(3, 2)
    c, g = run([x, t], [cost, gx], a, np.array([1, 0, 1]))
    assert c == pytest.approx(-(1 + 2 + 5) / 3)
    want = np.zeros((3, 2))
    want[[0, 1, 2], [1, 0, 1]] = -1 / 3
    np.testing.assert_allclose(g, want)


def test_gradients_of_set_with_repeats():
    x, y = st.dvector("x"), st.dvector("y")
    out = st.set_subtensor(x[[0, 2, 0]], y)
    gx, gy = sc.grad((out * np.array([1.0, 2.0, 3.0])).sum(), [x, y])
    vx, vy = run([x, y], [gx, gy], np.zeros(3), np.zeros(3))
    np.testing.assert_array_equal(vx, [0, 2, 0])  # set positions get no gradient
    np.testing.assert_array_equal(vy, [0, 3, 1])  # the first write to 0 is overwritten


def test_gradient_of_inc_broadcast_value():
    x, y = st.dmatrix("x"), st.dscalar("y")
    out = st.inc_subtensor(x[[0, 0, 1], 1:], y)
    gy = sc.grad(out.sum(), y)
    assert run([x, y], gy, np.zeros((2, 3)), 0.0) == 6.0


def test_verify_grad_symbolic_slices():
    a = np.random.default_rng(0).normal(size=(5, 4))
    for index in [np.s_[1:-1, ::-2], np.s_[None, 3, ...], np.s_[[1, 1, 4], 2:]]:
        sc.verify_grad(lambda x, index=index: x[index], [a], mode="py")
    sc.verify_grad(lambda x, y: st.set_subtensor(x[1:3, 0], y), [a, np.ones(2)], mode="py")


def test_nonzero_and_where():
    x = st.dmatrix("x")
    a = np.array([[0.0, 1.0], [2.0, 0.0]])
    rows, cols = run([x], list(st.nonzero(x)), a)
    np.testing.assert_array_equal(rows, [0, 1])
    np.testing.assert_array_equal(cols, [1, 0])
    assert all(o.dtype == "int64" for o in st.nonzero(x))
    with pytest.raises(ValueError, match="0-d"):
        st.nonzero(st.dscalar())


# -- errors -------------------------------------------------------------------------------


def test_runtime_index_error_names_op_index_shape_and_line():
    x, i = st.dvector("x"), st.lscalar("i")
    f = sc.function([x, i], x[i], mode="py")
    with pytest.raises(IndexError) as info:
        f(np.zeros(3), 5)
    text = str(info.value)
    assert "Subtensor" in text and "5" in text and "(3,)" in text
    assert "test_subtensor.py" in text


def test_runtime_index_error_advanced():
    x, i = st.dvector("x"), st.lvector("i")
    f = sc.function([x, i], x[i], mode="py")
    with pytest.raises(IndexError, match="AdvancedSubtensor"):
        f(np.zeros(3), np.array([0, 3]))


def test_static_errors():
    x = st.tensor("float64", shape=(3, None))
    with pytest.raises(IndexError, match="out of bounds"):
        x[3]
    with pytest.raises(IndexError, match="out of bounds"):
        x[[0, -4]]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., ...]
    with pytest.raises(IndexError, match="integer"):
        x[1.5]
    with pytest.raises(IndexError, match="integer or boolean"):
        x[st.dvector()]
    with pytest.raises(ValueError, match="zero"):
        x[::0]
    with pytest.raises(IndexError, match="boolean index"):
        x[st.tensor("bool", shape=(4,))]
    with pytest.raises(IndexError, match="axis 1"):
        st.tensor("float64", shape=(2, 5))[..., [5]]
    assert st.tensor("float64", shape=(2, 5))[..., [4]].type.shape == (2, 1)
    with pytest.raises(IndexError, match="broadcast"):
        st.tensor("float64", shape=(3, 3))[np.array([0, 1]), np.array([0, 1, 2])]


def test_ops_reject_bad_index_inputs():
    x = st.dvector("x")
    with pytest.raises(TypeError, match="index input"):
        Subtensor((("int", SYM),))(x, st.dscalar())
    with pytest.raises(TypeError, match="index inputs"):
        AdvancedSubtensor((("array",),))(x)


def test_pushforward():
    x, y, tx, ty = st.dvector("x"), st.dvector("y"), st.dvector("tx"), st.dvector("ty")
    i = np.array([0, 2, 0])
    sub = x[i]
    (t_sub,) = sub.owner.op.pushforward(sub.owner.inputs, [sub], [tx, None])
    upd = st.set_subtensor(x[1:], y)
    (t_upd,) = upd.owner.op.pushforward(upd.owner.inputs, [upd], [None, ty])
    a, b = np.arange(3.0), np.array([5.0, 7.0])
    got_sub, got_upd = run([x, tx, ty], [t_sub, t_upd], a, a, b)
    np.testing.assert_array_equal(got_sub, a[i])
    np.testing.assert_array_equal(got_upd, [0, 5, 7])


def test_bool_scalar_and_symbolic_mask_index():
    x, c = st.dvector("x"), st.scalar("c", dtype="bool")
    a = np.arange(3.0)
    got = run([x, c], [x[c], x[x > 1]], a, np.array(False))
    np.testing.assert_array_equal(got[0], a[np.array(False)])
    np.testing.assert_array_equal(got[1], [2.0])


def test_take_and_flatnonzero():
    x, i = st.dmatrix("x"), st.lvector("i")
    a = np.arange(6.0).reshape(2, 3)
    got = run(
        [x, i], [st.take(x, i, axis=1), st.take(x, i), st.flatnonzero(x)], a, np.array([2, 0])
    )
    np.testing.assert_array_equal(got[0], np.take(a, [2, 0], axis=1))
    np.testing.assert_array_equal(got[1], np.take(a, [2, 0]))
    np.testing.assert_array_equal(got[2], np.flatnonzero(a))
    with pytest.raises(ValueError, match="axis"):
        st.take(x, i, axis=2)
