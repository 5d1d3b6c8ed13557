"""The Elemwise emitter: a scalar op (or a fused Composite) in one loop nest.

Python writes the loop body as statements: each input is read once per element as its own
C type (``const T aK = ...;``), the scalar op's C++ (one expression, or a Composite's
``const T tK = ...;`` statements) computes the result, stored in the output's C type.
"""

from __future__ import annotations

from dataclasses import dataclass

from symcomp.codegen.cpu.emitter import ReusesOutput
from symcomp.codegen.cpu.registry import NodeCode, emitter, supported
from symcomp.tensor.elemwise import Elemwise


@dataclass(frozen=True)
class ElemwiseKernel:
    """Everything the kernel template lays out (hashable: equal kernels are emitted once)."""

    nd: int
    arrays: tuple  # indices of the inputs read per element (the others are scalars)
    out_ctype: str
    setup: tuple  # statements before the loops (scalar inputs read once)
    dense_test: str
    dense_setup: tuple
    dense_pragma: str
    dense_body: tuple
    strided_body: tuple
    outer_pragma: str
    result: str
    nogil_minsize: int
    # Elements below which the dense loop runs serially without entering OpenMP at all (an
    # `omp parallel ... if (false)` region still costs about 1 us); 0: no parallel loop.
    serial_below: int = 0


def scalar_statements(scalar_op, ctx, args) -> tuple:
    """``(statements, result)`` computing ``scalar_op`` of the argument expressions."""
    many = getattr(scalar_op, "c_statements", None)
    if many is not None:
        stmts, result = many(ctx, tuple(args), prefix="t")
        return tuple(stmts), result
    return (), scalar_op.c_expr(ctx, *args)


def elemwise_kernel(node, dialect, options) -> ElemwiseKernel | None:
    """The kernel of an Elemwise node, or None when its dtypes or scalar op have no C++."""
    dtypes = [i.type.dtype for i in node.inputs]
    out = node.outputs[0]
    if not all(supported(d) for d in dtypes + [out.type.dtype]):
        return None
    ctx = dialect.scalar_context(dtypes, out.type.dtype)
    names = [f"a{k}" for k in range(len(dtypes))]
    try:
        stmts, result = scalar_statements(node.op.scalar_op, ctx, names)
    except NotImplementedError:
        return None
    nd = out.type.ndim
    scalar = [all(n == 1 for n in i.type.shape) for i in node.inputs]
    arrays = tuple(k for k, s in enumerate(scalar) if not s)
    ctypes = [dialect.ctype(d) for d in dtypes]
    setup = tuple(
        f"const {t} s{k} = *reinterpret_cast<const {t}*>(PyArray_DATA(in[{k}]));"
        for k, (t, s) in enumerate(zip(ctypes, scalar))
        if s
    )
    dense_loads, strided_loads = [], []
    for k, t in enumerate(ctypes):
        if scalar[k]:
            dense_loads.append(f"const {t} a{k} = s{k};")
            strided_loads.append(f"const {t} a{k} = s{k};")
        else:
            dense_loads.append(f"const {t} a{k} = d{k}[i];")
            strided_loads.append(
                f"const {t} a{k} = *reinterpret_cast<const {t}*>(b{k} + i * z{k});"
            )
    parallel = options.openmp
    minsize = options.openmp_minsize
    return ElemwiseKernel(
        nd=nd,
        arrays=arrays,
        out_ctype=dialect.ctype(out.type.dtype),
        setup=setup,
        dense_test=" && ".join(f"sc::dense(in[{k}], n)" for k in arrays) or "true",
        dense_setup=tuple(
            f"const {ctypes[k]}* __restrict d{k} = "
            f"reinterpret_cast<const {ctypes[k]}*>(PyArray_DATA(in[{k}]));"
            for k in arrays
        ),
        dense_pragma=(
            f"#pragma omp parallel for simd schedule(static) if (n >= {minsize})"
            if parallel
            else "#pragma omp simd"
        ),
        dense_body=tuple(dense_loads) + stmts,
        strided_body=tuple(strided_loads) + stmts,
        outer_pragma=(
            f"#pragma omp parallel for schedule(static) if (n >= {minsize} && outer > 1)"
            if parallel
            else ""
        ),
        result=result,
        nogil_minsize=options.nogil_minsize,
        serial_below=minsize if parallel else 0,
    )


@emitter(Elemwise)
def emit_elemwise(node, ctx) -> NodeCode | None:
    kernel = elemwise_kernel(node, ctx.dialect, ctx.options)
    if kernel is None:
        return None
    name = ctx.function("cpu/elemwise.cpp.j2", kernel, prefix="elemwise")
    out = node.outputs[0]
    body = ctx.render(
        "cpu/elemwise_node.cpp.j2",
        nd=out.type.ndim,
        nin=len(node.inputs),
        typenum=ctx.typenum(out.type.dtype),
        kernel=name,
    )
    # The kernels write out[i] after reading every input at i, never reading the output:
    # the node can write into a reused output or an input planned in place.
    return ReusesOutput(body)
