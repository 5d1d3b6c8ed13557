"""Emitter for CrossentropySoftmax1HotDx (templates/cpu/xent_dx.cpp.j2): one pass writing
``sm * dy[:, None]`` and subtracting ``dy`` at each row's class, rows in parallel above the
softmax kernels' threshold. The row counts and every class index are checked first
(ValueError / IndexError naming the row, the index and the shapes).

Only float32/float64 with dy, sm and the output of one dtype are compiled; other dtypes run
the op's Python perform.
"""

from __future__ import annotations

from symcomp.codegen.cpu.registry import NodeCode, emitter, supported
from symcomp.codegen.cpu.softmax import FLOATS, row_kernel_args
from symcomp.tensor.nnet.xent_dx import CrossentropySoftmax1HotDx


@emitter(CrossentropySoftmax1HotDx)
def emit_crossentropy_softmax_1hot_dx(node, ctx) -> NodeCode | None:
    dy, sm, t = node.inputs
    dtype = sm.type.dtype
    if dtype not in FLOATS or not supported(t.type.dtype):
        return None
    if dy.type.dtype != dtype or node.outputs[0].type.dtype != dtype:
        return None  # mixed dtypes: perform's upcasting rules
    ctx.include("symcomp/softmax.hpp")
    name = type(node.op).__name__
    shapes = f"dy shape (%zd,), sm shape (%zd, %zd), dtype {dtype}, t shape (%zd,)"
    dims = tuple(f"static_cast<Py_ssize_t>({d})" for d in ("ndy", "rows", "n", "nt"))
    body = ctx.render(
        "cpu/xent_dx.cpp.j2",
        **row_kernel_args(ctx, dtype, t.type.dtype),
        rows_error=ctx.error(
            "ValueError",
            f"{name}: dy has %zd entries, sm %zd rows and t %zd entries ({shapes})",
            dims[0],
            dims[1],
            dims[3],
            *dims,
        ),
        index_error=ctx.error(
            "IndexError",
            f"{name}: class index out of range [0, %zd): t[%zd] = %lld ({shapes})",
            dims[2],
            "static_cast<Py_ssize_t>(r)",
            "v",
            *dims,
        ),
    )
    return NodeCode(body)
