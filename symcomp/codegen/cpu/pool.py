"""Emitters for Pool2d, MaxPoolGrad, MaxPoolGradGrad and AveragePoolGrad over
``templates/include/symcomp/pool.hpp``: direct loops over the windows of each plane, in
parallel over planes (OpenMP, team.hpp) when each thread gets enough work, with the GIL
released.
float32/float64 only; other dtypes fall back to the ops' Python perform. The template checks
the shapes at run time (empty image, window larger than the padded input, pooled operands
of the wrong shape) and raises ValueError naming them.
"""

from __future__ import annotations

from symcomp.codegen.cpu.registry import NodeCode, emitter
from symcomp.tensor.nnet.pool import MODES, AveragePoolGrad, MaxPoolGrad, MaxPoolGradGrad, Pool2d

# op class -> (kernel, operand inputs, inputs of the pooled shape, inputs of x's shape,
# whether the output has x's shape)
_LAYOUT = {
    Pool2d: ("forward", (0,), (), (), False),
    MaxPoolGrad: ("max_grad", (0, 1, 2), (1, 2), (), True),
    MaxPoolGradGrad: ("max_grad_grad", (0, 1, 2), (1,), (2,), False),
    AveragePoolGrad: ("average_grad", (0, 1), (1,), (), True),
}

# The fewest elements each thread reads (one per window position), in elementwise-threshold
# elements (openmp_elemwise_minsize): a window read and compare costs about one elementwise
# operation, so a plane loop goes parallel where an elementwise loop of that many elements
# per thread would (400000 reads for a team of two by default).
_READS_PER_THREAD = 1


@emitter(Pool2d, MaxPoolGrad, MaxPoolGradGrad, AveragePoolGrad)
def emit_pool(node, ctx) -> NodeCode | None:
    op = node.op
    dtype = node.outputs[0].type.dtype
    if dtype not in ("float32", "float64") or any(v.dtype != dtype for v in node.inputs):
        return None
    kernel, args, pooled, full, backward = _LAYOUT[type(op)]
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
        backward=backward,
        pooled_inputs=pooled,
        full_inputs=full,
        args=args,
        typenum=ctx.typenum(dtype),
        ctype=ctx.ctype(dtype),
        call=f"symcomp::pool::{kernel}<{ctx.ctype(dtype)}>",
        nogil_minsize=int(ctx.options.nogil_minsize),
        min_per_thread=f"{_READS_PER_THREAD * int(ctx.options.openmp_minsize)}LL"
        if ctx.options.openmp
        else "INT64_MAX",
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
        full_error=ctx.error(
            "ValueError",
            f"{name}: ggx does not have the input's shape (input shape {shape}, dtype {dtype})",
            *shape_args,
        ),
    )
    return NodeCode(body)
