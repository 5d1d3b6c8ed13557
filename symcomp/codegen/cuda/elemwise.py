"""CUDA kernels of Elemwise nodes: a scalar op, or a fused Composite, in a grid-stride loop.

The body is the same scalar C++ the CPU backend puts in its loop nest (``c_expr`` /
``Composite.c_statements``), rendered through the CUDA ``Dialect``: scalar ops see an
EmitContext named ``"cuda"``, so math functions become device functions (``expf`` for
float32, ``exp`` for float64). Each node gives two kernels (``templates/cuda/elemwise.cu.j2``):

- ``<name>_contig(n, in0, ..., out)``: every array input C-contiguous with the output's size;
- ``<name>_strided(n, ndim, shape, in0, strides0, ..., out, out_strides)``: any strides
  (in elements) and broadcasting, over a shape of at most ``MAX_RANK`` dims.

Inputs whose static shape is all ones (0-d constants, scalars) are read once, before the
loop, and take no strides. ``symcomp.codegen.cuda.launch`` picks the kernel and builds its
arguments for concrete arrays.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from symcomp.codegen.dialect import CUDA, Dialect
from symcomp.codegen.templates import render
from symcomp.scalar.base import C_TYPES

__all__ = [
    "MAX_RANK",
    "CudaElemwiseKernel",
    "CudaUnsupportedError",
    "elemwise_kernel",
    "render_kernel",
    "render_module",
    "scalar_kernel",
]

# Mirrors SYMCOMP_CUDA_MAX_RANK in templates/include/symcomp/cuda_elemwise.cuh.
MAX_RANK = 8
# Kernel parameters are limited to 4 KiB before CUDA 12.1 (and on pre-Volta GPUs).
PARAM_LIMIT_BYTES = 4096
_DIMS_BYTES = 8 * MAX_RANK


class CudaUnsupportedError(NotImplementedError):
    """What a node needs has no CUDA kernel (a dtype, a rank, a scalar op); the message says
    what. The node can still run on the CPU."""


@dataclass(frozen=True)
class CudaElemwiseKernel:
    """Everything ``cuda/elemwise.cu.j2`` lays out, and what a launch needs to know.

    ``arrays`` are the inputs read per element, ``scalars`` those read once; the parameter
    lists and statement lists are final C++ text. Hashable: equal kernels render equal.
    """

    name: str
    qualifier: str
    index: str
    in_dtypes: tuple
    out_dtype: str
    arrays: tuple
    scalars: tuple
    contig_params: tuple
    strided_params: tuple
    setup: tuple
    contig_body: tuple
    strided_body: tuple
    result: str

    @property
    def contig_function(self) -> str:
        return f"{self.name}_contig"

    @property
    def strided_function(self) -> str:
        return f"{self.name}_strided"


def _scalar_statements(scalar_op, ctx, args) -> tuple:
    """``(statements, result)``: a Composite's ``const T tK = ...;`` lines, or one expression."""
    many = getattr(scalar_op, "c_statements", None)
    if many is not None:
        stmts, result = many(ctx, tuple(args), prefix="t")
        return tuple(stmts), result
    return (), scalar_op.c_expr(ctx, *args)


def _check_dtype(dtype: str, what: str) -> None:
    if dtype not in C_TYPES:
        supported = ", ".join(C_TYPES)
        raise CudaUnsupportedError(
            f"CUDA elementwise kernels do not support dtype {dtype} ({what}); supported: "
            f"{supported}"
        )


def scalar_kernel(
    scalar_op,
    in_dtypes: Sequence[str],
    out_dtype: str,
    scalar_inputs: Sequence[bool] | None = None,
    ndim: int = 1,
    name: str | None = None,
    dialect: Dialect = CUDA,
) -> CudaElemwiseKernel:
    """The kernels computing ``scalar_op`` elementwise on inputs of ``in_dtypes``.

    ``scalar_inputs[k]`` marks input k as read once (its static shape is all ones); ``ndim``
    is the output's rank. ``name`` defaults to one derived from the op and a hash of the
    kernel's code, so the same kernel always gets the same name. Raises
    ``CudaUnsupportedError`` for a dtype without a C type (complex, float16, ...), a rank
    above ``MAX_RANK``, too many inputs for the kernel parameter space, or a scalar op
    without a C++ expression.
    """
    in_dtypes = tuple(in_dtypes)
    scalar_inputs = tuple(scalar_inputs or (False,) * len(in_dtypes))
    for k, dtype in enumerate(in_dtypes):
        _check_dtype(dtype, f"input {k} of {scalar_op}")
    _check_dtype(out_dtype, f"output of {scalar_op}")
    if ndim > MAX_RANK:
        raise CudaUnsupportedError(
            f"CUDA elementwise kernels handle at most {MAX_RANK} dimensions; {scalar_op} "
            f"has an output of {ndim}"
        )
    ctx = dialect.scalar_context(in_dtypes, out_dtype)
    try:
        stmts, result = _scalar_statements(scalar_op, ctx, [f"a{k}" for k in range(len(in_dtypes))])
    except NotImplementedError as exc:
        raise CudaUnsupportedError(f"{scalar_op} has no C++ expression for CUDA: {exc}") from exc
    arrays = tuple(k for k, s in enumerate(scalar_inputs) if not s)
    scalars = tuple(k for k, s in enumerate(scalar_inputs) if s)
    _check_param_space(scalar_op, len(in_dtypes), len(arrays))
    ctypes = [dialect.ctype(d) for d in in_dtypes]
    out_ctype = dialect.ctype(out_dtype)
    index, restrict = dialect.index_type, dialect.restrict
    pointers = [f"const {t}* {restrict} in{k}" for k, t in enumerate(ctypes)]
    out_pointer = f"{out_ctype}* {restrict} out"
    strided_inputs: list[str] = []
    for k, pointer in enumerate(pointers):
        strided_inputs.append(pointer)
        if k in arrays:
            strided_inputs.append(f"const sc::cuda::Dims strides{k}")
    spec = CudaElemwiseKernel(
        name="",
        qualifier=dialect.kernel_qualifier,
        index=index,
        in_dtypes=in_dtypes,
        out_dtype=out_dtype,
        arrays=arrays,
        scalars=scalars,
        contig_params=(f"const {index} n", *pointers, out_pointer),
        strided_params=(
            f"const {index} n",
            f"const {index} ndim",
            "const sc::cuda::Dims shape",
            *strided_inputs,
            out_pointer,
            "const sc::cuda::Dims out_strides",
        ),
        setup=tuple(f"const {ctypes[k]} a{k} = in{k}[0];" for k in scalars),
        contig_body=tuple(f"const {ctypes[k]} a{k} = in{k}[i];" for k in arrays) + stmts,
        strided_body=tuple(f"const {ctypes[k]} a{k} = in{k}[p{k}];" for k in arrays) + stmts,
        result=result,
    )
    return _named(spec, name or _default_name(scalar_op, spec))


def _check_param_space(scalar_op, nin: int, narrays: int) -> None:
    # n, ndim, shape; a pointer per input and strides per array input; out and its strides.
    size = 8 + 8 + _DIMS_BYTES + 8 * nin + _DIMS_BYTES * narrays + 8 + _DIMS_BYTES
    if size > PARAM_LIMIT_BYTES:
        raise CudaUnsupportedError(
            f"{scalar_op} has {nin} inputs ({narrays} arrays): its strided CUDA kernel would "
            f"take {size} bytes of parameters, above the {PARAM_LIMIT_BYTES}-byte limit"
        )


def _named(spec: CudaElemwiseKernel, name: str) -> CudaElemwiseKernel:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"{name!r} is not a C identifier")
    return replace(spec, name=name)


def _default_name(scalar_op, spec: CudaElemwiseKernel) -> str:
    """``sc_<op>_<hash>``: readable, and a function of the kernel's code only, so two nodes
    computing the same thing share one kernel and the source is deterministic."""
    label = re.sub(r"[^a-z0-9]+", "_", type(scalar_op).__name__.lower()).strip("_")[:24]
    digest = hashlib.sha256(render_kernel(_named(spec, "k")).encode()).hexdigest()[:12]
    return f"sc_{label or 'op'}_{digest}"


def elemwise_kernel(node, name: str | None = None, dialect: Dialect = CUDA) -> CudaElemwiseKernel:
    """The kernels of an ``Elemwise`` node (a plain scalar op or a fused Composite).

    Raises ``CudaUnsupportedError`` as ``scalar_kernel`` does, and ``TypeError`` for a node
    that is not elementwise.
    """
    scalar_op = getattr(node.op, "scalar_op", None)
    if scalar_op is None:
        raise TypeError(f"{node.op} is not an elementwise op")
    return scalar_kernel(
        scalar_op,
        [i.type.dtype for i in node.inputs],
        node.outputs[0].type.dtype,
        scalar_inputs=[all(n == 1 for n in i.type.shape) for i in node.inputs],
        ndim=node.outputs[0].type.ndim,
        name=name,
        dialect=dialect,
    )


def render_kernel(spec: CudaElemwiseKernel) -> str:
    """The CUDA source of one node's two kernels (no includes: see ``render_module``)."""
    return render("cuda/elemwise.cu.j2", spec=spec)


def render_module(specs: Sequence[CudaElemwiseKernel]) -> str:
    """One translation unit holding every kernel of ``specs`` once (first occurrence order).

    Raises ``ValueError`` when two different kernels share a name.
    """
    seen: dict[str, CudaElemwiseKernel] = {}
    for spec in specs:
        other = seen.setdefault(spec.name, spec)
        if other != spec:
            raise ValueError(f"two different CUDA kernels are named {spec.name}")
    return render("cuda/module.cu.j2", kernels=[render_kernel(s) for s in seen.values()])
