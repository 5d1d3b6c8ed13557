"""canonicalize: put graphs in one normal form and remove what computes nothing.

Arithmetic (this module): add/mul chains gather their constants into one, x + 0, x * 1,
x - 0, 0 - x, x - x and x + neg(x), neg(neg(x)), x - y as x + neg(y), division by a float
constant, and the gradient markers disconnected_grad/zero_grad (identities once grad has run). Shapes, dimshuffles, reshapes and casts: canonicalize_shape.py, which registers
into the same pass. Constant folding is part of the pass too (as in Theano), so nothing it
leaves behind is foldable and a second pipeline run changes nothing.

NumPy is the reference; every NaN/inf caveat is in the rule's comment and in
docs/rewrites.md ("canonicalize").
"""

from __future__ import annotations

import numpy as np

import symcomp.scalar.arith as sa
from symcomp.gradient import DisconnectedGrad, ZeroGrad
from symcomp.graph.sourceinfo import attributed_to
from symcomp.graph.variable import Constant
from symcomp.optimize.engine import Pass, rebuild_node
from symcomp.optimize.folding import FOLD_MAX_SIZE, fold_constants
from symcomp.optimize.pattern import const, pat, var
from symcomp.tensor.elemwise import Elemwise

canonicalize = Pass("canonicalize", strategy="fixed_point", doc=__doc__)

# Folding inside the pass: rules here build small constant expressions (shape entries, the
# zero of x - x) that would otherwise wait for the next pipeline run's folding pass.
canonicalize.node_rule()(fold_constants)


def _st():
    import symcomp.tensor as st

    return st


def _constant(value, dtype):
    from symcomp.tensor.variable import tensor_constant

    return tensor_constant(np.asarray(value, dtype=dtype), dtype=dtype)


def _keeps_shape(c, x) -> bool:
    """Whether combining x elementwise with constant c cannot broadcast x to a bigger shape:
    c has no more dims than x and each of its lengths is 1 or x's static length."""
    cs, xs = c.type.shape, x.type.shape
    if len(cs) > len(xs):
        return False
    return all(n == 1 or n == m for n, m in zip(cs, xs[len(xs) - len(cs) :]))


def _all_equal(data, value) -> bool:
    if data.size == 1:  # the usual scalar constant, without a NumPy reduction
        return data.item() == value
    with np.errstate(all="ignore"):
        return bool(np.all(data == value))


def _is_zero(data) -> bool:
    return _all_equal(data, 0)


def _is_one(data) -> bool:
    return _all_equal(data, 1)


def _same(x, out) -> bool:
    return x.dtype == out.dtype and x.ndim == out.ndim


# -- identities ------------------------------------------------------------------------------


@canonicalize.rule(pat(sa.add, var("x"), const(_is_zero, "c"), name="out"))
def add_zero(x, c, out):
    # x + 0 -> x, 0 + x -> x  (-0.0 + 0.0 is +0.0 in NumPy but the rewrite keeps -0.0;
    # they compare equal)
    return x if _same(x, out) and _keeps_shape(c, x) else None


@canonicalize.rule(pat(sa.sub, var("x"), const(_is_zero, "c"), name="out"))
def sub_zero(x, c, out):
    # x - 0 -> x
    return x if _same(x, out) and _keeps_shape(c, x) else None


@canonicalize.rule(pat(sa.sub, const(_is_zero, "c"), var("x"), name="out"))
def zero_sub(x, c, out):
    # 0 - x -> neg(x)  (0.0 - 0.0 is +0.0, neg(0.0) is -0.0; they compare equal; integers
    # wrap the same way)
    return _st().neg(x) if _same(x, out) and _keeps_shape(c, x) else None


@canonicalize.rule(pat(sa.mul, var("x"), const(_is_one, "c"), name="out"))
def mul_one(x, c, out):
    # x * 1 -> x, 1 * x -> x
    return x if _same(x, out) and _keeps_shape(c, x) else None


@canonicalize.rule(pat(sa.sub, var("x"), var("x"), name="out"))
def sub_self(x, out):
    # x - x -> zeros_like(x)  (caveat: NumPy gives nan where x is inf or nan; the rewrite
    # gives 0 there)
    return filled_like(x, 0, out.dtype)


@canonicalize.rule(pat(sa.add, var("x"), pat(sa.neg, var("x")), name="out"))
def add_neg_self(x, out):
    # x + neg(x) -> zeros_like(x), neg(x) + x too: x - x as sub_to_add_neg writes it, and
    # what specialize's add_neg_to_sub would turn back into x - x after this pass
    # (same caveat as sub_self: NumPy gives nan where x is inf or nan, the rewrite 0)
    return filled_like(x, 0, out.dtype) if _same(x, out) else None


@canonicalize.rule(pat(sa.neg, pat(sa.neg, var("x")), name="out"))
def neg_neg(x, out):
    # neg(neg(x)) -> x  (exact, integers included: negation wraps both ways)
    return x if _same(x, out) else None


@canonicalize.rule(pat(sa.sub, var("x"), var("y"), name="out"))
def sub_to_add_neg(x, y, out):
    # x - y -> x + neg(y)  (so add chains see through subtractions and gather their
    # constants; exact, integers included, when neg(y) has the result dtype or y is a float:
    # a narrower int8 y = -128 would wrap before NumPy widens it. specialize's
    # add_neg_to_sub turns what is left back into x - y under the same condition)
    if out.dtype == "bool" or not (y.dtype == out.dtype or y.dtype[:5] == "float"):
        return None
    if isinstance(y, Constant):
        with np.errstate(all="ignore"):
            return _st().add(x, _constant(np.negative(y.data), y.dtype))
    return _st().add(x, _st().neg(y))


def _reciprocal_is_exactish(data) -> bool:
    """1/c keeps x / c == x * (1/c) up to rounding: no element has a reciprocal that
    overflows or is subnormal (c = 0, inf and nan are fine: x * inf, x * 0 and x * nan agree
    with x / 0, x / inf and x / nan)."""
    data = np.asarray(data)
    if data.dtype.kind != "f" or data.size > FOLD_MAX_SIZE:
        return False
    with np.errstate(all="ignore"):
        r = np.abs(np.reciprocal(data))
    special = (data == 0) | ~np.isfinite(data)
    ok = np.isfinite(r) & (r >= np.finfo(data.dtype).tiny)
    return bool(np.all(special | ok))


@canonicalize.rule(pat(sa.true_div, var("x"), const(_reciprocal_is_exactish, "c"), name="out"))
def div_by_constant(x, c, out):
    # x / c -> x * (1/c)  (floats only; not bit-exact: two roundings instead of one, unless c
    # is a power of two; what Theano and PyTensor do)
    if not (x.dtype == c.dtype == out.dtype) or out.dtype[:5] != "float":
        return None
    with np.errstate(all="ignore"):
        r = np.reciprocal(np.asarray(c.data))
    return _st().mul(x, _constant(r, out.dtype))


def filled_like(x, value, dtype):
    """An array with x's shape filled with ``value`` as ``dtype``: a constant when x's shape
    is static and small (so the result needs no folding), else an Alloc."""
    st = _st()
    shape = x.type.shape
    if None not in shape and int(np.prod(shape, dtype=np.int64)) <= FOLD_MAX_SIZE:
        return _constant(np.full(shape, value, dtype=dtype), dtype)
    return st.alloc(_constant(value, dtype), *st.shape_tuple(x))


# -- add/mul chains --------------------------------------------------------------------------

_CHAIN_OPS = {sa.Add: (sa.add, np.add), sa.Mul: (sa.mul, np.multiply)}


def _elemwise_of(node, scalar_classes):
    op = node.op
    if type(op) is not Elemwise or type(op.scalar_op) not in scalar_classes:
        return None
    return type(op.scalar_op)


def _chain_op(node):
    """Add or Mul when ``node`` is an Elemwise of add or mul, else None."""
    return _elemwise_of(node, _CHAIN_OPS)


@canonicalize.graph_rule
def gather_chain_constants(outputs, ctx):
    # (x + c1) + c2 -> x + (c1 + c2); c1 * (x * c2) -> x * (c1 * c2); in general an add (mul)
    # chain, seen through negations, becomes its other terms in order, then one folded
    # constant: 5 - (x + 1) -> neg(x) + 4, 2 * neg(x * 3) -> x * -6. Only nodes with a
    # single client are flattened, so shared values are never recomputed. Caveat: floats
    # are reassociated, so rounding (and where an intermediate overflows to inf) may
    # differ: (x + 1e308) + -1e308 is inf in NumPy at x = 1e308, x + 0 here.
    nodes = ctx.toposort(outputs)
    clients: dict = {}
    kinds: dict = {}  # chain node -> Add or Mul
    with_constant = []  # chain nodes with a constant operand
    for node in nodes:
        for i in node.inputs:
            clients[i] = clients.get(i, 0) + 1
        kind = _chain_op(node)
        if kind is not None:
            kinds[node] = kind
            if any(isinstance(i, Constant) for i in node.inputs):
                with_constant.append(node)
    for o in outputs:
        clients[o] = clients.get(o, 0) + 2  # an output is never flattened into a chain
    # Two constants meet in a chain only if one's node is inner: used once, by its chain.
    if not any(clients[n.outputs[0]] == 1 for n in with_constant):
        return None
    blocked = set(ctx.inputs)
    visited: set = set()
    replacements: dict = {}
    for node in reversed(nodes):  # a chain's root comes before its inner nodes
        if node not in kinds or node in visited:
            continue
        chain = _chain_terms(node, clients, blocked, visited, kinds)
        if sum(1 for t, _ in chain[0] if isinstance(t, Constant)) >= 2:
            replacements[node] = chain
    if not replacements:
        return None
    new_of: dict = {}
    for node in nodes:
        chain = replacements.get(node)
        if chain is not None:
            terms = [(new_of.get(t, t), negated) for t, negated in chain[0]]
            new = _rebuild_chain(node, terms, chain[1])
            if new is not None:
                new_of[node.outputs[0]] = new
                continue
        inputs = [new_of.get(i, i) for i in node.inputs]
        if any(a is not b for a, b in zip(inputs, node.inputs)):
            rebuilt = rebuild_node(node, inputs)
            new_of.update(zip(node.outputs, rebuilt.outputs))
    new_outputs = [new_of.get(o, o) for o in outputs]
    return None if all(a is b for a, b in zip(new_outputs, outputs)) else new_outputs


def _chain_terms(node, clients, blocked, visited, kinds):
    """The terms of the chain rooted at ``node``, left to right, each with whether an odd
    number of negations lies above it, and how many negations were passed. The walk
    descends into single-client nodes of the root's op and dtype, and into single-client
    negations of that dtype (iterative: chains can be deeper than the recursion limit).
    ``kinds``: the chain op of every chain node of the graph."""
    kind, dtype = kinds[node], node.outputs[0].dtype
    terms, negs = [], 0
    stack = [(i, False) for i in reversed(node.inputs)]
    while stack:
        v, negated = stack.pop()
        owner = v.owner
        if owner is not None and clients.get(v) == 1 and v not in blocked:
            inner = kinds.get(owner)  # (a Neg node is no chain node)
            if inner is kind and v.type.dtype == dtype:
                visited.add(owner)
                stack.extend((i, negated) for i in reversed(owner.inputs))
                continue
            if (
                inner is None
                and dtype != "bool"
                and v.type.dtype == dtype
                and _elemwise_of(owner, (sa.Neg,))
            ):
                negs += 1
                stack.append((owner.inputs[0], not negated))
                continue
        terms.append((v, negated))
    return terms, negs


def _rebuild_chain(node, terms, negs):
    """The chain ``node`` as its non-constant terms (cast to its dtype, as NumPy casts each
    operand to the result dtype) then one folded constant; None unless that is no bigger."""
    st = _st()
    out = node.outputs[0]
    dtype = out.dtype
    scalar_op, ufunc = _CHAIN_OPS[_chain_op(node)]
    is_add = scalar_op is sa.add
    consts = [(t, n) for t, n in terms if isinstance(t, Constant)]
    others = [(t, n) for t, n in terms if not isinstance(t, Constant)]
    with np.errstate(all="ignore"):
        value = None
        for t, negated in consts:
            v = np.asarray(t.data).astype(dtype)
            if negated and is_add:
                v = np.negative(v)
            value = v if value is None else ufunc(value, v).astype(dtype)
        if not is_add and negs % 2:
            value = np.negative(value)
    if value.size > FOLD_MAX_SIZE:
        return None
    folded = _constant(value, dtype)
    rest = _broadcast_static([t.type.shape for t, _ in others]) if others else None
    droppable = rest is not None and _keeps_shape(folded, _Shaped(rest))
    drop = droppable and bool(np.all(value == (0 if is_add else 1)))
    negate_all = droppable and not is_add and bool(np.all(value == -1))
    n_new = max(len(others) - 1, 0) + (0 if drop or negate_all else 1) + int(negate_all)
    n_new += sum(1 for t, n in others if t.dtype != dtype) + (is_add and sum(n for _, n in others))
    if n_new > len(terms) - 1 + negs:
        return None
    op = Elemwise(scalar_op)
    with attributed_to(node.trace):
        acc = None
        for t, negated in others:
            t = st.cast(t, dtype)
            if negated and is_add:
                t = st.neg(t)
            acc = t if acc is None else op(acc, t)
        if acc is None:
            acc = folded
        elif negate_all:
            acc = st.neg(acc)
        elif not drop:
            acc = op(acc, folded)
    return acc if acc.dtype == dtype and acc.ndim == out.ndim else None


class _Shaped:
    """Stands in for a variable of a given static shape in _keeps_shape."""

    def __init__(self, shape):
        self.type = self
        self.shape = shape


def _broadcast_static(shapes):
    from symcomp.tensor.elemwise import broadcast_static_shapes

    try:
        return broadcast_static_shapes("add", shapes)
    except ValueError:
        return None


from symcomp.optimize import canonicalize_shape  # noqa: E402, F401  (registers its rules)


@canonicalize.node_rule(DisconnectedGrad, ZeroGrad)
def drop_gradient_marker(node):
    # disconnected_grad(x) / zero_grad(x) -> x: they only matter to sc.grad, which has run.
    return node.inputs[0]
