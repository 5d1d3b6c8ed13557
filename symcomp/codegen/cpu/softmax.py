"""Emitters for Softmax, LogSoftmax (along the last axis) and CrossentropySoftmax1Hot over
``templates/include/symcomp/softmax.hpp``: one pass computes each row's maximum, one its
exponentials and their pairwise sum, one the result; rows run in parallel.

Only float32/float64 inputs whose dtype the output keeps are compiled; other axes (None or
not the last) and dtypes run the ops' Python perform.
"""

from __future__ import annotations

from symcomp.codegen.cpu.reduce import _min_parallel
from symcomp.codegen.cpu.registry import NodeCode, emitter, supported
from symcomp.tensor.nnet.fused_xent import CrossentropySoftmax1Hot
from symcomp.tensor.nnet.softmax import LogSoftmax, Softmax

_FLOATS = ("float32", "float64")


@emitter(Softmax, LogSoftmax)
def emit_softmax(node, ctx) -> NodeCode | None:
    x, out = node.inputs[0], node.outputs[0]
    dtype = x.type.dtype
    nd = x.type.ndim
    if dtype not in _FLOATS or out.type.dtype != dtype or nd == 0 or node.op.axis != nd - 1:
        return None
    ctx.include("symcomp/softmax.hpp")
    body = ctx.render(
        "cpu/softmax.cpp.j2",
        nd=nd,
        ctype=ctx.ctype(dtype),
        typenum=ctx.typenum(dtype),
        log="true" if isinstance(node.op, LogSoftmax) else "false",
        nogil_minsize=int(ctx.options.nogil_minsize),
        min_parallel=_min_parallel(ctx.options),
    )
    return NodeCode(body)


@emitter(CrossentropySoftmax1Hot)
def emit_crossentropy_softmax_1hot(node, ctx) -> NodeCode | None:
    x, t = node.inputs
    dtype = x.type.dtype
    if dtype not in _FLOATS or node.outputs[0].type.dtype != dtype or not supported(t.type.dtype):
        return None
    ctx.include("symcomp/softmax.hpp")
    body = ctx.render(
        "cpu/softmax_xent.cpp.j2",
        ctype=ctx.ctype(dtype),
        itype=ctx.ctype(t.type.dtype),
        typenum=ctx.typenum(dtype),
        nogil_minsize=int(ctx.options.nogil_minsize),
        min_parallel=_min_parallel(ctx.options),
        rows_error=ctx.error(
            "ValueError",
            "x has %zd rows but t has %zd entries",
            "static_cast<Py_ssize_t>(rows)",
            "static_cast<Py_ssize_t>(nt)",
        ),
        index_error=ctx.error(
            "IndexError",
            "class index out of range [0, %zd): t[%zd] = %lld",
            "static_cast<Py_ssize_t>(n)",
            "static_cast<Py_ssize_t>(r)",
            "v",
        ),
    )
    return NodeCode(body)
