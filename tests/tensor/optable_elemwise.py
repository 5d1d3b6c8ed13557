"""Op-table rows for the elementwise ops: arithmetic, comparisons, cast and switch
(scalar/arith.py) and the math ops (scalar/math.py, scalar/transcendental.py)."""

import numpy as np
import scipy.special as sp

import symcomp.tensor as st
from symcomp.tensor.dtypes import float_of
from tests.tensor.optable import ALL_DTYPES, FLOATS, INTS, Case

UNARY = [((3, 4),), ((0, 3),), ((1, 1),), ((),), ((2, 1, 3),)]
BINARY = [((3, 4), (4,)), ((3, 1), (1, 4)), ((0, 3), (3,)), ((1,), ()), ((), ())]
TERNARY = [((3, 4), (4,), ()), ((3, 1), (1, 4), (3, 4)), ((0, 3), (), ()), ((), (), ())]
INTS_BOOL = INTS + ("bool",)
NUMERIC = FLOATS + INTS  # everything but bool


def fl(f):
    """NumPy's ``f`` computed in the float dtype symcomp gives integer and bool inputs
    (``float_of``: never float16)."""

    def ref(*xs):
        dtype = float_of(np.result_type(*xs).name)
        return f(*[np.asarray(x).astype(dtype) for x in xs])

    return ref


def values(rng, dtype, shape, low, high):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        low = max(low, 0) if dt.kind == "u" else low
        return rng.integers(int(np.floor(low)), int(np.ceil(high)) + 1, size=shape).astype(dt)
    return rng.uniform(low, high, size=shape).astype(dt)


def nonzero_divisors(rng, dtypes, shapes):
    """x in [-10, 10], y of magnitude 0.5..3 (1..3 for integers) and either sign."""
    x = values(rng, dtypes[0], shapes[0], -10, 10)
    dt = np.dtype(dtypes[1])
    if dt.kind == "b":
        return [x, np.ones(shapes[1], dtype=bool)]
    mag = rng.integers(1, 4, size=shapes[1]) if dt.kind in "iu" else rng.uniform(0.5, 3, shapes[1])
    sign = 1 if dt.kind == "u" else rng.choice([-1, 1], size=shapes[1])
    return [x, np.asarray(mag * sign).astype(dt)]


def with_zero_divisors(rng, dtypes, shapes):
    """Edge values: zero divisors, and for signed integers INT_MIN // -1 (NumPy wraps)."""
    out = []
    for k, (dtype, shape) in enumerate(zip(dtypes, shapes)):
        dt = np.dtype(dtype)
        if dt.kind in "iu":
            info = np.iinfo(dt)
            pool = [info.min, info.max, 7, 1, 0] if k == 0 else [0, 0, 1, 3, info.max]
            if dt.kind == "i":
                pool += [-7, -1] if k == 0 else [-1, -1, -3]
        else:
            pool = (
                [5.5, -5.5, 0.0, -0.0, np.inf, -np.inf, np.nan]
                if k == 0
                else [0.0, -0.0, 2.0, -2.0, np.inf, -np.inf]
            )
        out.append(rng.choice(np.array(pool, dtype=dt), size=shape))
    return out


def special_floats(rng, dtypes, shapes):
    pool = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.5, 0.5, -0.5]
    return [rng.choice(np.array(pool, dtype=d), size=s) for d, s in zip(dtypes, shapes)]


def pow_inputs(rng, dtypes, shapes):
    """Floats: a positive base (the exponent's gradient has log(x)); ints: y >= 0."""
    x = values(rng, dtypes[0], shapes[0], 0.2, 2.5)
    if np.dtype(dtypes[0]).kind in "iub":
        x = values(rng, dtypes[0], shapes[0], -3, 3)
    y = values(rng, dtypes[1], shapes[1], 0 if np.dtype(dtypes[1]).kind in "iub" else -2, 3)
    return [x, y]


def clip_inputs(rng, dtypes, shapes):
    """lo < hi, with x spread on both sides."""
    return [
        values(rng, dtypes[0], shapes[0], -3, 3),
        values(rng, dtypes[1], shapes[1], -2, -1),
        values(rng, dtypes[2], shapes[2], 1, 2),
    ]


def halves(rng, dtypes, shapes):
    """Exact ties (k + 0.5) where the rounding modes differ, and random values."""
    out = []
    for dtype, shape in zip(dtypes, shapes):
        if np.dtype(dtype).kind == "f":
            ties = rng.integers(-6, 6, size=shape) + 0.5
            noise = rng.uniform(-4, 4, size=shape)
            out.append(np.where(rng.random(shape) < 0.5, ties, noise).astype(dtype))
        else:
            out.append(values(rng, dtype, shape, -5, 5))
    return out


def np_round(x):
    return np.round(x).astype("float32") if x.dtype == bool else np.round(x)


def np_round_away(x):
    if x.dtype.kind != "f":
        return np_round(x)
    return np.where(x >= 0, np.floor(x + 0.5), np.ceil(x - 0.5)).astype(x.dtype)


# name, function, reference, domain, dtypes beyond FLOATS (integer inputs give floats)
FLOAT_UNARY = [
    ("exp", st.exp, np.exp, (-2, 2), ("int32", "bool")),
    ("exp2", st.exp2, np.exp2, (-2, 2), ("int8",)),
    ("expm1", st.expm1, np.expm1, (-2, 2), ()),
    ("log", st.log, np.log, (0.1, 3), ("int64", "uint8")),
    ("log2", st.log2, np.log2, (0.1, 3), ()),
    ("log10", st.log10, np.log10, (0.1, 3), ()),
    ("log1p", st.log1p, np.log1p, (-0.5, 3), ()),
    ("sqrt", st.sqrt, np.sqrt, (0.1, 3), ("int16",)),
    ("reciprocal", st.reciprocal, np.reciprocal, (0.5, 3), ("int32", "int8")),
    ("sin", st.sin, np.sin, (-3, 3), ("int64",)),
    ("cos", st.cos, np.cos, (-3, 3), ()),
    ("tan", st.tan, np.tan, (-1.2, 1.2), ()),
    ("arcsin", st.arcsin, np.arcsin, (-0.9, 0.9), ()),
    ("arccos", st.arccos, np.arccos, (-0.9, 0.9), ()),
    ("arctan", st.arctan, np.arctan, (-3, 3), ()),
    ("sinh", st.sinh, np.sinh, (-2, 2), ()),
    ("cosh", st.cosh, np.cosh, (-2, 2), ()),
    ("tanh", st.tanh, np.tanh, (-2, 2), ("int8",)),
    ("arcsinh", st.arcsinh, np.arcsinh, (-3, 3), ()),
    ("arccosh", st.arccosh, np.arccosh, (1.1, 3), ()),
    ("arctanh", st.arctanh, np.arctanh, (-0.9, 0.9), ()),
    ("erf", st.erf, sp.erf, (-2, 2), ("int32",)),
    ("erfc", st.erfc, sp.erfc, (-2, 2), ()),
    ("gammaln", st.gammaln, sp.gammaln, (0.1, 5), ("int64",)),
    ("sigmoid", st.sigmoid, sp.expit, (-6, 6), ("int8",)),
    ("softplus", st.softplus, lambda x: np.logaddexp(0, x), (-6, 6), ("int32",)),
]

CASES = [
    Case(name, fn, fl(ref), UNARY, dtypes=FLOATS + extra, domain=domain)
    for name, fn, ref, domain, extra in FLOAT_UNARY
]

CASES += [
    Case("exp-large", st.exp, np.exp, UNARY[:1], domain=(-800, 800), grad=False),
    Case("sigmoid-large", st.sigmoid, sp.expit, UNARY[:1], domain=(-800, 800), grad=False),
    Case(
        "softplus-large",
        st.softplus,
        lambda x: np.logaddexp(0, x),
        UNARY[:1],
        domain=(-800, 800),
        grad=False,
    ),
    Case(
        "special-floats",
        lambda x: [st.sigmoid(x), st.softplus(x), st.erf(x), st.exp(x)],
        lambda x: [sp.expit(x), np.logaddexp(0, x), sp.erf(x), np.exp(x)],
        UNARY[:1],
        inputs=special_floats,
        grad=False,
    ),
    Case(
        "digamma",
        st.digamma,
        fl(sp.psi),
        UNARY,
        dtypes=FLOATS + ("int32",),
        domain=(0.1, 5),
        grad=False,
    ),
    Case("digamma-negative", st.psi, sp.psi, UNARY[:1], domain=(-5, -0.1), grad=False),
    Case(
        "arctan2",
        st.arctan2,
        fl(np.arctan2),
        BINARY,
        dtypes=FLOATS + ("int32", ("int8", "float32")),
    ),
    # -- integer division and modulo ---------------------------------------------------
    Case(
        "int_div",
        st.int_div,
        np.floor_divide,
        BINARY,
        dtypes=NUMERIC + ("bool",),
        inputs=nonzero_divisors,
        grad=False,
    ),
    Case(
        "int_div-operator",
        lambda x, y: x // y + 7 // y,
        lambda x, y: x // y + 7 // y,
        BINARY[:2],
        dtypes=("int64", "float32"),
        inputs=nonzero_divisors,
        grad=False,
    ),
    Case(
        "int_div-zero",
        st.int_div,
        np.floor_divide,
        [((6, 7), (7,))],
        dtypes=NUMERIC,
        inputs=with_zero_divisors,
        grad=False,
    ),
    Case("mod", st.mod, np.remainder, BINARY, dtypes=NUMERIC + ("bool",), inputs=nonzero_divisors),
    Case(
        "mod-operator",
        lambda x, y: x % y,
        lambda x, y: x % y,
        BINARY[:1],
        dtypes=(("int8", "int64"), ("float32", "int16")),
        inputs=nonzero_divisors,
        grad=False,
    ),
    Case(
        "mod-zero",
        st.mod,
        np.remainder,
        [((6, 7), (7,))],
        dtypes=NUMERIC,
        inputs=with_zero_divisors,
        grad=False,
    ),
    # -- power -------------------------------------------------------------------------
    Case(
        "pow",
        st.pow,
        np.power,
        BINARY,
        dtypes=FLOATS + ("int64", "int8", "uint8", "bool"),
        inputs=pow_inputs,
    ),
    Case(
        "pow-int-exponent",
        lambda x, y: x**y,
        lambda x, y: x**y,
        BINARY[:2],
        dtypes=(("float64", "int32"), ("float32", "int8")),
        inputs=pow_inputs,
    ),
    Case("pow-scalar", lambda x: x**2 + 2.0**x, lambda x: x**2 + 2.0**x, UNARY),
    Case(
        "pow-zero-base",
        st.pow,
        np.power,
        [((5,), (5,))],
        inputs=lambda rng, d, s: [np.zeros(5, d[0]), np.array([1, 1, 2, 4, 3], d[1])],
        grad_inputs=[0, 1],
    ),
    # -- sign and magnitude ------------------------------------------------------------
    Case("abs", st.abs, np.abs, UNARY, dtypes=ALL_DTYPES),
    Case("abs-operator", lambda x: abs(x), np.abs, UNARY[:1], dtypes=("float32", "int8")),
    Case("sign", st.sign, np.sign, UNARY, dtypes=NUMERIC, grad=False),
    Case("sign-special", st.sign, np.sign, UNARY[:1], inputs=special_floats, grad=False),
    Case("sqr", st.sqr, np.square, UNARY, dtypes=ALL_DTYPES),
    # -- rounding ----------------------------------------------------------------------
    Case("floor", st.floor, np.floor, UNARY, dtypes=ALL_DTYPES, domain=(-4, 4), grad=False),
    Case("ceil", st.ceil, np.ceil, UNARY, dtypes=ALL_DTYPES, domain=(-4, 4), grad=False),
    Case("trunc", st.trunc, np.trunc, UNARY, dtypes=ALL_DTYPES, domain=(-4, 4), grad=False),
    Case("round", st.round, np_round, UNARY, dtypes=ALL_DTYPES, inputs=halves, grad=False),
    Case("round-method", lambda x: x.round(), np.round, UNARY[:1], inputs=halves, grad=False),
    Case(
        "round-half-away",
        lambda x: st.round(x, "half_away_from_zero"),
        np_round_away,
        UNARY,
        dtypes=ALL_DTYPES,
        inputs=halves,
        grad=False,
    ),
    Case(
        "rounding-special",
        lambda x: [
            st.floor(x),
            st.ceil(x),
            st.trunc(x),
            st.round(x),
            st.round_half_away_from_zero(x),
        ],
        lambda x: [np.floor(x), np.ceil(x), np.trunc(x), np.round(x), np.round(x)],
        UNARY[:1],
        inputs=lambda rng, d, s: [
            rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 3.0, -2.0], d[0]), size=s[0])
        ],
        grad=False,
    ),
    # -- minimum, maximum, clip --------------------------------------------------------
    Case("minimum", st.minimum, np.minimum, BINARY, dtypes=ALL_DTYPES + (("int8", "float32"),)),
    Case("maximum", st.maximum, np.maximum, BINARY, dtypes=ALL_DTYPES + (("uint8", "int8"),)),
    Case(
        "min-max-nan",
        lambda x, y: [st.minimum(x, y), st.maximum(x, y)],
        lambda x, y: [np.minimum(x, y), np.maximum(x, y)],
        [((9, 9), (9,))],
        inputs=special_floats,
        grad=False,
    ),
    Case(
        "min-max-ties",
        lambda x, y: st.minimum(x, y) * 2 + st.maximum(x, y),
        lambda x, y: np.minimum(x, y) * 2 + np.maximum(x, y),
        [((4,), (4,))],
        inputs=lambda rng, d, s: [
            np.array([1.0, 2.0, 3.0, 4.0], d[0]),
            np.array([0.5, 2.5, 3.5, 3.0], d[1]),
        ],
    ),
    Case("clip", st.clip, np.clip, TERNARY, dtypes=FLOATS + ("int64", "int8"), inputs=clip_inputs),
    Case(
        "clip-crossed",
        st.clip,
        np.clip,
        TERNARY[:2],
        inputs=lambda rng, d, s: [
            values(rng, d[0], s[0], -3, 3),
            values(rng, d[1], s[1], 1, 2),
            values(rng, d[2], s[2], -2, -1),
        ],
    ),
    Case(
        "clip-scalar-bounds",
        lambda x: x.clip(-1, 1.5),
        lambda x: np.clip(x, -1, 1.5),
        UNARY,
        domain=(-3, 3),
    ),
    Case(
        "clip-one-bound",
        lambda x: [st.clip(x, None, 1), st.clip(x, 0, None), st.clip(x, None, None)],
        lambda x: [np.clip(x, None, 1), np.clip(x, 0, None), np.clip(x, None, None)],
        UNARY[:2],
        dtypes=FLOATS + ("int16",),
        domain=(-3, 3),
    ),
    Case("clip-nan", st.clip, np.clip, [((9, 9), (9,), (9, 1))], inputs=special_floats, grad=False),
    # -- float classes -----------------------------------------------------------------
    Case(
        "isnan-isinf-isfinite",
        lambda x: [st.isnan(x), st.isinf(x), st.isfinite(x)],
        lambda x: [np.isnan(x), np.isinf(x), np.isfinite(x)],
        UNARY,
        dtypes=ALL_DTYPES,
        grad=False,
    ),
    Case(
        "float-classes-special",
        lambda x: [st.isnan(x), st.isinf(x), st.isfinite(x)],
        lambda x: [np.isnan(x), np.isinf(x), np.isfinite(x)],
        UNARY[:1],
        inputs=special_floats,
        grad=False,
    ),
    # -- logical and bitwise -----------------------------------------------------------
    Case(
        "logical",
        lambda x, y: [
            st.logical_and(x, y),
            st.logical_or(x, y),
            st.logical_xor(x, y),
            st.logical_not(x),
        ],
        lambda x, y: [
            np.logical_and(x, y),
            np.logical_or(x, y),
            np.logical_xor(x, y),
            np.logical_not(x),
        ],
        BINARY,
        dtypes=ALL_DTYPES + (("bool", "float32"),),
        domain=(-1, 1),
        grad=False,
    ),
    Case(
        "logical-nan",
        lambda x, y: [st.logical_and(x, y), st.logical_not(x)],
        lambda x, y: [np.logical_and(x, y), np.logical_not(x)],
        [((9,), (9,))],
        inputs=special_floats,
        grad=False,
    ),
    Case(
        "bitwise",
        lambda x, y: [
            st.bitwise_and(x, y),
            st.bitwise_or(x, y),
            st.bitwise_xor(x, y),
            st.invert(x),
        ],
        lambda x, y: [x & y, x | y, x ^ y, ~x],
        BINARY,
        dtypes=INTS_BOOL + (("int8", "uint8"),),
        domain=(-100, 100),
        grad=False,
    ),
    Case(
        "bitwise-operators",
        lambda x, y: [x & y, x | y, x ^ y, ~x, 5 & x],
        lambda x, y: [x & y, x | y, x ^ y, ~x, 5 & x],
        BINARY[:1],
        dtypes=("int32", "uint8"),
        domain=(-100, 100),
        grad=False,
    ),
    # -- scalar/arith.py: arithmetic, comparisons, cast, switch, identity -------------
    Case("add", st.add, np.add, BINARY, dtypes=ALL_DTYPES + (("int8", "float32"),)),
    Case("add-many", lambda x, y: st.add(x, y, x), lambda x, y: x + y + x, BINARY[:2]),
    Case("sub", st.sub, np.subtract, BINARY, dtypes=NUMERIC + (("uint8", "int8"),)),
    Case("mul", st.mul, np.multiply, BINARY, dtypes=ALL_DTYPES),
    Case(
        "true_div",
        st.true_div,
        np.true_divide,
        BINARY,
        dtypes=FLOATS + ("int64", "int8", "bool", ("int32", "float32")),
        inputs=nonzero_divisors,
    ),
    Case(
        "true_div-zero",
        st.true_div,
        np.true_divide,
        [((6, 7), (7,))],
        dtypes=FLOATS + ("int32",),
        inputs=with_zero_divisors,
        grad=False,
    ),
    Case("neg", st.neg, np.negative, UNARY, dtypes=NUMERIC),
    Case("identity", st.tensor_copy, np.copy, UNARY, dtypes=ALL_DTYPES),
    Case(
        "cast-int32",
        lambda x: st.cast(x, "int32"),
        lambda x: x.astype("int32"),
        UNARY,
        dtypes=FLOATS + ("bool", "int8"),
        domain=(-100, 100),
        grad=False,
    ),
    Case(
        "cast-float",
        lambda x: st.cast(x, "float32") * 2,
        lambda x: x.astype("float32") * 2,
        UNARY,
        dtypes=("float64", "int16", "bool"),
        grad=False,
    ),  # lossy: see test_math.py
    Case(
        "cast-bool",
        lambda x: st.cast(x, "bool"),
        lambda x: x.astype(bool),
        UNARY,
        dtypes=ALL_DTYPES,
        domain=(-1, 1),
        grad=False,
    ),
    Case(
        "switch",
        st.switch,
        np.where,
        TERNARY[:2] + [((0, 3), (3,), ()), ((), (), ())],
        dtypes=[
            ("bool", "float64", "float64"),
            ("bool", "float32", "int8"),
            ("int8", "int32", "int64"),
            ("bool", "bool", "bool"),
        ],
    ),
    Case(
        "comparisons",
        lambda x, y: [
            st.lt(x, y),
            st.le(x, y),
            st.gt(x, y),
            st.ge(x, y),
            st.eq(x, y),
            st.neq(x, y),
        ],
        lambda x, y: [x < y, x <= y, x > y, x >= y, x == y, x != y],
        BINARY,
        dtypes=ALL_DTYPES + (("int8", "float32"), ("uint8", "int64")),
        grad=False,
    ),
    Case(
        "comparisons-nan",
        lambda x, y: [st.lt(x, y), st.eq(x, y), st.neq(x, y)],
        lambda x, y: [x < y, x == y, x != y],
        [((9,), (9,))],
        inputs=special_floats,
        grad=False,
    ),
]
