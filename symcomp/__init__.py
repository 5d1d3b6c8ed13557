"""symcomp: write tensor math symbolically, take exact gradients, run it fast.

The public API is what this module exports; everything else may change.
"""

import os as _os

__version__ = "0.1.0"

# OpenMP worker threads that spin after a parallel region take the cores OpenBLAS's own
# threads need, and a model step mixing both ran up to 3x slower on 2 cores: spin briefly,
# then sleep (docs/native.md, "Threads"). Read by libgomp when it loads, that is when the
# first compiled module is imported; a value the user set wins.
_os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from symcomp import (
    gradient,
    printing,
    random,
    tensor,
)
from symcomp.compile import Function, In, Out, function, shared
from symcomp.config import change_flags, config
from symcomp.control import ifelse, scan
from symcomp.gradient import (
    Lop,
    Rop,
    disconnected_grad,
    grad,
    hessian,
    jacobian,
    stop_gradient,
    verify_grad,
    zero_grad,
)
from symcomp.graph import FunctionGraph, Variable

__all__ = [
    "Function",
    "FunctionGraph",
    "In",
    "Lop",
    "Out",
    "Rop",
    "Variable",
    "change_flags",
    "config",
    "disconnected_grad",
    "function",
    "grad",
    "gradient",
    "hessian",
    "ifelse",
    "jacobian",
    "printing",
    "scan",
    "shared",
    "stop_gradient",
    "tensor",
    "verify_grad",
    "zero_grad",
]
