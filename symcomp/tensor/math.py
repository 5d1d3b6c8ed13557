"""Elementwise math on tensors: each function applies one scalar op (symcomp.scalar.math
and symcomp.scalar.transcendental) with NumPy broadcasting and dtype rules.

Names follow NumPy, with Theano/PyTensor's aliases (``abs_``, ``sqr``, ``int_div``, ``psi``,
``and_``/``or_``/``xor``). Arithmetic (add, sub, mul, true_div, neg), comparisons, casts and
switch are in tensor/arith.py.
"""

from __future__ import annotations

import symcomp.scalar.math as sm
import symcomp.scalar.transcendental as st_
from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.arith import tensor_copy
from symcomp.tensor.elemwise import Elemwise
from symcomp.tensor.errors import where

_abs = Elemwise(sm.abs)


def abs(x):
    """|x|, elementwise (Theano's ``abs_``; NumPy's ``absolute``)."""
    return _abs(x)


_sign = Elemwise(sm.sign)


def sign(x):
    """-1, 0 or 1 by the sign of x (0 for -0.0, NaN for NaN); bool inputs are a TypeError."""
    return _sign(x)


_sqr = Elemwise(sm.sqr)


def sqr(x):
    """x * x (NumPy's ``square``)."""
    return _sqr(x)


_exp = Elemwise(st_.exp)


def exp(x):
    """e ** x."""
    return _exp(x)


_exp2 = Elemwise(st_.exp2)


def exp2(x):
    """2 ** x."""
    return _exp2(x)


_expm1 = Elemwise(st_.expm1)


def expm1(x):
    """exp(x) - 1, accurate for small x."""
    return _expm1(x)


_log = Elemwise(st_.log)


def log(x):
    """Natural logarithm."""
    return _log(x)


_log2 = Elemwise(st_.log2)


def log2(x):
    """Base-2 logarithm."""
    return _log2(x)


_log10 = Elemwise(st_.log10)


def log10(x):
    """Base-10 logarithm."""
    return _log10(x)


_log1p = Elemwise(st_.log1p)


def log1p(x):
    """log(1 + x), accurate for small x."""
    return _log1p(x)


_sqrt = Elemwise(st_.sqrt)


def sqrt(x):
    """Square root."""
    return _sqrt(x)


_reciprocal = Elemwise(st_.reciprocal)


def reciprocal(x):
    """1 / x as a float (as Theano; NumPy's integer reciprocal truncates)."""
    return _reciprocal(x)


_sin = Elemwise(st_.sin)


def sin(x):
    """Sine (radians)."""
    return _sin(x)


_cos = Elemwise(st_.cos)


def cos(x):
    """Cosine (radians)."""
    return _cos(x)


_tan = Elemwise(st_.tan)


def tan(x):
    """Tangent (radians)."""
    return _tan(x)


_arcsin = Elemwise(st_.arcsin)


def arcsin(x):
    """Inverse sine."""
    return _arcsin(x)


_arccos = Elemwise(st_.arccos)


def arccos(x):
    """Inverse cosine."""
    return _arccos(x)


_arctan = Elemwise(st_.arctan)


def arctan(x):
    """Inverse tangent."""
    return _arctan(x)


_sinh = Elemwise(st_.sinh)


def sinh(x):
    """Hyperbolic sine."""
    return _sinh(x)


_cosh = Elemwise(st_.cosh)


def cosh(x):
    """Hyperbolic cosine."""
    return _cosh(x)


_tanh = Elemwise(st_.tanh)


def tanh(x):
    """Hyperbolic tangent."""
    return _tanh(x)


_arcsinh = Elemwise(st_.arcsinh)


def arcsinh(x):
    """Inverse hyperbolic sine."""
    return _arcsinh(x)


_arccosh = Elemwise(st_.arccosh)


def arccosh(x):
    """Inverse hyperbolic cosine (x >= 1)."""
    return _arccosh(x)


_arctanh = Elemwise(st_.arctanh)


def arctanh(x):
    """Inverse hyperbolic tangent (|x| < 1)."""
    return _arctanh(x)


_floor = Elemwise(sm.floor)


def floor(x):
    """The largest integer <= x (integers and bools are returned unchanged, as NumPy 2)."""
    return _floor(x)


_ceil = Elemwise(sm.ceil)


def ceil(x):
    """The smallest integer >= x (integers and bools unchanged)."""
    return _ceil(x)


_trunc = Elemwise(sm.trunc)


def trunc(x):
    """x rounded toward zero (integers and bools unchanged)."""
    return _trunc(x)


_round_half_to_even = Elemwise(sm.round_half_to_even)


def round_half_to_even(x):
    """x rounded to the nearest integer, ties to even (NumPy's ``round``)."""
    return _round_half_to_even(x)


_round_half_away_from_zero = Elemwise(sm.round_half_away_from_zero)


def round_half_away_from_zero(x):
    """x rounded to the nearest integer, ties away from zero (C's ``round``)."""
    return _round_half_away_from_zero(x)


_erf = Elemwise(st_.erf)


def erf(x):
    """The error function."""
    return _erf(x)


_erfc = Elemwise(st_.erfc)


def erfc(x):
    """The complementary error function 1 - erf(x), accurate for large x."""
    return _erfc(x)


_gammaln = Elemwise(st_.gammaln)


def gammaln(x):
    """log(|gamma(x)|); +inf at the poles 0, -1, -2, ...."""
    return _gammaln(x)


_digamma = Elemwise(st_.psi)


def digamma(x):
    """The digamma function psi(x), the derivative of gammaln (no gradient itself)."""
    return _digamma(x)


_sigmoid = Elemwise(st_.sigmoid)


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), computed without overflow."""
    return _sigmoid(x)


_softplus = Elemwise(st_.softplus)


def softplus(x):
    """log(1 + exp(x)) (= logaddexp(0, x)), computed without overflow."""
    return _softplus(x)


_isnan = Elemwise(sm.isnan)


def isnan(x):
    """x is NaN (False for integers and bools)."""
    return _isnan(x)


_isinf = Elemwise(sm.isinf)


def isinf(x):
    """x is +inf or -inf."""
    return _isinf(x)


_isfinite = Elemwise(sm.isfinite)


def isfinite(x):
    """x is neither infinite nor NaN."""
    return _isfinite(x)


_logical_not = Elemwise(sm.logical_not)


def logical_not(x):
    """not x, elementwise (nonzero is true)."""
    return _logical_not(x)


_invert = Elemwise(sm.invert)


def invert(x):
    """~x: bitwise not of integers, logical not of bools (floats are a TypeError)."""
    return _invert(x)


_int_div = Elemwise(sm.int_div)


def int_div(x, y):
    """x // y, NumPy's floor_divide: rounds toward -inf; an integer x // 0 is 0 (NumPy warns)."""
    return _int_div(x, y)


_mod = Elemwise(sm.mod)


def mod(x, y):
    """x % y, NumPy's remainder: the result has the sign of y; an integer x % 0 is 0."""
    return _mod(x, y)


_pow = Elemwise(sm.pow)


def pow(x, y):
    """x ** y. Integers to negative integer powers raise ValueError, as in NumPy."""
    return _pow(x, y)


_arctan2 = Elemwise(st_.arctan2)


def arctan2(x1, x2):
    """The angle of the point (x2, x1) in radians: arctan(x1 / x2) in the right quadrant."""
    return _arctan2(x1, x2)


_minimum = Elemwise(sm.minimum)


def minimum(x, y):
    """The elementwise smaller of x and y; NaN if either is NaN.

    Gradient: at a tie (x == y) it goes to x, none to y."""
    return _minimum(x, y)


_maximum = Elemwise(sm.maximum)


def maximum(x, y):
    """The elementwise larger of x and y; NaN if either is NaN.

    Gradient: at a tie (x == y) it goes to x, none to y."""
    return _maximum(x, y)


_logical_and = Elemwise(sm.logical_and)


def logical_and(x, y):
    """x and y, elementwise (any dtype; nonzero is true)."""
    return _logical_and(x, y)


_logical_or = Elemwise(sm.logical_or)


def logical_or(x, y):
    """x or y, elementwise."""
    return _logical_or(x, y)


_logical_xor = Elemwise(sm.logical_xor)


def logical_xor(x, y):
    """Exactly one of x and y is true, elementwise."""
    return _logical_xor(x, y)


_bitwise_and = Elemwise(sm.bitwise_and)


def bitwise_and(x, y):
    """x & y for integers and bools."""
    return _bitwise_and(x, y)


_bitwise_or = Elemwise(sm.bitwise_or)


def bitwise_or(x, y):
    """x | y for integers and bools."""
    return _bitwise_or(x, y)


_bitwise_xor = Elemwise(sm.bitwise_xor)


def bitwise_xor(x, y):
    """x ^ y for integers and bools."""
    return _bitwise_xor(x, y)


_clip = Elemwise(sm.clip)


def clip(x, lo, hi):
    """x limited to [lo, hi], as NumPy's clip: ``minimum(maximum(x, lo), hi)``, so hi wins
    where lo > hi and NaN propagates. Either bound may be None (no limit on that side).

    Gradient: to x where lo <= x <= hi, to lo where x < lo <= hi, to hi where the result is
    hi because x > hi or lo > hi.
    """
    if lo is None and hi is None:
        return tensor_copy(x)
    if lo is None:
        return minimum(x, hi)
    if hi is None:
        return maximum(x, lo)
    return _clip(x, lo, hi)


_ROUND_MODES = {
    "half_to_even": round_half_to_even,
    "half_away_from_zero": round_half_away_from_zero,
}


def round(x, mode="half_to_even"):
    """x rounded to the nearest integer. ``mode`` is "half_to_even" (NumPy's round, the
    default) or "half_away_from_zero" (C's round; Theano's old default). Integers are
    returned unchanged."""
    try:
        fn = _ROUND_MODES[mode]
    except (KeyError, TypeError):
        modes = ", ".join(repr(m) for m in _ROUND_MODES)
        raise ValueError(
            f"round: mode must be one of {modes}, got {mode!r}{where(user_source())}"
        ) from None
    return fn(x)


# NumPy and Theano/PyTensor spellings of the same functions.
floor_divide = int_div
remainder = mod
power = pow
abs_ = absolute = abs
square = sqr
psi = digamma
bitwise_not = invert
and_, or_, xor = bitwise_and, bitwise_or, bitwise_xor

# fmt: off
__all__ = [
    "abs", "abs_", "absolute", "and_", "arccos", "arccosh", "arcsin", "arcsinh", "arctan",
    "arctan2", "arctanh", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "ceil",
    "clip", "cos", "cosh", "digamma", "erf", "erfc", "exp", "exp2", "expm1", "floor",
    "floor_divide", "gammaln", "int_div", "invert", "isfinite", "isinf", "isnan", "log",
    "log1p", "log2", "log10", "logical_and", "logical_not", "logical_or", "logical_xor",
    "maximum", "minimum", "mod", "or_", "pow", "power", "psi", "reciprocal", "remainder",
    "round", "round_half_away_from_zero", "round_half_to_even", "sigmoid", "sign", "sin",
    "sinh", "softplus", "sqr", "sqrt", "square", "tan", "tanh", "trunc", "xor",
]
# fmt: on
