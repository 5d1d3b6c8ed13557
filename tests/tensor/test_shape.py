"""Focused tests for shape ops: static shapes, errors, symbolic shapes and gradients."""

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.tensor.shape import MakeVector, Reshape


def _run(inputs, outputs, *values):
    return sc.function(inputs, outputs, mode="py", on_unused_input="ignore")(*values)


def test_reshape_static_shapes():
    x = st.tensor("float64", shape=(2, 3, 4))
    assert x.reshape((4, -1)).type.shape == (4, 6)
    assert x.reshape(24).type.shape == (24,)
    assert x.reshape((st.shape_i(x, 0), -1)).type.shape == (2, 12)
    y = st.tensor("float64", shape=(None, 3))
    assert y.reshape((-1,)).type.shape == (None,)
    assert y.reshape((st.shape_i(y, 0), 3, 1)).type.shape == (None, 3, 1)
    assert x.reshape((2, 3, 4)) is x


def test_reshape_errors():
    x = st.tensor("float64", shape=(2, 3))
    with pytest.raises(ValueError, match="Reshape"):
        x.reshape((4, 2))
    with pytest.raises(ValueError, match="Reshape"):
        x.reshape((-1, -1))
    with pytest.raises(ValueError, match="Reshape"):
        x.reshape((4, -1))
    with pytest.raises(ValueError, match="Reshape"):
        x.reshape((-2, 3))
    m = st.matrix("m")
    f = sc.function([m], m.reshape((5, -1)), mode="py")
    with pytest.raises(ValueError, match="Reshape"):
        f(np.zeros((2, 3)))


def test_reshape_symbolic_vector_needs_ndim():
    x = st.matrix("x")
    s = st.lvector("s")
    with pytest.raises(ValueError, match="ndim"):
        st.reshape(x, s)
    out = st.reshape(x, s, ndim=3)
    assert out.ndim == 3
    got = _run([x, s], out, np.arange(6.0).reshape(2, 3), np.array([3, -1, 1]))
    assert got.shape == (3, 2, 1)


def test_reshape_mixed_tuple_uses_make_vector():
    x = st.matrix("x")
    out = x.reshape((st.shape_i(x, 1), -1))
    assert isinstance(out.owner.op, Reshape)
    assert isinstance(out.owner.inputs[1].owner.op, MakeVector)
    got = _run([x], out, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(got, np.arange(6.0).reshape(3, 2))


def test_list_of_scalar_variables_becomes_make_vector():
    a, b = st.dscalar("a"), st.dscalar("b")
    v = st.as_tensor_variable([a, b, 1.5])
    assert isinstance(v.owner.op, MakeVector) and v.type.shape == (3,)
    np.testing.assert_array_equal(_run([a, b], v, 1.0, 2.0), [1.0, 2.0, 1.5])
    ga, gb = sc.grad((v * np.array([3.0, 4.0, 5.0])).sum(), [a, b])
    np.testing.assert_array_equal(_run([a, b], [ga, gb], 1.0, 2.0), [3.0, 4.0])


def test_flatten():
    x = st.tensor("float32", shape=(2, 3, None))
    assert st.flatten(x, 2).type.shape == (2, None)
    assert st.flatten(st.tensor("float32", shape=(2, 3, 4))).type.shape == (24,)
    with pytest.raises(ValueError, match="flatten"):
        st.flatten(x, 4)
    with pytest.raises(ValueError, match="flatten"):
        st.flatten(x, 0)


def test_concatenate_static_shape_and_errors():
    x = st.tensor("float32", shape=(2, 3))
    y = st.tensor("float64", shape=(None, 3))
    z = st.tensor("float32", shape=(4, 3))
    assert st.concatenate([x, z]).type.shape == (6, 3)
    out = st.concatenate([x, y])
    assert out.type.shape == (None, 3) and out.dtype == "float64"
    with pytest.raises(ValueError, match="Concatenate"):
        st.concatenate([x, z], axis=1)
    with pytest.raises(ValueError, match="concatenate"):
        st.concatenate([x, z], axis=2)
    with pytest.raises(ValueError, match="Concatenate"):
        st.concatenate([x, st.vector()])
    with pytest.raises(ValueError, match="zero-dimensional"):
        st.concatenate([st.scalar(), st.scalar()])
    assert st.concatenate([x]) is x


def test_concatenate_runtime_mismatch():
    a, b = st.matrix("a"), st.matrix("b")
    f = sc.function([a, b], st.concatenate([a, b]), mode="py")
    with pytest.raises(ValueError, match="Concatenate"):
        f(np.zeros((2, 3)), np.zeros((2, 4)))


def test_concatenate_gradient_casts_per_input():
    a, b = st.fvector("a"), st.dvector("b")
    ga, gb = sc.grad(st.concatenate([a, b]).sum(), [a, b])
    assert ga.dtype == "float32" and gb.dtype == "float64"
    i = st.ivector("i")
    out = st.concatenate([b, i])
    assert out.owner.op.pullback(out.owner.inputs, [out], [b])[1] is None


def test_stack_static_shape():
    x = st.tensor("float64", shape=(2, 3))
    assert st.stack([x, x, x], axis=1).type.shape == (2, 3, 3)
    assert st.stack([x, x], axis=-1).type.shape == (2, 3, 2)
    with pytest.raises(ValueError, match="stack"):
        st.stack([x, st.vector()])


def test_split_errors_and_static_shapes():
    x = st.tensor("float64", shape=(6, 2))
    parts = st.split(x, [1, 5], 2)
    assert [p.type.shape for p in parts] == [(1, 2), (5, 2)]
    with pytest.raises(ValueError, match="Split"):
        st.split(x, [1, 2], 2)
    m = st.matrix("m")
    s = st.lvector("s")
    f = sc.function([m, s], st.split(m, s, 2), mode="py")
    with pytest.raises(ValueError, match="Split"):
        f(np.zeros((3, 2)), np.array([1, 1]))


def test_split_gradient_with_unused_output():
    x = st.vector("x")
    _, b, _ = st.split(x, [1, 2, 1], 3)
    g = sc.grad(b.sum() * 2, x)
    np.testing.assert_array_equal(_run([x], g, np.zeros(4)), [0, 2, 2, 0])


def test_repeat_static_shapes_and_errors():
    x = st.tensor("float64", shape=(2, 3))
    assert st.repeat(x, 2, axis=1).type.shape == (2, 6)
    assert st.repeat(x, [1, 0, 2], axis=1).type.shape == (2, 3)
    assert st.repeat(x, 3).type.shape == (18,)
    with pytest.raises(ValueError, match="Repeat"):
        st.repeat(x, [1, 2], axis=1)
    with pytest.raises(ValueError, match="negative"):
        st.repeat(x, -1)
    with pytest.raises(TypeError, match="repeats"):
        st.repeat(x, 1.5)


def test_repeat_gradient_sums_runs():
    x = st.vector("x")
    g = sc.grad((st.repeat(x, [2, 0, 3]) * np.arange(5.0)).sum(), x)
    np.testing.assert_array_equal(_run([x], g, np.zeros(3)), [0 + 1, 0, 2 + 3 + 4])


def test_tile_static_shape_and_gradient():
    x = st.tensor("float64", shape=(2, 3))
    assert st.tile(x, (2, 1, 2)).type.shape == (2, 2, 6)
    v = st.vector("v")
    g = sc.grad(st.tile(v, (2, 3)).sum(), v)
    np.testing.assert_array_equal(_run([v], g, np.zeros(2)), [6.0, 6.0])
    with pytest.raises(ValueError, match="Tile"):
        st.tile(x, (-1,))


def test_eye_and_arange_static():
    assert st.eye(3, 4).type.shape == (3, 4)
    assert st.eye(3).dtype == sc.config.floatX
    n = st.lscalar("n")
    assert st.eye(n).type.shape == (None, None)
    assert st.arange(2, 11, 3).type.shape == (3,)
    assert st.arange(5).dtype == "int64"
    assert st.arange(0.0, 1.0, 0.1).type.shape == (10,)
    assert st.arange(n).type.shape == (None,)
    with pytest.raises(ValueError, match="step"):
        st.arange(0, 5, 0)
    f = sc.function([n], st.arange(0, 5, n), mode="py")
    with pytest.raises(ValueError, match="step"):
        f(0)


def test_arange_dtype_rules():
    assert st.arange(st.iscalar()).dtype == "int64"
    assert st.arange(1.5).dtype == sc.config.floatX
    assert st.arange(3, dtype="float32").dtype == "float32"
    with sc.config.change_flags(floatX="float32"):
        assert st.arange(0.5, 2).dtype == "float32"


def test_reshape_gradient_of_symbolic_shape_is_none():
    x, s = st.matrix("x"), st.lvector("s")
    out = st.reshape(x, s, ndim=1)
    grads = out.owner.op.pullback(out.owner.inputs, [out], [st.vector()])
    assert grads[1] is None and grads[0].ndim == 2
