"""Shape-changing ops: MakeVector, Reshape (and flatten), Repeat, Tile. Concatenate, Split
and stack live in join.py; Eye and ARange in construct.py (all exported here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.graph.variable import Constant
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import is_discrete, result_dtype
from symcomp.tensor.errors import shape_str, where
from symcomp.tensor.shapeof import Shape, shape, shape_tuple, static_value
from symcomp.tensor.type import TensorType, normalize_dtype

# "shape" is re-exported so that ``from symcomp.tensor.shape import *`` in the package rebinds
# ``symcomp.tensor.shape`` to the function after importing this module binds it to the module.
__all__ = [
    "ARange",
    "Concatenate",
    "Eye",
    "MakeVector",
    "Repeat",
    "RepeatSum",
    "Reshape",
    "Split",
    "Tile",
    "arange",
    "concatenate",
    "eye",
    "flatten",
    "identity_like",
    "join",
    "make_vector",
    "repeat",
    "reshape",
    "shape",
    "split",
    "stack",
    "tile",
]


@dataclass(frozen=True)
class MakeVector(Op):
    """Stack scalars into a vector of ``dtype`` (inputs are cast to it)."""

    view_map: ClassVar[dict] = {}  # always a new array (memory planning may reuse it)

    dtype: str = "int64"

    def make_node(self, *scalars):
        from symcomp.tensor.arith import cast

        scalars = [as_tensor_variable(s) for s in scalars]
        bad = [s for s in scalars if s.ndim != 0]
        if bad:
            raise TypeError(
                f"MakeVector: inputs must be scalars, got {bad[0].type}{where(user_source())}"
            )
        scalars = [cast(s, self.dtype) for s in scalars]
        return Apply.make(self, scalars, [TensorType(self.dtype, (len(scalars),))])

    def perform(self, node, inputs):
        return [np.array([np.asarray(s).item() for s in inputs], dtype=self.dtype)]

    def infer_shape(self, node, input_shapes):
        return [(len(node.inputs),)]

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.dimshuffle import dimshuffle
        from symcomp.tensor.join import split

        g = cotangents[0]
        if g is None or is_discrete(self.dtype):
            return [None] * len(inputs)
        parts = split(g, [1] * len(inputs), len(inputs), 0)
        return [None if is_discrete(x.dtype) else dimshuffle(p, ()) for p, x in zip(parts, inputs)]


def make_vector(*scalars, dtype=None):
    """A vector of the given scalars (their common dtype unless ``dtype`` is given)."""
    scalars = [as_tensor_variable(s) for s in scalars]
    if dtype is None:
        strong = tuple(s.dtype for s in scalars if not getattr(s, "weak", False))
        weak = tuple(
            {"b": "bool", "i": "int", "u": "int", "f": "float", "c": "complex"}[
                np.asarray(s.data).dtype.kind
            ]
            for s in scalars
            if getattr(s, "weak", False)
        )
        dtype = result_dtype(strong, weak) if scalars else "int64"
    return MakeVector(normalize_dtype(dtype))(*scalars)


def as_int_vector(shape):
    """A shape/sizes argument (an int, a sequence of ints and int scalars, or an int vector)
    as an int64 vector variable."""
    from symcomp.tensor.arith import cast

    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if isinstance(shape, (tuple, list)):
        if all(isinstance(s, (int, np.integer)) for s in shape):
            from symcomp.tensor.basic import constant

            return constant(np.array(shape, dtype=np.int64).reshape(len(shape)))
        return make_vector(*shape, dtype="int64")
    v = as_tensor_variable(shape)
    if v.ndim == 0:
        return make_vector(v, dtype="int64")
    if v.ndim != 1 or not is_discrete(v.dtype) or v.dtype == "bool":
        raise TypeError(
            f"expected an int vector (a shape or sizes), got {v} of type {v.type}"
            f"{where(user_source())}"
        )
    return cast(v, "int64")


def vector_entries(v, n: int | None = None) -> list | None:
    """The entries of an int vector variable as ints or int64 scalars (None when its
    length is unknown)."""
    if isinstance(v, Constant):
        return [int(e) for e in np.asarray(v.data).reshape(-1)]
    owner = v.owner
    if owner is not None and isinstance(owner.op, MakeVector):
        return [static_value(e) if static_value(e) is not None else e for e in owner.inputs]
    if owner is not None and isinstance(owner.op, Shape):
        return list(shape_tuple(owner.inputs[0]))
    length = v.type.shape[0] if n is None else n
    if length is None:
        return None
    return [v[i] for i in range(length)]


def static_entries(v, n: int) -> list:
    """The statically known entries of an int vector of length ``n`` (None where unknown)."""
    if isinstance(v, Constant):
        return [int(e) for e in np.asarray(v.data).reshape(-1)]
    owner = v.owner
    if owner is not None and isinstance(owner.op, MakeVector):
        return [static_value(e) for e in owner.inputs]
    if owner is not None and isinstance(owner.op, Shape):
        return list(owner.inputs[0].type.shape)
    return [None] * n


def _prod(entries):
    """The product of shape entries (ints and int64 scalars), folding the ints."""
    const, syms = 1, []
    for e in entries:
        if isinstance(e, (int, np.integer)):
            const *= int(e)
        else:
            syms.append(e)
    out = const
    for i, e in enumerate(syms):
        out = e if i == 0 and const == 1 else out * e
    return out


@dataclass(frozen=True)
class Reshape(Op):
    """x with a new shape given by an int64 vector of length ``ndim``; one entry may be -1
    (inferred from the size), as numpy.reshape. The result may be a view."""

    ndim: int

    def make_node(self, x, shape):
        x = as_tensor_variable(x)
        shape = as_int_vector(shape)
        if shape.type.shape[0] not in (None, self.ndim):
            raise ValueError(
                f"Reshape: a shape of type {shape.type} for {self.ndim} dims{where(user_source())}"
            )
        static = static_entries(shape, self.ndim)
        if sum(1 for n in static if n == -1) > 1 or any(n is not None and n < -1 for n in static):
            raise ValueError(
                f"Reshape: invalid shape {tuple(static)} (one -1 at most, no "
                f"other negative entries){where(user_source())}"
            )
        size = None if None in x.type.shape else int(np.prod(x.type.shape, dtype=np.int64))
        known = [n for n in static if n is not None and n != -1]
        if -1 in static and None not in static:
            rest = int(np.prod(known, dtype=np.int64))
            if rest == 0 or (size is not None and size % rest):
                raise ValueError(
                    f"Reshape: cannot reshape {x.type} into shape "
                    f"{tuple(static)}{where(user_source())}"
                )
            if size is not None:
                static = [size // rest if n == -1 else n for n in static]
        elif None not in static and size is not None and size != np.prod(static):
            raise ValueError(
                f"Reshape: cannot reshape {x.type} (size {size}) into shape "
                f"{shape_str(static)}{where(user_source())}"
            )
        out_shape = [None if n == -1 else n for n in static]
        return Apply.make(self, [x, shape], [TensorType(x.dtype, out_shape)])

    def perform(self, node, inputs):
        x, shape = inputs
        try:
            return [np.reshape(x, tuple(int(n) for n in shape))]
        except ValueError as err:
            raise ValueError(f"Reshape: {err}") from None

    def infer_shape(self, node, input_shapes):
        from symcomp.tensor.arith import eq, switch

        static = node.outputs[0].type.shape
        entries = vector_entries(node.inputs[1], self.ndim)
        size = _prod(input_shapes[0])
        out = []
        for d, e in enumerate(entries):
            if static[d] is not None:
                out.append(static[d])
            elif isinstance(e, int) and e == -1:
                out.append(size // _prod(entries[:d] + entries[d + 1 :]))
            elif isinstance(e, int):
                out.append(e)
            else:
                # A symbolic entry might be -1; the product of all entries is then
                # -(product of the others).
                out.append(switch(eq(e, -1), size // (-_prod(entries)), e))
        return [tuple(out)]

    def pullback(self, inputs, outputs, cotangents):
        x, g = inputs[0], cotangents[0]
        if g is None or is_discrete(x.dtype):
            return [None, None]
        return [reshape(g, shape_tuple(x)), None]


def reshape(x, shape, ndim: int | None = None):
    """x with shape ``shape``: an int, a tuple mixing ints and int scalars (one entry may be
    -1), or an int vector (then its length, or ``ndim``, gives the number of dims)."""
    x = as_tensor_variable(x)
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    static = isinstance(shape, (tuple, list)) and all(
        isinstance(s, (int, np.integer)) for s in shape
    )
    if static and tuple(shape) == x.type.shape:
        return x
    vec = as_int_vector(shape)
    length = vec.type.shape[0]
    if ndim is None:
        if length is None:
            raise ValueError(
                f"reshape: the shape {shape} has no static length; pass ndim{where(user_source())}"
            )
        ndim = length
    elif length is not None and length != ndim:
        raise ValueError(
            f"reshape: ndim={ndim} but the shape has {length} entries{where(user_source())}"
        )
    return Reshape(int(ndim))(x, vec)


def flatten(x, ndim: int = 1):
    """x with its trailing dims merged so that ``ndim`` dims remain (Theano's flatten:
    the first ndim - 1 dims are kept)."""
    x = as_tensor_variable(x)
    if not 1 <= ndim <= max(x.ndim, 1):
        raise ValueError(
            f"flatten: ndim={ndim} must be between 1 and {max(x.ndim, 1)} for "
            f"{x.type}{where(user_source())}"
        )
    shape = shape_tuple(x)
    return reshape(x, shape[: ndim - 1] + (_prod(shape[ndim - 1 :]),), ndim=ndim)


from symcomp.tensor.construct import ARange, Eye, arange, eye, identity_like
from symcomp.tensor.join import Concatenate, Split, concatenate, join, split, stack
from symcomp.tensor.repeat import Repeat, RepeatSum, Tile, repeat, tile
