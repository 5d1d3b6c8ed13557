"""CrossentropySoftmax1Hot: ``categorical_crossentropy(softmax(x), t)`` as one stable op.

The stabilize pass rewrites ``crossentropy_categorical_1hot(softmax(x), t)`` into it: the
unfused form takes ``log`` of a softmax that underflows to 0 for logits far below the
row maximum (-log(0) = inf, and its gradient divides by that 0); the fused op computes
``logsumexp(x[i]) - x[i, t[i]]`` with the maximum shifted out, and its gradient is
``(softmax(x) - onehot(t)) * g[:, None]``, finite for any finite logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import float_of, is_discrete
from symcomp.tensor.nnet.crossentropy import check_1hot_types, check_1hot_values
from symcomp.tensor.type import TensorType

__all__ = ["CrossentropySoftmax1Hot", "crossentropy_softmax_1hot", "one_hot_rows"]


@dataclass(frozen=True)
class CrossentropySoftmax1Hot(Op):
    """``-log_softmax(x)[i, t[i]]`` for each row i of the real matrix x (logits), against
    the integer class vector t; computed stably (shifted by each row's maximum)."""

    def make_node(self, x, t):
        x, t = as_tensor_variable(x), as_tensor_variable(t)
        check_1hot_types(self, x, t, "x", "t")
        n = x.type.shape[0]
        out = TensorType(float_of(x.dtype), (n if n is not None else t.type.shape[0],))
        return Apply.make(self, [x, t], [out])

    def perform(self, node, inputs):
        x, t = inputs
        dtype = node.outputs[0].dtype
        check_1hot_values(x, t, "x", "t")
        if t.size == 0:
            return [np.zeros(0, dtype=dtype)]
        x = x.astype(dtype, copy=False)
        rows = np.arange(x.shape[0])
        with np.errstate(invalid="ignore", over="ignore"):
            m = np.max(x, axis=1, keepdims=True)
            # A non-finite row maximum is not shifted out (inf - inf would be NaN where
            # the unfused form gives inf or NaN by its own rules).
            m = np.where(np.isfinite(m), m, 0)
            shifted = x - m
            # log(sum(exp(x - m))) - (x[t] - m): both terms small, no cancellation at m.
            out = np.log(np.exp(shifted).sum(axis=1)) - shifted[rows, t]
        return [np.asarray(out, dtype=dtype)]

    def infer_shape(self, node, input_shapes):
        return [(input_shapes[0][0],)]

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.arith import cast
        from symcomp.tensor.nnet.softmax import softmax
        from symcomp.tensor.nnet.xent_dx import crossentropy_softmax_1hot_dx

        x, t = inputs
        g = cotangents[0]
        if g is None or is_discrete(x.dtype):
            return [None, None]
        sm = softmax(x, axis=1)
        return [cast(crossentropy_softmax_1hot_dx(cast(g, sm.dtype), sm, t), x.dtype), None]


crossentropy_softmax_1hot = CrossentropySoftmax1Hot()


def one_hot_rows(values, t, like):
    """A matrix of zeros shaped like ``like`` holding ``values[i]`` at ``[i, t[i]]``."""
    import symcomp.tensor as st
    from symcomp.tensor.shapeof import shape_i

    zeros = st.zeros_like(like)
    return st.set_subtensor(zeros[st.arange(shape_i(like, 0)), t], values)
