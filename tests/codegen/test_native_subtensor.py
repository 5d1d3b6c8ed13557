"""Native Subtensor and IncSubtensor (symcomp/codegen/cpu/subtensor.py) against NumPy:
views with NumPy's strides, slices clipped like Python's, symbolic index components of
several int dtypes, set/inc with broadcasting over many dtypes, errors, and scans whose
steps index (the gradient of a Fibonacci scan) compiling to a native loop."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.codegen.toolchain import find_compiler
from symcomp.tensor.subtensor import IncSubtensor, Subtensor
from tests.tensor.optable_subtensor import _inc, _set

pytestmark = [
    pytest.mark.cxx,
    pytest.mark.skipif(find_compiler() is None, reason="no C++ compiler"),
]

INDEXING = (Subtensor, IncSubtensor)


def _python_nodes(f) -> list:
    return [n for n in f.runner.fallback_nodes if isinstance(n.op, INDEXING)]


def _layouts(a: np.ndarray) -> list:
    """``a`` as C-ordered, Fortran-ordered, and a negative-stride non-contiguous view."""
    wide = np.empty(tuple(2 * n for n in a.shape), dtype=a.dtype)
    view = wide[tuple(slice(None, None, -2) for _ in a.shape)]
    view[...] = a
    return [a.copy(), np.asfortranarray(a), view]


# -- Subtensor ---------------------------------------------------------------------------


def _view_cases():
    """(symbolic inputs, outputs, NumPy function of the input values giving the outputs)."""
    x, z = st.dtensor3("x"), st.ftensor3("z")
    a, b = st.lscalar("a"), st.iscalar("b")
    c, u = st.scalar("c", dtype="int8"), st.scalar("u", dtype="uint64")
    i, j = st.iscalar("i"), st.scalar("j", dtype="int16")
    outs = [
        (x[1:3], lambda x, z, a, b, c, u, i, j: x[1:3]),
        (x[::-1], lambda x, z, a, b, c, u, i, j: x[::-1]),
        (x[:, ::-2, 1::3], lambda x, z, a, b, c, u, i, j: x[:, ::-2, 1::3]),
        (x[-2:, None, ::3], lambda x, z, a, b, c, u, i, j: x[-2:, None, ::3]),
        (x[10:], lambda x, z, a, b, c, u, i, j: x[10:]),
        (x[-10:2, 5:1:-1], lambda x, z, a, b, c, u, i, j: x[-10:2, 5:1:-1]),
        (x[a:b], lambda x, z, a, b, c, u, i, j: x[a:b]),
        (x[a:b:c], lambda x, z, a, b, c, u, i, j: x[a:b:c]),
        (x[:, b:a:c], lambda x, z, a, b, c, u, i, j: x[:, b:a:c]),
        (x[None, ::c, a:, None], lambda x, z, a, b, c, u, i, j: x[None, ::c, a:, None]),
        (x[u:], lambda x, z, a, b, c, u, i, j: x[int(u) :]),
        (x[:, :u], lambda x, z, a, b, c, u, i, j: x[:, : int(u)]),
        (z[1], lambda x, z, a, b, c, u, i, j: z[1]),
        (z[-1, 2], lambda x, z, a, b, c, u, i, j: z[-1, 2]),
        (z[i], lambda x, z, a, b, c, u, i, j: z[i]),
        (z[i, :, j], lambda x, z, a, b, c, u, i, j: z[i, :, j]),
        (z[1, 2, 3], lambda x, z, a, b, c, u, i, j: z[1, 2, 3, ...]),
        (z[i, ::-1, None, j], lambda x, z, a, b, c, u, i, j: z[i, ::-1, None, j]),
        (z[:, i, a:b:c], lambda x, z, a, b, c, u, i, j: z[:, i, a:b:c]),
    ]
    syms = [x, z, a, b, c, u, i, j]
    return syms, [o for o, _ in outs], [r for _, r in outs]


@pytest.fixture(scope="module")
def views():
    syms, outs, refs = _view_cases()
    f = sc.function(syms, [sc.Out(o, borrow=True) for o in outs])
    assert not _python_nodes(f)
    return f, refs


SCALARS = [  # a (int64), b (int32), c (int8, a step), u (uint64), i (int32), j (int16)
    (1, 3, 1, 2, 0, 0),
    (-3, -1, -1, 2**64 - 1, -4, -6),
    (-100, 100, 2, 0, 3, 5),
    (2, -7, -2, 5, -1, -1),
    (0, 1, -128, 1, 2, 3),
]


def _check_view(got, want, base, k):
    assert got.dtype == want.dtype and got.shape == want.shape, k
    np.testing.assert_array_equal(got, want, err_msg=str(k))
    if want.size > 1:
        assert got.strides == want.strides, (k, got.strides, want.strides)
    if want.size > 0:
        assert np.shares_memory(got, base), k  # a view, as NumPy gives


def test_views_match_numpy(views):
    f, refs = views
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(4, 5, 6)), np.zeros((0, 3, 2)), np.ones((1, 1, 1))]
    zs = _layouts(rng.normal(size=(4, 5, 6)).astype("float32"))
    for n, (xv, zv) in enumerate(zip([*_layouts(xs[0]), xs[1], xs[2]], [*zs, zs[0], zs[1]])):
        for a, b, c, u, i, j in SCALARS:
            args = [
                xv,
                zv,
                np.int64(a),
                np.int32(b),
                np.int8(c),
                np.uint64(u),
                np.int32(i),
                np.int16(j),
            ]
            before = [np.copy(v) for v in args]
            got = f(*args)
            for k, (g, ref) in enumerate(zip(got, refs)):
                base = zv if k >= 12 else xv
                _check_view(g, ref(*args), base, (n, a, b, c, u, i, j, k))
            for v, w in zip(args, before):
                np.testing.assert_array_equal(v, w)


def test_view_of_read_only_input_is_read_only(views):
    f, _ = views
    x = np.arange(24.0).reshape(2, 3, 4)
    x.flags.writeable = False
    z = np.ones((4, 5, 6), "float32")
    scalars = [np.array(v, d) for v, d in zip((0, 2, 1, 3), ("int64", "int32", "int8", "uint64"))]
    got = f(x, z, *scalars, 0, 0)
    assert not got[0].flags.writeable
    assert got[1].base is not None


def test_index_errors_name_node_index_dim_and_shape(views):
    f, _ = views
    x = np.zeros((4, 5, 6))
    z = np.zeros((4, 5, 6), "float32")
    args = [x, z, np.int64(0), np.int32(1), np.int8(1), np.uint64(0)]
    with pytest.raises(IndexError) as err:
        f(*args, np.int32(4), np.int16(0))
    text = str(err.value)
    assert "index 4 is out of bounds for axis 0 with size 4" in text
    assert "Subtensor{" in text and "(4, 5, 6)" in text
    with pytest.raises(IndexError, match="index -7 is out of bounds for axis 2 with size 6"):
        f(*args, np.int32(0), np.int16(-7))
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        f(x, z, np.int64(0), np.int32(1), np.int8(0), np.uint64(0), np.int32(0), np.int16(0))
    # The py runner gives the same messages.
    syms, outs, _ = _view_cases()
    g = sc.function(syms, outs, mode="py")
    with pytest.raises(IndexError) as py_err:
        g(*args, np.int32(4), np.int16(0))
    assert str(py_err.value).splitlines()[0] in text


def test_subtensor_of_every_dtype_is_a_view():
    dtypes = ["bool", "int8", "uint16", "int32", "uint64", "float16", "complex64", "complex128"]
    xs = [st.tensor(d, shape=(None, None), name=d) for d in dtypes]
    n = st.lscalar("n")
    f = sc.function([*xs, n], [sc.Out(x[n:, ::-2], borrow=True) for x in xs])
    assert not _python_nodes(f)
    rng = np.random.default_rng(1)
    values = [(rng.normal(size=(3, 5)) * 10).astype(d) for d in dtypes]
    for v, got in zip(values, f(*values, -2)):
        _check_view(got, v[-2:, ::-2], v, v.dtype)


# -- IncSubtensor ----------------------------------------------------------------------------


class _IncInPlace(IncSubtensor):
    """An IncSubtensor that destroys x (as an in-place variant would declare)."""

    abstract = True  # a test double: no op-table row
    destroy_map = {0: (0,)}


def _update_cases():
    m, v, s = st.dmatrix("m"), st.dvector("v"), st.dscalar("s")
    a, b = st.lscalar("a"), st.iscalar("b")
    t, ti = st.itensor3("t"), st.iscalar("ti")
    bb, bs = st.tensor("bool", shape=(None,), name="bb"), st.scalar("bs", dtype="bool")
    cc, cs = st.zvector("cc"), st.zscalar("cs")
    h, hs = st.tensor("float16", shape=(None,), name="h"), st.scalar("hs", dtype="float16")
    fm, fv = st.fmatrix("fm"), st.fvector("fv")
    syms = [m, v, s, a, b, t, ti, bb, bs, cc, cs, h, hs, fm, fv]

    doubled = m * 2
    outs = [
        (st.set_subtensor(m[1:3], v), lambda V: _set(V["m"], np.s_[1:3], V["v"])),
        (st.inc_subtensor(m[::-1, a], s), lambda V: _inc(V["m"], np.s_[::-1, V["a"]], V["s"])),
        (
            st.set_subtensor(m[a:b:-1], s),
            lambda V: _set(V["m"], np.s_[V["a"] : V["b"] : -1], V["s"]),
        ),
        (
            st.inc_subtensor(m[:, a:b], m[:, a:b]),
            lambda V: _inc(V["m"], np.s_[:, V["a"] : V["b"]], V["m"][:, V["a"] : V["b"]]),
        ),
        (st.set_subtensor(m[-1], v[::-1]), lambda V: _set(V["m"], np.s_[-1], V["v"][::-1])),
        (st.inc_subtensor(m[a, b], s), lambda V: _inc(V["m"], np.s_[V["a"], V["b"]], V["s"])),
        (
            st.inc_subtensor(m[None, 1:, None], v),
            lambda V: _inc(V["m"], np.s_[None, 1:, None], V["v"]),
        ),
        (st.set_subtensor(m[5:], v), lambda V: _set(V["m"], np.s_[5:], V["v"])),
        (st.inc_subtensor(t[:, 1, ::2], ti), lambda V: _inc(V["t"], np.s_[:, 1, ::2], V["ti"])),
        (
            st.set_subtensor(t[-1, :, a], ti),
            lambda V: _set(V["t"], np.s_[-1, :, V["a"]], V["ti"]),
        ),
        (st.inc_subtensor(bb[1:], bs), lambda V: _inc(V["bb"], np.s_[1:], V["bs"])),
        (st.set_subtensor(bb[::2], bs), lambda V: _set(V["bb"], np.s_[::2], V["bs"])),
        (st.inc_subtensor(cc[::-2], cs), lambda V: _inc(V["cc"], np.s_[::-2], V["cs"])),
        (st.set_subtensor(cc[a:], cs), lambda V: _set(V["cc"], np.s_[V["a"] :], V["cs"])),
        (st.set_subtensor(h[1:], hs), lambda V: _set(V["h"], np.s_[1:], V["hs"])),
        (st.inc_subtensor(h[::-1], h[:1]), lambda V: _inc(V["h"], np.s_[::-1], V["h"][:1])),
        (
            st.inc_subtensor(fm[:, 1:], fv[1:]),
            lambda V: _inc(V["fm"], np.s_[:, 1:], V["fv"][1:]),
        ),
        (
            _IncInPlace(((("slice", 1, None, None)),))(doubled, v),
            lambda V: _inc(V["m"] * 2, np.s_[1:], V["v"]),
        ),
    ]
    return syms, [o for o, _ in outs], [r for _, r in outs]


@pytest.fixture(scope="module")
def updates():
    syms, outs, refs = _update_cases()
    f = sc.function(syms, outs)
    assert not _python_nodes(f)
    return syms, f, refs


def _update_values(rng, m, a, b):
    return {
        "m": m,
        "v": rng.normal(size=m.shape[1]),
        "s": np.float64(2.5),
        "a": np.int64(a),
        "b": np.int32(b),
        "t": np.full((2, 3, 4), 2**31 - 1, "int32"),  # an increment wraps around, as in NumPy
        "ti": np.int32(3),
        "bb": np.array([True, False, False, True, False]),
        "bs": np.bool_(True),
        "cc": rng.normal(size=5) + 1j * rng.normal(size=5),
        "cs": np.complex128(1 - 2j),
        "h": rng.normal(size=4).astype("float16"),
        "hs": np.float16(0.5),
        "fm": rng.normal(size=(3, 4)).astype("float32"),
        "fv": rng.normal(size=4).astype("float32"),
    }


def test_set_and_inc_match_numpy(updates):
    syms, f, refs = updates
    rng = np.random.default_rng(2)
    base = rng.normal(size=(4, 3))
    for m in _layouts(base):
        for a, b in [(0, 2), (-1, 1), (2, -3)]:
            V = _update_values(rng, m, a, b)
            args = [V[s.name] for s in syms]
            before = [np.copy(x) for x in args]
            with np.errstate(over="ignore"):
                got = f(*args)
            for k, (g, ref) in enumerate(zip(got, refs)):
                with np.errstate(over="ignore"):
                    want = ref(V)
                assert g.dtype == want.dtype and g.shape == want.shape, k
                np.testing.assert_array_equal(g, want, err_msg=f"output {k}, a={a}, b={b}")
            for x, w in zip(args, before):  # inputs are never modified
                np.testing.assert_array_equal(x, w)


def test_update_errors(updates):
    syms, f, _ = updates
    rng = np.random.default_rng(3)
    V = _update_values(rng, rng.normal(size=(4, 3)), 0, 2)
    bad = dict(V, v=np.ones(5))
    with pytest.raises(ValueError, match=r"Subtensor\{.*cannot broadcast a value of shape \(5,\)"):
        f(*[bad[s.name] for s in syms])
    bad = dict(V, a=np.int64(4))
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with size 3"):
        f(*[bad[s.name] for s in syms])
    bad = dict(V, b=np.int32(-5))
    with pytest.raises(IndexError, match=r"shape \(4, 3\).*index -5 is out of bounds for axis 1"):
        f(*[bad[s.name] for s in syms])


# -- inner graphs ------------------------------------------------------------------------------


def _fib(a, n):
    out, _ = sc.scan(
        lambda x2, x1: x1 + x2, outputs_info={"initial": a, "taps": [-2, -1]}, n_steps=n
    )
    return out


def test_scan_and_ifelse_with_indexing_steps_run_natively():
    from symcomp.control.ifelse import IfElse
    from symcomp.control.scan_op import Scan

    a, n, cnd = st.dvector("a"), st.lscalar("n"), st.lscalar("c")
    y = st.dmatrix("y")
    cost = (_fib(a, n) ** 1.5).sum()
    rows, _ = sc.scan(lambda r: r[::-1][1:] * 2, sequences=y)
    outs = [cost, sc.grad(cost, a), rows, sc.ifelse(cnd, y[0], y[-1, ::-1])]
    f = sc.function([a, n, y, cnd], outs)
    g = sc.function([a, n, y, cnd], outs, mode="py")
    steps = [node for node in f.maker.fgraph.apply_nodes if isinstance(node.op, Scan)]
    assert any(
        isinstance(inner.op, INDEXING)
        for node in steps
        for inner in sc.graph.toposort(list(node.op.inner_outputs))
    )
    assert not [node for node in f.runner.fallback_nodes if isinstance(node.op, (Scan, IfElse))]
    # Inner nodes without native code would call their perform at every step.
    assert "[Python perform]" not in f.source
    yv = np.arange(12.0).reshape(4, 3)
    for av, nv, cv in [([0.5, 0.7], 7, 1), ([1.0, 2.0], 0, 0), ([0.1, 0.2], 1, 1)]:
        args = [np.array(av), np.int64(nv), yv, np.int64(cv)]
        for got, want in zip(f(*args), g(*args)):
            np.testing.assert_allclose(got, want, rtol=1e-12)
