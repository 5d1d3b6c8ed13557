"""Dropout: zero each entry with probability p and rescale the others by 1 / (1 - p)."""

from __future__ import annotations

from symcomp.tensor.basic import as_tensor_variable


def dropout(x, p, stream):
    """``x * mask / (1 - p)``, mask a fresh Bernoulli(1 - p) draw from ``stream`` (a
    ``symcomp.random.RandomStream``) on every call of the compiled function; the gradient
    is ``mask * g / (1 - p)``. ``p`` is a float in [0, 1) or a symbolic scalar (a p of 1
    at run time gives NaN, 0 / 0, as NumPy would)."""
    from symcomp.tensor.arith import cast
    from symcomp.tensor.shapeof import shape_tuple

    x = as_tensor_variable(x)
    if not x.dtype.startswith("float"):
        raise TypeError(f"dropout needs a float input, got {x} of dtype {x.dtype}")
    if isinstance(p, (int, float)):
        if not 0 <= p < 1:
            raise ValueError(f"dropout: p must be in [0, 1), got {p}")
        if p == 0:
            return x
        keep = 1.0 - float(p)
    else:
        keep = 1 - as_tensor_variable(p)
    mask = cast(stream.binomial(1, keep, size=shape_tuple(x)), x.dtype)
    return cast(x * mask / keep, x.dtype)
