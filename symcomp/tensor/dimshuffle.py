"""DimShuffle: transpose, add broadcastable dims ('x') and drop length-1 dims (a view)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.errors import where
from symcomp.tensor.type import TensorType


@dataclass(frozen=True)
class DimShuffle(Op):
    """Output dim k is input dim ``new_order[k]``, or a new length-1 dim where it is "x".

    Input dims missing from ``new_order`` are dropped; they must have length 1 (checked
    statically where the length is known, else at run time). The result is a view.
    """

    input_ndim: int
    new_order: tuple

    def __post_init__(self):
        dims = [d for d in self.new_order if d != "x"]
        if len(set(dims)) != len(dims) or any(
            not isinstance(d, int) or not 0 <= d < self.input_ndim for d in dims
        ):
            raise ValueError(
                f"invalid dimshuffle pattern {self.new_order} for "
                f"{self.input_ndim} dims{where(user_source())}"
            )

    @property
    def dropped(self) -> tuple:
        return tuple(d for d in range(self.input_ndim) if d not in self.new_order)

    @property
    def is_transpose_only(self) -> bool:
        return "x" not in self.new_order and not self.dropped

    def __str__(self):
        return f"DimShuffle{{{','.join(str(d) for d in self.new_order)}}}"

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim != self.input_ndim:
            raise TypeError(f"{self} expects {self.input_ndim} dims, got {x} with {x.ndim}")
        for d in self.dropped:
            if x.type.shape[d] not in (None, 1):
                raise ValueError(
                    f"{self}: cannot drop dim {d} of {x} (static length "
                    f"{x.type.shape[d]}, not 1){where(user_source())}"
                )
        shape = tuple(1 if d == "x" else x.type.shape[d] for d in self.new_order)
        return Apply.make(self, [x], [TensorType(x.dtype, shape)])

    def perform(self, node, inputs):
        (x,) = inputs
        for d in self.dropped:
            if x.shape[d] != 1:
                raise ValueError(
                    f"cannot drop dim {d} of an array of shape {x.shape}: its length is not 1"
                )
        kept = [d for d in self.new_order if d != "x"]
        y = np.transpose(x, kept + list(self.dropped)) if x.ndim else x
        shape = tuple(1 if d == "x" else x.shape[d] for d in self.new_order)
        return [y.reshape(shape)]

    def infer_shape(self, node, input_shapes):
        (shp,) = input_shapes
        return [tuple(1 if d == "x" else shp[d] for d in self.new_order)]

    def pullback(self, inputs, outputs, cotangents):
        (x,) = inputs
        g = cotangents[0]
        if g is None:
            return [None]
        # Drop the added "x" dims, re-add the dropped ones, undo the transpose.
        order = [
            self.new_order.index(d) if d in self.new_order else "x" for d in range(self.input_ndim)
        ]
        return [dimshuffle(g, tuple(order))]

    def pushforward(self, inputs, outputs, tangents):
        return [None if tangents[0] is None else self(tangents[0])]


def dimshuffle(x, pattern):
    """Theano's dimshuffle: ``x.dimshuffle(1, 'x', 0)``."""
    x = as_tensor_variable(x)
    pattern = tuple(p if p == "x" else int(p) for p in pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    return DimShuffle(x.ndim, pattern)(x)


def transpose(x, axes=None):
    """Permute the dims (reverse them when ``axes`` is None), as numpy.transpose."""
    x = as_tensor_variable(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    axes = tuple(int(a) % x.ndim if x.ndim else int(a) for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {x.ndim} dims")
    return dimshuffle(x, axes)


def permute_dims(x, axes=None):
    return transpose(x, axes)


def expand_dims(x, axis):
    """x with new length-1 dims at ``axis`` (an int or a tuple), as numpy.expand_dims."""
    x = as_tensor_variable(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out_ndim = x.ndim + len(axes)
    axes = sorted(int(a) % out_ndim for a in axes)
    pattern, src = [], iter(range(x.ndim))
    for k in range(out_ndim):
        pattern.append("x" if k in axes else next(src))
    return dimshuffle(x, pattern)


def squeeze(x, axis=None):
    """x without length-1 dims (those of ``axis``; with None, the statically known ones)."""
    x = as_tensor_variable(x)
    if axis is None:
        drop = {d for d, n in enumerate(x.type.shape) if n == 1}
    else:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        drop = {int(a) % x.ndim for a in axes}
    return dimshuffle(x, [d for d in range(x.ndim) if d not in drop])


def matrix_transpose(x):
    """Swap the last two dims."""
    x = as_tensor_variable(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose needs at least 2 dims, got {x.ndim}")
    return dimshuffle(x, list(range(x.ndim - 2)) + [x.ndim - 1, x.ndim - 2])
