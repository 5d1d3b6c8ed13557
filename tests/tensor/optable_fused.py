"""Op-table rows for FusedReduce (a reduction of an elementwise expression in one node).

FusedReduce is built by the fusion pass after gradients, so its rows have grad=False."""

import numpy as np

import symcomp.tensor as st
from symcomp.scalar import arith, math, transcendental
from symcomp.scalar.composite import composite_from_graph
from symcomp.tensor.fused import fused_reduce
from symcomp.tensor.reduction import All, Any, Max, Min, Prod, Sum
from tests.tensor.optable import FLOATS, Case


def _exp_sq_diff():
    """Composite{exp(-(a - b)**2)} over two float64 scalars-as-tensors."""
    a, b = st.dvector("a"), st.dvector("b")
    d = a - b
    comp, _ = composite_from_graph([a, b], st.exp(-(d * d)))
    return comp


EXP_SQ_DIFF = _exp_sq_diff()

CASES = [
    Case(
        "fused_sum_mul",
        lambda x, y: fused_reduce(Sum((0, 1)), arith.mul, x, y),
        lambda x, y: np.sum(x * y),
        [((3, 4), (3, 4)), ((3, 4), (4,)), ((0, 4), (4,)), ((1, 1), (1, 1))],
        grad=False,
    ),
    Case(
        "fused_sum_axis_keepdims",
        lambda x, y: fused_reduce(Sum((1,), keepdims=True), arith.add, x, y),
        lambda x, y: np.sum(x + y, axis=1, keepdims=True),
        [((3, 4), (3, 1)), ((2, 0), (2, 1))],
        dtypes=FLOATS + ("int32", "int8", "bool"),
        grad=False,
    ),
    Case(
        "fused_sum_sqr_int",
        lambda x: fused_reduce(Sum((0,)), math.sqr, x),
        lambda x: np.sum(np.square(x), axis=0),
        [((5,),), ((0,),), ((2, 3),)],
        dtypes=("int64", "int16", "uint8"),
        grad=False,
    ),
    Case(
        "fused_max_exp",
        lambda x: fused_reduce(Max((1,)), transcendental.exp, x),
        lambda x: np.max(np.exp(x), axis=1),
        [((3, 4),), ((1, 1),), ((2, 3, 4),)],
        grad=False,
    ),
    Case(
        "fused_min_sub",
        lambda x, y: fused_reduce(Min((0,)), arith.sub, x, y),
        lambda x, y: np.min(x - y, axis=0),
        [((3, 4), (4,)), ((1, 5), (3, 1))],
        grad=False,
    ),
    Case(
        "fused_prod_add",
        lambda x, y: fused_reduce(Prod((0, 1)), arith.add, x, y),
        lambda x, y: np.prod(x + y),
        [((3, 4), ()), ((0, 4), ())],
        grad=False,
    ),
    Case(
        "fused_all_gt",
        lambda x, y: fused_reduce(All((1,)), arith.gt, x, y),
        lambda x, y: np.all(x > y, axis=1),
        [((3, 4), (3, 4)), ((3, 0), (3, 0))],
        dtypes=FLOATS + ("int32",),
        grad=False,
    ),
    Case(
        "fused_any_eq",
        lambda x, y: fused_reduce(Any((0,), keepdims=True), arith.eq, x, y),
        lambda x, y: np.any(x == y, axis=0, keepdims=True),
        [((3, 4), (4,)), ((0, 2), (2,))],
        dtypes=("int8", "bool"),
        grad=False,
    ),
    Case(
        "fused_sum_composite",
        lambda x, y: fused_reduce(Sum((0,)), EXP_SQ_DIFF, x, y),
        lambda x, y: np.sum(np.exp(-((x - y) ** 2)), axis=0),
        [((6,), (6,)), ((0,), (0,)), ((1,), (1,))],
        dtypes=("float64",),
        grad=False,
    ),
]
