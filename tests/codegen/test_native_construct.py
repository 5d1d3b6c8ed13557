"""Native code of the structural and constructor ops (symcomp/codegen/cpu/construct.py):
Reshape, MakeVector, ARange, Eye, Concatenate, Split, Repeat, RepeatSum and Tile against
NumPy (dtype, shape, values, views where NumPy gives views), on non-contiguous,
negative-stride and size-0 inputs, and the errors bad runtime arguments raise.

Each test compiles one function with many outputs and calls it with many inputs."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.codegen.toolchain import find_compiler

pytestmark = [
    pytest.mark.cxx,
    pytest.mark.skipif(find_compiler() is None, reason="no C++ compiler"),
]

MINE = {
    "Reshape",
    "MakeVector",
    "ARange",
    "Eye",
    "Concatenate",
    "Split",
    "Repeat",
    "RepeatSum",
    "Tile",
}


def _native(inputs, outputs, ops=None):
    """A native function; every node of ``ops`` (names) must be in it and run natively."""
    f = sc.function(inputs, outputs, mode="native", on_unused_input="ignore")
    names = {type(n.op).__name__ for n in f.maker.fgraph.apply_nodes}
    assert set(ops or ()) <= names, f"rewritten away: {set(ops) - names}"
    fallback = {type(n.op).__name__ for n in f.runner.fallback_nodes}
    assert not fallback & MINE, f"Python perform for {fallback & MINE}"
    return f


def _check(got, expected):
    assert len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected)):
        g, e = np.asarray(g), np.asarray(e)
        assert g.dtype == e.dtype, (k, g.dtype, e.dtype)
        assert g.shape == e.shape, (k, g.shape, e.shape)
        np.testing.assert_array_equal(g, e, err_msg=f"output {k}")


def _layouts(a):
    """a as given, non-contiguous, with negative strides, and Fortran-ordered."""
    out = [a]
    if a.ndim:
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        wide[..., ::2] = a
        out.append(wide[..., ::2])
        flipped = np.ascontiguousarray(a[::-1])[::-1]
        out.append(flipped)
        out.append(np.asfortranarray(a))
    return out


def _rand(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-5, 5, size=shape) * 3).astype(dtype)


# ---- Reshape ---------------------------------------------------------------------------


RESHAPE_DTYPES = ("float64", "float32", "int8", "bool", "complex128", "float16")


@pytest.fixture(scope="module")
def reshape_fn():
    """x_<dtype> (3-d) reshaped by the 2-vector s; x_float64 also by the 3-vector t and to
    -1; the (1, 1, 1) float32 o to () and (1, 1)."""
    xs = [st.tensor(d, shape=(None, None, None), name=f"x_{d}") for d in RESHAPE_DTYPES]
    s, t = st.lvector("s"), st.lvector("t")
    o = st.tensor("float32", shape=(None, None, None), name="o")
    outs = [st.reshape(x, s, ndim=2) for x in xs]
    outs += [st.reshape(xs[0], t, ndim=3), xs[0].reshape((-1,)), o.reshape(()), o.reshape((1, 1))]
    f = _native(xs + [s, t, o], [sc.Out(v, borrow=True) for v in outs], ["Reshape"])

    def call(arrays, s, t, o=None):
        o = np.ones((1, 1, 1), np.float32) if o is None else o
        got = f(*arrays, np.array(s, np.int64), np.array(t, np.int64), o)
        expected = [np.reshape(a, tuple(s)) for a in arrays]
        expected += [np.reshape(arrays[0], tuple(t)), arrays[0].reshape(-1)]
        expected += [o.reshape(()), o.reshape((1, 1))]
        _check(got, expected)
        for g, e, a in zip(got, expected, arrays + [arrays[0]] * 2 + [o] * 2):
            assert np.shares_memory(g, a) == np.shares_memory(e, a), "a view where NumPy views"

    call.f = f
    return call


@pytest.mark.parametrize(
    "shape,s,t",
    [
        ((2, 3, 4), (6, 4), (4, 3, 2)),
        ((2, 3, 4), (-1, 12), (1, -1, 1)),
        ((2, 3, 4), (4, -1), (24, 1, 1)),
        ((1, 1, 1), (1, -1), (1, 1, 1)),
        ((2, 0, 3), (0, 7), (0, 0, 0)),
        ((2, 0, 3), (-1, 5), (3, -1, 2)),
        ((4, 1, 6), (-5, 3), (2, 2, 6)),  # any negative entry is the unknown one, as NumPy's
    ],
)
def test_reshape_matches_numpy(reshape_fn, shape, s, t):
    for layout in range(4):
        arrays = [_layouts(_rand(shape, d, k))[layout] for k, d in enumerate(RESHAPE_DTYPES)]
        reshape_fn(arrays, s, t)


def test_reshape_views_of_strided_inputs(reshape_fn):
    base = _rand((4, 6, 8), "float64")
    for x in (base[::2], base[:, ::2], base[:, :, ::2], base[::-1], base.transpose(1, 0, 2)):
        x = x[:2, :3, :4]
        arrays = [x] + [np.asarray(x, d) for d in RESHAPE_DTYPES[1:]]
        for s, t in [((6, 4), (2, 3, 4)), ((2, 12), (6, 2, 2)), ((24, 1), (1, 24, 1))]:
            reshape_fn(arrays, s, t)
    reshape_fn([np.zeros((1, 1, 1), d) for d in RESHAPE_DTYPES], (1, 1), (1, 1, 1))


def test_reshape_errors(reshape_fn):
    f = reshape_fn.f
    arrays = [np.zeros((3, 4, 1), d) for d in RESHAPE_DTYPES]
    t, o = np.array([12, 1, 1]), np.ones((1, 1, 1), np.float32)

    def call(s, arrays=arrays, t=t, o=o):
        return f(*arrays, np.array(s, np.int64), np.array(t, np.int64), o)

    with pytest.raises(
        ValueError,
        match=r"Reshape: cannot reshape an array of shape \(3, 4, 1\) \(size 12\) into shape "
        r"\(5, 3\)",
    ) as info:
        call([5, 3])
    assert "Apply node that caused the error" in str(info.value)
    with pytest.raises(ValueError, match=r"\(size 12\) into shape \(5, -1\)"):
        call([5, -1])
    with pytest.raises(ValueError, match=r"one unknown dimension"):
        call([-1, -1])
    with pytest.raises(ValueError, match=r"Reshape: the shape has 3 entries, expected 2"):
        call([12, 1, 1])
    zero = [np.zeros((0, 3, 1), d) for d in RESHAPE_DTYPES]
    with pytest.raises(ValueError, match=r"into shape \(0, -1\)"):
        call([0, -1], arrays=zero, t=[0, 1, 1])
    with pytest.raises(ValueError, match=r"shape \(2, 1, 1\) \(size 2\) into shape \(\)"):
        call([12, 1], o=np.ones((2, 1, 1), np.float32))


# ---- Concatenate and Split --------------------------------------------------------------


@pytest.fixture(scope="module")
def join_fn():
    """Concatenations of same and mixed dtypes along several axes, and splits (views) by
    static and runtime sizes."""
    x, y = st.dtensor3("x"), st.dtensor3("y")
    a, b = st.tensor("int8", shape=(None, None), name="a"), st.fmatrix("b")
    p, q = st.tensor("bool", shape=(None,), name="p"), st.tensor("int16", shape=(None,), name="q")
    u, v = st.tensor("uint8", shape=(None,), name="u"), st.tensor("int8", shape=(None,), name="v")
    c = st.tensor("complex64", shape=(None, None), name="c")
    sizes = st.lvector("sizes")
    outs = [
        st.concatenate([x, y], axis=0),
        st.concatenate([x, y, x], axis=-1),
        st.concatenate([y, x], axis=1),
        st.concatenate([a, b, a], axis=1),
        st.concatenate([p, q, p]),
        st.concatenate([u, v]),
        st.concatenate([c, c], axis=0),
    ]
    outs += st.split(x, sizes, 3, axis=-1)
    outs += st.split(c, [1, 0, 1], 3, axis=0)
    f = _native([x, y, a, b, p, q, u, v, c, sizes], [sc.Out(o, borrow=True) for o in outs])
    assert {"Concatenate", "Split"} <= {type(n.op).__name__ for n in f.maker.fgraph.apply_nodes}

    def call(x, y, a, b, p, q, u, v, c, sizes):
        sizes = np.array(sizes, np.int64)
        got = f(x, y, a, b, p, q, u, v, c, sizes)
        expected = [
            np.concatenate([x, y], 0),
            np.concatenate([x, y, x], -1),
            np.concatenate([y, x], 1),
            np.concatenate([a, b, a], 1),
            np.concatenate([p, q, p]),
            np.concatenate([u, v]),
            np.concatenate([c, c], 0),
        ]
        pieces = np.split(x, np.cumsum(sizes)[:-1], axis=-1) + np.split(c, [1, 1], axis=0)
        _check(got, expected + pieces)
        for g in got[len(expected) : len(expected) + 3]:
            assert np.shares_memory(g, x) or g.size == 0, "split gives views"

    call.f = f
    return call


def _join_args(n0, n1, n2, m, layout=0, k=0):
    """Arguments of join_fn: x (n0, n1, n2), y of x's shape, a and b (n0, m), p, q, u, v
    vectors, c (2, m)."""
    pick = lambda a: _layouts(a)[layout]  # noqa: E731
    x, y = pick(_rand((n0, n1, n2), "float64", k)), pick(_rand((n0, n1, n2), "float64", k + 1))
    a, b = pick(_rand((n0, m), "int8", k)), pick(_rand((n0, m), "float32", k))
    p, q = pick(_rand((m,), "bool", k)), pick(_rand((n1,), "int16", k))
    u, v = pick(np.arange(m, dtype=np.uint8) * 50), pick(_rand((n2,), "int8", k))
    c = pick(
        (_rand((2, m), "float32", k) + 1j * _rand((2, m), "float32", k + 2)).astype("complex64")
    )
    return [x, y, a, b, p, q, u, v, c]


@pytest.mark.parametrize("dims", [(2, 3, 4), (1, 1, 1), (0, 2, 3), (3, 0, 2), (2, 2, 0)])
def test_concatenate_and_split_match_numpy(join_fn, dims):
    n2 = dims[2]
    for layout in range(4):
        for sizes in ([n2, 0, 0], [0, n2, 0], [n2 // 2, 0, n2 - n2 // 2]):
            join_fn(*_join_args(*dims, m=3, layout=layout, k=layout), sizes)


def test_concatenate_and_split_errors(join_fn):
    f = join_fn.f
    args = _join_args(2, 3, 4, m=3)
    bad = list(args)
    bad[1] = np.zeros((2, 5, 4))
    with pytest.raises(
        ValueError,
        match=r"Concatenate along axis 0: .* along dimension 1, the array "
        r"at index 0 has shape \(2, 3, 4\) and the array at index 1 has shape "
        r"\(2, 5, 4\)",
    ):
        f(*bad, np.array([4, 0, 0]))
    for sizes in ([1, 1, 1], [5, -1, 0], [4, 0], [2, 2, 0, 0]):
        with pytest.raises(
            ValueError,
            match=r"Split: sizes \[.*\] do not split length 4 of an "
            r"array of shape \(2, 3, 4\) into 3 pieces along axis 2",
        ):
            f(*args, np.array(sizes, np.int64))


# ---- Repeat, RepeatSum and Tile ----------------------------------------------------------


@pytest.fixture(scope="module")
def repeat_fn():
    """numpy.repeat by a runtime count r, per-entry counts rv (axis 0), rw (axis 1) and rf
    (flattened), and numpy.tile, of x (float64), i (int16, 3-d), z (complex128) and s (0-d)."""
    x = st.dmatrix("x")
    i = st.tensor("int16", shape=(None, None, None), name="i")
    z = st.tensor("complex128", shape=(None,), name="z")
    s = st.fscalar("s")
    r = st.lscalar("r")
    rv, rw, rf = st.lvector("rv"), st.lvector("rw"), st.lvector("rf")
    outs = [
        st.repeat(x, r, axis=0),
        st.repeat(x, r, axis=-1),
        st.repeat(x, r),
        st.repeat(x, rv, axis=0),
        st.repeat(x, rw, axis=1),
        st.repeat(x, rf),
        st.repeat(i, r, axis=1),
        st.repeat(i, r),
        st.repeat(z, rf[:1]),
        st.repeat(s, r),
        st.tile(x, (2, 3)),
        st.tile(x, (2, 1, 2)),
        st.tile(i, (1, 2)),
        st.tile(i, (0, 2, 1, 1)),
        st.tile(z, 3),
        st.tile(s, (2, 2)),
    ]
    f = _native([x, i, z, s, r, rv, rw, rf], outs, ["Repeat", "Tile"])

    def call(x, i, z, r, rv, rw, rf):
        s = np.float32(1.5)
        rv, rw, rf = (np.array(c, np.int64) for c in (rv, rw, rf))
        got = f(x, i, z, s, np.int64(r), rv, rw, rf)
        expected = [
            np.repeat(x, r, 0),
            np.repeat(x, r, -1),
            np.repeat(x, r),
            np.repeat(x, rv, 0),
            np.repeat(x, rw, 1),
            np.repeat(x, rf),
            np.repeat(i, r, 1),
            np.repeat(i, r),
            np.repeat(z, rf[:1]),
            np.repeat(s, r),
            np.tile(x, (2, 3)),
            np.tile(x, (2, 1, 2)),
            np.tile(i, (1, 2)),
            np.tile(i, (0, 2, 1, 1)),
            np.tile(z, 3),
            np.tile(s, (2, 2)),
        ]
        _check(got, expected)

    call.f = f
    return call


@pytest.mark.parametrize(
    "n0,n1,r,rv,rw",
    [
        ((2, 3, 2, [1, 2], [0, 3, 1])),
        ((3, 1, 0, [0, 0, 0], [2])),
        ((1, 1, 1, [4], [1])),
        ((0, 2, 3, [], [1, 1])),
        ((2, 0, 2, [3], [])),
        ((2, 0, 2, [3, 0], [5])),
    ],
)
def test_repeat_and_tile_match_numpy(repeat_fn, n0, n1, r, rv, rw):
    for layout in range(4):
        x = _layouts(_rand((n0, n1), "float64", layout))[layout]
        i = _layouts(_rand((2, n1, n0), "int16", layout))[layout]
        z = _layouts(_rand((n1,), "complex128", layout))[layout]
        rf = [k % 3 for k in range(x.size)][::-1] or [1]
        repeat_fn(x, i, z, r, rv, rw, rf)


def test_repeat_errors(repeat_fn):
    f = repeat_fn.f
    x, i, z = np.zeros((2, 3)), np.zeros((2, 3, 2), np.int16), np.zeros(3, complex)
    s = np.float32(1)

    def call(r=1, rv=(1, 1), rw=(1, 1, 1), rf=(1,)):
        return f(x, i, z, s, np.int64(r), *(np.array(c, np.int64) for c in (rv, rw, rf)))

    call()
    with pytest.raises(
        ValueError,
        match=r"Repeat: repeats may not contain negative values "
        r"\(shape \(2, 3\), repeats \[-1\]\)",
    ):
        call(r=-1)
    with pytest.raises(ValueError, match=r"negative values \(shape \(2, 3\), repeats \[1, -2\]\)"):
        call(rv=(1, -2))
    with pytest.raises(
        ValueError,
        match=r"Repeat: operands could not be broadcast together with "
        r"shape \(3,\) \(2,\) \(shape \(2, 3\), repeats \[1, 1\]\)",
    ):
        call(rw=(1, 1))
    with pytest.raises(ValueError, match=r"shape \(6,\) \(0,\)"):
        call(rf=())


@pytest.fixture(scope="module")
def repeat_sum_fn():
    """RepeatSum (Repeat's adjoint) along axis 0 of a float64 matrix by counts c and along
    axis 1 of a float32 3-d array by one count k, and the gradient of a repeat."""
    g, h = st.dmatrix("g"), st.ftensor3("h")
    c, k, n, m = st.lvector("c"), st.lscalar("k"), st.lscalar("n"), st.lscalar("m")
    x = st.dvector("x")
    outs = [
        st.RepeatSum(0)(g, c, n),
        st.RepeatSum(1)(h, k, m),
        sc.grad(st.sum(st.repeat(x, c) ** 2), x),
    ]
    f = _native([g, h, c, k, n, m, x], outs, ["RepeatSum"])

    def call(g, h, c, k, n, m):
        c = np.array(c, np.int64)
        x = np.linspace(-1, 1, n)
        got = f(g, h, c, np.int64(k), np.int64(n), np.int64(m), x)
        expected = [_repeat_sum(g, c, n, 0), _repeat_sum(h, k, m, 1)]
        expected.append(np.array([2 * x[j] * np.broadcast_to(c, (n,))[j] for j in range(n)]))
        _check(got[:2], expected[:2])
        np.testing.assert_allclose(got[2], expected[2], rtol=1e-12)

    call.f = f
    return call


def _repeat_sum(g, counts, n, axis):
    moved = np.moveaxis(g, axis, 0)
    out = np.zeros((n,) + moved.shape[1:], g.dtype)
    np.add.at(out, np.repeat(np.arange(n), np.broadcast_to(counts, (n,))), moved)
    return np.moveaxis(out, 0, axis)


@pytest.mark.parametrize(
    "c,k,m,cols",
    [([1, 0, 2], 2, 2, 3), ([2], 1, 3, 1), ([0, 0], 0, 0, 2), ([], 3, 1, 0), ([3, 1], 1, 0, 4)],
)
def test_repeat_sum_matches_numpy(repeat_sum_fn, c, k, m, cols):
    n = len(c)
    rows = int(np.sum(c))
    for layout in range(4):
        g = _layouts(_rand((rows, cols), "float64", layout))[layout]
        h = _layouts(_rand((2, k * m, cols), "float32", layout))[layout]
        repeat_sum_fn(g, h, c, k, n, m)


def test_repeat_sum_errors(repeat_sum_fn):
    f = repeat_sum_fn.f
    g, h, x = np.zeros((3, 2)), np.zeros((2, 4, 1), np.float32), np.zeros(2)
    with pytest.raises(
        ValueError,
        match=r"RepeatSum: repeats \[1, 1\] do not match length 3 of "
        r"axis 0 \(2 entries\)",
    ):
        f(g, h, np.array([1, 1]), np.int64(2), np.int64(2), np.int64(2), x)
    with pytest.raises(
        ValueError, match=r"RepeatSum: repeats \[3\] do not match length 4 of axis 1"
    ):
        f(g, h, np.array([1, 2]), np.int64(3), np.int64(2), np.int64(2), x)
    with pytest.raises(ValueError, match=r"RepeatSum: repeats \[4, -1\]"):
        f(g, h, np.array([4, -1]), np.int64(2), np.int64(2), np.int64(2), x)


# ---- ARange, Eye, MakeVector ---------------------------------------------------------------


@pytest.fixture(scope="module")
def constructors_fn():
    """numpy.arange from int64, int32, float64 and float32 scalars (and with explicit dtypes),
    numpy.eye of several dtypes and make_vector, all from runtime scalars."""
    a, b, c = st.lscalar("a"), st.lscalar("b"), st.lscalar("c")
    i, j, k = (st.scalar(name, dtype="int32") for name in "ijk")
    d, e, f_ = st.dscalar("d"), st.dscalar("e"), st.dscalar("f")
    p, q, r = st.fscalar("p"), st.fscalar("q"), st.fscalar("r")
    outs = [
        st.arange(a, b, c),
        st.arange(i, j, k),
        st.arange(b),
        st.arange(d, e, f_),
        st.arange(p, q, r),
        st.arange(a, e, c),
        st.arange(d, e, f_, dtype="int64"),
        st.arange(d, e, f_, dtype="int8"),
        st.arange(p, q, r, dtype="float64"),
        st.arange(a, b, c, dtype="float32"),
        st.arange(abs(i), abs(j), k, dtype="uint16"),
        st.eye(abs(a), abs(b), c),
        st.eye(abs(a), abs(b), c, dtype="int32"),
        st.eye(abs(a), abs(a), c, dtype="bool"),
        st.eye(abs(i), abs(j), k, dtype="complex64"),
        st.eye(abs(a), abs(b), c, dtype="float16"),
        st.make_vector(a, b, c),
        st.make_vector(p, q, r, p),
        st.make_vector(d),
        st.make_vector(i, j, k, dtype="bool"),
        st.make_vector(d, e, dtype="complex128"),
    ]
    fn = _native(
        [a, b, c, i, j, k, d, e, f_, p, q, r], outs, sorted({"ARange", "Eye", "MakeVector"})
    )

    def call(ints, floats):
        a, b, c = (np.int64(v) for v in ints)
        i, j, k = (np.int32(v) for v in ints)
        d, e, f = (np.float64(v) for v in floats)
        p, q, r = (np.float32(v) for v in floats)
        got = fn(a, b, c, i, j, k, d, e, f, p, q, r)
        # ARange's perform reads its arguments as Python scalars (float32 ones exactly).
        expected = [
            _arange((a, b, c), "int64"),
            _arange((i, j, k), "int64"),
            _arange((0, b, 1), "int64"),
            _arange((d, e, f), "float64"),
            _arange((p, q, r), "float64"),
            _arange((a, e, c), "float64"),
            _arange((d, e, f), "int64"),
            _arange((d, e, f), "int8"),
            _arange((p, q, r), "float64"),
            _arange((a, b, c), "float32"),
            _arange((abs(i), abs(j), k), "uint16"),
        ]
        expected += [
            np.eye(abs(a), abs(b), c),
            np.eye(abs(a), abs(b), c, dtype="int32"),
            np.eye(abs(a), abs(a), c, dtype="bool"),
            np.eye(abs(i), abs(j), k, dtype="complex64"),
            np.eye(abs(a), abs(b), c, dtype="float16"),
        ]
        expected += [
            np.array([a, b, c]),
            np.array([p, q, r, p]),
            np.array([d]),
            np.array([i, j, k], dtype=bool),
            np.array([d, e], dtype="complex128"),
        ]
        _check(got, expected)

    call.f = fn
    return call


def _arange(args, dtype):
    return np.arange(*(np.asarray(v).item() for v in args), dtype=dtype)


@pytest.mark.parametrize(
    "ints",
    [(0, 10, 3), (2, 11, 3), (5, 0, -2), (10, -3, -4), (3, 1, 1), (5, 5, 1), (-3, 4, 1), (0, 0, 7)],
)
def test_arange_eye_make_vector_match_numpy(constructors_fn, ints):
    for floats in [
        (0.0, 1.0, 0.1),
        (0.5, 2.0, 0.25),
        (2.0, -1.0, -0.3),
        (1.0, 1.0, 1.0),
        (3.0, 1.0, 0.5),
        (-1.5, 7.25, 0.7),
        (0.0, 100.0, 1 / 3),
    ]:
        constructors_fn(ints, floats)


def test_eye_offsets_and_errors():
    n, m, k = st.lscalar("n"), st.scalar("m", dtype="uint8"), st.lscalar("k")
    eye = _native([n, m, k], [st.eye(n, m, k, dtype="int16"), st.eye(m, n, k)], ["Eye"])
    for args in [
        (2, 200, 1),
        (3, 4, 100),
        (3, 4, -100),
        (2, 3, 2**62),
        (4, 2, -(2**62)),
        (4, 2, 2**63 - 1),
        (4, 2, -(2**63)),
        (0, 3, 1),
        (3, 0, 0),
        (5, 5, -4),
    ]:
        got = eye(np.int64(args[0]), np.uint8(args[1]), np.int64(args[2]))
        _check(got, [np.eye(*args, dtype="int16"), np.eye(args[1], args[0], args[2])])
    with pytest.raises(ValueError, match=r"Eye: negative dimensions \(-2, 3\)"):
        eye(np.int64(-2), np.uint8(3), np.int64(0))


def test_arange_errors(constructors_fn):
    fn = constructors_fn.f

    def call(ints=(0, 3, 1), floats=(0.0, 1.0, 0.5)):
        a, b, c = (np.int64(v) for v in ints)
        i, j, k = (np.int32(v) for v in ints)
        return fn(
            a, b, c, i, j, k, *(np.float64(v) for v in floats), *(np.float32(v) for v in floats)
        )

    call()
    with pytest.raises(ValueError, match="ARange: step must not be zero") as info:
        call(ints=(0, 3, 0))
    assert "Apply node that caused the error" in str(info.value)
    with pytest.raises(ValueError, match="ARange: step must not be zero"):
        call(floats=(0.0, 1.0, 0.0))
    with pytest.raises(
        ValueError, match=r"ARange: cannot compute the length of arange\(0, nan, 1\)"
    ):
        call(floats=(0.0, np.nan, 1.0))
    with pytest.raises(OverflowError, match=r"ARange: the length of arange\(0, inf, 1\)"):
        call(floats=(0.0, np.inf, 1.0))
    with pytest.raises(OverflowError, match=r"ARange: the value 200 is out of bounds for int8"):
        call(floats=(100.0, 400.0, 100.0))
    call(floats=(1.0, 4.0, 127.0))  # one value: NumPy never stores start + step


def test_debug_mode_agrees_with_perform():
    """Debug mode runs the native module and every node's perform on the same inputs and
    compares them (and checks that no input was modified)."""
    x, r, n = st.fmatrix("x"), st.lvector("r"), st.lscalar("n")
    y = st.concatenate([x, st.cast(st.arange(n), "float32").reshape((1, -1))], axis=0)
    parts = st.split(y, [1, n - 1], 2, axis=1)
    outs = [st.repeat(y, r, axis=0), st.tile(parts[1], (2, 1)), parts[0].reshape((-1,))]
    outs.append(st.RepeatSum(1)(st.tile(x, (1, 2)), 2, n) + st.eye(x.shape[0], n, 1, "float32"))
    f = sc.function([x, r, n], outs, mode="debug")
    xv = np.arange(12, dtype=np.float32).reshape(3, 4)
    got = f(xv, np.array([1, 0, 2, 3]), np.int64(4))
    y_ref = np.concatenate([xv, np.arange(4, dtype=np.float32)[None]], 0)
    expected = [np.repeat(y_ref, [1, 0, 2, 3], 0), np.tile(y_ref[:, 1:], (2, 1)), y_ref[:, 0]]
    expected.append(_repeat_sum(np.tile(xv, (1, 2)), 2, 4, 1) + np.eye(3, 4, 1, dtype=np.float32))
    _check(got, expected)
