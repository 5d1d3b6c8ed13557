"""Op-table rows for indexing: Subtensor, IncSubtensor, AdvancedSubtensor,
AdvancedIncSubtensor, LastWriteMask, Nonzero (and take, built on them)."""

import numpy as np

import symcomp.tensor as st
from tests.tensor.optable import ALL_DTYPES, FLOATS, INTS, Case

FI = FLOATS + ("int64", "int8", "uint8", "bool")


def _values(rng, dtype, shape):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        return rng.integers(0 if dt.kind == "u" else -5, 6, size=shape).astype(dt)
    return rng.uniform(-2, 2, size=shape).astype(dt)


def gen(*specs):
    """Input generator: one spec per input.

    "v": values of the input's dtype; ("idx", k, axis): int indices (negative and repeated)
    valid for dim ``axis`` of input k; "mask": random booleans; ("const", values): a fixed
    array with the input's dtype.
    """

    def make(rng, dtypes, shapes):
        out = []
        for spec, dtype, shape in zip(specs, dtypes, shapes):
            if spec == "v":
                out.append(_values(rng, dtype, shape))
            elif spec == "mask":
                out.append(rng.random(shape) < 0.5)
            elif spec[0] == "idx":
                n = shapes[spec[1]][spec[2]]
                low = 0 if np.dtype(dtype).kind == "u" else -n
                out.append(
                    rng.integers(low, max(n, 1), size=shape).astype(dtype)
                    if n
                    else np.zeros(shape, dtype)
                )
            else:
                out.append(np.asarray(spec[1], dtype=dtype).reshape(shape))
        return out

    return make


XI = [("float64", "int64"), ("float32", "int32"), ("int64", "int64"), ("bool", "int16")]
XIJ = [("float64", "int64", "int64"), ("float32", "int32", "uint8")]
XM = [("float64", "bool"), ("float32", "bool"), ("int32", "bool")]
XYI = [
    ("float64", "float64", "int64"),
    ("float32", "float32", "int32"),
    ("int64", "int64", "int64"),
]
XY = [("float64", "float64"), ("float32", "float32"), ("int32", "int32")]


def _set(a, idx, v):
    a = a.copy()
    a[idx] = v
    return a


def _inc(a, idx, v):
    a = a.copy()
    a[idx] += v
    return a


def _add_at(a, idx, v):
    a = a.copy()
    np.add.at(a, idx, v)
    return a


def _last_writes(targets, width):
    keep = np.array([t not in list(targets[k + 1 :]) for k, t in enumerate(targets)], bool)
    return np.repeat(keep[:, None], width, axis=1)


BASIC = [
    Case(
        "subtensor-slice",
        lambda x: x[1:3],
        lambda x: x[1:3],
        shapes=[((5,),), ((4, 3),), ((0,),), ((1, 2),)],
        dtypes=ALL_DTYPES,
    ),
    Case(
        "subtensor-negative-bounds",
        lambda x: x[-3:-1, :-1],
        lambda x: x[-3:-1, :-1],
        shapes=[((5, 4),), ((1, 1),), ((0, 3),)],
        dtypes=FI,
    ),
    Case(
        "subtensor-steps",
        lambda x: x[::-2, 1::2],
        lambda x: x[::-2, 1::2],
        shapes=[((5, 4),), ((1, 1),), ((0, 2),), ((2, 0),)],
        dtypes=FI,
    ),
    Case(
        "subtensor-negative-step-bounds",
        lambda x: x[3:0:-2],
        lambda x: x[3:0:-2],
        shapes=[((5,),), ((2, 3),), ((1,),)],
        dtypes=FLOATS + ("int8",),
    ),
    Case(
        "subtensor-int",
        lambda x: x[1, -1],
        lambda x: x[1, -1],
        shapes=[((3, 4),), ((2, 1),), ((2, 1, 0),)],
        dtypes=ALL_DTYPES,
    ),
    Case(
        "subtensor-int-slice",
        lambda x: x[-1, 1:],
        lambda x: x[-1, 1:],
        shapes=[((3, 4),), ((1, 1),), ((2, 3, 2),)],
        dtypes=FI,
    ),
    Case(
        "subtensor-ellipsis-newaxis",
        lambda x: x[None, ..., None, 1],
        lambda x: x[None, ..., None, 1],
        shapes=[((2, 3, 4),), ((3, 2),), ((0, 2),)],
        dtypes=FI,
    ),
    Case("subtensor-full", lambda x: x[...] * 2, lambda x: x * 2, shapes=[((2, 3),), ((),)]),
    Case(
        "subtensor-symbolic-bounds",
        lambda x, a, b: x[a:b],
        lambda x, a, b: x[a:b],
        shapes=[((6, 2), (), ()), ((1,), (), ()), ((0, 3), (), ())],
        dtypes=[("float64", "int64", "int64"), ("float32", "int32", "int8")],
        inputs=gen("v", ("const", -4), ("const", 5)),
    ),
    Case(
        "subtensor-symbolic-bounds-b",
        lambda x, a, b: x[1:, a:b],
        lambda x, a, b: x[1:, a:b],
        shapes=[((3, 6), (), ())],
        dtypes=[("float64", "int64", "int64")],
        inputs=gen("v", ("const", 1), ("const", -2)),
    ),
    Case(
        "subtensor-symbolic-step",
        lambda x, a, s: x[a::s],
        lambda x, a, s: x[a::s],
        shapes=[((7, 2), (), ()), ((1,), (), ()), ((0,), (), ())],
        dtypes=[("float64", "int64", "int64"), ("float32", "int32", "int32")],
        inputs=gen("v", ("const", -2), ("const", -2)),
    ),
    Case(
        "subtensor-symbolic-step-pos",
        lambda x, b, s: x[:b:s],
        lambda x, b, s: x[:b:s],
        shapes=[((7,), (), ()), ((2, 2), (), ())],
        dtypes=[("float64", "int64", "int64")],
        inputs=gen("v", ("const", 6), ("const", 3)),
    ),
    Case(
        "subtensor-symbolic-int",
        lambda x, i: x[i],
        lambda x, i: x[i],
        shapes=[((4, 3), ()), ((1,), ())],
        dtypes=[("float64", "int64"), ("int32", "int32")],
        inputs=gen("v", ("const", -1)),
    ),
    Case(
        "incsubtensor-inc",
        lambda x, y: st.inc_subtensor(x[1:3], y),
        lambda x, y: _inc(x, np.s_[1:3], y),
        shapes=[((4, 3), (2, 3)), ((4, 3), (3,)), ((4, 3), ()), ((3, 0), (0,))],
        dtypes=XY,
    ),
    Case(
        "incsubtensor-set",
        lambda x, y: st.set_subtensor(x[::-2, 1], y),
        lambda x, y: _set(x, np.s_[::-2, 1], y),
        shapes=[((5, 3), (3,)), ((5, 3), ()), ((1, 2), (1,))],
        dtypes=XY + [("bool", "bool")],
    ),
    Case(
        "incsubtensor-set-newaxis",
        lambda x, y: st.set_subtensor(x[None, 0], y),
        lambda x, y: _set(x, np.s_[None, 0], y),
        shapes=[((3, 4), (1, 4)), ((2, 1), ())],
        dtypes=XY,
    ),
    Case(
        "incsubtensor-symbolic",
        lambda x, y, a: st.set_subtensor(x[a:], y),
        lambda x, y, a: _set(x, np.s_[a:], y),
        shapes=[((5, 2), (2,), ()), ((1,), (), ())],
        dtypes=[("float64", "float64", "int64"), ("float32", "float32", "int32")],
        inputs=gen("v", "v", ("const", -2)),
    ),
]

ADVANCED = [
    Case(
        "advsub-axis0",
        lambda x, i: x[i],
        lambda x, i: x[i],
        shapes=[((5, 3), (4,)), ((5,), (7,)), ((4, 2), (0,)), ((1, 1), (3,))],
        dtypes=XI,
        inputs=gen("v", ("idx", 0, 0)),
    ),
    Case(
        "advsub-axis1",
        lambda x, i: x[:, i],
        lambda x, i: x[:, i],
        shapes=[((2, 5), (4,)), ((0, 3), (2,)), ((3, 1), (1,))],
        dtypes=XI,
        inputs=gen("v", ("idx", 0, 1)),
    ),
    Case(
        "advsub-matrix-index",
        lambda x, i: x[1:, i],
        lambda x, i: x[1:, i],
        shapes=[((3, 5), (2, 3)), ((2, 2), (1, 0))],
        dtypes=XI[:2],
        inputs=gen("v", ("idx", 0, 1)),
    ),
    Case(
        "advsub-two-arrays",
        lambda x, i, j: x[i, j],
        lambda x, i, j: x[i, j],
        shapes=[((4, 5), (6,), (6,)), ((4, 5), (3, 1), (2,)), ((2, 2), (0,), (0,))],
        dtypes=XIJ,
        inputs=gen("v", ("idx", 0, 0), ("idx", 0, 1)),
    ),
    Case(
        "advsub-arange-target",
        lambda p, t: p[st.arange(p.shape[0]), t],
        lambda p, t: p[np.arange(p.shape[0]), t],
        shapes=[((4, 3), (4,)), ((1, 2), (1,))],
        dtypes=XI[:2],
        inputs=gen("v", ("idx", 0, 1)),
    ),
    Case(
        "advsub-separated",
        lambda x, i, j: x[i, :, j],
        lambda x, i, j: x[i, :, j],
        shapes=[((3, 4, 5), (2,), (2,)), ((2, 1, 3), (1,), ())],
        dtypes=XIJ,
        inputs=gen("v", ("idx", 0, 0), ("idx", 0, 2)),
    ),
    Case(
        "advsub-adjacent",
        lambda x, i, j: x[None, 1:, i, j],
        lambda x, i, j: x[None, 1:, i, j],
        shapes=[((3, 4, 5), (2,), (2,)), ((2, 1, 3), (1,), (4,))],
        dtypes=XIJ,
        inputs=gen("v", ("idx", 0, 1), ("idx", 0, 2)),
    ),
    Case(
        "advsub-int-and-array",
        lambda x, i: x[-1, ..., i],
        lambda x, i: x[-1, ..., i],
        shapes=[((2, 3, 4), (3,)), ((1, 2), (2,))],
        dtypes=XI[:2],
        inputs=gen("v", ("idx", 0, -1)),
    ),
    Case(
        "advsub-const-list",
        lambda x: x[[0, -1, 0], 1:],
        lambda x: x[[0, -1, 0], 1:],
        shapes=[((3, 3),), ((1, 2),)],
        dtypes=FI,
    ),
    Case(
        "advsub-const-mask",
        lambda x: x[np.array([True, False, True])],
        lambda x: x[np.array([True, False, True])],
        shapes=[((3, 2),), ((3,),)],
        dtypes=FI,
    ),
    Case(
        "advsub-mask",
        lambda x, m: x[m],
        lambda x, m: x[m],
        shapes=[((3, 4), (3, 4)), ((3, 4), (3,)), ((0, 2), (0,)), ((1,), (1,))],
        dtypes=XM,
        inputs=gen("v", "mask"),
    ),
    Case(
        "advsub-mask-axis1",
        lambda x, m: x[:, m],
        lambda x, m: x[:, m],
        shapes=[((2, 4, 2), (4, 2)), ((3, 5), (5,))],
        dtypes=XM,
        inputs=gen("v", "mask"),
    ),
    Case(
        "advsub-mask-expr",
        lambda x: x[x > 0],
        lambda x: x[x > 0],
        shapes=[((3, 4),), ((0,),), ((1, 1),)],
        dtypes=FLOATS + INTS,
    ),
    Case(
        "advsub-mask-scalar",
        lambda x: x[True],
        lambda x: x[True],
        shapes=[((3,),), ((),)],
        dtypes=FLOATS,
    ),
    Case(
        "advinc-repeated",
        lambda x, y, i: st.inc_subtensor(x[i], y),
        lambda x, y, i: _add_at(x, i, y),
        shapes=[((4, 3), (5, 3), (5,)), ((4, 3), (3,), (5,)), ((4,), (), (5,))],
        dtypes=XYI,
        inputs=gen("v", "v", ("const", [0, 2, 0, -1, 2])),
    ),
    Case(
        "advinc-size0",
        lambda x, y, i: st.inc_subtensor(x[:, i], y),
        lambda x, y, i: _add_at(x, (slice(None), i), y),
        shapes=[((2, 2), (2, 0), (0,)), ((0, 3), (0, 2), (2,)), ((1, 1), (1,), (1,))],
        dtypes=XYI,
        inputs=gen("v", "v", ("idx", 0, 1)),
    ),
    Case(
        "advset-repeated",
        lambda x, y, i: st.set_subtensor(x[i], y),
        lambda x, y, i: _set(x, i, y),
        shapes=[((4, 3), (5, 3), (5,)), ((4, 3), (3,), (5,)), ((4,), (), (5,))],
        dtypes=XYI,
        inputs=gen("v", "v", ("const", [0, 2, 0, -1, 2])),
    ),
    Case(
        "advinc-two-arrays",
        lambda x, y, i, j: st.inc_subtensor(x[i, 1:, j], y),
        lambda x, y, i, j: _add_at(x, (i, slice(1, None), j), y),
        shapes=[((3, 4, 5), (4, 3), (4,), (4,)), ((3, 4, 5), (), (4,), (4,))],
        dtypes=[("float64", "float64", "int64", "int32")],
        inputs=gen("v", "v", ("const", [0, 1, 0, 0]), ("const", [4, 2, 4, 4])),
    ),
    Case(
        "advset-two-arrays",
        lambda x, y, i, j: st.set_subtensor(x[i, j], y),
        lambda x, y, i, j: _set(x, (i, j), y),
        shapes=[((3, 5), (4,), (4,), (4,))],
        dtypes=[("float64", "float64", "int64", "int64"), ("int8", "int8", "int64", "int64")],
        inputs=gen("v", "v", ("const", [0, 1, 0, 2]), ("const", [4, 2, 4, -1])),
    ),
    Case(
        "advset-mask",
        lambda x, y, m: st.set_subtensor(x[m], y),
        lambda x, y, m: _set(x, m, y),
        shapes=[((3, 4), (), (3, 4)), ((3, 4), (4,), (3,))],
        dtypes=[("float64", "float64", "bool"), ("float32", "float32", "bool")],
        inputs=gen("v", "v", "mask"),
    ),
    Case(
        "advinc-mask-expr",
        lambda x, y: st.inc_subtensor(x[x > 0], y),
        lambda x, y: _inc(x, x > 0, y),
        shapes=[((3, 4), ()), ((0,), ())],
        dtypes=XY,
    ),
    Case(
        "last_write_mask",
        lambda x, i: st.last_write_mask(x[i, 1:]),
        lambda x, i: _last_writes(i % x.shape[0], x.shape[1] - 1),
        shapes=[((3, 3), (4,)), ((2, 1), (4,))],
        dtypes=XI[:2],
        grad=False,
        inputs=gen("v", ("const", [0, 0, -1, 1])),
    ),
    Case(
        "nonzero",
        lambda x: list(st.nonzero(x)),
        lambda x: list(np.nonzero(x)),
        shapes=[((3, 4),), ((5,),), ((0, 2),), ((2, 1, 3),)],
        dtypes=ALL_DTYPES,
        grad=False,
    ),
    Case(
        "flatnonzero",
        lambda x: st.flatnonzero(x),
        lambda x: np.flatnonzero(x),
        shapes=[((3, 4),), ((5,),)],
        dtypes=FLOATS + ("int8",),
        grad=False,
    ),
    Case(
        "take-axis",
        lambda x, i: st.take(x, i, axis=-1),
        lambda x, i: np.take(x, i, axis=-1),
        shapes=[((3, 4), (2, 2)), ((2, 3, 1), (3,))],
        dtypes=XI,
        inputs=gen("v", ("idx", 0, -1)),
    ),
    Case(
        "take-flat",
        lambda x, i: st.take(x, i),
        lambda x, i: np.take(x, i),
        shapes=[((3, 4), (5,))],
        dtypes=XI[:2],
        inputs=gen("v", ("const", [0, 11, -1, 3, 3])),
    ),
]

CASES = BASIC + ADVANCED
