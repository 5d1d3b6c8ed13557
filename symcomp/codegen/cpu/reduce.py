"""Emitters for the reductions (Sum, Prod, Max, Min, All, Any, Argmax, Argmin) over the
kernels of ``templates/include/symcomp/reduce.hpp``.

Python picks the kernel instance (combiner and C types) and the reduced-dims mask; the
template ``cpu/reduce.cpp.j2`` allocates the output through NumPy and calls it with the GIL
released. FusedReduce (an elementwise function fused into the reduction by the rewrite pass) renders
its scalar C++ as an element map, so the inputs are read once and nothing is stored in
between. Dtypes the kernels do not compute (float16, complex) and sums that would cast a
float into an integer accumulator fall back to the ops' Python perform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from symcomp.codegen.cpu.elemwise import scalar_statements
from symcomp.codegen.cpu.registry import NodeCode, emitter, supported
from symcomp.tensor.elemwise import SumToShape
from symcomp.tensor.fused import FusedReduce
from symcomp.tensor.reduction import All, Any, Argmax, Argmin, Max, Min, Prod, Sum

_COMBINERS = {Sum: "SumOp", Prod: "ProdOp", Max: "MaxOp", Min: "MinOp", All: "AllOp", Any: "AnyOp"}


def _combiner(op, out_ctype: str) -> str:
    name = _COMBINERS[type(op)]
    if name in ("AllOp", "AnyOp"):
        return f"symcomp::{name}"
    return f"symcomp::{name}<{out_ctype}>"


def _min_parallel(options) -> str:
    """The element count from which the kernels use OpenMP threads (never when off)."""
    return f"{int(options.openmp_minsize)}" if options.openmp else "INT64_MAX"


def _body(node, ctx, call: str, reduced: tuple, keepdims: bool, empty_statement: str) -> str:
    x, out = node.inputs[0], node.outputs[0]
    return ctx.render(
        "cpu/reduce.cpp.j2",
        nd=x.type.ndim,
        out_nd=out.type.ndim,
        reduced="{" + ", ".join("true" if r else "false" for r in reduced or (False,)) + "}",
        keepdims="true" if keepdims else "false",
        typenum=ctx.typenum(out.type.dtype),
        empty_statement=empty_statement,
        call=call,
        nogil_minsize=int(ctx.options.nogil_minsize),
        min_parallel=_min_parallel(ctx.options),
    )


@emitter(Sum, Prod, Max, Min, All, Any)
def emit_reduce(node, ctx) -> NodeCode | None:
    op = node.op
    x, out = node.inputs[0], node.outputs[0]
    in_dtype, out_dtype = x.type.dtype, out.type.dtype
    if not (supported(in_dtype) and supported(out_dtype)):
        return None
    if np.dtype(in_dtype).kind == "f" and np.dtype(out_dtype).kind != "f" and out_dtype != "bool":
        return None  # float -> int accumulation: out-of-range casts are left to NumPy
    if type(op) not in _COMBINERS:
        return None
    ctx.include("symcomp/reduce.hpp")
    name = type(op).__name__
    call = f"symcomp::reduce_array<{_combiner(op, ctx.ctype(out_dtype))}, {ctx.ctype(in_dtype)}>"
    if op.needs_nonempty:
        empty = ctx.error(
            "ValueError",
            f"{name}: zero-size array to reduction over axes {op.axes}, which has no identity",
        )
    else:
        empty = "// an empty reduction gives the identity"
    reduced = tuple(d in op.axes for d in range(x.type.ndim))
    return NodeCode(_body(node, ctx, call, reduced, op.keepdims, empty))


@emitter(Argmax, Argmin)
def emit_argreduce(node, ctx) -> NodeCode | None:
    op = node.op
    x = node.inputs[0]
    if not supported(x.type.dtype):
        return None
    ctx.include("symcomp/reduce.hpp")
    name = type(op).__name__
    is_max = "true" if isinstance(op, Argmax) else "false"
    call = f"symcomp::argreduce<{ctx.ctype(x.type.dtype)}, {is_max}>"
    axes = range(x.type.ndim) if op.axis is None else (op.axis,)
    reduced = tuple(d in axes for d in range(x.type.ndim))
    empty = ctx.error("ValueError", f"{name}: attempt to get {name.lower()} of an empty sequence")
    return NodeCode(_body(node, ctx, call, reduced, op.keepdims, empty))


@dataclass(frozen=True)
class ReduceMap:
    """The element map of a fused reduction (hashable: equal maps are emitted once)."""

    nin: int
    in_ctypes: str
    acc_ctype: str
    elem_ctype: str
    body: tuple
    result: str
    vector_calls: str  # "true" when the body calls math functions (reduce.hpp buffers them)


# A math function call in C++ scalar code (std::exp(...)), not a type or a cast.
_MATH_CALL = re.compile(r"\bstd::[a-z][a-z0-9_]*\(")


@emitter(FusedReduce)
def emit_fused_reduce(node, ctx) -> NodeCode | None:
    op = node.op
    red = op.reduce_op
    out = node.outputs[0]
    in_dtypes = [i.type.dtype for i in node.inputs]
    elem_dtype = op.scalar_op.out_dtype(*in_dtypes)
    out_dtype = out.type.dtype
    if not all(supported(d) for d in [*in_dtypes, elem_dtype, out_dtype]):
        return None
    if type(red) not in _COMBINERS:
        return None
    if np.dtype(elem_dtype).kind == "f" and np.dtype(out_dtype).kind not in "fb":
        return None
    sctx = ctx.dialect.scalar_context(in_dtypes, elem_dtype)
    try:
        stmts, result = scalar_statements(
            op.scalar_op, sctx, [f"a{k}" for k in range(len(in_dtypes))]
        )
    except NotImplementedError:
        return None
    ctypes = [ctx.ctype(d) for d in in_dtypes]
    loads = tuple(
        f"const {t} a{k} = symcomp::rd<{t}, C>(p[{k}], s[{k}], i);" for k, t in enumerate(ctypes)
    )
    ctx.include("symcomp/reduce.hpp")
    ctx.include("symcomp/simd_math.hpp")
    spec = ReduceMap(
        nin=len(ctypes),
        in_ctypes=", ".join(ctypes),
        acc_ctype=ctx.ctype(out_dtype),
        elem_ctype=ctx.ctype(elem_dtype),
        body=loads + tuple(stmts),
        result=result,
        vector_calls="true" if _MATH_CALL.search(" ".join((*stmts, result))) else "false",
    )
    map_name = ctx.function("cpu/reduce_map.cpp.j2", spec, prefix="reduce_map")
    nd = out.type.ndim + (0 if red.keepdims else len(red.axes))
    name = type(red).__name__
    if red.needs_nonempty:
        empty = ctx.error(
            "ValueError",
            f"{name}: zero-size array to reduction over axes {red.axes}, which has no identity",
        )
    else:
        empty = "// an empty reduction gives the identity"
    reduced = tuple(d in red.axes for d in range(nd))
    body = ctx.render(
        "cpu/reduce_fused.cpp.j2",
        nd=nd,
        nin=len(ctypes),
        out_nd=out.type.ndim,
        reduced="{" + ", ".join("true" if r else "false" for r in reduced or (False,)) + "}",
        keepdims="true" if red.keepdims else "false",
        typenum=ctx.typenum(out_dtype),
        empty_statement=empty,
        combiner=_combiner(red, ctx.ctype(out_dtype)),
        map=map_name,
        nogil_minsize=int(ctx.options.nogil_minsize),
        min_parallel=_min_parallel(ctx.options),
    )
    return NodeCode(body)


@emitter(SumToShape)
def emit_sum_to_shape(node, ctx) -> NodeCode | None:
    """The gradient of broadcasting: a Sum over the leading dims of g and the dims where x
    has length 1 (decided at run time), or g itself when nothing is summed."""
    g, x = node.inputs
    dtype = g.type.dtype
    if not supported(dtype) or dtype == "bool" or node.outputs[0].type.dtype != dtype:
        return None
    ctx.include("symcomp/reduce.hpp")
    gnd, xnd = g.type.ndim, x.type.ndim
    body = ctx.render(
        "cpu/sum_to_shape.cpp.j2",
        gnd=gnd,
        xnd=xnd,
        lead=gnd - xnd,
        ctype=ctx.ctype(dtype),
        typenum=ctx.typenum(dtype),
        nogil_minsize=int(ctx.options.nogil_minsize),
        min_parallel=_min_parallel(ctx.options),
        shape_error=ctx.error(
            "ValueError",
            "SumToShape: cannot sum a gradient of length %zd to length %zd in dim %d",
            "static_cast<Py_ssize_t>(gd[d])",
            "static_cast<Py_ssize_t>(xd[e])",
            "d",
        ),
    )
    return NodeCode(body)
