"""Focused tests for symcomp/tensor/linalg.py: errors, static shapes, dtypes, graph shape,
second derivatives. Values against NumPy for every rank combination are in
optable_linalg.py."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.tensor.linalg import Dot, MatMul


def _run(outputs, inputs, *values):
    return sc.function(inputs, outputs, mode="py")(*values)


def test_dot_static_mismatch_names_both_shapes_and_line():
    x = st.matrix("x", shape=(3, 4))
    y = st.vector("y", shape=(5,))
    with pytest.raises(ValueError) as err:
        st.dot(x, y)  # the line the message must point at
    msg = str(err.value)
    assert "(3, 4)" in msg and "(5,)" in msg
    assert "test_linalg.py" in msg and "st.dot(x, y)" in msg


def test_matmul_static_mismatch():
    x = st.tensor3("x", shape=(2, 3, 4))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(5, 6\)"):
        x @ st.matrix("y", shape=(5, 6))
    with pytest.raises(ValueError, match="batch"):
        x @ st.tensor3("z", shape=(5, 4, 6))
    with pytest.raises(ValueError, match="test_linalg.py"):
        st.matmul(st.vector(shape=(3,)), st.tensor3(shape=(None, 4, 2)))


def test_matmul_rejects_scalars_and_dot_op_rejects_3d():
    with pytest.raises(ValueError, match="at least 1 dim"):
        st.matmul(st.scalar(), st.vector())
    with pytest.raises(TypeError, match="Dot takes vectors and matrices"):
        Dot()(st.tensor3(), st.matrix())


def test_runtime_mismatch_raises():
    x, y = st.matrix("x"), st.vector("y")
    f = sc.function([x, y], st.dot(x, y), mode="py")
    with pytest.raises(ValueError):
        f(np.ones((3, 4)), np.ones(5))


@pytest.mark.parametrize(
    "sx,sy,expected",
    [
        ((5, None, 3), (3, 4), (5, None, 4)),
        ((1, 2, 3), (4, 3, 5), (4, 2, 5)),
        ((None, 2, 3), (4, 3, 5), (4, 2, 5)),
        ((None, 2, 3), (None, 3, 5), (None, 2, 5)),
        ((3,), (7, 3, 4), (7, 4)),
        ((7, 2, 3), (3,), (7, 2)),
        ((2, 1, 2, 3), (4, 3, 2), (2, 4, 2, 2)),
    ],
)
def test_matmul_static_shape(sx, sy, expected):
    out = st.matmul(st.tensor(shape=sx), st.tensor(shape=sy))
    assert out.type.shape == expected
    assert isinstance(out.owner.op, MatMul)


@pytest.mark.parametrize(
    "sx,sy,expected",
    [((3,), (3,), ()), ((2, 3), (3,), (2,)), ((3,), (3, 4), (4,)), ((2, None), (None, 4), (2, 4))],
)
def test_dot_static_shape(sx, sy, expected):
    out = st.dot(st.tensor(shape=sx), st.tensor(shape=sy))
    assert out.type.shape == expected
    assert isinstance(out.owner.op, Dot)


@pytest.mark.parametrize(
    "dx,dy,expected",
    [
        ("int8", "int8", "int8"),
        ("bool", "bool", "bool"),
        ("int32", "float32", "float64"),
        ("float32", "float32", "float32"),
        ("uint8", "int8", "int16"),
    ],
)
def test_dtype_promotion(dx, dy, expected):
    x, y = st.matrix(dtype=dx), st.matrix(dtype=dy)
    assert st.dot(x, y).dtype == expected
    assert st.matmul(st.tensor3(dtype=dx), y).dtype == expected


def test_operator_and_method_build_one_node():
    x, y = st.matrix("x"), st.matrix("y")
    assert (x @ y) is st.dot(x, y) is x.dot(y)
    assert isinstance((x @ y).owner.op, Dot)
    assert isinstance((st.tensor3() @ y).owner.op, MatMul)
    a = np.arange(6.0).reshape(2, 3)
    assert (a @ st.matrix(shape=(3, 2))).owner.inputs[0].data.shape == (2, 3)


def test_dot_with_scalar_multiplies():
    x = st.matrix("x")
    out = st.dot(x, 2.0)
    np.testing.assert_allclose(_run(out, [x], np.ones((2, 2))), 2 * np.ones((2, 2)))


def test_integer_operand_gets_no_gradient():
    x, n = st.dmatrix("x"), st.imatrix("n")
    cost = st.dot(x, n).sum()
    out = st.dot(x, n)
    assert out.owner.op.pullback([x, n], [out], [st.ones_like(out)])[1] is None
    gx = sc.grad(cost, x)
    xv = np.ones((2, 3))
    nv = np.arange(12, dtype="int32").reshape(3, 4)
    np.testing.assert_allclose(_run(gx, [x, n], xv, nv), np.broadcast_to(nv.sum(1), (2, 3)))


def test_float32_gradient_keeps_dtype():
    x, w = st.fmatrix("x"), st.dmatrix("w")
    gx = sc.grad((x @ w).sum(), x)
    assert gx.dtype == "float32"


def test_hessian_of_quadratic_form():
    # x . A . x has Hessian A + A^T: a second derivative through Dot.
    x, a = st.dvector("x"), st.dmatrix("a")
    h = sc.hessian(st.dot(x, st.dot(a, x)), x)
    av = np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(_run(h, [x, a], np.ones(3), av), av + av.T)


def test_matmul_broadcast_batch_gradient_shape():
    x, y = st.dtensor3("x"), st.dmatrix("y")
    gx, gy = sc.grad((x @ y).sum(), [x, y])
    xv, yv = np.ones((5, 2, 3)), np.ones((3, 4))
    gxv, gyv = _run([gx, gy], [x, y], xv, yv)
    assert gxv.shape == (5, 2, 3) and gyv.shape == (3, 4)
    np.testing.assert_allclose(gyv, np.full((3, 4), 10.0))


def test_tensordot_axes_errors():
    a, b = st.tensor3(shape=(2, 3, 4)), st.tensor3(shape=(4, 3, 5))
    with pytest.raises(ValueError, match="1 axes of the first operand but 2"):
        st.tensordot(a, b, ([2], [0, 1]))
    with pytest.raises(ValueError, match="out of range"):
        st.tensordot(a, b, ([3], [0]))
    with pytest.raises(ValueError, match=r"dim 1 of the first \(3\) != dim 0 of the second"):
        st.tensordot(a, b, ([1], [0]))
    with pytest.raises(ValueError, match="out of range"):
        st.tensordot(a, b, 4)
    with pytest.raises(ValueError, match="repeated"):
        st.tensordot(a, b, ([2, 2], [0, 0]))


def test_tensordot_static_shape():
    a, b = st.tensor3(shape=(2, 3, 4)), st.tensor3(shape=(4, 3, 5))
    assert st.tensordot(a, b, ([1, 2], [1, 0])).type.shape == (2, 5)
    assert st.tensordot(a, b, 0).type.shape == (2, 3, 4, 4, 3, 5)


def test_outer_and_batched_dot_shapes():
    assert st.outer(st.vector(shape=(3,)), st.vector(shape=(4,))).type.shape == (3, 4)
    out = st.batched_dot(st.tensor3(shape=(5, 2, 3)), st.matrix(shape=(5, 3)))
    assert out.type.shape == (5, 2)
    with pytest.raises(TypeError, match="2 or 3 dims"):
        st.batched_dot(st.vector(), st.matrix())


def test_infer_shape_of_batched_matmul_is_symbolic():
    x, y = st.tensor3("x"), st.matrix("y")
    out = x @ y
    shp = out.owner.op.infer_shape(out.owner, [st.shape_tuple(x), st.shape_tuple(y)])[0]
    vals = _run(list(shp), [x, y], np.ones((5, 2, 3)), np.ones((3, 4)))
    assert [int(v) for v in vals] == [5, 2, 4]


def test_rop_through_batched_matmul():
    # Rop transposes the pullback, so it exercises the pullback's own gradient.
    x, w, v = st.dtensor3("x"), st.dmatrix("w"), st.dmatrix("v")
    f = sc.function([x, w, v], sc.Rop(x @ w, w, v), mode="py", on_unused_input="ignore")
    rng = np.random.default_rng(0)
    xv, wv, vv = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    np.testing.assert_allclose(f(xv, wv, vv), xv @ vv)
