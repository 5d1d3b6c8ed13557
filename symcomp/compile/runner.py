"""The reference runner: executes each node's NumPy ``perform`` in toposort order."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from symcomp.graph.fgraph import FunctionGraph
from symcomp.graph.variable import Constant


class PyRunner:
    """Runs a FunctionGraph with NumPy. ``run(input_values) -> output_values``.

    Storage is a flat list indexed by slot; each node is a precomputed thunk, so the
    per-call overhead is one Python call per node. Where ``fgraph.inplace_plan`` (see
    symcomp.optimize.inplace) lets an Elemwise node overwrite an input whose scalar code is
    a NumPy ufunc, the ufunc writes into that input's buffer (``out=``).
    """

    def __init__(self, fgraph: FunctionGraph, profile=None):
        self.fgraph = fgraph
        self.profile = profile
        slots: dict = {}
        for v in fgraph.variables:
            slots[v] = len(slots)
        self.n_slots = len(slots)
        self.input_slots = [slots[v] for v in fgraph.inputs]
        self.output_slots = [slots[v] for v in fgraph.outputs]
        self.constants = [
            (slots[c], c.data) for c in fgraph.constants if c not in set(fgraph.inputs)
        ]
        plan = getattr(fgraph, "inplace_plan", None)
        self.thunks = [
            (
                node,
                [slots[i] for i in node.inputs],
                [slots[o] for o in node.outputs],
                [np.dtype(o.type.dtype) for o in node.outputs],
                _inplace_thunk(node, plan),
            )
            for node in fgraph.apply_nodes
        ]

    def run(self, values: Sequence) -> list:
        storage = [None] * self.n_slots
        for slot, value in self.constants:
            storage[slot] = value
        for slot, value in zip(self.input_slots, values):
            storage[slot] = value
        profile = self.profile
        for node, ins, outs, dtypes, inplace in self.thunks:
            args = [storage[i] for i in ins]
            start = time.perf_counter() if profile is not None else 0.0
            try:
                if inplace is None or (results := inplace(args, dtypes[0])) is None:
                    results = node.op.perform(node, args)
            except Exception as err:  # re-raised with the node's context
                raise node_error(node, args, err) from err
            if profile is not None:
                profile.record(node, time.perf_counter() - start)
            for slot, value, dtype in zip(outs, results, dtypes):
                if type(value) is not np.ndarray or value.dtype != dtype:
                    value = np.asarray(value, dtype=dtype)
                storage[slot] = value
        return [storage[s] for s in self.output_slots]


def _inplace_thunk(node, plan):
    """``thunk(args, out_dtype) -> [result] or None``: ``node`` computed into the buffer of
    the input the plan names, or None (not planned, or no ufunc to write with). The thunk
    returns None, so the node runs normally, when the runtime buffer cannot be reused."""
    if plan is None or node not in plan.nodes:
        return None
    kernel = ufunc_kernel(node.op.scalar_op, [i.dtype for i in node.inputs], node.outputs[0].dtype)
    if kernel is None:
        return None
    k, checked = plan.nodes[node], node in plan.checked

    def thunk(args, out_dtype):
        buf = args[k]
        if type(buf) is not np.ndarray or buf.dtype != out_dtype or not buf.flags.writeable:
            return None
        if not buf.flags.owndata and _self_overlapping(buf):
            return None
        if checked and buf.shape != np.broadcast_shapes(*(a.shape for a in args)):
            return None
        kernel(args, buf)
        return [buf]

    return thunk


def _self_overlapping(a: np.ndarray) -> bool:
    """A view whose elements share memory (a broadcast: a zero stride on a long dim)."""
    return any(s == 0 and n > 1 for s, n in zip(a.strides, a.shape))


def ufunc_kernel(scalar_op, in_dtypes, out_dtype):
    """``kernel(args, out)`` computing ``scalar_op`` into ``out`` with NumPy ufuncs, with
    exactly the values ``scalar_op.impl`` gives; None where that cannot be guaranteed.
    A Composite runs its inner ops normally and writes its last one into ``out``."""
    from symcomp.scalar.composite import Composite

    if not isinstance(scalar_op, Composite):
        return _ufunc_call(scalar_op, list(in_dtypes), out_dtype)
    nodes, n = scalar_op.nodes, scalar_op.n_inputs
    if not nodes or scalar_op.output != n + len(nodes) - 1:
        return None
    dtypes = list(in_dtypes) + [d for _, _, d in nodes]
    last_op, last_refs, last_dtype = nodes[-1]
    last = _ufunc_call(last_op, [dtypes[r] for r in last_refs], last_dtype)
    if last is None or last_dtype != out_dtype:
        return None
    inner = nodes[:-1]

    def kernel(args, out):
        values = list(args)
        for op, refs, dtype in inner:
            values.append(op.impl(*(values[r] for r in refs), out_dtype=dtype))
        last([values[r] for r in last_refs], out)

    return kernel


def _ufunc_call(scalar_op, in_dtypes, out_dtype):
    """``call(args, out)`` for a scalar op whose impl is the base one around a ufunc whose
    own result dtype is ``out_dtype`` (so writing into ``out`` casts nothing)."""
    from symcomp.scalar.base import ScalarOp

    ufunc = type(scalar_op).reference
    if not isinstance(ufunc, np.ufunc) or type(scalar_op).impl is not ScalarOp.impl:
        return None
    if ufunc.nout != 1 or ufunc.nin != len(in_dtypes):
        return None
    cast = scalar_op.float_output and np.dtype(out_dtype).kind == "f"
    if cast:
        in_dtypes = [out_dtype if np.dtype(d).kind in "biu" else d for d in in_dtypes]
    try:
        natural = ufunc.resolve_dtypes(tuple(np.dtype(d) for d in in_dtypes) + (None,))[-1]
    except (TypeError, ValueError):  # no loop for these dtypes: leave it to impl
        return None
    if natural != np.dtype(out_dtype):
        return None

    def call(args, out):
        if cast:
            args = [a.astype(out_dtype, copy=False) if a.dtype.kind in "biu" else a for a in args]
        with np.errstate(all="ignore"):
            ufunc(*args, out=out, casting="unsafe")

    return call


def node_error(node, args, err: Exception) -> Exception:
    """``err`` with a message naming the node, its inputs' shapes/dtypes and the user line.

    The exception keeps its type so user code catching ValueError etc. still works.
    """
    from symcomp.tensor.errors import where

    text = str(err)
    suffix = "" if "The node was built at" in text else where(node.trace)
    msg = (
        f"{text}\nApply node that caused the error: {node}\n"
        f"Inputs:\n{node.describe_inputs(args)}{suffix}"
    )
    try:
        new = type(err)(msg)
    except Exception:  # exception types with unusual constructors
        new = err
        new.args = (msg,) + tuple(err.args[1:])
    return new


def is_constant_value(fgraph: FunctionGraph, var) -> bool:
    return isinstance(var, Constant) and var not in fgraph.inputs
