"""Alloc and the array constructors built on it: zeros, ones, full, *_like, broadcast_to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.errors import where
from symcomp.tensor.shapeof import as_shape_scalars, shape_tuple, static_value
from symcomp.tensor.type import TensorType, normalize_dtype


@dataclass(frozen=True)
class Alloc(Op):
    """A new array of the given shape filled with ``value`` (broadcast, NumPy rules)."""

    def make_node(self, value, *shape):
        value = as_tensor_variable(value)
        shape = as_shape_scalars(shape)
        if len(shape) < value.ndim:
            raise ValueError(
                f"Alloc: value {value} has {value.ndim} dims but the shape has "
                f"only {len(shape)} entries"
            )
        static = [static_value(s) for s in shape]
        lead = len(shape) - value.ndim
        for d, n in enumerate(value.type.shape):
            target = static[lead + d]
            if n is not None and n != 1 and target is not None and n != target:
                raise ValueError(
                    f"Alloc: cannot broadcast value of static shape "
                    f"{value.type.shape} to {tuple(static)}"
                )
            if target is None and n is not None and n != 1:
                static[lead + d] = n
        return Apply.make(self, [value, *shape], [TensorType(value.dtype, static)])

    def perform(self, node, inputs):
        value, shape = inputs[0], tuple(int(s) for s in inputs[1:])
        out = np.empty(shape, dtype=node.outputs[0].dtype)
        out[...] = value
        return [out]

    def infer_shape(self, node, input_shapes):
        static = node.outputs[0].type.shape
        return [tuple(s if s is not None else v for s, v in zip(static, node.inputs[1:]))]

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.elemwise import sum_to

        value = inputs[0]
        g = None if cotangents[0] is None else sum_to(cotangents[0], value)
        if value.dtype[:5] != "float" and value.dtype[:7] != "complex":
            g = None
        return [g] + [None] * (len(inputs) - 1)


alloc_op = Alloc()


def alloc(value, *shape):
    """An array of ``shape`` filled with ``value`` (Theano's alloc)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return alloc_op(value, *_entries(shape))


def _entries(shape) -> tuple:
    """Shape given as a tuple/list or as a symbolic int vector -> a tuple of entries."""
    if isinstance(shape, (tuple, list)):
        return tuple(shape)
    if isinstance(shape, (int, np.integer)):
        return (shape,)
    shape = as_tensor_variable(shape)
    if shape.ndim == 0:
        return (shape,)
    owner = shape.owner
    from symcomp.tensor.shapeof import Shape

    if owner is not None and isinstance(owner.op, Shape):
        return shape_tuple(owner.inputs[0])
    n = shape.type.shape[0]
    if n is None:
        raise ValueError(f"a shape vector needs a static length, got {shape}{where(shape.trace)}")
    return tuple(shape[i] for i in range(n))


def broadcast_to(x, shape):
    """x broadcast to ``shape`` (a new array)."""
    return alloc(x, *_entries(shape))


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value``."""
    from symcomp.tensor.arith import cast

    value = as_tensor_variable(fill_value)
    if dtype is not None:
        value = cast(value, normalize_dtype(dtype))
    elif getattr(value, "weak", False) and value.dtype == "float64":
        value = cast(value, "floatX")
    return alloc(value, *_entries(shape))


def zeros(shape, dtype="floatX"):
    """An array of zeros (``dtype`` defaults to config.floatX)."""
    return full(shape, 0, dtype)


def ones(shape, dtype="floatX"):
    """An array of ones (``dtype`` defaults to config.floatX)."""
    return full(shape, 1, dtype)


def full_like(x, fill_value, dtype=None):
    """An array like x filled with ``fill_value`` (x's dtype unless ``dtype`` is given)."""
    x = as_tensor_variable(x)
    return full(shape_tuple(x), fill_value, dtype or x.dtype)


def zeros_like(x, dtype=None):
    """Zeros with x's shape and dtype."""
    return full_like(x, 0, dtype)


def ones_like(x, dtype=None):
    """Ones with x's shape and dtype."""
    return full_like(x, 1, dtype)


def fill(model, value):
    """``value`` broadcast to the shape of ``model`` (Theano's fill/second)."""
    model = as_tensor_variable(model)
    return alloc(value, *shape_tuple(model))
