"""Memory planning: the in-place plan, and the py runner computing into planned buffers."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.compile.runner import PyRunner, ufunc_kernel
from symcomp.graph.fgraph import FunctionGraph
from symcomp.optimize.inplace import plan_inplace, planning_enabled, same_shape_static
from symcomp.optimize.mode import Mode
from symcomp.scalar import arith
from symcomp.scalar.composite import composite_from_graph
from symcomp.tensor.elemwise import Elemwise

PY = Mode(linker="py")
UNFUSED = PY.excluding("fusion")
PLAIN = Mode(linker="py", optimizer=None)


def run_planned(inputs, outputs, values, mutable=(), updates=None):
    """(results, plan) of running ``outputs`` with the py runner and an in-place plan."""
    fg = FunctionGraph(inputs, outputs)
    plan = plan_inplace(fg, mutable, updates)
    return PyRunner(fg).run(values), plan


def node_of(var):
    return var.owner


# -- the plan ---------------------------------------------------------------------------


def test_intermediate_is_overwritten_by_its_last_reader():
    x = st.vector("x")
    t = st.exp(x)
    out = st.sin(t)
    (res,), plan = run_planned([x], [out], [np.array([0.1, 0.2])])
    assert plan.nodes == {node_of(out): 0}
    assert node_of(out) not in plan.checked  # sin(t) has t's shape, statically
    np.testing.assert_array_equal(res, np.sin(np.exp([0.1, 0.2])))


def test_later_reader_blocks_reuse():
    x = st.vector("x")
    t = st.exp(x)
    a, b = st.sin(t), st.cos(t)
    out = a + b
    fg = FunctionGraph([x], [out])
    plan = plan_inplace(fg)
    order = fg.apply_nodes
    first, second = sorted([node_of(a), node_of(b)], key=order.index)
    assert first not in plan.nodes  # t is read again afterwards
    assert plan.nodes[second] == 0
    assert node_of(out) in plan.nodes


def test_function_inputs_constants_and_outputs_are_never_overwritten():
    x = st.vector("x")
    c = st.constant(np.array([1.0, 2.0]))
    t = st.exp(x)
    outs = [t, st.sin(t), st.sin(x), st.cos(c) * x]
    plan = plan_inplace(FunctionGraph([x], outs))
    assert node_of(outs[1]) not in plan.nodes  # t is an output
    assert node_of(outs[2]) not in plan.nodes  # x is an input
    assert plan.nodes.get(node_of(outs[3])) != 1  # x again
    assert node_of(st.cos(c)) not in plan.nodes  # a constant


def test_mutable_input_may_be_overwritten():
    x = st.vector("x")
    out = st.exp(x)
    arr = np.array([0.0, 1.0])
    (res,), plan = run_planned([x], [out], [arr], mutable=[x])
    assert plan.nodes == {node_of(out): 0}
    assert res is arr
    np.testing.assert_array_equal(arr, np.exp([0.0, 1.0]))


def test_views_propagate_readers():
    # sin(t) must not overwrite t while t.T is read afterwards
    m = st.matrix("m")
    t = st.exp(m)
    s = st.sin(t)
    out = s * t.T
    fg = FunctionGraph([m], [out])
    plan = plan_inplace(fg)
    assert node_of(s) not in plan.nodes
    values = [np.arange(9.0).reshape(3, 3) / 10]
    expected = np.sin(np.exp(values[0])) * np.exp(values[0]).T
    np.testing.assert_allclose(PyRunner(fg).run(values)[0], expected, rtol=1e-15)


def test_an_input_aliased_by_another_input_is_not_overwritten():
    # t + t.T: writing t while reading t.T would read overwritten elements in native code
    m = st.matrix("m")
    t = st.exp(m)
    out = t + t.T
    plan = plan_inplace(FunctionGraph([m], [out]))
    assert node_of(out) not in plan.nodes
    same = st.exp(m)
    out2 = same * same  # the same buffer twice is fine: element i reads element i
    assert plan_inplace(FunctionGraph([m], [out2])).nodes == {node_of(out2): 0}


def test_view_of_a_non_mutable_input_is_protected():
    m = st.matrix("m")
    out = st.exp(m.T)
    assert not plan_inplace(FunctionGraph([m], [out])).nodes
    plan = plan_inplace(FunctionGraph([m], [out]), mutable_inputs=[m])
    assert plan.nodes == {node_of(out): 0}


def test_dtype_and_ndim_must_match():
    x = st.ivector("x")
    m = st.matrix("m")
    t = x * 2
    u = st.exp(t)  # int32 -> float64: no reuse of t
    v = st.exp(m) + st.exp(st.vector("w"))  # a vector input never holds the matrix result
    plan = plan_inplace(FunctionGraph([x, m, v.owner.inputs[1].owner.inputs[0]], [u, v]))
    assert node_of(u) not in plan.nodes
    assert plan.nodes.get(node_of(v)) == 0


def test_static_shape_proofs():
    row = st.tensor("float64", (1, None))
    m = st.matrix("m")
    known = st.tensor("float64", (3, 4))
    assert not same_shape_static(node_of(m + row), 1)  # row is broadcast
    assert not same_shape_static(node_of(m + st.matrix("n")), 0)  # either may broadcast
    assert same_shape_static(node_of(m + 1.0), 0)  # the other input is 0-d
    assert same_shape_static(node_of(known + m), 0)  # known lengths other than 1
    assert same_shape_static(node_of(m + st.vector("v").dimshuffle("x", 0)), 0) is False


def test_broadcasting_is_checked_at_run_time():
    # x + y with x (1, 3) and y (3, 3) at run time: x's buffer is too small, no reuse
    x, y = st.matrix("x"), st.matrix("y")
    out = x + y
    a, b = np.ones((1, 3)), np.ones((3, 3)) * 2
    (res,), plan = run_planned([x, y], [out], [a, b], mutable=[x, y])
    assert node_of(out) in plan.checked
    np.testing.assert_array_equal(res, a + b)
    np.testing.assert_array_equal(a, np.ones((1, 3)))
    assert plan.nodes[node_of(out)] == 0 and res is not a


def test_broadcast_view_buffer_is_not_written():
    # a zero-stride view is rejected at run time even when planned
    x = st.matrix("x")
    out = st.exp(x)
    view = np.broadcast_to(np.arange(3.0), (3, 3))
    (res,), _ = run_planned([x], [out], [view], mutable=[x])
    np.testing.assert_array_equal(res, np.exp(view))
    assert res is not view


def test_composite_is_computed_into_the_buffer():
    x, y = st.vector("x"), st.vector("y")
    expr = st.exp(x) * y + 1.0
    comp, outer = composite_from_graph([x, y], expr)
    out = Elemwise(comp)(*outer)
    a, b = np.array([0.5, 1.5]), np.array([2.0, 3.0])
    expected = np.exp(a) * b + 1.0
    (res,), plan = run_planned([x, y], [out], [a, b], mutable=[x])
    assert plan.nodes == {node_of(out): 0}
    assert res is a
    np.testing.assert_array_equal(res, expected)


def test_ufunc_kernel_only_where_values_are_identical():
    assert ufunc_kernel(arith.add, ["float64", "float64"], "float64") is not None
    assert ufunc_kernel(arith.switch, ["bool", "float64", "float64"], "float64") is None
    assert ufunc_kernel(arith.Cast("float32"), ["float32"], "float32") is None
    # float32 + float64 computes in float64: writing into float32 would round differently
    assert ufunc_kernel(arith.add, ["float32", "float64"], "float32") is None


def test_shared_update_is_planned_into_the_old_buffer():
    w = sc.shared(np.ones(3), name="w")
    g = st.vector("g")
    new = w - 0.1 * g
    fg = FunctionGraph([g, w], [st.sum(w * g), new])
    plan = plan_inplace(fg, shared_updates={w: 1})
    assert plan.nodes == {node_of(new): 0}
    assert plan.updates == {1}
    # w read after the update is computed, or returned: its buffer is kept
    late = FunctionGraph([g, w], [new, st.exp(new) * w])
    order = late.apply_nodes
    assert order.index(node_of(new)) < order.index(node_of(st.exp(new) * w))
    assert plan_inplace(late, shared_updates={w: 0}).nodes.get(node_of(new)) != 0
    returned = FunctionGraph([g, w], [w, new])
    plan = plan_inplace(returned, shared_updates={w: 1})
    assert plan.nodes.get(node_of(new)) == 1 and not plan.updates  # 0.1*g's buffer only


def test_planning_follows_the_optimizer():
    assert planning_enabled(PY)
    assert not planning_enabled(PLAIN)
    assert not planning_enabled(PY.excluding("inplace"))
    assert not planning_enabled(Mode(linker="py", optimizer="fast_compile"))


# -- through function() -----------------------------------------------------------------


def test_inputs_are_never_modified_without_mutable():
    x, y = st.vector("x"), st.vector("y")
    f = sc.function([x, y], [st.exp(x) * y, st.sin(x + y)], mode=UNFUSED)
    a, b = np.array([0.1, 0.2]), np.array([0.3, 0.4])
    a0, b0 = a.copy(), b.copy()
    f(a, b)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


def test_mutable_input_is_reused_by_function():
    x, y = st.vector("x"), st.vector("y")
    f = sc.function([sc.In(x, mutable=True), y], sc.Out(st.exp(x) * y + 1.0, borrow=True), mode=PY)
    a, b = np.array([0.1, 0.2]), np.array([0.3, 0.4])
    expected = np.exp(a) * b + 1.0
    res = f(a, b)
    assert np.shares_memory(res, a)
    np.testing.assert_allclose(res, expected, rtol=1e-15)


def test_shared_update_keeps_its_buffer():
    w = sc.shared(np.linspace(0, 1, 4), name="w")
    g = st.vector("g")
    step = sc.function([g], st.sum(w * g), updates=[(w, w - 0.5 * g)], mode=PY)
    buf = w.get_value(borrow=True)
    expected = buf.copy()
    for k in range(3):
        grad = np.full(4, float(k + 1))
        cost = step(grad)
        assert cost == pytest.approx(float(np.sum(expected * grad)))
        expected = expected - 0.5 * grad
        assert w.get_value(borrow=True) is buf
        np.testing.assert_allclose(w.get_value(), expected, rtol=1e-15)


def test_shared_update_not_in_place_when_the_old_value_is_returned():
    w = sc.shared(np.ones(2), name="w")
    f = sc.function([], w, updates=[(w, w * 2.0)], mode=PY)
    buf = w.get_value(borrow=True)
    old = f()
    np.testing.assert_array_equal(old, [1.0, 1.0])
    np.testing.assert_array_equal(w.get_value(), [2.0, 2.0])
    np.testing.assert_array_equal(buf, [1.0, 1.0])


# -- property: random graphs give the same values with and without the plan --------------

UNARY = [st.exp, st.sin, st.tanh, st.neg, st.sqr, st.abs, lambda v: v * 0.5 + 0.1]
BINARY = [st.add, st.mul, st.sub, st.maximum, lambda a, b: a * b + a]


def random_graph(rng, inputs, n_ops=14):
    pool = list(inputs)
    for _ in range(n_ops):
        kind = rng.integers(0, 5)
        a = pool[rng.integers(len(pool))]
        if kind <= 1:
            pool.append(UNARY[rng.integers(len(UNARY))](a))
        elif kind == 2:
            b = pool[rng.integers(len(pool))]
            pool.append(BINARY[rng.integers(len(BINARY))](a, b))
        elif kind == 3:
            pool.append(a.T if a.ndim == 2 else a.dimshuffle("x", 0))
        else:
            pool.append(st.sum(a, axis=0, keepdims=True) * 0.1 + a)
    k = int(rng.integers(1, 4))
    return [pool[j] for j in rng.choice(np.arange(len(inputs), len(pool)), size=k)]


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("mode", [PY, UNFUSED], ids=["fused", "unfused"])
def test_random_graphs_same_values(seed, mode):
    rng = np.random.default_rng(seed)
    inputs = [st.matrix("a"), st.matrix("b"), st.tensor("float64", (1, None), name="r")]
    outputs = random_graph(rng, inputs)
    values = [rng.uniform(0.1, 0.9, size=s) for s in [(3, 3), (3, 3), (1, 3)]]
    expected = sc.function(inputs, outputs, mode=PLAIN, on_unused_input="ignore")(
        *[v.copy() for v in values]
    )
    fg = FunctionGraph(inputs, outputs)
    from symcomp.optimize.pipeline import rewrite

    new_outputs, _ = rewrite(inputs, outputs, mode.optimizer, (), mode.excluded)
    fg = FunctionGraph(inputs, new_outputs)
    for mutable in ([], inputs):
        plan = plan_inplace(fg, mutable)
        args = [v.copy() for v in values]
        got = PyRunner(fg).run(args)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-13, atol=1e-15)
        if not mutable:
            for a, v in zip(args, values):
                np.testing.assert_array_equal(a, v)
        assert all(type(n.op).__name__ == "Elemwise" for n in plan.nodes)
    got = sc.function(inputs, outputs, mode=mode, on_unused_input="ignore")(
        *[v.copy() for v in values]
    )
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-13, atol=1e-15)
