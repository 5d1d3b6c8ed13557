"""Cumulative sums and products along an axis (CumSum, CumProd), NumPy semantics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import is_discrete
from symcomp.tensor.errors import where
from symcomp.tensor.type import TensorType, normalize_dtype


@dataclass(frozen=True)
class CumOp(Op):
    """Cumulative reduction along ``axis`` (None: of the flattened array, a vector).

    ``reverse=True`` accumulates from the end (the running total of x[i:]); it is the
    adjoint of the forward sum and so the gradient of cumsum. ``dtype`` is the accumulation
    and output dtype (None: NumPy's default, small ints and bool widen to int64).
    """

    axis: int | None = None
    reverse: bool = False
    dtype: str | None = None
    abstract = True
    function = None

    def make_node(self, x):
        from symcomp.tensor.reduction import check_axis, sum_dtype

        x = as_tensor_variable(x)
        name = type(self).__name__
        check_axis(name, self.axis, x)
        dtype = sum_dtype(x.dtype) if self.dtype is None else normalize_dtype(self.dtype)
        return Apply.make(self, [x], [TensorType(dtype, self._shape(x.type.shape))])

    def _shape(self, shape):
        if self.axis is not None:
            return tuple(shape)
        if None in shape:
            return (None,)
        return (int(np.prod(shape, dtype=np.int64)),)

    def perform(self, node, inputs):
        (x,) = inputs
        axis = self.axis
        if axis is None:
            x, axis = x.reshape(-1), 0
        if self.reverse:
            x = np.flip(x, axis)
        out = type(self).function(x, axis=axis, dtype=node.outputs[0].dtype)
        if self.reverse:
            out = np.flip(out, axis)
        return [np.ascontiguousarray(out)]

    def infer_shape(self, node, input_shapes):
        (shp,) = input_shapes
        if self.axis is not None:
            return [tuple(shp)]
        from symcomp.tensor.shape import _prod

        return [(_prod(shp),)]

    def _unflatten(self, g, x):
        """The gradient w.r.t. the (flattened, when axis is None) input, in x's shape."""
        from symcomp.tensor.arith import cast
        from symcomp.tensor.shape import reshape
        from symcomp.tensor.shapeof import shape_tuple

        if self.axis is None:
            g = reshape(g, shape_tuple(x))
        return cast(g, x.dtype)


@dataclass(frozen=True)
class CumSum(CumOp):
    """Running sum along ``axis``, as numpy.cumsum."""

    function = staticmethod(np.cumsum)

    def pullback(self, inputs, outputs, cotangents):
        (x,), g = inputs, cotangents[0]
        if g is None or is_discrete(x.dtype):
            return [None]
        axis = 0 if self.axis is None else self.axis
        return [self._unflatten(CumSum(axis, not self.reverse)(g), x)]


@dataclass(frozen=True)
class CumProd(CumOp):
    """Running product along ``axis``, as numpy.cumprod.

    Gradient: the reverse cumsum of g * out, divided by x, as Theano and PyTensor do; it is
    exact where x has no zeros (a zero gives inf/NaN in the gradient).
    """

    function = staticmethod(np.cumprod)

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.arith import true_div

        (x,), g = inputs, cotangents[0]
        if g is None or is_discrete(x.dtype):
            return [None]
        axis = 0 if self.axis is None else self.axis
        flat_x = x
        if self.axis is None:
            from symcomp.tensor.shape import flatten

            flat_x = flatten(x, 1)
        rev = CumSum(axis, not self.reverse)(g * outputs[0])
        return [self._unflatten(true_div(rev, flat_x), x)]


def _cum(cls, x, axis, dtype):
    from symcomp.tensor.reduction import normalize_axes

    x = as_tensor_variable(x)
    if axis is not None:
        axis = normalize_axes(axis, x.ndim, cls.__name__.lower())
        if len(axis) != 1:
            raise TypeError(
                f"{cls.__name__.lower()}: axis must be None or one int{where(user_source())}"
            )
        axis = axis[0]
    return cls(axis, False, None if dtype is None else normalize_dtype(dtype))(x)


def cumsum(x, axis=None, dtype=None):
    """Running sum along ``axis`` (None: of the flattened array), as numpy.cumsum."""
    return _cum(CumSum, x, axis, dtype)


def cumprod(x, axis=None, dtype=None):
    """Running product along ``axis`` (None: of the flattened array), as numpy.cumprod."""
    return _cum(CumProd, x, axis, dtype)
