"""Array constructors from scalar arguments: Eye (numpy.eye) and ARange (numpy.arange)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.graph.variable import Constant
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import weak_kind
from symcomp.tensor.errors import where
from symcomp.tensor.shapeof import as_shape_scalars, static_value
from symcomp.tensor.type import TensorType, normalize_dtype


@dataclass(frozen=True)
class Eye(Op):
    """An n x m matrix of ``dtype`` with ones on diagonal k, as numpy.eye.
    Inputs: n, m, k (int scalars)."""

    view_map: ClassVar[dict] = {}  # always a new array (memory planning may reuse it)

    dtype: str = "float64"
    differentiable = False

    def make_node(self, n, m, k):
        n, m, k = as_shape_scalars([n, m, k])
        shape = (static_value(n), static_value(m))
        if any(s is not None and s < 0 for s in shape):
            raise ValueError(f"Eye: negative dimensions {shape}{where(user_source())}")
        return Apply.make(self, [n, m, k], [TensorType(self.dtype, shape)])

    def perform(self, node, inputs):
        n, m, k = (int(v) for v in inputs)
        if n < 0 or m < 0:
            raise ValueError(f"Eye: negative dimensions ({n}, {m})")
        return [np.eye(n, m, k, dtype=self.dtype)]

    def infer_shape(self, node, input_shapes):
        return [(node.inputs[0], node.inputs[1])]


def eye(n, m=None, k=0, dtype=None):
    """An n x m (m defaults to n) matrix with ones on diagonal k; ``dtype`` defaults to
    config.floatX."""
    dtype = normalize_dtype("floatX" if dtype is None else dtype)
    return Eye(dtype)(n, n if m is None else m, k)


def identity_like(x, dtype=None):
    """A matrix with x's shape (and dtype, unless given) and ones on the diagonal."""
    from symcomp.tensor.shapeof import shape_i

    x = as_tensor_variable(x)
    return eye(shape_i(x, 0), shape_i(x, 1), 0, dtype or x.dtype)


@dataclass(frozen=True)
class ARange(Op):
    """Evenly spaced values start, start + step, ... below stop, as numpy.arange: the
    length is max(ceil((stop - start) / step), 0). Inputs: start, stop, step (scalars)."""

    view_map: ClassVar[dict] = {}  # always a new array (memory planning may reuse it)

    dtype: str = "int64"
    differentiable = False

    def make_node(self, start, stop, step):
        args = [as_tensor_variable(a) for a in (start, stop, step)]
        for a in args:
            if a.ndim != 0 or a.dtype.startswith("complex"):
                raise TypeError(
                    f"ARange: start, stop and step must be real scalars, got "
                    f"{a.type}{where(user_source())}"
                )
        length = None
        if all(isinstance(a, Constant) for a in args):
            values = [np.asarray(a.data).item() for a in args]
            if values[2] == 0:
                raise ValueError(f"ARange: step must not be zero{where(user_source())}")
            length = len(np.arange(*values, dtype=self.dtype))
        return Apply.make(self, args, [TensorType(self.dtype, (length,))])

    def perform(self, node, inputs):
        start, stop, step = (np.asarray(v).item() for v in inputs)
        if step == 0:
            raise ValueError("ARange: step must not be zero")
        return [np.arange(start, stop, step, dtype=self.dtype)]

    def infer_shape(self, node, input_shapes):
        from symcomp.tensor.arith import cast, lt, switch

        static = node.outputs[0].type.shape[0]
        if static is not None:
            return [(static,)]
        start, stop, step = node.inputs
        # ceil(a / b) == -((-a) // b), also for floats and negative steps.
        n = cast(-((start - stop) // step), "int64")
        return [(switch(lt(n, 0), 0, n),)]


def _arange_dtype(args) -> str:
    """NumPy's arange dtype for arguments of these kinds (it looks at the kind only: any
    integers give int64, any floats float64), with float64 read as config.floatX."""
    probes = []
    for k, a in enumerate(args):
        kind = weak_kind(a)
        dtype = "int64" if kind == "bool" else kind and {"int": "int64", "float": "float64"}[kind]
        dtype = dtype or as_tensor_variable(a).dtype
        probes.append(np.array(k, dtype=dtype))
    name = np.arange(*probes).dtype.name
    return normalize_dtype("floatX") if name == "float64" else name


def arange(start, stop=None, step=1, dtype=None):
    """numpy.arange: ``arange(stop)`` or ``arange(start, stop, step)``. With no ``dtype``,
    NumPy's rule: integer arguments give int64 and float arguments config.floatX."""
    if stop is None:
        start, stop = 0, start
    args = (start, stop, step)
    if dtype is None:
        dtype = _arange_dtype(args)
    return ARange(normalize_dtype(dtype))(start, stop, step)
