"""specialize: replace general ops by cheaper special cases.

Powers by a constant become squares, square roots, reciprocals or a few multiplications;
a constant factor leaves a sum (one multiplication instead of one per element); negation
leaves a sum; x + neg(y) is x - y again (after canonicalize or grad() wrote it that way);
1 / x is reciprocal(x). The matrix-product rules (transposes into BLAS flags, bias adds and
scalings into Gemm/Gemv) are the ``blas`` pass (optimize/blas.py).

Each rule keeps the dtype, ndim and run-time shape of what it replaces. NumPy is the
reference: the NaN/inf and rounding caveats are in each rule's comment and in
docs/rewrites.md ("specialize").
"""

from __future__ import annotations

import numpy as np

import symcomp.scalar.arith as sa
import symcomp.scalar.math as sm
from symcomp.optimize.canonicalize import neg_neg
from symcomp.optimize.engine import Pass
from symcomp.optimize.pattern import const, pat, var
from symcomp.tensor.reduction import Sum

specialize = Pass("specialize", strategy="fixed_point", doc=__doc__)


def _st():
    import symcomp.tensor as st

    return st


def _is_float(dtype: str) -> bool:
    return dtype.startswith("float")


def keeps_shape(c, x) -> bool:
    """Whether combining ``x`` elementwise with the constant ``c`` cannot broadcast x to a
    bigger shape: c has no more dims than x and each of its lengths is 1 or x's static
    length."""
    cs, xs = c.type.shape, x.type.shape
    if len(cs) > len(xs):
        return False
    return all(n == 1 or n == m for n, m in zip(cs, xs[len(xs) - len(cs) :]))


def _base(x, p, out):
    """The base of ``x ** p`` in the output dtype (NumPy casts it so before computing),
    or None when dropping the exponent could change the result's shape."""
    if not keeps_shape(p, x) or out.ndim != x.ndim:
        return None
    return x if x.dtype == out.dtype else _st().cast(x, out.dtype)


# -- powers by a constant ---------------------------------------------------------------------


@specialize.rule(pat(sm.pow, var("x"), const(1, "p"), name="out"))
def pow_one(x, p, out):
    # x ** 1 -> x  (exact; x cast to the result dtype when the exponent promotes it)
    return _base(x, p, out)


@specialize.rule(pat(sm.pow, var("x"), const(2, "p"), name="out"))
def pow_two_to_sqr(x, p, out):
    # x ** 2 -> sqr(x)  (integers wrap the same way; floats: x * x, correctly rounded as pow)
    b = _base(x, p, out)
    return None if b is None else _st().sqr(b)


@specialize.rule(pat(sm.pow, var("x"), const(3, "p"), name="out"))
def pow_three_to_mul(x, p, out):
    # x ** 3 -> sqr(x) * x  (floats: two roundings instead of one; integers wrap the same)
    b = _base(x, p, out)
    return None if b is None else _st().mul(_st().sqr(b), b)


@specialize.rule(pat(sm.pow, var("x"), const(4, "p"), name="out"))
def pow_four_to_sqr_sqr(x, p, out):
    # x ** 4 -> sqr(sqr(x))  (floats: two roundings instead of one; integers wrap the same)
    b = _base(x, p, out)
    return None if b is None else _st().sqr(_st().sqr(b))


@specialize.rule(pat(sm.pow, var("x"), const(0.5, "p"), name="out"))
def pow_half_to_sqrt(x, p, out):
    # x ** 0.5 -> sqrt(x)  (floats only. Caveats: (-0.0) ** 0.5 is +0.0, sqrt(-0.0) is
    # -0.0 (they compare equal); (-inf) ** 0.5 is +inf, sqrt(-inf) is nan)
    b = _base(x, p, out) if _is_float(out.dtype) else None
    return None if b is None else _st().sqrt(b)


@specialize.rule(pat(sm.pow, var("x"), const(-0.5, "p"), name="out"))
def pow_minus_half_to_reciprocal_sqrt(x, p, out):
    # x ** -0.5 -> reciprocal(sqrt(x))  (floats only; two roundings instead of one.
    # Caveats: (-0.0) ** -0.5 is +inf, here -inf; (-inf) ** -0.5 is 0, here nan)
    b = _base(x, p, out) if _is_float(out.dtype) else None
    return None if b is None else _st().reciprocal(_st().sqrt(b))


def _negative_small_int(data) -> bool:
    """All elements equal one of -1, -2, -3, -4."""
    data = np.asarray(data)
    if data.size == 0:
        return False
    first = data.flat[0]
    return bool(first in (-1, -2, -3, -4) and np.all(data == first))


@specialize.rule(pat(sm.pow, var("x"), const(_negative_small_int, "p"), name="out"))
def pow_negative_int_to_reciprocal(x, p, out):
    # x ** -n -> reciprocal(x ** n) for n in 1..4, x ** n as multiplications  (floats only:
    # integer x ** -n raises in NumPy, so it stays a pow. -1 is exact; -2..-4 round two or
    # three times, and where x ** n overflows the result is 0 where NumPy gives a
    # subnormal, e.g. (1e155) ** -2)
    b = _base(x, p, out) if _is_float(out.dtype) else None
    if b is None:
        return None
    st = _st()
    n = -int(np.asarray(p.data).flat[0])
    power = {1: b, 2: st.sqr(b), 3: st.mul(st.sqr(b), b), 4: st.sqr(st.sqr(b))}[n]
    return st.reciprocal(power)


@specialize.rule(pat(sa.true_div, const(1, "one"), var("x"), name="out"))
def div_one_to_reciprocal(x, one, out):
    # 1 / x -> reciprocal(x)  (floats; exact: both are one correctly rounded division)
    b = _base(x, one, out) if _is_float(out.dtype) else None
    return None if b is None else _st().reciprocal(b)


# -- sums ---------------------------------------------------------------------------------


def _finite_scalar(data) -> bool:
    data = np.asarray(data)
    return data.size == 1 and data.dtype.kind == "f" and bool(np.isfinite(data).all())


@specialize.rule(pat(Sum, pat(sa.mul, const(_finite_scalar, "c"), var("x"), name="m"), name="out"))
def sum_of_scaled(c, x, m, out):
    # sum(c * x) -> c * sum(x)  for a finite float constant c with one element  (floats
    # only: integer products wrap in x's dtype but sums accumulate in int64. Rounding
    # differs; where sum(x) overflows but sum(c * x) does not (|c| < 1 and a sum near the
    # float max), the result is inf where NumPy's is finite, and vice versa for |c| > 1)
    if not (_is_float(out.dtype) and m.dtype == x.dtype and keeps_shape(c, x)):
        return None
    from symcomp.tensor.variable import tensor_constant

    scale = tensor_constant(np.asarray(c.data).reshape(()), dtype=out.dtype)
    return _st().mul(scale, out.owner.op(x))


@specialize.rule(pat(Sum, pat(sa.neg, var("x"), name="n"), name="out"))
def sum_of_neg(x, n, out):
    # sum(neg(x)) -> neg(sum(x))  (floats only; exact: rounding to nearest is symmetric)
    if not (_is_float(out.dtype) and n.dtype == x.dtype):
        return None
    return _st().neg(out.owner.op(x))


# sum_of_neg makes neg(sum(neg(x))) neg(neg(sum(x))): canonicalize's rule cancels those in
# this pass too, or a second pipeline run would.
specialize.rule(pat(sa.neg, pat(sa.neg, var("x")), name="out"))(neg_neg)


# -- subtraction --------------------------------------------------------------------------


@specialize.rule(pat(sa.add, var("x"), pat(sa.neg, var("y"), name="n"), name="out"))
def add_neg_to_sub(x, y, n, out):
    # x + neg(y) -> x - y, neg(y) + x -> x - y  (exact, integers included, when neg(y) has
    # the result dtype; a narrower integer y is not rewritten: neg(int8 -128) wraps to -128
    # before the add widens it, but x - y would widen first)
    if out.dtype == "bool" or not (_is_float(y.dtype) or y.dtype == out.dtype):
        return None
    return _st().sub(x, y)


__all__ = ["keeps_shape", "specialize"]
