"""Emitters for Dot, MatMul, Gemm and Gemv over ``templates/include/symcomp/blas.hpp``.

float32/float64 products call OpenBLAS from the scipy-openblas32 wheel (gemm, gemv or dot,
whichever the shapes make, with transposes chosen from the strides); integer and bool
products run as plain loops with NumPy's wrap-around. The library is opened by path at first
use (the path is in the source, so a different install is a different cache entry), so the
module needs no link flags. Mixed input dtypes, dtypes the kernels do not compute, and floats
without the wheel fall back to the ops' Python perform.
"""

from __future__ import annotations

import numpy as np

from symcomp.codegen.blas import blas_info
from symcomp.codegen.cpu.registry import NodeCode, c_string, emitter, supported
from symcomp.tensor.blas import Gemm, Gemv
from symcomp.tensor.linalg import Dot, MatMul


def _matrix(name: str, nd: int, first: bool) -> tuple:
    """C expressions (rows, cols, row stride, col stride) of an operand's matrix part: a
    1-d first operand is a (1, k) row, a 1-d second operand a (k, 1) column."""
    d, s = f"d{name}", f"s{name}"
    if nd >= 2:
        return f"{d}[{nd - 2}]", f"{d}[{nd - 1}]", f"{s}[{nd - 2}]", f"{s}[{nd - 1}]"
    if first:
        return "1", f"{d}[0]", "0", f"{s}[0]"
    return f"{d}[0]", "1", f"{s}[0]", "0"


def _load_blas(ctx) -> tuple | None:
    """Statements setting ``api`` to the loaded OpenBLAS (raising when it cannot be
    loaded), or None when the wheel is missing."""
    info = blas_info()
    if not info["available"]:
        return None
    return (
        "const char* blas_error = nullptr;",
        "const symcomp::blas::Api* api = symcomp::blas::load("
        f"{c_string(info['library_path'])}, &blas_error);",
        "if (api == nullptr) "
        + ctx.error("RuntimeError", "cannot load OpenBLAS: %s", "blas_error"),
    )


@emitter(Dot, MatMul)
def emit_matmul(node, ctx) -> NodeCode | None:
    a, b = node.inputs
    out = node.outputs[0]
    dtype = out.type.dtype
    if not supported(dtype) or a.type.dtype != dtype or b.type.dtype != dtype:
        return None
    if a.type.ndim == 0 or b.type.ndim == 0:
        return None
    floating = np.dtype(dtype).kind == "f"
    ctx.include("symcomp/blas.hpp")
    if floating:
        setup = _load_blas(ctx)
        if setup is None:
            return None
    else:
        setup = ("const symcomp::blas::Api* api = nullptr;",)
    na, nb_ = a.type.ndim, b.type.ndim
    m, k, as0, as1 = _matrix("a", na, True)
    kb, n, bs0, bs1 = _matrix("b", nb_, False)
    a_batch, b_batch = max(na - 2, 0), max(nb_ - 2, 0)
    nb = max(a_batch, b_batch)
    out_dims, cs0, cs1, j = [], "0", "0", nb
    if na >= 2:
        out_dims.append(f"dims[{j}] = m;")
        cs0 = f"sc_[{j}]"
        j += 1
    if nb_ >= 2:
        out_dims.append(f"dims[{j}] = n;")
        cs1 = f"sc_[{j}]"
    op = "dot" if isinstance(node.op, Dot) else "matmul"
    body = ctx.render(
        "cpu/blas.cpp.j2",
        setup=setup,
        m=m,
        k=k,
        kb=kb,
        n=n,
        as0=as0,
        as1=as1,
        bs0=bs0,
        bs1=bs1,
        cs0=cs0,
        cs1=cs1,
        nb=nb,
        a_batch=a_batch,
        b_batch=b_batch,
        out_nd=out.type.ndim,
        out_dims=tuple(out_dims),
        typenum=ctx.typenum(dtype),
        ctype=ctx.ctype(dtype),
        nogil_minsize=int(ctx.options.nogil_minsize),
        align_error=ctx.error(
            "ValueError",
            f"{op}: shapes are not aligned: the contracted lengths differ (%zd != %zd)",
            "static_cast<Py_ssize_t>(k)",
            "static_cast<Py_ssize_t>(kb)",
        ),
        batch_error=ctx.error(
            "ValueError",
            f"{op}: the batch dims do not broadcast (%zd vs %zd in batch dim %d)",
            "static_cast<Py_ssize_t>(la)",
            "static_cast<Py_ssize_t>(lb)",
            "d",
        ),
        size_error=ctx.error("ValueError", f"{op}: a dimension exceeds 32-bit BLAS limits"),
    )
    return NodeCode(body)


@emitter(Gemm, Gemv)
def emit_gemm(node, ctx) -> NodeCode | None:
    """beta * C + alpha * (op(A) @ op(B)) as one BLAS call on an output filled with beta * C
    (Gemv: B a vector, the product a column)."""
    out = node.outputs[0]
    dtype = out.type.dtype
    if any(v.type.dtype != dtype for v in node.inputs) or np.dtype(dtype).kind != "f":
        return None
    ctx.include("symcomp/blas.hpp")
    setup = _load_blas(ctx)
    if setup is None:
        return None
    gemv = isinstance(node.op, Gemv)
    ta, tb = node.op._ops()
    m, k, as0, as1 = (
        ("da[1]", "da[0]", "sa[1]", "sa[0]") if ta else ("da[0]", "da[1]", "sa[0]", "sa[1]")
    )
    if gemv:
        kb, n, bs0, bs1 = "db[0]", "1", "sb[0]", "0"
    elif tb:
        kb, n, bs0, bs1 = "db[1]", "db[0]", "sb[1]", "sb[0]"
    else:
        kb, n, bs0, bs1 = "db[0]", "db[1]", "sb[0]", "sb[1]"
    name = type(node.op).__name__
    body = ctx.render(
        "cpu/gemm.cpp.j2",
        setup=setup,
        pnd=1 if gemv else 2,
        m=m,
        k=k,
        kb=kb,
        n=n,
        as0=as0,
        as1=as1,
        bs0=bs0,
        bs1=bs1,
        ctype=ctx.ctype(dtype),
        typenum=ctx.typenum(dtype),
        nogil_minsize=int(ctx.options.nogil_minsize),
        align_error=ctx.error(
            "ValueError",
            f"{name}: op(A) and op(B) are not aligned (%zd != %zd)",
            "static_cast<Py_ssize_t>(k)",
            "static_cast<Py_ssize_t>(kb)",
        ),
        broadcast_error=ctx.error(
            "ValueError",
            f"{name}: C does not broadcast against the product (%zd vs %zd in dim %d)",
            "static_cast<Py_ssize_t>(cd[d])",
            "static_cast<Py_ssize_t>(pd[d])",
            "d",
        ),
        size_error=ctx.error("ValueError", f"{name}: a dimension exceeds 32-bit BLAS limits"),
    )
    return NodeCode(body)
