"""dtype rules: NumPy promotion with weak Python scalars (NumPy 2 / NEP 50)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_WEAK_PROBE = {"bool": False, "int": 0, "float": 0.0, "complex": 0j}


def weak_kind(value) -> str | None:
    """ "int"/"float"/"complex"/"bool" for a Python scalar, else None."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, complex):
        return "complex"
    return None


@lru_cache(maxsize=4096)
def result_dtype(strong: tuple, weak: tuple = ()) -> str:
    """``numpy.result_type`` of dtypes ``strong`` and weak Python scalar kinds ``weak``.

    With no strong dtype, weak ints become int64 and weak floats ``config.floatX``.
    """
    if not strong:
        from symcomp.config import config

        if "complex" in weak:
            return "complex128"
        if "float" in weak:
            return config.floatX
        if "int" in weak:
            return "int64"
        return "bool"
    args = [np.dtype(d) for d in strong] + [_WEAK_PROBE[k] for k in weak]
    return np.result_type(*args).name


def upcast(*dtypes: str) -> str:
    return result_dtype(tuple(dtypes))


def is_float(dtype: str) -> bool:
    return np.dtype(dtype).kind == "f"


def is_int(dtype: str) -> bool:
    return np.dtype(dtype).kind in "iu"


def is_discrete(dtype: str) -> bool:
    return np.dtype(dtype).kind in "iub"


def float_of(dtype: str) -> str:
    """The float dtype NumPy computes ``dtype`` in for float functions, but never float16
    from an integer input (int8/uint8/bool go to float32, as Theano does)."""
    kind = np.dtype(dtype).kind
    if kind in "fc":
        return dtype
    name = np.result_type(np.dtype(dtype), np.float16).name
    return "float32" if name == "float16" else name
