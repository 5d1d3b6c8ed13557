"""Scalar ops: each carries its NumPy function, its gradient and its C++ expression."""

from symcomp.scalar.arith import *
from symcomp.scalar.arith import __all__ as _arith_all
from symcomp.scalar.base import SCALAR_OP_REGISTRY, EmitContext, ScalarOp
from symcomp.scalar.math import *
from symcomp.scalar.math import __all__ as _math_all
from symcomp.scalar.transcendental import *
from symcomp.scalar.transcendental import __all__ as _transcendental_all

__all__ = [
    "SCALAR_OP_REGISTRY",
    "EmitContext",
    "ScalarOp",
    *_arith_all,
    *_math_all,
    *_transcendental_all,
]
