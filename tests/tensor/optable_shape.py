"""Op-table rows for shape ops: MakeVector, Reshape, Concatenate, Split, Repeat, RepeatSum,
Tile, Eye, ARange (and flatten/stack built on them)."""

import numpy as np

import symcomp.tensor as st
from tests.tensor.optable import ALL_DTYPES, FLOATS, Case

SOME_DTYPES = FLOATS + ("int32", "uint8", "bool")


def _arrays_and_ints(*ints, dtype="int64"):
    """Generator: the first input is random, the rest are the given int scalars/vectors."""

    def gen(rng, dtypes, shapes):
        x = rng.uniform(-2, 2, size=shapes[0]).astype(dtypes[0])
        return [x] + [np.array(v, dtype=dtype) for v in ints]

    return gen


def _scalars(*values):
    def gen(rng, dtypes, shapes):
        return [np.array(v, dtype=d) for v, d in zip(values, dtypes)]

    return gen


def _x0(x):
    return st.shape_i(x, 0)


CASES = [
    Case(
        "make_vector",
        lambda a, b, c: st.make_vector(a, b, c),
        lambda a, b, c: np.array([a, b, c]),
        [((), (), ())],
        FLOATS + ("int32", "bool"),
    ),
    Case(
        "make_vector-mixed",
        lambda a, b: st.make_vector(a, b, 2),
        lambda a, b: np.array([a, b, 2], dtype=np.result_type(a.dtype, b.dtype)),
        [((), ())],
        [("float64", "float32"), ("int8", "int32")],
    ),
    Case(
        "stack-scalars",
        lambda a, b: st.stack([a, b]),
        lambda a, b: np.stack([a, b]),
        [((), ())],
        FLOATS,
    ),
    Case(
        "reshape",
        lambda x: x.reshape((4, 3)),
        lambda x: x.reshape((4, 3)),
        [((3, 4),), ((12,),), ((2, 2, 3),)],
        ALL_DTYPES,
    ),
    Case(
        "reshape-minus1",
        lambda x: [x.reshape((2, -1)), x.reshape(-1), st.reshape(x, (-1, 1))],
        lambda x: [x.reshape((2, -1)), x.reshape(-1), x.reshape((-1, 1))],
        [((2, 3),), ((4, 0),), ((2, 1, 1),)],
        SOME_DTYPES,
    ),
    Case(
        "reshape-0d",
        lambda x: [x.reshape((1, 1)), x.reshape(())],
        lambda x: [x.reshape((1, 1)), x.reshape(())],
        [((),), ((1,),)],
        SOME_DTYPES,
    ),
    Case(
        "reshape-size0",
        lambda x: x.reshape((0, 5)),
        lambda x: x.reshape((0, 5)),
        [((5, 0),), ((0,),)],
        FLOATS + ("int8",),
    ),
    Case(
        "reshape-symbolic-entries",
        lambda x: x.reshape((_x0(x), -1)),
        lambda x: x.reshape((x.shape[0], -1)),
        [((2, 3, 4),), ((3, 0, 2),), ((1, 1),)],
        SOME_DTYPES,
    ),
    Case(
        "reshape-symbolic-entries-2",
        lambda x: st.reshape(x, (st.shape_i(x, 1), _x0(x), 1)),
        lambda x: x.reshape((x.shape[1], x.shape[0], 1)),
        [((2, 3),), ((0, 4),)],
        FLOATS,
    ),
    Case(
        "reshape-shape-of",
        lambda x, y: st.reshape(x, y.shape),
        lambda x, y: x.reshape(y.shape),
        [((6,), (2, 3)), ((0,), (5, 0))],
        FLOATS,
        grad_inputs=[0],
    ),
    Case(
        "reshape-vector",
        lambda x, s: st.reshape(x, s, ndim=2),
        lambda x, s: x.reshape(s),
        [((3, 4), (2,))],
        [("float64", "int64"), ("float32", "int32")],
        inputs=_arrays_and_ints([6, -1]),
        noncontig=False,
    ),
    Case(
        "flatten",
        lambda x: [x.flatten(), st.flatten(x, 2)],
        lambda x: [x.reshape(-1), x.reshape((x.shape[0], int(np.prod(x.shape[1:]))))],
        [((2, 3, 4),), ((2, 0, 4),), ((0, 3),), ((1, 1),)],
        SOME_DTYPES,
    ),
    Case(
        "flatten-3",
        lambda x: st.flatten(x, 3),
        lambda x: x.reshape(x.shape[:2] + (-1,)),
        [((2, 3, 4, 5),), ((1, 2, 0, 1),)],
        FLOATS,
    ),
    Case("flatten-0d", lambda x: st.flatten(x), lambda x: x.reshape(1), [((),)], FLOATS),
    Case(
        "concatenate",
        lambda x, y: st.concatenate([x, y]),
        lambda x, y: np.concatenate([x, y]),
        [((2, 3), (4, 3)), ((0, 3), (1, 3)), ((1,), (0,))],
        ALL_DTYPES,
    ),
    Case(
        "concatenate-axis",
        lambda x, y, z: [st.concatenate([x, y, z], axis=1), st.concatenate([z, y, x], axis=-1)],
        lambda x, y, z: [np.concatenate([x, y, z], 1), np.concatenate([z, y, x], -1)],
        [((2, 3), (2, 0), (2, 1)), ((0, 1), (0, 2), (0, 0))],
        SOME_DTYPES,
    ),
    Case(
        "concatenate-axis-3d",
        lambda x, y: st.concatenate([x, y], axis=-1),
        lambda x, y: np.concatenate([x, y], -1),
        [((2, 3, 1), (2, 3, 2)), ((0, 1, 2), (0, 1, 1))],
        FLOATS + ("int16",),
    ),
    Case(
        "concatenate-upcast",
        lambda x, y: st.concatenate([x, y], 0),
        lambda x, y: np.concatenate([x, y], 0),
        [((2, 3), (1, 3))],
        [("float32", "float64"), ("int8", "float32"), ("bool", "int16"), ("uint8", "int8")],
    ),
    Case(
        "join",
        lambda x, y: st.join(1, x, y),
        lambda x, y: np.concatenate([x, y], 1),
        [((2, 1), (2, 3))],
        FLOATS,
    ),
    Case(
        "stack",
        lambda x, y: [st.stack([x, y]), st.stack([y, x], axis=-1), st.stack([x, y, x], axis=1)],
        lambda x, y: [np.stack([x, y]), np.stack([y, x], -1), np.stack([x, y, x], 1)],
        [((2, 3), (2, 3)), ((0, 2), (0, 2)), ((1,), (1,))],
        SOME_DTYPES,
    ),
    Case(
        "split",
        lambda x: st.split(x, [2, 1, 3], 3, axis=0),
        lambda x: np.split(x, [2, 3], 0),
        [((6, 2),), ((6,),), ((6, 0),)],
        SOME_DTYPES,
    ),
    Case(
        "split-axis",
        lambda x: st.split(x, [0, 3, 1], 3, axis=-1),
        lambda x: np.split(x, [0, 3], -1),
        [((2, 4),), ((0, 1, 4),)],
        FLOATS + ("int64",),
    ),
    Case("split-one", lambda x: st.split(x, [3], 1, axis=1), lambda x: [x], [((2, 3),)], FLOATS),
    Case(
        "split-symbolic",
        lambda x, s: st.split(x, s, 2, axis=1),
        lambda x, s: np.split(x, [int(s[0])], 1),
        [((3, 5), (2,))],
        [("float64", "int64"), ("float32", "int32")],
        inputs=_arrays_and_ints([2, 3]),
        noncontig=False,
    ),
    Case(
        "split-partial-grad",
        lambda x: st.split(x, [1, 2], 2, axis=0)[1],
        lambda x: x[1:],
        [((3, 2),)],
        FLOATS,
    ),
    Case(
        "repeat",
        lambda x: [st.repeat(x, 2, axis=0), st.repeat(x, 3, axis=-1), st.repeat(x, 2)],
        lambda x: [np.repeat(x, 2, 0), np.repeat(x, 3, -1), np.repeat(x, 2)],
        [((2, 3),), ((0, 2),), ((1, 1),)],
        ALL_DTYPES,
    ),
    Case(
        "repeat-vector",
        lambda x: [st.repeat(x, [1, 0, 2], axis=1), st.repeat(x, [2], 0)],
        lambda x: [np.repeat(x, [1, 0, 2], 1), np.repeat(x, [2], 0)],
        [((2, 3),), ((0, 3),)],
        SOME_DTYPES,
    ),
    Case(
        "repeat-flat-vector",
        lambda x: st.repeat(x, [1, 2, 0, 1]),
        lambda x: np.repeat(x, [1, 2, 0, 1]),
        [((2, 2),), ((4,),)],
        FLOATS,
    ),
    Case("repeat-0d", lambda x: st.repeat(x, 3), lambda x: np.repeat(x, 3), [((),)], FLOATS),
    Case(
        "repeat-symbolic",
        lambda x, r: st.repeat(x, r, axis=0),
        lambda x, r: np.repeat(x, r, 0),
        [((3, 2), (3,))],
        [("float64", "int64"), ("float32", "int32")],
        inputs=_arrays_and_ints([2, 0, 1]),
        noncontig=False,
    ),
    Case(
        "repeat-symbolic-scalar",
        lambda x, r: st.repeat(x, r, axis=1),
        lambda x, r: np.repeat(x, r, 1),
        [((3, 2), ())],
        [("float64", "int64")],
        inputs=_arrays_and_ints(3),
        noncontig=False,
    ),
    Case(
        "repeat_sum",
        lambda g: st.RepeatSum(0)(g, [1, 0, 2], 3),
        lambda g: np.stack([g[0], np.zeros_like(g[0]), g[1] + g[2]]),
        [((3, 2),), ((3,),)],
        FLOATS,
    ),
    Case(
        "tile",
        lambda x: [st.tile(x, 2), st.tile(x, (2, 3)), st.tile(x, (2, 1, 2))],
        lambda x: [np.tile(x, 2), np.tile(x, (2, 3)), np.tile(x, (2, 1, 2))],
        [((2, 3),), ((0, 2),), ((1, 1),)],
        ALL_DTYPES,
    ),
    Case(
        "tile-more-dims",
        lambda x: [st.tile(x, (3, 1, 2)), st.tile(x, (0, 2))],
        lambda x: [np.tile(x, (3, 1, 2)), np.tile(x, (0, 2))],
        [((2,),), ((),)],
        FLOATS,
    ),
    Case(
        "tile-3d",
        lambda x: st.tile(x, (1, 2)),
        lambda x: np.tile(x, (1, 2)),
        [((2, 3, 2),), ((1, 0, 1),)],
        FLOATS + ("int8",),
    ),
    Case(
        "eye",
        lambda: [st.eye(3), st.eye(2, 4, 1, "int32"), st.eye(3, 2, -1, "bool")],
        lambda: [np.eye(3), np.eye(2, 4, 1, "int32"), np.eye(3, 2, -1, "bool")],
        [()],
        ["float64"],
        grad=False,
    ),
    Case(
        "eye-symbolic",
        lambda n, m, k: st.eye(n, m, k, "float32"),
        lambda n, m, k: np.eye(n, m, k, dtype="float32"),
        [((), (), ())],
        [("int64", "int64", "int64"), ("int32", "int8", "int16")],
        inputs=_scalars(3, 4, -1),
        grad=False,
    ),
    Case(
        "eye-empty",
        lambda n: st.eye(n),
        lambda n: np.eye(n),
        [((),)],
        ["int64"],
        inputs=_scalars(0),
        grad=False,
    ),
    Case(
        "identity_like",
        lambda x: st.identity_like(x),
        lambda x: np.eye(*x.shape, dtype=x.dtype),
        [((2, 3),), ((0, 1),)],
        FLOATS,
        grad=False,
    ),
    Case(
        "arange",
        lambda: [
            st.arange(5),
            st.arange(2, 11, 3),
            st.arange(5, 0, -2),
            st.arange(3, 1),
            st.arange(0.5, 2.0, 0.25),
        ],
        lambda: [
            np.arange(5),
            np.arange(2, 11, 3),
            np.arange(5, 0, -2),
            np.arange(3, 1),
            np.arange(0.5, 2.0, 0.25),
        ],
        [()],
        ["float64"],
        grad=False,
    ),
    Case(
        "arange-symbolic-int",
        lambda a, b, c: [st.arange(a, b, c), st.arange(b)],
        lambda a, b, c: [np.arange(a, b, c), np.arange(b)],
        [((), (), ())],
        [("int64", "int64", "int64"), ("int32", "int32", "int32")],
        inputs=_scalars(1, 10, 3),
        grad=False,
    ),
    Case(
        "arange-symbolic-negative",
        lambda a, b, c: st.arange(a, b, c),
        lambda a, b, c: np.arange(a, b, c),
        [((), (), ())],
        [("int64", "int64", "int64")],
        inputs=_scalars(10, -3, -4),
        grad=False,
    ),
    Case(
        "arange-symbolic-empty",
        lambda a, b, c: st.arange(a, b, c),
        lambda a, b, c: np.arange(a, b, c),
        [((), (), ())],
        [("int64", "int64", "int64")],
        inputs=_scalars(5, 1, 1),
        grad=False,
    ),
    Case(
        "arange-symbolic-float",
        lambda a, b, c: st.arange(a, b, c),
        lambda a, b, c: np.arange(a, b, c),
        [((), (), ())],
        [("float64", "float64", "float64"), ("float32", "float32", "float32")],
        inputs=_scalars(0.0, 1.0, 0.1),
        grad=False,
    ),
]
