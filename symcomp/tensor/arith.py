"""Tensor-level arithmetic, comparisons, casts and switch (Elemwise of scalar/arith.py)."""

from __future__ import annotations

import symcomp.scalar.arith as sa
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.elemwise import Elemwise
from symcomp.tensor.type import normalize_dtype

_add, _sub, _mul, _true_div = (Elemwise(op) for op in (sa.add, sa.sub, sa.mul, sa.true_div))
_neg, _identity, _switch = Elemwise(sa.neg), Elemwise(sa.identity), Elemwise(sa.switch)
_lt, _le, _gt, _ge, _eq, _neq = (Elemwise(op) for op in (sa.lt, sa.le, sa.gt, sa.ge, sa.eq, sa.neq))


def add(x, y, *rest):
    """x + y (+ more terms)."""
    out = _add(x, y)
    for z in rest:
        out = _add(out, z)
    return out


def sub(x, y):
    """x - y."""
    return _sub(x, y)


def mul(x, y, *rest):
    """x * y (* more factors)."""
    out = _mul(x, y)
    for z in rest:
        out = _mul(out, z)
    return out


def true_div(x, y):
    """x / y, a float result."""
    return _true_div(x, y)


def neg(x):
    """-x."""
    return _neg(x)


def tensor_copy(x):
    """A copy of x."""
    return _identity(x)


def cast(x, dtype):
    """x as ``dtype`` (NumPy astype); a no-op when the dtype already matches."""
    x = as_tensor_variable(x)
    dtype = normalize_dtype(dtype)
    if x.dtype == dtype:
        return x
    return Elemwise(sa.Cast(dtype))(x)


def switch(cond, x, y):
    """Elementwise ``x if cond else y`` (NumPy's where)."""
    return _switch(cond, x, y)


def where(cond, x=None, y=None):
    """``switch(cond, x, y)``; with only ``cond`` given, the indices of non-zeros."""
    if x is None and y is None:
        from symcomp.tensor.subtensor import nonzero

        return nonzero(cond)
    return _switch(cond, x, y)


def lt(x, y):
    """x < y."""
    return _lt(x, y)


def le(x, y):
    """x <= y."""
    return _le(x, y)


def gt(x, y):
    """x > y."""
    return _gt(x, y)


def ge(x, y):
    """x >= y."""
    return _ge(x, y)


def eq(x, y):
    """x == y, elementwise."""
    return _eq(x, y)


def neq(x, y):
    """x != y, elementwise."""
    return _neq(x, y)


less, less_equal, greater, greater_equal, equal, not_equal = lt, le, gt, ge, eq, neq
