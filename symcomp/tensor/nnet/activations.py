"""Activation functions, built from elementwise ops (so fusion and the stabilizing
rewrites see ordinary elementwise graphs)."""

from __future__ import annotations

from symcomp.tensor.basic import as_tensor_variable

# SELU constants from Klambauer et al. 2017, "Self-Normalizing Neural Networks".
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _st():
    import symcomp.tensor as st

    return st


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)) (``symcomp.tensor.sigmoid``)."""
    return _st().sigmoid(x)


def softplus(x):
    """log(1 + exp(x)), computed stably (``symcomp.tensor.softplus``)."""
    return _st().softplus(x)


def _is_zero(alpha) -> bool:
    return isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha == 0


def relu(x, alpha=0):
    """Rectified linear unit: x where x > 0, else ``alpha * x`` (a leaky ReLU when alpha is
    not 0; alpha may be symbolic). The gradient at 0 is alpha."""
    from symcomp.tensor.arith import gt, mul, switch

    x = as_tensor_variable(x)
    if _is_zero(alpha):
        return switch(gt(x, 0), x, 0)
    return switch(gt(x, 0), x, mul(alpha, x))


def elu(x, alpha=1.0):
    """Exponential linear unit: x where x > 0, else ``alpha * (exp(x) - 1)``."""
    from symcomp.tensor.arith import gt, mul, switch

    x = as_tensor_variable(x)
    return switch(gt(x, 0), x, mul(alpha, _st().expm1(x)))


def selu(x):
    """Scaled ELU with the self-normalizing constants (SELU_SCALE * elu(x, SELU_ALPHA))."""
    from symcomp.tensor.arith import mul

    return mul(SELU_SCALE, elu(x, SELU_ALPHA))


def hard_sigmoid(x):
    """A piecewise-linear sigmoid: clip(0.2 * x + 0.5, 0, 1) (Theano's definition)."""
    from symcomp.tensor.arith import add, mul

    x = as_tensor_variable(x)
    return _st().clip(add(mul(x, 0.2), 0.5), 0, 1)


def softsign(x):
    """x / (1 + |x|)."""
    from symcomp.tensor.arith import add, true_div

    x = as_tensor_variable(x)
    return true_div(x, add(1, _st().abs(x)))


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    from symcomp.tensor.arith import mul

    x = as_tensor_variable(x)
    return mul(x, sigmoid(x))


swish = silu
