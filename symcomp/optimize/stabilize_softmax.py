"""stabilize, the softmax family: log(softmax) -> log_softmax, log(sum(exp)) -> logsumexp,
crossentropy of a softmax -> one fused op, and the matching gradient forms (registered
into the ``stabilize`` pass of stabilize.py)."""

from __future__ import annotations

import symcomp.scalar.arith as sa
import symcomp.scalar.transcendental as tr
from symcomp.optimize.pattern import pat, var
from symcomp.optimize.stabilize import stabilize
from symcomp.optimize.stabilize_util import (
    as_dtype,
    is_elemwise,
    is_float,
    is_positive_function,
    same_shape,
)
from symcomp.tensor.nnet.crossentropy import (
    CrossentropyCategorical1Hot,
    CrossentropyCategorical1HotGrad,
)
from symcomp.tensor.nnet.softmax import LogSoftmax, Softmax
from symcomp.tensor.reduction import Max, Sum

# How far up a shift's graph to look for the max that logsumexp subtracts.
SHIFT_SEARCH_NODES = 32


def _st():
    import symcomp.tensor as st

    return st


@stabilize.rule(pat(tr.log, pat(Softmax, var("x"), name="sm")))
def log_softmax_of_log_softmax(x, sm):
    # log(softmax(x, axis)) -> log_softmax(x, axis)
    return LogSoftmax(sm.owner.op.axis)(x)


@stabilize.rule(pat(tr.log, pat(Sum, pat(tr.exp, var("x"), name="e"), name="s")))
def logsumexp_of_log_sum_exp(x, e, s):
    # log(sum(exp(x), axes)) -> logsumexp(x, axes)   (max(x) shifted out)
    op = s.owner.op
    if not is_float(x) or s.dtype != e.dtype or not op.axes or _max_shifted(x):
        return None
    from symcomp.tensor.reduction import logsumexp

    return logsumexp(x, op.axes, keepdims=op.keepdims)


def _max_shifted(v) -> bool:
    """Whether v is ``y - shift`` with shift computed from max(y): logsumexp's own inner
    log(sum(exp(y - shift))), which must not be rewritten again."""
    if is_elemwise(v, sa.Sub):
        y, shift = v.owner.inputs
        return _reads_max_of(shift, y)
    if is_elemwise(v, sa.Add):
        a, b = v.owner.inputs
        for y, other in ((a, b), (b, a)):
            if is_elemwise(other, sa.Neg) and _reads_max_of(other.owner.inputs[0], y):
                return True
    return False


def _reads_max_of(shift, y) -> bool:
    stack, seen = [shift], 0
    while stack and seen < SHIFT_SEARCH_NODES:
        v = stack.pop()
        seen += 1
        node = v.owner
        if node is None:
            continue
        if isinstance(node.op, Max) and node.inputs[0] is y:
            return True
        stack.extend(node.inputs)
    return False


@stabilize.rule(pat(CrossentropyCategorical1Hot, pat(Softmax, var("x"), name="sm"), var("t")))
def crossentropy_softmax_1hot_of_crossentropy(x, sm, t):
    # crossentropy_categorical_1hot(softmax(x), t) -> crossentropy_softmax_1hot(x, t)
    if sm.owner.op.axis != 1:
        return None
    from symcomp.tensor.nnet.fused_xent import crossentropy_softmax_1hot

    return crossentropy_softmax_1hot(x, t)


@stabilize.rule(
    pat(
        sa.mul,
        pat(CrossentropyCategorical1HotGrad, var("g"), var("p"), var("t")),
        var("p"),
        name="out",
    )
)
def one_hot_of_crossentropy_grad_times_p(g, p, t, out):
    # crossentropy_categorical_1hot_grad(g, p, t) * p -> -onehot(t) * g[:, None]
    # (p = softmax(x), ...: the gradient divides by p[i, t[i]] and multiplies it back)
    if not is_positive_function(p):
        return None
    from symcomp.tensor.nnet.fused_xent import one_hot_rows

    return as_dtype(_st().neg(one_hot_rows(as_dtype(g, p.dtype), t, p)), out.dtype)


@stabilize.rule(pat(sa.mul, var("bg"), pat(tr.exp, var("x"), name="e"), name="out"))
def softmax_of_logsumexp_grad(bg, x, e, out):
    # broadcast(g / sum(exp(x), axes)) * exp(x) -> broadcast(g) * exp(x - logsumexp(x, axes))
    # (the gradient of log(sum(exp(x))): inf / inf where exp(x) overflows)
    if not is_float(x):
        return None
    chain, v = [], bg
    while v.owner is not None and _passes_shape_only(v):
        chain.append(v.owner)
        v = v.owner.inputs[0]
    if not is_elemwise(v, sa.TrueDiv):
        return None
    g, total = v.owner.inputs
    if total.owner is None or not isinstance(total.owner.op, Sum):
        return None
    if total.owner.inputs[0] is not e or not same_shape(g, v):
        return None
    new = as_dtype(g, v.dtype)
    for node in reversed(chain):
        new = node.op.make_node(new, *node.inputs[1:]).outputs[0]
    from symcomp.tensor.reduction import logsumexp

    lse = logsumexp(x, total.owner.op.axes, keepdims=True)
    return as_dtype(_st().mul(new, _st().exp(_st().sub(x, lse))), out.dtype)


def _passes_shape_only(v) -> bool:
    """Alloc, DimShuffle and Cast move values around without arithmetic."""
    from symcomp.tensor.alloc import Alloc
    from symcomp.tensor.dimshuffle import DimShuffle

    return isinstance(v.owner.op, (Alloc, DimShuffle)) or is_elemwise(v, sa.Cast)
