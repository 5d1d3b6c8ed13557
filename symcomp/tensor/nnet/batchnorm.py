"""Batch normalization (Theano's ``batch_normalization_train``/``_test`` names).

Both are built from existing ops (means, elementwise arithmetic), so gradients come from
the graph and the rewrite passes fuse the elementwise parts into native loops. Statistics
are taken over ``axes``: by default (0, 2, 3) for 4-d NCHW inputs (per channel, Theano's
"spatial") and 0 for 2-d inputs (per feature); gamma, beta, mean and var have the shape of
the remaining dims ((C,) or (F,)).

Training mode returns the normalized output and the batch mean and (biased) variance, so the
caller updates running averages with shared-variable updates, e.g. with momentum ``f`` and
``m`` values per statistic: ``running_var * (1 - f) + var * f * m / (m - 1)``.
"""

from __future__ import annotations

from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.errors import where

DEFAULT_EPSILON = 1e-4  # Theano's default


def _axes(x, axes) -> tuple:
    if axes is None:
        if x.ndim == 4:
            return (0, 2, 3)
        if x.ndim == 2:
            return (0,)
        raise ValueError(
            f"batch normalization: give axes for a {x.ndim}-d input (defaults exist for 2-d "
            f"and 4-d), got {x.type}{where(user_source())}"
        )
    if axes == "spatial":
        return (0,) + tuple(range(2, x.ndim))
    if axes == "per-activation":
        return (0,)
    axes = tuple(sorted({int(a) % x.ndim for a in ([axes] if isinstance(axes, int) else axes)}))
    if not axes:
        raise ValueError("batch normalization: axes must not be empty")
    return axes


def _param(v, x, axes, label: str):
    """A statistic or parameter of the kept dims' shape, broadcast against x."""
    v = as_tensor_variable(v)
    kept = [d for d in range(x.ndim) if d not in axes]
    if v.ndim != len(kept):
        raise TypeError(
            f"batch normalization: {label} must have {len(kept)} dims (the input's dims "
            f"{tuple(kept)} not normalized over), got {v.type}{where(user_source())}"
        )
    pattern, k = [], 0
    for d in range(x.ndim):
        if d in axes:
            pattern.append("x")
        else:
            pattern.append(k)
            k += 1
    return v.dimshuffle(pattern)


def batch_normalization_train(inputs, gamma, beta, epsilon: float = DEFAULT_EPSILON, axes=None):
    """Normalizes ``inputs`` with its own batch statistics over ``axes``.

    Returns (out, mean, var): out = gamma * (x - mean) / sqrt(var + epsilon) + beta, and
    the batch mean and biased variance (shape of the kept dims) for running averages.
    axes: None (default: (0, 2, 3) for 4-d, (0,) for 2-d), "spatial", "per-activation" or
    a tuple of ints.
    """
    import symcomp.tensor as st

    x = as_tensor_variable(inputs)
    axes = _axes(x, axes)
    if not x.dtype.startswith("float"):
        raise TypeError(f"batch_normalization_train needs a float input, got {x.type}")
    mean = st.mean(x, axis=axes, keepdims=True)
    centered = x - mean
    var = st.mean(centered * centered, axis=axes, keepdims=True)
    out = centered * _param(gamma, x, axes, "gamma") / st.sqrt(var + epsilon)
    out = out + _param(beta, x, axes, "beta")
    kept = [d for d in range(x.ndim) if d not in axes]
    stat_shape = [x.shape[d] for d in kept]
    return out, mean.reshape(stat_shape), var.reshape(stat_shape)


def batch_normalization_test(
    inputs, gamma, beta, mean, var, epsilon: float = DEFAULT_EPSILON, axes=None
):
    """Normalizes ``inputs`` with given statistics (running averages), for inference:
    gamma * (x - mean) / sqrt(var + epsilon) + beta, mean/var/gamma/beta of the kept dims'
    shape."""
    import symcomp.tensor as st

    x = as_tensor_variable(inputs)
    axes = _axes(x, axes)
    scale = _param(gamma, x, axes, "gamma") / st.sqrt(_param(var, x, axes, "var") + epsilon)
    return (x - _param(mean, x, axes, "mean")) * scale + _param(beta, x, axes, "beta")
