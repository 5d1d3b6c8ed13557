"""Advanced indexing: integer arrays and boolean masks mixed with ints, slices, None and
Ellipsis (AdvancedSubtensor, a copy), its update form (AdvancedIncSubtensor, np.add.at
semantics for inc), nonzero and take; and the user entry points that parse an index
expression and pick the basic (subtensor.py) or advanced op: ``x[...]`` (getitem),
set_subtensor and inc_subtensor. The index encoding is subtensor.py's ``idx_list``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.graph.variable import Constant, Variable
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.errors import shape_str, where
from symcomp.tensor.subtensor import (
    ADVANCED_KINDS,
    FULL,
    IncSubtensor,
    Subtensor,
    _check_ndim,
    _differentiable,
    _st,
    check_index_inputs,
    check_static_bounds,
    check_update_value,
    consumed_dims,
    index_str,
    is_int_dtype,
    join_entries,
    layout,
    numpy_index,
    runtime_index_error,
    split_entries,
    static_slice_length,
    symbolic_slice_length,
    update_pullback,
    update_pushforward,
    with_dims,
)
from symcomp.tensor.type import TensorType
from symcomp.tensor.variable import tensor_constant

__all__ = [
    "AdvancedIncSubtensor",
    "AdvancedSubtensor",
    "LastWriteMask",
    "Nonzero",
    "flatnonzero",
    "getitem",
    "inc_subtensor",
    "last_write_mask",
    "nonzero",
    "set_subtensor",
    "take",
]


def check_advanced_static(op_name, x, entries):
    """IndexError at build time for constant index arrays outside a static length and for
    masks whose static shape does not match the dims they index."""
    for e, dim in with_dims(entries, x.ndim):
        if e[0] == "array" and isinstance(e[1], Constant) and e[1].data.size:
            n = x.type.shape[dim]
            data = e[1].data
            if n is not None and (data.max() >= n or data.min() < -n):
                raise IndexError(
                    f"{op_name}: an index array holds values out of bounds for "
                    f"axis {dim} of {x} with static shape "
                    f"{shape_str(x.type.shape)}{where(user_source())}"
                )
        elif e[0] == "mask":
            mshape = e[1].type.shape
            for k, m in enumerate(mshape):
                n = x.type.shape[dim + k]
                if m is not None and n is not None and m != n:
                    raise IndexError(
                        f"{op_name}: boolean index of shape {shape_str(mshape)} "
                        f"does not match {x} of static shape "
                        f"{shape_str(x.type.shape)} at axis {dim + k}"
                        f"{where(user_source())}"
                    )


def _static_broadcast(op, shapes) -> tuple:
    """NumPy broadcasting of the index arrays' static shapes (IndexError on mismatch)."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for d in range(ndim):
        lengths = [s[d - ndim + len(s)] for s in shapes if d - ndim + len(s) >= 0]
        known = {n for n in lengths if n is not None and n != 1}
        if len(known) > 1:
            raise IndexError(
                f"{op}: shape mismatch: indexing arrays could not be broadcast "
                f"together (static lengths {sorted(known)}){where(user_source())}"
            )
        if known:
            out.append(known.pop())
        elif lengths and all(n == 1 for n in lengths):
            out.append(1)
        else:
            out.append(None)
    return tuple(out)


def _static_index_shape(entry) -> tuple:
    kind, value = entry[0], entry[1]
    if kind == "int":
        return ()
    if kind == "array":
        return value.type.shape
    count = int(np.count_nonzero(value.data)) if isinstance(value, Constant) else None
    return (count,)


def _advanced_entries(entries):
    return [e for e in entries if e[0] in ("int",) + ADVANCED_KINDS]


@dataclass(frozen=True)
class AdvancedSubtensor(Op):
    """``x[idx]`` where idx holds integer arrays or boolean masks (a copy, NumPy rules for
    where the broadcast index dims go). Inputs: x, then one variable per SYM component,
    array or mask in ``idx_list`` order."""

    idx_list: tuple

    def __str__(self):
        return f"{type(self).__name__}{{{index_str(self.idx_list)}}}"

    def _out_type(self, x, index_inputs) -> TensorType:
        check_index_inputs(self, self.idx_list, index_inputs)
        entries = join_entries(self.idx_list, index_inputs)
        _check_ndim(str(self), x, entries)
        check_static_bounds(str(self), x, entries)
        check_advanced_static(str(self), x, entries)
        adv = _static_broadcast(self, [_static_index_shape(e) for e in _advanced_entries(entries)])
        shape = layout(entries, list(x.type.shape), static_slice_length, adv)
        return TensorType(x.dtype, shape)

    def make_node(self, x, *index_inputs):
        x = as_tensor_variable(x)
        index_inputs = [as_tensor_variable(i) for i in index_inputs]
        if not any(e[0] in ADVANCED_KINDS for e in self.idx_list):
            raise TypeError(f"{self}: no array or mask entry; use Subtensor")
        return Apply.make(self, [x, *index_inputs], [self._out_type(x, index_inputs)])

    def perform(self, node, inputs):
        x = inputs[0]
        idx = numpy_index(self.idx_list, inputs[1:])
        try:
            out = x[idx]
        except IndexError as err:
            raise runtime_index_error(self, node, idx, x.shape, err) from None
        return [np.asarray(out)]

    def infer_shape(self, node, input_shapes):
        return [_infer_advanced_shape(node, self.idx_list, input_shapes[0], node.inputs[1:])]

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.alloc import zeros_like

        x, g = inputs[0], cotangents[0]
        nones = [None] * (len(inputs) - 1)
        if g is None or not _differentiable(x.dtype):
            return [None] + nones
        return [AdvancedIncSubtensor(self.idx_list)(zeros_like(x), g, *inputs[1:])] + nones

    def pushforward(self, inputs, outputs, tangents):
        return [None if tangents[0] is None else self(tangents[0], *inputs[1:])]


def _infer_advanced_shape(node, idx_list, x_shape, index_inputs):
    from symcomp.tensor.arith import cast
    from symcomp.tensor.shapeof import broadcast_shape_symbolic, shape_i, shape_tuple

    st = _st()
    entries = join_entries(idx_list, index_inputs)
    adv_entries = _advanced_entries(entries)
    static = _static_broadcast("AdvancedSubtensor", [_static_index_shape(e) for e in adv_entries])
    shapes = []
    for e in adv_entries:
        if e[0] == "int":
            shapes.append(())
        elif e[0] == "array":
            shapes.append(shape_tuple(e[1]))
        elif hasattr(st, "sum"):
            shapes.append((cast(st.sum(cast(e[1], "int64")), "int64"),))
        else:
            shapes.append(None)
    if any(s is None for s in shapes):
        adv = [None] * len(static)  # filled from the output below
    else:
        adv = list(broadcast_shape_symbolic(shapes, static))
    out = layout(entries, list(x_shape), symbolic_slice_length, adv)
    out_var = node.outputs[0]
    return tuple(shape_i(out_var, d) if s is None else s for d, s in enumerate(out))


@dataclass(frozen=True)
class LastWriteMask(AdvancedSubtensor):
    """True where an element of ``x[idx] = y`` is the value that lands (the last write to
    its target, as NumPy's assignment with repeated indices); the gradient of a set with
    repeated indices flows only to those elements."""

    differentiable = False

    def _out_type(self, x, index_inputs) -> TensorType:
        return super()._out_type(x, index_inputs).clone(dtype="bool")

    def perform(self, node, inputs):
        x = inputs[0]
        idx = numpy_index(self.idx_list, inputs[1:])
        try:
            target = np.full(x.shape, -1, dtype=np.int64)
            shape = target[idx].shape
            ids = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
            target[idx] = ids
            return [target[idx] == ids]
        except IndexError as err:
            raise runtime_index_error(self, node, idx, x.shape, err) from None

    def pullback(self, inputs, outputs, cotangents):
        return [None] * len(inputs)

    def pushforward(self, inputs, outputs, tangents):
        return [None]


def last_write_mask(indexed):
    """For ``indexed = x[idx]`` (advanced): which elements an assignment ``x[idx] = y`` keeps."""
    owner = indexed.owner
    if owner is None or type(owner.op) is not AdvancedSubtensor:
        raise TypeError(f"last_write_mask needs an advanced indexing expression, got {indexed}")
    return LastWriteMask(owner.op.idx_list)(*owner.inputs)


@dataclass(frozen=True)
class AdvancedIncSubtensor(Op):
    """A copy of x with ``x[idx] += y`` (``np.add.at``: repeated indices accumulate) or, with
    ``set_instead_of_inc``, ``x[idx] = y`` (repeated indices: the last value wins). y is
    broadcast to the indexed shape. Inputs: x, y, then the index inputs."""

    idx_list: tuple
    set_instead_of_inc: bool = False

    def __str__(self):
        name = "AdvancedSetSubtensor" if self.set_instead_of_inc else "AdvancedIncSubtensor"
        return f"{name}{{{index_str(self.idx_list)}}}"

    def make_node(self, x, y, *index_inputs):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        index_inputs = [as_tensor_variable(i) for i in index_inputs]
        indexed = AdvancedSubtensor(self.idx_list).make_node(x, *index_inputs).outputs[0]
        check_update_value(self, x, y, indexed)
        return Apply.make(self, [x, y, *index_inputs], [x.type])

    def perform(self, node, inputs):
        x, y = inputs[0], inputs[1]
        idx = numpy_index(self.idx_list, inputs[2:])
        out = x.copy()
        try:
            if self.set_instead_of_inc:
                out[idx] = y
            else:
                np.add.at(out, idx, y)
        except IndexError as err:
            raise runtime_index_error(self, node, idx, x.shape, err) from None
        return [out]

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0])]

    def winners(self, x, index_inputs):
        """The LastWriteMask of a set that may repeat indices (None when it cannot)."""
        if not self.set_instead_of_inc or not any(e[0] == "array" for e in self.idx_list):
            return None
        return LastWriteMask(self.idx_list)(x, *index_inputs)

    def pullback(self, inputs, outputs, cotangents):
        x, y, rest = inputs[0], inputs[1], inputs[2:]
        return update_pullback(self, AdvancedSubtensor(self.idx_list), x, y, rest, cotangents[0])

    def pushforward(self, inputs, outputs, tangents):
        return update_pushforward(self, inputs, tangents)


def advanced_subtensor_entries(x, entries):
    """x indexed by parsed entries holding at least one array or mask."""
    _check_ndim("AdvancedSubtensor", x, entries)
    entries = list(entries)
    while entries and (entries[-1] == FULL or entries[-1][0] == "ellipsis"):
        entries.pop()
    idx_list, inputs = split_entries(entries)
    return AdvancedSubtensor(idx_list)(x, *inputs)


@dataclass(frozen=True)
class Nonzero(Op):
    """The indices of the non-zero elements of x: one int64 vector per dim (numpy.nonzero)."""

    differentiable = False

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise ValueError(
                f"nonzero of a 0-d tensor {x} is not allowed (as in NumPy 2); "
                f"use atleast_1d{where(user_source())}"
            )
        length = 0 if 0 in x.type.shape else None
        return Apply.make(self, [x], [TensorType("int64", (length,))] * x.ndim)

    def perform(self, node, inputs):
        return [i.astype(np.int64, copy=False) for i in np.nonzero(inputs[0])]

    def infer_shape(self, node, input_shapes):
        from symcomp.tensor.arith import cast
        from symcomp.tensor.shapeof import shape_i

        st = _st()
        if hasattr(st, "sum"):
            count = cast(st.sum(cast(cast(node.inputs[0], "bool"), "int64")), "int64")
        else:
            count = shape_i(node.outputs[0], 0)
        return [(count,)] * len(node.outputs)


_nonzero = Nonzero()


def nonzero(x, return_matrix: bool = False):
    """The indices of x's non-zero elements: a tuple of int64 vectors, one per dim."""
    out = _nonzero(x)
    out = (out,) if not isinstance(out, list) else tuple(out)
    if return_matrix:
        return _st().stack(list(out))
    return out


def flatnonzero(x):
    """The indices of the non-zero elements of x flattened (numpy.flatnonzero)."""
    x = as_tensor_variable(x)
    flat = x if x.ndim == 1 else _st().flatten(x, 1)
    return nonzero(flat)[0]


def take(x, indices, axis=None, mode: str = "raise"):
    """Elements of x at ``indices`` along ``axis`` (numpy.take; None: of x flattened)."""
    if mode != "raise":
        raise NotImplementedError(f"take: mode={mode!r}; only 'raise' is supported")
    x = as_tensor_variable(x)
    if axis is None:
        x = x if x.ndim == 1 else _st().flatten(x, 1)
        axis = 0
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(
            f"take: axis {axis} is out of range for {x} with {x.ndim} dims{where(user_source())}"
        )
    axis %= x.ndim
    return getitem(x, (slice(None),) * axis + (indices,))


# -- index expressions and user functions -----------------------------------------------------------------------


def scalar_component(value, what: str):
    """A slice bound or int index: a Python int, None, or an int scalar variable."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise IndexError(f"{what} must be an integer, got the bool {value}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, Variable):
        var = as_tensor_variable(value)
        if var.ndim != 0 or not is_int_dtype(var.dtype):
            raise IndexError(
                f"{what} must be an integer scalar, got {var} of type {var.type}"
                f"{where(user_source())}"
            )
        if isinstance(var, Constant):
            return int(var.data)
        return var
    raise IndexError(
        f"{what} must be an integer, None or an int scalar variable, got "
        f"{type(value).__name__} {value!r}{where(user_source())}"
    )


def parse_index(index) -> list:
    """Python index expression -> raw entries holding values (ints, None or variables)."""
    items = index if isinstance(index, tuple) else (index,)
    entries = []
    for item in items:
        if item is None:
            entries.append(("newaxis",))
        elif item is Ellipsis:
            entries.append(("ellipsis",))
        elif isinstance(item, slice):
            parts = [
                scalar_component(p, f"slice {name}")
                for p, name in zip((item.start, item.stop, item.step), ("start", "stop", "step"))
            ]
            if parts[2] == 0:
                raise ValueError(f"slice step cannot be zero{where(user_source())}")
            entries.append(("slice", *parts))
        elif isinstance(item, (bool, np.bool_)):
            entries.append(("mask", tensor_constant(np.array(bool(item)))))
        elif isinstance(item, (int, np.integer)):
            entries.append(("int", int(item)))
        elif isinstance(item, (Variable, list, np.ndarray)):
            entries.extend(array_entry(item))
        else:
            raise IndexError(
                f"only integers, slices, None, Ellipsis and integer or boolean "
                f"arrays are valid indices, got {type(item).__name__} {item!r}"
                f"{where(user_source())}"
            )
    if sum(e[0] == "ellipsis" for e in entries) > 1:
        raise IndexError(f"an index can only have a single ellipsis{where(user_source())}")
    return entries


def array_entry(value) -> list:
    """An int-array or bool-mask index item as ("array"/"mask", tensor)."""
    if isinstance(value, Variable) or _holds_variable(value):
        var = as_tensor_variable(value)  # a sequence holding variables is stacked
    else:
        arr = np.asarray(value)
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)  # NumPy treats [] as an empty int index
        var = tensor_constant(arr)
    if var.dtype == "bool":
        if isinstance(var, Constant) and var.ndim > 0:
            # A constant mask is its nonzero() int arrays: static lengths, same semantics.
            return [("array", tensor_constant(i)) for i in np.nonzero(var.data)]
        return [("mask", var)]
    if not is_int_dtype(var.dtype):
        raise IndexError(
            f"arrays used as indices must be of integer or boolean type, got {var} "
            f"of type {var.type}{where(user_source())}"
        )
    if var.ndim == 0:
        return [("int", scalar_component(var, "index"))]
    return [("array", var)]


def _holds_variable(seq) -> bool:
    if isinstance(seq, (list, tuple)):
        return any(_holds_variable(e) for e in seq)
    return isinstance(seq, Variable)


def getitem(x, index):
    """``x[index]`` with NumPy semantics: ints, slices (Python or symbolic bounds), Ellipsis,
    None, integer arrays (lists, ndarrays, int tensors) and boolean masks."""
    x = as_tensor_variable(x)
    entries = parse_index(index)
    if any(e[0] in ADVANCED_KINDS for e in entries):
        return advanced_subtensor_entries(x, entries)
    _check_ndim("Subtensor", x, entries)
    used = sum(consumed_dims(e) for e in entries)
    expanded = []
    for e in entries:
        if e[0] == "ellipsis":
            expanded.extend([FULL] * (x.ndim - used))
        else:
            expanded.append(e)
    while expanded and expanded[-1] == FULL:
        expanded.pop()
    idx_list, inputs = split_entries(expanded)
    return Subtensor(idx_list)(x, *inputs)


def _indexed_parts(sub, name):
    owner = getattr(sub, "owner", None)
    if owner is None or type(owner.op) not in (Subtensor, AdvancedSubtensor):
        raise TypeError(
            f"{name}: the first argument must be an indexing expression x[...] "
            f"(got {sub}){where(user_source())}"
        )
    return owner


def _update(sub, y, set_instead_of_inc, name):
    from symcomp.tensor.arith import cast

    owner = _indexed_parts(sub, name)
    x, rest = owner.inputs[0], owner.inputs[1:]
    y = as_tensor_variable(y)
    if y.dtype != x.dtype:
        if (
            not set_instead_of_inc
            and not getattr(y, "weak", False)
            and not np.can_cast(y.dtype, x.dtype, "same_kind")
        ):
            raise TypeError(
                f"{name}: cannot add {y} of dtype {y.dtype} into {x} of dtype "
                f"{x.dtype} (NumPy's same_kind rule){where(user_source())}"
            )
        y = cast(y, x.dtype)
    cls = AdvancedIncSubtensor if type(owner.op) is AdvancedSubtensor else IncSubtensor
    return cls(owner.op.idx_list, set_instead_of_inc)(x, y, *rest)


def set_subtensor(x, y, inplace: bool = False, tolerate_inplace_aliasing: bool = False):
    """A copy of the indexed tensor with ``[index] = y`` (Theano's API: ``x`` is the
    indexing expression ``a[index]``; the result has ``a``'s shape). Repeated advanced
    indices keep the last value, as NumPy assignment does."""
    return _update(x, y, True, "set_subtensor")


def inc_subtensor(
    x,
    y,
    inplace: bool = False,
    set_instead_of_inc: bool = False,
    tolerate_inplace_aliasing: bool = False,
):
    """A copy of the indexed tensor with ``[index] += y`` (``x`` is the expression
    ``a[index]``). Repeated advanced indices accumulate, like ``np.add.at``."""
    return _update(x, y, set_instead_of_inc, "inc_subtensor")
