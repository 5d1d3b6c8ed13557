"""canonicalize, part two: shapes, dimshuffles, reshapes, casts and copies.

Registers into the ``canonicalize`` pass (imported by canonicalize.py). Shape reads are
answered from the inputs' shapes through each op's ``infer_shape``, so a value is never
computed only to read its shape: ``(x + y).shape[0]`` no longer runs the addition.
"""

from __future__ import annotations

import numpy as np

import symcomp.scalar.arith as sa
from symcomp.graph.basic import ancestors
from symcomp.graph.variable import Constant, Variable
from symcomp.optimize.canonicalize import _constant, _st, canonicalize
from symcomp.optimize.pattern import pat, var
from symcomp.scalar.composite import Composite
from symcomp.tensor.dimshuffle import DimShuffle
from symcomp.tensor.elemwise import Elemwise, SumToShape
from symcomp.tensor.fused import FusedReduce
from symcomp.tensor.shape import MakeVector, Reshape
from symcomp.tensor.shapeof import Shape, ShapeI, static_value
from symcomp.tensor.subtensor import Subtensor
from symcomp.tensor.type import TensorType

# -- dimshuffle --------------------------------------------------------------------------------


@canonicalize.rule(pat(DimShuffle, pat(DimShuffle, var("x"), name="inner"), name="out"))
def merge_dimshuffles(x, inner, out):
    # dimshuffle(dimshuffle(x, p), q) -> dimshuffle(x, p[q])  (dims dropped by either are
    # dropped by the result, which checks their length is 1 just the same)
    p, q = inner.owner.op.new_order, out.owner.op.new_order
    order = tuple("x" if d == "x" else p[d] for d in q)
    return _st().dimshuffle(x, order)


@canonicalize.rule(pat(DimShuffle, var("x"), name="out"))
def dimshuffle_noop(x, out):
    # dimshuffle(x, (0, 1, ..)) -> x; also a length-1 dim dropped and put back in place
    order = out.owner.op.new_order
    if len(order) != x.ndim:
        return None
    for k, d in enumerate(order):
        if d != k and not (d == "x" and x.type.shape[k] == 1):
            return None
    return x


# -- reshape -----------------------------------------------------------------------------------


@canonicalize.rule(pat(Reshape, pat(Reshape, var("x"), var("s1")), var("s2"), name="out"))
def merge_reshapes(x, s1, s2, out):
    # reshape(reshape(x, s1), s2) -> reshape(x, s2)  (reshape always reads C order; caveat:
    # an s1 that does not fit x raised in NumPy and no longer does)
    shape = out.type.shape
    if None not in shape:  # keep a -1 resolved through the inner reshape's static shape
        return Reshape(out.ndim)(x, _constant(np.array(shape, dtype=np.int64), "int64"))
    return Reshape(out.ndim)(x, s2)


@canonicalize.rule(pat(Reshape, var("x"), var("s"), name="out"))
def reshape_noop(x, s, out):
    # reshape(x, shape(x)) -> x, and any reshape to x's own shape
    if x.ndim != out.ndim:
        return None
    xs = x.type.shape
    if None not in xs and xs == out.type.shape:
        return x
    from symcomp.tensor.shape import vector_entries

    if not isinstance(s, Constant) and not isinstance(
        getattr(s.owner, "op", None), (MakeVector, Shape)
    ):
        return None  # entries of any other vector would be new Subtensor nodes
    entries = vector_entries(s, out.ndim)
    same = [_is_dim(e, x, d) for d, e in enumerate(entries)]
    if all(same):
        return x
    minus = [d for d, e in enumerate(entries) if _int(e) == -1]
    if len(minus) == 1 and sum(same) == x.ndim - 1:
        # the -1 is x's remaining length, unless another entry is 0 (then NumPy raises)
        if all(_int(e) != 0 for e in entries):
            return x
    return None


def _int(e):
    v = static_value(e) if isinstance(e, (int, np.integer, Variable)) else None
    return v


def _is_dim(e, x, d) -> bool:
    """Whether shape entry ``e`` is certainly the length of dim d of x."""
    n = x.type.shape[d]
    if n is not None and _int(e) == n:
        return True
    owner = getattr(e, "owner", None)
    if owner is not None and isinstance(owner.op, ShapeI):
        return owner.inputs[0] is x and owner.op.i % x.ndim == d
    return False


# -- casts and copies --------------------------------------------------------------------------


@canonicalize.rule(pat(sa.Cast, var("x"), name="out"))
def cast_same_dtype(x, out):
    # cast(x, x.dtype) -> x
    return x if x.dtype == out.dtype else None


def _lossless(a: str, b: str) -> bool:
    """Every value of dtype a survives a trip through dtype b (NumPy calls int64 -> float64
    safe, but float64 holds integers exactly only up to 2**53)."""
    a, b = np.dtype(a), np.dtype(b)
    if not np.can_cast(a, b, casting="safe"):
        return False
    if a.kind in "iu" and b.kind in "fc":
        return a.itemsize * 8 - (a.kind == "i") <= np.finfo(b).nmant + 1
    return True


@canonicalize.rule(pat(sa.Cast, pat(sa.Cast, var("x"), name="mid"), name="out"))
def cast_of_lossless_cast(x, mid, out):
    # cast(cast(x, b), c) -> cast(x, c) when x.dtype -> b is lossless and so is b -> c or
    # c is x.dtype (float32 -> float64 -> float32 and int8 -> int64 -> int8 are x)
    a, b, c = x.dtype, mid.dtype, out.dtype
    if not _lossless(a, b):
        return None
    if c == a:
        return x
    if _lossless(b, c):
        return _st().cast(x, c)
    return None


@canonicalize.rule(pat(sa.identity, var("x"), name="out"))
def remove_copy(x, out):
    # tensor_copy(x) -> x  (outputs that alias an input are copied by function() anyway)
    return x if x.type == out.type else None


@canonicalize.rule(pat(SumToShape, var("g"), var("x"), name="out"))
def sum_to_same_shape(g, x, out):
    # sum_to(g, x) -> g when no dim can be summed: same ndim, x's lengths known and each
    # either not 1 or g's length is 1 too (caveat: a g of the wrong shape raised and no
    # longer does)
    if g.ndim != x.ndim or g.dtype != out.dtype:
        return None
    for n, m in zip(x.type.shape, g.type.shape):
        if n is None or (n == 1 and m != 1):
            return None
    return g


# -- shapes ------------------------------------------------------------------------------------


def _inferred_shape(y):
    """y's shape from its owner's infer_shape on the owner's inputs' shapes (a tuple of
    ints and int64 scalars), or None when that would read y itself."""
    st = _st()
    node = y.owner
    if node is None or not all(isinstance(i.type, TensorType) for i in node.inputs):
        return None
    if _fused(node.op):
        # Fused nodes only exist after the fusion pass, which comes after this one: the
        # shapes of their unfused forms were settled then (kept, or read from values that
        # are computed anyway). Looking inside them would re-decide on a different
        # structure, and a second pipeline run would change the graph.
        return None
    try:
        shapes = node.op.infer_shape(node, [st.shape_tuple(i) for i in node.inputs])
    except NotImplementedError:
        return None
    shape = tuple(
        s if s is not None else e for s, e in zip(y.type.shape, shapes[node.outputs.index(y)])
    )
    exprs = [e for e in shape if isinstance(e, Variable)]
    if exprs and any(v in node.outputs for v in ancestors(exprs, blockers=node.inputs)):
        return None  # a data-dependent length: reading it needs y
    if not all(_cheap(e) for e in exprs):
        return None
    return shape


def _fused(op) -> bool:
    """Whether ``op`` is one the fusion pass builds (an Elemwise of a Composite, a
    FusedReduce)."""
    return isinstance(op, FusedReduce) or (
        isinstance(op, Elemwise) and isinstance(op.scalar_op, Composite)
    )


def _cheap(e) -> bool:
    """Whether a shape expression is worth using instead of reading y's shape: a constant,
    one length read from another variable, or a small expression over graph inputs' lengths.
    Expressions over intermediate values are refused: expanding those recursively makes the
    shape graph grow with the depth of the graph (hundreds of switch nodes on deep graphs),
    while reading the shape of a value that is computed anyway costs nothing."""
    if e.owner is None or isinstance(e.owner.op, ShapeI):
        return True
    nodes = _owners_within(e, 8)
    if nodes is None:
        return False
    return all(not isinstance(n.op, ShapeI) or _leaf_ok(n.inputs[0]) for n in nodes)


def _owners_within(e, limit: int):
    """The owners of ``e``'s ancestors (one per variable with an owner), or None when
    there are more than ``limit``: the walk stops there, so a refused expression over a
    deep graph costs ``limit`` steps, not a walk of the whole graph."""
    seen = {e}
    stack = [e]
    nodes = []
    while stack:
        v = stack.pop()
        owner = v.owner
        if owner is None:
            continue
        nodes.append(owner)
        if len(nodes) > limit:
            return None
        for i in owner.inputs:
            if i not in seen:
                seen.add(i)
                stack.append(i)
    return nodes


def _leaf_ok(v) -> bool:
    # A graph input, or a value of a one-input op (its length collapses to its input's).
    return v.owner is None or len(v.owner.inputs) == 1


def _entry(e):
    """A shape entry as an int64 scalar variable."""
    if isinstance(e, (int, np.integer)):
        return _constant(int(e), "int64")
    return _st().cast(e, "int64")


@canonicalize.rule(pat(Shape, var("y"), name="out"))
def shape_from_inputs(y, out):
    # shape(op(a, b, ..)) -> make_vector(infer_shape(op, shape(a), shape(b), ..))
    shape = _inferred_shape(y)
    if shape is None:
        if y.owner is None and None not in y.type.shape:
            return _constant(np.array(y.type.shape, dtype=np.int64), "int64")
        return None
    if all(isinstance(e, (int, np.integer)) for e in shape):
        return _constant(np.array(shape, dtype=np.int64).reshape(len(shape)), "int64")
    return MakeVector("int64")(*[_entry(e) for e in shape])


@canonicalize.rule(pat(ShapeI, var("y"), name="out"))
def shape_i_from_inputs(y, out):
    # shape_i(op(a, b, ..), k) -> infer_shape(op, shape(a), shape(b), ..)[k]
    k = out.owner.op.i % y.ndim
    if y.type.shape[k] is not None:
        return _constant(y.type.shape[k], "int64")
    shape = _inferred_shape(y)
    if shape is None:
        return None
    e = _entry(shape[k])
    return None if e is out else e


def _single_int_index(out):
    idx = out.owner.op.idx_list
    if len(idx) != 1 or idx[0][0] != "int" or not isinstance(idx[0][1], int):
        return None
    return idx[0][1]


@canonicalize.rule(pat(Subtensor, pat(Shape, var("y")), name="out"))
def index_of_shape(y, out):
    # shape(y)[k] -> shape_i(y, k)
    k = _single_int_index(out)
    if k is None or not -y.ndim <= k < y.ndim:
        return None
    k %= y.ndim
    if y.type.shape[k] is not None:
        return _constant(y.type.shape[k], "int64")
    return ShapeI(k)(y)


@canonicalize.node_rule(Subtensor)
def index_of_make_vector(node):
    # make_vector(a, b, ..)[k] -> the k-th scalar
    out, v = node.outputs[0], node.inputs[0]
    if v.owner is None or not isinstance(v.owner.op, MakeVector) or len(node.inputs) != 1:
        return None
    k = _single_int_index(out)
    entries = v.owner.inputs
    if k is None or not -len(entries) <= k < len(entries):
        return None
    e = entries[k]
    return e if e.dtype == out.dtype else None
