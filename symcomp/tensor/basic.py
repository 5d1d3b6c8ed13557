"""Turning Python values into tensor variables, and the typed constructors."""

from __future__ import annotations

import numpy as np

from symcomp.graph.variable import Variable
from symcomp.tensor.dtypes import result_dtype, weak_kind
from symcomp.tensor.type import TensorType, normalize_dtype
from symcomp.tensor.variable import TensorConstant, TensorVariable, tensor_constant


def constant(value, dtype=None, name: str | None = None) -> TensorConstant:
    """A constant tensor. Python floats get ``config.floatX`` unless ``dtype`` is given."""
    if dtype is None:
        kind = weak_kind(value)
        if kind is not None:
            dtype = result_dtype((), (kind,))
        elif isinstance(value, (list, tuple)):
            dtype = _python_sequence_dtype(value)
    return tensor_constant(
        value, dtype=None if dtype is None else normalize_dtype(dtype), name=name
    )


def _python_sequence_dtype(value):
    arr = np.asarray(value)
    if arr.dtype == np.float64:
        from symcomp.config import config

        return config.floatX
    return None


def as_tensor_variable(x, name: str | None = None, ndim: int | None = None) -> TensorVariable:
    """``x`` as a tensor variable: variables pass through; Python scalars become weak
    constants (NumPy 2 promotion); arrays and sequences become constants; sequences
    holding variables are stacked."""
    if isinstance(x, Variable):
        if not isinstance(x.type, TensorType):
            raise TypeError(f"expected a tensor, got {x} of type {x.type}")
        var = x
    elif weak_kind(x) is not None:
        var = tensor_constant(x, dtype=result_dtype((), (weak_kind(x),)), weak=True)
    elif isinstance(x, (list, tuple)) and any(isinstance(e, Variable) for e in _flat(x)):
        from symcomp.tensor.shape import stack

        var = stack([as_tensor_variable(e) for e in x])
    else:
        try:
            var = constant(x, name=name)
        except (TypeError, ValueError) as err:
            raise TypeError(f"cannot turn {type(x).__name__} {x!r} into a tensor: {err}") from err
    if ndim is not None and var.ndim != ndim:
        raise TypeError(f"expected {ndim} dimensions, got {var} with {var.ndim}")
    return var


def _flat(seq):
    for e in seq:
        if isinstance(e, (list, tuple)):
            yield from _flat(e)
        else:
            yield e


def tensor(dtype="floatX", shape=None, name: str | None = None, ndim: int | None = None):
    """A symbolic input tensor: ``tensor("float32", shape=(None, 3), name="x")``."""
    if shape is None:
        shape = (None,) * (ndim or 0)
    return TensorType(dtype, shape)(name)


def _maker(ndim: int, fixed: tuple | None = None):
    def make(name: str | None = None, dtype="floatX", shape=None):
        if shape is None:
            shape = fixed if fixed is not None else (None,) * ndim
        if len(shape) != ndim:
            raise ValueError(f"expected a shape of length {ndim}, got {shape}")
        return TensorType(dtype, shape)(name)

    return make


scalar = _maker(0)
vector = _maker(1)
matrix = _maker(2)
row = _maker(2, (1, None))
col = _maker(2, (None, 1))
tensor3 = _maker(3)
tensor4 = _maker(4)
tensor5 = _maker(5)

_PREFIXES = {
    "b": "int8",
    "w": "int16",
    "i": "int32",
    "l": "int64",
    "f": "float32",
    "d": "float64",
    "c": "complex64",
    "z": "complex128",
}
_KINDS = {
    "scalar": scalar,
    "vector": vector,
    "matrix": matrix,
    "row": row,
    "col": col,
    "tensor3": tensor3,
    "tensor4": tensor4,
    "tensor5": tensor5,
}


def _typed(base, dtype):
    def make(name: str | None = None, shape=None):
        return base(name, dtype=dtype, shape=shape)

    return make


# bscalar, wvector, imatrix, lscalar, fvector, dmatrix, ... as in Theano.
TYPED_CONSTRUCTORS = {
    prefix + kind: _typed(base, dtype)
    for prefix, dtype in _PREFIXES.items()
    for kind, base in _KINDS.items()
}
globals().update(TYPED_CONSTRUCTORS)
