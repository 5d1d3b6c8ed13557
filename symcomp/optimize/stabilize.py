"""stabilize: rewrite forms that lose precision or overflow into stable equivalents.

log(1 + x) -> log1p(x), exp(x) - 1 -> expm1(x), 1 / (1 + exp(-x)) -> sigmoid(x),
log(sigmoid(x)) -> -softplus(-x), log(exp(x)) -> x, ...; the softmax family (log_softmax,
logsumexp, the fused softmax crossentropy) is in stabilize_softmax.py. The pass runs after
grad() has built the backward graph, so rules also cancel the divisions by an underflowed
value that gradients of unstable forms contain ((a / b) * b -> a for b = exp, sigmoid,
softplus or softmax of something).

Each rule keeps the dtype, ndim and run-time shape of what it replaces and fires only on
float values (integer forms can wrap around where the stable op would not). Results
change only where the original form under- or overflows (docs/rewrites.md, "stabilize").
"""

from __future__ import annotations

import symcomp.scalar.arith as sa
import symcomp.scalar.transcendental as tr
from symcomp.optimize.engine import Pass
from symcomp.optimize.pattern import const, pat, var
from symcomp.optimize.stabilize_util import (
    as_dtype,
    fits,
    is_elemwise,
    is_float,
    is_positive_function,
    negate,
    same_shape,
)

stabilize = Pass("stabilize", strategy="fixed_point", doc=__doc__)


def _st():
    import symcomp.tensor as st

    return st


# -- sigmoid and softplus (before the generic log1p rules, which would also match) -------


@stabilize.rule(pat(sa.sub, const(1, "one"), pat(tr.sigmoid, var("x"), name="s"), name="out"))
@stabilize.rule(
    pat(sa.add, const(1, "one"), pat(sa.neg, pat(tr.sigmoid, var("x"), name="s")), name="out")
)
def sigmoid_of_one_minus_sigmoid(x, s, one, out):
    # 1 - sigmoid(x) -> sigmoid(-x)
    if not (is_float(x) and is_float(out) and fits(one, s)):
        return None
    return as_dtype(_st().sigmoid(negate(x)), out.dtype)


@stabilize.rule(pat(tr.log, pat(tr.sigmoid, var("x"))))
def neg_softplus_of_log_sigmoid(x):
    # log(sigmoid(x)) -> -softplus(-x)
    if not is_float(x):
        return None
    return _st().neg(_st().softplus(negate(x)))


@stabilize.rule(
    pat(tr.log, pat(sa.sub, const(1, "one"), pat(tr.sigmoid, var("x"), name="s"), name="d"))
)
def neg_softplus_of_log_one_minus_sigmoid(x, s, one, d):
    # log(1 - sigmoid(x)) -> -softplus(x)
    if not (is_float(x) and is_float(d) and fits(one, s)):
        return None
    return as_dtype(_st().neg(_st().softplus(x)), d.dtype)


@stabilize.rule(pat(tr.log1p, pat(sa.neg, pat(tr.sigmoid, var("x")))))
def neg_softplus_of_log1p_neg_sigmoid(x):
    # log1p(-sigmoid(x)) -> -softplus(x)
    if not is_float(x):
        return None
    return _st().neg(_st().softplus(x))


@stabilize.rule(pat(tr.log1p, pat(tr.exp, var("x"))))
def softplus_of_log1p_exp(x):
    # log1p(exp(x)) -> softplus(x)
    if not is_float(x):
        return None
    return _st().softplus(x)


def _sigmoid_of(y, one, e, out):
    # 1 / (1 + exp(y)) is sigmoid(-y); y = -x gives sigmoid(x).
    if not (is_float(y) and is_float(out) and fits(one, e)):
        return None
    return _st().sigmoid(negate(as_dtype(y, out.dtype)))


@stabilize.rule(
    pat(
        sa.true_div,
        const(1, "num"),
        pat(sa.add, const(1, "one"), pat(tr.exp, var("y"), name="e"), name="d"),
        name="out",
    )
)
def sigmoid_of_one_over_one_plus_exp(y, num, one, e, d, out):
    # 1 / (1 + exp(-x)) -> sigmoid(x)   (and 1 / (1 + exp(y)) -> sigmoid(-y))
    if not fits(num, d):
        return None
    return _sigmoid_of(y, one, e, out)


@stabilize.rule(
    pat(
        tr.reciprocal,
        pat(sa.add, const(1, "one"), pat(tr.exp, var("y"), name="e")),
        name="out",
    )
)
def sigmoid_of_reciprocal_one_plus_exp(y, one, e, out):
    # reciprocal(1 + exp(-x)) -> sigmoid(x)   (and reciprocal(1 + exp(y)) -> sigmoid(-y))
    return _sigmoid_of(y, one, e, out)


@stabilize.rule(
    pat(
        sa.mul,
        pat(sa.true_div, var("a"), pat(sa.add, const(1, "one"), pat(tr.exp, var("y"), name="e"))),
        var("e"),
        name="out",
    )
)
def sigmoid_of_exp_over_one_plus_exp(a, y, e, one, out):
    # a / (1 + exp(y)) * exp(y) -> a * sigmoid(y)   (the gradient of 1 / (1 + exp(y)))
    if not (is_float(y) and is_float(out) and fits(one, e)):
        return None
    return as_dtype(_st().mul(a, _st().sigmoid(y)), out.dtype)


# -- log1p and expm1 ---------------------------------------------------------------------


@stabilize.rule(pat(tr.log, pat(sa.add, const(1, "one"), var("x"), name="s")))
def log1p_of_add_one(x, one, s):
    # log(1 + x) -> log1p(x)
    if not (is_float(s) and fits(one, x)):
        return None
    return _st().log1p(as_dtype(x, s.dtype))


@stabilize.rule(pat(tr.log, pat(sa.sub, const(1, "one"), var("x"), name="s")))
def log1p_of_one_minus(x, one, s):
    # log(1 - x) -> log1p(-x)
    if not (is_float(s) and fits(one, x)):
        return None
    return _st().log1p(negate(as_dtype(x, s.dtype)))


@stabilize.rule(pat(sa.sub, pat(tr.exp, var("x"), name="e"), const(1, "one"), name="out"))
@stabilize.rule(pat(sa.add, pat(tr.exp, var("x"), name="e"), const(-1, "one"), name="out"))
def expm1_of_exp_minus_one(x, e, one, out):
    # exp(x) - 1 -> expm1(x)
    if not (is_float(out) and fits(one, e)):
        return None
    return as_dtype(_st().expm1(x), out.dtype)


@stabilize.rule(pat(sa.sub, const(1, "one"), pat(tr.exp, var("x"), name="e"), name="out"))
@stabilize.rule(
    pat(sa.add, const(1, "one"), pat(sa.neg, pat(tr.exp, var("x"), name="e")), name="out")
)
def neg_expm1_of_one_minus_exp(x, e, one, out):
    # 1 - exp(x) -> -expm1(x)
    if not (is_float(out) and fits(one, e)):
        return None
    return as_dtype(_st().neg(_st().expm1(x)), out.dtype)


@stabilize.rule(pat(tr.log, pat(tr.exp, var("x"))))
def x_of_log_exp(x):
    # log(exp(x)) -> x
    if not is_float(x):
        return None
    return x


# -- gradients: dividing by an underflowed value and multiplying it back -------------------


@stabilize.node_rule(sa.Mul)
def cancel_division_by_positive(node):
    # (a / b) * b -> a   (b = exp, sigmoid, softplus or softmax of something)
    out = node.outputs[0]
    if not is_float(out):
        return None
    factors, negated = _mul_factors(out)
    for k, f in enumerate(factors):
        if not is_elemwise(f, sa.TrueDiv):
            continue
        a, b = f.owner.inputs
        rest = factors[:k] + factors[k + 1 :]
        j = next((i for i, r in enumerate(rest) if r is b), None)
        if j is None or not is_positive_function(b):
            continue
        kept = [a, *rest[:j], *rest[j + 1 :]]
        new = kept[0]
        for term in kept[1:]:
            new = _st().mul(new, term)
        if negated:
            new = _st().neg(new)
        return keep_shape(as_dtype(new, out.dtype), out, [*rest, a, b])
    return None


def _mul_factors(out):
    """The factors of the product tree of Mul (and Neg) nodes of out's dtype at ``out``,
    and whether an odd number of negations was passed."""
    factors, negated, stack = [], False, [out]
    while stack:
        v = stack.pop()
        if v.dtype == out.dtype and is_elemwise(v, sa.Mul):
            stack.extend(reversed(v.owner.inputs))
        elif v.dtype == out.dtype and is_elemwise(v, sa.Neg) and v is not out:
            negated = not negated
            stack.append(v.owner.inputs[0])
        else:
            factors.append(v)
    return factors, negated


def keep_shape(new, old, operands):
    """``new``, broadcast to ``old``'s shape unless it provably has it already; ``operands``
    are variables whose broadcast shape is old's (read to build the shape)."""
    if same_shape(new, old):
        return new
    from symcomp.tensor.shapeof import broadcast_shape_symbolic, shape_tuple

    shape = broadcast_shape_symbolic([shape_tuple(o) for o in operands], old.type.shape)
    return _st().alloc(new, *shape)


# The softmax family (and its crossentropy gradient) registers into the same pass.
from symcomp.optimize import stabilize_softmax, stabilize_xent_dx  # noqa: E402,F401
