"""Shape ops: ``x.shape`` (Shape), one length (ShapeI), and symbolic shape helpers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.type import TensorType


@dataclass(frozen=True)
class Shape(Op):
    """The shape of x as an int64 vector."""

    differentiable = False

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply.make(self, [x], [TensorType("int64", (x.ndim,))])

    def perform(self, node, inputs):
        return [np.array(inputs[0].shape, dtype=np.int64)]

    def infer_shape(self, node, input_shapes):
        return [(node.inputs[0].ndim,)]


@dataclass(frozen=True)
class ShapeI(Op):
    """The length of dim ``i`` of x, an int64 scalar."""

    i: int
    differentiable = False

    def make_node(self, x):
        x = as_tensor_variable(x)
        if not -x.ndim <= self.i < x.ndim:
            raise ValueError(f"ShapeI: axis {self.i} out of range for {x.ndim} dims")
        return Apply.make(self, [x], [TensorType("int64", ())])

    def perform(self, node, inputs):
        return [np.array(inputs[0].shape[self.i], dtype=np.int64)]

    def infer_shape(self, node, input_shapes):
        return [()]


_shape = Shape()


def shape(x):
    """The symbolic shape of x (an int64 vector)."""
    return _shape(as_tensor_variable(x))


def shape_i(x, i: int):
    """The length of dim i of x: a Python int when static, else an int64 scalar."""
    x = as_tensor_variable(x)
    n = x.type.shape[i]
    return n if n is not None else ShapeI(i % x.ndim)(x)


def shape_tuple(x) -> tuple:
    """x's shape as a tuple: static lengths as ints, the others as int64 scalars."""
    x = as_tensor_variable(x)
    return tuple(shape_i(x, i) for i in range(x.ndim))


def as_shape_scalars(shape) -> list:
    """Shape entries (ints or scalars) as int64 scalar variables."""
    from symcomp.tensor.arith import cast

    out = []
    for s in shape:
        v = as_tensor_variable(s)
        if v.ndim != 0:
            raise TypeError(f"a shape entry must be a scalar, got {v} with {v.ndim} dims")
        if v.dtype[:3] not in ("int", "uin"):
            raise TypeError(f"a shape entry must be an integer, got {v} of dtype {v.dtype}")
        out.append(cast(v, "int64"))
    return out


def static_value(v):
    """The int value of a constant shape entry, else None."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    data = getattr(v, "data", None)
    if data is not None and getattr(v, "owner", 1) is None:
        return int(data)
    owner = getattr(v, "owner", None)
    if owner is not None and isinstance(owner.op, ShapeI):
        return owner.inputs[0].type.shape[owner.op.i]
    return None


def broadcast_shape_symbolic(input_shapes, out_static) -> tuple:
    """The broadcast of shape tuples (ints or int64 scalars), NumPy rules."""
    from symcomp.tensor.arith import eq, switch

    ndim = len(out_static)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in input_shapes]
    out = []
    for d in range(ndim):
        if out_static[d] is not None:
            out.append(out_static[d])
            continue
        cands = []
        for s in padded:
            n = static_value(s[d])
            if n == 1:
                continue
            if n is not None:
                cands = [n]
                break
            if not any(s[d] is c for c in cands):
                cands.append(s[d])
        if not cands:
            out.append(1)
            continue
        acc = cands[0]
        for c in cands[1:]:
            acc = switch(eq(acc, 1), c, acc)
        out.append(acc)
    return tuple(out)


def infer_shapes(outputs) -> dict:
    """Symbolic shapes of ``outputs`` (and every variable before them) from each op's
    infer_shape, so no value is computed just to read a shape. Graph inputs and
    constants get ``shape_tuple``; returns {variable: shape tuple}."""
    from symcomp.graph.basic import toposort

    shapes: dict = {}

    def of(var):
        found = shapes.get(var)
        if found is None:
            found = shapes[var] = shape_tuple(var)
        return found

    for node in toposort(list(outputs)):
        try:
            out_shapes = node.op.infer_shape(node, [of(i) for i in node.inputs])
        except NotImplementedError:
            out_shapes = [shape_tuple(o) for o in node.outputs]
        for out, shp in zip(node.outputs, out_shapes):
            static = out.type.shape
            shapes[out] = tuple(s if s is not None else v for s, v in zip(static, shp))
    for out in outputs:
        of(out)
    return shapes
