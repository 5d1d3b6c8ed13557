"""Basic indexing: ``x[...]`` with ints, slices and newaxis (Subtensor, a view), its
update form (IncSubtensor), the index encoding and the output-shape rules shared with
advanced indexing (advanced.py, which also holds the parser behind ``x[...]``).

An index is described by a tuple of entries (the op's ``idx_list``), one per index item:

- ``("int", v)``: an integer index; ``v`` is a Python int or ``SYM`` (an op input);
- ``("slice", start, stop, step)``: each component None, a Python int or ``SYM``;
- ``("newaxis",)``: a new length-1 dim;
- advanced indexing only (symcomp.tensor.advanced): ``("array",)`` (an int tensor input),
  ``("mask",)`` (a bool tensor input) and ``("ellipsis",)``.

The op's inputs are ``x`` followed by one variable per ``SYM`` or array/mask, in order.
Python ints and constant scalars are folded into the op, so ``x[1:3]`` needs no inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.graph.variable import Variable
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.errors import shape_str, where
from symcomp.tensor.type import TensorType
from symcomp.tensor.variable import tensor_constant

SYM = "?"  # an index component given by an op input (a string, so it never equals an int)
FULL = ("slice", None, None, None)
ADVANCED_KINDS = ("array", "mask")

__all__ = ["SYM", "IncSubtensor", "Subtensor"]


# -- index encoding ------------------------------------------------------------------------


def is_int_dtype(dtype: str) -> bool:
    return np.dtype(dtype).kind in "iu"


def consumed_dims(entry) -> int:
    """How many dims of x an entry indexes."""
    kind = entry[0]
    if kind == "mask":
        return entry[1].ndim
    return 1 if kind in ("int", "slice", "array") else 0


def split_entries(entries) -> tuple[tuple, list]:
    """Raw entries -> (idx_list with SYM placeholders, the symbolic inputs in order)."""
    idx_list, inputs = [], []
    for e in entries:
        kind = e[0]
        if kind in ADVANCED_KINDS:
            idx_list.append((kind,))
            inputs.append(e[1])
            continue
        parts = []
        for p in e[1:]:
            if isinstance(p, Variable):
                parts.append(SYM)
                inputs.append(p)
            else:
                parts.append(p)
        idx_list.append((kind, *parts))
    return tuple(idx_list), inputs


def join_entries(idx_list, inputs) -> list:
    """The inverse of split_entries: entries whose SYM parts are the given values."""
    it = iter(inputs)
    out = []
    for e in idx_list:
        if e[0] in ADVANCED_KINDS:
            out.append((e[0], next(it)))
        else:
            out.append((e[0], *(next(it) if p == SYM else p for p in e[1:])))
    return out


def count_inputs(idx_list) -> int:
    return sum(1 for e in idx_list if e[0] in ADVANCED_KINDS) + sum(
        1 for e in idx_list for p in e[1:] if p == SYM
    )


def index_str(idx_list) -> str:
    """A NumPy-like rendering of an idx_list: ``1:?, ::-1, None``."""

    def part(p):
        return "" if p is None else str(p)

    out = []
    for e in idx_list:
        kind = e[0]
        if kind == "slice":
            text = f"{part(e[1])}:{part(e[2])}"
            out.append(text + (f":{part(e[3])}" if e[3] is not None else ""))
        elif kind == "int":
            out.append(str(e[1]))
        else:
            out.append(
                {"newaxis": "None", "ellipsis": "...", "array": "[int]", "mask": "[bool]"}[kind]
            )
    return ", ".join(out)


def numpy_index(idx_list, values) -> tuple:
    """idx_list + runtime values of its inputs -> a NumPy index tuple."""
    out = []
    for e in join_entries(idx_list, values):
        kind = e[0]
        if kind == "int":
            out.append(int(e[1]))
        elif kind == "slice":
            out.append(slice(*(None if p is None else int(p) for p in e[1:])))
        elif kind == "newaxis":
            out.append(None)
        elif kind == "ellipsis":
            out.append(Ellipsis)
        else:
            out.append(np.asarray(e[1]))
    return tuple(out)


def runtime_index_error(op, node, idx, shape, err) -> IndexError:
    text = ", ".join(_runtime_part(i) for i in idx)
    return IndexError(
        f"{op}: index [{text}] is out of bounds for an array of shape "
        f"{tuple(shape)} ({err}){where(node.trace)}"
    )


def _runtime_part(i) -> str:
    if isinstance(i, slice):
        return f"{'' if i.start is None else i.start}:{'' if i.stop is None else i.stop}" + (
            "" if i.step is None else f":{i.step}"
        )
    if isinstance(i, np.ndarray):
        return np.array2string(i, threshold=8)
    return "None" if i is None else "..." if i is Ellipsis else str(i)


def with_dims(entries, ndim):
    """(entry, first dim of x it indexes) pairs; an Ellipsis spans the unindexed dims."""
    spare = ndim - sum(consumed_dims(e) for e in entries)
    dim = 0
    for e in entries:
        yield e, dim
        dim += spare if e[0] == "ellipsis" else consumed_dims(e)


def check_static_bounds(op_name, x, entries):
    """IndexError at build time for a constant int index outside a static length."""
    for e, dim in with_dims(entries, x.ndim):
        if e[0] == "int" and isinstance(e[1], int):
            n = x.type.shape[dim]
            if n is not None and not -n <= e[1] < n:
                raise IndexError(
                    f"{op_name}: index {e[1]} is out of bounds for axis {dim} of "
                    f"{x} with static shape {shape_str(x.type.shape)}"
                    f"{where(user_source())}"
                )


def check_index_inputs(op, idx_list, index_inputs):
    """Types of an op's index inputs against its idx_list (TypeError naming them)."""
    if len(index_inputs) != count_inputs(idx_list):
        raise TypeError(
            f"{op} expects {count_inputs(idx_list)} index inputs, got "
            f"{len(index_inputs)}{where(user_source())}"
        )
    for e in join_entries(idx_list, index_inputs):
        for p in e[1:]:
            if not isinstance(p, Variable):
                continue
            if e[0] == "mask":
                ok = p.dtype == "bool"
            elif e[0] == "array":
                ok = is_int_dtype(p.dtype) and p.ndim >= 1
            else:
                ok = is_int_dtype(p.dtype) and p.ndim == 0
            if not ok:
                raise TypeError(
                    f"{op}: bad index input {p} of type {p.type} for a {e[0]} "
                    f"entry{where(user_source())}"
                )


# -- shapes -------------------------------------------------------------------------------


def static_slice_length(n, start, stop, step):
    """Length of x[start:stop:step] along a dim of static length n (None when unknown)."""
    if start is None and stop is None and step is None:
        return n
    if n is None or any(isinstance(p, Variable) for p in (start, stop, step)):
        return None
    return len(range(*slice(start, stop, step).indices(n)))


def _st():
    import symcomp.tensor as st

    return st


def _is_static(*vals) -> bool:
    return all(isinstance(v, (int, np.integer)) for v in vals)


def _add(a, b):
    return a + b if _is_static(a, b) else _st().add(a, b)


def _sub(a, b):
    return a - b if _is_static(a, b) else _st().sub(a, b)


def _max(a, b):
    return max(a, b) if _is_static(a, b) else _st().switch(_st().lt(a, b), b, a)


def _min(a, b):
    return min(a, b) if _is_static(a, b) else _st().switch(_st().lt(a, b), a, b)


def _clip_bound(i, n, lo, hi):
    """A slice bound normalized like slice.indices: negative counts from n, then clipped."""
    if isinstance(i, int):
        return _max(_add(i, n), lo) if i < 0 else _min(i, hi)
    shifted = _st().switch(_st().lt(i, 0), _add(i, n), i)
    return _min(_max(shifted, lo), hi)


def _slice_length_signed(n, start, stop, step, negative):
    if not negative:
        first = 0 if start is None else _clip_bound(start, n, 0, n)
        last = n if stop is None else _clip_bound(stop, n, 0, n)
        span, stride = _sub(last, first), step
    else:
        first = _sub(n, 1) if start is None else _clip_bound(start, n, -1, _sub(n, 1))
        last = -1 if stop is None else _clip_bound(stop, n, -1, _sub(n, 1))
        span, stride = _sub(first, last), _st().neg(step) if isinstance(step, Variable) else -step
    if isinstance(stride, int) and stride == 1:
        return _max(span, 0)
    if _is_static(span, stride):
        return max(-(-span // stride), 0)
    int_div = getattr(_st(), "int_div", None)
    if int_div is None:
        return None
    return _max(int_div(_sub(_add(span, stride), 1), stride), 0)


def symbolic_slice_length(n, start, stop, step):
    """Length of x[start:stop:step] for a dim of length n (ints or int scalar variables):
    a Python int when everything is static, else an int64 scalar; None when it cannot be
    built (no integer division available)."""
    if start is None and stop is None and step is None:
        return n
    if _is_static(n, *(p for p in (start, stop, step) if p is not None)):
        return len(range(*slice(start, stop, step).indices(int(n))))
    if step is None or isinstance(step, int):
        out = _slice_length_signed(
            n, start, stop, 1 if step is None else step, negative=step is not None and step < 0
        )
    else:
        pos = _slice_length_signed(n, start, stop, step, negative=False)
        neg = _slice_length_signed(n, start, stop, step, negative=True)
        if pos is None or neg is None:
            return None
        out = _st().switch(_st().lt(step, 0), neg, pos)
    if out is None or isinstance(out, int):
        return out
    return _st().cast(out, "int64")


def layout(entries, x_shape, slice_length, adv_shape=None) -> list:
    """The output shape of x[entries] as a list, NumPy's rules.

    ``slice_length(n, start, stop, step)`` gives a slice's length; ``adv_shape`` is the
    broadcast shape of the advanced indices (None for basic indexing, where ints drop their
    dim). Advanced dims replace the advanced entries when those are adjacent in the index
    (ints count as advanced then), else they go first.
    """
    advanced = adv_shape is not None
    adv_kinds = ("int",) + ADVANCED_KINDS
    positions = [k for k, e in enumerate(entries) if advanced and e[0] in adv_kinds]
    adjacent = bool(positions) and positions[-1] - positions[0] == len(positions) - 1
    used = sum(consumed_dims(e) for e in entries)
    out, dim, placed = [], 0, False
    for e in entries:
        kind = e[0]
        if kind == "newaxis":
            out.append(1)
        elif kind == "ellipsis":
            out.extend(x_shape[dim : dim + len(x_shape) - used])
            dim += len(x_shape) - used
        elif kind == "slice":
            out.append(slice_length(x_shape[dim], *e[1:]))
            dim += 1
        else:
            if advanced and adjacent and not placed:
                out.extend(adv_shape)
                placed = True
            dim += consumed_dims(e)
    out.extend(x_shape[dim:])
    if advanced and not adjacent:
        out = list(adv_shape) + out
    return out


def _check_ndim(op_name, x, entries):
    used = sum(consumed_dims(e) for e in entries)
    if used > x.ndim:
        raise IndexError(
            f"{op_name}: too many indices for {x}: it has {x.ndim} dims but "
            f"{used} were indexed{where(user_source())}"
        )


def _infer_basic_shape(node, idx_list, x_shape):
    from symcomp.tensor.shapeof import shape_i

    out = layout(join_entries(idx_list, node.inputs[1:]), list(x_shape), symbolic_slice_length)
    return tuple(shape_i(node.outputs[0], d) if s is None else s for d, s in enumerate(out))


# -- ops ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subtensor(Op):
    """``x[idx]`` for ints, slices and newaxis: a view of x, as in NumPy.

    ``idx_list`` describes the index (see the module docstring); inputs are x and one int
    scalar per SYM component. Dims past the index are kept whole.
    """

    idx_list: tuple
    view_map: ClassVar[dict] = {0: (0,)}  # output 0 is a view of input 0 (for memory planning)

    def __str__(self):
        return f"Subtensor{{{index_str(self.idx_list)}}}"

    def make_node(self, x, *index_inputs):
        x = as_tensor_variable(x)
        index_inputs = [as_tensor_variable(i) for i in index_inputs]
        if any(e[0] not in ("int", "slice", "newaxis") for e in self.idx_list):
            raise TypeError(
                f"{self}: only int, slice and newaxis entries are basic indices"
                f"{where(user_source())}"
            )
        check_index_inputs(self, self.idx_list, index_inputs)
        entries = join_entries(self.idx_list, index_inputs)
        _check_ndim(str(self), x, entries)
        check_static_bounds(str(self), x, entries)
        shape = layout(entries, list(x.type.shape), static_slice_length)
        return Apply.make(self, [x, *index_inputs], [TensorType(x.dtype, shape)])

    def perform(self, node, inputs):
        x = inputs[0]
        idx = numpy_index(self.idx_list, inputs[1:])
        try:
            # The trailing Ellipsis makes a full integer index give a 0-d view, not a scalar.
            return [x[idx + (Ellipsis,)]]
        except IndexError as err:
            raise runtime_index_error(self, node, idx, x.shape, err) from None

    def infer_shape(self, node, input_shapes):
        return [_infer_basic_shape(node, self.idx_list, input_shapes[0])]

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.alloc import zeros_like

        x, g = inputs[0], cotangents[0]
        nones = [None] * (len(inputs) - 1)
        if g is None or not _differentiable(x.dtype):
            return [None] + nones
        return [IncSubtensor(self.idx_list)(zeros_like(x), g, *inputs[1:])] + nones

    def pushforward(self, inputs, outputs, tangents):
        return [None if tangents[0] is None else self(tangents[0], *inputs[1:])]


@dataclass(frozen=True)
class IncSubtensor(Op):
    """A copy of x with ``x[idx] += y`` (or ``x[idx] = y`` with ``set_instead_of_inc``);
    y is broadcast to the indexed shape. Inputs: x, y, then the index inputs."""

    idx_list: tuple
    set_instead_of_inc: bool = False
    view_map: ClassVar[dict] = {}  # the output is always a new array (memory planning may reuse it)

    def __str__(self):
        name = "SetSubtensor" if self.set_instead_of_inc else "IncSubtensor"
        return f"{name}{{{index_str(self.idx_list)}}}"

    def make_node(self, x, y, *index_inputs):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        index_inputs = [as_tensor_variable(i) for i in index_inputs]
        sub = Subtensor(self.idx_list).make_node(x, *index_inputs).outputs[0]
        check_update_value(self, x, y, sub)
        return Apply.make(self, [x, y, *index_inputs], [x.type])

    def perform(self, node, inputs):
        x, y = inputs[0], inputs[1]
        idx = numpy_index(self.idx_list, inputs[2:]) + (Ellipsis,)
        out = x.copy()
        try:
            if self.set_instead_of_inc:
                out[idx] = y
            else:
                out[idx] += y
        except IndexError as err:
            raise runtime_index_error(self, node, idx[:-1], x.shape, err) from None
        return [out]

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0])]

    def pullback(self, inputs, outputs, cotangents):
        x, y, rest = inputs[0], inputs[1], inputs[2:]
        return update_pullback(self, Subtensor(self.idx_list), x, y, rest, cotangents[0])

    def pushforward(self, inputs, outputs, tangents):
        return update_pushforward(self, inputs, tangents)


def _differentiable(dtype: str) -> bool:
    return np.dtype(dtype).kind in "fc"


def check_update_value(op, x, y, indexed):
    """y must have x's dtype and broadcast to the indexed shape (statically)."""
    if y.dtype != x.dtype:
        raise TypeError(
            f"{op}: the value {y} ({y.type}) must have the dtype of {x} "
            f"({x.type}); cast it first{where(user_source())}"
        )
    if y.ndim > indexed.ndim:
        raise ValueError(
            f"{op}: cannot broadcast a value of {y.ndim} dims {y.type} to the "
            f"indexed shape {shape_str(indexed.type.shape)}{where(user_source())}"
        )
    for a, b in zip(reversed(y.type.shape), reversed(indexed.type.shape)):
        if a is not None and b is not None and a != 1 and a != b:
            raise ValueError(
                f"{op}: cannot broadcast a value of static shape "
                f"{shape_str(y.type.shape)} to the indexed shape "
                f"{shape_str(indexed.type.shape)}{where(user_source())}"
            )


def update_pushforward(op, inputs, tangents):
    """Tangent of an (Advanced)IncSubtensor: the same update applied to the tangents."""
    from symcomp.tensor.alloc import zeros_like

    tx, ty = tangents[0], tangents[1]
    if tx is None and ty is None:
        return [None]
    tx = zeros_like(inputs[0]) if tx is None else tx
    ty = zeros_like(inputs[1]) if ty is None else ty
    return [op(tx, ty, *inputs[2:])]


def update_pullback(op, getter, x, y, rest, g):
    """Gradients of an (Advanced)IncSubtensor: x gets g (zeroed where set), y gets the
    indexed part of g summed back to y's shape."""
    from symcomp.tensor.elemwise import sum_to

    nones = [None] * len(rest)
    if g is None:
        return [None, None] + nones
    gx = None
    if _differentiable(x.dtype):
        gx = g
        if op.set_instead_of_inc:
            zero = tensor_constant(np.zeros((), dtype=g.dtype))
            gx = type(op)(op.idx_list, True)(g, zero, *rest)
    gy = None
    if _differentiable(y.dtype):
        gy = getter(g, *rest)
        mask = getattr(op, "winners", lambda *a: None)(x, rest)
        if mask is not None:
            gy = _st().mul(gy, _st().cast(mask, gy.dtype))
        gy = sum_to(gy, y)
    return [gx, gy] + nones


# The advanced ops and the user entry points (getitem, set_subtensor, ...) live in advanced.py;
# re-exported here for symcomp.tensor, which star-imports this module.
from symcomp.tensor.advanced import *
from symcomp.tensor.advanced import __all__ as _advanced_all

__all__ = __all__ + list(_advanced_all)
