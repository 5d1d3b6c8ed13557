"""Emitters for the structural and constructor ops over ``templates/include/symcomp/construct.hpp``:
Reshape (a view where numpy.reshape gives one, else a copy), MakeVector, ARange, Eye,
Concatenate, Split (views), Repeat, RepeatSum and Tile.

Copies move items as unsigned integers of the dtype's item size, so every dtype is supported;
only a Concatenate that converts between dtypes, RepeatSum (which adds) and ARange (which
computes) need the dtypes to have C types, and fall back to the ops' Python perform otherwise.
"""

from __future__ import annotations

import numpy as np

from symcomp.codegen.cpu.registry import NodeCode, emitter, supported
from symcomp.scalar.base import C_TYPES
from symcomp.tensor.construct import ARange, Eye
from symcomp.tensor.join import Concatenate, Split
from symcomp.tensor.repeat import Repeat, RepeatSum, Tile
from symcomp.tensor.shape import MakeVector, Reshape

HEADER = "symcomp/construct.hpp"
NS = "symcomp::construct"


def _item(dtype: str) -> str:
    """The C type that moves one item of ``dtype`` as a whole."""
    return f"{NS}::Bytes<{np.dtype(dtype).itemsize}>"


# The C++ types of the integer and bool dtypes.
C_INT = {d: c for d, c in C_TYPES.items() if not d.startswith("float")}


def _int_ctype(var) -> str | None:
    """The C type of an integer (or bool) input, or None."""
    return C_INT.get(var.type.dtype)


def _common(ctx, dtype: str) -> dict:
    """Template values every node body here uses."""
    ctx.include(HEADER)
    return {
        "ns": NS,
        "item": _item(dtype),
        "itemsize": np.dtype(dtype).itemsize,
        "typenum": ctx.typenum(dtype),
        "nogil_minsize": int(ctx.options.nogil_minsize),
    }


@emitter(Reshape)
def emit_reshape(node, ctx) -> NodeCode | None:
    x, shape = node.inputs
    sctype = _int_ctype(shape)
    if sctype is None:
        return None
    nd = node.op.ndim
    errors = {
        "count_error": ctx.error(
            "ValueError",
            f"Reshape: the shape has %zd entries, expected {nd}",
            "static_cast<Py_ssize_t>(given)",
        ),
        "unknown_error": ctx.error(
            "ValueError",
            "Reshape: can only specify one unknown dimension (-1), got shape %s",
            "want",
        ),
        "size_error": ctx.error(
            "ValueError",
            "Reshape: cannot reshape an array of shape %s (size %zd) into shape %s",
            "have",
            "static_cast<Py_ssize_t>(size)",
            "want",
        ),
    }
    values = _common(ctx, x.type.dtype)
    body = ctx.render(
        "cpu/construct_reshape.cpp.j2", nd=nd, ndx=x.type.ndim, sctype=sctype, **errors, **values
    )
    return NodeCode(body)


@emitter(MakeVector)
def emit_make_vector(node, ctx) -> NodeCode | None:
    dtype = node.outputs[0].type.dtype
    if any(i.type.dtype != dtype or i.type.ndim != 0 for i in node.inputs):
        return None
    values = _common(ctx, dtype)
    return NodeCode(ctx.render("cpu/construct_make_vector.cpp.j2", n=len(node.inputs), **values))


@emitter(ARange)
def emit_arange(node, ctx) -> NodeCode | None:
    dtype = node.outputs[0].type.dtype
    # NumPy has no fill function for bool (only lengths up to 2 work there).
    if dtype == "bool" or not supported(dtype):
        return None
    if not all(supported(i.type.dtype) for i in node.inputs):
        return None
    integral = all(i.type.dtype in C_INT for i in node.inputs)
    values = _common(ctx, dtype)
    body = ctx.render(
        "cpu/construct_arange.cpp.j2",
        ctype=ctx.ctype(dtype),
        arg_ctypes=[ctx.ctype(i.type.dtype) for i in node.inputs],
        calc="__int128" if integral else "double",
        integer=dtype in C_INT,
        zero_error=ctx.error("ValueError", "ARange: step must not be zero"),
        range_error=ctx.error(
            "OverflowError", f"ARange: the value %s is out of bounds for {dtype}", "text"
        ),
        nan_error=ctx.error("ValueError", "ARange: cannot compute the length of %s", "text"),
        overflow_error=ctx.error(
            "OverflowError", "ARange: the length of %s does not fit an index", "text"
        ),
        **values,
    )
    return NodeCode(body)


@emitter(Eye)
def emit_eye(node, ctx) -> NodeCode | None:
    ctypes = [_int_ctype(i) for i in node.inputs]
    if None in ctypes:
        return None
    dtype = node.outputs[0].type.dtype
    one = np.ones((), dtype=dtype).tobytes()
    values = _common(ctx, dtype)
    body = ctx.render(
        "cpu/construct_eye.cpp.j2",
        ctypes=ctypes,
        one="{" + ", ".join(f"0x{b:02x}" for b in one) + "}",
        negative_error=ctx.error(
            "ValueError",
            "Eye: negative dimensions (%lld, %lld)",
            "static_cast<long long>(n)",
            "static_cast<long long>(m)",
        ),
        **values,
    )
    return NodeCode(body)


@emitter(Concatenate)
def emit_concatenate(node, ctx) -> NodeCode | None:
    out = node.outputs[0].type.dtype
    copies = []
    for x in node.inputs:
        dtype = x.type.dtype
        if dtype == out:
            item = _item(out)
            copies.append(f"{NS}::copy<{item}, {item}>")
        elif supported(dtype) and supported(out):
            copies.append(f"{NS}::copy<{ctx.ctype(dtype)}, {ctx.ctype(out)}>")
        else:
            return None
    axis = node.op.axis
    values = _common(ctx, out)
    body = ctx.render(
        "cpu/construct_concatenate.cpp.j2",
        nd=node.outputs[0].type.ndim,
        axis=axis,
        copies=copies,
        shape_error=ctx.error(
            "ValueError",
            f"Concatenate along axis {axis}: all the input array dimensions except for the "
            "concatenation axis must match exactly, but along dimension %d, the array at index "
            "0 has shape %s and the array at index %d has shape %s",
            "d",
            "first",
            "i",
            "other",
        ),
        **values,
    )
    return NodeCode(body)


@emitter(Split)
def emit_split(node, ctx) -> NodeCode | None:
    x, sizes = node.inputs
    sctype = _int_ctype(sizes)
    if sctype is None:
        return None
    op = node.op
    values = _common(ctx, x.type.dtype)
    body = ctx.render(
        "cpu/construct_split.cpp.j2",
        nd=x.type.ndim,
        axis=op.axis,
        n=op.n_splits,
        sctype=sctype,
        sizes_error=ctx.error(
            "ValueError",
            "Split: sizes %s do not split length %zd of an array of shape %s into "
            f"{op.n_splits} pieces along axis {op.axis}",
            "text",
            "static_cast<Py_ssize_t>(total)",
            "shape",
        ),
        **values,
    )
    return NodeCode(body)


@emitter(Repeat)
def emit_repeat(node, ctx) -> NodeCode | None:
    x, r = node.inputs
    cctype = _int_ctype(r)
    if cctype is None:
        return None
    axis = node.op.axis
    values = _common(ctx, x.type.dtype)
    # Both errors end with the array's shape and the repeats, as the op's perform says them.
    details, detail_args = " (shape %s, repeats %s)", ("shape", "text")
    body = ctx.render(
        "cpu/construct_repeat.cpp.j2",
        flat=axis is None,
        nd=1 if axis is None else x.type.ndim,
        axis=0 if axis is None else axis,
        vector=r.type.ndim == 1,
        cctype=cctype,
        count_error=ctx.error(
            "ValueError",
            "Repeat: operands could not be broadcast together with shape (%zd,) (%zd,)" + details,
            "static_cast<Py_ssize_t>(n)",
            "static_cast<Py_ssize_t>(nc)",
            *detail_args,
        ),
        negative_error=ctx.error(
            "ValueError", "Repeat: repeats may not contain negative values" + details, *detail_args
        ),
        **values,
    )
    return NodeCode(body)


@emitter(RepeatSum)
def emit_repeat_sum(node, ctx) -> NodeCode | None:
    g, r, n = node.inputs
    dtype = g.type.dtype
    cctype, nctype = _int_ctype(r), _int_ctype(n)
    if not supported(dtype) or cctype is None or nctype is None:
        return None
    axis = node.op.axis
    values = _common(ctx, dtype)
    body = ctx.render(
        "cpu/construct_repeat_sum.cpp.j2",
        nd=g.type.ndim,
        axis=axis,
        ctype=ctx.ctype(dtype),
        vector=r.type.ndim == 1,
        cctype=cctype,
        nctype=nctype,
        negative_error=ctx.error(
            "ValueError", "RepeatSum: negative length %lld", "static_cast<long long>(n)"
        ),
        counts_error=ctx.error(
            "ValueError",
            f"RepeatSum: repeats %s do not match length %zd of axis {axis} (%zd entries)",
            "text",
            "static_cast<Py_ssize_t>(length)",
            "static_cast<Py_ssize_t>(n)",
        ),
        **values,
    )
    return NodeCode(body)


@emitter(Tile)
def emit_tile(node, ctx) -> NodeCode:
    x = node.inputs[0]
    ndx, reps = x.type.ndim, node.op.reps
    # numpy.tile pads the shorter of x's shape and reps with leading 1s.
    reps = (1,) * (ndx - len(reps)) + tuple(reps)
    values = _common(ctx, x.type.dtype)
    body = ctx.render(
        "cpu/construct_tile.cpp.j2",
        nd=len(reps),
        ndx=ndx,
        reps="{" + ", ".join(str(r) for r in reps or (1,)) + "}",
        **values,
    )
    return NodeCode(body)
