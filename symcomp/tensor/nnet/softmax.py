"""Softmax and LogSoftmax along an axis, computed stably (shifted by the maximum)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import float_of, is_discrete
from symcomp.tensor.errors import where
from symcomp.tensor.type import TensorType


def _shifted(x: np.ndarray, axis) -> np.ndarray:
    """x minus its maximum along ``axis``, so exp() cannot overflow. A non-finite maximum
    (a row of infinities) is not subtracted, which would make NaN of finite entries."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return x - m


@dataclass(frozen=True)
class _SoftmaxBase(Op):
    """Shared type and shape rules: a float output of the input's shape. ``axis`` is a
    non-negative axis, or None for all axes at once."""

    axis: int | None = None
    abstract = True

    def make_node(self, x):
        x = as_tensor_variable(x)
        name = type(self).__name__
        if x.dtype.startswith("complex"):
            raise TypeError(f"{name} takes real inputs, got {x.type}{where(user_source())}")
        if self.axis is not None and not 0 <= self.axis < x.ndim:
            raise ValueError(
                f"{name}: axis {self.axis} is out of range for {x.type}{where(user_source())}"
            )
        return Apply.make(self, [x], [TensorType(float_of(x.dtype), x.type.shape)])

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0])]


@dataclass(frozen=True)
class Softmax(_SoftmaxBase):
    """exp(x) / sum(exp(x), axis): each slice along ``axis`` sums to 1."""

    def perform(self, node, inputs):
        dtype = node.outputs[0].dtype
        x = inputs[0].astype(dtype, copy=False)
        if x.size == 0:
            return [np.empty(x.shape, dtype=dtype)]
        with np.errstate(invalid="ignore"):
            e = np.exp(_shifted(x, self.axis))
            out = e / e.sum(axis=self.axis, keepdims=True)
        return [np.asarray(out, dtype=dtype)]

    def pullback(self, inputs, outputs, cotangents):
        import symcomp.tensor as st
        from symcomp.tensor.arith import cast, mul, sub

        (x,), (sm,), (g,) = inputs, outputs, cotangents
        if g is None or is_discrete(x.dtype):
            return [None]
        gsm = mul(g, sm)
        return [cast(sub(gsm, mul(sm, st.sum(gsm, axis=self.axis, keepdims=True))), x.dtype)]


@dataclass(frozen=True)
class LogSoftmax(_SoftmaxBase):
    """x - log(sum(exp(x), axis)): the log of Softmax, without its underflow."""

    def perform(self, node, inputs):
        dtype = node.outputs[0].dtype
        x = inputs[0].astype(dtype, copy=False)
        if x.size == 0:
            return [np.empty(x.shape, dtype=dtype)]
        with np.errstate(invalid="ignore", divide="ignore"):
            xs = _shifted(x, self.axis)
            out = xs - np.log(np.exp(xs).sum(axis=self.axis, keepdims=True))
        return [np.asarray(out, dtype=dtype)]

    def pullback(self, inputs, outputs, cotangents):
        import symcomp.tensor as st
        from symcomp.tensor.arith import cast, mul, sub

        (x,), (out,), (g,) = inputs, outputs, cotangents
        if g is None or is_discrete(x.dtype):
            return [None]
        total = st.sum(g, axis=self.axis, keepdims=True)
        return [cast(sub(g, mul(st.exp(out), total)), x.dtype)]


def _axis(x, axis, fn: str):
    if axis is None:
        return None
    if not -x.ndim <= int(axis) < x.ndim:
        raise ValueError(f"{fn}: axis {axis} is out of range for {x.type}{where(user_source())}")
    return int(axis) % x.ndim


def softmax(x, axis=-1):
    """The softmax of x along ``axis`` (default the last; None: over all elements)."""
    x = as_tensor_variable(x)
    return Softmax(_axis(x, axis, "softmax"))(x)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis``, computed stably (default the last axis)."""
    x = as_tensor_variable(x)
    return LogSoftmax(_axis(x, axis, "log_softmax"))(x)


logsoftmax = log_softmax
