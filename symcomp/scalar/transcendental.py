"""Float-valued scalar ops: exponentials, logarithms, powers of x, trigonometric and
hyperbolic functions, erf/erfc/gammaln/digamma, and the stable sigmoid and softplus.

Each returns a float for any input (``float_output``): integers and bools compute in
``float_of`` their dtype (float32 for 8/16-bit ints and bool, float64 otherwise), as
NumPy does except that float16 is never produced from integers.

scipy is not a dependency: erf, erfc and gammaln use scipy.special when it is importable
and otherwise ``math.erf``/``math.erfc``/``math.lgamma`` elementwise; digamma has its own
NumPy implementation (the same algorithm as its C++ expression).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symcomp.scalar.base import ScalarOp, tensor_module
from symcomp.scalar.emit import arg, lam
from symcomp.tensor.dtypes import float_of, upcast

_SPECIAL: list = []


def _scipy_special():
    """scipy.special if importable, else None; imported on first use (importing scipy costs
    about a second, which every process would pay at ``import symcomp``)."""
    if not _SPECIAL:
        try:
            import scipy.special as special
        except ImportError:
            special = None
        _SPECIAL.append(special)
    return _SPECIAL[0]


def _special_or(name: str, fallback):
    """A NumPy function: scipy.special's ``name`` when scipy is importable, else fallback."""

    def call(x):
        special = _scipy_special()
        return getattr(special, name)(x) if special is not None else fallback(x)

    call.__name__ = name
    return call


_t = tensor_module


@dataclass(frozen=True)
class FloatOp(ScalarOp):
    """Base of float-valued ops. Unary subclasses name their C function in ``cname``."""

    abstract = True
    float_output = True
    cname: ClassVar[str] = ""

    def out_dtype(self, *dtypes):
        return float_of(upcast(*dtypes))

    def c_expr(self, ctx, *args):
        values = ", ".join(arg(ctx, i, a) for i, a in enumerate(args))
        return f"{ctx.math(self.cname)}({values})"


# -- exponentials and logarithms ---------------------------------------------------------


@dataclass(frozen=True)
class Exp(FloatOp):
    """e ** x."""

    reference = staticmethod(np.exp)
    cname = "exp"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * outputs[0]]


@dataclass(frozen=True)
class Exp2(FloatOp):
    """2 ** x."""

    reference = staticmethod(np.exp2)
    cname = "exp2"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * outputs[0] * math.log(2.0)]


@dataclass(frozen=True)
class Expm1(FloatOp):
    """e ** x - 1, accurate for small x."""

    reference = staticmethod(np.expm1)
    cname = "expm1"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * (outputs[0] + 1)]


@dataclass(frozen=True)
class Log(FloatOp):
    """Natural logarithm."""

    reference = staticmethod(np.log)
    cname = "log"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] / inputs[0]]


@dataclass(frozen=True)
class Log2(FloatOp):
    """Base-2 logarithm."""

    reference = staticmethod(np.log2)
    cname = "log2"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] / (inputs[0] * math.log(2.0))]


@dataclass(frozen=True)
class Log10(FloatOp):
    """Base-10 logarithm."""

    reference = staticmethod(np.log10)
    cname = "log10"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] / (inputs[0] * math.log(10.0))]


@dataclass(frozen=True)
class Log1p(FloatOp):
    """log(1 + x), accurate for small x."""

    reference = staticmethod(np.log1p)
    cname = "log1p"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] / (inputs[0] + 1)]


@dataclass(frozen=True)
class Sqrt(FloatOp):
    """Square root."""

    reference = staticmethod(np.sqrt)
    cname = "sqrt"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] / (2 * outputs[0])]


def _reciprocal(x):
    return np.reciprocal(x)


@dataclass(frozen=True)
class Reciprocal(FloatOp):
    """1 / x as a float (as Theano's; NumPy's reciprocal truncates integers)."""

    reference = staticmethod(_reciprocal)

    def pullback(self, inputs, outputs, cotangents):
        out = outputs[0]
        return [-cotangents[0] * (out * out)]

    def c_expr(self, ctx, x):
        return f"({ctx.ctype()}(1) / {arg(ctx, 0, x)})"


# -- trigonometric and hyperbolic --------------------------------------------------------


@dataclass(frozen=True)
class Sin(FloatOp):
    """Sine (radians)."""

    reference = staticmethod(np.sin)
    cname = "sin"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * _t().cos(inputs[0])]


@dataclass(frozen=True)
class Cos(FloatOp):
    """Cosine (radians)."""

    reference = staticmethod(np.cos)
    cname = "cos"

    def pullback(self, inputs, outputs, cotangents):
        return [-cotangents[0] * _t().sin(inputs[0])]


@dataclass(frozen=True)
class Tan(FloatOp):
    """Tangent (radians)."""

    reference = staticmethod(np.tan)
    cname = "tan"

    def pullback(self, inputs, outputs, cotangents):
        out = outputs[0]
        return [cotangents[0] * (1 + out * out)]


@dataclass(frozen=True)
class ArcSin(FloatOp):
    """Inverse sine."""

    reference = staticmethod(np.arcsin)
    cname = "asin"

    def pullback(self, inputs, outputs, cotangents):
        x = inputs[0]
        return [cotangents[0] / _t().sqrt(1 - x * x)]


@dataclass(frozen=True)
class ArcCos(FloatOp):
    """Inverse cosine."""

    reference = staticmethod(np.arccos)
    cname = "acos"

    def pullback(self, inputs, outputs, cotangents):
        x = inputs[0]
        return [-cotangents[0] / _t().sqrt(1 - x * x)]


@dataclass(frozen=True)
class ArcTan(FloatOp):
    """Inverse tangent."""

    reference = staticmethod(np.arctan)
    cname = "atan"

    def pullback(self, inputs, outputs, cotangents):
        x = inputs[0]
        return [cotangents[0] / (1 + x * x)]


@dataclass(frozen=True)
class ArcTan2(FloatOp):
    """The angle of the point (x2, x1): arctan(x1 / x2) in the right quadrant."""

    nin = 2
    reference = staticmethod(np.arctan2)
    cname = "atan2"

    def pullback(self, inputs, outputs, cotangents):
        y, x = inputs
        g = cotangents[0] / (x * x + y * y)
        return [g * x, -g * y]


@dataclass(frozen=True)
class Sinh(FloatOp):
    """Hyperbolic sine."""

    reference = staticmethod(np.sinh)
    cname = "sinh"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * _t().cosh(inputs[0])]


@dataclass(frozen=True)
class Cosh(FloatOp):
    """Hyperbolic cosine."""

    reference = staticmethod(np.cosh)
    cname = "cosh"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * _t().sinh(inputs[0])]


@dataclass(frozen=True)
class Tanh(FloatOp):
    """Hyperbolic tangent."""

    reference = staticmethod(np.tanh)
    cname = "tanh"

    def pullback(self, inputs, outputs, cotangents):
        out = outputs[0]
        return [cotangents[0] * (1 - out * out)]


@dataclass(frozen=True)
class ArcSinh(FloatOp):
    """Inverse hyperbolic sine."""

    reference = staticmethod(np.arcsinh)
    cname = "asinh"

    def pullback(self, inputs, outputs, cotangents):
        x = inputs[0]
        return [cotangents[0] / _t().sqrt(x * x + 1)]


@dataclass(frozen=True)
class ArcCosh(FloatOp):
    """Inverse hyperbolic cosine (x >= 1)."""

    reference = staticmethod(np.arccosh)
    cname = "acosh"

    def pullback(self, inputs, outputs, cotangents):
        x = inputs[0]
        return [cotangents[0] / _t().sqrt(x * x - 1)]


@dataclass(frozen=True)
class ArcTanh(FloatOp):
    """Inverse hyperbolic tangent (|x| < 1)."""

    reference = staticmethod(np.arctanh)
    cname = "atanh"

    def pullback(self, inputs, outputs, cotangents):
        x = inputs[0]
        return [cotangents[0] / (1 - x * x)]


# -- special functions -------------------------------------------------------------------


def _elementwise(fn):
    """A NumPy function from a Python scalar function, keeping the float dtype."""
    ufunc = np.frompyfunc(fn, 1, 1)

    def apply(x):
        x = np.asarray(x)
        return np.asarray(ufunc(x), dtype=object).astype(x.dtype)

    return apply


def _lgamma(v):
    try:
        return math.lgamma(v)
    except ValueError:  # a pole (0, -1, -2, ...), where scipy gives +inf
        return math.inf


_erf_fallback = _elementwise(math.erf)
_erfc_fallback = _elementwise(math.erfc)
_gammaln_fallback = _elementwise(_lgamma)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def digamma_numpy(x):
    """The digamma function psi(x) = d/dx log(gamma(x)), in NumPy (as scipy's psi).

    Reflection for x < 0, the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then
    the asymptotic series (error below 1e-15). Computed in float64, returned in x's dtype.
    """
    x = np.asarray(x)
    v = x.astype(np.float64)
    with np.errstate(all="ignore"):
        pole = (v <= 0) & (v == np.floor(v))
        neg = v < 0
        result = np.where(neg, -np.pi / np.tan(np.pi * v), 0.0)
        v = np.where(neg, 1 - v, v)
        for _ in range(10):
            small = v < 10
            result = np.where(small, result - 1 / v, result)
            v = np.where(small, v + 1, v)
        f = 1 / (v * v)
        series = f * (
            1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f * (1 / 132 - f * 691 / 32760))))
        )
        result = result + np.log(v) - 0.5 / v - series
        # psi(+0) = -inf and psi(-0) = +inf, like -1/x; other poles are NaN.
        zero_pole = np.where(np.signbit(x), np.inf, -np.inf)
        result = np.where(pole, np.where(x == 0, zero_pole, np.nan), result)
    return result.astype(x.dtype)


@dataclass(frozen=True)
class Erf(FloatOp):
    """The error function."""

    reference = staticmethod(_special_or("erf", _erf_fallback))
    cname = "erf"

    def pullback(self, inputs, outputs, cotangents):
        x = inputs[0]
        return [cotangents[0] * _TWO_OVER_SQRT_PI * _t().exp(-(x * x))]


@dataclass(frozen=True)
class Erfc(FloatOp):
    """1 - erf(x), accurate for large x."""

    reference = staticmethod(_special_or("erfc", _erfc_fallback))
    cname = "erfc"

    def pullback(self, inputs, outputs, cotangents):
        x = inputs[0]
        return [-cotangents[0] * _TWO_OVER_SQRT_PI * _t().exp(-(x * x))]


def _gammaln(x):
    return _gammaln_scipy(x) if _scipy_special() is not None else _gammaln_fallback(x)


def _gammaln_scipy(x):
    # scipy gives -inf at -inf; C's lgamma and math.lgamma give +inf. Follow C, so that
    # the native code and the fallback agree.
    return np.where(x == -np.inf, np.inf, _scipy_special().gammaln(x)).astype(x.dtype)


@dataclass(frozen=True)
class GammaLn(FloatOp):
    """log(|gamma(x)|); +inf at the poles 0, -1, -2, ... and at +-inf."""

    reference = staticmethod(_gammaln)
    cname = "lgamma"

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * _t().digamma(inputs[0])]


@dataclass(frozen=True)
class Psi(FloatOp):
    """The digamma function, d/dx gammaln(x); -inf at +0, NaN at negative integers.
    No gradient (that would need the polygamma functions)."""

    reference = staticmethod(_special_or("psi", digamma_numpy))
    differentiable = False

    def c_expr(self, ctx, x):
        names = {n: ctx.math(n, "float64") for n in ("floor", "tan", "log")}
        # As digamma_numpy, in double; returns -1/x at +-0 (-inf, +inf).
        body = (
            "double x = a, r = 0; if (x == 0) return T(-1.0 / x);"
            f" if (x < 0) {{ if (x == {names['floor']}(x)) return T(NAN);"
            f" r = -3.141592653589793 / {names['tan']}(3.141592653589793 * x);"
            " x = 1 - x; }"
            " while (x < 10) { r -= 1 / x; x += 1; } double f = 1 / (x * x);"
            " double s = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240"
            " - f * (1.0 / 132 - f * 691.0 / 32760)))));"
            f" return T(r + {names['log']}(x) - 0.5 / x - s);"
        )
        return lam(ctx, body, (x,))


# -- sigmoid and softplus ----------------------------------------------------------------


def _sigmoid(x):
    # exp(-|x|) never overflows; the two branches are the same function rearranged.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x):
    return np.logaddexp(0, x)


@dataclass(frozen=True)
class Sigmoid(FloatOp):
    """1 / (1 + exp(-x)), computed without overflow."""

    reference = staticmethod(_sigmoid)

    def pullback(self, inputs, outputs, cotangents):
        out = outputs[0]
        return [cotangents[0] * out * (1 - out)]

    def c_expr(self, ctx, x):
        exp, fabs = ctx.math("exp"), ctx.math("fabs")
        return lam(
            ctx,
            f"T e = {exp}(-{fabs}(a)); return a >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);",
            (x,),
        )


@dataclass(frozen=True)
class Softplus(FloatOp):
    """log(1 + exp(x)) = logaddexp(0, x), computed without overflow."""

    reference = staticmethod(_softplus)

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * _t().sigmoid(inputs[0])]

    def c_expr(self, ctx, x):
        exp, log1p = ctx.math("exp"), ctx.math("log1p")
        return lam(ctx, f"return a > 0 ? a + {log1p}({exp}(-a)) : {log1p}({exp}(a));", (x,))


exp, exp2, expm1, sqrt, reciprocal = Exp(), Exp2(), Expm1(), Sqrt(), Reciprocal()
log, log2, log10, log1p = Log(), Log2(), Log10(), Log1p()
sin, cos, tan, arcsin, arccos, arctan, arctan2 = (
    Sin(),
    Cos(),
    Tan(),
    ArcSin(),
    ArcCos(),
    ArcTan(),
    ArcTan2(),
)
sinh, cosh, tanh, arcsinh, arccosh, arctanh = (
    Sinh(),
    Cosh(),
    Tanh(),
    ArcSinh(),
    ArcCosh(),
    ArcTanh(),
)
erf, erfc, gammaln, psi, sigmoid, softplus = (
    Erf(),
    Erfc(),
    GammaLn(),
    Psi(),
    Sigmoid(),
    Softplus(),
)

# fmt: off
__all__ = [
    "ArcCos", "ArcCosh", "ArcSin", "ArcSinh", "ArcTan", "ArcTan2", "ArcTanh", "Cos", "Cosh",
    "Erf", "Erfc", "Exp", "Exp2", "Expm1", "FloatOp", "GammaLn", "Log", "Log1p", "Log2",
    "Log10", "Psi", "Reciprocal", "Sigmoid", "Sin", "Sinh", "Softplus", "Sqrt", "Tan", "Tanh",
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "cos", "cosh",
    "digamma_numpy", "erf", "erfc", "exp", "exp2", "expm1", "gammaln", "log", "log1p", "log2",
    "log10", "psi", "reciprocal", "sigmoid", "sin", "sinh", "softplus", "sqrt", "tan", "tanh",
]
# fmt: on
