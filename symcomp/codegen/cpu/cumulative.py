"""Emitters for CumSum and CumProd: x is cast into a fresh C-ordered output (NumPy's
``dtype=`` cast), which a kernel then accumulates in place along the axis, sequentially as
NumPy's ``accumulate`` does (so float results match ``numpy.cumsum`` bit for bit); axis None
runs over x in C order and returns the flat vector. Integers wrap around as in NumPy. Output
dtypes the kernels do not compute (float16, complex) run the ops' Python perform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.codegen.cpu.reduce import _min_parallel
from symcomp.codegen.cpu.registry import NodeCode, emitter, supported
from symcomp.tensor.cumulative import CumProd, CumSum


@dataclass(frozen=True)
class KernelSpec:
    ctype: str
    combine: str  # the new element from ``a`` (the running value) and ``b`` (x's element)
    reverse: str


def _combine(dtype: str, ctype: str, product: bool) -> str:
    kind = np.dtype(dtype).kind
    if kind == "b":
        return "a && b" if product else "a || b"
    sign = "*" if product else "+"
    if kind in "iu":  # wrap around without signed overflow (modular on every target)
        return f"static_cast<T>(std::uint64_t(a) {sign} std::uint64_t(b))"
    return f"a {sign} b"


@emitter(CumSum, CumProd)
def emit_cumulative(node, ctx) -> NodeCode | None:
    x, out = node.inputs[0], node.outputs[0]
    dtype = out.type.dtype
    nd = x.type.ndim
    if not supported(dtype) or not supported(x.type.dtype):
        return None
    axis = node.op.axis
    if axis is not None and nd == 0:
        return None
    ctype = ctx.ctype(dtype)
    spec = KernelSpec(
        ctype=ctype,
        combine=_combine(dtype, ctype, isinstance(node.op, CumProd)),
        reverse="true" if node.op.reverse else "false",
    )
    kernel = ctx.function("cpu/cumulative_kernel.cpp.j2", spec, prefix="cum")
    body = ctx.render(
        "cpu/cumulative.cpp.j2",
        x_nd=nd,
        flat=axis is None,
        axis=0 if axis is None else axis % nd,
        typenum=ctx.typenum(dtype),
        ctype=ctype,
        kernel=kernel,
        nogil_minsize=int(ctx.options.nogil_minsize),
        min_parallel=_min_parallel(ctx.options),
    )
    return NodeCode(body)
