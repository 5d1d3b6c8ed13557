"""Emitters for advanced indexing (AdvancedSubtensor, AdvancedIncSubtensor, LastWriteMask)
and Nonzero over ``templates/include/symcomp/advanced.hpp``.

Python expands the index (Ellipsis and the dims past the index become full slices), decides
where the broadcast index dims go (NumPy's rule: in place when the advanced entries are
adjacent, else first) and which index components are read from the node's inputs; the
header plans the index against the runtime shapes, checking every index value, and moves
the elements. Gather and set move raw bytes, so they take every dtype; inc (np.add.at
semantics: repeated indices accumulate, in the C order of the indexed result) and Nonzero
compute with the element type, so other dtypes run the ops' Python perform. Set keeps the
last value for a repeated target, in the same order, which is what LastWriteMask marks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.codegen.cpu.registry import NodeCode, emitter, supported
from symcomp.tensor.advanced import AdvancedIncSubtensor, AdvancedSubtensor, LastWriteMask, Nonzero
from symcomp.tensor.subtensor import FULL, SYM

_ITEMS = {1: "std::uint8_t", 2: "std::uint16_t", 4: "std::uint32_t", 8: "std::uint64_t"}
_KINDS = {"int": "INT", "slice": "SLICE", "newaxis": "NEWAXIS", "array": "ARRAY", "mask": "MASK"}
_FLAGS = {"start": 1, "stop": 2, "step": 4}


@dataclass(frozen=True)
class Entry:
    """One expanded index entry: the initializer of a ``symcomp::advanced::Entry``."""

    kind: str
    dim: int
    start: str
    stop: str
    step: str
    flags: int
    array: str


@dataclass(frozen=True)
class Load:
    """A component read from a scalar input: ``entries[entry].field = in[input]``."""

    entry: int
    field: str
    input: int


@dataclass(frozen=True)
class Index:
    entries: tuple
    loads: tuple
    block_first: str


def _index(idx_list, inputs, first: int, x_ndim: int) -> Index:
    """The index of an op whose index inputs are ``inputs`` (``in[first]`` onwards)."""
    adv = [k for k, e in enumerate(idx_list) if e[0] in ("int", "array", "mask")]
    block_first = bool(adv) and adv[-1] - adv[0] != len(adv) - 1
    items, pos = [], first  # (entry, dims of x it consumes, its first input)
    for e in idx_list:
        if e[0] in ("array", "mask"):
            items.append((e, inputs[pos - first].ndim if e[0] == "mask" else 1, pos))
            pos += 1
        else:
            items.append((e, int(e[0] in ("int", "slice")), pos))
            pos += sum(p == SYM for p in e[1:])
    spare = x_ndim - sum(item[1] for item in items)
    expanded = []
    for item in items:
        if item[0][0] == "ellipsis":
            expanded.extend([(FULL, 1, pos)] * spare)
            spare = 0
        else:
            expanded.append(item)
    expanded.extend([(FULL, 1, pos)] * spare)

    entries, loads, dim = [], [], 0
    for e, consumed, pos in expanded:
        kind = e[0]
        values, flags, array = {}, 0, "nullptr"
        if kind in ("array", "mask"):
            array = f"in[{pos}]"
        elif kind in ("int", "slice"):
            names = ("start",) if kind == "int" else ("start", "stop", "step")
            for name, part in zip(names, e[1:]):
                if part is None:
                    continue
                flags |= _FLAGS[name]
                if part == SYM:
                    loads.append(Load(len(entries), name, pos))
                    pos += 1
                else:
                    values[name] = str(int(part))
        start, stop, step = (values.get(n, "0") for n in ("start", "stop", "step"))
        entries.append(Entry(_KINDS[kind], dim, start, stop, step, flags, array))
        dim += consumed
    return Index(tuple(entries), tuple(loads), "true" if block_first else "false")


def _errors(node, ctx) -> dict:
    op = str(node.op)
    return {
        "bounds": ctx.error(
            "IndexError",
            f"{op}: index %lld is out of bounds for axis %d with size %zd (x has shape %s)",
            "problem.value",
            "problem.axis",
            "static_cast<Py_ssize_t>(problem.size)",
            "shape",
        ),
        "mask": ctx.error(
            "IndexError",
            f"{op}: boolean index did not match indexed array along axis %d; size of axis is "
            "%zd but size of corresponding boolean axis is %zd (x has shape %s)",
            "problem.axis",
            "static_cast<Py_ssize_t>(problem.size)",
            "static_cast<Py_ssize_t>(problem.other)",
            "shape",
        ),
        "broadcast": ctx.error(
            "IndexError",
            f"{op}: shape mismatch: indexing arrays could not be broadcast together with shapes %s",
            "problem.text",
        ),
        "step": ctx.error("ValueError", f"{op}: slice step cannot be zero"),
        "value": ctx.error(
            "ValueError",
            f"{op}: shape mismatch: value array of shape %s could not be broadcast to "
            "indexing result of shape %s",
            "problem.text",
            "problem.text2",
        ),
    }


def _item(dtype: str) -> str:
    """The C type gather and set move elements of ``dtype`` as (their raw bytes)."""
    size = np.dtype(dtype).itemsize
    return _ITEMS.get(size, f"symcomp::advanced::Item<{size}>")


def _render(node, ctx, template: str, first: int, strides: str, **extra) -> NodeCode:
    x = node.inputs[0]
    ctx.include("symcomp/advanced.hpp")
    body = ctx.render(
        template,
        index=_index(node.op.idx_list, node.inputs[first:], first, x.type.ndim),
        x_nd=x.type.ndim,
        strides=strides,
        errors=_errors(node, ctx),
        nogil_minsize=int(ctx.options.nogil_minsize),
        **extra,
    )
    return NodeCode(body)


@emitter(AdvancedSubtensor)
def emit_advanced_subtensor(node, ctx) -> NodeCode:
    """x[idx] gathered into a fresh C-ordered array."""
    dtype = node.outputs[0].type.dtype
    return _render(
        node,
        ctx,
        "cpu/advanced_subtensor.cpp.j2",
        1,
        "PyArray_STRIDES(in[0])",
        typenum=ctx.typenum(dtype),
        item=_item(dtype),
    )


@emitter(LastWriteMask)
def emit_last_write_mask(node, ctx) -> NodeCode:
    """Which elements of x[idx] an assignment x[idx] = y keeps (the last write, C order)."""
    return _render(node, ctx, "cpu/advanced_lastwrite.cpp.j2", 1, "estrides")


def _combine(dtype: str, ctype: str) -> str:
    """``a`` (an element of x) incremented by ``b`` in ``dtype``, integers wrapping around."""
    kind = np.dtype(dtype).kind
    if kind == "b":
        return "a || b"
    if kind in "iu":
        unsigned = f"std::make_unsigned_t<{ctype}>"
        return f"static_cast<{ctype}>(static_cast<{unsigned}>(a) + static_cast<{unsigned}>(b))"
    return "a + b"


@emitter(AdvancedIncSubtensor)
def emit_advanced_inc_subtensor(node, ctx) -> NodeCode | None:
    """A copy of x with x[idx] = y, or np.add.at(x, idx, y)."""
    dtype = node.outputs[0].type.dtype
    if node.op.set_instead_of_inc:
        item, combine = _item(dtype), "b"
    elif supported(dtype):
        item, combine = ctx.ctype(dtype), _combine(dtype, ctx.ctype(dtype))
    else:
        return None
    return _render(
        node,
        ctx,
        "cpu/advanced_inc.cpp.j2",
        2,
        "PyArray_STRIDES(out[0])",
        item=item,
        combine=combine,
    )


@emitter(Nonzero)
def emit_nonzero(node, ctx) -> NodeCode | None:
    """The coordinates of x's non-zero elements (int64 vectors, one per dim)."""
    dtype = node.inputs[0].type.dtype
    if not supported(dtype):
        return None
    ctx.include("symcomp/advanced.hpp")
    body = ctx.render(
        "cpu/advanced_nonzero.cpp.j2",
        nd=node.inputs[0].type.ndim,
        ctype=ctx.ctype(dtype),
        nogil_minsize=int(ctx.options.nogil_minsize),
    )
    return NodeCode(body)
