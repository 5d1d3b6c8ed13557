"""Op-table rows for symcomp/tensor/nnet/fused_xent.py (the fused softmax crossentropy)."""

from __future__ import annotations

import numpy as np

from symcomp.tensor.nnet.fused_xent import crossentropy_softmax_1hot
from tests.tensor.optable import Case


def ref_xent_softmax(x, t):
    x = x.astype(np.float64 if x.dtype == np.float64 else np.float32)
    if x.shape[0] == 0:
        return np.zeros(0, dtype=x.dtype)
    s = x - x.max(axis=1, keepdims=True)
    lsm = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return -lsm[np.arange(x.shape[0]), t]


def _logits_and_classes(rng, dtypes, shapes, scale=3.0):
    (n, k), _ = shapes
    z = rng.uniform(-scale, scale, size=(n, k))
    t = rng.integers(0, k, size=n) if k else np.zeros(n, dtype=np.int64)
    return [z.astype(dtypes[0]), t.astype(dtypes[1])]


def _huge_logits(rng, dtypes, shapes):
    z, t = _logits_and_classes(rng, dtypes, shapes)
    z.flat[::2] = 1000.0
    z.flat[1::3] = -1000.0
    return [z, t]


SHAPES = [((4, 3), (4,)), ((1, 1), (1,)), ((1, 5), (1,)), ((0, 3), (0,))]
DTYPES = [("float64", "int64"), ("float32", "int32"), ("float64", "uint8")]

CASES = [
    Case(
        "crossentropy_softmax_1hot",
        crossentropy_softmax_1hot,
        ref_xent_softmax,
        SHAPES,
        dtypes=DTYPES,
        inputs=_logits_and_classes,
        grad_inputs=[0],
    ),
    Case(
        "crossentropy_softmax_1hot_huge",
        crossentropy_softmax_1hot,
        ref_xent_softmax,
        [((4, 3), (4,)), ((2, 5), (2,))],
        dtypes=DTYPES[:2],
        inputs=_huge_logits,
        grad=False,
    ),
]
