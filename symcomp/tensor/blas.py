"""BLAS-shaped ops made by the ``blas`` rewrite pass: Gemm (matrix . matrix) and Gemv
(matrix . vector), each a product with a scaling, an accumulated term and transpose flags.

Users rarely build these by hand: ``dot(x, W) + b``, ``alpha * dot(A, B) + beta * C`` and
``dot(A.T, B)`` become Gemm/Gemv nodes in the ``blas`` pass (symcomp/optimize/blas.py).
Both ops are out of place (C is never modified) and return new arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.graph.variable import Constant
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.errors import shape_str, where
from symcomp.tensor.type import TensorType

__all__ = ["BLAS_DTYPES", "Gemm", "Gemv", "gemm", "gemv"]

# The dtypes BLAS computes in; other dtypes are never rewritten into these ops.
BLAS_DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class _Accumulate(Op):
    """Shared rules of Gemm and Gemv: inputs (C, alpha, A, B, beta), output
    ``beta * C + alpha * (op(A) @ op(B))``; subclasses fix the ranks and flags."""

    abstract = True
    # The output is always a new array: memory planning may treat it as fresh.
    view_map = MappingProxyType({})
    b_ndim = 2

    def _ops(self) -> tuple:
        raise NotImplementedError

    def make_node(self, c, alpha, a, b, beta):
        name = type(self).__name__
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        dtype = a.dtype
        c, alpha, beta = (_as_dtype(v, dtype) for v in (c, alpha, beta))
        out_ndim = self.b_ndim
        if a.ndim != 2 or b.ndim != self.b_ndim or alpha.ndim != 0 or beta.ndim != 0:
            raise TypeError(
                f"{name} takes (C, alpha, A, B, beta) with A a matrix, B a "
                f"{'matrix' if self.b_ndim == 2 else 'vector'} and alpha, beta scalars; got "
                f"{c.type}, {alpha.type}, {a.type}, {b.type}, {beta.type}{where(user_source())}"
            )
        if c.ndim > out_ndim:
            raise TypeError(
                f"{name}: C must have at most {out_ndim} dims (it broadcasts against the "
                f"product), got {c.type}{where(user_source())}"
            )
        dtypes = {v.dtype for v in (c, alpha, a, b, beta)}
        if dtypes != {dtype} or dtype not in BLAS_DTYPES:
            raise TypeError(
                f"{name}: C, alpha, A, B and beta must share one dtype, float32 or float64; "
                f"got {c.dtype}, {alpha.dtype}, {a.dtype}, {b.dtype}, {beta.dtype}"
                f"{where(user_source())}"
            )
        ta, tb = self._ops()
        sa = a.type.shape[::-1] if ta else a.type.shape
        sb = b.type.shape[::-1] if tb else b.type.shape
        if sa[1] is not None and sb[0] is not None and sa[1] != sb[0]:
            raise ValueError(
                f"{name}: op(A) of shape {shape_str(sa)} and op(B) of shape {shape_str(sb)} "
                f"are not aligned{where(user_source())}"
            )
        product = (sa[0],) + tuple(sb[1:])
        from symcomp.tensor.elemwise import broadcast_static_shapes

        shape = broadcast_static_shapes(self, [c.type.shape, product])
        return Apply.make(self, [c, alpha, a, b, beta], [TensorType(dtype, shape)])

    def perform(self, node, inputs):
        c, alpha, a, b, beta = inputs
        dtype = node.outputs[0].dtype
        ta, tb = self._ops()
        prod = np.dot(a.T if ta else a, b.T if tb else b)
        if alpha != 1:
            prod = prod * alpha
        if beta == 1:
            out = c + prod
        elif beta == 0 and c.ndim == 0 and np.isfinite(c):
            out = prod  # 0 * c adds nothing and cannot change the shape
        else:
            out = beta * c + prod
        return [np.asarray(out, dtype=dtype)]

    def infer_shape(self, node, input_shapes):
        from symcomp.tensor.shapeof import broadcast_shape_symbolic

        sc, _, sa, sb, _ = (tuple(s) for s in input_shapes)
        ta, tb = self._ops()
        m = sa[1] if ta else sa[0]
        rest = (sb[0] if tb else sb[1],) if self.b_ndim == 2 else ()
        return [broadcast_shape_symbolic([sc, (m,) + rest], node.outputs[0].type.shape)]

    def reference(self, c, alpha, a, b, beta):
        """The same value built from plain ops (what the pass replaced)."""
        from symcomp.tensor.arith import add, mul
        from symcomp.tensor.dimshuffle import transpose
        from symcomp.tensor.linalg import dot

        ta, tb = self._ops()
        prod = dot(transpose(a) if ta else a, transpose(b) if tb else b)
        return add(mul(beta, c), mul(alpha, prod))

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.gradient import backprop

        g = cotangents[0]
        if g is None:
            return [None] * len(inputs)
        # The gradient of the plain-op expression: exactly what differentiating the graph
        # before the rewrite gives. A variable used twice (A @ A) gets its total once.
        wrt = list(dict.fromkeys(v for v in inputs if not isinstance(v, Constant)))
        grads = dict(zip(wrt, backprop({self.reference(*inputs): g}, wrt)))
        out = []
        for v in inputs:
            out.append(grads.pop(v, None))
        return out


@dataclass(frozen=True)
class Gemm(_Accumulate):
    """BLAS gemm, out of place. Inputs ``(C, alpha, A, B, beta)``; the output is exactly,
    in NumPy terms::

        beta * C + alpha * (op(A) @ op(B))      op(A) = A.T if trans_a else A (same for B)

    A and B are matrices, op(A) (m, k) and op(B) (k, n); alpha and beta are 0-d; C has at
    most 2 dims and broadcasts with the (m, n) product by NumPy's rules, so it may be a
    full (m, n) matrix, a bias row (n,) or (1, n), a column (m, 1) or a scalar. The output
    shape is that broadcast: normally (m, n), larger only when C broadcasts the product
    itself (m or n is 1 where C's length is not). All five inputs share one dtype, float32
    or float64. C is never modified. NaN/inf in C propagate even when beta == 0 (0 * nan is
    nan, unlike BLAS's convention that beta == 0 does not read C), so a native
    implementation fills the output with ``beta * C`` broadcast and then calls gemm with
    BLAS beta = 1 (or BLAS beta = 0 when C is a finite constant and beta is 0).
    """

    trans_a: bool = False
    trans_b: bool = False

    def _ops(self) -> tuple:
        return self.trans_a, self.trans_b

    def _param_str(self) -> str:
        return "TN"[not self.trans_a] + "TN"[not self.trans_b]


@dataclass(frozen=True)
class Gemv(_Accumulate):
    """BLAS gemv, out of place. Inputs ``(C, alpha, A, x, beta)``; the output is exactly,
    in NumPy terms::

        beta * C + alpha * (op(A) @ x)      op(A) = A.T if trans else A

    A is a matrix, op(A) (m, k); x a vector (k,); alpha and beta are 0-d; C has at most
    1 dim and broadcasts with the (m,) product ((m,), (1,) or a scalar; the output is (m,)
    unless m is 1 and C is longer). All inputs share one dtype, float32 or float64. C is
    never modified; NaN/inf in C propagate even when beta == 0, as for Gemm.
    """

    trans: bool = False
    b_ndim = 1

    def _ops(self) -> tuple:
        return self.trans, False

    def _param_str(self) -> str:
        return "TN"[not self.trans]


def _as_dtype(v, dtype):
    """``v`` as a tensor; a Python number (weak constant) takes ``dtype``."""
    from symcomp.tensor.variable import tensor_constant

    v = as_tensor_variable(v)
    if isinstance(v, Constant) and getattr(v, "weak", False) and v.dtype != dtype:
        return tensor_constant(np.asarray(v.data, dtype=dtype), dtype=dtype)
    return v


def gemm(c, alpha, a, b, beta, trans_a: bool = False, trans_b: bool = False):
    """``beta * c + alpha * (op(a) @ op(b))`` as one Gemm node (see Gemm; Theano's
    ``gemm_no_inplace`` with transpose flags)."""
    return Gemm(bool(trans_a), bool(trans_b))(c, alpha, a, b, beta)


def gemv(c, alpha, a, x, beta, trans: bool = False):
    """``beta * c + alpha * (op(a) @ x)`` as one Gemv node (see Gemv; Theano's
    ``gemv_no_inplace`` with a transpose flag)."""
    return Gemv(bool(trans))(c, alpha, a, x, beta)
