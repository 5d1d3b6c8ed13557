"""Native Scan, MapIndex and IfElse nodes: their inner graphs become functions of the same
module (``emit_inner``) and the loop or the branch choice runs in C++, with no Python per step.

An inner node without native code calls its Python perform from inside the loop, as a
top-level fallback node does: the runner gives a node with inner graphs the thunks of each
inner graph (``node_thunks`` in symcomp/compile/native.py), which the loop passes to the
step function (``sc::inner_thunks``). Only an inner graph whose values or constants native
code cannot hold (object dtypes, a constant over ``MAX_INNER_CONSTANT_BYTES``, a MapIndex
body reading shared variables) keeps the whole node in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from symcomp.codegen.cpu.registry import TYPENUMS, NodeCode, emitter
from symcomp.control.ifelse import IfElse
from symcomp.control.map import MapIndex
from symcomp.control.scan_op import Scan
from symcomp.graph.fgraph import MissingInputError


@dataclass(frozen=True)
class StateSpec:
    input: int  # index of the initial buffer among the node inputs
    output: int
    lag: int
    size: str  # C expression: rows of the buffer
    write: str  # C expression: the row step t writes
    ring: bool
    typenum: str
    err: str


@dataclass(frozen=True)
class RowArg:
    arg: int
    base: str
    index: str


@dataclass(frozen=True)
class NitSpec:
    output: int
    typenum: str
    ndim: int
    empty_dims: str


@dataclass(frozen=True)
class ScanSpec:
    """One loop over a step function (scan.cpp.j2): a Scan, or a MapIndex (no sequences, no
    states, the step index as an argument)."""

    node: int  # the node's index in its graph (its entry in `thunks`)
    step: str
    n_seqs: int
    err_steps: str
    err_seqs: tuple
    states: tuple
    nitsot: tuple
    row_args: tuple
    fixed_args: tuple  # (arg index, node input index)
    index_arg: int  # the arg that gets the step as a 0-d int64 array; -1: none
    n_rows: int
    n_args: int
    n_results: int


def _inner_function(ctx, fgraph) -> str | None:
    """The name of the module function computing ``fgraph`` (an op's inner graph), or None
    when native code cannot compute it (the node then runs its perform)."""
    from symcomp.codegen.cpu.emitter import emit_inner

    try:
        fgraph.check()  # a MapIndex body may read shared variables the node does not get
    except MissingInputError:
        return None
    return emit_inner(ctx.builder, fgraph, ctx.options)


def _nitsot(node, first: int) -> tuple:
    """The stacked per-step outputs from ``node.outputs[first]`` on."""
    nits = []
    for j, out in enumerate(node.outputs[first:]):
        dims = "{" + ", ".join(["0"] + [str(d or 0) for d in out.type.shape[1:]]) + "}"
        nits.append(NitSpec(first + j, TYPENUMS[out.dtype], out.type.ndim, dims))
    return tuple(nits)


@emitter(Scan)
def emit_scan(node, ctx) -> NodeCode | None:
    op = node.op
    (step_graph,) = op.inner_graphs()
    step = _inner_function(ctx, step_graph)
    if step is None:
        return None
    S, K = op.n_seqs, op.n_states
    lags = op.lags()
    states, rows, arg = [], [], S
    for s in range(S):
        rows.append(RowArg(s, f"in[{1 + s}]", "t"))
    for k in range(K):
        lag, ring = lags[k], op.keeps_last(k)
        size = str(lag) if ring else f"({lag} + n)"
        out = node.outputs[k]
        states.append(
            StateSpec(
                input=1 + S + k,
                output=k,
                lag=lag,
                size=size,
                write=f"({lag} + t) % {lag}" if ring else f"{lag} + t",
                ring=ring,
                typenum=TYPENUMS[out.dtype],
                err=ctx.error(
                    "ValueError",
                    f"the initial value of state {k} needs at least {lag} "
                    f"entries along its first axis for taps {list(op.state_taps[k])}",
                ),
            )
        )
        for tap in op.state_taps[k]:
            index = f"({lag} + t + ({tap})) % {lag}" if ring else f"{lag} + t + ({tap})"
            rows.append(RowArg(arg, f"out[{k}]", index))
            arg += 1
    spec = ScanSpec(
        node=ctx.index,
        step=step,
        n_seqs=S,
        err_steps=ctx.error("ValueError", "the number of steps must be >= 0, got %ld", "(long)n"),
        err_seqs=tuple(
            ctx.error(
                "ValueError", f"sequence {s} is shorter than the %ld steps asked for", "(long)n"
            )
            for s in range(S)
        ),
        states=tuple(states),
        nitsot=_nitsot(node, K),
        row_args=tuple(rows),
        fixed_args=tuple((arg + m, 1 + S + K + m) for m in range(op.n_nonseqs)),
        index_arg=-1,
        n_rows=max(1, arg),
        n_args=max(1, arg + op.n_nonseqs),
        n_results=max(1, len(node.outputs)),
    )
    ctx.include("symcomp/scan.hpp")
    return NodeCode(ctx.render("cpu/scan.cpp.j2", s=spec))


@emitter(MapIndex)
def emit_map_index(node, ctx) -> NodeCode | None:
    # out[k][i] = body(i, *free)[k]: the Scan loop with no sequences and no states, the
    # index as its first argument and the free values as non-sequences.
    op = node.op
    index = op.inner_inputs[0]
    if index.type.dtype != "int64" or index.type.ndim != 0:
        return None
    (body,) = op.inner_graphs()
    step = _inner_function(ctx, body)
    if step is None:
        return None
    n_free = len(op.inner_inputs) - 1
    spec = ScanSpec(
        node=ctx.index,
        step=step,
        n_seqs=0,
        err_steps=ctx.error("ValueError", "the number of rows must be >= 0, got %ld", "(long)n"),
        err_seqs=(),
        states=(),
        nitsot=_nitsot(node, 0),
        row_args=(),
        fixed_args=tuple((1 + m, 1 + m) for m in range(n_free)),
        index_arg=0,
        n_rows=1,
        n_args=1 + n_free,
        n_results=max(1, len(node.outputs)),
    )
    ctx.include("symcomp/scan.hpp")
    return NodeCode(ctx.render("cpu/scan.cpp.j2", s=spec))


@emitter(IfElse)
def emit_ifelse(node, ctx) -> NodeCode | None:
    then_graph, else_graph = node.op.inner_graphs()
    then_fn = _inner_function(ctx, then_graph)
    if then_fn is None:
        return None
    else_fn = _inner_function(ctx, else_graph)
    if else_fn is None:
        return None
    ctx.include("symcomp/scan.hpp")
    return NodeCode(
        ctx.render("cpu/ifelse.cpp.j2", node=ctx.index, then_fn=then_fn, else_fn=else_fn)
    )
