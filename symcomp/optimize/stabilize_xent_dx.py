"""stabilize, the softmax crossentropy's gradient: the softmax pullback of a one-hot
cotangent becomes one CrossentropySoftmax1HotDx node (registered into the ``stabilize``
pass of stabilize.py).

``grad(categorical_crossentropy(softmax(x), t), x)`` is built before stabilize fuses the
forward; stabilize_softmax.py turns its ``crossentropy_categorical_1hot_grad(g, p, t) * p``
into ``-onehot(g)``, which leaves the softmax pullback as
``-onehot(g) - p * sum(-onehot(g), axis=1, keepdims=True)`` (a zero matrix, an arange, a
scattered set, a row sum and elementwise passes). Its value is ``p * g[:, None]`` less
``g[i]`` at ``[i, t[i]]``: the fused op, one pass over p.
"""

from __future__ import annotations

import numpy as np

import symcomp.scalar.arith as sa
from symcomp.graph.variable import Constant
from symcomp.optimize.pattern import pat, var
from symcomp.optimize.stabilize import stabilize
from symcomp.optimize.stabilize_util import as_dtype, dim_keys, is_elemwise, is_float
from symcomp.tensor.advanced import AdvancedIncSubtensor
from symcomp.tensor.alloc import Alloc
from symcomp.tensor.construct import ARange
from symcomp.tensor.reduction import Sum
from symcomp.tensor.shapeof import ShapeI

# How deep two separately built one-hot matrices are compared for equality.
SAME_DEPTH = 8


@stabilize.rule(
    pat(
        sa.add,
        pat(sa.neg, var("y")),
        pat(sa.neg, pat(sa.mul, var("p"), pat(Sum, pat(sa.neg, var("y2")), name="s"))),
        name="out",
    )
)
def crossentropy_softmax_1hot_dx_of_softmax_grad(y, p, y2, s, out):
    # -onehot(g) - p * sum(-onehot(g), axis=1, keepdims=True)
    #   -> crossentropy_softmax_1hot_dx(g, p, t)
    sum_op = s.owner.op
    if p.ndim != 2 or not is_float(p) or out.dtype != p.dtype or y.dtype != p.dtype:
        return None
    if sum_op.axes != (1,) or not sum_op.keepdims or s.dtype != p.dtype:
        return None
    if not _same(y, y2, SAME_DEPTH):
        return None
    found = _one_hot_rows_of(y, p)
    if found is None:
        return None
    values, t, rows = found
    from symcomp.tensor.alloc import alloc
    from symcomp.tensor.nnet.xent_dx import crossentropy_softmax_1hot_dx

    values = as_dtype(values, p.dtype)  # the set casts them to y's dtype
    if not _one_per_row(values, p):
        values = alloc(values, rows)  # and broadcasts them to the indexed rows
    return crossentropy_softmax_1hot_dx(values, p, t)


def _one_hot_rows_of(y, p):
    """``(values, t, rows)`` when y is ``one_hot_rows(values, t, p)``: a set of
    ``zeros_like(p)[arange(rows), t]`` with ``rows = p.shape[0]``; else None."""
    node = y.owner
    if node is None or not isinstance(node.op, AdvancedIncSubtensor):
        return None
    if not node.op.set_instead_of_inc or node.op.idx_list != (("array",), ("array",)):
        return None
    zeros, values, rows_index, t = node.inputs
    if t.ndim != 1 or values.ndim > 1:
        return None
    z = zeros.owner
    if (
        z is None
        or not isinstance(z.op, Alloc)
        or len(z.inputs) != 3
        or not _is_const(z.inputs[0], 0)
    ):
        return None
    if not (_is_shape_i(z.inputs[1], p, 0) and _is_shape_i(z.inputs[2], p, 1)):
        return None
    r = rows_index.owner
    if r is None or not isinstance(r.op, ARange) or not _is_const(r.inputs[0], 0):
        return None
    if not _is_const(r.inputs[2], 1) or not _same(r.inputs[1], z.inputs[1], SAME_DEPTH):
        return None
    return values, t, z.inputs[1]


def _is_const(v, value) -> bool:
    """v is a constant (possibly cast) whose every element equals value."""
    while is_elemwise(v, sa.Cast):
        v = v.owner.inputs[0]
    return isinstance(v, Constant) and bool(np.all(np.asarray(v.data) == value))


def _is_shape_i(v, x, i: int) -> bool:
    """v is ``x.shape[i]``: read from x (or a value computing the same), or a constant
    equal to x's static length."""
    if isinstance(v, Constant):
        return x.type.shape[i] is not None and _is_const(v, x.type.shape[i])
    node = v.owner
    if node is None or not isinstance(node.op, ShapeI) or node.op.i != i:
        return False
    return _same(node.inputs[0], x, SAME_DEPTH)


def _one_per_row(v, p) -> bool:
    """v is a vector that provably has one entry per row of p."""
    memo: dict = {}
    return v.ndim == 1 and dim_keys(v, memo)[0] == dim_keys(p, memo)[0]


def _same(a, b, depth: int) -> bool:
    """a and b are the same value: one variable, equal constants, or the same op applied
    to the same values (compared ``depth`` levels deep)."""
    if a is b:
        return True
    if isinstance(a, Constant) and isinstance(b, Constant):
        return a.type == b.type and np.array_equal(a.data, b.data)
    na, nb = a.owner, b.owner
    if depth == 0 or na is None or nb is None or na.op != nb.op:
        return False
    if len(na.inputs) != len(nb.inputs) or na.outputs.index(a) != nb.outputs.index(b):
        return False
    return all(_same(u, v, depth - 1) for u, v in zip(na.inputs, nb.inputs))
