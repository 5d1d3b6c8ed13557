"""The rewrite engine: patterns, node and graph rules, errors, modes, the report, source
lines and idempotence of the whole pipeline."""

import numpy as np
import pytest

import symcomp as sc
import symcomp.scalar.arith as sa
import symcomp.scalar.transcendental as tr
import symcomp.tensor as st
from symcomp.config import change_flags
from symcomp.optimize import Mode, Pass, RewriteError, const, pat, var
from symcomp.optimize.canonicalize import canonicalize
from symcomp.optimize.engine import RewriteContext
from symcomp.optimize.pattern import match
from symcomp.optimize.pipeline import rewrite
from symcomp.optimize.report import RewriteReport
from symcomp.tensor.dimshuffle import DimShuffle
from symcomp.tensor.elemwise import Elemwise
from symcomp.tensor.variable import tensor_constant
from tests.optimize.util import assert_graph_equal, count_nodes, run_passes


def c(value, dtype="float64"):
    return tensor_constant(np.asarray(value, dtype=dtype), dtype=dtype)


def run(outputs, p, inputs, on_error="raise"):
    """One pass over ``outputs``; returns (new outputs, report)."""
    report = RewriteReport()
    ctx = RewriteContext(inputs, report, on_error=on_error)
    return p.run(list(outputs), ctx), report


# -- patterns --------------------------------------------------------------------------------


def test_pattern_binds_variables():
    x = st.matrix("x")
    assert match(pat(sa.add, var("x"), const(1)), x + 1, {}) == {"x": x}
    assert match(pat(sa.add, var("x"), const(1)), x + 2, {}) is None
    assert match(pat(sa.add, var("x"), const(1)), x * 1, {}) is None


@pytest.mark.parametrize("head", [sa.add, sa.mul])
def test_commutative_heads_match_either_order(head):
    x = st.matrix("x")
    p = pat(head, var("x"), const(2))
    build = (lambda a, b: a + b) if head is sa.add else (lambda a, b: a * b)
    assert match(p, build(x, 2), {}) == {"x": x}
    assert match(p, build(2, x), {}) == {"x": x}


def test_non_commutative_heads_keep_order():
    x = st.matrix("x")
    p = pat(sa.sub, var("x"), const(1))
    assert match(p, x - 1, {}) == {"x": x}
    assert match(p, 1 - x, {}) is None


def test_a_repeated_variable_binds_one_value():
    x, y = st.matrix("x"), st.matrix("y")
    p = pat(sa.mul, var("a"), var("a"))
    assert match(p, x * x, {}) == {"a": x}
    assert match(p, x * y, {}) is None
    nested = pat(sa.add, pat(tr.exp, var("a")), var("a"))
    assert match(nested, st.exp(x) + x, {}) == {"a": x}
    assert match(nested, x + st.exp(x), {}) == {"a": x}  # commutative add, nested pattern
    assert match(nested, st.exp(x) + y, {}) is None


def test_const_by_value_after_broadcasting_and_by_predicate():
    x = st.matrix("x")
    assert match(pat(sa.mul, var("x"), const(2)), x * c(np.full((1, 3), 2.0)), {}) == {"x": x}
    assert match(pat(sa.mul, var("x"), const(2)), x * c([2.0, 3.0]), {}) is None
    positive = const(lambda d: bool(np.all(d > 0)), "k")
    found = match(pat(sa.mul, var("x"), positive), x * c([1.0, 3.0]), {})
    assert found["x"] is x and found["k"].data.tolist() == [1.0, 3.0]
    assert match(pat(sa.mul, var("x"), positive), x * c([1.0, -3.0]), {}) is None
    y = st.matrix("y")
    assert match(pat(sa.mul, var("x"), const(2)), x * y, {}) is None  # not a constant


def test_where_and_variable_predicates():
    m, v = st.matrix("m"), st.vector("v")
    p = pat(sa.add, var("big"), var("small"), where=lambda b: b["big"].ndim > b["small"].ndim)
    assert match(p, m + v, {}) == {"big": m, "small": v}
    assert match(p, v + m, {}) == {"big": m, "small": v}  # found by trying the swapped order
    assert match(p, m + m, {}) is None
    scalar = var("s", lambda var_: var_.ndim == 0)
    s = st.scalar("s")
    assert match(pat(sa.mul, scalar, var("x")), s * m, {}) == {"s": s, "x": m}
    assert match(pat(sa.mul, scalar, var("x")), v * m, {}) is None


def test_op_class_op_instance_and_scalar_op_class_heads():
    x = st.matrix("x")
    assert match(pat(DimShuffle, var("x")), x.T, {}) == {"x": x}
    assert match(pat(DimShuffle(2, (1, 0)), var("x")), x.T, {}) == {"x": x}
    assert match(pat(DimShuffle(2, (1, 0)), var("x")), x.dimshuffle(0, 1, "x"), {}) is None
    assert match(pat(sa.Cast, var("x")), st.cast(x, "float32"), {}) == {"x": x}
    assert match(pat(Elemwise(sa.neg), var("x")), -x, {}) == {"x": x}
    named = match(pat(tr.exp, pat(sa.neg, var("x"), name="n"), name="out"), st.exp(-x), {})
    assert named["n"].owner.inputs[0] is x and named["out"].owner.inputs[0] is named["n"]


# -- rules -----------------------------------------------------------------------------------


def test_node_rule_dispatches_on_its_key_only():
    seen = []
    p = Pass("test_node_rule")

    @p.node_rule(sa.Neg)
    def neg_to_mul(node):
        seen.append(node)
        return node.inputs[0] * -1.0

    x = st.vector("x")
    out = run_passes(st.exp(-x) + x * 2.0, p)
    assert_graph_equal(out, st.exp(x * -1.0) + x * 2.0)
    assert all(isinstance(n.op.scalar_op, sa.Neg) for n in seen)


def test_node_rule_with_no_key_sees_every_node():
    kinds = set()
    p = Pass("test_any_rule")

    @p.node_rule()
    def look(node):
        kinds.add(type(getattr(node.op, "scalar_op", node.op)).__name__)

    x = st.matrix("x")
    run_passes(st.exp(-x).T + 1, p)
    assert {"Neg", "Exp", "DimShuffle", "Add"} <= kinds


def test_pattern_rule_gets_bindings_and_runs_to_a_fixed_point():
    p = Pass("test_pattern_rule")

    @p.rule(pat(sa.neg, pat(sa.neg, var("x"))))
    def double_neg(x):
        return x

    x = st.vector("x")
    out = st.neg(st.neg(st.neg(st.neg(-x))))
    assert_graph_equal(run_passes(out, p), -x)


def test_once_pass_sweeps_once():
    p = Pass("test_once", strategy="once")

    @p.rule(pat(sa.neg, var("x")))
    def neg_to_exp(x):
        return st.exp(x)

    x = st.vector("x")
    new, report = run([-x], p, [x])
    assert_graph_equal(new[0], st.exp(x))
    assert report.passes["test_once"].sweeps == 1


def test_graph_rule_sees_all_outputs():
    p = Pass("test_graph_rule", strategy="once")
    calls = []

    @p.graph_rule
    def swap_outputs(outputs, ctx):
        calls.append((list(outputs), list(ctx.inputs)))
        return outputs[::-1]

    x = st.vector("x")
    a, b = st.exp(x), st.log(x)
    new, report = run([a, b], p, [x])
    assert new == [b, a] and calls == [([a, b], [x])]
    assert report.passes["test_graph_rule"].fired["swap_outputs"] == 1


def test_rule_with_wrong_type_is_skipped_with_a_warning():
    p = Pass("test_bad_type")

    @p.rule(pat(sa.neg, var("x")))
    def to_float32(x):
        return st.cast(x, "float32")

    x = st.vector("x")
    with pytest.warns(UserWarning, match="to_float32 returned"):
        new, _ = run([-x], p, [x])
    assert new[0] is (-x)


def test_failing_rule_is_skipped_with_a_warning_or_raises():
    p = Pass("test_failing")

    @p.rule(pat(sa.neg, var("x")))
    def boom(x):
        raise ZeroDivisionError("no")

    x = st.vector("x")
    with pytest.warns(UserWarning, match="rule boom failed .* ZeroDivisionError: no"):
        new, _ = run([-x], p, [x], on_error="warn")
    assert new[0] is (-x)
    with pytest.raises(RewriteError, match="rule boom failed"):
        run([-x], p, [x], on_error="raise")


@pytest.fixture
def failing_canonicalize_rule():
    """A rule in the real canonicalize pass that always raises (removed afterwards)."""

    def cosh_fails(node):
        raise ArithmeticError("cosh rule broke")

    canonicalize.node_rule(tr.Cosh)(cosh_fails)
    yield "cosh_fails"
    canonicalize.rules[tr.Cosh].remove(
        next(r for r in canonicalize.rules[tr.Cosh] if r.fn is cosh_fails)
    )


def test_on_opt_error_flag_in_function(failing_canonicalize_rule):
    # Three different graphs: function() caches rewritten graphs by structure.
    x = st.vector("x")
    with pytest.warns(UserWarning, match="cosh_fails failed"):
        f = sc.function([x], st.cosh(x * 2.0), mode="py")
    np.testing.assert_allclose(f(np.array([0.5])), np.cosh([1.0]))
    with change_flags(on_opt_error="raise"), pytest.raises(RewriteError, match="cosh_fails"):
        sc.function([x], st.cosh(x * 3.0), mode="py")
    # an excluded rule never runs, so it cannot fail
    with change_flags(on_opt_error="raise"):
        mode = Mode(linker="py").excluding(failing_canonicalize_rule)
        sc.function([x], st.cosh(x * 4.0), mode=mode)


# -- modes -------------------------------------------------------------------------------------


def _neg_count(f) -> int:
    return sum(
        1
        for n in f.maker.fgraph.apply_nodes
        if isinstance(getattr(n.op, "scalar_op", None), sa.Neg)
    )


def test_mode_excluding_a_rule_by_name():
    x = st.vector("x")
    out = st.exp(st.neg(-x))
    f = sc.function([x], out, mode=Mode(linker="py").excluding("neg_neg", "fusion"))
    assert _neg_count(f) == 2
    assert f.rewrite_report.fired.get("neg_neg", 0) == 0
    g = sc.function([x], out, mode=Mode(linker="py").excluding("fusion"))
    assert _neg_count(g) == 0 and g.rewrite_report.fired["neg_neg"] == 1
    np.testing.assert_allclose(f(np.array([1.0])), g(np.array([1.0])))


def test_mode_excluding_and_including_passes():
    x = st.vector("x")
    out = st.exp(st.neg(-x))
    # (specialize cancels double negations too: its sum_of_neg makes them)
    excluded = ("canonicalize", "specialize", "fusion")
    f = sc.function([x], out, mode=Mode(linker="py").excluding(*excluded))
    assert _neg_count(f) == 2 and "canonicalize" not in f.rewrite_report.passes
    g = sc.function([x], out, mode=Mode(linker="py", optimizer=None).including("canonicalize"))
    assert _neg_count(g) == 0 and list(g.rewrite_report.passes) == ["canonicalize"]
    h = sc.function([x], out, mode=Mode(linker="py", optimizer=None))
    assert _neg_count(h) == 2 and h.rewrite_report.passes == {}
    k = sc.function([x], out, mode=Mode(linker="py", optimizer="fast_compile"))
    assert list(k.rewrite_report.passes) == ["constant_folding", "canonicalize"]


# -- the report --------------------------------------------------------------------------------


def test_rewrite_report_of_a_function():
    x = st.vector("x")
    f = sc.function([x], st.exp(st.neg(-x)) + 0, mode=Mode(linker="py"))
    report = f.rewrite_report
    assert report.nodes_before == 4 and report.nodes_after == 1
    assert report.fired["neg_neg"] == 1 and report.fired["add_zero"] == 1
    assert report.passes["canonicalize"].fired["neg_neg"] == 1
    assert all(s.seconds >= 0 and s.sweeps >= 1 for s in report.passes.values())
    assert report.seconds >= report.passes["canonicalize"].seconds
    text = report.summary()
    assert "4 -> 1 nodes" in text and "canonicalize" in text and "neg_neg" in text


def test_profile_prints_the_rewrite_report():
    x = st.vector("x")
    f = sc.function([x], st.exp(st.neg(-x)), mode=Mode(linker="py"), profile=True)
    f(np.ones(3))
    text = str(f.profile)
    assert f.profile.rewrite_report is f.rewrite_report
    assert "Rewrites:" in text and "neg_neg" in text


# -- source lines ------------------------------------------------------------------------------


def test_new_nodes_keep_the_replaced_nodes_user_line():
    x, y = st.vector("x"), st.vector("y")
    out = (x - y) * 3.0  # marker line
    line = out.owner.inputs[0].owner.trace.lineno
    new = run_passes(out, canonicalize)
    add = new.owner.inputs[0].owner  # x + neg(y), built by sub_to_add_neg
    assert isinstance(add.op.scalar_op, sa.Add)
    assert add.trace.lineno == line and add.trace.filename == __file__
    assert add.inputs[1].owner.trace.lineno == line  # neg(y), built inside the rule too


def test_nodes_of_a_compiled_function_point_at_user_lines():
    x = st.vector("x")
    out = ((x + 1.0) + 2.0) * 1.0  # marker line
    line = out.owner.trace.lineno
    f = sc.function([x], out, mode=Mode(linker="py").excluding("fusion"))
    assert [n.trace.lineno for n in f.maker.fgraph.apply_nodes] == [line]


# -- idempotence -------------------------------------------------------------------------------


def _graphs():
    x, y, z = st.matrix("x"), st.matrix("y"), st.matrix("z")
    w, b, v = st.matrix("w"), st.vector("b"), st.vector("v")
    hidden = st.tanh(st.dot(x, w) + b)
    cost = st.mean((hidden - y) ** 2)
    yield [x, w, b, y], [cost, *sc.grad(cost, [w, b])]
    yield [x, y], [(x + y).shape[0], st.zeros_like(x * y)]
    yield [x, y, z], [((x + 1) + 2) * 3 * 4 - (y - y) + (z / 2.0), st.neg(-z)]
    yield [x, v], [st.log(1 + st.exp(x)), st.exp(-x * x) * st.sin(x) + 0.5 * v]
    yield [x], [st.reshape(st.reshape(x, (-1,)), (x.shape[0], -1)).T.T]


@pytest.mark.parametrize("case", range(5))
def test_second_pipeline_run_changes_nothing(case):
    inputs, outputs = list(_graphs())[case]
    once, _ = rewrite(inputs, outputs)
    twice, report = rewrite(inputs, once)
    for a, b in zip(once, twice):
        assert_graph_equal(b, a)
    assert report.nodes_before == report.nodes_after


def test_dtype_and_shape_of_outputs_survive_the_pipeline():
    x = st.tensor("float32", shape=(2, 3), name="x")
    outs = [x * 1, (x + 0).shape, st.cast(st.cast(x, "float64"), "float32")]
    new, _ = rewrite([x], outs)
    assert [(o.dtype, o.ndim) for o in new] == [(o.dtype, o.ndim) for o in outs]
    assert count_nodes(new) <= count_nodes(outs)


# -- engine cost: what is memoized must not change what is produced ---------------------------


def test_a_value_no_rule_changes_is_offered_once_per_run():
    # The fixed point is confirmed by a second sweep; rules are pure, so values on which
    # every rule returned None are not offered to them again in that sweep.
    offered = []
    p = Pass("test_offered_once")

    @p.node_rule()
    def look(node):
        offered.append(node)

    @p.rule(pat(sa.neg, pat(sa.neg, var("x"))))
    def double_neg(x):
        return x

    x = st.vector("x")
    out = st.exp(st.neg(st.neg(st.log(x)))) + x
    new, report = run([out], p, [x])
    assert_graph_equal(new[0], st.exp(st.log(x)) + x)
    assert report.passes["test_offered_once"].sweeps == 2
    assert len(offered) == len(set(offered))  # no node seen twice
    assert {n.outputs[0] for n in offered} >= {st.log(x), st.exp(st.log(x)), new[0]}


def test_a_graph_rule_is_not_called_again_on_a_graph_it_left_unchanged():
    p = Pass("test_graph_rule_memo")
    seen = []

    @p.rule(pat(sa.neg, pat(sa.neg, var("x"))))
    def double_neg(x):
        return x

    @p.graph_rule
    def watch(outputs, ctx):
        seen.append(tuple(outputs))

    x = st.vector("x")
    new, report = run([st.exp(st.neg(st.neg(x)))], p, [x])
    assert_graph_equal(new[0], st.exp(x))
    # sweep 1 changes the graph, sweep 2 does not: the rule saw the new graph once
    assert report.passes["test_graph_rule_memo"].sweeps == 2
    assert seen == [(new[0],)]


def test_rebuilt_nodes_are_the_nodes_make_node_builds():
    from symcomp.graph.sourceinfo import SourceInfo, attributed_to
    from symcomp.optimize.engine import rebuild_node

    x, y = st.vector("x"), st.vector("y")
    m, f = st.matrix("m"), st.fvector("f")
    trace = SourceInfo("user.py", 7, "f")
    with attributed_to(trace):
        cases = [
            ((x + y).owner, [y, x]),  # same types
            ((x + y).owner, [x, m]),  # a new type: broadcasting
            ((f * 2.0).owner, [f, c(3.0)]),  # a weak constant replaced by a strong one
            ((x * 2.0).owner, [y, (x * 2.0).owner.inputs[1]]),  # the weak one kept
            ((f * 2.0).owner, [f, st.as_tensor_variable(3.0)]),  # a new weak one
            (st.sum(m, axis=0).owner, [m * 2.0]),  # a reduction
            (m.T.owner, [m + 1.0]),  # any other op: make_node
        ]
    for node, inputs in cases:
        rebuilt = rebuild_node(node, inputs)
        assert rebuilt is node.op.make_node(*inputs)
    fresh = st.vector("fresh")
    rebuilt = rebuild_node((x + y).owner, [x, fresh])
    assert rebuilt.trace == trace and rebuilt.outputs[0].trace == trace


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (np.float32(0.1), 0.1),  # NumPy compares in float32 (a weak Python float)
        (np.float64(0.1), 0.1),
        (np.float32(np.nan), float("nan")),
        (np.uint64(2**64 - 1), -1),
        (np.int8(-1), -1),
        (np.bool_(True), 1),
        (np.complex128(1 + 0j), 1),
        (np.float16(0.5), 0.5),
    ],
)
def test_one_element_constants_match_as_numpy_compares(data, value):
    from symcomp.optimize.pattern import _const_matches

    for arr in (np.asarray(data), np.asarray([data]), np.asarray([[data]])):
        with np.errstate(all="ignore"):
            expected = bool(np.all(arr == value))
        assert _const_matches(value, arr) == expected
