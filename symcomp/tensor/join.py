"""Joining and splitting along an axis: Concatenate, Split, stack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import is_discrete, result_dtype
from symcomp.tensor.errors import shape_str, where
from symcomp.tensor.type import TensorType


def _axis(axis, ndim: int, opname: str) -> int:
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(
            f"{opname}: axis {axis!r} is out of bounds for {ndim} dims{where(user_source())}"
        )
    return int(axis) % ndim


def _add(a, b):
    return a + b


@dataclass(frozen=True)
class Concatenate(Op):
    """Join the inputs (one or more, same ndim >= 1) along ``axis``, as numpy.concatenate;
    the result has the inputs' common dtype (numpy.result_type)."""

    view_map: ClassVar[dict] = {}  # always a new array (memory planning may reuse it)

    axis: int

    def make_node(self, *tensors):
        if not tensors:
            raise ValueError(f"Concatenate needs at least one input{where(user_source())}")
        tensors = [as_tensor_variable(t) for t in tensors]
        ndim = tensors[0].ndim
        types = ", ".join(str(t.type) for t in tensors)
        if ndim == 0 or any(t.ndim != ndim for t in tensors):
            raise ValueError(
                f"Concatenate: inputs must have the same number (>= 1) of dims, "
                f"got {types}{where(user_source())}"
            )
        if not 0 <= self.axis < ndim:
            raise ValueError(
                f"Concatenate: axis {self.axis} out of range for {types}{where(user_source())}"
            )
        shape = []
        for d in range(ndim):
            lengths = [t.type.shape[d] for t in tensors]
            if d == self.axis:
                shape.append(None if None in lengths else int(np.sum(lengths)))
                continue
            known = {n for n in lengths if n is not None}
            if len(known) > 1:
                raise ValueError(
                    f"Concatenate: input shapes {', '.join(shape_str(t.type.shape) for t in tensors)}"
                    f" differ in dimension {d}, which is not the axis {self.axis}"
                    f"{where(user_source())}"
                )
            shape.append(known.pop() if known else None)
        dtype = result_dtype(tuple(t.dtype for t in tensors))
        return Apply.make(self, tensors, [TensorType(dtype, shape)])

    def perform(self, node, inputs):
        dtype = node.outputs[0].dtype
        try:
            out = np.concatenate([a.astype(dtype, copy=False) for a in inputs], axis=self.axis)
        except ValueError as err:
            raise ValueError(f"Concatenate along axis {self.axis}: {err}") from None
        return [out]

    def infer_shape(self, node, input_shapes):
        first = list(input_shapes[0])
        static = node.outputs[0].type.shape
        out = []
        for d, n in enumerate(static):
            if n is not None:
                out.append(n)
            elif d == self.axis:
                total = 0
                for s in input_shapes:
                    total = _add(total, s[d])
                out.append(total)
            else:
                out.append(first[d])
        return [tuple(out)]

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.arith import cast
        from symcomp.tensor.shapeof import shape_i

        g = cotangents[0]
        if g is None or all(is_discrete(x.dtype) for x in inputs):
            return [None] * len(inputs)
        sizes = [shape_i(x, self.axis) for x in inputs]
        parts = split(g, sizes, len(inputs), self.axis)
        return [None if is_discrete(x.dtype) else cast(p, x.dtype) for p, x in zip(parts, inputs)]


@dataclass(frozen=True)
class Split(Op):
    """Split x along ``axis`` into ``n_splits`` pieces whose lengths are given by an int
    vector input (they must sum to x's length along the axis). Several outputs."""

    n_splits: int
    axis: int

    def make_node(self, x, splits):
        from symcomp.tensor.shape import static_entries

        x = as_tensor_variable(x)
        splits = as_tensor_variable(splits)
        if not 0 <= self.axis < x.ndim:
            raise ValueError(
                f"Split: axis {self.axis} out of range for {x} of type {x.type}"
                f"{where(user_source())}"
            )
        if splits.ndim != 1 or not is_discrete(splits.dtype) or splits.dtype == "bool":
            raise TypeError(
                f"Split: the split sizes must be an int vector, got {splits.type}"
                f"{where(user_source())}"
            )
        if splits.type.shape[0] not in (None, self.n_splits):
            raise ValueError(
                f"Split: {self.n_splits} splits but sizes of type {splits.type}"
                f"{where(user_source())}"
            )
        lengths = static_entries(splits, self.n_splits)
        known = [n for n in lengths if n is not None]
        total = x.type.shape[self.axis]
        if any(n < 0 for n in known) or (
            total is not None and len(known) == self.n_splits and np.sum(known) != total
        ):
            raise ValueError(
                f"Split: sizes {lengths} do not split length {total} of {x.type}"
                f"{where(user_source())}"
            )
        types = []
        for n in lengths:
            shape = list(x.type.shape)
            shape[self.axis] = n
            types.append(TensorType(x.dtype, shape))
        return Apply.make(self, [x, splits], types)

    def perform(self, node, inputs):
        x, splits = inputs
        splits = np.asarray(splits, dtype=np.int64)
        if (
            len(splits) != self.n_splits
            or (splits < 0).any()
            or (splits.sum() != x.shape[self.axis])
        ):
            raise ValueError(
                f"Split: sizes {splits.tolist()} do not split length "
                f"{x.shape[self.axis]} of an array of shape {x.shape} into "
                f"{self.n_splits} pieces along axis {self.axis}"
            )
        return list(np.split(x, np.cumsum(splits)[:-1], axis=self.axis))

    def infer_shape(self, node, input_shapes):
        from symcomp.tensor.shape import vector_entries

        x_shape = list(input_shapes[0])
        entries = vector_entries(node.inputs[1], self.n_splits)
        out = []
        for v, n in zip(node.outputs, entries):
            shape = list(x_shape)
            static = v.type.shape[self.axis]
            shape[self.axis] = static if static is not None else n
            out.append(tuple(shape))
        return out

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.alloc import zeros
        from symcomp.tensor.arith import cast
        from symcomp.tensor.shapeof import shape_tuple

        x = inputs[0]
        if is_discrete(x.dtype) or all(g is None for g in cotangents):
            return [None, None]
        parts = [
            zeros(shape_tuple(o), x.dtype) if g is None else cast(g, x.dtype)
            for g, o in zip(cotangents, outputs)
        ]
        return [concatenate(parts, self.axis), None]


def concatenate(tensors, axis: int = 0):
    """Join a sequence of tensors along ``axis``, as numpy.concatenate."""
    tensors = [as_tensor_variable(t) for t in tensors]
    if not tensors:
        raise ValueError(f"concatenate needs at least one tensor{where(user_source())}")
    if tensors[0].ndim == 0:
        raise ValueError(
            f"concatenate: zero-dimensional tensors cannot be concatenated{where(user_source())}"
        )
    axis = _axis(axis, tensors[0].ndim, "concatenate")
    if len(tensors) == 1:
        return tensors[0]
    return Concatenate(axis)(*tensors)


def join(axis: int, *tensors):
    """Theano's join: ``concatenate(tensors, axis)``."""
    return concatenate(tensors, axis)


def stack(tensors, axis: int = 0):
    """Join tensors of one shape along a new axis, as numpy.stack."""
    from symcomp.tensor.dimshuffle import expand_dims
    from symcomp.tensor.shape import make_vector

    tensors = [as_tensor_variable(t) for t in tensors]
    if not tensors:
        raise ValueError(f"stack needs at least one tensor{where(user_source())}")
    ndim = tensors[0].ndim
    if any(t.ndim != ndim for t in tensors):
        raise ValueError(
            f"stack: all tensors must have the same number of dims, got "
            f"{', '.join(str(t.type) for t in tensors)}{where(user_source())}"
        )
    axis = _axis(axis, ndim + 1, "stack")
    if ndim == 0:
        return make_vector(*tensors)
    parts = [expand_dims(t, axis) for t in tensors]
    return parts[0] if len(parts) == 1 else Concatenate(axis)(*parts)


def split(x, splits_size, n_splits: int, axis: int = 0) -> list:
    """Theano's split: ``n_splits`` pieces of x along ``axis`` with lengths ``splits_size``
    (a sequence of ints/int scalars or an int vector). Returns a list."""
    from symcomp.tensor.shape import as_int_vector

    x = as_tensor_variable(x)
    axis = _axis(axis, x.ndim, "split")
    out = Split(int(n_splits), axis)(x, as_int_vector(splits_size))
    return out if isinstance(out, list) else [out]
