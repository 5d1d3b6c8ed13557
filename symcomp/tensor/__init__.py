"""Tensors: TensorType, constructors and all tensor ops, with NumPy semantics."""

from symcomp.tensor.type import TensorType  # noqa: I001  (defines the variable classes)
from symcomp.tensor.variable import TensorConstant, TensorVariable
from symcomp.tensor.basic import *
from symcomp.tensor.basic import TYPED_CONSTRUCTORS, as_tensor_variable, constant, tensor
from symcomp.tensor.arith import *
from symcomp.tensor.elemwise import Elemwise, SumToShape
from symcomp.tensor.dimshuffle import (
    DimShuffle,
    dimshuffle,
    expand_dims,
    matrix_transpose,
    permute_dims,
    squeeze,
    transpose,
)
from symcomp.tensor.shapeof import Shape, ShapeI, shape, shape_i, shape_tuple
from symcomp.tensor.alloc import (
    Alloc,
    alloc,
    broadcast_to,
    fill,
    full,
    full_like,
    ones,
    ones_like,
    zeros,
    zeros_like,
)
from symcomp.tensor.math import *
from symcomp.tensor.reduction import *
from symcomp.tensor.shape import *
from symcomp.tensor.subtensor import *
from symcomp.tensor.linalg import *
from symcomp.tensor import nnet  # noqa: F401

globals().update(TYPED_CONSTRUCTORS)
# `from symcomp.tensor.shape import *` binds the submodule name `shape`; keep the function.
from symcomp.tensor.shapeof import shape  # noqa: F811
