"""CrossentropySoftmax1HotDx: values against NumPy (py and native), types, errors, and the
gradient of the fused softmax crossentropy that uses it."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.optimize.mode import Mode
from symcomp.tensor.nnet.fused_xent import crossentropy_softmax_1hot
from symcomp.tensor.nnet.softmax import softmax
from symcomp.tensor.nnet.xent_dx import CrossentropySoftmax1HotDx, crossentropy_softmax_1hot_dx

PLAIN = Mode(linker="py", optimizer=None)


def ref(dy, sm, t):
    out = sm * dy[:, None]
    out[np.arange(sm.shape[0]), t] -= dy
    return out


def _inputs(rng, rows, n, dtype, itype):
    z = rng.normal(size=(rows, n))
    e = np.exp(z - z.max(axis=1, keepdims=True)) if rows else z
    sm = (e / e.sum(axis=1, keepdims=True)).astype(dtype)
    dy = rng.normal(size=rows).astype(dtype)
    return dy, sm, rng.integers(0, n, size=rows).astype(itype)


def test_types_and_static_shape():
    out = crossentropy_softmax_1hot_dx(
        st.fvector(), st.tensor("float32", shape=(4, 3)), st.ivector()
    )
    assert out.dtype == "float32" and out.type.shape == (4, 3)
    out = crossentropy_softmax_1hot_dx(st.tensor("float32", shape=(5,)), st.dmatrix(), st.ivector())
    assert out.dtype == "float64" and out.type.shape == (5, None)


@pytest.mark.parametrize(
    "dy,sm,t,err",
    [
        (st.dmatrix(), st.dmatrix(), st.ivector(), TypeError),
        (st.dvector(), st.dvector(), st.ivector(), TypeError),
        (st.dvector(), st.dmatrix(), st.dvector(), TypeError),
        (
            st.tensor("float64", shape=(3,)),
            st.tensor("float64", shape=(2, 4)),
            st.ivector(),
            ValueError,
        ),
        (st.dvector(), st.dmatrix(), st.tensor("int64", shape=(3,)), None),
    ],
)
def test_bad_types(dy, sm, t, err):
    if err is None:
        assert crossentropy_softmax_1hot_dx(dy, sm, t).type.shape == (3, None)
        return
    with pytest.raises(err, match="CrossentropySoftmax1HotDx"):
        crossentropy_softmax_1hot_dx(dy, sm, t)


@pytest.fixture(scope="module")
def native_fn():
    """One native function: float64 (int64 classes), float32 (int32 classes), and float64
    through a negative-stride, non-contiguous view of sm (uint8 classes)."""
    dy64, sm64, t64 = st.dvector("dy64"), st.dmatrix("sm64"), st.lvector("t64")
    dy32, sm32, t32 = st.fvector("dy32"), st.fmatrix("sm32"), st.ivector("t32")
    t8 = st.tensor("uint8", shape=(None,), name="t8")
    outs = [
        crossentropy_softmax_1hot_dx(dy64, sm64, t64),
        crossentropy_softmax_1hot_dx(dy32, sm32, t32),
        crossentropy_softmax_1hot_dx(dy64[::-1], sm64[::-1, ::-2], t8),
    ]
    f = sc.function([dy64, sm64, t64, dy32, sm32, t32, t8], outs, mode="native")
    nodes = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, CrossentropySoftmax1HotDx)]
    assert len(nodes) == 3
    assert not set(f.runner.fallback_nodes) & set(nodes)
    return f


@pytest.mark.parametrize("rows,n", [(5, 7), (1, 1), (0, 4), (300, 50)])
def test_native_values(native_fn, rows, n):
    rng = np.random.default_rng(rows * 100 + n)
    dy64, sm64, t64 = _inputs(rng, rows, n, "float64", "int64")
    dy32, sm32, t32 = _inputs(rng, rows, n, "float32", "int32")
    t8 = rng.integers(0, (n + 1) // 2, size=rows).astype("uint8")
    got = native_fn(dy64, sm64, t64, dy32, sm32, t32, t8)
    want = [
        ref(dy64, sm64, t64),
        ref(dy32, sm32, t32),
        ref(dy64[::-1], sm64[::-1, ::-2], t8),
    ]
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-6 if w.dtype == np.float32 else 1e-13)
    # non-contiguous arguments: a Fortran-ordered sm and a strided dy
    wide = np.repeat(dy64, 2)
    got = native_fn(wide[::2], np.asfortranarray(sm64), t64, dy32, sm32, t32, t8)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
    # py mode (perform) gives the same values
    f_py = sc.function([], [crossentropy_softmax_1hot_dx(dy32, sm64, t64)], mode="py")
    (p,) = f_py()
    w = ref(dy32.astype("float64"), sm64, t64)
    assert p.dtype == w.dtype and p.shape == w.shape
    np.testing.assert_allclose(p, w, rtol=1e-13)


def test_native_errors(native_fn):
    rng = np.random.default_rng(1)
    dy64, sm64, t64 = _inputs(rng, 3, 4, "float64", "int64")
    dy32, sm32, t32 = _inputs(rng, 3, 4, "float32", "int32")
    t8 = np.zeros(3, "uint8")
    with pytest.raises(IndexError, match=r"CrossentropySoftmax1HotDx.*t\[1\] = 4.*\(3, 4\)"):
        native_fn(dy64, sm64, np.array([0, 4, 1]), dy32, sm32, t32, t8)
    with pytest.raises(IndexError, match=r"t\[2\] = -1.*float32"):
        native_fn(dy64, sm64, t64, dy32, sm32, np.array([0, 1, -1], "int32"), t8)
    with pytest.raises(IndexError, match=r"t\[0\] = 2 .*\(3, 2\)"):
        native_fn(dy64, sm64, t64, dy32, sm32, t32, np.array([2, 0, 0], "uint8"))
    with pytest.raises(ValueError, match=r"CrossentropySoftmax1HotDx: dy has 2 entries, sm 3 rows"):
        native_fn(dy64[:2], sm64, t64, dy32, sm32, t32, t8)
    with pytest.raises(ValueError, match=r"t 2 entries"):
        native_fn(dy64, sm64, t64, dy32, sm32, t32[:2], t8)


def test_py_errors():
    dy, sm, t = st.dvector(), st.dmatrix(), st.lvector()
    f = sc.function([dy, sm, t], crossentropy_softmax_1hot_dx(dy, sm, t), mode=PLAIN)
    with pytest.raises(IndexError, match=r"CrossentropySoftmax1HotDx.*\[0, 3\).*t\[1\] = 3"):
        f(np.ones(2), np.ones((2, 3)), np.array([0, 3]))
    with pytest.raises(IndexError, match=r"t\[0\] = -1"):
        f(np.ones(2), np.ones((2, 3)), np.array([-1, 0]))
    with pytest.raises(ValueError, match="dy has 1 entries, sm 2 rows"):
        f(np.ones(1), np.ones((2, 3)), np.array([0, 0]))
    with pytest.raises(IndexError):
        f(np.ones(1), np.ones((1, 0)), np.array([0]))
    assert f(np.ones(0), np.ones((0, 3)), np.zeros(0, "int64")).shape == (0, 3)


def test_fused_crossentropy_gradient():
    rng = np.random.default_rng(0)
    t = np.array([0, 2, 1, 2])
    w = rng.normal(size=4)
    sc.gradient.verify_grad(
        lambda x: crossentropy_softmax_1hot(x, t) * w, [rng.normal(size=(4, 3))], mode="py"
    )
    # the op's own pullback (wrt dy and sm), second order
    sc.gradient.verify_grad(
        lambda dy, x: crossentropy_softmax_1hot_dx(dy, softmax(x, axis=1), t),
        [rng.normal(size=4), rng.normal(size=(4, 3))],
        mode="py",
    )


def _np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softmax_crossentropy_gradient_uses_the_fused_op(dtype):
    # grad(categorical_crossentropy(softmax(x), t)) is built before stabilize fuses the
    # forward; stabilize turns its softmax pullback into one CrossentropySoftmax1HotDx.
    x, t, w = st.matrix("x", dtype=dtype), st.ivector("t"), st.vector("w", dtype=dtype)
    xent = st.nnet.categorical_crossentropy(st.nnet.softmax(x), t)
    outs = [sc.grad(st.mean(xent), x), sc.grad(st.sum(xent * w), x)]
    f = sc.function([x, t, w], outs, mode="py")
    names = [type(n.op).__name__ for n in f.maker.fgraph.apply_nodes]
    assert names.count("CrossentropySoftmax1HotDx") == 2, names
    assert "AdvancedIncSubtensor" not in names and "ARange" not in names, names
    assert names.count("Softmax") == 1, names
    rng = np.random.default_rng(5)
    for rows, n in [(4, 3), (1, 1), (0, 3)]:
        z = rng.normal(size=(rows, n)).astype(dtype)
        tv = rng.integers(0, n, size=rows).astype("int32")
        wv = rng.normal(size=rows).astype(dtype)
        sm = _np_softmax(z) if rows else z
        got = f(z, tv, wv)
        want = [ref(np.full(rows, 1.0 / max(rows, 1), dtype), sm, tv), ref(wv, sm, tv)]
        for g, e in zip(got, want):
            assert g.dtype == dtype and g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-7)


def test_softmax_crossentropy_gradient_static_shape():
    x = st.tensor("float64", shape=(3, 4), name="x")
    t = st.tensor("int64", shape=(3,), name="t")
    f = sc.function(
        [x, t],
        sc.grad(st.sum(st.nnet.categorical_crossentropy(st.nnet.softmax(x), t)), x),
        mode="py",
    )
    assert any(isinstance(n.op, CrossentropySoftmax1HotDx) for n in f.maker.fgraph.apply_nodes)
    z, tv = np.arange(12.0).reshape(3, 4) / 7, np.array([3, 0, 2])
    np.testing.assert_allclose(f(z, tv), ref(np.ones(3), _np_softmax(z), tv), rtol=1e-12)
