"""FusedReduce: a reduction of an elementwise expression, computed in one pass.

The fusion pass turns ``sum(x * x)`` into ``FusedReduce(Sum, Mul)(x, x)``: native code
evaluates the scalar expression inside the reduction loop, so the elementwise result is
never stored and each input is read once. The Python implementation still materializes
it (it is the reference, not the fast path).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.scalar.base import ScalarOp
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.elemwise import _resolve_weak, broadcast_static_shapes
from symcomp.tensor.errors import where
from symcomp.tensor.reduction import All, Any, Max, Min, Prod, Reduce, Sum, _reduced_shape
from symcomp.tensor.type import TensorType

__all__ = ["FusedReduce", "fused_reduce"]

FUSABLE_REDUCTIONS = (Sum, Prod, Max, Min, All, Any)


@dataclass(frozen=True)
class FusedReduce(Op):
    """``reduce_op(Elemwise(scalar_op)(*inputs))`` as one node.

    ``reduce_op`` is a Sum, Prod, Max, Min, All or Any instance (its axes refer to the
    broadcast elementwise result); ``scalar_op`` is any scalar op, usually a Composite.
    Built by the fusion pass after gradients are taken, so it has no gradient.
    """

    reduce_op: Reduce
    scalar_op: ScalarOp

    def __str__(self) -> str:
        return f"FusedReduce{{{self.reduce_op}, {self.scalar_op}}}"

    def elem_type(self, inputs) -> TensorType:
        """The type of the (never stored) elementwise result."""
        shape = broadcast_static_shapes(self, [i.type.shape for i in inputs])
        return TensorType(self.scalar_op.out_dtype(*(i.dtype for i in inputs)), shape)

    def make_node(self, *inputs) -> Apply:
        if type(self.reduce_op) not in FUSABLE_REDUCTIONS:
            raise TypeError(
                f"FusedReduce: reduce_op must be one of "
                f"{', '.join(c.__name__ for c in FUSABLE_REDUCTIONS)}, got {self.reduce_op}"
            )
        if len(inputs) != self.scalar_op.nin:
            raise TypeError(
                f"{self} takes {self.scalar_op.nin} inputs, got {len(inputs)}{where(user_source())}"
            )
        inputs = _resolve_weak([as_tensor_variable(i) for i in inputs])
        elem = self.elem_type(inputs)
        red = self.reduce_op
        if builtins.any(a >= elem.ndim for a in red.axes):
            raise ValueError(
                f"{self}: axes {red.axes} out of range for the elementwise result of type "
                f"{elem} (inputs: {', '.join(str(i.type) for i in inputs)})"
                f"{where(user_source())}"
            )
        if red.needs_nonempty and builtins.any(elem.shape[a] == 0 for a in red.axes):
            raise ValueError(
                f"{self}: zero-size reduction over axes {red.axes} of {elem}, which has no "
                f"identity{where(user_source())}"
            )
        shape = _reduced_shape(elem.shape, red.axes, red.keepdims)
        return Apply.make(self, inputs, [TensorType(red.out_dtype(elem.dtype), shape)])

    def perform(self, node, inputs):
        elem_dtype = self.scalar_op.out_dtype(*(i.dtype for i in node.inputs))
        elem = self.scalar_op.impl(*inputs, out_dtype=elem_dtype)
        # Reduce.perform only reads the output dtype from the node it is given.
        return self.reduce_op.perform(node, [elem])

    def infer_shape(self, node, input_shapes):
        from symcomp.tensor.shapeof import broadcast_shape_symbolic

        elem = broadcast_shape_symbolic(input_shapes, self.elem_type(node.inputs).shape)
        red = self.reduce_op
        return [_reduced_shape(tuple(elem), red.axes, red.keepdims)]

    def pullback(self, inputs, outputs, cotangents):
        raise NotImplementedError(
            "FusedReduce is built by the fusion pass after gradients are taken; "
            "differentiate the unfused graph (reduce_op(elemwise(...)))"
        )


def fused_reduce(reduce_op: Reduce, scalar_op: ScalarOp, *inputs):
    """``reduce_op`` applied to ``scalar_op`` of ``inputs`` (broadcast), as one node.

    ``fused_reduce(Sum((0,)), mul, x, y)`` computes ``sum(x * y, axis=0)``.
    """
    return FusedReduce(reduce_op, scalar_op)(*inputs)
