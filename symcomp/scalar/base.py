"""ScalarOp: an elementwise function of scalars, with its NumPy, gradient and C++ rules.

Scalar ops are wrapped by ``symcomp.tensor.elemwise.Elemwise`` to act on tensors. A fused
elementwise kernel is a graph of scalar ops, so ``c_expr`` is the same expression inside a
CPU loop nest or a CUDA grid-stride loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np

SCALAR_OP_REGISTRY: list[type] = []


@dataclass(frozen=True)
class EmitContext:
    """What an expression emitter knows: input/output dtypes and the target dialect."""

    in_dtypes: tuple
    out_dtype: str
    dialect: str = "cpp"

    def math(self, name: str, dtype: str | None = None) -> str:
        """A math function name: ``std::exp`` in C++, ``expf``/``exp`` in CUDA."""
        if self.dialect == "cuda":
            return name + "f" if (dtype or self.out_dtype) == "float32" else name
        return "std::" + name

    def ctype(self, dtype: str | None = None) -> str:
        return C_TYPES[dtype or self.out_dtype]


C_TYPES = {
    "bool": "bool",
    "int8": "std::int8_t",
    "int16": "std::int16_t",
    "int32": "std::int32_t",
    "int64": "std::int64_t",
    "uint8": "std::uint8_t",
    "uint16": "std::uint16_t",
    "uint32": "std::uint32_t",
    "uint64": "std::uint64_t",
    "float32": "float",
    "float64": "double",
}


@dataclass(frozen=True)
class ScalarOp:
    """Base class of scalar ops.

    A subclass sets ``nin`` and ``reference`` (a NumPy function, usually a ufunc: the
    Python implementation and the test oracle), and provides:

    - ``out_dtype(*dtypes)``: the output dtype (default: whatever NumPy's reference
      returns for those dtypes, never float16 from integers);
    - ``pullback(inputs, outputs, cotangents)``: tensor expressions for the input
      gradients (inputs/outputs are the Elemwise node's tensor variables);
    - ``c_expr(ctx, *args)``: one C++ expression computing the output from argument
      expressions, with NumPy's semantics.

    ``differentiable = False`` marks ops with no gradient (comparisons, rounding, ...).
    """

    nin: ClassVar[int] = 1
    reference: ClassVar[Callable] = None
    differentiable: ClassVar[bool] = True
    abstract: ClassVar[bool] = True
    # Output dtype is a float even for integer inputs (exp, sin, true_div, ...).
    float_output: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("abstract", False):
            SCALAR_OP_REGISTRY.append(cls)

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def __str__(self) -> str:
        return type(self).__name__

    def out_dtype(self, *dtypes: str) -> str:
        return _probe_dtype(self, dtypes)

    def impl(self, *inputs: np.ndarray, out_dtype: str) -> np.ndarray:
        """Compute with NumPy; float-output ops compute in the output dtype."""
        if self.float_output and np.dtype(out_dtype).kind == "f":
            inputs = [
                i.astype(out_dtype, copy=False) if i.dtype.kind in "biu" else i for i in inputs
            ]
        with np.errstate(all="ignore"):
            result = type(self).reference(*inputs)
        return np.asarray(result, dtype=out_dtype)

    def pullback(self, inputs, outputs, cotangents):
        if not self.differentiable:
            return [None] * len(inputs)
        raise NotImplementedError(f"{self} has no gradient")

    def c_expr(self, ctx: EmitContext, *args: str) -> str:
        raise NotImplementedError(f"{self} has no C++ expression")


def tensor_module():
    """``symcomp.tensor``, imported lazily: scalar ops build their gradients from tensor
    functions, and symcomp.tensor imports the scalar ops."""
    import symcomp.tensor as st

    return st


@lru_cache(maxsize=8192)
def _probe_dtype(op: ScalarOp, dtypes: tuple) -> str:
    """NumPy's output dtype of ``op.reference`` for inputs of ``dtypes``."""
    probes = [np.ones(1, dtype=d) for d in dtypes]
    try:
        with np.errstate(all="ignore"):
            out = type(op).reference(*probes)
    except TypeError as err:
        raise TypeError(f"{op} does not accept dtypes {', '.join(dtypes)}: {err}") from None
    name = np.asarray(out).dtype.name
    if name == "float16" and "float16" not in dtypes:
        name = "float32"
    return name
