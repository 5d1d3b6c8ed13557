"""Helpers of the stabilize rules: op tests, dtype-preserving builders, and a cheap proof
that two variables have the same run-time shape (so a rule may drop a factor that could
have broadcast the result)."""

from __future__ import annotations

import numpy as np

import symcomp.scalar.arith as sa
from symcomp.graph.variable import Constant
from symcomp.optimize.pattern import _elemwise_class

# Dim keys: an int (a known length) or a tuple naming an unknown length. Equal keys mean
# equal lengths at run time; an unknown length gets a key of its own.
MAX_DEPTH = 200


def scalar_op_of(v):
    """The scalar op of the Elemwise node that made ``v`` (None for anything else)."""
    node = v.owner
    if node is None or type(node.op) is not _elemwise_class():
        return None
    return node.op.scalar_op


def is_elemwise(v, scalar_cls) -> bool:
    """Whether ``v`` is made by an Elemwise applying an instance of ``scalar_cls``."""
    return isinstance(scalar_op_of(v), scalar_cls)


def is_float(v) -> bool:
    return v.dtype.startswith("float")


def fits(c, x) -> bool:
    """Whether the constant ``c`` (one value) cannot broadcast ``x`` to a bigger shape."""
    return isinstance(c, Constant) and np.asarray(c.data).size == 1 and c.ndim <= x.ndim


def as_dtype(v, dtype):
    """``v`` cast to ``dtype`` (itself when it has that dtype)."""
    from symcomp.tensor.arith import cast

    return cast(v, dtype)


def negate(v):
    """-v, without stacking a second negation (neg(neg(x)) is x)."""
    import symcomp.scalar.arith as sa
    from symcomp.tensor.arith import neg

    if is_elemwise(v, sa.Neg):
        return v.owner.inputs[0]
    return neg(v)


def is_positive_function(v) -> bool:
    """Whether ``v`` is exp, sigmoid, softplus or softmax of something: never 0 nor inf
    in exact arithmetic, so a 0 or inf in its value is an underflow or overflow."""
    import symcomp.scalar.transcendental as tr
    from symcomp.tensor.nnet.softmax import Softmax

    if v.owner is not None and isinstance(v.owner.op, Softmax):
        return True
    return is_elemwise(v, (tr.Exp, tr.Sigmoid, tr.Softplus))


def same_shape(a, b) -> bool:
    """Whether ``a`` and ``b`` provably have the same shape at run time."""
    if a.ndim != b.ndim:
        return False
    memo: dict = {}
    return dim_keys(a, memo) == dim_keys(b, memo)


def dim_keys(v, memo: dict, depth: int = 0) -> tuple:
    """One key per dim of ``v``: its static length, or the key of the length it provably
    copies (through elementwise ops, softmax, updates of subtensors, allocs of a read
    shape, dimshuffles), or a key of its own."""
    found = memo.get(id(v))
    if found is not None:
        return found
    keys = tuple(n if n is not None else _unknown(v, d) for d, n in enumerate(v.type.shape))
    if None in v.type.shape and v.owner is not None and depth < MAX_DEPTH:
        derived = _derived_keys(v, memo, depth + 1)
        if derived is not None:
            keys = tuple(k if n is None else n for k, n in zip(derived, v.type.shape))
    memo[id(v)] = keys
    return keys


def _unknown(v, d) -> tuple:
    return ("dim", id(v), d)


def _derived_keys(v, memo, depth):
    from symcomp.tensor.advanced import AdvancedIncSubtensor
    from symcomp.tensor.alloc import Alloc
    from symcomp.tensor.dimshuffle import DimShuffle
    from symcomp.tensor.elemwise import Elemwise, SumToShape
    from symcomp.tensor.linalg import Dot
    from symcomp.tensor.nnet.softmax import LogSoftmax, Softmax
    from symcomp.tensor.reduction import Reduce
    from symcomp.tensor.subtensor import IncSubtensor

    node = v.owner
    op = node.op
    if isinstance(op, (Softmax, LogSoftmax, IncSubtensor, AdvancedIncSubtensor)):
        return dim_keys(node.inputs[0], memo, depth)
    if isinstance(op, SumToShape):
        return dim_keys(node.inputs[1], memo, depth)
    if isinstance(op, Alloc):
        return tuple(_entry_key(e, memo, depth) for e in node.inputs[1:])
    if isinstance(op, DimShuffle):
        inner = dim_keys(node.inputs[0], memo, depth)
        return tuple(1 if d == "x" else inner[d] for d in op.new_order)
    if type(op) is Elemwise:
        return _broadcast_keys(v, node.inputs, memo, depth)
    if isinstance(op, Reduce):
        inner = dim_keys(node.inputs[0], memo, depth)
        if op.keepdims:
            return tuple(1 if d in op.axes else k for d, k in enumerate(inner))
        return tuple(k for d, k in enumerate(inner) if d not in op.axes)
    if isinstance(op, Dot) and all(i.ndim == 2 for i in node.inputs):
        x, y = (dim_keys(i, memo, depth) for i in node.inputs)
        return (x[0], y[1])
    return None


def _entry_key(entry, memo, depth):
    from symcomp.tensor.shapeof import ShapeI

    if isinstance(entry, Constant):
        return int(entry.data)
    owner = entry.owner
    if owner is not None and isinstance(owner.op, ShapeI):
        x = owner.inputs[0]
        return dim_keys(x, memo, depth)[owner.op.i % x.ndim]
    # switch(eq(a, 1), b, a): the length a and b broadcast to (broadcast_shape_symbolic's form)
    if is_elemwise(entry, sa.Switch):
        cond, b, a = owner.inputs
        if is_elemwise(cond, sa.EQ) and cond.owner.inputs[0] is a and _is_one(cond.owner.inputs[1]):
            return _bcast({_entry_key(a, memo, depth), _entry_key(b, memo, depth)})
    return ("entry", id(entry))


def _is_one(v) -> bool:
    return isinstance(v, Constant) and np.asarray(v.data).size == 1 and np.all(v.data == 1)


def _bcast(keys: set):
    """The key of the length that lengths with ``keys`` broadcast to."""
    flat = set()
    for k in keys:
        if isinstance(k, tuple) and k[0] == "bcast":
            flat |= k[1]
        elif k != 1:
            flat.add(k)
    if not flat:
        return 1
    ints = {k for k in flat if isinstance(k, int)}
    if ints:  # a known length other than 1 is what a valid broadcast gives
        return ints.pop() if len(ints) == 1 else ("conflict", id(keys))
    return flat.pop() if len(flat) == 1 else ("bcast", frozenset(flat))


def _broadcast_keys(v, inputs, memo, depth) -> tuple:
    ndim = v.ndim
    out = []
    in_keys = [(ndim - i.ndim, dim_keys(i, memo, depth)) for i in inputs]
    for d in range(ndim):
        out.append(_bcast({keys[d - lead] for lead, keys in in_keys if d >= lead}))
    return tuple(out)
