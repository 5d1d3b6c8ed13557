"""Native Scan and IfElse nodes: their inner graphs become functions of the same module
(``emit_inner``) and the loop or the branch choice runs in C++, with no Python per step."""

from __future__ import annotations

from dataclasses import dataclass

from symcomp.codegen.cpu.registry import TYPENUMS, NodeCode, emitter
from symcomp.control.ifelse import IfElse
from symcomp.control.scan_op import Scan


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
    step: str
    n_seqs: int
    err_steps: str
    err_seqs: tuple
    states: tuple
    nitsot: tuple
    row_args: tuple
    fixed_args: tuple  # (arg index, node input index)
    n_rows: int
    n_args: int
    n_results: int


def _inner_fgraph(inputs, outputs):
    from symcomp.graph.fgraph import FunctionGraph

    return FunctionGraph(list(inputs), list(outputs))


@emitter(Scan)
def emit_scan(node, ctx) -> NodeCode | None:
    from symcomp.codegen.cpu.emitter import emit_inner

    op = node.op
    step = emit_inner(ctx.builder, _inner_fgraph(op.inner_inputs, op.inner_outputs), ctx.options)
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
    fixed = tuple((arg + m, 1 + S + K + m) for m in range(op.n_nonseqs))
    nits = []
    for j in range(op.n_nitsot):
        out = node.outputs[K + j]
        dims = "{" + ", ".join(["0"] + [str(d or 0) for d in out.type.shape[1:]]) + "}"
        nits.append(NitSpec(K + j, TYPENUMS[out.dtype], out.type.ndim, dims))
    spec = ScanSpec(
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
        nitsot=tuple(nits),
        row_args=tuple(rows),
        fixed_args=fixed,
        n_rows=max(1, arg),
        n_args=max(1, arg + op.n_nonseqs),
        n_results=max(1, len(node.outputs)),
    )
    ctx.include("symcomp/scan.hpp")
    return NodeCode(ctx.render("cpu/scan.cpp.j2", s=spec))


@emitter(IfElse)
def emit_ifelse(node, ctx) -> NodeCode | None:
    from symcomp.codegen.cpu.emitter import emit_inner

    op = node.op
    then_fn = emit_inner(ctx.builder, _inner_fgraph(op.inner_inputs, op.then_outputs), ctx.options)
    if then_fn is None:
        return None
    else_fn = emit_inner(ctx.builder, _inner_fgraph(op.inner_inputs, op.else_outputs), ctx.options)
    if else_fn is None:
        return None
    ctx.include("symcomp/scan.hpp")
    return NodeCode(ctx.render("cpu/ifelse.cpp.j2", then_fn=then_fn, else_fn=else_fn))
