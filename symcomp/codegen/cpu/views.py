"""Emitters for cheap structural ops: DimShuffle (a view, as NumPy's transpose/reshape give),
Shape, ShapeI and Alloc."""

from __future__ import annotations

from symcomp.codegen.cpu.registry import NodeCode, emitter
from symcomp.tensor.alloc import Alloc
from symcomp.tensor.dimshuffle import DimShuffle
from symcomp.tensor.shapeof import Shape, ShapeI


@emitter(DimShuffle)
def emit_dimshuffle(node, ctx) -> NodeCode:
    op = node.op
    source = [-1 if d == "x" else int(d) for d in op.new_order]
    drops = [
        (
            d,
            ctx.error(
                "ValueError",
                f"cannot drop dim {d} of an array: its length %zd is not 1",
                f"static_cast<Py_ssize_t>(PyArray_DIMS(in[0])[{d}])",
            ),
        )
        for d in op.dropped
    ]
    body = ctx.render(
        "cpu/dimshuffle.cpp.j2",
        nd=len(source),
        source="{" + ", ".join(map(str, source or [-1])) + "}",
        drops=drops,
    )
    return NodeCode(body)


@emitter(Shape)
def emit_shape(node, ctx) -> NodeCode:
    ndim = node.inputs[0].type.ndim
    return NodeCode(ctx.render("cpu/shape.cpp.j2", nd=1, count=ndim, dims=tuple(range(ndim))))


@emitter(ShapeI)
def emit_shape_i(node, ctx) -> NodeCode:
    ndim = node.inputs[0].type.ndim
    return NodeCode(ctx.render("cpu/shape.cpp.j2", nd=0, count=1, dims=(node.op.i % ndim,)))


@emitter(Alloc)
def emit_alloc(node, ctx) -> NodeCode | None:
    out = node.outputs[0]
    return NodeCode(
        ctx.render(
            "cpu/alloc.cpp.j2",
            nd=out.type.ndim,
            typenum=ctx.typenum(out.type.dtype),
            negative_error=ctx.error("ValueError", "negative dimensions are not allowed"),
        )
    )
