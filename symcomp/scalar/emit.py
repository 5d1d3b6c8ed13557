"""Helpers for writing scalar ops' C++ expressions (``c_expr``) with NumPy semantics."""

from __future__ import annotations

import re

import numpy as np

from symcomp.scalar.base import EmitContext


def kind(dtype: str) -> str:
    """NumPy's kind letter: "b" bool, "i" signed, "u" unsigned, "f" float."""
    return np.dtype(dtype).kind


def arg(ctx: EmitContext, i: int, expr: str, dtype: str | None = None) -> str:
    """Argument ``i`` converted to ``dtype`` (default: the output dtype) if it differs."""
    dtype = dtype or ctx.out_dtype
    if ctx.in_dtypes[i] == dtype:
        return expr
    return f"static_cast<{ctx.ctype(dtype)}>({expr})"


def lam(ctx: EmitContext, body: str, args, dtype: str | None = None) -> str:
    """``([](T a, T b, ...) -> Out { body }(args...))`` with every argument converted to
    ``dtype`` (default: the output dtype). Inside ``body``, ``T`` is that C type."""
    dtype = dtype or ctx.out_dtype
    t = ctx.ctype(dtype)
    params = ", ".join(f"{t} {name}" for name in "abcd"[: len(args)])
    values = ", ".join(arg(ctx, i, a, dtype) for i, a in enumerate(args))
    body = re.sub(r"\bT\b", t, body)
    return f"([]({params}) -> {ctx.ctype()} {{ {body} }}({values}))"


def unsigned_ctype(dtype: str) -> str:
    """The unsigned C type used to compute wrapping integer arithmetic."""
    return "std::uint64_t" if np.dtype(dtype).itemsize == 8 else "std::uint32_t"
