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
    per-call overhead is one Python call per node.
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
        self.thunks = [
            (
                node,
                [slots[i] for i in node.inputs],
                [slots[o] for o in node.outputs],
                [np.dtype(o.type.dtype) for o in node.outputs],
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
        for node, ins, outs, dtypes in self.thunks:
            args = [storage[i] for i in ins]
            start = time.perf_counter() if profile is not None else 0.0
            try:
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
