"""Core arithmetic scalar ops: add, sub, mul, true_div, neg, identity, cast, switch,
and the comparisons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symcomp.scalar.base import EmitContext, ScalarOp, tensor_module
from symcomp.scalar.emit import arg, kind, lam, unsigned_ctype
from symcomp.tensor.dtypes import is_discrete

_t = tensor_module


@dataclass(frozen=True)
class Add(ScalarOp):
    """x + y."""

    nin = 2
    reference = staticmethod(np.add)

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0], cotangents[0]]

    def c_expr(self, ctx: EmitContext, x: str, y: str) -> str:
        if ctx.out_dtype == "bool":
            return f"({x} || {y})"
        return _wrapping(ctx, "+", x, y)


@dataclass(frozen=True)
class Sub(ScalarOp):
    """x - y."""

    nin = 2
    reference = staticmethod(np.subtract)

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0], -cotangents[0]]

    def c_expr(self, ctx, x, y):
        return _wrapping(ctx, "-", x, y)


@dataclass(frozen=True)
class Mul(ScalarOp):
    """x * y."""

    nin = 2
    reference = staticmethod(np.multiply)

    def pullback(self, inputs, outputs, cotangents):
        x, y = inputs
        g = cotangents[0]
        return [g * y, g * x]

    def c_expr(self, ctx, x, y):
        if ctx.out_dtype == "bool":
            return f"({x} && {y})"
        return _wrapping(ctx, "*", x, y)


@dataclass(frozen=True)
class TrueDiv(ScalarOp):
    """x / y (a float result, as NumPy's true division)."""

    nin = 2
    reference = staticmethod(np.true_divide)
    float_output = True

    def pullback(self, inputs, outputs, cotangents):
        x, y = inputs
        g = cotangents[0]
        return [g / y, -g * outputs[0] / y]

    def c_expr(self, ctx, x, y):
        return f"({arg(ctx, 0, x)} / {arg(ctx, 1, y)})"


@dataclass(frozen=True)
class Neg(ScalarOp):
    """-x."""

    nin = 1
    reference = staticmethod(np.negative)

    def pullback(self, inputs, outputs, cotangents):
        return [-cotangents[0]]

    def c_expr(self, ctx, x):
        if kind(ctx.out_dtype) in "iu":
            return lam(
                ctx,
                f"return (T)({unsigned_ctype(ctx.out_dtype)}(0) - "
                f"({unsigned_ctype(ctx.out_dtype)})a);",
                (x,),
            )
        return f"(-{arg(ctx, 0, x)})"


@dataclass(frozen=True)
class Identity(ScalarOp):
    """x (a copy)."""

    nin = 1
    reference = staticmethod(np.copy)

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0]]

    def c_expr(self, ctx, x):
        return x


@dataclass(frozen=True)
class Cast(ScalarOp):
    """x converted to ``dtype`` (NumPy's astype: floats truncate toward zero)."""

    dtype: str
    nin = 1

    def out_dtype(self, *dtypes):
        return self.dtype

    def impl(self, x, out_dtype):
        with np.errstate(all="ignore"):
            return x.astype(out_dtype)

    def pullback(self, inputs, outputs, cotangents):
        (x,) = inputs
        if is_discrete(x.dtype) or is_discrete(self.dtype):
            return [None]
        return [_t().cast(cotangents[0], x.dtype)]

    def c_expr(self, ctx, x):
        if self.dtype == "bool":
            return f"({x} != 0)"
        return f"static_cast<{ctx.ctype()}>({x})"

    def __str__(self):
        return f"Cast{{{self.dtype}}}"


@dataclass(frozen=True)
class Switch(ScalarOp):
    """cond ? x : y (NumPy's where)."""

    nin = 3
    reference = staticmethod(np.where)

    def out_dtype(self, cond, x, y):
        return np.result_type(np.dtype(x), np.dtype(y)).name

    def impl(self, cond, x, y, out_dtype):
        return np.where(cond, x, y).astype(out_dtype, copy=False)

    def pullback(self, inputs, outputs, cotangents):
        st = _t()
        cond, x, y = inputs
        g = cotangents[0]
        zero = st.zeros_like(g)
        return [None, st.switch(cond, g, zero), st.switch(cond, zero, g)]

    def c_expr(self, ctx, c, x, y):
        return f"({c} ? {arg(ctx, 1, x)} : {arg(ctx, 2, y)})"


@dataclass(frozen=True)
class _Compare(ScalarOp):
    abstract = True
    nin = 2
    differentiable = False
    symbol: ClassVar[str] = ""

    def out_dtype(self, *dtypes):
        return "bool"

    def c_expr(self, ctx, x, y):
        # Compare in NumPy's common type (uint32 vs int32 compares as int64, not unsigned).
        common = np.result_type(*(np.dtype(d) for d in ctx.in_dtypes)).name
        return f"({arg(ctx, 0, x, common)} {self.symbol} {arg(ctx, 1, y, common)})"


@dataclass(frozen=True)
class LT(_Compare):
    """x < y."""

    reference = staticmethod(np.less)
    symbol = "<"


@dataclass(frozen=True)
class LE(_Compare):
    """x <= y."""

    reference = staticmethod(np.less_equal)
    symbol = "<="


@dataclass(frozen=True)
class GT(_Compare):
    """x > y."""

    reference = staticmethod(np.greater)
    symbol = ">"


@dataclass(frozen=True)
class GE(_Compare):
    """x >= y."""

    reference = staticmethod(np.greater_equal)
    symbol = ">="


@dataclass(frozen=True)
class EQ(_Compare):
    """x == y."""

    reference = staticmethod(np.equal)
    symbol = "=="


@dataclass(frozen=True)
class NEQ(_Compare):
    """x != y."""

    reference = staticmethod(np.not_equal)
    symbol = "!="


def _wrapping(ctx: EmitContext, op: str, x: str, y: str) -> str:
    """x op y in the output type; integer overflow wraps as NumPy's does (computed in the
    unsigned type, since signed overflow is undefined in C++)."""
    if kind(ctx.out_dtype) in "iu":
        u = unsigned_ctype(ctx.out_dtype)
        return lam(ctx, f"return (T)(({u})a {op} ({u})b);", (x, y))
    return f"({arg(ctx, 0, x)} {op} {arg(ctx, 1, y)})"


add, sub, mul, true_div, neg, identity = Add(), Sub(), Mul(), TrueDiv(), Neg(), Identity()
switch = Switch()
lt, le, gt, ge, eq, neq = LT(), LE(), GT(), GE(), EQ(), NEQ()

__all__ = [
    "EQ",
    "GE",
    "GT",
    "LE",
    "LT",
    "NEQ",
    "Add",
    "Cast",
    "Identity",
    "Mul",
    "Neg",
    "Sub",
    "Switch",
    "TrueDiv",
    "add",
    "eq",
    "ge",
    "gt",
    "identity",
    "le",
    "lt",
    "mul",
    "neg",
    "neq",
    "sub",
    "switch",
    "true_div",
]
