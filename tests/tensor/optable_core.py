"""Op-table rows for the core ops: DimShuffle, Alloc, Shape, ShapeI, gradient blockers."""

import numpy as np

import symcomp as sc
import symcomp.tensor as st
from tests.tensor.optable import ALL_DTYPES, FLOATS, Case

CASES = [
    Case(
        "transpose",
        lambda x: x.T,
        lambda x: x.T,
        shapes=[((3, 4),), ((0, 2),), ((1, 5),), ((2, 3, 4),), ((),)],
        dtypes=ALL_DTYPES,
    ),
    Case(
        "dimshuffle-expand",
        lambda x: x.dimshuffle("x", 1, 0, "x"),
        lambda x: x.T[None, :, :, None],
        shapes=[((3, 4),), ((0, 1),)],
        dtypes=FLOATS + ("int8",),
    ),
    Case(
        "transpose-axes",
        lambda x: st.transpose(x, (1, 2, 0)),
        lambda x: np.transpose(x, (1, 2, 0)),
        shapes=[((2, 3, 4),), ((1, 0, 2),)],
    ),
    Case(
        "expand_dims",
        lambda x: st.expand_dims(x, (0, -1)),
        lambda x: np.expand_dims(x, (0, -1)),
        shapes=[((3,),), ((),)],
        dtypes=ALL_DTYPES,
    ),
    Case(
        "squeeze-axis",
        lambda x: st.squeeze(x, 1),
        lambda x: np.squeeze(x, 1),
        shapes=[((3, 1, 2),), ((0, 1, 1),)],
    ),
    Case(
        "alloc",
        lambda x: st.alloc(x, 2, 3, 4),
        lambda x: np.broadcast_to(x, (2, 3, 4)).copy(),
        shapes=[((4,),), ((3, 1),), ((),), ((1,),)],
        dtypes=ALL_DTYPES,
    ),
    Case(
        "alloc-symbolic",
        lambda x, n: st.alloc(x, n, 3),
        lambda x, n: np.broadcast_to(x, (int(n), 3)).copy(),
        shapes=[((3,), ()), ((1,), ())],
        dtypes=[("float64", "int64"), ("float32", "int32")],
        inputs=lambda rng, d, s: [rng.normal(size=s[0]).astype(d[0]), np.array(4, d[1])],
        noncontig=False,
    ),
    Case(
        "zeros_like",
        lambda x: st.zeros_like(x) + st.ones_like(x) * 2,
        lambda x: np.zeros_like(x) + np.ones_like(x) * 2,
        shapes=[((2, 3),), ((0,),)],
        dtypes=FLOATS + ("int32", "uint8"),
        grad=False,
    ),
    Case(
        "shape",
        lambda x: x.shape,
        lambda x: np.array(x.shape, dtype=np.int64),
        shapes=[((2, 3),), ((0, 4, 1),), ((),)],
        dtypes=ALL_DTYPES,
        grad=False,
    ),
    Case(
        "shape_i",
        lambda x: st.shape_i(x, 1) * 2,
        lambda x: np.int64(x.shape[1] * 2),
        shapes=[((2, 3),), ((0, 0),)],
        grad=False,
    ),
    Case(
        "broadcast-grad",
        lambda x, y: x * y,
        lambda x, y: x * y,
        shapes=[((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3), ())],
    ),
    Case(
        "disconnected_grad",
        lambda x, y: sc.disconnected_grad(x) * y,
        lambda x, y: x * y,
        shapes=[((3,), (3,))],
        grad=False,
    ),
    Case(
        "zero_grad",
        lambda x, y: sc.zero_grad(x) + y,
        lambda x, y: x + y,
        shapes=[((3,), (3,))],
        grad=False,
    ),
    Case(
        "jacobian-loop",
        lambda x: sc.jacobian(x * x, x),
        lambda x: np.diag(2 * x),
        shapes=[((3,),), ((0,),), ((1,),)],
        grad=False,
        noncontig=False,
    ),
]
