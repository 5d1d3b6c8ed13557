"""Native advanced indexing (AdvancedSubtensor, AdvancedIncSubtensor, LastWriteMask), Nonzero,
CumSum and CumProd against NumPy: dtypes, shapes, values, strided and empty inputs, errors.
Each test compiles one function with many outputs and calls it on several inputs."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.codegen.toolchain import find_compiler
from symcomp.tensor.advanced import AdvancedIncSubtensor, AdvancedSubtensor, Nonzero
from symcomp.tensor.cumulative import CumOp, CumSum
from tests.tensor.optable_subtensor import _add_at, _set

pytestmark = [
    pytest.mark.cxx,
    pytest.mark.skipif(find_compiler() is None, reason="no C++ compiler"),
]

NATIVE = (AdvancedSubtensor, AdvancedIncSubtensor, Nonzero, CumOp)


def _compile(inputs, outputs):
    f = sc.function(inputs, outputs, mode="native", on_unused_input="ignore")
    ours = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, NATIVE)]
    assert ours, "the graph lost the ops under test"
    slow = [n for n in f.runner.fallback_nodes if isinstance(n.op, NATIVE)]
    assert not slow, f"these nodes run their Python perform: {slow}"
    return f


def _check(got, expected, exact=True):
    assert len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected)):
        e = np.asarray(e)
        assert g.dtype == e.dtype, (k, g.dtype, e.dtype)
        assert g.shape == e.shape, (k, g.shape, e.shape)
        if exact:
            np.testing.assert_array_equal(g, e, err_msg=f"output {k}")
        else:
            np.testing.assert_allclose(g, e, rtol=1e-12, err_msg=f"output {k}")


def _call(f, args):
    before = [np.array(a, copy=True) for a in args]
    got = f(*args)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b, err_msg="an input was modified")
    return got


def _last_writes(a, idx):
    target = np.full(a.shape, -1, dtype=np.int64)
    shape = target[idx].shape
    ids = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    target[idx] = ids
    return target[idx] == ids


# -- gather ------------------------------------------------------------------------------------

x3 = st.dtensor3("x")
i2 = st.lmatrix("i")
ju = st.tensor("uint8", shape=(None,), name="j")
k8 = st.bvector("k")
a, s, t = st.lscalar("a"), st.lscalar("s"), st.bscalar("t")
m2 = st.tensor("bool", shape=(None, None), name="m")


def _gather_ref(x, i, j, k, a, s, t, m):
    return [
        x[i],
        x[i, :, j],  # separated arrays: the index dims go first
        x[a::s, i, k],  # adjacent, after a symbolic slice
        x[..., k, None],
        x[t, i],  # a symbolic int joins the advanced block
        x[m, k],  # a mask broadcast with an array
        x[:, m[0]],
        x[np.bool_(True)],
        x[1:, [0, -1, 0]],
        x[i, ::-1][:, :, 1],
    ]


def _gather_outputs():
    return [
        x3[i2],
        x3[i2, :, ju],
        x3[a::s, i2, k8],
        x3[..., k8, None],
        x3[t, i2],
        x3[m2, k8],
        x3[:, m2[0]],
        x3[True],
        x3[1:, [0, -1, 0]],
        x3[i2, ::-1][:, :, 1],
    ]


def _gather_args(rng, shape, strided=False):
    n0, n1, n2 = shape
    x = rng.normal(size=shape)
    low = min(n0, n1)  # i indexes axis 0 and axis 1, j and k axis 2
    i = np.asfortranarray(rng.integers(-low, low, size=(2, 3)))
    j = rng.integers(0, n2, size=3).astype(np.uint8)
    k = rng.integers(-n2, n2, size=3).astype(np.int8)
    m = np.zeros((n0, n1), bool)
    m.flat[rng.permutation(n0 * n1)[:3]] = True
    if strided:
        x = np.ascontiguousarray(x[::-1, :, ::-1])[::-1, :, ::-1]
        x = np.repeat(x, 2, axis=1)[:, ::2]
        i, j, k = i[:, ::-1], j[::-1], np.repeat(k, 2)[::-2]
    return [x, i, j, k, -1, -2, -n0, m]


def test_gather_matches_numpy():
    f = _compile([x3, i2, ju, k8, a, s, t, m2], _gather_outputs())
    rng = np.random.default_rng(0)
    for args in (
        _gather_args(rng, (4, 3, 5)),
        _gather_args(rng, (4, 3, 5), strided=True),
        _gather_args(rng, (2, 3, 1)),
        _gather_args(rng, (60, 30, 40)),  # large enough to release the GIL
    ):
        _check(_call(f, args), _gather_ref(*args))


def test_gather_size_zero():
    x = st.dmatrix("x")
    i = st.lvector("i")
    m = st.tensor("bool", shape=(None,), name="m")
    f = _compile([x, i, m], [x[i], x[:, i], x[m], x[i, i]])
    for xv, iv, mv in (
        (np.zeros((0, 3)), np.zeros(0, int), np.zeros(0, bool)),
        (np.ones((2, 3)), np.zeros(0, int), np.zeros(2, bool)),
        (np.ones((3, 0)), np.array([2, -3]), np.ones(3, bool)),
    ):
        if xv.shape[1] == 0 and iv.size:  # x[:, i] of a length-0 axis: NumPy raises
            with pytest.raises(IndexError, match="axis 1 with size 0"):
                f(xv, iv, mv)
            continue
        expected = [xv[iv], xv[:, iv], xv[mv], xv[iv, iv]]
        _check(_call(f, [xv, iv, mv]), expected)


def test_gather_every_dtype():
    dtypes = ["float32", "int8", "uint16", "int32", "uint64", "bool", "float16", "complex128"]
    xs = [st.tensor(d, shape=(None, None), name=d) for d in dtypes]
    i = st.ivector("i")
    f = _compile([*xs, i], [x[i, 1:] for x in xs] + [x[:, i] for x in xs])
    rng = np.random.default_rng(1)
    values = [(rng.normal(size=(4, 3)) * 50).astype(d) for d in dtypes]
    values[5] = rng.random((4, 3)) < 0.5
    iv = np.array([2, -1, 0, 0, -3], np.int32)
    got = _call(f, [*values, iv])
    _check(got, [v[iv, 1:] for v in values] + [v[:, iv] for v in values])


# -- set and inc -------------------------------------------------------------------------------


def test_updates_match_numpy():
    x = st.dmatrix("x")
    y = st.dvector("y")
    i = st.lvector("i")
    j = st.ivector("j")
    m = st.tensor("bool", shape=(None, None), name="m")
    xf, yf = st.fmatrix("xf"), st.fvector("yf")
    xb = st.tensor("int8", shape=(None, None), name="xb")
    xl = st.tensor("bool", shape=(None,), name="xl")
    w = st.dmatrix("w")
    outputs = [
        st.inc_subtensor(x[i], y),  # repeated rows accumulate (np.add.at)
        st.set_subtensor(x[i], y),  # repeated rows: the last wins
        st.inc_subtensor(x[i, j], 2.5),
        st.set_subtensor(x[i, j], y[: i.shape[0]]),
        st.set_subtensor(x[:, j], y[0]),
        st.inc_subtensor(x[m], 1.0),
        st.set_subtensor(x[m], -y[0]),
        st.inc_subtensor(xf[i, ::-1], yf),
        st.inc_subtensor(xb[i], st.cast(100, "int8")),  # int8 wraps around
        st.inc_subtensor(xl[i], True),
        st.set_subtensor(xl[i], False),
        st.last_write_mask(x[i, j]),
        st.last_write_mask(x[i, 1:]),
        sc.grad(st.sum(x[i, j] * w[0, : i.shape[0]]), x),
    ]
    f = _compile([x, y, i, j, m, xf, yf, xb, xl, w], outputs)
    rng = np.random.default_rng(2)

    def run(xv, iv, jv, mv):
        n0, n1 = xv.shape
        yv = rng.normal(size=n1)
        xfv, yfv = xv.astype(np.float32), yv.astype(np.float32)
        xbv = rng.integers(-100, 100, size=xv.shape).astype(np.int8)
        xlv = rng.random(n0) < 0.5
        wv = rng.normal(size=(1, 8))
        args = [xv, yv, iv, jv, mv, xfv, yfv, xbv, xlv, wv]
        expected = [
            _add_at(xv, iv, yv),
            _set(xv, iv, yv),
            _add_at(xv, (iv, jv), 2.5),
            _set(xv, (iv, jv), yv[: len(iv)]),
            _set(xv, (slice(None), jv), yv[0]),
            _add_at(xv, mv, 1.0),
            _set(xv, mv, -yv[0]),
            _add_at(xfv, (iv, slice(None, None, -1)), yfv),
            _add_at(xbv, iv, np.int8(100)),
            _add_at(xlv, iv, True),
            _set(xlv, iv, False),
            _last_writes(xv, (iv, jv)),
            _last_writes(xv, (iv, slice(1, None))),
            _add_at(np.zeros_like(xv), (iv, jv), wv[0, : len(iv)]),
        ]
        got = _call(f, args)
        _check(got[:7] + got[8:], expected[:7] + expected[8:])
        _check(got[7:8], expected[7:8], exact=False)  # float32 sums: NumPy may pair them

    run(
        np.arange(20.0).reshape(4, 5),
        np.array([0, 2, 0, -1, 2]),
        np.array([4, 0, 4, 1, -5], np.int32),
        rng.random((4, 5)) < 0.5,
    )
    xs = rng.normal(size=(8, 6))[::-2, ::2]  # negative and non-unit strides
    run(
        xs,
        np.array([3, -1, 3])[::-1],
        np.array([1, 1, 2, 0], np.int32)[1:],
        np.eye(4, 3, dtype=bool),
    )
    run(np.zeros((0, 3)), np.zeros(0, int), np.zeros(0, np.int32), np.zeros((0, 3), bool))


# -- nonzero -----------------------------------------------------------------------------------


def test_nonzero_matches_numpy():
    dtypes = ["float64", "float32", "int8", "uint32", "bool"]
    xs = [st.tensor(d, shape=(None, None), name=d) for d in dtypes]
    v = st.dtensor3("v")
    f = _compile(
        [*xs, v], [o for x in xs for o in st.nonzero(x)] + [*st.nonzero(v), st.flatnonzero(v)]
    )
    rng = np.random.default_rng(3)
    for shape in ((5, 4), (1, 1), (0, 3)):
        values = [(rng.integers(-1, 2, size=shape)).astype(d) for d in dtypes]
        if values[0].size:
            values[0].flat[0], values[1].flat[-1] = np.nan, -0.0
        vv = rng.integers(0, 2, size=(3,) + shape).astype(float)[:, ::-1]
        got = _call(f, [*values, vv])
        expected = [o for x in values for o in np.nonzero(x)] + [
            *np.nonzero(vv),
            np.flatnonzero(vv),
        ]
        _check(got, expected)


# -- cumulative --------------------------------------------------------------------------------


def test_cumulative_matches_numpy_bit_for_bit():
    x = st.dtensor3("x")
    xf = st.ftensor3("xf")
    b = st.tensor("int8", shape=(None, None), name="b")
    u = st.tensor("uint16", shape=(None,), name="u")
    z = st.dscalar("z")
    outputs = [
        st.cumsum(x),
        st.cumsum(x, axis=0),
        st.cumsum(x, axis=1),
        st.cumsum(x, axis=-1),
        st.cumprod(x, axis=-2),
        st.cumprod(x),
        CumSum(axis=1, reverse=True)(x),
        CumSum(axis=None, reverse=True)(x),
        st.cumsum(x, axis=2, dtype="float32"),
        st.cumsum(xf, axis=0),
        st.cumprod(xf, axis=2),
        st.cumsum(b, axis=1),  # int8 -> int64
        st.cumprod(b, axis=0, dtype="int8"),  # wraps around
        st.cumsum(st.cast(b, "bool"), axis=1),
        st.cumprod(u),  # uint16 -> uint64, large products wrap
        st.cumsum(z),
        st.cumprod(z),
    ]
    f = _compile([x, xf, b, u, z], outputs)
    rng = np.random.default_rng(4)

    def reverse_cumsum(v, axis):
        if axis is None:
            v, axis = v.reshape(-1), 0
        return np.flip(np.cumsum(np.flip(v, axis), axis), axis)

    def run(xv, bv, uv):
        xfv = xv.astype(np.float32)
        args = [xv, xfv, bv, uv, 0.5]
        expected = [
            np.cumsum(xv),
            np.cumsum(xv, 0),
            np.cumsum(xv, 1),
            np.cumsum(xv, -1),
            np.cumprod(xv, -2),
            np.cumprod(xv),
            reverse_cumsum(xv, 1),
            reverse_cumsum(xv, None),
            np.cumsum(xv, 2, dtype="float32"),
            np.cumsum(xfv, 0),
            np.cumprod(xfv, 2),
            np.cumsum(bv, 1),
            np.cumprod(bv, 0, dtype="int8"),
            np.cumsum(bv.astype(bool), 1),
            np.cumprod(uv),
            np.cumsum(0.5),
            np.cumprod(0.5),
        ]
        _check(_call(f, args), expected)

    u = rng.integers(1, 60000, size=9).astype(np.uint16)
    run(rng.normal(size=(3, 4, 5)), rng.integers(-100, 100, size=(6, 7)).astype(np.int8), u)
    big = rng.uniform(0.9, 1.1, size=(40, 30, 50))  # parallel lines, GIL released
    run(big[:, ::-1, ::2], rng.integers(-3, 3, size=(7, 2)).astype(np.int8)[::-1], u[::-2])
    run(np.zeros((2, 0, 3)), np.zeros((0, 4), np.int8), np.zeros(0, np.uint16))


# -- errors ------------------------------------------------------------------------------------


def test_bad_indices_raise_naming_node_value_axis_and_shape():
    x = st.dmatrix("x")
    i = st.lvector("i")
    j = st.tensor("uint8", shape=(None,), name="j")
    m = st.tensor("bool", shape=(None,), name="m")
    y = st.dvector("y")
    s = st.lscalar("s")
    f = _compile(
        [x, i, j, m, y, s],
        [x[i, j], x[m], st.inc_subtensor(x[i], y), x[::s, i], st.set_subtensor(x[:, i], y[0])],
    )
    good = dict(
        x=np.zeros((3, 4)),
        i=np.array([0, 1]),
        j=np.array([1, 2], np.uint8),
        m=np.ones(3, bool),
        y=np.zeros(4),
        s=1,
    )
    _check(f(*good.values())[:1], [np.zeros(2)])
    cases = [
        (
            dict(i=np.array([0, 3])),
            IndexError,
            r"index 3 is out of bounds for axis 0 with size 3 \(x has shape \(3, 4\)\)",
        ),
        (dict(i=np.array([-4, 0])), IndexError, "index -4 is out of bounds for axis 0 with size 3"),
        (
            dict(j=np.array([4, 0], np.uint8)),
            IndexError,
            "index 4 is out of bounds for axis 1 with size 4",
        ),
        (
            dict(m=np.ones(4, bool)),
            IndexError,
            "boolean index did not match .* axis 0; size of axis is 3",
        ),
        (
            dict(j=np.zeros(3, np.uint8)),
            IndexError,
            r"could not be broadcast together with shapes \(2,\) \(3,\)",
        ),
        (
            dict(y=np.zeros(3)),
            ValueError,
            r"value array of shape \(3,\) could not be broadcast .* \(2, 4\)",
        ),
        (dict(s=0), ValueError, "slice step cannot be zero"),
    ]
    for change, exc, pattern in cases:
        args = {**good, **change}
        with pytest.raises(exc, match=pattern) as info:
            f(*args.values())
        assert "Apply node that caused the error" in str(info.value)
        assert "test_native_advanced.py" in str(info.value)
