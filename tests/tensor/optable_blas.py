"""Op-table rows for symcomp/tensor/blas.py: Gemm and Gemv (float32/float64 only)."""

from __future__ import annotations

from symcomp.tensor.blas import gemm, gemv
from tests.tensor.optable import Case


def _op(x, t):
    return x.T if t else x


def _gemm_ref(ta, tb):
    def ref(c, alpha, a, b, beta):
        return beta * c + alpha * (_op(a, ta) @ _op(b, tb))

    return ref


def _gemm_fn(ta, tb):
    def fn(c, alpha, a, b, beta):
        return gemm(c, alpha, a, b, beta, trans_a=ta, trans_b=tb)

    return fn


def _gemm_shapes(ta, tb):
    def s(c, m, k, n):
        return (c, (), (k, m) if ta else (m, k), (n, k) if tb else (k, n), ())

    return [
        s((2, 4), 2, 3, 4),
        s((4,), 2, 3, 4),  # bias row
        s((1, 4), 2, 3, 4),
        s((2, 1), 2, 3, 4),  # column
        s((), 2, 3, 4),
        s((0, 4), 0, 3, 4),  # size-0 dims
        s((2, 4), 2, 0, 4),  # empty contraction: beta * C
        s((1, 1), 1, 1, 1),
        s((3, 4), 1, 2, 4),  # C broadcasts the (1, 4) product
    ]


def _gemv_ref(t):
    def ref(c, alpha, a, x, beta):
        return beta * c + alpha * (_op(a, t) @ x)

    return ref


def _gemv_fn(t):
    def fn(c, alpha, a, x, beta):
        return gemv(c, alpha, a, x, beta, trans=t)

    return fn


def _gemv_shapes(t):
    def s(c, m, k):
        return (c, (), (k, m) if t else (m, k), (k,), ())

    return [
        s((2,), 2, 3),
        s((1,), 2, 3),
        s((), 2, 3),
        s((0,), 0, 3),
        s((2,), 2, 0),
        s((1,), 1, 1),
        s((3,), 1, 2),
    ]


CASES = [
    Case(f"gemm_{int(ta)}{int(tb)}", _gemm_fn(ta, tb), _gemm_ref(ta, tb), _gemm_shapes(ta, tb))
    for ta in (False, True)
    for tb in (False, True)
]
CASES += [Case(f"gemv_{int(t)}", _gemv_fn(t), _gemv_ref(t), _gemv_shapes(t)) for t in (False, True)]
CASES += [
    Case(
        "gemm_static",
        _gemm_fn(True, False),
        _gemm_ref(True, False),
        _gemm_shapes(True, False)[:5],
        static_shape=True,
    ),
    Case("gemv_static", _gemv_fn(True), _gemv_ref(True), _gemv_shapes(True)[:3], static_shape=True),
]
