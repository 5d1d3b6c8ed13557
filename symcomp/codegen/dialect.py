"""Dialect: what differs between generated C++ (CPU) and CUDA code, as data.

Emitters never branch on the backend; they ask the dialect (STYLE.md, "Codegen").
"""

from __future__ import annotations

from dataclasses import dataclass

from symcomp.scalar.base import C_TYPES, EmitContext


@dataclass(frozen=True)
class Dialect:
    """``name`` is what scalar ops' EmitContext sees ("cpp" or "cuda")."""

    name: str
    kernel_qualifier: str
    index_type: str
    device_function: str
    # The pointer qualifier promising no aliasing (spelled differently by g++ and nvcc).
    restrict: str = "__restrict"

    def math(self, name: str, dtype: str) -> str:
        """The math function ``name`` for ``dtype`` (``std::exp`` / ``expf``)."""
        return EmitContext((dtype,), dtype, self.name).math(name, dtype)

    def ctype(self, dtype: str) -> str:
        """The C type of a NumPy dtype name."""
        return C_TYPES[dtype]

    def scalar_context(self, in_dtypes, out_dtype: str) -> EmitContext:
        """The EmitContext scalar ops' ``c_expr`` receive."""
        return EmitContext(tuple(in_dtypes), out_dtype, self.name)


CPP = Dialect(name="cpp", kernel_qualifier="static", index_type="npy_intp", device_function="")
CUDA = Dialect(
    name="cuda",
    kernel_qualifier='extern "C" __global__',
    index_type="long long",
    device_function="__device__",
    restrict="__restrict__",
)
