"""function(): inputs, outputs, updates, givens, In/Out, shared variables, errors."""

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.compile import UnusedInputError


def test_outputs_single_list_dict():
    x = st.dvector("x")
    assert isinstance(sc.function([x], x * 2, mode="py")(np.ones(2)), np.ndarray)
    out = sc.function([x], [x * 2, x + 1], mode="py")(np.ones(2))
    assert isinstance(out, list) and len(out) == 2
    d = sc.function([x], {"a": x * 2, "b": x + 1}, mode="py")(np.ones(2))
    np.testing.assert_array_equal(d["b"], [2, 2])


def test_call_by_name_and_defaults():
    x, y = st.dscalar("x"), st.dscalar("y")
    f = sc.function([x, sc.In(y, value=10.0)], x - y, mode="py")
    assert f(1.0) == -9.0
    assert f(1.0, 2.0) == -1.0
    assert f(y=3.0, x=1.0) == -2.0
    with pytest.raises(TypeError, match="no input named"):
        f(1.0, z=2.0)
    with pytest.raises(TypeError, match="missing input"):
        sc.function([x, y], x - y, mode="py")(1.0)


def test_argument_checks_name_the_input():
    x = st.dmatrix("x")
    f = sc.function([x], x * 2, mode="py")
    with pytest.raises(TypeError, match=r"argument 0 \(x\).*2 dimensions"):
        f(np.ones(3))
    fx = st.fvector("fx")
    g = sc.function([fx], fx * 2, mode="py")
    assert g([1.5, 2.5]).dtype == np.float32  # Python floats may be downcast
    with pytest.raises(TypeError, match="without loss"):
        g(np.ones(2))  # a float64 array is not silently downcast
    assert (
        sc.function([fx], fx, mode="py", allow_input_downcast=True)(np.ones(2)).dtype == np.float32
    )
    iv = st.ivector("iv")
    h = sc.function([iv], iv + 1, mode="py")
    assert h([1, 2]).dtype == np.int32
    with pytest.raises(TypeError):
        h([1.5])


def test_static_shape_checked():
    x = st.tensor("float64", shape=(2, None), name="x")
    f = sc.function([x], x + 1, mode="py")
    with pytest.raises(ValueError, match="static shape"):
        f(np.ones((3, 2)))


def test_trust_input_skips_checks():
    x = st.dvector("x")
    f = sc.function([x], x + 1, mode="py", trust_input=True)
    np.testing.assert_array_equal(f(np.zeros(2)), [1, 1])


def test_updates_read_old_values():
    a = sc.shared(np.array(1.0), name="a")
    b = sc.shared(np.array(2.0), name="b")
    swap = sc.function([], [a + b], updates=[(a, b), (b, a)], mode="py")
    (s,) = swap()
    assert s == 3.0 and a.get_value() == 2.0 and b.get_value() == 1.0


def test_update_type_mismatch_refused():
    w = sc.shared(np.zeros(3, dtype="float32"), name="w")
    x = st.dvector("x")
    with pytest.raises(TypeError, match="float32.*float64"):
        sc.function([x], [], updates=[(w, w + x)], mode="py")
    m = st.dmatrix("m")
    v = sc.shared(np.zeros(3), name="v")
    with pytest.raises(TypeError, match="update"):
        sc.function([m], [], updates=[(v, m)], mode="py")


def test_shared_borrow_semantics():
    arr = np.zeros(3)
    s = sc.shared(arr)
    arr[0] = 5
    assert s.get_value()[0] == 0
    b = sc.shared(arr, borrow=True)
    assert b.get_value(borrow=True) is arr
    v = s.get_value()
    v[1] = 7
    assert s.get_value()[1] == 0
    s.set_value(np.ones(4))
    assert s.get_value().shape == (4,)
    with pytest.raises(TypeError):
        s.set_value(np.ones((2, 2)))


def test_givens():
    x, y = st.dscalar("x"), st.dscalar("y")
    w = sc.shared(np.array(3.0), name="w")
    f = sc.function([y], x * w, givens={x: y + 1}, mode="py")
    assert f(1.0) == 6.0


def test_unused_input_policy():
    x, y = st.dscalar("x"), st.dscalar("y")
    with pytest.raises(UnusedInputError, match="y"):
        sc.function([x, y], x * 2, mode="py")
    with pytest.warns(UserWarning):
        sc.function([x, y], x * 2, mode="py", on_unused_input="warn")
    assert sc.function([x, y], x * 2, mode="py", on_unused_input="ignore")(1.0, 2.0) == 2.0


def test_missing_input_is_clear():
    x, y = st.dscalar("x"), st.dscalar("y")
    with pytest.raises(ValueError, match="not among the inputs"):
        sc.function([x], x + y, mode="py")


def test_outputs_are_fresh_and_inputs_untouched():
    x = st.dvector("x")
    f = sc.function([x], [x, x.T], mode="py")
    a = np.ones(3)
    out, out_t = f(a)
    assert out is not a and not np.shares_memory(out, a)
    out[0] = 9
    assert a[0] == 1
    g = sc.function([x], sc.Out(x * 2, borrow=True), mode="py")
    assert g(a)[0] == 2


def test_copy_shares_or_not():
    s = sc.shared(np.array(0.0), name="s")
    inc = sc.function([], s, updates=[(s, s + 1)], mode="py")
    inc2 = inc.copy()
    inc2()
    assert s.get_value() == 1.0
    inc3 = inc.copy(share_memory=False)
    inc3()
    assert s.get_value() == 1.0


def test_eval():
    x = st.dvector("x")
    np.testing.assert_array_equal((x * 2).eval({x: [1.0, 2.0]}), [2, 4])
    np.testing.assert_array_equal((x * 2).eval({"x": [1.0, 2.0]}), [2, 4])
    assert (st.constant(2.0) * 3).eval() == 6.0


def test_runtime_error_names_node_shapes_and_line():
    x, y = st.dmatrix("x"), st.dvector("y")
    z = x + y  # the line the error must name
    f = sc.function([x, y], z, mode="py")
    with pytest.raises(ValueError) as info:
        f(np.ones((3, 4)), np.ones(5))
    msg = str(info.value)
    assert "Elemwise{Add}" in msg and "(3, 4)" in msg and "(5,)" in msg
    assert "test_function.py" in msg and "z = x + y" in msg


def test_static_broadcast_error_at_build_time():
    x = st.tensor("float64", (3, 4), name="x")
    y = st.tensor("float64", (5,), name="y")
    with pytest.raises(ValueError, match=r"(?s)Add.*\(3, 4\).*\(5,\).*test_function.py"):
        x + y


def test_profile():
    x = st.dvector("x")
    f = sc.function([x], x * 2 + 1, mode="py", profile=True)
    f(np.ones(4))
    assert f.profile.calls == 1
    assert "Elemwise" in f.profile.summary()


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        sc.function([], st.constant(1.0), mode="fast")
