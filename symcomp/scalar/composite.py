"""Composite: a small graph of scalar ops, fused into one elementwise op.

The fusion pass turns a maximal elementwise subgraph into ``Elemwise(Composite(...))``, so
native code computes it in one loop: each inner node is one ``const T tK = <c_expr>;``
statement, and every input is read once per element.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.scalar.base import C_TYPES, EmitContext, ScalarOp


@dataclass(frozen=True)
class Composite(ScalarOp):
    """``n_inputs`` scalar inputs (of ``in_dtypes``) flowing through ``nodes``.

    ``nodes`` is a tuple of ``(scalar_op, refs, out_dtype)``: ``refs`` name the node's
    arguments, where a ref k < n_inputs is input k and a ref k >= n_inputs is the output of
    node k - n_inputs. ``output`` is the ref of the composite's result. Nodes are in
    dependency order. Equal composites compare equal (all fields are plain tuples).
    """

    n_inputs: int
    in_dtypes: tuple
    nodes: tuple
    output: int
    abstract = True  # built by the fusion pass only; covered through its inner ops

    @property
    def nin(self) -> int:  # type: ignore[override]
        return self.n_inputs

    def __str__(self) -> str:
        inner = ",".join(str(op) for op, _, _ in self.nodes)
        return f"Composite{{{inner}}}"

    def out_dtype(self, *dtypes: str) -> str:
        if tuple(dtypes) != tuple(self.in_dtypes):
            raise TypeError(f"{self} was built for dtypes {self.in_dtypes}, got {dtypes}")
        return self._dtype_of(self.output)

    def _dtype_of(self, ref: int) -> str:
        if ref < self.n_inputs:
            return self.in_dtypes[ref]
        return self.nodes[ref - self.n_inputs][2]

    def impl(self, *inputs: np.ndarray, out_dtype: str) -> np.ndarray:
        values = list(inputs)
        for op, refs, dtype in self.nodes:
            values.append(op.impl(*(values[r] for r in refs), out_dtype=dtype))
        return np.asarray(values[self.output], dtype=out_dtype)

    def pullback(self, inputs, outputs, cotangents):
        raise NotImplementedError(
            "Composite is built by the fusion pass after gradients are taken; differentiate "
            "the unfused graph"
        )

    def c_statements(self, ctx: EmitContext, args: tuple, prefix: str = "t") -> tuple:
        """``(statements, result)``: one ``const T name = expr;`` per inner node, reading
        the argument expressions ``args``; ``result`` names the composite's value."""
        names = list(args)
        stmts = []
        for k, (op, refs, dtype) in enumerate(self.nodes):
            sub = EmitContext(tuple(self._dtype_of(r) for r in refs), dtype, ctx.dialect)
            expr = op.c_expr(sub, *(names[r] for r in refs))
            name = f"{prefix}{k}"
            stmts.append(f"const {C_TYPES[dtype]} {name} = {expr};")
            names.append(name)
        return stmts, names[self.output]

    def c_expr(self, ctx: EmitContext, *args: str) -> str:
        stmts, result = self.c_statements(ctx, args)
        body = " ".join(stmts)
        return f"([&]() {{ {body} return {result}; }}())"


def composite_from_graph(inputs, output) -> tuple:
    """A Composite computing tensor ``output`` from tensor ``inputs`` through Elemwise
    nodes only; returns ``(composite, outer_inputs)``. ``inputs`` are the boundary
    variables (in order); constants inside that are not among them are appended to
    ``outer_inputs`` as composite inputs too. Inner Elemwise(Composite) nodes are inlined,
    so fusing fused nodes again gives one flat Composite."""
    from symcomp.graph.basic import toposort
    from symcomp.graph.variable import Constant

    inner = toposort([output], blockers=inputs)
    outer = list(inputs)
    known = set(outer)
    for node in inner:
        known.update(node.outputs)
    for node in inner:
        for i in node.inputs:
            if i not in known and isinstance(i, Constant):
                outer.append(i)
                known.add(i)
    refs: dict = {v: k for k, v in enumerate(outer)}
    nodes: list = []
    for node in inner:
        args = []
        for i in node.inputs:
            if i not in refs:
                raise ValueError(f"{i} is not computed inside the fused subgraph")
            args.append(refs[i])
        out = node.outputs[0]
        refs[out] = _append_op(nodes, len(outer), node.op.scalar_op, tuple(args), out.dtype)
    if output not in refs:
        raise ValueError(f"{output} is not computed from the fused subgraph's inputs")
    comp = Composite(len(outer), tuple(i.dtype for i in outer), tuple(nodes), refs[output])
    return comp, outer


def _append_op(nodes: list, n_inputs: int, op, args: tuple, dtype: str) -> int:
    """Append ``op(*args)`` to ``nodes`` (inlining a Composite); returns its ref."""
    if not isinstance(op, Composite):
        nodes.append((op, args, dtype))
        return n_inputs + len(nodes) - 1
    local = list(args)  # the inner composite's refs -> refs in ``nodes``
    for inner_op, inner_refs, inner_dtype in op.nodes:
        ref = _append_op(
            nodes, n_inputs, inner_op, tuple(local[r] for r in inner_refs), inner_dtype
        )
        local.append(ref)
    return local[op.output]
