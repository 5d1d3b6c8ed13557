"""Emitters for Pool2d, MaxPoolGrad and AveragePoolGrad over
``templates/include/symcomp/pool.hpp``: direct loops over the windows of each plane, in
parallel over planes (OpenMP) when the work is large enough, with the GIL released.
float32/float64 only; other dtypes fall back to the ops' Python perform. The template checks
the shapes at run time (empty image, window larger than the padded input, pooled operands
of the wrong shape) and raises ValueError naming them.
"""

from __future__ import annotations

from symcomp.codegen.cpu.registry import NodeCode, emitter
from symcomp.tensor.nnet.pool import MODES, AveragePoolGrad, MaxPoolGrad, Pool2d

# op class -> (kernel, operand inputs, inputs that have the pooled shape)
_LAYOUT = {
    Pool2d: ("forward", (0,), ()),
    MaxPoolGrad: ("max_grad", (0, 1, 2), (1, 2)),
    AveragePoolGrad: ("average_grad", (0, 1), (1,)),
}


@emitter(Pool2d, MaxPoolGrad, AveragePoolGrad)
def emit_pool(node, ctx) -> NodeCode | None:
    op = node.op
    dtype = node.outputs[0].type.dtype
    if dtype not in ("float32", "float64") or any(v.dtype != dtype for v in node.inputs):
        return None
    kernel, args, pooled = _LAYOUT[type(op)]
    name = type(op).__name__
    nd = node.inputs[0].type.ndim
    ctx.include("symcomp/pool.hpp")
    shape = "(" + ", ".join(["%zd"] * nd) + ")"
    shape_args = tuple(f"static_cast<Py_ssize_t>(xd[{d}])" for d in range(nd))
    body = ctx.render(
        "cpu/pool.cpp.j2",
        nd=nd,
        wsh=op.ws[0],
        wsw=op.ws[1],
        sh=op.stride[0],
        sw=op.stride[1],
        ph=op.pad[0],
        pw=op.pad[1],
        mode=MODES.index(op.mode),
        ignore_border="true" if op.ignore_border else "false",
        backward=type(op) is not Pool2d,
        pooled_inputs=pooled,
        args=args,
        typenum=ctx.typenum(dtype),
        ctype=ctx.ctype(dtype),
        call=f"symcomp::pool::{kernel}<{ctx.ctype(dtype)}>",
        nogil_minsize=int(ctx.options.nogil_minsize),
        min_parallel=4 * int(ctx.options.openmp_minsize) if ctx.options.openmp else "INT64_MAX",
        empty_error=ctx.error(
            "ValueError",
            f"{name}: cannot pool an empty image (input shape {shape}, dtype {dtype})",
            *shape_args,
        ),
        window_error=ctx.error(
            "ValueError",
            f"{name}: the pooling window {op.ws} is larger than the padded input (input shape "
            f"{shape}, dtype {dtype}, pad {op.pad}); use ignore_border=False to pool partial "
            "windows",
            *shape_args,
        ),
        pooled_error=ctx.error(
            "ValueError",
            f"{name}: a pooled operand (maxout or gz) does not have the pooled shape of the "
            f"input (input shape {shape}, window {op.ws}, stride {op.stride}, pad {op.pad})",
            *shape_args,
        ),
    )
    return NodeCode(body)
