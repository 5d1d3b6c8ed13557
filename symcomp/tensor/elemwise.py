"""Elemwise: a scalar op applied to tensors with NumPy broadcasting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.graph.variable import Variable
from symcomp.scalar.base import ScalarOp
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import is_discrete, result_dtype
from symcomp.tensor.errors import shape_str, where
from symcomp.tensor.type import TensorType
from symcomp.tensor.variable import tensor_constant


@dataclass(frozen=True)
class Elemwise(Op):
    """Apply ``scalar_op`` elementwise. Inputs may differ in ndim (aligned on the right,
    as NumPy broadcasts); Python scalars are weakly typed (NumPy 2 promotion)."""

    scalar_op: ScalarOp

    def __str__(self) -> str:
        return f"Elemwise{{{self.scalar_op}}}"

    def make_node(self, *inputs) -> Apply:
        scalar_op = self.scalar_op
        nin = scalar_op.nin
        if len(inputs) != nin:
            raise TypeError(f"{self} takes {nin} inputs, got {len(inputs)}")
        # Tensor variables pass through as_tensor_variable unchanged: skip the call for them.
        inputs = [
            i
            if isinstance(i, Variable) and isinstance(i.type, TensorType)
            else as_tensor_variable(i)
            for i in inputs
        ]
        for i in inputs:
            if i.weak:
                inputs = _resolve_weak(inputs)
                break
        types = [i.type for i in inputs]
        out_shape = broadcast_static_shapes(self, [t.shape for t in types])
        out_dtype = scalar_op.out_dtype(*[t.dtype for t in types])
        return Apply.make(self, inputs, [TensorType(out_dtype, out_shape)])

    def perform(self, node, inputs):
        return [self.scalar_op.impl(*inputs, out_dtype=node.outputs[0].dtype)]

    def infer_shape(self, node, input_shapes):
        from symcomp.tensor.shapeof import broadcast_shape_symbolic

        return [broadcast_shape_symbolic(input_shapes, node.outputs[0].type.shape)]

    def pullback(self, inputs, outputs, cotangents):
        if cotangents[0] is None or not type(self.scalar_op).differentiable:
            return [None] * len(inputs)
        grads = self.scalar_op.pullback(inputs, outputs, cotangents)
        return [
            None
            if g is None or is_discrete(x.dtype)
            else sum_to(g, x, [o for o in inputs if o is not x])
            for g, x in zip(grads, inputs)
        ]


def _resolve_weak(inputs):
    """Give weak Python-scalar constants the dtype NumPy 2 would combine them in."""
    weak = [i for i in inputs if i.weak]
    if not weak:
        return inputs
    strong = tuple(i.dtype for i in inputs if not getattr(i, "weak", False))
    kinds = tuple(np.asarray(w.data).dtype.kind for w in weak)
    kinds = tuple(
        {"b": "bool", "i": "int", "u": "int", "f": "float", "c": "complex"}[k] for k in kinds
    )
    target = result_dtype(strong, kinds)
    out = []
    for i in inputs:
        if getattr(i, "weak", False) and i.dtype != target:
            value = i.data.item()
            try:
                i = tensor_constant(np.asarray(value, dtype=target), dtype=target)
            except OverflowError as err:
                raise OverflowError(
                    f"Python integer {value} does not fit in {target}, the "
                    f"dtype of the other operand{where(user_source())}"
                ) from err
        out.append(i)
    return out


def broadcast_static_shapes(op, shapes) -> tuple:
    """NumPy broadcasting of static shapes; a static mismatch is a ValueError."""
    first = shapes[0]
    for s in shapes:
        if s != first:
            break
    else:
        return tuple(first)  # the common case: nothing to broadcast
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    out = []
    for d in range(ndim):
        lengths = [s[d] for s in padded]
        known = {n for n in lengths if n is not None and n != 1}
        if len(known) > 1:
            raise ValueError(
                f"{op}: cannot broadcast shapes "
                f"{' and '.join(shape_str(s) for s in shapes)} (dimension {d}: lengths "
                f"{sorted(known)}){where(user_source())}"
            )
        if known:
            out.append(known.pop())
        elif all(n == 1 for n in lengths):
            out.append(1)
        else:
            out.append(None)
    return tuple(out)


@dataclass(frozen=True)
class SumToShape(Op):
    """Sum a broadcast result ``g`` back to the shape of ``x`` (the gradient of
    broadcasting). Only x's shape is read. Leading extra dims of ``g`` are summed away;
    dims where x has length 1 and ``g`` does not are summed with keepdims."""

    # The output may be ``g`` itself (nothing to sum), never x: x only lends its shape.
    view_map: ClassVar[dict] = {0: (0,)}

    def make_node(self, g, x):
        g, x = as_tensor_variable(g), as_tensor_variable(x)
        if g.ndim < x.ndim:
            raise ValueError(f"SumToShape: {g} has fewer dims than {x}")
        return Apply.make(self, [g, x], [TensorType(g.dtype, x.type.shape)])

    def perform(self, node, inputs):
        g, shape = inputs[0], inputs[1].shape
        lead = g.ndim - len(shape)
        if lead:
            g = g.sum(axis=tuple(range(lead)))
        axes = tuple(d for d, n in enumerate(shape) if n == 1 and g.shape[d] != 1)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        if g.shape != shape:
            raise ValueError(f"cannot sum a gradient of shape {g.shape} to shape {shape}")
        return [g]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[1]]

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.alloc import broadcast_to
        from symcomp.tensor.shapeof import shape_tuple

        return [broadcast_to(cotangents[0], shape_tuple(inputs[0])), None]


_sum_to_shape = SumToShape()


def sum_to(g, x, others=None):
    """``g`` (broadcast to an elementwise output's shape) summed back to ``x``'s shape and
    cast to ``x``'s dtype. ``others``: the other inputs of that elementwise op; when none
    of them can be longer than x in a dim where x may have length 1, nothing is summed."""
    from symcomp.tensor.arith import cast

    if g.dtype != x.dtype:
        g = cast(g, x.dtype)
    if g.ndim == x.ndim and (not _may_broadcast(x, g.type.shape if others is None else others)):
        return g
    return _sum_to_shape(g, x)


def _may_broadcast(x, others) -> bool:
    """Whether x may have been broadcast against ``others`` (input types or one shape)."""
    shapes = [others] if isinstance(others, tuple) else [o.type.shape for o in others]
    xs = x.type.shape
    for d, n in enumerate(xs):
        if n is not None and n != 1:
            continue  # a known length other than 1 is never broadcast
        for shp in shapes:
            k = d - (len(xs) - len(shp))
            if k >= 0 and shp[k] != 1:  # x's length is 1 or unknown, the other's is not 1
                return True
    return False
