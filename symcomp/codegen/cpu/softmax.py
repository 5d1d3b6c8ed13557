"""Emitters for Softmax, LogSoftmax (along any axis, or all), CrossentropySoftmax1Hot,
CrossentropyCategorical1Hot and its gradient over ``templates/include/symcomp/softmax.hpp``:
one pass computes each row's maximum, one its exponentials and their pairwise sum, one the
result; rows run in parallel. The crossentropies check every class index first (IndexError
naming the row and the index).

Only float32/float64 inputs whose dtype the output keeps are compiled; other dtypes run the
ops' Python perform. A softmax along another axis than the last walks strided rows (the
(outer, n, inner) view around the axis); axis=None is one row of every element.
"""

from __future__ import annotations

from symcomp.codegen.cpu.reduce import _min_parallel
from symcomp.codegen.cpu.registry import NodeCode, emitter, supported
from symcomp.tensor.nnet.crossentropy import (
    CrossentropyCategorical1Hot,
    CrossentropyCategorical1HotGrad,
)
from symcomp.tensor.nnet.fused_xent import CrossentropySoftmax1Hot
from symcomp.tensor.nnet.softmax import LogSoftmax, Softmax

FLOATS = ("float32", "float64")


def row_kernel_args(ctx, dtype: str, index_dtype: str | None = None) -> dict:
    """The template arguments every row kernel over softmax.hpp takes: its C types, the
    output typenum and the GIL/threading thresholds."""
    args = {
        "ctype": ctx.ctype(dtype),
        "typenum": ctx.typenum(dtype),
        "nogil_minsize": int(ctx.options.nogil_minsize),
        "min_parallel": _min_parallel(ctx.options),
    }
    if index_dtype is not None:
        args["itype"] = ctx.ctype(index_dtype)
    return args


@emitter(Softmax, LogSoftmax)
def emit_softmax(node, ctx) -> NodeCode | None:
    x, out = node.inputs[0], node.outputs[0]
    dtype = x.type.dtype
    nd = x.type.ndim
    if dtype not in FLOATS or out.type.dtype != dtype or nd == 0:
        return None
    ctx.include("symcomp/softmax.hpp")
    body = ctx.render(
        "cpu/softmax.cpp.j2",
        nd=nd,
        axis=-1 if node.op.axis is None else node.op.axis,
        log="true" if isinstance(node.op, LogSoftmax) else "false",
        **row_kernel_args(ctx, dtype),
    )
    return NodeCode(body)


@emitter(CrossentropySoftmax1Hot)
def emit_crossentropy_softmax_1hot(node, ctx) -> NodeCode | None:
    x, t = node.inputs
    dtype = x.type.dtype
    if dtype not in FLOATS or node.outputs[0].type.dtype != dtype or not supported(t.type.dtype):
        return None
    ctx.include("symcomp/softmax.hpp")
    body = ctx.render(
        "cpu/softmax_xent.cpp.j2",
        **row_kernel_args(ctx, dtype, t.type.dtype),
        **_index_errors(node, ctx, "x", "t"),
    )
    return NodeCode(body)


def _index_errors(node, ctx, x_name: str, t_name: str) -> dict:
    """The row-count and class-index error statements of a one-hot crossentropy node."""
    name, x = type(node.op).__name__, node.inputs[-2]
    shape = f"{x_name} shape (%zd, %zd), dtype {x.type.dtype}"
    dims = ("static_cast<Py_ssize_t>(rows)", "static_cast<Py_ssize_t>(n)")
    return {
        "rows_error": ctx.error(
            "ValueError",
            f"{name}: {x_name} has %zd rows but {t_name} has %zd entries ({shape})",
            "static_cast<Py_ssize_t>(rows)",
            "static_cast<Py_ssize_t>(nt)",
            *dims,
        ),
        "index_error": ctx.error(
            "IndexError",
            f"{name}: class index out of range [0, %zd): {t_name}[%zd] = %lld ({shape})",
            "static_cast<Py_ssize_t>(n)",
            "static_cast<Py_ssize_t>(r)",
            "v",
            *dims,
        ),
    }


@emitter(CrossentropyCategorical1Hot, CrossentropyCategorical1HotGrad)
def emit_crossentropy_categorical_1hot(node, ctx) -> NodeCode | None:
    grad = isinstance(node.op, CrossentropyCategorical1HotGrad)
    p, t = node.inputs[-2:]
    dtype = p.type.dtype
    if dtype not in FLOATS or node.outputs[0].type.dtype != dtype or not supported(t.type.dtype):
        return None
    if grad and node.inputs[0].type.dtype != dtype:
        return None  # g of another float type: perform's upcasting rules
    ctx.include("symcomp/softmax.hpp")
    body = ctx.render(
        "cpu/softmax_1hot.cpp.j2",
        grad=grad,
        p=1 if grad else 0,
        ctype=ctx.ctype(dtype),
        itype=ctx.ctype(t.type.dtype),
        typenum=ctx.typenum(dtype),
        g_error=ctx.error(
            "ValueError",
            f"{type(node.op).__name__}: g has %zd entries, expected 1 or %zd (the rows of "
            f"coding_dist, shape (%zd, %zd), dtype {dtype})",
            "static_cast<Py_ssize_t>(ng)",
            "static_cast<Py_ssize_t>(rows)",
            "static_cast<Py_ssize_t>(rows)",
            "static_cast<Py_ssize_t>(n)",
        ),
        **_index_errors(node, ctx, "coding_dist", "true_dist"),
    )
    return NodeCode(body)
