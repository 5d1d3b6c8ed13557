"""Emitters for basic indexing over ``templates/include/symcomp/subtensor.hpp``.

Subtensor is a view of its input, laid out as NumPy's basic indexing gives it (slices with
any start/stop/step clipped like Python's, negative ints, newaxis, components from symbolic
int scalars): ``cpu/subtensor.cpp.j2``. IncSubtensor copies x (or, for an op whose
``destroy_map`` says it destroys x, writes into x) and assigns or adds the broadcast value
into the same region: ``cpu/subtensor_update.cpp.j2``. Every dtype is compiled: assignment
copies raw items for the dtypes the elementwise kernels do not compute, and adding float16
goes through float and rounds back, as NumPy's float16 loop does.
"""

from __future__ import annotations

from dataclasses import dataclass

from symcomp.codegen.cpu.registry import NodeCode, c_string, emitter, supported
from symcomp.tensor.subtensor import SYM, IncSubtensor, Subtensor

_KINDS = {"int": "sc::kIndexInt", "slice": "sc::kIndexSlice", "newaxis": "sc::kIndexNewaxis"}
# Items the elementwise kernels do not compute, added as NumPy adds them.
_EXTRA_ITEMS = {
    "float16": "sc::Half",
    "complex64": "std::complex<float>",
    "complex128": "std::complex<double>",
}


@dataclass(frozen=True)
class IndexSpec:
    """A basic index as C initializers: ``entries`` (sc::IndexEntry per entry), ``values``
    (three npy_intp C expressions per entry: constants, or reads of the node inputs)."""

    entries: str
    values: str
    count: int
    op_name: str  # a C string literal naming the op in error messages


def index_spec(node, ctx, first_input: int) -> IndexSpec | None:
    """The IndexSpec of ``node.op.idx_list``; its SYM components are node inputs
    ``first_input``, ``first_input + 1``, ... in order. None for an entry kind that is not
    basic indexing."""
    entries, values = [], []
    k = first_input
    for entry in node.op.idx_list:
        kind, parts = entry[0], list(entry[1:])
        if kind not in _KINDS:
            return None
        parts = parts + [None] * (3 - len(parts))
        given = []
        for p in parts:
            given.append("false" if p is None else "true")
            if p is None:
                values.append("0")
            elif p == SYM:
                dtype = node.inputs[k].type.dtype
                values.append(f"sc::index_value<{ctx.ctype(dtype)}>({ctx.inputs[k]})")
                k += 1
            else:
                values.append(str(int(p)))
        entries.append("{" + ", ".join([_KINDS[kind], *given]) + "}")
    if not entries:  # C++ has no empty arrays; count 0 keeps the placeholder unread
        entries, values = ["{sc::kIndexNewaxis, false, false, false}"], ["0", "0", "0"]
    return IndexSpec(
        entries="{" + ", ".join(entries) + "}",
        values="{" + ", ".join(values) + "}",
        count=len(node.op.idx_list),
        op_name=c_string(str(node.op)),
    )


@emitter(Subtensor)
def emit_subtensor(node, ctx) -> NodeCode | None:
    index = index_spec(node, ctx, 1)
    if index is None:
        return None
    ctx.include("symcomp/subtensor.hpp")
    nd = node.outputs[0].type.ndim
    return NodeCode(ctx.render("cpu/subtensor.cpp.j2", index=index, nd=nd))


def _update_kernel(op, dtype: str, ctx) -> str | None:
    """The C++ update functor for ``dtype``: assignment or NumPy's addition."""
    if op.set_instead_of_inc:
        item = ctx.ctype(dtype) if supported(dtype) else f"sc::Bytes<{ctx.itemsize(dtype)}>"
        return f"sc::Assign<{item}>"
    item = ctx.ctype(dtype) if supported(dtype) else _EXTRA_ITEMS.get(dtype)
    return None if item is None else f"sc::Accumulate<{item}>"


def destroys_x(op) -> bool:
    """Whether the op's destroy_map lets output 0 overwrite input 0 (x)."""
    destroy_map = getattr(op, "destroy_map", None) or {}
    return 0 in tuple(destroy_map.get(0, ()))


@emitter(IncSubtensor)
def emit_inc_subtensor(node, ctx) -> NodeCode | None:
    x = node.inputs[0]
    kernel = _update_kernel(node.op, x.type.dtype, ctx)
    index = index_spec(node, ctx, 2)
    if kernel is None or index is None:
        return None
    ctx.include("symcomp/subtensor.hpp")
    kinds = [e[0] for e in node.op.idx_list]
    sub_nd = x.type.ndim - kinds.count("int") + kinds.count("newaxis")  # x[index]'s ndim
    body = ctx.render(
        "cpu/subtensor_update.cpp.j2",
        index=index,
        nd=sub_nd,
        copy=not destroys_x(node.op),
        kernel=kernel,
        nogil_minsize=int(ctx.options.nogil_minsize),
    )
    return NodeCode(body)
