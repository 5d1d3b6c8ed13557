"""TensorType: an n-d array type with a dtype and a static shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from symcomp.graph.type import Type

DTYPES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)
FLOAT_DTYPES = ("float16", "float32", "float64")
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
DISCRETE_DTYPES = ("bool",) + INT_DTYPES


_DTYPE_SET = frozenset(DTYPES)


def normalize_dtype(dtype) -> str:
    """The canonical name of a dtype ("floatX" resolves to config.floatX)."""
    if dtype.__class__ is str and dtype in _DTYPE_SET:
        return dtype  # the common case, kept cheap: graph building calls this per node
    if dtype == "floatX":
        from symcomp.config import config

        return config.floatX
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise TypeError(f"unsupported dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    return name


_TYPE_CACHE: dict = {}


@dataclass(frozen=True, init=False)
class TensorType(Type):
    """Arrays of ``dtype`` with ``len(shape)`` dims; ``shape[i]`` is an int when that
    length is known statically (1 means broadcastable) or None."""

    dtype: str
    shape: tuple

    def __new__(cls, dtype=None, shape=None, broadcastable=None):
        # Types are immutable values: reuse the instance for a (dtype, shape) seen before.
        # Graph building makes one type per node, so this is on the hot path.
        if broadcastable is None and dtype is not None:
            try:
                found = _TYPE_CACHE.get((cls, dtype, shape))
            except TypeError:  # an unhashable shape (a list): normalized in __init__
                found = None
            if found is not None:
                return found
        return object.__new__(cls)

    def __init__(self, dtype, shape=None, broadcastable=None):
        if "dtype" in self.__dict__:
            return  # a cached instance, already initialized
        key = (type(self), dtype, shape) if broadcastable is None else None
        if shape is None:
            if broadcastable is None:
                raise TypeError("TensorType needs shape (or broadcastable)")
            shape = tuple(1 if b else None for b in broadcastable)
        shape = tuple(None if s is None else int(s) for s in shape)
        if any(s is not None and s < 0 for s in shape):
            raise ValueError(f"negative static length in shape {shape}")
        object.__setattr__(self, "dtype", normalize_dtype(dtype))
        object.__setattr__(self, "shape", shape)
        if key is not None:
            try:
                _TYPE_CACHE[key] = self
            except TypeError:
                pass

    def __getnewargs__(self):
        return (self.dtype, self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def broadcastable(self) -> tuple:
        return tuple(s == 1 for s in self.shape)

    @property
    def numpy_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def clone(self, dtype=None, shape=None) -> TensorType:
        return TensorType(
            self.dtype if dtype is None else dtype, self.shape if shape is None else shape
        )

    def __str__(self) -> str:
        dims = ", ".join("?" if s is None else str(s) for s in self.shape)
        comma = "," if self.ndim == 1 else ""
        return f"Tensor({self.dtype}, shape=({dims}{comma}))"

    def __repr__(self) -> str:
        return str(self)

    def is_compatible(self, other: TensorType) -> bool:
        """Same dtype and ndim, and no static length that contradicts the other's."""
        if not isinstance(other, TensorType) or other.dtype != self.dtype:
            return False
        if other.ndim != self.ndim:
            return False
        return all(a is None or b is None or a == b for a, b in zip(self.shape, other.shape))

    def filter(self, value: Any, strict: bool = False, allow_downcast: bool | None = None):
        """``value`` as an ndarray of this type, following Theano's conversion rules.

        strict: the value must already be an ndarray of exactly this dtype.
        allow_downcast None: only Python floats may lose precision (to float32), and
        Python ints must fit. True: any cast. False: only lossless (safe) casts.
        """
        target = self.numpy_dtype
        if isinstance(value, np.ndarray) and value.dtype == target:
            arr = value
        elif strict:
            raise TypeError(
                f"expected an ndarray of dtype {self.dtype}, got {_describe(value)} (strict)"
            )
        else:
            arr = _convert(value, target, allow_downcast)
        if arr.ndim != self.ndim:
            raise TypeError(
                f"expected {self.ndim} dimensions, got an array of shape "
                f"{arr.shape} ({arr.ndim} dimensions)"
            )
        for i, (want, got) in enumerate(zip(self.shape, arr.shape)):
            if want is not None and want != got:
                raise ValueError(
                    f"expected static shape {_shape_str(self.shape)}, got "
                    f"{arr.shape} (dimension {i})"
                )
        return arr


def _shape_str(shape) -> str:
    return (
        "("
        + ", ".join("?" if s is None else str(s) for s in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an ndarray of dtype {value.dtype} and shape {value.shape}"
    return f"a {type(value).__name__}"


def _convert(value, target: np.dtype, allow_downcast: bool | None) -> np.ndarray:
    is_array = isinstance(value, (np.ndarray, np.generic))
    src = np.asarray(value)
    if src.dtype == object:
        raise TypeError(f"cannot convert {_describe(value)} to an array of {target}")
    if src.dtype == target or np.can_cast(src.dtype, target, "safe"):
        return np.asarray(src, dtype=target)
    if allow_downcast:
        return np.asarray(src, dtype=target)
    if allow_downcast is None and not is_array:
        # Python data: floats may become float32, ints must fit exactly.
        if src.dtype.kind == "f" and target.kind == "f":
            return np.asarray(src, dtype=target)
        if src.dtype.kind in "iub" and target.kind in "iuf":
            converted = src.astype(target)
            if np.array_equal(converted, src):
                return converted
    raise TypeError(
        f"cannot convert {_describe(value)} (dtype {src.dtype}) to {target} without loss; "
        f"pass an array of dtype {target} or use allow_input_downcast=True"
    )
