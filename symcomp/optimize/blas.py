"""blas: matrix products with something to fold become Gemm/Gemv nodes.

``dot(A.T, B)`` becomes a Gemm with a transpose flag (no transpose node); a bias add
``dot(x, W) + b``, a scaling ``alpha * dot(A, B)`` and their combination
``alpha * dot(A, B) + beta * C`` (or ``-``) become one Gemm (matrix . matrix) or Gemv
(matrix . vector, vector . matrix) node, which native code runs as one BLAS call. A plain
``dot(A, B)`` with nothing to fold stays a Dot (the native backend calls BLAS for it too).

Only float32/float64 products whose operands share the result dtype are rewritten.
Caveats (docs/rewrites.md, "BLAS"): rounding differs (BLAS accumulates C into the sum);
alpha * beta scalings of a product are multiplied together first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import symcomp.scalar.arith as sa
from symcomp.graph.sourceinfo import attributed_to
from symcomp.graph.variable import Constant, Variable
from symcomp.optimize.engine import Pass
from symcomp.optimize.pattern import pat, var
from symcomp.tensor.blas import BLAS_DTYPES, Gemm, Gemv
from symcomp.tensor.dimshuffle import DimShuffle
from symcomp.tensor.linalg import Dot

blas = Pass("blas", strategy="fixed_point", doc=__doc__)


def _st():
    import symcomp.tensor as st

    return st


def _constant(value, dtype):
    from symcomp.tensor.variable import tensor_constant

    return tensor_constant(np.asarray(value, dtype=dtype).reshape(()), dtype=dtype)


def untransposed(v):
    """``w`` when ``v`` is the transpose ``DimShuffle{1,0}(w)`` of a matrix, else None."""
    node = v.owner
    if node is not None and isinstance(node.op, DimShuffle) and node.op.new_order == (1, 0):
        return node.inputs[0]
    return None


def _operand(v):
    """(matrix, transposed?) with a transpose node absorbed into the flag."""
    w = untransposed(v)
    return (v, False) if w is None else (w, True)


@dataclass(frozen=True)
class Product:
    """``alpha * op(a) @ op(b)`` (alpha None means 1); ``b`` is a vector for a Gemv."""

    a: Variable
    b: Variable
    trans_a: bool
    trans_b: bool
    alpha: Variable | None = None
    folded: bool = False  # a transpose or scaling was absorbed: worth a BLAS node alone

    @property
    def vector(self) -> bool:
        return self.b.ndim == 1

    def scaled(self, s, dtype):
        """This product times the 0-d ``s``."""
        alpha = s if self.alpha is None else _mul_scalars(s, self.alpha, dtype)
        return Product(self.a, self.b, self.trans_a, self.trans_b, alpha, True)


def product_of(v):
    """``v`` as a Product when it is a float Dot of matrices/vectors (not vector . vector)
    or a Gemm/Gemv that adds nothing (beta and C constant zeros), else None."""
    node = v.owner
    if node is None or v.dtype not in BLAS_DTYPES:
        return None
    op = node.op
    if isinstance(op, Dot):
        x, y = node.inputs
        if x.dtype != v.dtype or y.dtype != v.dtype or (x.ndim, y.ndim) == (1, 1):
            return None
        if x.ndim == 2 and y.ndim == 2:
            (a, ta), (b, tb) = _operand(x), _operand(y)
            return Product(a, b, ta, tb, folded=ta or tb)
        if x.ndim == 2:  # matrix . vector
            a, ta = _operand(x)
            return Product(a, y, ta, False, folded=ta)
        a, ta = _operand(y)  # vector . matrix = op(W).T @ x
        return Product(a, x, not ta, False, folded=ta)
    if isinstance(op, (Gemm, Gemv)):
        c, alpha, a, b, beta = node.inputs
        if not (_is_zero(c) and c.ndim == 0 and _is_zero(beta)):
            return None
        ta, tb = (op.trans_a, op.trans_b) if isinstance(op, Gemm) else (op.trans, False)
        return Product(a, b, ta, tb, alpha, True)
    return None


def _is_zero(v) -> bool:
    return isinstance(v, Constant) and bool(np.all(np.asarray(v.data) == 0))


def scalar_like(s, ndim: int) -> bool:
    """Whether ``s`` has one element for sure and at most ``ndim`` dims, so multiplying a
    value of ``ndim`` dims by it changes no shape."""
    return s.ndim <= ndim and all(n == 1 for n in s.type.shape)


def as_scalar(s, dtype):
    """The scalar-like ``s`` as a 0-d value of ``dtype`` (a constant stays a constant)."""
    if isinstance(s, Constant):
        return _constant(np.asarray(s.data).astype(dtype), dtype)
    if s.ndim:
        s = _st().dimshuffle(s, ())
    return s if s.dtype == dtype else _st().cast(s, dtype)


def _mul_scalars(s, t, dtype):
    for a, b in ((s, t), (t, s)):
        if isinstance(a, Constant) and np.all(np.asarray(a.data) == 1):
            return b
    if isinstance(s, Constant) and isinstance(t, Constant):
        return _constant(np.asarray(s.data) * np.asarray(t.data), dtype)
    return _st().mul(s, t)


def _negate(s, dtype):
    if s is None:
        return _constant(-1, dtype)
    if isinstance(s, Constant):
        return _constant(-np.asarray(s.data), dtype)
    return _st().neg(s)


def scaled_product(v, absorbable):
    """``v`` as a Product when it is a product, or a scalar times (or minus) a scaled
    product that may be absorbed (``absorbable(value)``: nothing else reads it)."""
    p = product_of(v)
    if p is not None:
        return p
    op = _scalar_op(v)
    if v.dtype not in BLAS_DTYPES or op not in (sa.Mul, sa.Neg):
        return None
    inputs = v.owner.inputs
    if op is sa.Neg:
        inner = inputs[0]
        p = scaled_product(inner, absorbable) if absorbable(inner) else None
        return None if p is None else p.scaled(_constant(-1, v.dtype), v.dtype)
    for s, other in ((inputs[0], inputs[1]), (inputs[1], inputs[0])):
        if other.dtype != v.dtype or not scalar_like(s, other.ndim) or not absorbable(other):
            continue
        p = scaled_product(other, absorbable)
        if p is not None:
            return p.scaled(as_scalar(s, v.dtype), v.dtype)
    return None


def _scalar_op(v):
    from symcomp.tensor.elemwise import Elemwise

    node = v.owner
    if node is None or type(node.op) is not Elemwise:
        return None
    return type(node.op.scalar_op)


def accumulated(t, p: Product, dtype, absorbable):
    """``t`` as (C, beta) with t = beta * C: a scalar-like factor is split off a mul that
    may be absorbed; None when C could not broadcast with the product (too many dims)."""
    ndim = 1 if p.vector else 2
    beta = None
    if _scalar_op(t) is sa.Mul and t.dtype == dtype and absorbable(t):
        x, y = t.owner.inputs
        for s, c in ((x, y), (y, x)):
            if scalar_like(s, ndim) and c.ndim <= ndim and c.dtype == dtype:
                t, beta = c, as_scalar(s, dtype)
                break
    if t.ndim > ndim:
        return None
    c = t if t.dtype == dtype else _st().cast(t, dtype)
    return c, beta


def build(p: Product, c, beta, dtype):
    """The Gemm/Gemv node ``beta * c + p`` (c None: nothing accumulated)."""
    from symcomp.tensor.blas import gemm, gemv

    alpha = _constant(1, dtype) if p.alpha is None else p.alpha
    if c is None:
        c, beta = _constant(0, dtype), _constant(0, dtype)
    elif beta is None:
        beta = _constant(1, dtype)
    if p.vector:
        return gemv(c, alpha, p.a, p.b, beta, trans=p.trans_a)
    return gemm(c, alpha, p.a, p.b, beta, trans_a=p.trans_a, trans_b=p.trans_b)


# -- rules --------------------------------------------------------------------------------


@blas.rule(pat(Dot, var("x"), var("y"), name="out"))
def transposed_dot_to_gemm(x, y, out):
    # dot(A.T, B) -> gemm(0, 1, A, B, 0, trans_a)  (and B.T, and the matrix . vector forms
    # -> gemv; exact: the same products, read transposed)
    p = product_of(out)
    if p is None or not p.folded:
        return None
    return build(p, None, None, out.dtype)


def scaled_dot_to_gemm(out, absorbable):
    # alpha * dot(A, B) -> gemm(0, alpha, A, B, 0), -dot(A, B) -> gemm(0, -1, A, B, 0)
    # (a scaling of a scaled product multiplies the two scalars first: rounding only)
    if _scalar_op(out) not in (sa.Mul, sa.Neg) or product_of(out) is not None:
        return None
    p = scaled_product(out, absorbable)
    return None if p is None else build(p, None, None, out.dtype)


def add_dot_to_gemm(out, absorbable):
    # alpha * dot(A, B) + beta * C -> gemm(C, alpha, A, B, beta)  (also dot(x, W) + b with
    # the bias broadcast, and the gemv forms; BLAS adds C into the sum: rounding only)
    if _scalar_op(out) is not sa.Add:
        return None
    x, y = out.owner.inputs
    new = _accumulate(x, y, out, absorbable, False, False)
    return new if new is not None else _accumulate(y, x, out, absorbable, False, False)


def sub_from_dot_to_gemm(out, absorbable):
    # alpha * dot(A, B) - beta * C -> gemm(C, alpha, A, B, -beta)
    if _scalar_op(out) is not sa.Sub:
        return None
    x, y = out.owner.inputs
    return _accumulate(x, y, out, absorbable, negate_product=False, negate_c=True)


def sub_dot_to_gemm(out, absorbable):
    # beta * C - alpha * dot(A, B) -> gemm(C, -alpha, A, B, beta)
    if _scalar_op(out) is not sa.Sub:
        return None
    x, y = out.owner.inputs
    return _accumulate(y, x, out, absorbable, negate_product=True, negate_c=False)


def _accumulate(s, t, out, absorbable, negate_product: bool, negate_c: bool):
    dtype = out.dtype
    if dtype not in BLAS_DTYPES or s.dtype != dtype or not absorbable(s):
        return None
    p = scaled_product(s, absorbable)
    if p is None:
        return None
    acc = accumulated(t, p, dtype, absorbable)
    if acc is None:
        return None
    c, beta = acc
    if negate_product:
        p = Product(p.a, p.b, p.trans_a, p.trans_b, _negate(p.alpha, dtype), True)
    if negate_c:
        beta = _negate(beta, dtype)
    return build(p, c, beta, dtype)


# Folds that absorb intermediate values: they need client counts (a product read by
# another node too would be computed twice), which only a whole-graph rule sees.
FOLDS = (scaled_dot_to_gemm, add_dot_to_gemm, sub_from_dot_to_gemm, sub_dot_to_gemm)
_FOLD_HEADS = (sa.Add, sa.Sub, sa.Mul, sa.Neg)


@blas.graph_rule
def fold_into_gemm(outputs, ctx):
    # a + b * dot(..) etc. -> gemm/gemv (the FOLDS above), where every absorbed
    # intermediate value has no other reader
    nodes = ctx.toposort(outputs)
    if not any(isinstance(n.op, (Dot, Gemm, Gemv)) for n in nodes):
        return None
    folds = [f for f in FOLDS if ctx.enabled(f.__name__)]
    stats = ctx.report.stats(blas.name)
    uses: dict = {}  # variable -> how many readers it (or the variable it replaces) has
    for node in nodes:
        for v in node.inputs:
            uses[v] = uses.get(v, 0) + 1
    for v in outputs:
        uses[v] = uses.get(v, 0) + 1

    def absorbable(v) -> bool:
        return uses.get(v, 0) == 1

    new_of: dict = {}
    changed = False
    for node in nodes:
        inputs = [new_of.get(i, i) for i in node.inputs]
        rebuilt = node
        if any(a is not b for a, b in zip(inputs, node.inputs)):
            with attributed_to(node.trace):
                rebuilt = node.op.make_node(*inputs)
        for old, new in zip(node.outputs, rebuilt.outputs):
            new_of[old] = new
            if new is not old:
                uses[new] = uses.get(new, 0) + uses.get(old, 0)
        current = rebuilt.outputs[0]
        if len(node.outputs) != 1 or _scalar_op(current) not in _FOLD_HEADS:
            continue
        for fold in folds:
            with attributed_to(node.trace):
                new = fold(current, absorbable)
            if new is not None and new is not current:
                if (new.dtype, new.ndim) != (current.dtype, current.ndim):
                    ctx.warn(f"{fold.__name__} changed the type of {current}; skipped")
                    continue
                stats.fired[fold.__name__] += 1
                ctx.log(blas.name, fold.__name__, node, new)
                uses[new] = uses.get(new, 0) + uses.get(node.outputs[0], 0)
                new_of[node.outputs[0]] = new
                changed = True
                break
    if not changed:
        return None
    return [new_of.get(o, o) for o in outputs]


@blas.node_rule(Gemm, Gemv)
def gemm_absorbs_transpose(node):
    # gemm(C, alpha, A.T, B, beta) -> gemm(C, alpha, A, B, beta, not trans_a)  (and B.T;
    # exact)
    c, alpha, a, b, beta = node.inputs
    (a2, ta), (b2, tb) = _operand(a), _operand(b) if b.ndim == 2 else (b, False)
    if not (ta or tb):
        return None
    op = node.op
    if isinstance(op, Gemv):
        return Gemv(op.trans != ta)(c, alpha, a2, b, beta)
    return Gemm(op.trans_a != ta, op.trans_b != tb)(c, alpha, a2, b2, beta)


__all__ = ["blas", "product_of", "scaled_product", "untransposed"]
