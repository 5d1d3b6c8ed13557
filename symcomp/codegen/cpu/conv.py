"""Emitters for Conv2d and its gradient ops over ``templates/include/symcomp/conv.hpp``.

float32/float64 convolutions run as im2col + gemm through OpenBLAS (the scipy-openblas32
wheel, opened by path as blas.py does), in parallel over the batch (OpenMP) when each thread
gets enough work (conv.hpp's batch_threads). Python decides the geometry expressions and the error messages; the template
``cpu/conv.cpp.j2`` checks the shapes at run time (channel mismatch, window larger than the
padded input, output-gradient shape), allocates the output and calls the kernel with the GIL
released. Other dtypes, or no BLAS, fall back to the ops' Python perform.
"""

from __future__ import annotations

from symcomp.codegen.blas import blas_info
from symcomp.codegen.cpu.registry import NodeCode, c_string, emitter
from symcomp.tensor.nnet.conv import Conv2d, Conv2dGradFilters, Conv2dGradInputs

# op class -> (x input, w input, output-gradient input, data operands, kernel, output dims)
_LAYOUT = {
    Conv2d: (0, 1, None, (0, 1), "conv2d", "{g.n, g.o, g.ho, g.wo}"),
    Conv2dGradInputs: (2, 0, 1, (0, 1), "conv2d_grad_input", "{g.n, g.c, g.h, g.w}"),
    Conv2dGradFilters: (0, 2, 1, (0, 1), "conv2d_grad_filters", "{g.o, wd[1], g.kh, g.kw}"),
}

# The fewest multiply-adds each thread of the batch loop gets, in elementwise-threshold
# elements (openmp_elemwise_minsize): a gemm does many multiply-adds per element an
# elementwise loop touches, so an image's work is worth a thread's wake-up only in larger
# amounts (10 x 200000 by default: a team of two from 4M multiply-adds, where the 3M of
# benchmarks/conv_step.py's batch stays serial). conv.hpp's batch_threads also keeps the
# batch serial when OpenBLAS threads each image's gemm itself.
_MACS_PER_THREAD = 10

_SHAPES = "input shape (%zd, %zd, %zd, %zd), filters shape (%zd, %zd, %zd, %zd)"
_SHAPE_ARGS = tuple(f"static_cast<Py_ssize_t>(xd[{i}])" for i in range(4)) + tuple(
    f"static_cast<Py_ssize_t>(wd[{i}])" for i in range(4)
)


def _pads(padding) -> tuple[str, str]:
    if padding == "full":
        return "g.dh * (g.kh - 1)", "g.dw * (g.kw - 1)"
    if padding in ("half", "same"):
        return "g.dh * (g.kh - 1) / 2", "g.dw * (g.kw - 1) / 2"
    return str(int(padding[0])), str(int(padding[1]))


@emitter(Conv2d, Conv2dGradInputs, Conv2dGradFilters)
def emit_conv(node, ctx) -> NodeCode | None:
    op = node.op
    dtype = node.outputs[0].type.dtype
    if dtype not in ("float32", "float64"):
        return None
    if any(v.type.dtype != dtype for v in node.inputs):
        return None
    info = blas_info()
    if not info["available"]:
        return None
    x, w, gy, args, kernel, out_dims = _LAYOUT[type(op)]
    name = type(op).__name__
    ctx.include("symcomp/conv.hpp")
    ph, pw = _pads(op.padding)
    pad_checks = ()
    if op.padding == "same":
        pad_checks = (
            "if (g.dh * (g.kh - 1) % 2 != 0 || g.dw * (g.kw - 1) % 2 != 0) "
            + ctx.error(
                "ValueError",
                f"{name}: padding='same' needs odd (dilated) filter sizes; use 'half' or "
                f"explicit padding ({_SHAPES})",
                *_SHAPE_ARGS,
            ),
        )
    gy_args = tuple(f"static_cast<Py_ssize_t>(gd[{i}])" for i in range(4))
    gy_want = ("g.n", "g.o", "g.ho", "g.wo")
    body = ctx.render(
        "cpu/conv.cpp.j2",
        x=x,
        w=w,
        gy=gy,
        args=args,
        sh=op.stride[0],
        sw=op.stride[1],
        dh=op.dilation[0],
        dw=op.dilation[1],
        groups=op.groups,
        ph=ph,
        pw=pw,
        pad_checks=pad_checks,
        out_dims=out_dims,
        typenum=ctx.typenum(dtype),
        ctype=ctx.ctype(dtype),
        call=f"symcomp::conv::{kernel}<{ctx.ctype(dtype)}>",
        flip="true" if op.filter_flip else "false",
        blas_path=c_string(info["library_path"]),
        nogil_minsize=int(ctx.options.nogil_minsize),
        min_per_thread=f"{_MACS_PER_THREAD * int(ctx.options.openmp_minsize)}LL"
        if ctx.options.openmp
        else "INT64_MAX",
        channel_error=ctx.error(
            "ValueError",
            f"{name}: channel mismatch: the input has %zd channels, the filters expect %zd per "
            f"group x {op.groups} groups, and the output channels must be a multiple of "
            f"groups ({_SHAPES})",
            "static_cast<Py_ssize_t>(xd[1])",
            "static_cast<Py_ssize_t>(wd[1])",
            *_SHAPE_ARGS,
        ),
        window_error=ctx.error(
            "ValueError",
            f"{name}: the (dilated) filter window is larger than the padded input ({_SHAPES}, "
            f"padding {op.padding}, dilation {op.dilation})",
            *_SHAPE_ARGS,
        ),
        gy_error=ctx.error(
            "ValueError",
            f"{name}: the output gradient has shape (%zd, %zd, %zd, %zd), expected "
            f"(%zd, %zd, %zd, %zd) ({_SHAPES})",
            *gy_args,
            *(f"static_cast<Py_ssize_t>({v})" for v in gy_want),
            *_SHAPE_ARGS,
        ),
        size_error=ctx.error("ValueError", f"{name}: a dimension exceeds 32-bit BLAS limits"),
        blas_load_error=ctx.error("RuntimeError", "cannot load OpenBLAS: %s", "blas_error"),
    )
    return NodeCode(body)
