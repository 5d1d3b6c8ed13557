"""Op-table rows for reductions: Sum, Prod, Max, Min, All, Any, Argmax, Argmin, CumSum,
CumProd, and mean/var/std/logsumexp built from them."""

import numpy as np

import symcomp.tensor as st
from tests.tensor.optable import ALL_DTYPES, FLOATS, INTS, Case

SHAPES = [((3, 4),), ((0, 4),), ((1, 1),), ((2, 3, 4),), ((5,),)]
SHAPES_0D = [((),), ((1,),), ((0,),), ((2, 0, 3),)]
# Reductions over axis 0 and -1 (rows need at least one dim).
AXIS_SHAPES = [((3, 4),), ((0, 4),), ((1, 1),), ((2, 3, 4),), ((4, 0),)]
# Shapes whose every reduced axis is non-empty (max/min/argmax raise on empty axes).
NONEMPTY = [((3, 4),), ((1, 1),), ((2, 3, 4),), ((5,),)]


def distinct(rng, dtypes, shapes):
    """Values with no ties (so max/min have one arg-extremum and a gradient)."""
    out = []
    for dtype, shape in zip(dtypes, shapes):
        n = int(np.prod(shape, dtype=int))
        if np.dtype(dtype).kind == "f":
            values = (rng.permutation(n) - n / 2) * 0.25 + rng.uniform(0, 0.05, n)
            out.append(values.reshape(shape).astype(dtype))
        elif np.dtype(dtype).kind == "b":
            out.append(rng.random(shape) < 0.5)
        else:
            out.append(rng.integers(0, 3, size=shape).astype(dtype))
    return out


def with_zeros(rng, dtypes, shapes):
    """Values in [0.5, 1.5] with some rows holding one or two zeros (prod's gradient)."""
    out = []
    for dtype, shape in zip(dtypes, shapes):
        values = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1, 1], size=shape)
        flat = values.reshape(-1)
        if flat.size >= 3:
            flat[0] = 0.0
        if flat.size >= 8:
            flat[-1] = flat[-2] = 0.0
        out.append(values.astype(dtype))
    return out


def with_neg_inf(rng, dtypes, shapes):
    """Rows of all -inf, rows with some -inf, and ordinary rows (logsumexp)."""
    (shape,) = shapes
    values = rng.uniform(-3, 3, size=shape)
    if values.ndim == 2 and values.shape[0] >= 3:
        values[0, :] = -np.inf
        values[1, 0] = -np.inf
    return [values.astype(dtypes[0])]


def _lse(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _reduce_rows(name, fn, ref, dtypes, shapes=AXIS_SHAPES, **kw):
    """Rows for axis None, 0, -1 and keepdims, and a full reduction of 0-d/1-d inputs."""
    return [
        Case(
            f"{name}-all",
            lambda x: fn(x),
            lambda x: ref(x),
            SHAPES if shapes is AXIS_SHAPES else shapes,
            dtypes,
            **kw,
        ),
        Case(
            f"{name}-axis0", lambda x: fn(x, axis=0), lambda x: ref(x, axis=0), shapes, dtypes, **kw
        ),
        Case(
            f"{name}-axis-1-keepdims",
            lambda x: fn(x, axis=-1, keepdims=True),
            lambda x: ref(x, axis=-1, keepdims=True),
            shapes,
            dtypes,
            **kw,
        ),
    ]


CASES = [
    *_reduce_rows("sum", st.sum, np.sum, ALL_DTYPES),
    Case("sum-0d", lambda x: st.sum(x), lambda x: np.sum(x), SHAPES_0D, ALL_DTYPES),
    Case(
        "sum-tuple-axes",
        lambda x: st.sum(x, axis=(0, -1)),
        lambda x: np.sum(x, axis=(0, -1)),
        [((2, 3, 4),), ((2, 0, 4),), ((1, 1, 1),)],
        ALL_DTYPES,
    ),
    Case(
        "sum-keepdims-all",
        lambda x: x.sum(keepdims=True),
        lambda x: np.sum(x, keepdims=True),
        [((2, 3),), ((0, 3),)],
        FLOATS + ("int8", "bool"),
    ),
    Case(
        "sum-empty-axes",
        lambda x: st.sum(x, axis=()),
        lambda x: np.sum(x, axis=()),
        [((2, 3),)],
        FLOATS + ("int16",),
    ),
    Case(
        "sum-dtype",
        lambda x: st.sum(x, axis=1, dtype="float64"),
        lambda x: np.sum(x, axis=1, dtype="float64"),
        [((3, 4),), ((2, 0),)],
        ("float32", "int8", "bool", "uint8"),
    ),
    *_reduce_rows("prod", st.prod, np.prod, ALL_DTYPES, inputs=None, domain=(-1.5, 1.5)),
    Case(
        "prod-zeros",
        lambda x: st.prod(x, axis=-1),
        lambda x: np.prod(x, axis=-1),
        [((4, 3),), ((2, 5),), ((3,),)],
        FLOATS,
        inputs=with_zeros,
    ),
    Case(
        "prod-zeros-all",
        lambda x: st.prod(x),
        lambda x: np.prod(x),
        [((3, 3),), ((2, 4),)],
        FLOATS,
        inputs=with_zeros,
    ),
    Case(
        "prod-tuple-axes-zeros",
        lambda x: st.prod(x, axis=(0, 2), keepdims=True),
        lambda x: np.prod(x, axis=(0, 2), keepdims=True),
        [((2, 3, 2),)],
        FLOATS,
        inputs=with_zeros,
    ),
    *_reduce_rows("max", st.max, np.max, ALL_DTYPES, shapes=NONEMPTY, inputs=distinct),
    *_reduce_rows("min", st.min, np.min, ALL_DTYPES, shapes=NONEMPTY, inputs=distinct),
    Case(
        "max-empty-other-axis",
        lambda x: st.max(x, axis=1),
        lambda x: np.max(x, axis=1),
        [((0, 3),)],
        FLOATS + ("int32",),
    ),
    Case(
        "min-tuple",
        lambda x: x.min(axis=(0, 2)),
        lambda x: np.min(x, axis=(0, 2)),
        [((2, 3, 4),), ((1, 2, 1),)],
        FLOATS,
        inputs=distinct,
    ),
    Case("max-method-0d", lambda x: x.max(), lambda x: np.max(x), [((),)], FLOATS + INTS),
    *_reduce_rows("all", st.all, np.all, ALL_DTYPES, grad=False),
    *_reduce_rows("any", st.any, np.any, ALL_DTYPES, grad=False),
    Case(
        "all-any-0d",
        lambda x: [st.all(x), st.any(x)],
        lambda x: [np.all(x), np.any(x)],
        SHAPES_0D,
        ALL_DTYPES,
        grad=False,
    ),
    Case(
        "argmax",
        lambda x: st.argmax(x),
        lambda x: np.argmax(x),
        NONEMPTY + [((),)],
        ALL_DTYPES,
        grad=False,
    ),
    Case(
        "argmax-axis",
        lambda x: [x.argmax(axis=0), st.argmax(x, axis=-1, keepdims=True)],
        lambda x: [np.argmax(x, axis=0), np.argmax(x, axis=-1, keepdims=True)],
        [((3, 4),), ((1, 1),), ((2, 3, 4),)],
        ALL_DTYPES,
        grad=False,
    ),
    Case(
        "argmax-empty-other-axis",
        lambda x: st.argmax(x, axis=1),
        lambda x: np.argmax(x, axis=1),
        [((0, 3),)],
        FLOATS,
        grad=False,
    ),
    Case(
        "argmin",
        lambda x: [st.argmin(x), st.argmin(x, axis=1), x.argmin(keepdims=True)],
        lambda x: [np.argmin(x), np.argmin(x, axis=1), np.argmin(x, keepdims=True)],
        [((3, 4),), ((1, 1),), ((2, 3),)],
        ALL_DTYPES,
        grad=False,
    ),
    *_reduce_rows("mean", st.mean, np.mean, FLOATS + ("int32", "uint8", "bool")),
    Case(
        "mean-tuple",
        lambda x: x.mean(axis=(-1, 0)),
        lambda x: np.mean(x, axis=(-1, 0)),
        [((2, 3, 4),), ((1, 2, 1),)],
        FLOATS + ("int64",),
    ),
    Case(
        "mean-dtype",
        lambda x: st.mean(x, axis=0, dtype="float32"),
        lambda x: np.mean(x, axis=0, dtype="float32"),
        [((3, 4),)],
        ("float64", "int16"),
        rtol=1e-5,
        atol=1e-6,
        grad=False,
    ),  # a float32 output: finite differences fail
    Case(
        "var",
        lambda x: [st.var(x), st.var(x, axis=0), st.var(x, axis=-1, keepdims=True)],
        lambda x: [np.var(x), np.var(x, axis=0), np.var(x, axis=-1, keepdims=True)],
        [((3, 4),), ((1, 1),), ((2, 3, 4),)],
        FLOATS + ("int32", "bool"),
    ),
    Case(
        "var-ddof",
        lambda x: [x.var(axis=1, ddof=1), st.var(x, ddof=2)],
        lambda x: [np.var(x, axis=1, ddof=1), np.var(x, ddof=2)],
        [((3, 4),), ((2, 1),)],
        FLOATS + ("int8",),
        grad=False,
    ),
    Case(
        "var-ddof-grad",
        lambda x: x.var(axis=1, ddof=1),
        lambda x: np.var(x, axis=1, ddof=1),
        [((3, 4),)],
        FLOATS,
    ),
    Case(
        "std",
        lambda x: [st.std(x), st.std(x, axis=0, ddof=1), x.std(axis=-1, keepdims=True)],
        lambda x: [np.std(x), np.std(x, axis=0, ddof=1), np.std(x, axis=-1, keepdims=True)],
        [((3, 4),), ((2, 3, 4),)],
        FLOATS + ("int16",),
    ),
    Case(
        "logsumexp",
        lambda x: [st.logsumexp(x), st.logsumexp(x, axis=1)],
        lambda x: [_lse(x), _lse(x, axis=1)],
        [((3, 4),), ((1, 1),), ((2, 3, 4),)],
        FLOATS,
        domain=(-5.0, 5.0),
    ),
    Case(
        "logsumexp-keepdims",
        lambda x: st.logsumexp(x, axis=(0, -1), keepdims=True),
        lambda x: _lse(x, axis=(0, -1), keepdims=True),
        [((2, 3, 4),), ((1, 1, 1),)],
        FLOATS,
    ),
    Case(
        "logsumexp-large",
        lambda x: st.logsumexp(x * 1000, axis=-1),
        lambda x: _lse(x * 1000, axis=-1),
        [((3, 4),)],
        FLOATS,
        grad=False,
        rtol=1e-5,
    ),
    Case(
        "logsumexp-neg-inf",
        lambda x: st.logsumexp(x, axis=1),
        lambda x: _lse(x, axis=1),
        [((4, 3),)],
        FLOATS,
        inputs=with_neg_inf,
        grad=False,
    ),
    Case(
        "cumsum",
        lambda x: [st.cumsum(x), st.cumsum(x, axis=0), x.cumsum(axis=-1)],
        lambda x: [np.cumsum(x), np.cumsum(x, axis=0), np.cumsum(x, axis=-1)],
        [((3, 4),), ((0, 4),), ((1, 1),), ((2, 3, 4),)],
        ALL_DTYPES,
    ),
    Case("cumsum-0d", lambda x: st.cumsum(x), lambda x: np.cumsum(x), [((),), ((0,),)], ALL_DTYPES),
    Case(
        "cumsum-dtype",
        lambda x: st.cumsum(x, 1, dtype="float32"),
        lambda x: np.cumsum(x, 1, dtype="float32"),
        [((2, 3),)],
        ("float64", "int8"),
        grad=False,
    ),
    Case(
        "cumprod",
        lambda x: [st.cumprod(x), st.cumprod(x, axis=0), st.cumprod(x, axis=-1)],
        lambda x: [np.cumprod(x), np.cumprod(x, axis=0), np.cumprod(x, axis=-1)],
        [((3, 4),), ((0, 4),), ((1, 1),), ((2, 3, 2),)],
        ALL_DTYPES,
        domain=(0.5, 1.5),
    ),
    Case(
        "cumprod-negative",
        lambda x: st.cumprod(x, axis=1),
        lambda x: np.cumprod(x, axis=1),
        [((3, 4),)],
        FLOATS,
        domain=(-1.5, -0.5),
    ),
]
