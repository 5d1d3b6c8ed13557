"""Op-table rows for symcomp/tensor/nnet: softmax, log_softmax, crossentropies, activations."""

from __future__ import annotations

import numpy as np

import symcomp.tensor as st
from symcomp.tensor.dtypes import float_of
from symcomp.tensor.nnet.activations import SELU_ALPHA, SELU_SCALE
from tests.tensor.optable import FLOATS, Case

nnet = st.nnet


def _float(x):
    return x.astype(float_of(x.dtype.name), copy=False)


def ref_softmax(x, axis=-1):
    x = _float(x)
    if x.size == 0:
        return x.copy()
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def ref_log_softmax(x, axis=-1):
    x = _float(x)
    if x.size == 0:
        return x.copy()
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


SOFTMAX_AXES = [
    (-1, [((3, 4),), ((5,),), ((3, 1),), ((1, 4),), ((0, 4),), ((2, 3, 4),)]),
    (0, [((3, 4),), ((5,),), ((1, 3),), ((3, 0),)]),
    (1, [((2, 3, 4),), ((3, 4),)]),
    (-2, [((2, 3, 4),)]),
    (None, [((3, 4),), ((2, 3, 2),), ((),)]),
]


def _huge(rng, dtypes, shapes):
    """Rows mixing +-1000 with moderate values: exp() of them would overflow unshifted."""
    (shape,) = shapes
    x = rng.uniform(-3, 3, size=shape)
    x.flat[::2] = 1000.0
    x.flat[1::3] = -1000.0
    return [x.astype(dtypes[0])]


def _probs_and_classes(rng, dtypes, shapes):
    (n, k), _ = shapes
    logits = rng.uniform(-2, 2, size=(n, k))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    t = rng.integers(0, k, size=n) if k else np.zeros(n, dtype=np.int64)
    return [p.astype(dtypes[0]), t.astype(dtypes[1])]


def _probs_and_dists(rng, dtypes, shapes):
    """Distributions along the last axis (all positive, summing to 1)."""
    out = []
    for dtype, shape in zip(dtypes, shapes):
        v = rng.uniform(0.1, 1, size=shape)
        out.append((v / v.sum(-1, keepdims=True)).astype(dtype))
    return out


def _logits_and_classes(rng, dtypes, shapes):
    (n, k), _ = shapes
    z = rng.uniform(-3, 3, size=(n, k))
    return [z.astype(dtypes[0]), rng.integers(0, k, size=n).astype(dtypes[1])]


def _grad_1hot_inputs(rng, dtypes, shapes):
    p, t = _probs_and_classes(rng, dtypes[1:], shapes[1:])
    return [rng.uniform(-1, 1, size=shapes[0]).astype(dtypes[0]), p, t]


def _prob_target(rng, dtypes, shapes):
    return [
        rng.uniform(0.05, 0.95, size=shapes[0]).astype(dtypes[0]),
        rng.uniform(0, 1, size=shapes[1]).astype(dtypes[1]),
    ]


def _logit_target(rng, dtypes, shapes, scale=3.0):
    return [
        rng.uniform(-scale, scale, size=shapes[0]).astype(dtypes[0]),
        (rng.uniform(0, 1, size=shapes[1]) < 0.5).astype(dtypes[1]),
    ]


def ref_ce_1hot(p, t):
    return -np.log(p[np.arange(p.shape[0]), t])


def ref_ce_1hot_grad(g, p, t):
    out = np.zeros_like(p)
    rows = np.arange(p.shape[0])
    out[rows, t] = -g / p[rows, t]
    return out


def ref_from_logits_int(z, t):
    return -ref_log_softmax(z)[np.arange(z.shape[0]), t]


def ref_sigmoid_bce(z, t):
    return (t * np.logaddexp(0, -z) + (1 - t) * np.logaddexp(0, z)).astype(z.dtype)


CLASS_SHAPES = [((4, 3), (4,)), ((1, 1), (1,)), ((0, 3), (0,)), ((5, 1), (5,))]
CLASS_DTYPES = [("float64", "int64"), ("float32", "int32"), ("float64", "uint8")]
DIST_DTYPES = [("float64", "float64"), ("float32", "float32")]

CASES = []
for _axis, _shapes in SOFTMAX_AXES:
    _tag = "none" if _axis is None else str(_axis).replace("-", "m")
    CASES += [
        Case(
            f"softmax_axis_{_tag}",
            lambda x, a=_axis: nnet.softmax(x, axis=a),
            lambda x, a=_axis: ref_softmax(x, a),
            _shapes,
            dtypes=FLOATS + ("int32", "int8") if _axis == -1 else FLOATS,
        ),
        Case(
            f"log_softmax_axis_{_tag}",
            lambda x, a=_axis: nnet.log_softmax(x, axis=a),
            lambda x, a=_axis: ref_log_softmax(x, a),
            _shapes,
            dtypes=FLOATS + ("int64",) if _axis == -1 else FLOATS,
        ),
    ]

CASES += [
    Case("softmax_huge", nnet.softmax, ref_softmax, [((3, 5),), ((4,),)], inputs=_huge, grad=False),
    Case(
        "log_softmax_huge",
        nnet.log_softmax,
        ref_log_softmax,
        [((3, 5),), ((4,),)],
        inputs=_huge,
        grad=False,
    ),
    Case(
        "crossentropy_categorical_1hot",
        nnet.categorical_crossentropy,
        ref_ce_1hot,
        CLASS_SHAPES,
        dtypes=CLASS_DTYPES,
        inputs=_probs_and_classes,
        grad_inputs=[0],
    ),
    Case(
        "crossentropy_categorical_1hot_grad",
        nnet.crossentropy_categorical_1hot_grad,
        ref_ce_1hot_grad,
        [((4,), (4, 3), (4,)), ((1,), (1, 1), (1,)), ((0,), (0, 3), (0,))],
        dtypes=[("float64", "float64", "int64"), ("float32", "float32", "int32")],
        inputs=_grad_1hot_inputs,
        grad_inputs=[0, 1],
    ),
    Case(
        "categorical_crossentropy_dist",
        nnet.categorical_crossentropy,
        lambda p, t: -(t * np.log(p)).sum(axis=-1),
        [((4, 3), (4, 3)), ((1, 1), (1, 1)), ((5,), (5,))],
        dtypes=DIST_DTYPES,
        inputs=_probs_and_dists,
    ),
    Case(
        "categorical_crossentropy_from_logits_int",
        nnet.categorical_crossentropy_from_logits,
        ref_from_logits_int,
        [((4, 3), (4,)), ((1, 1), (1,))],
        dtypes=CLASS_DTYPES[:2],
        inputs=_logits_and_classes,
        grad_inputs=[0],
    ),
    Case(
        "categorical_crossentropy_from_logits_dist",
        nnet.categorical_crossentropy_from_logits,
        lambda z, t: -(t * ref_log_softmax(z)).sum(axis=-1),
        [((4, 3), (4, 3)), ((2, 2, 3), (2, 2, 3))],
        dtypes=DIST_DTYPES,
        inputs=_probs_and_dists,
    ),
    Case(
        "binary_crossentropy",
        nnet.binary_crossentropy,
        lambda o, t: -(t * np.log(o) + (1 - t) * np.log(1 - o)),
        [((4, 3), (4, 3)), ((5,), (5,)), ((0,), (0,)), ((3, 1), (1, 4))],
        dtypes=DIST_DTYPES,
        inputs=_prob_target,
    ),
    Case(
        "sigmoid_binary_crossentropy",
        nnet.sigmoid_binary_crossentropy,
        ref_sigmoid_bce,
        [((4, 3), (4, 3)), ((5,), (5,)), ((0,), (0,))],
        dtypes=DIST_DTYPES,
        inputs=_logit_target,
    ),
    Case(
        "sigmoid_binary_crossentropy_huge",
        nnet.sigmoid_binary_crossentropy,
        ref_sigmoid_bce,
        [((4, 3), (4, 3))],
        dtypes=DIST_DTYPES,
        inputs=lambda r, d, s: _logit_target(r, d, s, scale=1000.0),
        grad=False,
    ),
]


def _ref_elu(x, alpha=1.0):
    x = _float(x)
    return np.where(x > 0, x, alpha * np.expm1(x)).astype(x.dtype)


ACT_SHAPES = [((3, 4),), ((5,),), ((0, 2),), ((),)]
CASES += [
    Case(
        "relu", nnet.relu, lambda x: np.maximum(x, 0), ACT_SHAPES, dtypes=FLOATS + ("int32", "int8")
    ),
    Case(
        "relu_leaky",
        lambda x: nnet.relu(x, 0.1),
        lambda x: np.where(x > 0, x, 0.1 * x).astype(x.dtype),
        ACT_SHAPES,
    ),
    Case("elu", nnet.elu, _ref_elu, ACT_SHAPES),
    Case(
        "selu",
        nnet.selu,
        lambda x: (SELU_SCALE * _ref_elu(x, SELU_ALPHA)).astype(x.dtype),
        ACT_SHAPES,
    ),
    Case(
        "hard_sigmoid",
        nnet.hard_sigmoid,
        lambda x: np.clip(0.2 * x + 0.5, 0, 1).astype(x.dtype),
        ACT_SHAPES,
    ),
    Case("softsign", nnet.softsign, lambda x: x / (1 + np.abs(x)), ACT_SHAPES),
    Case("silu", nnet.silu, lambda x: (x / (1 + np.exp(-x))).astype(x.dtype), ACT_SHAPES),
]
