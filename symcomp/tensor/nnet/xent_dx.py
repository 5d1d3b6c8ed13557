"""CrossentropySoftmax1HotDx: the gradient of the fused softmax crossentropy wrt its logits.

``dx = sm * dy[:, None]`` with ``dx[i, t[i]] -= dy[i]``, where ``sm`` is ``softmax(x)``
(rows of a matrix), ``t`` the integer class of each row and ``dy`` the cotangent of the
crossentropy (one value per row): Theano's CrossentropySoftmax1HotWithBiasDx without the
bias. One pass over ``sm`` instead of a softmax product, a zero matrix and a scattered
one-hot update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import float_of, is_discrete, upcast
from symcomp.tensor.errors import where
from symcomp.tensor.nnet.crossentropy import check_1hot_types, take_rows
from symcomp.tensor.type import TensorType

__all__ = ["CrossentropySoftmax1HotDx", "crossentropy_softmax_1hot_dx"]


@dataclass(frozen=True)
class CrossentropySoftmax1HotDx(Op):
    """``sm * dy[:, None]`` less ``dy[i]`` at ``[i, t[i]]`` of each row i: the gradient of
    ``crossentropy_softmax_1hot(x, t)`` wrt x, given ``sm = softmax(x)`` and the cotangent
    ``dy`` (a vector, one entry per row)."""

    def make_node(self, dy, sm, t):
        dy, sm, t = as_tensor_variable(dy), as_tensor_variable(sm), as_tensor_variable(t)
        check_1hot_types(self, sm, t, "sm", "t")
        if dy.ndim != 1 or dy.dtype.startswith("complex") or dy.dtype == "bool":
            raise TypeError(
                f"{self}: dy must be a real vector, got {dy.type}{where(user_source())}"
            )
        rows = [n for n in (sm.type.shape[0], dy.type.shape[0], t.type.shape[0]) if n is not None]
        if len(set(rows)) > 1:
            raise ValueError(
                f"{self}: dy has {dy.type.shape[0]} entries, sm {sm.type.shape[0]} rows and t "
                f"{t.type.shape[0]} entries{where(user_source())}"
            )
        shape = (rows[0] if rows else None, sm.type.shape[1])
        out = TensorType(float_of(upcast(dy.dtype, sm.dtype)), shape)
        return Apply.make(self, [dy, sm, t], [out])

    def perform(self, node, inputs):
        dy, sm, t = inputs
        check_dx_values(self, dy, sm, t)
        dtype = node.outputs[0].dtype
        dyc = dy.astype(dtype, copy=False)
        out = sm.astype(dtype) * dyc[:, None]
        out[np.arange(sm.shape[0]), t] -= dyc
        return [out]

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[1])]

    def pullback(self, inputs, outputs, cotangents):
        # dx[i, j] = sm[i, j] * dy[i] - dy[i] * [j == t[i]]. With G the cotangent of dx:
        # d/d dy[i] = sum_j G[i, j] * sm[i, j] - G[i, t[i]], d/d sm = G * dy[:, None].
        import symcomp.tensor as st
        from symcomp.tensor.arith import cast, mul, sub
        from symcomp.tensor.dimshuffle import dimshuffle

        dy, sm, t = inputs
        big_g = cotangents[0]
        if big_g is None:
            return [None, None, None]
        g_dy = sub(st.sum(mul(big_g, sm), axis=1), take_rows(big_g, t))
        g_sm = mul(big_g, dimshuffle(dy, (0, "x")))
        return [
            None if is_discrete(dy.dtype) else cast(g_dy, dy.dtype),
            None if is_discrete(sm.dtype) else cast(g_sm, sm.dtype),
            None,
        ]


def check_dx_values(op, dy: np.ndarray, sm: np.ndarray, t: np.ndarray) -> None:
    """ValueError unless dy, sm and t have one entry (row) per row of sm; IndexError
    naming the first row whose class index is outside [0, sm.shape[1])."""
    shapes = f"dy shape {dy.shape}, sm shape {sm.shape} ({sm.dtype}), t shape {t.shape}"
    if not dy.shape[0] == sm.shape[0] == t.shape[0]:
        raise ValueError(
            f"{type(op).__name__}: dy has {dy.shape[0]} entries, sm {sm.shape[0]} rows and "
            f"t {t.shape[0]} entries ({shapes})"
        )
    if t.size:
        bad = np.flatnonzero((t < 0) | (t >= sm.shape[1]))
        if bad.size:
            r = int(bad[0])
            raise IndexError(
                f"{type(op).__name__}: class index out of range [0, {sm.shape[1]}): "
                f"t[{r}] = {int(t[r])} ({shapes})"
            )


crossentropy_softmax_1hot_dx = CrossentropySoftmax1HotDx()
