"""TensorVariable: operators and methods that build graph nodes, NumPy style."""

from __future__ import annotations

import numpy as np

from symcomp.graph.variable import Constant, Variable
from symcomp.tensor.type import TensorType


def _t():
    import symcomp.tensor as st

    return st


class _TensorOperators:
    """Operator overloads shared by tensor variables, constants and shared variables."""

    __slots__ = ()
    __array_priority__ = 1000  # numpy_array + var defers to var.__radd__

    # -- arithmetic ---------------------------------------------------------
    def __add__(self, other):
        return _t().add(self, other)

    def __radd__(self, other):
        return _t().add(other, self)

    def __sub__(self, other):
        return _t().sub(self, other)

    def __rsub__(self, other):
        return _t().sub(other, self)

    def __mul__(self, other):
        return _t().mul(self, other)

    def __rmul__(self, other):
        return _t().mul(other, self)

    def __truediv__(self, other):
        return _t().true_div(self, other)

    def __rtruediv__(self, other):
        return _t().true_div(other, self)

    def __floordiv__(self, other):
        return _t().int_div(self, other)

    def __rfloordiv__(self, other):
        return _t().int_div(other, self)

    def __mod__(self, other):
        return _t().mod(self, other)

    def __rmod__(self, other):
        return _t().mod(other, self)

    def __pow__(self, other):
        return _t().pow(self, other)

    def __rpow__(self, other):
        return _t().pow(other, self)

    def __matmul__(self, other):
        return _t().matmul(self, other)

    def __rmatmul__(self, other):
        return _t().matmul(other, self)

    def __neg__(self):
        return _t().neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _t().abs(self)

    def __invert__(self):
        return _t().invert(self)

    def __and__(self, other):
        return _t().bitwise_and(self, other)

    def __rand__(self, other):
        return _t().bitwise_and(other, self)

    def __or__(self, other):
        return _t().bitwise_or(self, other)

    def __ror__(self, other):
        return _t().bitwise_or(other, self)

    def __xor__(self, other):
        return _t().bitwise_xor(self, other)

    def __rxor__(self, other):
        return _t().bitwise_xor(other, self)

    # -- comparisons (== and != stay identity, as in Theano: use st.eq / st.neq) --
    def __lt__(self, other):
        return _t().lt(self, other)

    def __le__(self, other):
        return _t().le(self, other)

    def __gt__(self, other):
        return _t().gt(self, other)

    def __ge__(self, other):
        return _t().ge(self, other)

    __hash__ = object.__hash__

    def __bool__(self):
        raise TypeError(
            "a symbolic variable has no truth value; use symcomp.ifelse or st.switch "
            "for conditions, and st.eq / st.neq for elementwise equality"
        )

    def __iter__(self):
        length = self.type.shape[0] if self.type.ndim else None
        if length is None:
            raise TypeError(f"cannot iterate over {self}: its first dimension is not static")
        return (self[i] for i in range(length))

    def __len__(self):
        length = self.type.shape[0] if self.type.ndim else None
        if length is None:
            raise TypeError(f"len() of {self}: the first dimension is not static; use .shape[0]")
        return length

    # -- indexing -----------------------------------------------------------
    def __getitem__(self, index):
        from symcomp.tensor.subtensor import getitem

        return getitem(self, index)

    # -- properties ---------------------------------------------------------
    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def broadcastable(self) -> tuple:
        return self.type.broadcastable

    @property
    def shape(self):
        return _t().shape(self)

    @property
    def size(self):
        return _t().prod(self.shape)

    @property
    def T(self):
        return self.transpose()

    # -- methods ------------------------------------------------------------
    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _t().transpose(self, axes or None)

    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (tuple, list)):
            pattern = tuple(pattern[0])
        return _t().dimshuffle(self, pattern)

    def reshape(self, *shape, ndim=None):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return _t().reshape(self, shape, ndim=ndim)

    def flatten(self, ndim=1):
        return _t().flatten(self, ndim)

    def squeeze(self, axis=None):
        return _t().squeeze(self, axis)

    def astype(self, dtype):
        return _t().cast(self, dtype)

    def sum(self, axis=None, keepdims=False, dtype=None, acc_dtype=None):
        return _t().sum(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def prod(self, axis=None, keepdims=False, dtype=None, acc_dtype=None):
        return _t().prod(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def mean(self, axis=None, keepdims=False, dtype=None, acc_dtype=None):
        return _t().mean(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def var(self, axis=None, keepdims=False, ddof=0):
        return _t().var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return _t().std(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def max(self, axis=None, keepdims=False):
        return _t().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _t().min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return _t().argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _t().argmin(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        return _t().any(self, axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        return _t().all(self, axis=axis, keepdims=keepdims)

    def clip(self, a_min, a_max):
        return _t().clip(self, a_min, a_max)

    def round(self, mode="half_to_even"):
        return _t().round(self, mode)

    def dot(self, other):
        return _t().dot(self, other)

    def nonzero(self):
        return _t().nonzero(self)

    def copy(self, name=None):
        out = _t().tensor_copy(self)
        out.name = name
        return out

    def zeros_like(self, dtype=None):
        return _t().zeros_like(self, dtype=dtype)

    def ones_like(self, dtype=None):
        return _t().ones_like(self, dtype=dtype)

    def exp(self):
        return _t().exp(self)

    def log(self):
        return _t().log(self)

    def sqrt(self):
        return _t().sqrt(self)

    def cumsum(self, axis=None):
        return _t().cumsum(self, axis=axis)


class TensorVariable(_TensorOperators, Variable):
    """A symbolic tensor (see TensorType)."""

    __slots__ = ()
    weak = False  # only constants made from Python scalars are weakly typed


class TensorConstant(_TensorOperators, Constant):
    """A tensor with a fixed value."""

    __slots__ = ()

    def __str__(self) -> str:
        return Constant.__str__(self)


TensorType.variable_class = TensorVariable
TensorType.constant_class = TensorConstant


def tensor_constant(value, dtype=None, name=None, weak=False) -> TensorConstant:
    """An interned TensorConstant holding a read-only copy of ``value``."""
    from symcomp.graph.variable import (
        CONSTANT_MERGE_MAX_SIZE,
        _constant_cache,
        intern_constant,
    )

    arr = np.array(value, dtype=dtype)
    arr.setflags(write=False)
    ttype = TensorType(arr.dtype, tuple(arr.shape))
    if name is None and arr.size <= CONSTANT_MERGE_MAX_SIZE:
        found = _constant_cache.get((ttype, weak, arr.shape, arr.tobytes()))
        if found is not None:  # looked up before building, so no source line is recorded
            return found
    const = TensorConstant(ttype, arr, name=name, weak=weak)
    return intern_constant(const) if name is None else const
