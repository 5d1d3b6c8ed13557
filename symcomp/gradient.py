"""Reverse- and forward-mode differentiation: grad, Lop, Rop, jacobian, hessian,
verify_grad, and the gradient-blocking ops."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.basic import ancestors, gc_paused, toposort
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import attributed_to
from symcomp.graph.variable import Variable
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import is_discrete


class DisconnectedInputError(ValueError):
    """grad() was asked for the gradient wrt a variable the cost does not depend on."""


class NullGradError(TypeError):
    """An op on the path has no gradient."""


# -- gradient-blocking ops ------------------------------------------------------------


@dataclass(frozen=True)
class _IdentityGradOp(Op):
    abstract = True

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply.make(self, [x], [x.type])

    def perform(self, node, inputs):
        return [inputs[0]]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]


@dataclass(frozen=True)
class DisconnectedGrad(_IdentityGradOp):
    """x in the forward pass; no gradient flows back through it."""

    def pullback(self, inputs, outputs, cotangents):
        return [None]


@dataclass(frozen=True)
class ZeroGrad(_IdentityGradOp):
    """x in the forward pass; its gradient is zero (connected, unlike disconnected_grad)."""

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.alloc import zeros_like

        return [zeros_like(inputs[0])]


def disconnected_grad(x):
    """x, with no gradient flowing through it (JAX's stop_gradient)."""
    return DisconnectedGrad()(x)


stop_gradient = disconnected_grad


def zero_grad(x):
    """x, with a zero gradient."""
    return ZeroGrad()(x)


# -- reverse mode -------------------------------------------------------------------


def grad(
    cost,
    wrt,
    consider_constant=None,
    disconnected_inputs: str = "raise",
    known_grads=None,
    return_disconnected: str = "zero",
):
    """The symbolic gradient of the scalar ``cost`` wrt ``wrt`` (a variable or a list).

    consider_constant: variables treated as constants (no gradient through them).
    known_grads: {variable: gradient} seeds, with or instead of cost (cost may be None).
    disconnected_inputs: "raise" (DisconnectedInputError), "warn" or "ignore" when a wrt
    variable does not affect the cost. Disconnected and integer wrt get zeros, or None
    when return_disconnected="none".
    """
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError("disconnected_inputs must be 'raise', 'warn' or 'ignore'")
    single = isinstance(wrt, Variable)
    wrt_list = [wrt] if single else list(wrt)
    for w in wrt_list:
        if not isinstance(w, Variable):
            raise TypeError(f"grad: wrt must be symbolic variables, got {w!r}")
    seeds = {}
    if cost is not None:
        cost = as_tensor_variable(cost)
        if cost.ndim != 0:
            raise TypeError(
                f"grad: the cost must be a scalar, got {cost} with type "
                f"{cost.type}; sum or average it first, or use Lop/jacobian"
            )
        seeds[cost] = _ones_like_cost(cost)
    for var, g in (known_grads or {}).items():
        seeds[var] = as_tensor_variable(g)
    if not seeds:
        raise ValueError("grad needs a cost or known_grads")
    with gc_paused():
        grads = backprop(seeds, wrt_list, consider_constant)
    result = []
    for w, g in zip(wrt_list, grads):
        if g is None:
            if not _connected(w, seeds, consider_constant):
                _report_disconnected(w, disconnected_inputs)
            if return_disconnected == "none":
                result.append(None)
                continue
            from symcomp.tensor.alloc import zeros_like

            g = zeros_like(w, dtype=w.dtype if not is_discrete(w.dtype) else "floatX")
        result.append(g)
    return result[0] if single else result


def _ones_like_cost(cost):
    from symcomp.tensor.alloc import ones_like

    return ones_like(cost, dtype=cost.dtype if not is_discrete(cost.dtype) else "floatX")


def _connected(w, seeds, consider_constant) -> bool:
    """Whether w reaches a seed other than through constants or disconnected_grad."""
    blockers = set(consider_constant or ())
    for var in ancestors(list(seeds), blockers=blockers):
        if var.owner is not None and isinstance(var.owner.op, DisconnectedGrad):
            blockers.add(var)
    return w in set(ancestors(list(seeds), blockers=blockers))


def _report_disconnected(w, policy):
    from symcomp.tensor.errors import where

    msg = (
        f"grad: the cost does not depend on {w} ({w.type}); pass "
        f"disconnected_inputs='ignore' or 'warn' to get zeros{where(w.trace)}"
    )
    if policy == "raise":
        raise DisconnectedInputError(msg)
    if policy == "warn":
        warnings.warn(msg, stacklevel=3)


def backprop(seeds: dict, wrt: Sequence[Variable], consider_constant=None) -> list:
    """Accumulate cotangents from ``seeds`` ({var: cotangent}) back to ``wrt``.

    Returns one entry per wrt: the summed cotangent, or None where nothing reached it.
    """
    blocked = set(consider_constant or ())
    wrt_set = set(wrt)
    order = toposort(list(seeds), blockers=blocked | wrt_set)
    # Nodes on a path from some wrt: only those need their pullback.
    reaches: set = set(wrt_set)
    for node in order:
        if any(i in reaches for i in node.inputs):
            reaches.update(node.outputs)
    cot: dict = {}
    for var, g in seeds.items():
        _accumulate(cot, var, g)
    for node in reversed(order):
        if not any(o in cot for o in node.outputs):
            continue
        if not any(i in reaches for i in node.inputs):
            continue
        if not node.op.differentiable:
            continue
        out_cots = [cot.get(o) for o in node.outputs]
        with attributed_to(node.trace):  # gradient nodes point at the user's forward line
            in_cots = node.op.pullback(list(node.inputs), list(node.outputs), out_cots)
        if len(in_cots) != len(node.inputs):
            raise ValueError(
                f"{node.op}.pullback returned {len(in_cots)} gradients for "
                f"{len(node.inputs)} inputs"
            )
        for inp, g in zip(node.inputs, in_cots):
            if g is None or inp in blocked or inp not in reaches:
                continue
            if is_discrete(inp.dtype):
                continue
            _accumulate(cot, inp, _check_cotangent(node, inp, g))
    return [cot.get(w) for w in wrt]


def _check_cotangent(node, inp, g):
    from symcomp.tensor.arith import cast

    g = as_tensor_variable(g)
    if g.ndim != inp.ndim:
        raise ValueError(
            f"{node.op}.pullback gave a gradient with {g.ndim} dims for input "
            f"{inp} with {inp.ndim} dims"
        )
    if g.dtype != inp.dtype:
        g = cast(g, inp.dtype)
    return g


def _accumulate(cot: dict, var, g) -> None:
    prev = cot.get(var)
    cot[var] = g if prev is None else prev + g


def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """Vector-Jacobian product: ``eval_points``^T d f / d wrt (f and eval_points may be
    lists)."""
    fs = [f] if isinstance(f, Variable) else list(f)
    evs = (
        [eval_points]
        if isinstance(eval_points, Variable) or not isinstance(eval_points, (list, tuple))
        else list(eval_points)
    )
    if len(fs) != len(evs):
        raise ValueError(f"Lop: {len(fs)} outputs but {len(evs)} eval points")
    known = {o: as_tensor_variable(e) for o, e in zip(fs, evs)}
    return grad(
        None,
        wrt,
        known_grads=known,
        consider_constant=consider_constant,
        disconnected_inputs=disconnected_inputs,
    )


def Rop(f, wrt, eval_points):
    """Jacobian-vector product: d f / d wrt · ``eval_points``.

    Computed by transposing the (linear) Lop: with u a placeholder of f's type,
    Rop = grad of <Lop(f, wrt, u), v> wrt u, which does not depend on u's value.
    """
    from symcomp.graph.basic import graph_replace
    from symcomp.tensor.alloc import zeros_like

    single_f = isinstance(f, Variable)
    fs = [f] if single_f else list(f)
    wrts = [wrt] if isinstance(wrt, Variable) else list(wrt)
    vs = (
        [eval_points]
        if isinstance(eval_points, Variable) or not isinstance(eval_points, (list, tuple))
        else list(eval_points)
    )
    vs = [as_tensor_variable(v) for v in vs]
    us = [o.type() for o in fs]
    lops = Lop(fs, wrts, us, disconnected_inputs="ignore")
    inner = None
    for lop_i, v in zip(lops, vs):
        term = (lop_i * v).sum()
        inner = term if inner is None else inner + term
    rops = grad(inner, us, disconnected_inputs="ignore")
    rops = graph_replace(rops, {u: zeros_like(o) for u, o in zip(us, fs)})
    return rops[0] if single_f else rops


def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """d expression / d wrt, with the shape expression.shape + wrt.shape.

    The expression's flattened length must be static (known from its type).
    """
    import symcomp.tensor as st

    expression = as_tensor_variable(expression)
    single = isinstance(wrt, Variable)
    wrts = [wrt] if single else list(wrt)
    if expression.ndim == 0:
        gs = grad(expression, wrts, consider_constant, disconnected_inputs)
        return gs[0] if single else gs
    shape = expression.type.shape
    if None in shape:
        from symcomp.control.map import map_jacobian

        result = map_jacobian(expression, wrts, consider_constant, disconnected_inputs)
        return result[0] if single else result
    flat = expression.flatten()
    n = int(np.prod(shape))
    rows = [grad(flat[i], wrts, consider_constant, disconnected_inputs) for i in range(n)]
    result = []
    for k, w in enumerate(wrts):
        stacked = st.stack([r[k] for r in rows]) if n else st.zeros((0,) + w.type.shape)
        result.append(stacked.reshape(tuple(shape) + tuple(st.shape_tuple(w))))
    return result[0] if single else result


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The matrix of second derivatives of the scalar ``cost`` wrt each vector in wrt."""
    single = isinstance(wrt, Variable)
    wrts = [wrt] if single else list(wrt)
    result = []
    for w in wrts:
        g = grad(cost, w, consider_constant, disconnected_inputs)
        result.append(jacobian(g, w, consider_constant, disconnected_inputs))
    return result[0] if single else result


from symcomp.gradient_check import GradientError, numeric_grad, verify_grad  # noqa: F401
