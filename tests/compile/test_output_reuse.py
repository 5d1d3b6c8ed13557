"""Output buffers reused by native code: Out(borrow=True) outputs are written into the previous
call's array when its shape and dtype still fit and it shares no memory with an argument or a
shared value; shared-variable updates planned in place write into the old value's buffer."""

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


def outputs(x, y):
    """A fused elementwise output (broadcast), a plain one, and a reduction."""
    return [st.exp(x) * y + 1.0, x * 2.0, x.sum(axis=1)]


def expected(a, b):
    return [np.exp(a) * b + 1.0, a * 2.0, a.sum(axis=1)]


def check(got, a, b):
    for g, e in zip(got, expected(a, b)):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-12)


@pytest.fixture(scope="module")
def borrowed():
    x, y = st.dmatrix("x"), st.dvector("y")
    o0, o1, o2 = outputs(x, y)
    f = sc.function([x, y], [sc.Out(o0, borrow=True), o1, sc.Out(o2, borrow=True)], mode="native")
    assert not f.runner.fallback_nodes
    return f


def test_borrowed_output_is_written_into_the_previous_array(borrowed):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    a0, b0 = a.copy(), b.copy()
    first = borrowed(a, b)
    check(first, a, b)
    kept = first[0]
    address = kept.__array_interface__["data"][0]
    second = borrowed(a + 1.0, b)
    check(second, a + 1.0, b)
    assert second[0] is kept and second[0].__array_interface__["data"][0] == address
    assert second[1] is not first[1]  # not borrowed: always fresh
    assert second[2] is not first[2]  # a reduction allocates its own output
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


def test_a_new_shape_gives_a_fresh_array_then_reuses_it(borrowed):
    a, b = np.ones((3, 4)), np.arange(4.0)
    kept = borrowed(a, b)[0]
    wide = np.ones((2, 6)), np.arange(6.0)
    got = borrowed(*wide)
    check(got, *wide)
    assert got[0] is not kept and got[0].shape == (2, 6)
    again = borrowed(wide[0] * 3.0, wide[1])
    check(again, wide[0] * 3.0, wide[1])
    assert again[0] is got[0]
    empty = np.ones((0, 6)), np.arange(6.0)  # size 0
    check(borrowed(*empty), *empty)


def test_an_argument_sharing_the_kept_buffer_is_never_written(borrowed):
    b = np.linspace(0.0, 1.0, 4)
    base = np.arange(12.0).reshape(3, 4) / 12.0
    for view in (lambda k: k, lambda k: k[::-1], lambda k: k[:, ::-1], lambda k: k[:, :]):
        kept = borrowed(base, b)[0]
        arg = view(kept)
        before = kept.copy()
        got = borrowed(arg, b)
        check(got, view(before), b)
        assert got[0] is not kept
        np.testing.assert_array_equal(kept, before)


def test_read_only_or_resized_kept_arrays_are_not_reused(borrowed):
    a, b = np.ones((3, 4)), np.ones(4)
    kept = borrowed(a, b)[0]
    kept.flags.writeable = False
    got = borrowed(a, b)
    assert got[0] is not kept
    check(got, a, b)
    kept = got[0]
    kept.shape = (4, 3)  # the user reshaped it in place: the shape no longer fits
    got = borrowed(a, b)
    assert got[0] is not kept and got[0].shape == (3, 4)


def test_not_borrowed_copies_keywords_and_py_mode_get_fresh_arrays(borrowed):
    x, y = st.dmatrix("x"), st.dvector("y")
    fresh = sc.function([x, y], outputs(x, y), mode="native")  # the same module
    a, b = np.full((2, 3), 0.5), np.arange(3.0)
    r1, r2 = fresh(a, b), fresh(a, b)
    assert all(p is not q for p, q in zip(r1, r2))
    check(r2, a, b)
    # The Python call path (keywords) computes fresh arrays and leaves the kept one alone.
    kept = borrowed(a, b)[0]
    by_name = borrowed(x=a * 2.0, y=b)
    check(by_name, a * 2.0, b)
    assert by_name[0] is not kept
    # A copy of the function keeps its own buffer.
    twin = borrowed.copy()
    assert twin(a, b)[0] is not borrowed(a, b)[0]
    o0, o1, o2 = outputs(x, y)
    py = sc.function([x, y], [sc.Out(o0, borrow=True), o1, o2], mode="py")
    p1, p2 = py(a, b), py(a, b)
    check(p2, a, b)
    assert p1[0] is not p2[0]


def test_float32_and_0d_borrowed_outputs_are_reused():
    x, s = st.fvector("x"), st.dscalar("s")
    f = sc.function([x, s], [sc.Out(x * 3.0, borrow=True), sc.Out(s + 1.0, borrow=True)])
    a = np.arange(5, dtype="float32")
    r1 = f(a, np.array(2.0))
    r2 = f(a + 1, np.array(5.0))
    assert r2[0] is r1[0] and r2[1] is r1[1]
    assert r2[0].dtype == np.float32
    np.testing.assert_array_equal(r2[0], (a + 1) * np.float32(3.0))
    assert float(r2[1]) == 6.0


def test_shared_update_written_into_the_old_buffer():
    s = sc.shared(np.zeros(4), name="s")
    t = sc.shared(np.arange(4.0), name="t")
    v = st.dvector("v")
    g = sc.function([v], [t * 2.0, s + v], updates=[(s, s + v)], mode="native")
    assert not g.runner.fallback_nodes
    old = s.get_value(borrow=True)
    out = g(np.ones(4))
    assert s.get_value(borrow=True) is old  # in place
    np.testing.assert_array_equal(old, np.ones(4))
    np.testing.assert_array_equal(out[1], np.ones(4))
    assert out[1] is not old  # not borrowed: a copy, not the shared value
    g(np.ones(4))
    np.testing.assert_array_equal(s.get_value(), [2.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(t.get_value(), np.arange(4.0))
    # Two shared variables holding one buffer: the update must not write into it.
    t.set_value(s.get_value(borrow=True), borrow=True)
    both = s.get_value(borrow=True)
    before = both.copy()
    out = g(np.ones(4))
    np.testing.assert_array_equal(both, before)
    np.testing.assert_array_equal(out[0], before * 2.0)
    np.testing.assert_array_equal(s.get_value(), before + 1.0)
    assert s.get_value(borrow=True) is not both
    # An update whose value is not a plain buffer (a read-only value) gets a fresh one.
    ro = np.zeros(4)
    ro.flags.writeable = False
    s.set_value(ro, borrow=True)
    g(np.full(4, 3.0))
    np.testing.assert_array_equal(s.get_value(), np.full(4, 3.0))
    np.testing.assert_array_equal(ro, np.zeros(4))
