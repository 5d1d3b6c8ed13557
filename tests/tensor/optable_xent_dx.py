"""Op-table rows for symcomp/tensor/nnet/xent_dx.py (the fused softmax crossentropy's
gradient wrt the logits)."""

from __future__ import annotations

import numpy as np

from symcomp.tensor.nnet.xent_dx import crossentropy_softmax_1hot_dx
from tests.tensor.optable import Case


def ref_xent_dx(dy, sm, t):
    dtype = np.result_type(dy.dtype, sm.dtype)
    out = sm.astype(dtype) * dy.astype(dtype)[:, None]
    out[np.arange(sm.shape[0]), t] -= dy.astype(dtype)
    return out


def _dy_softmax_classes(rng, dtypes, shapes):
    (n,), (_, k), _ = shapes
    dy = rng.uniform(-2.0, 2.0, size=n)
    z = rng.uniform(-3.0, 3.0, size=(n, k))
    e = np.exp(z - (z.max(axis=1, keepdims=True) if n and k else 0))
    sm = e / e.sum(axis=1, keepdims=True) if k else e
    t = rng.integers(0, k, size=n) if k else np.zeros(n, dtype=np.int64)
    return [dy.astype(dtypes[0]), sm.astype(dtypes[1]), t.astype(dtypes[2])]


CASES = [
    Case(
        "crossentropy_softmax_1hot_dx",
        crossentropy_softmax_1hot_dx,
        ref_xent_dx,
        [((4,), (4, 3), (4,)), ((1,), (1, 1), (1,)), ((2,), (2, 5), (2,)), ((0,), (0, 3), (0,))],
        dtypes=[
            ("float64", "float64", "int64"),
            ("float32", "float32", "int32"),
            ("float64", "float64", "uint8"),
        ],
        inputs=_dy_softmax_classes,
        grad_inputs=[0, 1],
    ),
]
