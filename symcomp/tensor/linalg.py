"""Linear algebra: Dot (numpy.dot on vectors and matrices), MatMul (numpy.matmul, batched),
and the helpers built on them: dot, matmul, outer, inner, tensordot, batched_dot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dimshuffle import dimshuffle, matrix_transpose, transpose
from symcomp.tensor.dtypes import is_discrete, result_dtype
from symcomp.tensor.errors import shape_str, where
from symcomp.tensor.type import TensorType

__all__ = [
    "Dot",
    "MatMul",
    "batched_dot",
    "dot",
    "inner",
    "matmul",
    "outer",
    "tensordot",
]


def _check_contracted(name: str, x, y, ax: int, ay: int) -> None:
    """A static mismatch of the contracted lengths is a ValueError naming both shapes."""
    nx, ny = x.type.shape[ax], y.type.shape[ay]
    if nx is not None and ny is not None and nx != ny:
        raise ValueError(
            f"{name}: shapes {shape_str(x.type.shape)} and {shape_str(y.type.shape)} are not "
            f"aligned: dim {ax % x.ndim} of the first ({nx}) != dim {ay % y.ndim} of the "
            f"second ({ny}){where(user_source())}"
        )


def _grad_dtype(g, x):
    """``g`` cast to x's dtype; None where x is discrete (no gradient)."""
    from symcomp.tensor.arith import cast

    if is_discrete(x.dtype):
        return None
    return cast(g, x.dtype)


@dataclass(frozen=True)
class Dot(Op):
    """numpy.dot of vectors and matrices: vector.vector -> scalar, matrix.vector,
    vector.matrix and matrix.matrix. The output dtype is NumPy's result_type (int stays
    int, bool.bool is bool). Use ``dot`` for scalars and >2-d operands."""

    def make_node(self, x, y):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        if x.ndim not in (1, 2) or y.ndim not in (1, 2):
            raise TypeError(
                f"Dot takes vectors and matrices, got {x.type} and {y.type}; use "
                f"symcomp.tensor.dot for scalars and >2-d operands{where(user_source())}"
            )
        _check_contracted("dot", x, y, -1, 0)
        shape = x.type.shape[:-1] + y.type.shape[1:]
        dtype = result_dtype((x.dtype, y.dtype))
        return Apply.make(self, [x, y], [TensorType(dtype, shape)])

    def perform(self, node, inputs):
        x, y = inputs
        return [np.asarray(np.dot(x, y), dtype=node.outputs[0].dtype)]

    def infer_shape(self, node, input_shapes):
        sx, sy = input_shapes
        return [tuple(sx[:-1]) + tuple(sy[1:])]

    def pullback(self, inputs, outputs, cotangents):
        x, y = inputs
        g = cotangents[0]
        if g is None:
            return [None, None]
        if x.ndim == 1 and y.ndim == 1:
            gx, gy = g * y, g * x
        elif x.ndim == 2 and y.ndim == 1:  # g: (m,)
            gx, gy = _dot(dimshuffle(g, (0, "x")), dimshuffle(y, ("x", 0))), _dot(x.T, g)
        elif x.ndim == 1:  # y: (k, n), g: (n,)
            gx, gy = _dot(y, g), _dot(dimshuffle(x, (0, "x")), dimshuffle(g, ("x", 0)))
        else:
            gx, gy = _dot(g, y.T), _dot(x.T, g)
        return [_grad_dtype(gx, x), _grad_dtype(gy, y)]


_dot = Dot()


@dataclass(frozen=True)
class MatMul(Op):
    """numpy.matmul (the ``@`` operator): a stack of matrix products over the leading
    (batch) dims, which broadcast. A 1-d first operand is a row (the added dim is then
    removed), a 1-d second operand a column. Scalars are rejected, as by NumPy."""

    def make_node(self, x, y):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(
                f"matmul: operands must have at least 1 dim, got {x.type} and {y.type}; "
                f"use * to multiply by a scalar{where(user_source())}"
            )
        _check_contracted("matmul", x, y, -1, -2 if y.ndim >= 2 else 0)
        batch = _broadcast_batch(x, y)
        shape = batch + x.type.shape[-2:-1] * (x.ndim >= 2) + y.type.shape[-1:] * (y.ndim >= 2)
        dtype = result_dtype((x.dtype, y.dtype))
        return Apply.make(self, [x, y], [TensorType(dtype, shape)])

    def perform(self, node, inputs):
        x, y = inputs
        return [np.asarray(np.matmul(x, y), dtype=node.outputs[0].dtype)]

    def infer_shape(self, node, input_shapes):
        from symcomp.tensor.shapeof import broadcast_shape_symbolic

        x, y = node.inputs
        sx, sy = tuple(input_shapes[0]), tuple(input_shapes[1])
        nb = len(node.outputs[0].type.shape) - (x.ndim >= 2) - (y.ndim >= 2)
        out_static = node.outputs[0].type.shape
        batch = broadcast_shape_symbolic([sx[:-2], sy[:-2]], out_static[:nb]) if nb else ()
        return [batch + sx[-2:-1] * (x.ndim >= 2) + sy[-1:] * (y.ndim >= 2)]

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.elemwise import sum_to

        x, y = inputs
        g = cotangents[0]
        if g is None:
            return [None, None]
        # Work on the promoted (>= 2-d) operands, then drop the dims that promotion added.
        x2 = x if x.ndim >= 2 else dimshuffle(x, ("x", 0))
        y2 = y if y.ndim >= 2 else dimshuffle(y, (0, "x"))
        nb = g.ndim - (x.ndim >= 2) - (y.ndim >= 2)
        pattern = list(range(nb))
        pattern.append(nb if x.ndim >= 2 else "x")
        pattern.append(g.ndim - 1 if y.ndim >= 2 else "x")
        g2 = dimshuffle(g, tuple(pattern))
        grads = []
        for var, grad in (
            (x, _matmul(g2, matrix_transpose(y2))),
            (y, _matmul(matrix_transpose(x2), g2)),
        ):
            if is_discrete(var.dtype):
                grads.append(None)
                continue
            if var.ndim == 1:
                # x promoted to (1, k): drop dim -2; y promoted to (k, 1): drop dim -1.
                drop = grad.ndim - 2 if var is x else grad.ndim - 1
                grad = dimshuffle(grad, tuple(d for d in range(grad.ndim) if d != drop))
            grads.append(sum_to(grad, var))
        return grads


_matmul = MatMul()


def _broadcast_batch(x, y) -> tuple:
    """The static broadcast of the batch dims (all but the last two) of x and y."""
    bx = x.type.shape[:-2] if x.ndim >= 2 else ()
    by = y.type.shape[:-2] if y.ndim >= 2 else ()
    n = max(len(bx), len(by))
    bx, by = (1,) * (n - len(bx)) + bx, (1,) * (n - len(by)) + by
    out = []
    for d, (a, b) in enumerate(zip(bx, by)):
        if a is not None and b is not None and a != 1 and b != 1 and a != b:
            raise ValueError(
                f"matmul: cannot broadcast the batch dims of shapes {shape_str(x.type.shape)} "
                f"and {shape_str(y.type.shape)} (batch dim {d}: {a} vs {b})"
                f"{where(user_source())}"
            )
        if a == 1:
            out.append(b)
        elif b == 1:
            out.append(a)
        else:
            out.append(a if a is not None else b)
    return tuple(out)


def dot(x, y):
    """numpy.dot: a scalar operand multiplies; vectors and matrices use Dot; with >2-d
    operands, sums over the last dim of x and the second-to-last of y (tensordot)."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim == 0 or y.ndim == 0:
        from symcomp.tensor.arith import mul

        return mul(x, y)
    if x.ndim <= 2 and y.ndim <= 2:
        return _dot(x, y)
    return tensordot(x, y, axes=([x.ndim - 1], [max(y.ndim - 2, 0)]))


def matmul(x, y):
    """numpy.matmul (``x @ y``): batched matrix products with broadcast batch dims.
    Operands of at most 2 dims build a Dot (same semantics), so rewrites see one op."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if 1 <= x.ndim <= 2 and 1 <= y.ndim <= 2:
        return _dot(x, y)
    return _matmul(x, y)


def outer(x, y):
    """numpy.outer: the outer product of x and y, flattened to vectors first."""
    x, y = _flat(as_tensor_variable(x)), _flat(as_tensor_variable(y))
    return _dot(dimshuffle(x, (0, "x")), dimshuffle(y, ("x", 0)))


def _flat(x):
    if x.ndim == 1:
        return x
    if x.ndim == 0:
        return dimshuffle(x, ("x",))
    import symcomp.tensor as st

    return st.flatten(x, 1)


def inner(x, y):
    """numpy.inner: sums over the last dim of both operands."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim == 0 or y.ndim == 0:
        return dot(x, y)
    return tensordot(x, y, axes=([x.ndim - 1], [y.ndim - 1]))


def _normalize_axes(a, b, axes) -> tuple[list, list]:
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise ValueError(
                f"tensordot: axes={n} is out of range for operands with "
                f"{a.ndim} and {b.ndim} dims{where(user_source())}"
            )
        return list(range(a.ndim - n, a.ndim)), list(range(n))
    try:
        a_axes, b_axes = axes
    except (TypeError, ValueError):
        raise ValueError(
            f"tensordot: axes must be an int or a pair of sequences, got "
            f"{axes!r}{where(user_source())}"
        ) from None
    a_axes = [a_axes] if isinstance(a_axes, (int, np.integer)) else list(a_axes)
    b_axes = [b_axes] if isinstance(b_axes, (int, np.integer)) else list(b_axes)
    if len(a_axes) != len(b_axes):
        raise ValueError(
            f"tensordot: {len(a_axes)} axes of the first operand but "
            f"{len(b_axes)} of the second{where(user_source())}"
        )
    out = []
    for var, ax in ((a, a_axes), (b, b_axes)):
        if any(not -var.ndim <= int(d) < var.ndim for d in ax):
            raise ValueError(
                f"tensordot: axes {ax} out of range for {var.type}{where(user_source())}"
            )
        norm = [int(d) % var.ndim for d in ax]
        if len(set(norm)) != len(norm):
            raise ValueError(f"tensordot: repeated axis in {ax}{where(user_source())}")
        out.append(norm)
    return out[0], out[1]


def _prod(lengths):
    from symcomp.tensor.arith import mul

    acc = 1
    for n in lengths:
        acc = acc * n if isinstance(acc, int) and isinstance(n, int) else mul(acc, n)
    return acc


def tensordot(a, b, axes=2):
    """numpy.tensordot: sums products over ``axes`` (an int n: the last n dims of a with
    the first n of b; or a pair of axis sequences). Built from transpose, reshape and
    Dot, so its gradient follows from theirs."""
    import symcomp.tensor as st
    from symcomp.tensor.shapeof import shape_tuple

    a, b = as_tensor_variable(a), as_tensor_variable(b)
    a_axes, b_axes = _normalize_axes(a, b, axes)
    for da, db in zip(a_axes, b_axes):
        _check_contracted("tensordot", a, b, da, db)
    free_a = [d for d in range(a.ndim) if d not in a_axes]
    free_b = [d for d in range(b.ndim) if d not in b_axes]
    at = transpose(a, free_a + a_axes) if a.ndim else a
    bt = transpose(b, b_axes + free_b) if b.ndim else b
    if not a_axes:
        # No contraction: an outer product of all elements, by broadcasting.
        from symcomp.tensor.arith import mul

        return mul(
            dimshuffle(at, tuple(range(a.ndim)) + ("x",) * b.ndim),
            dimshuffle(bt, ("x",) * a.ndim + tuple(range(b.ndim))),
        )
    sa, sb = shape_tuple(a), shape_tuple(b)
    free_a_shape = [sa[d] for d in free_a]
    free_b_shape = [sb[d] for d in free_b]
    k = _prod(sa[d] for d in a_axes)
    reshaped = False
    if len(a_axes) > 1 or len(free_a) > 1:
        at = st.reshape(at, ((_prod(free_a_shape), k) if free_a else (k,)))
        reshaped = True
    if len(b_axes) > 1 or len(free_b) > 1:
        bt = st.reshape(bt, ((k, _prod(free_b_shape)) if free_b else (k,)))
        reshaped = True
    out = _dot(at, bt)
    if reshaped:
        out = st.reshape(out, tuple(free_a_shape + free_b_shape))
    return out


def batched_dot(a, b):
    """Theano's batched_dot: ``dot(a[i], b[i])`` for each i along the first dim, for
    operands of 2 or 3 dims ((B, n, m) and (B, m, p) -> (B, n, p); a (B, m) operand acts
    as a batch of vectors)."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim not in (2, 3) or b.ndim not in (2, 3):
        raise TypeError(
            f"batched_dot takes operands of 2 or 3 dims, got {a.type} and "
            f"{b.type}{where(user_source())}"
        )
    a3 = a if a.ndim == 3 else dimshuffle(a, (0, "x", 1))
    b3 = b if b.ndim == 3 else dimshuffle(b, (0, 1, "x"))
    out = _matmul(a3, b3)
    keep = [0] + [1] * (a.ndim == 3) + [2] * (b.ndim == 3)
    return dimshuffle(out, tuple(keep))
