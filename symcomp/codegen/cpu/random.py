"""Emitters for the random ops (symcomp/random/op.py) over the kernels of
``templates/include/symcomp/philox.hpp``, which draw the same bits as the ops' NumPy
``perform``. Python picks the kernel instance and maps its error codes to the messages of
the py mode; ``cpu/random.cpp.j2`` and ``cpu/random_choice.cpp.j2`` lay out the node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.codegen.cpu.registry import NodeCode, emitter
from symcomp.random.op import (
    BINOMIAL_MAX_N,
    P_SUM_ATOL,
    Binomial,
    Choice,
    Integers,
    Normal,
    Uniform,
)

_KERNELS = {Uniform: "uniform", Normal: "normal", Integers: "integers", Binomial: "binomial"}
_ERRORS = {
    Uniform: ("uniform: low and high must be finite", "uniform: low must be <= high"),
    Normal: ("normal: scale must be >= 0 (and not NaN)",),
    Integers: ("integers: low must be < high", "integers: [low, high) does not fit in {dtype}"),
    Binomial: (f"binomial: n must be in [0, {BINOMIAL_MAX_N}]", "binomial: p must be in [0, 1]"),
}
_PARAM_CTYPES = {"float": "double", "int": "std::int64_t"}


@dataclass(frozen=True)
class RandomHelpers:
    """The module-level helpers of the random nodes (one copy per module)."""


def _helpers(ctx) -> str:
    ctx.include("symcomp/philox.hpp")
    return ctx.function("cpu/random_helpers.cpp.j2", RandomHelpers(), prefix="random")


def _min_parallel(options) -> str:
    """The sample count from which the kernels use OpenMP threads (never when off)."""
    return f"{int(options.openmp_minsize)}LL" if options.openmp else "INT64_MAX"


def _int64_literal(v: int) -> str:
    v = max(min(int(v), 2**63 - 1), -(2**63))
    return "(-9223372036854775807LL - 1)" if v == -(2**63) else f"{v}LL"


def _extra_args(op) -> str:
    if isinstance(op, Integers):
        info = np.iinfo(op.dtype)
        return f", {_int64_literal(info.min)}, {_int64_literal(info.max)}"
    if isinstance(op, Binomial):
        return f", {BINOMIAL_MAX_N}LL"
    return ""


@emitter(Uniform, Normal, Integers, Binomial)
def emit_random(node, ctx) -> NodeCode | None:
    op = node.op
    kernel = _KERNELS.get(type(op))
    if kernel is None:
        return None
    out_ctype = ctx.ctype(op.dtype)
    messages = [m.format(dtype=op.dtype) for m in _ERRORS[type(op)]]
    body = ctx.render(
        "cpu/random.cpp.j2",
        nd=op.ndim,
        params=[_PARAM_CTYPES[k] for k in op.param_kinds],
        negative_error=ctx.error("ValueError", f"{type(op).__name__}: negative size"),
        helpers=_helpers(ctx),
        typenum=ctx.typenum(op.dtype),
        nogil_minsize=int(ctx.options.nogil_minsize),
        call=f"symcomp::random::{kernel}<{out_ctype}>",
        out_ctype=out_ctype,
        extra=_extra_args(op),
        min_parallel=_min_parallel(ctx.options),
        errors=[(k + 1, ctx.error("ValueError", m)) for k, m in enumerate(messages)],
    )
    return NodeCode(body)


@emitter(Choice)
def emit_choice(node, ctx) -> NodeCode:
    op = node.op
    errors = [
        (1, ctx.error("ValueError", "choice: a must be non-negative, got %lld", "(long long)n")),
        (2, ctx.error("ValueError", "choice: a cannot be empty unless no samples are taken")),
        (
            3,
            ctx.error(
                "ValueError",
                "choice: p has %lld entries but a has %lld",
                "(long long)PyArray_SIZE(in[2])",
                "(long long)n",
            ),
        ),
        (4, ctx.error("ValueError", "choice: probabilities must be in [0, 1]")),
        (5, ctx.error("ValueError", "choice: probabilities do not sum to 1")),
        (
            6,
            ctx.error(
                "ValueError",
                "choice: fewer non-zero probabilities than the %lld samples to take "
                "without replacement",
                "k",
            ),
        ),
        (
            7,
            ctx.error(
                "ValueError",
                "choice: cannot take %lld samples from %lld without replacement",
                "k",
                "(long long)n",
            ),
        ),
    ]
    if not op.weighted:
        errors = [e for e in errors if e[0] not in (3, 4, 5, 6)]
    weights = (
        "reinterpret_cast<PyArrayObject*>(PyArray_GETCONTIGUOUS(in[2]))"
        if op.weighted
        else "nullptr"
    )
    if op.weighted:
        work = 16  # per entry: its cumulative sum and its remaining weight (doubles)
    else:
        work = 0 if op.replace else 8  # the Fisher-Yates permutation (int64)
    body = ctx.render(
        "cpu/random_choice.cpp.j2",
        nd=op.ndim,
        first_size=3 if op.weighted else 2,
        negative_error=ctx.error("ValueError", "Choice: negative size"),
        helpers=_helpers(ctx),
        weights=weights,
        weighted="true" if op.weighted else "false",
        work_per_item=work,
        replace="true" if op.replace else "false",
        atol=repr(float(P_SUM_ATOL)),
        nogil_minsize=int(ctx.options.nogil_minsize),
        errors=errors,
    )
    return NodeCode(body)
