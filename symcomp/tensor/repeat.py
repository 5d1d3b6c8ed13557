"""Repeat (numpy.repeat), its adjoint RepeatSum, and Tile (numpy.tile)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.graph.variable import Constant
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import is_discrete
from symcomp.tensor.errors import where
from symcomp.tensor.shapeof import shape_i, shape_tuple, static_value
from symcomp.tensor.type import TensorType


def _as_repeats(repeats, opname: str):
    from symcomp.tensor.arith import cast

    r = as_tensor_variable(repeats)
    if r.ndim > 1 or not is_discrete(r.dtype) or r.dtype == "bool":
        raise TypeError(
            f"{opname}: repeats must be an int or an int vector, got {r.type}{where(user_source())}"
        )
    if isinstance(r, Constant) and (np.asarray(r.data) < 0).any():
        raise ValueError(f"{opname}: negative repeats {r.data}{where(user_source())}")
    return cast(r, "int64")


def _repeated_length(n, r):
    """Static length of a dim of length n repeated by r (a constant), or None."""
    if n is None or not isinstance(r, Constant):
        return None
    data = np.asarray(r.data)
    if data.ndim == 0:
        return n * int(data)
    if len(data) not in (1, n):
        raise ValueError(
            f"Repeat: {len(data)} repeats for a dim of length {n}{where(user_source())}"
        )
    return int(np.sum(np.broadcast_to(data, (n,))))


@dataclass(frozen=True)
class Repeat(Op):
    """Repeat each entry along ``axis`` (None: of the flattened array) by ``repeats`` (an
    int, or an int vector with one count per entry), as numpy.repeat."""

    view_map: ClassVar[dict] = {}  # always a new array (memory planning may reuse it)

    axis: int | None = None

    def make_node(self, x, repeats):
        x = as_tensor_variable(x)
        r = _as_repeats(repeats, "Repeat")
        if self.axis is not None and not 0 <= self.axis < x.ndim:
            raise ValueError(
                f"Repeat: axis {self.axis} out of range for {x.type}{where(user_source())}"
            )
        if self.axis is None:
            n = None if None in x.type.shape else int(np.prod(x.type.shape, dtype=np.int64))
            shape = (_repeated_length(n, r),)
        else:
            shape = list(x.type.shape)
            shape[self.axis] = _repeated_length(shape[self.axis], r)
        return Apply.make(self, [x, r], [TensorType(x.dtype, shape)])

    def perform(self, node, inputs):
        x, r = inputs
        try:
            return [np.repeat(x, r, axis=self.axis)]
        except ValueError as err:
            raise ValueError(f"Repeat: {err} (shape {x.shape}, repeats {r.tolist()})") from None

    def infer_shape(self, node, input_shapes):
        from symcomp.tensor.alloc import broadcast_to
        from symcomp.tensor.reduction import sum
        from symcomp.tensor.shape import _prod

        static = node.outputs[0].type.shape
        r = node.inputs[1]
        shape = list(input_shapes[0])
        axis = self.axis if self.axis is not None else 0
        n = _prod(shape) if self.axis is None else shape[axis]
        if static[axis] is not None:
            length = static[axis]
        elif r.ndim == 0:
            length = n * r
        else:
            length = sum(broadcast_to(r, (n,)))
        if self.axis is None:
            return [(length,)]
        shape[axis] = length
        return [tuple(shape)]

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.shape import _prod, reshape

        (x, r), g = inputs, cotangents[0]
        if g is None or is_discrete(x.dtype):
            return [None, None]
        if self.axis is None:
            flat = RepeatSum(0)(g, r, _prod(shape_tuple(x)))
            return [reshape(flat, shape_tuple(x)), None]
        return [RepeatSum(self.axis)(g, r, shape_i(x, self.axis)), None]


@dataclass(frozen=True)
class RepeatSum(Op):
    """The adjoint of Repeat: sums each run of ``repeats`` consecutive entries of g along
    ``axis`` back into one entry. Inputs: g, repeats (int or int vector), n (the length
    of the un-repeated dim)."""

    axis: int

    def make_node(self, g, repeats, n):
        from symcomp.tensor.shapeof import as_shape_scalars

        g = as_tensor_variable(g)
        r = _as_repeats(repeats, "RepeatSum")
        (n,) = as_shape_scalars([n])
        if not 0 <= self.axis < g.ndim:
            raise ValueError(
                f"RepeatSum: axis {self.axis} out of range for {g.type}{where(user_source())}"
            )
        shape = list(g.type.shape)
        shape[self.axis] = static_value(n)
        return Apply.make(self, [g, r, n], [TensorType(g.dtype, shape)])

    def perform(self, node, inputs):
        g, r, n = inputs
        n = int(n)
        counts = np.broadcast_to(r, (n,))
        if counts.sum() != g.shape[self.axis]:
            raise ValueError(
                f"RepeatSum: repeats {r.tolist()} do not match length "
                f"{g.shape[self.axis]} of axis {self.axis}"
            )
        moved = np.moveaxis(g, self.axis, 0)
        out = np.zeros((n,) + moved.shape[1:], dtype=g.dtype)
        np.add.at(out, np.repeat(np.arange(n), counts), moved)
        return [np.moveaxis(out, 0, self.axis)]

    def infer_shape(self, node, input_shapes):
        shape = list(input_shapes[0])
        static = node.outputs[0].type.shape[self.axis]
        shape[self.axis] = static if static is not None else node.inputs[2]
        return [tuple(shape)]

    def pullback(self, inputs, outputs, cotangents):
        g, r, _ = inputs
        if cotangents[0] is None or is_discrete(g.dtype):
            return [None, None, None]
        return [Repeat(self.axis)(cotangents[0], r), None, None]


def repeat(x, repeats, axis: int | None = None):
    """Repeat entries of x along ``axis`` (None: flattened), as numpy.repeat."""
    x = as_tensor_variable(x)
    if axis is not None:
        if not -x.ndim <= axis < x.ndim:
            raise ValueError(
                f"repeat: axis {axis} out of bounds for {x.ndim} dims{where(user_source())}"
            )
        axis = int(axis) % x.ndim
    return Repeat(axis)(x, repeats)


@dataclass(frozen=True)
class Tile(Op):
    """x repeated ``reps`` times along each dim, as numpy.tile (reps shorter than x.ndim is
    padded with 1s in front; longer adds leading dims to x)."""

    view_map: ClassVar[dict] = {}  # always a new array (memory planning may reuse it)

    reps: tuple

    def __post_init__(self):
        if any(not isinstance(r, (int, np.integer)) or r < 0 for r in self.reps):
            raise ValueError(f"Tile: reps must be non-negative ints, got {self.reps}")
        object.__setattr__(self, "reps", tuple(int(r) for r in self.reps))

    def _padded(self, shape):
        ndim = max(len(shape), len(self.reps))
        shape = (1,) * (ndim - len(shape)) + tuple(shape)
        reps = (1,) * (ndim - len(self.reps)) + self.reps
        return shape, reps

    def make_node(self, x):
        x = as_tensor_variable(x)
        shape, reps = self._padded(x.type.shape)
        out = tuple(None if n is None else n * r for n, r in zip(shape, reps))
        return Apply.make(self, [x], [TensorType(x.dtype, out)])

    def perform(self, node, inputs):
        return [np.tile(inputs[0], self.reps)]

    def infer_shape(self, node, input_shapes):
        shape, reps = self._padded(input_shapes[0])
        return [tuple(n * r if r != 1 else n for n, r in zip(shape, reps))]

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.reduction import sum
        from symcomp.tensor.shape import reshape

        (x,), g = inputs, cotangents[0]
        if g is None or is_discrete(x.dtype):
            return [None]
        shape, reps = self._padded(shape_tuple(x))
        # Split each tiled dim of length r*n into (r, n) and sum over the r axes.
        split_shape, summed = [], []
        for n, r in zip(shape, reps):
            if r != 1:
                summed.append(len(split_shape))
                split_shape.append(r)
            split_shape.append(n)
        if summed:
            g = sum(reshape(g, tuple(split_shape)), axis=tuple(summed))
        return [reshape(g, shape_tuple(x))]


def tile(x, reps):
    """x repeated ``reps`` times along each dim, as numpy.tile (reps: an int or a tuple)."""
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    return Tile(reps)(x)
