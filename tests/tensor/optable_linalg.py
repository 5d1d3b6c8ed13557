"""Op-table rows for symcomp/tensor/linalg.py: Dot, MatMul and the helpers built on them."""

from __future__ import annotations

import numpy as np

import symcomp.tensor as st
from tests.tensor.optable import FLOATS, Case

# Integer and bool operands keep NumPy's dtype (int8 . int8 is int8, bool . bool is bool);
# mixed operands promote.
NUMERIC = FLOATS + ("int64", "int32", "int8", "uint8", "bool")
MIXED = (
    ("float32", "float64"),
    ("int32", "float32"),
    ("int8", "int64"),
    ("bool", "int16"),
    ("uint8", "int8"),
)

DOT_SHAPES = [
    ((3,), (3,)),  # vector . vector -> scalar
    ((2, 3), (3,)),  # matrix . vector
    ((3,), (3, 4)),  # vector . matrix
    ((2, 3), (3, 4)),  # matrix . matrix
    ((0, 3), (3, 4)),
    ((2, 0), (0, 4)),  # empty contraction: zeros
    ((0,), (0,)),
    ((1, 1), (1, 1)),
    ((1, 5), (5, 1)),
]

MATMUL_SHAPES = [
    ((5, 2, 3), (3, 4)),  # batch . matrix
    ((2, 3), (5, 3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((3,), (5, 3, 4)),  # 1-d promotion on either side
    ((5, 2, 3), (3,)),
    ((2, 1, 2, 3), (4, 3, 2)),  # broadcast batch dims
    ((4, 1, 2, 3), (1, 3, 3, 2)),
    ((0, 2, 3), (3, 4)),
    ((2, 2, 0), (2, 0, 4)),
    ((1, 1, 1), (1, 1, 1)),
]


def _dot_nd_shapes():
    return [((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (5, 4, 2)), ((2, 3), (4, 3, 2))]


CASES = [
    Case("dot", st.dot, np.dot, DOT_SHAPES, dtypes=NUMERIC + MIXED),
    Case("dot_method", lambda x, y: x.dot(y), np.dot, DOT_SHAPES[:4], dtypes=FLOATS),
    Case(
        "dot_scalar",
        st.dot,
        np.dot,
        [((), (3,)), ((2, 3), ()), ((), ())],
        dtypes=FLOATS + ("int32",),
    ),
    Case("dot_nd", st.dot, np.dot, _dot_nd_shapes(), dtypes=FLOATS + ("int32",)),
    Case("matmul_2d", st.matmul, np.matmul, DOT_SHAPES, dtypes=FLOATS + ("int32", "bool")),
    Case("matmul", st.matmul, np.matmul, MATMUL_SHAPES, dtypes=NUMERIC + MIXED),
    Case("matmul_operator", lambda x, y: x @ y, lambda x, y: x @ y, MATMUL_SHAPES[:6]),
    Case(
        "matmul_op_2d",
        lambda x, y: st.MatMul()(x, y),
        np.matmul,
        DOT_SHAPES,
        dtypes=FLOATS + ("int16",),
    ),
    Case("matmul_static", st.matmul, np.matmul, MATMUL_SHAPES[:6], static_shape=True),
    Case(
        "outer",
        st.outer,
        np.outer,
        [((3,), (4,)), ((0,), (2,)), ((1,), (1,)), ((), (3,))],
        dtypes=FLOATS + ("int64", "bool"),
    ),
    Case("outer_flatten", st.outer, np.outer, [((2, 3), (4,)), ((2, 2), (3, 1))]),
    Case(
        "inner",
        st.inner,
        np.inner,
        [((3,), (3,)), ((2, 3), (4, 3)), ((2, 2, 3), (3,))],
        dtypes=FLOATS + ("int32",),
    ),
]

TENSORDOT_AXES = [
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3, 4), (4, 5), 1),
    ((2, 3), (4, 5), 0),
    ((3, 4), (3, 4), 2),
    ((3,), (3,), 1),
    ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])),
    ((2, 3, 4), (4,), ([-1], [0])),
    ((3, 4), (4, 3), ([0, 1], [1, 0])),
    ((4, 3), (2, 4), (0, 1)),
    ((0, 3, 4), (4, 3, 2), ([1, 2], [1, 0])),
    ((2, 0), (0, 3), 1),
]

for _i, (_sa, _sb, _axes) in enumerate(TENSORDOT_AXES):
    CASES.append(
        Case(
            f"tensordot_{_i}",
            lambda a, b, axes=_axes: st.tensordot(a, b, axes),
            lambda a, b, axes=_axes: np.tensordot(a, b, axes),
            [(_sa, _sb)],
            dtypes=FLOATS + ("int32", "bool") if _i < 3 else FLOATS,
        )
    )


def _ref_batched_dot(a, b):
    return np.stack([np.dot(x, y) for x, y in zip(a, b)])


CASES.append(
    Case(
        "batched_dot",
        st.batched_dot,
        _ref_batched_dot,
        [
            ((4, 2, 3), (4, 3, 5)),
            ((4, 3), (4, 3)),
            ((4, 2, 3), (4, 3)),
            ((4, 3), (4, 3, 2)),
            ((1, 1, 1), (1, 1, 1)),
        ],
        dtypes=FLOATS + ("int32",),
    )
)
