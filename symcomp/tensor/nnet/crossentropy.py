"""Crossentropies: categorical (with class indices or distributions), binary, and the
stable forms that take logits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import float_of, is_discrete, is_int
from symcomp.tensor.errors import where
from symcomp.tensor.type import TensorType


def check_1hot_types(op, x, t, x_name: str = "coding_dist", t_name: str = "true_dist") -> None:
    """TypeError/ValueError at graph build unless ``x`` is a real matrix and ``t`` an
    integer vector of class indices with as many entries as ``x`` has rows (when known)."""
    if x.ndim != 2 or x.dtype.startswith("complex") or x.dtype == "bool":
        raise TypeError(f"{op}: {x_name} must be a real matrix, got {x.type}{where(user_source())}")
    if t.ndim != 1 or not is_int(t.dtype):
        raise TypeError(
            f"{op}: {t_name} must be an integer vector of class indices, got "
            f"{t.type}{where(user_source())}"
        )
    n, m = x.type.shape[0], t.type.shape[0]
    if n is not None and m is not None and n != m:
        raise ValueError(
            f"{op}: {x_name} has {n} rows but {t_name} has {m} entries{where(user_source())}"
        )


def check_1hot_values(
    x: np.ndarray, t: np.ndarray, x_name: str = "coding_dist", t_name: str = "true_dist"
) -> None:
    """ValueError when ``t`` has not one entry per row of ``x``; IndexError when a class
    index is outside [0, x.shape[1])."""
    if x.shape[0] != t.shape[0]:
        raise ValueError(f"{x_name} has {x.shape[0]} rows but {t_name} has {t.shape[0]} entries")
    if t.size and (t.min() < 0 or t.max() >= x.shape[1]):
        raise IndexError(
            f"class index out of range [0, {x.shape[1]}): min {t.min()}, max {t.max()}"
        )


@dataclass(frozen=True)
class CrossentropyCategorical1Hot(Op):
    """``-log(p[i, t[i]])`` for each row i: the crossentropy of the rows of the probability
    matrix p against the classes t (an integer vector). Theano's op of the same name."""

    def make_node(self, p, t):
        p, t = as_tensor_variable(p), as_tensor_variable(t)
        check_1hot_types(self, p, t)
        n = p.type.shape[0] if p.type.shape[0] is not None else t.type.shape[0]
        out = TensorType(float_of(p.dtype), (n,))
        return Apply.make(self, [p, t], [out])

    def perform(self, node, inputs):
        p, t = inputs
        check_1hot_values(p, t)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = -np.log(p[np.arange(p.shape[0]), t])
        return [np.asarray(out, dtype=node.outputs[0].dtype)]

    def infer_shape(self, node, input_shapes):
        return [(input_shapes[0][0],)]

    def pullback(self, inputs, outputs, cotangents):
        p, t = inputs
        g = cotangents[0]
        if g is None or is_discrete(p.dtype):
            return [None, None]
        return [crossentropy_categorical_1hot_grad(g, p, t), None]


@dataclass(frozen=True)
class CrossentropyCategorical1HotGrad(Op):
    """The gradient of CrossentropyCategorical1Hot wrt p: a matrix like p that is zero
    except ``-g[i] / p[i, t[i]]`` at ``[i, t[i]]``."""

    def make_node(self, g, p, t):
        g, p, t = as_tensor_variable(g), as_tensor_variable(p), as_tensor_variable(t)
        check_1hot_types(self, p, t)
        if g.ndim != 1:
            raise TypeError(f"{self}: g must be a vector, got {g.type}{where(user_source())}")
        return Apply.make(self, [g, p, t], [TensorType(p.dtype, p.type.shape)])

    def perform(self, node, inputs):
        g, p, t = inputs
        check_1hot_values(p, t)
        out = np.zeros(p.shape, dtype=node.outputs[0].dtype)
        rows = np.arange(p.shape[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            out[rows, t] = -g / p[rows, t]
        return [out]

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[1])]

    def pullback(self, inputs, outputs, cotangents):
        # out[i, t_i] = -g_i / p[i, t_i]. With G the cotangent, the gradient wrt g is
        # h_i = -G[i, t_i] / p[i, t_i], and wrt p it is G[i, t_i] * g_i / p[i, t_i]**2 at
        # [i, t_i], which is this op applied to h * g.
        from symcomp.tensor.arith import cast, mul, neg, true_div

        g, p, t = inputs
        big_g = cotangents[0]
        if big_g is None:
            return [None, None, None]
        h = neg(true_div(take_rows(big_g, t), take_rows(p, t)))
        gp = crossentropy_categorical_1hot_grad(mul(h, g), p, t)
        return [cast(h, g.dtype), gp, None]


def take_rows(x, t):
    """``x[arange(n), t]``: one entry per row."""
    import symcomp.tensor as st
    from symcomp.tensor.shapeof import shape_i

    return x[st.arange(shape_i(x, 0)), t]


crossentropy_categorical_1hot = CrossentropyCategorical1Hot()
crossentropy_categorical_1hot_grad = CrossentropyCategorical1HotGrad()


def categorical_crossentropy(coding_dist, true_dist):
    """The crossentropy between each row of ``coding_dist`` (probabilities) and
    ``true_dist``: with an integer vector of class indices, ``-log(p[i, t[i]])``; with a
    matrix (one-hot or probabilities), ``-sum(t * log(p), axis=-1)``."""
    import symcomp.tensor as st

    p, t = as_tensor_variable(coding_dist), as_tensor_variable(true_dist)
    if t.ndim == p.ndim:
        return st.neg(st.sum(st.mul(t, st.log(p)), axis=-1))
    if p.ndim == 2 and t.ndim == 1:
        return crossentropy_categorical_1hot(p, t)
    raise TypeError(
        f"categorical_crossentropy: true_dist must be a distribution like "
        f"coding_dist ({p.type}) or an integer vector of class indices, got "
        f"{t.type}{where(user_source())}"
    )


def categorical_crossentropy_from_logits(logits, targets):
    """``categorical_crossentropy(softmax(logits), targets)`` computed stably through
    log_softmax, along the last axis; ``targets`` are class indices (an integer vector,
    for a matrix of logits) or distributions like ``logits``."""
    import symcomp.tensor as st
    from symcomp.tensor.nnet.softmax import log_softmax

    z, t = as_tensor_variable(logits), as_tensor_variable(targets)
    lsm = log_softmax(z, axis=-1)
    if t.ndim == z.ndim:
        return st.neg(st.sum(st.mul(t, lsm), axis=-1))
    if z.ndim == 2 and t.ndim == 1 and is_int(t.dtype):
        return st.neg(take_rows(lsm, t))
    raise TypeError(
        f"categorical_crossentropy_from_logits: targets must be distributions "
        f"like logits ({z.type}) or an integer vector of class indices, got "
        f"{t.type}{where(user_source())}"
    )


def binary_crossentropy(output, target):
    """``-(target * log(output) + (1 - target) * log(1 - output))`` elementwise; ``output``
    holds probabilities."""
    import symcomp.tensor as st

    o, t = as_tensor_variable(output), as_tensor_variable(target)
    return st.neg(st.add(st.mul(t, st.log(o)), st.mul(st.sub(1, t), st.log1p(st.neg(o)))))


def sigmoid_binary_crossentropy(logits, target):
    """``binary_crossentropy(sigmoid(logits), target)`` computed stably:
    ``target * softplus(-logits) + (1 - target) * softplus(logits)``."""
    import symcomp.tensor as st

    z, t = as_tensor_variable(logits), as_tensor_variable(target)
    return st.add(st.mul(t, st.softplus(st.neg(z))), st.mul(st.sub(1, t), st.softplus(z)))
