"""Scalar ops with NumPy's integer and rounding rules: floor division, modulo, power,
abs/sign, rounding, minimum/maximum/clip, and the logical, bitwise and float-class tests.

The exponential, logarithmic, trigonometric and special functions live in
``scalar/transcendental.py``; the helpers here (``arg``, ``lam``) are shared with it.

C++ expressions follow NumPy exactly where C differs: integer division and modulo take
the sign of the divisor and give 0 for a zero divisor, signed overflow wraps (computed in
unsigned arithmetic, since it is undefined in C++), minimum/maximum propagate NaN, and
rounding is half to even. Expressions that need an argument more than once use an
immediately invoked lambda, so each argument expression is evaluated once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symcomp.scalar.base import ScalarOp, tensor_module
from symcomp.scalar.emit import arg, kind, lam, unsigned_ctype

_t = tensor_module


# -- division, modulo, power -------------------------------------------------------------


@dataclass(frozen=True)
class IntDiv(ScalarOp):
    """x // y (NumPy's floor_divide: rounds toward -inf; an integer x // 0 is 0)."""

    nin = 2
    reference = staticmethod(np.floor_divide)
    differentiable = False

    def c_expr(self, ctx, x, y):
        k = kind(ctx.out_dtype)
        if k == "u":
            return lam(ctx, "return b == 0 ? T(0) : T(a / b);", (x, y))
        if k in "bi":
            # INT_MIN / -1 overflows in C++; NumPy wraps it to INT_MIN.
            u = unsigned_ctype(ctx.out_dtype)
            return lam(
                ctx,
                f"if (b == 0) return T(0); if (b == -1) return (T)({u}(0) - ({u})a);"
                " return T(a / b - ((a % b != 0) && ((a % b < 0) != (b < 0))));",
                (x, y),
            )
        fmod, copysign, floor = (ctx.math(n) for n in ("fmod", "copysign", "floor"))
        # NumPy's npy_floor_divide: from fmod, then snapped to the nearest integer.
        return lam(
            ctx,
            f"if (b == 0) return a / b; T m = {fmod}(a, b); T d = (a - m) / b;"
            " if (m != 0 && ((b < 0) != (m < 0))) d -= T(1);"
            f" if (d == 0) return {copysign}(T(0), a / b);"
            f" T f = {floor}(d); return d - f > T(0.5) ? f + T(1) : f;",
            (x, y),
        )


@dataclass(frozen=True)
class Mod(ScalarOp):
    """x % y (NumPy's remainder: takes the sign of y; an integer x % 0 is 0)."""

    nin = 2
    reference = staticmethod(np.remainder)

    def pullback(self, inputs, outputs, cotangents):
        x, y = inputs
        g = cotangents[0]
        # x % y = x - y * floor(x / y); floor is flat almost everywhere.
        return [g, -g * _t().int_div(x, y)]

    def c_expr(self, ctx, x, y):
        k = kind(ctx.out_dtype)
        if k == "u":
            return lam(ctx, "return b == 0 ? T(0) : T(a % b);", (x, y))
        if k in "bi":
            return lam(
                ctx,
                "if (b == 0 || b == -1) return T(0); T r = T(a % b);"
                " return (r != 0 && ((r < 0) != (b < 0))) ? T(r + b) : r;",
                (x, y),
            )
        fmod, copysign = ctx.math("fmod"), ctx.math("copysign")
        return lam(
            ctx,
            f"T m = {fmod}(a, b); if (b == 0) return m;"
            " if (m != 0) { if ((b < 0) != (m < 0)) m += b; }"
            f" else m = {copysign}(T(0), b); return m;",
            (x, y),
        )


@dataclass(frozen=True)
class Pow(ScalarOp):
    """x ** y. Integers to negative integer powers raise ValueError, as in NumPy."""

    nin = 2
    reference = staticmethod(np.power)

    def pullback(self, inputs, outputs, cotangents):
        st = _t()
        x, y = inputs
        g, out = cotangents[0], outputs[0]
        # d/dx x**0 is 0, though y * x**(y-1) is nan at x == 0; d/dy 0**y is 0 (y > 0).
        gx = st.switch(st.eq(y, 0), 0, g * y * st.pow(x, y - 1))
        gy = st.switch(st.eq(x, 0), 0, g * out * st.log(x))
        return [gx, gy]

    def c_expr(self, ctx, x, y):
        if kind(ctx.out_dtype) == "f":
            return f"{ctx.math('pow')}({arg(ctx, 0, x)}, {arg(ctx, 1, y)})"
        u = unsigned_ctype(ctx.out_dtype)
        # NumPy raises for a negative exponent; an expression cannot, so it gives the
        # truncated value (1 for base 1, +-1 for base -1, else 0).
        neg = (
            "if (b < 0) return a == 1 ? T(1) : (a == -1 ? T((b & 1) ? -1 : 1) : T(0));"
            if kind(ctx.out_dtype) == "i"
            else ""
        )
        return lam(
            ctx,
            f"{neg} {u} r = 1, p = ({u})a;"
            " while (b) { if (b & 1) r *= p; p *= p; b >>= 1; } return (T)r;",
            (x, y),
        )


# -- sign, magnitude, squares ------------------------------------------------------------


@dataclass(frozen=True)
class Abs(ScalarOp):
    """|x|."""

    nin = 1
    reference = staticmethod(np.abs)

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * _t().sign(inputs[0])]

    def c_expr(self, ctx, x):
        k = kind(ctx.out_dtype)
        if k == "f":
            return f"{ctx.math('fabs')}({x})"
        if k == "i":
            u = unsigned_ctype(ctx.out_dtype)
            return lam(ctx, f"return a < 0 ? (T)({u}(0) - ({u})a) : a;", (x,))
        return x


@dataclass(frozen=True)
class Sign(ScalarOp):
    """-1, 0 or 1 by the sign of x (0 for -0.0, NaN for NaN); not defined for bool."""

    nin = 1
    reference = staticmethod(np.sign)
    differentiable = False

    def c_expr(self, ctx, x):
        k = kind(ctx.out_dtype)
        if k == "u":
            return f"static_cast<{ctx.ctype()}>({x} > 0)"
        if k == "i":
            return lam(ctx, "return T((a > 0) - (a < 0));", (x,))
        return lam(ctx, "return a > 0 ? T(1) : (a < 0 ? T(-1) : (a == 0 ? T(0) : a));", (x,))


@dataclass(frozen=True)
class Sqr(ScalarOp):
    """x * x (NumPy's square)."""

    nin = 1
    reference = staticmethod(np.square)

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * (2 * inputs[0])]

    def c_expr(self, ctx, x):
        if kind(ctx.out_dtype) == "f":
            return lam(ctx, "return a * a;", (x,))
        u = unsigned_ctype(ctx.out_dtype)
        return lam(ctx, f"return (T)(({u})a * ({u})a);", (x,))


# -- rounding ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rounding(ScalarOp):
    """Rounding to an integral value; integers and bools pass through unchanged."""

    abstract = True
    nin = 1
    differentiable = False
    cname: ClassVar[str] = ""

    def c_expr(self, ctx, x):
        if kind(ctx.in_dtypes[0]) != "f":
            return arg(ctx, 0, x)
        return f"{ctx.math(self.cname)}({x})"


@dataclass(frozen=True)
class Floor(_Rounding):
    """The largest integer <= x."""

    reference = staticmethod(np.floor)
    cname = "floor"


@dataclass(frozen=True)
class Ceil(_Rounding):
    """The smallest integer >= x."""

    reference = staticmethod(np.ceil)
    cname = "ceil"


@dataclass(frozen=True)
class Trunc(_Rounding):
    """x rounded toward zero."""

    reference = staticmethod(np.trunc)
    cname = "trunc"


@dataclass(frozen=True)
class RoundHalfToEven(_Rounding):
    """x rounded to the nearest integer, ties to even (NumPy's round)."""

    reference = staticmethod(np.round)
    # nearbyint rounds in the current rounding mode: to nearest, ties to even by default.
    cname = "nearbyint"


def _round_half_away(x):
    if x.dtype.kind != "f":
        return np.round(x)
    t = np.trunc(x)
    # x - trunc(x) is exact, unlike x + 0.5 (0.49999999999999994 + 0.5 rounds to 1).
    step = np.where(np.abs(x - t) >= 0.5, np.sign(x), 0).astype(x.dtype)
    return np.copysign(t + step, x)


@dataclass(frozen=True)
class RoundHalfAwayFromZero(_Rounding):
    """x rounded to the nearest integer, ties away from zero (C's round)."""

    reference = staticmethod(_round_half_away)
    cname = "round"


# -- minimum, maximum, clip --------------------------------------------------------------


def _nan_min_max(ctx, op, args):
    if kind(ctx.out_dtype) == "f":
        return lam(ctx, f"return (a != a || a {op} b) ? a : b;", args)
    return lam(ctx, f"return a {op} b ? a : b;", args)


@dataclass(frozen=True)
class Minimum(ScalarOp):
    """The smaller of x and y; NaN if either is NaN. At a tie the gradient goes to x."""

    nin = 2
    reference = staticmethod(np.minimum)

    def pullback(self, inputs, outputs, cotangents):
        return _min_max_grads(inputs, outputs, cotangents)

    def c_expr(self, ctx, x, y):
        return _nan_min_max(ctx, "<", (x, y))


@dataclass(frozen=True)
class Maximum(ScalarOp):
    """The larger of x and y; NaN if either is NaN. At a tie the gradient goes to x."""

    nin = 2
    reference = staticmethod(np.maximum)

    def pullback(self, inputs, outputs, cotangents):
        return _min_max_grads(inputs, outputs, cotangents)

    def c_expr(self, ctx, x, y):
        return _nan_min_max(ctx, ">", (x, y))


def _min_max_grads(inputs, outputs, cotangents):
    st = _t()
    x, _ = inputs
    g = cotangents[0]
    from_x = st.eq(outputs[0], x)
    return [st.switch(from_x, g, 0), st.switch(from_x, 0, g)]


@dataclass(frozen=True)
class Clip(ScalarOp):
    """NumPy's clip(x, lo, hi) = minimum(maximum(x, lo), hi): hi wins when lo > hi, and
    NaN in any input propagates.

    The gradient goes to x where lo <= x <= hi (ties go to x), to lo where x < lo <= hi,
    and to hi where the result is hi (x > hi, or lo > hi).
    """

    nin = 3
    reference = staticmethod(np.clip)

    def pullback(self, inputs, outputs, cotangents):
        st = _t()
        x, lo, hi = inputs
        g = cotangents[0]
        inside = st.logical_and(st.ge(x, lo), st.le(x, hi))
        below = st.logical_and(st.lt(x, lo), st.le(lo, hi))
        above = st.logical_or(st.gt(x, hi), st.gt(lo, hi))
        return [st.switch(inside, g, 0), st.switch(below, g, 0), st.switch(above, g, 0)]

    def c_expr(self, ctx, x, lo, hi):
        if kind(ctx.out_dtype) == "f":
            body = "T m = (a != a || a > b) ? a : b; return (m != m || m < c) ? m : c;"
        else:
            body = "T m = a > b ? a : b; return m < c ? m : c;"
        return lam(ctx, body, (x, lo, hi))


# -- float classes -----------------------------------------------------------------------
# Written with comparisons rather than std::isnan/isinf, which differ between C++ and CUDA
# device code; both hold under IEEE arithmetic (symcomp never compiles with -ffast-math).


@dataclass(frozen=True)
class _FloatClass(ScalarOp):
    abstract = True
    nin = 1
    differentiable = False
    non_float: ClassVar[str] = "false"  # the answer for integers and bools
    template: ClassVar[str] = ""

    def out_dtype(self, *dtypes):
        return "bool"

    def c_expr(self, ctx, x):
        if kind(ctx.in_dtypes[0]) != "f":
            return self.non_float
        return lam(ctx, self.template, (x,), dtype=ctx.in_dtypes[0])


@dataclass(frozen=True)
class IsNan(_FloatClass):
    """x is NaN."""

    reference = staticmethod(np.isnan)
    template = "return a != a;"


@dataclass(frozen=True)
class IsInf(_FloatClass):
    """x is +inf or -inf."""

    reference = staticmethod(np.isinf)
    template = "return a == a && a - a != a - a;"


@dataclass(frozen=True)
class IsFinite(_FloatClass):
    """x is neither infinite nor NaN."""

    reference = staticmethod(np.isfinite)
    non_float = "true"
    template = "return a - a == a - a;"


# -- logical and bitwise -----------------------------------------------------------------


@dataclass(frozen=True)
class _Logical(ScalarOp):
    abstract = True
    nin = 2
    differentiable = False
    symbol: ClassVar[str] = ""

    def out_dtype(self, *dtypes):
        return "bool"

    def c_expr(self, ctx, x, y):
        return f"(({x} != 0) {self.symbol} ({y} != 0))"


@dataclass(frozen=True)
class LogicalAnd(_Logical):
    """x and y, elementwise (any dtype: nonzero is true)."""

    reference = staticmethod(np.logical_and)
    symbol = "&&"


@dataclass(frozen=True)
class LogicalOr(_Logical):
    """x or y, elementwise."""

    reference = staticmethod(np.logical_or)
    symbol = "||"


@dataclass(frozen=True)
class LogicalXor(_Logical):
    """Exactly one of x and y is true."""

    reference = staticmethod(np.logical_xor)
    symbol = "!="


@dataclass(frozen=True)
class LogicalNot(ScalarOp):
    """not x, elementwise."""

    nin = 1
    reference = staticmethod(np.logical_not)
    differentiable = False

    def out_dtype(self, *dtypes):
        return "bool"

    def c_expr(self, ctx, x):
        return f"({x} == 0)"


@dataclass(frozen=True)
class _Bitwise(ScalarOp):
    """Bitwise ops: integers and bools only (floats are a TypeError, as in NumPy)."""

    abstract = True
    nin = 2
    differentiable = False
    symbol: ClassVar[str] = ""

    def c_expr(self, ctx, x, y):
        return f"static_cast<{ctx.ctype()}>({arg(ctx, 0, x)} {self.symbol} {arg(ctx, 1, y)})"


@dataclass(frozen=True)
class BitwiseAnd(_Bitwise):
    """x & y."""

    reference = staticmethod(np.bitwise_and)
    symbol = "&"


@dataclass(frozen=True)
class BitwiseOr(_Bitwise):
    """x | y."""

    reference = staticmethod(np.bitwise_or)
    symbol = "|"


@dataclass(frozen=True)
class BitwiseXor(_Bitwise):
    """x ^ y."""

    reference = staticmethod(np.bitwise_xor)
    symbol = "^"


@dataclass(frozen=True)
class Invert(ScalarOp):
    """~x: bitwise not for integers, logical not for bools."""

    nin = 1
    reference = staticmethod(np.invert)
    differentiable = False

    def c_expr(self, ctx, x):
        if ctx.out_dtype == "bool":
            return f"(!{x})"
        return f"static_cast<{ctx.ctype()}>(~{x})"


int_div, mod, pow, abs, sign, sqr = IntDiv(), Mod(), Pow(), Abs(), Sign(), Sqr()
floor, ceil, trunc = Floor(), Ceil(), Trunc()
round_half_to_even, round_half_away_from_zero = RoundHalfToEven(), RoundHalfAwayFromZero()
minimum, maximum, clip = Minimum(), Maximum(), Clip()
isnan, isinf, isfinite = IsNan(), IsInf(), IsFinite()
logical_and, logical_or, logical_xor, logical_not = (
    LogicalAnd(),
    LogicalOr(),
    LogicalXor(),
    LogicalNot(),
)
bitwise_and, bitwise_or, bitwise_xor, invert = BitwiseAnd(), BitwiseOr(), BitwiseXor(), Invert()

# fmt: off
__all__ = [
    "Abs", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "Ceil", "Clip", "Floor", "IntDiv",
    "Invert", "IsFinite", "IsInf", "IsNan", "LogicalAnd", "LogicalNot", "LogicalOr",
    "LogicalXor", "Maximum", "Minimum", "Mod", "Pow", "RoundHalfAwayFromZero",
    "RoundHalfToEven", "Sign", "Sqr", "Trunc", "abs", "bitwise_and", "bitwise_or",
    "bitwise_xor", "ceil", "clip", "floor", "int_div", "invert", "isfinite", "isinf", "isnan",
    "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "mod",
    "pow", "round_half_away_from_zero", "round_half_to_even", "sign", "sqr", "trunc",
]
# fmt: on
