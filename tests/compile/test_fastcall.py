"""The native call path (templates/include/symcomp/caller.hpp): positional calls go straight
into the module; everything the Python path does (conversions, defaults, keywords, updates,
fresh outputs, borrow, errors, copy, profile) must behave the same through it."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.codegen.toolchain import find_compiler

pytestmark = [
    pytest.mark.cxx,
    pytest.mark.skipif(find_compiler() is None, reason="no C++ compiler"),
]


def native(*args, **kwargs):
    fn = sc.function(*args, mode="native", **kwargs)
    assert fn._caller is not None and type(fn).__call__ is fn._caller
    return fn


def test_positional_keyword_and_default_calls_agree():
    a, b = st.dscalar("a"), st.dvector("b")
    f = native([a, sc.In(b, value=np.ones(2))], a * b)
    x, y = np.array(2.0), np.array([1.0, 3.0])
    np.testing.assert_array_equal(f(x, y), [2.0, 6.0])
    np.testing.assert_array_equal(f(a=x, b=y), [2.0, 6.0])
    np.testing.assert_array_equal(f(x), [2.0, 2.0])  # the default
    with pytest.raises(TypeError, match="takes 2 arguments, got 3"):
        f(x, y, y)
    with pytest.raises(TypeError, match="no input named 'c'"):
        f(x, c=y)


def test_conversions_follow_the_python_rules():
    x = st.fvector("x")
    f = native([x], x * 2)
    np.testing.assert_array_equal(f([1, 2]), np.array([2, 4], "float32"))  # list -> float32
    assert f([1, 2]).dtype == np.float32
    with pytest.raises(TypeError, match=r"bad argument 0 \(x\).*float64"):
        f(np.ones(2))  # float64 -> float32 is a downcast
    g = native([x], x * 2, allow_input_downcast=True)
    assert g(np.ones(2)).dtype == np.float32
    v = st.dvector("v")
    h = native([v], v * 1)
    with pytest.raises(TypeError, match=r"bad argument 0 \(v\).*shape \(2, 2\)"):
        h(np.ones((2, 2)))  # wrong ndim


def test_static_shapes_are_checked():
    x = st.tensor("float64", shape=(2, None), name="x")
    f = native([x], x + 1)
    assert f(np.zeros((2, 5))).shape == (2, 5)
    with pytest.raises(ValueError, match="bad argument 0"):
        f(np.zeros((3, 5)))


def test_non_contiguous_unaligned_and_swapped_arguments():
    x = st.dmatrix("x")
    f = native([x], x * 2)
    a = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(f(a[:, ::2]), a[:, ::2] * 2)
    np.testing.assert_array_equal(f(a.T), a.T * 2)
    np.testing.assert_array_equal(f(a.astype(">f8")), a * 2)
    raw = np.frombuffer(b"\0" + a.tobytes(), dtype=np.float64, offset=1).reshape(3, 4)
    np.testing.assert_array_equal(f(raw), a * 2)


def test_outputs_are_fresh_unless_borrowed():
    x = st.dvector("x")
    f = native([x], [x, x.dimshuffle("x", 0), x * 1])
    a = np.arange(3.0)
    same, view, prod = f(a)
    assert same is not a and view.base is None and prod.flags.owndata
    same[0] = view[0, 1] = 100.0
    assert a[0] == 0.0 and a[1] == 1.0
    g = native([x], sc.Out(x * 2, borrow=True))
    r1 = g(a)
    np.testing.assert_array_equal(r1, a * 2)


def test_list_dict_and_single_results():
    x = st.dscalar("x")
    a = np.array(3.0)
    assert native([x], x + 1)(a) == 4.0
    assert native([x], [x + 1, x * 2])(a) == [4.0, 6.0]
    got = native([x], {"p": x + 1, "q": x * 2})(a)
    assert got == {"p": 4.0, "q": 6.0} and list(got) == ["p", "q"]
    assert native([x], [], on_unused_input="ignore")(a) == []


def test_updates_read_old_values_and_store_fresh_arrays():
    w = sc.shared(np.array([1.0, 2.0]), name="w")
    c = sc.shared(np.array(0, dtype="int64"), name="c")
    x = st.dvector("x")
    f = native([x], [w * x, w], updates=[(w, w + x), (c, c + 1)])
    py = sc.function([x], [w * x, w], updates=[(w, w + x), (c, c + 1)], mode="py")
    arg = np.array([1.0, 1.0])
    out, old = f(arg)
    np.testing.assert_array_equal(out, [1.0, 2.0])  # computed from the old value
    np.testing.assert_array_equal(old, [1.0, 2.0])
    assert old is not w.get_value(borrow=True)  # an output never aliases the shared value
    np.testing.assert_array_equal(w.get_value(), [2.0, 3.0])
    f(arg)
    assert int(c.get_value()) == 2
    w.set_value(np.array([1.0, 2.0]))
    c.set_value(np.array(0))
    for _ in range(3):
        expected = py(arg)
    w.set_value(np.array([1.0, 2.0]))
    for _ in range(3):
        got = f(arg)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_update_to_an_input_is_a_copy():
    w = sc.shared(np.zeros(2), name="w")
    x = st.dvector("x")
    f = native([x], [], updates=[(w, x)])
    a = np.array([5.0, 6.0])
    f(a)
    assert w.get_value(borrow=True) is not a
    a[0] = -1.0
    np.testing.assert_array_equal(w.get_value(), [5.0, 6.0])


def test_runtime_errors_name_the_node_and_line_through_the_fast_path():
    x, y = st.dvector("x"), st.dvector("y")
    f = native([x, y], x + y)
    with pytest.raises(ValueError) as info:
        f(np.ones(3), np.ones(4))
    text = str(info.value)
    assert "Apply node that caused the error: Elemwise{Add}" in text
    assert "shape (4,), dtype float64" in text and "test_fastcall.py" in text
    assert isinstance(info.value.__cause__, ValueError)


def test_trust_input_skips_conversions_but_never_crashes():
    x = st.dvector("x")
    f = native([x], x + 1, trust_input=True)
    assert f._caller.trust_input is True
    np.testing.assert_array_equal(f(np.zeros(2)), [1.0, 1.0])
    with pytest.raises(TypeError, match=r"input 0 \(x"):
        f([1.0, 2.0])
    with pytest.raises(TypeError, match=r"input 0 \(x.*dtype float64"):
        f(np.zeros(2, "float32"))
    f.trust_input = False
    assert f._caller.trust_input is False
    np.testing.assert_array_equal(f([1.0, 2.0]), [2.0, 3.0])


def test_copy_and_swap_have_their_own_call_path():
    w = sc.shared(np.array(1.0), name="w")
    v = sc.shared(np.array(10.0), name="v")
    x = st.dscalar("x")
    f = native([x], w * x, updates=[(w, w + 1)])
    g = f.copy(share_memory=False)
    h = f.copy(swap={w: v})
    assert g._caller is not f._caller and type(g) is not type(f)
    a = np.array(2.0)
    assert f(a) == 2.0 and g(a) == 2.0 and h(a) == 20.0
    assert w.get_value() == 2.0 and v.get_value() == 11.0
    assert f(a) == 4.0 and g(a) == 4.0  # g updates its own copy


def test_profiled_functions_take_the_python_path():
    x = st.dvector("x")
    f = sc.function([x], x * 2, mode="native", profile=True)
    assert f._caller is None
    f(np.ones(2))
    assert f.profile.calls == 1


def test_many_inputs_and_outputs():
    xs = [st.dscalar(f"x{k}") for k in range(20)]
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    f = native(xs, [total] + [x * 2 for x in xs])
    got = f(*[np.array(float(k)) for k in range(20)])
    assert got[0] == sum(range(20)) and got[20] == 38.0


def test_functions_are_garbage_collected():
    x = st.dvector("x")
    f = native([x], x * 2)
    ref = weakref.ref(f)
    del f
    gc.collect()
    assert ref() is None
