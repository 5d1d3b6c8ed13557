"""The fusion pass: elementwise groups -> Elemwise(Composite), elementwise into reductions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.graph import toposort
from symcomp.optimize.fusion import MAX_INPUTS, fusion
from symcomp.optimize.mode import Mode
from symcomp.optimize.pipeline import rewrite
from symcomp.scalar import arith
from symcomp.scalar.base import ScalarOp
from symcomp.scalar.composite import Composite, composite_from_graph
from symcomp.tensor.elemwise import Elemwise
from symcomp.tensor.fused import FusedReduce, fused_reduce
from symcomp.tensor.reduction import Max, Sum
from tests.optimize.util import assert_graph_equal, assert_same_values, count_nodes, run_passes

PY = Mode(linker="py")


def elemwise_nodes(outputs) -> list:
    outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [n for n in toposort(outs) if isinstance(n.op, Elemwise)]


def inner_ops(outputs) -> list:
    """Every scalar op applied, looking inside composites and fused reductions."""
    outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    found = []
    for node in toposort(outs):
        scalar = getattr(node.op, "scalar_op", None)
        if isinstance(scalar, Composite):
            found.extend(op for op, _, _ in scalar.nodes)
        elif scalar is not None:
            found.append(scalar)
    return found


def fused(inputs, output):
    """The expected fused node: Elemwise(Composite) of ``output`` over ``inputs``."""
    comp, outer = composite_from_graph(inputs, output)
    return Elemwise(comp)(*outer)


# -- elementwise groups -----------------------------------------------------------------


def test_acceptance_expression_is_one_elemwise_node():
    # exp(-x*x)*sin(y) + 0.5*z -> one Elemwise(Composite)
    x, y, z = st.vector("x"), st.vector("y"), st.vector("z")
    out = st.exp(-x * x) * st.sin(y) + 0.5 * z
    got = run_passes(out, fusion)
    assert count_nodes(got) == 1
    assert isinstance(got.owner.op.scalar_op, Composite)
    half = out.owner.inputs[1].owner.inputs[0]  # 0.5, now a composite input
    comp, _ = composite_from_graph([x, y, half, z], out)
    assert got.owner.op == Elemwise(comp)
    assert got.owner.inputs[:2] == (x, y) and got.owner.inputs[3] is z
    assert_same_values(out, got, [x, y, z])
    f = sc.function([x, y, z], out, mode=PY)
    assert len(elemwise_nodes(f.maker.fgraph.outputs)) == 1
    assert len(f.maker.fgraph.apply_nodes) == 1
    a, b, c = np.linspace(-1, 1, 5), np.linspace(0, 2, 5), np.linspace(3, 4, 5)
    np.testing.assert_allclose(f(a, b, c), np.exp(-a * a) * np.sin(b) + 0.5 * c, rtol=1e-14)


def test_common_subexpression_has_a_single_mul():
    # x*y + x*y: merged (hash-consing), then fused; one mul in the whole graph
    x, y = st.matrix("x"), st.matrix("y")
    f = sc.function([x, y], x * y + x * y, mode=PY)
    ops = inner_ops(f.maker.fgraph.outputs)
    assert sum(isinstance(op, arith.Mul) for op in ops) == 1
    assert len(f.maker.fgraph.apply_nodes) == 1
    a, b = np.ones((2, 3)) * 2, np.ones((2, 3)) * 3
    np.testing.assert_array_equal(f(a, b), a * b + a * b)


def test_value_with_outside_client_ends_the_group():
    # t = exp(x)*y read by log(t)+1 and returned: t is computed once, by its own node
    x, y = st.vector("x"), st.vector("y")
    t = st.exp(x) * y
    outs = [st.log(t) + 1.0, t]
    got = run_passes(outs, fusion)
    assert len(elemwise_nodes(got)) == 2
    assert got[1] is fused([x, y], t)
    assert got[0].owner.inputs[0] is got[1]
    assert sum(isinstance(op, type(st.exp(x).owner.op.scalar_op)) for op in inner_ops(got)) == 1
    assert_same_values(outs, got, [x, y])


def test_clients_all_inside_the_group_are_fused_and_computed_once():
    # t = x*y; t + exp(t) -> one node, t evaluated once inside
    x, y = st.vector("x"), st.vector("y")
    t = x * y
    out = t + st.exp(t)
    got = run_passes(out, fusion)
    assert count_nodes(got) == 1
    assert sum(isinstance(op, arith.Mul) for op in inner_ops(got)) == 1
    assert_same_values(out, got, [x, y])


def test_two_consumers_of_one_value_do_not_recompute_it():
    x = st.vector("x")
    t = st.exp(x)
    outs = [t + 1.0, t * 2.0]
    got = run_passes(outs, fusion)
    assert got == outs  # nothing to fuse: each group would be one node
    assert count_nodes(got) == 3


def test_broadcast_pattern_mismatch_is_not_fused():
    # exp(v) + m with v a vector and m a matrix: exp would run once per row if fused
    v, m = st.vector("v"), st.matrix("m")
    out = st.exp(v) + m
    got = run_passes(out, fusion)
    assert got is out
    row = st.tensor("float64", (1, None), name="row")
    out2 = st.exp(row) * m + 1.0
    got2 = run_passes(out2, fusion)
    assert len(elemwise_nodes(got2)) == 2
    assert got2.owner.inputs[0] is st.exp(row)  # the producer stays outside
    assert_same_values(out2, got2, [row, m])


def test_same_pattern_across_ndim_inputs_is_fused():
    # a lower-ndim *input* is fine: only producers must match the group's pattern
    v, m = st.vector("v"), st.matrix("m")
    out = st.exp(m + v) * 2.0
    got = run_passes(out, fusion)
    assert count_nodes(got) == 1
    assert_same_values(out, got, [v, m])


def test_input_bound():
    xs = [st.vector(f"x{k}") for k in range(MAX_INPUTS + 10)]
    out = xs[0]
    for k, x in enumerate(xs[1:]):
        out = st.sin(out) + x if k % 2 else out * x
    got = run_passes(out, fusion)
    nodes = elemwise_nodes(got)
    assert len(nodes) >= 2
    assert all(len(n.inputs) <= MAX_INPUTS for n in nodes)
    assert_same_values(out, got, xs)


def test_constants_become_inputs():
    x = st.vector("x")
    c = st.constant(np.array([1.0, 2.0, 3.0]))
    out = st.exp(x) * c + 2.0
    got = run_passes(out, fusion)
    assert count_nodes(got) == 1
    assert c in got.owner.inputs
    assert_same_values(out, got, [x], values=[np.array([0.1, 0.2, 0.3])])


def test_weak_scalars_keep_their_dtype():
    # int8 * 2 + 1 stays int8 (Python ints are weak; fused constants are frozen to int8)
    x = st.tensor("int8", (None,), name="x")
    out = (x * 2 + 1) * x
    got = run_passes(out, fusion)
    assert count_nodes(got) == 1 and got.dtype == "int8"
    a = np.array([1, 50, -3, 100], dtype="int8")
    with np.errstate(all="ignore"):
        expected = (a * np.int8(2) + np.int8(1)) * a
    f = sc.function([x], got, mode=Mode(linker="py", optimizer=None))
    np.testing.assert_array_equal(f(a), expected)


def test_mixed_dtypes_and_comparisons():
    x, y = st.fvector("x"), st.ivector("y")
    out = st.switch(x > 0.5, st.cast(y, "float32") * x, st.exp(x))
    got = run_passes(out, fusion)
    assert count_nodes(got) == 1 and got.dtype == "float32"
    assert_same_values(out, got, [x, y], rtol=1e-6)


def test_static_shape_is_kept():
    x = st.tensor("float64", (2, 3), name="x")
    out = st.exp(x) * 3.0
    got = run_passes(out, fusion)
    assert got.type.shape == (2, 3)


def test_composites_are_flattened_on_refusion():
    # fusing an already fused node with more elementwise work gives one flat composite
    x, y = st.vector("x"), st.vector("y")
    inner = fused([x, y], st.exp(x) * y)
    out = st.log(inner) + 1.0
    got = run_passes(out, fusion)
    assert count_nodes(got) == 1
    comp = got.owner.op.scalar_op
    assert not any(isinstance(op, Composite) for op, _, _ in comp.nodes)
    assert_same_values(out, got, [x, y])


@dataclass(frozen=True)
class NoCode(ScalarOp):
    """A scalar op with no C++ expression (test only)."""

    nin = 1
    reference = staticmethod(np.negative)
    abstract = True  # keeps it out of the op-table registry


def test_scalar_op_without_c_code_is_not_fused():
    x = st.vector("x")
    out = st.exp(Elemwise(NoCode())(st.sin(x)))
    got = run_passes(out, fusion)
    assert got is out


def test_gradients_then_fusion_give_the_same_values():
    x, w = st.matrix("x"), st.vector("w")
    cost = st.sum(st.tanh(x * w + 1.0) ** 2)
    gx, gw = sc.grad(cost, [x, w])
    got = run_passes([cost, gx, gw], fusion)
    assert count_nodes(got) < count_nodes([cost, gx, gw])
    assert_same_values([cost, gx, gw], got, [x, w])


def test_source_line_of_the_root_is_kept():
    x = st.vector("x")
    out = st.sin(st.exp(x))
    got = run_passes(out, fusion)
    assert got.owner.trace == out.owner.trace


def test_pipeline_is_idempotent():
    x, y, z = st.matrix("x"), st.matrix("y"), st.matrix("z")
    outs = [st.sum(st.exp(-x * x) * st.sin(y), axis=1) + 0.5, st.max(x * z + y)]
    once, _ = rewrite([x, y, z], outs)
    twice, _ = rewrite([x, y, z], once)
    assert all(a is b for a, b in zip(once, twice))


# -- fusion into reductions -------------------------------------------------------------


def test_sum_of_square_is_one_node():
    # sum(x*x) -> FusedReduce(Sum, Mul)(x, x): one node
    x = st.vector("x")
    out = st.sum(x * x)
    got = run_passes(out, fusion)
    assert_graph_equal(got, fused_reduce(Sum((0,)), arith.mul, x, x))
    assert_same_values(out, got, [x])
    f = sc.function([x], out, mode=PY)
    assert len(f.maker.fgraph.apply_nodes) == 1
    assert isinstance(f.maker.fgraph.apply_nodes[0].op, FusedReduce)
    a = np.arange(5.0)
    assert f(a) == pytest.approx(30.0)


def test_reduction_fusion_can_be_excluded_by_name():
    x = st.vector("x")
    f = sc.function([x], st.sum(st.exp(x) * x), mode=PY.excluding("fuse_into_reduction"))
    ops = [type(n.op) for n in f.maker.fgraph.apply_nodes]
    assert FusedReduce not in ops and len(ops) == 2
    report = sc.function([x], st.sum(x * x), mode=PY).rewrite_report
    assert report.stats("fusion").fired["fuse_into_reduction"] == 1


def test_composite_fuses_into_reduction():
    # max(exp(m)*v + 1, axis=1) -> FusedReduce(Max, Composite)
    m, v = st.matrix("m"), st.vector("v")
    out = st.max(st.exp(m) * v + 1.0, axis=1)
    got = run_passes(out, fusion)
    assert count_nodes(got) == 1
    op = got.owner.op
    assert isinstance(op, FusedReduce) and op.reduce_op == Max((1,))
    assert isinstance(op.scalar_op, Composite)
    assert_same_values(out, got, [m, v])


def test_reduction_of_a_shared_value_is_not_fused():
    # t = x*x is also an output: sum(t) reads it, nothing is recomputed
    x = st.vector("x")
    t = x * x
    outs = [st.sum(t), t]
    got = run_passes(outs, fusion)
    assert got == outs


def test_keepdims_axes_and_dtype_variants():
    x = st.tensor("int8", (None, None), name="x")
    outs = [
        st.sum(x * 3, axis=0, keepdims=True),
        st.prod(x + 1, axis=-1),
        st.all(x > 0, axis=1),
        st.any(st.eq(x, 1)),
        st.sum(x * 2, dtype="float32"),
    ]
    got = run_passes(outs, fusion)
    assert all(isinstance(g.owner.op, FusedReduce) for g in got)
    assert [g.type for g in got] == [o.type for o in outs]
    assert_same_values(outs, got, [x])


def test_fused_reduce_errors_and_no_gradient():
    x = st.matrix("x")
    with pytest.raises(ValueError, match="out of range"):
        fused_reduce(Sum((2,)), arith.mul, x, x)
    with pytest.raises(TypeError, match="takes 2 inputs"):
        fused_reduce(Sum((0,)), arith.mul, x)
    with pytest.raises(ValueError, match="no identity"):
        fused_reduce(Max((0,)), arith.neg, st.tensor("float64", (0, 3)))
    out = fused_reduce(Sum((0, 1)), arith.mul, x, x)
    with pytest.raises(NotImplementedError, match="after gradients"):
        sc.grad(out, x)
    assert str(out.owner.op).startswith("FusedReduce{Sum")


def test_fused_reduce_static_shape():
    x = st.tensor("float32", (4, 1, 3), name="x")
    y = st.tensor("float32", (5, 1), name="y")
    out = fused_reduce(Sum((1,), keepdims=True), arith.add, x, y)
    assert out.type.shape == (4, 1, 3) and out.dtype == "float32"
