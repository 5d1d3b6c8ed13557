"""function(): from a graph to a callable; shared variables, In/Out, the py runner."""

from symcomp.compile.function import Function, FunctionMaker, UnusedInputError, function
from symcomp.compile.io import In, Out
from symcomp.compile.sharedvalue import SharedVariable, TensorSharedVariable, shared

__all__ = [
    "Function",
    "FunctionMaker",
    "In",
    "Out",
    "SharedVariable",
    "TensorSharedVariable",
    "UnusedInputError",
    "function",
    "shared",
]
