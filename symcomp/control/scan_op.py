"""Scan: a loop over an inner graph with sequences, recurrent states and per-step outputs.

``scan()`` (symcomp/control/scan.py) normalizes what the user wrote (taps, go_backwards,
updates, shared variables) into one Scan node; this op only knows three kinds of inputs:

- sequences: arrays of length >= n; step t reads ``seq[t]`` (one inner input each: taps of
  a user's sequence are separate, shifted slices of it);
- states: each with negative taps; its buffer holds ``L = -min(taps)`` initial values then
  one value per step: step t reads ``buf[L + t + tap]`` and writes ``buf[L + t]``; the node
  outputs the whole buffer, shape ``(L + n, ...)``;
- non-sequences: the same value at every step.

Inner inputs: (sequence slots, state taps state by state, non-sequences). Inner outputs:
(one new value per state, then the per-step outputs that are not fed back, "nit-sot").
Node inputs: (n_steps, sequences, initial buffers (``init[-L:]`` is used), non-sequences).
Node outputs: (state buffers, nit-sot outputs of shape ``(n, ...)``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.tensor.type import TensorType

_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_graphs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class Scan(Op):
    """``n`` steps of the inner graph (see the module docstring for the layout).

    Ops compare by identity: an inner graph is not compared structurally.
    """

    inner_inputs: tuple
    inner_outputs: tuple
    n_seqs: int
    state_taps: tuple  # one tuple of negative ints per state
    n_nitsot: int
    name: str | None = None
    # Per state: keep only its last L values (output shape (L, ...)) instead of all.
    last_only: tuple = ()
    truncate_gradient: int = -1

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        # what the rewritten-graph cache keys on: the inner graph's structure and constants
        return f"{self}<{inner_digest(self.inner_inputs, self.inner_outputs)}>" + repr(
            (self.n_seqs, self.state_taps, self.n_nitsot, self.last_only, self.truncate_gradient)
        )

    # -- layout helpers ---------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return len(self.state_taps)

    @property
    def n_tap_inputs(self) -> int:
        return sum(len(t) for t in self.state_taps)

    @property
    def n_nonseqs(self) -> int:
        return len(self.inner_inputs) - self.n_seqs - self.n_tap_inputs

    def lags(self) -> list[int]:
        return [-min(t) for t in self.state_taps]

    def keeps_last(self, k: int) -> bool:
        return bool(self.last_only) and bool(self.last_only[k])

    def split_outer(self, inputs) -> tuple:
        """(n_steps, sequences, initial buffers, non-sequences) of a node's inputs."""
        s, k = self.n_seqs, self.n_states
        return (
            inputs[0],
            list(inputs[1 : 1 + s]),
            list(inputs[1 + s : 1 + s + k]),
            list(inputs[1 + s + k :]),
        )

    def split_inner(self) -> tuple:
        """(sequence slots, per-state lists of tap inputs, non-sequence slots)."""
        ins = list(self.inner_inputs)
        seqs, pos, taps = ins[: self.n_seqs], self.n_seqs, []
        for t in self.state_taps:
            taps.append(ins[pos : pos + len(t)])
            pos += len(t)
        return seqs, taps, ins[pos:]

    def __str__(self) -> str:
        label = f"Scan{{{self.name}}}" if self.name else "Scan"
        return f"{label}[{self.n_seqs} seqs, taps {list(map(list, self.state_taps))}, " + (
            f"{self.n_nitsot} nit-sot, {self.n_nonseqs} non-seqs]"
        )

    # -- type rule ------------------------------------------------------------------------
    def make_node(self, n_steps, *args):
        from symcomp.tensor.basic import as_tensor_variable
        from symcomp.tensor.shapeof import as_shape_scalars

        (n_steps,) = as_shape_scalars([n_steps])
        expected = self.n_seqs + self.n_states + self.n_nonseqs
        if len(args) != expected:
            raise TypeError(f"{self} expects {expected} inputs after n_steps, got {len(args)}")
        args = [as_tensor_variable(a) for a in args]
        seqs, inits, nonseqs = (
            args[: self.n_seqs],
            args[self.n_seqs : self.n_seqs + self.n_states],
            args[self.n_seqs + self.n_states :],
        )
        inner_seqs, inner_taps, inner_nonseqs = self.split_inner()
        for outer, inner in zip(seqs, inner_seqs):
            _check_slot(self, "sequence", outer, inner, 1)
        for outer, taps in zip(inits, inner_taps):
            for inner in taps:
                _check_slot(self, "initial state", outer, inner, 1)
        for outer, inner in zip(nonseqs, inner_nonseqs):
            _check_slot(self, "non-sequence", outer, inner, 0)
        out_types = []
        for k, init in enumerate(inits):
            new = self.inner_outputs[k]
            lead = -min(self.state_taps[k]) if self.keeps_last(k) else None
            out_types.append(TensorType(init.dtype, (lead,) + tuple(new.type.shape)))
        for out in self.inner_outputs[self.n_states :]:
            out_types.append(TensorType(out.dtype, (None,) + tuple(out.type.shape)))
        return Apply.make(self, [n_steps, *args], out_types)

    def inner_graphs(self) -> tuple:
        """(the step,) as a FunctionGraph (see ``inner_fgraphs``)."""
        return inner_fgraphs(self, self.inner_outputs)

    # -- NumPy reference ----------------------------------------------------------------
    def inner_function(self):
        fn = _compiled.get(self)
        if fn is None:
            import symcomp

            fn = symcomp.function(
                list(self.inner_inputs),
                list(self.inner_outputs),
                mode="py",
                on_unused_input="ignore",
            )
            fn.trust_input = True
            _compiled[self] = fn
        return fn

    def perform(self, node, inputs):
        n_steps, seqs, inits, nonseqs = self.split_outer(inputs)
        n = check_lengths(self, int(n_steps), seqs, inits)
        lags = self.lags()
        bufs, sizes = [], []
        for k, (init, lag) in enumerate(zip(inits, lags)):
            size = lag if self.keeps_last(k) else lag + n
            buf = np.empty((size,) + init.shape[1:], dtype=node.outputs[k].type.dtype)
            buf[:lag] = init[init.shape[0] - lag :]
            bufs.append(buf)
            sizes.append(size)
        nit = [None] * self.n_nitsot
        fn = self.inner_function()
        for t in range(n):
            args = [s[t] for s in seqs]
            for buf, size, lag, taps in zip(bufs, sizes, lags, self.state_taps):
                args.extend(buf[(lag + t + tap) % size] for tap in taps)
            results = fn(*args, *nonseqs)
            for k, (buf, size, lag) in enumerate(zip(bufs, sizes, lags)):
                value = np.asarray(results[k])
                if value.shape != buf.shape[1:]:
                    raise ValueError(
                        f"{self}: step {t} computed state {k} of shape {value.shape}, but "
                        f"its initial value has shape {buf.shape[1:]}; the state must keep "
                        f"its shape"
                    )
                buf[(lag + t) % size] = value
            for j in range(self.n_nitsot):
                value = np.asarray(results[self.n_states + j])
                if nit[j] is None:
                    dtype = node.outputs[self.n_states + j].type.dtype
                    nit[j] = np.empty((n,) + value.shape, dtype=dtype)
                elif value.shape != nit[j].shape[1:]:
                    raise ValueError(
                        f"{self}: output {j} has shape {value.shape} at step {t} but "
                        f"{nit[j].shape[1:]} at step 0; per-step outputs must keep one shape"
                    )
                nit[j][t] = value
        for k, (size, lag) in enumerate(zip(sizes, lags)):
            if self.keeps_last(k) and n % size:  # ring order -> position order
                bufs[k] = np.roll(bufs[k], -(n % size), axis=0)
        for j in range(self.n_nitsot):
            if nit[j] is None:  # zero steps: lengths not known statically count as 0
                out = node.outputs[self.n_states + j]
                nit[j] = np.zeros(tuple(s or 0 for s in out.type.shape), dtype=out.dtype)
        return bufs + nit

    def infer_shape(self, node, input_shapes):
        from symcomp.graph.basic import graph_replace
        from symcomp.tensor.shapeof import infer_shapes

        n = node.inputs[0]
        _, seq_shapes, init_shapes, _ = self.split_outer(list(input_shapes))
        shapes = []
        for k, (lag, shape) in enumerate(zip(self.lags(), init_shapes)):
            shapes.append((lag if self.keeps_last(k) else n + lag,) + tuple(shape[1:]))
        inner_nit = list(self.inner_outputs[self.n_states :])
        if inner_nit:
            _, seqs, inits, nonseqs = self.split_outer(list(node.inputs))
            inner_seqs, inner_taps, inner_nonseqs = self.split_inner()
            replace = {i: s[0] for i, s in zip(inner_seqs, seqs)}
            for taps, init in zip(inner_taps, inits):
                replace.update({i: init[0] for i in taps})
            replace.update(zip(inner_nonseqs, nonseqs))
            inferred = infer_shapes(inner_nit)
            for out in inner_nit:
                inner = inferred[out]
                symbolic = [s for s in inner if not isinstance(s, int)]
                new = iter(graph_replace(symbolic, replace) if symbolic else [])
                shapes.append((n,) + tuple(s if isinstance(s, int) else next(new) for s in inner))
        return shapes

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.control.scan_grad import scan_pullback

        return scan_pullback(self, inputs, outputs, cotangents)


def inner_fgraphs(op, *outputs) -> tuple:
    """One FunctionGraph over ``op.inner_inputs`` per sequence of inner outputs, built once
    per op and unchecked (a MapIndex's may read shared variables).

    ``op.inner_graphs()`` of the control-flow ops (Scan, IfElse, MapIndex) returns these:
    native code numbers an inner graph's nodes in this order, and the runner lays out their
    Python performs in the same order (``node_thunks`` in symcomp/compile/native.py).
    """
    graphs = _graphs.get(op)
    if graphs is None:
        from symcomp.graph.fgraph import FunctionGraph

        graphs = tuple(FunctionGraph(op.inner_inputs, outs, check=False) for outs in outputs)
        _graphs[op] = graphs
    return graphs


def inner_digest(inputs, outputs) -> str:
    """A digest of an inner graph (structure, ops, types, constants' values)."""
    from symcomp.compile.graphcache import graph_key

    return graph_key(list(inputs), list(outputs), ())[:16]


def _check_slot(op, what, outer, inner, drop: int) -> None:
    if outer.dtype != inner.dtype or outer.ndim != inner.ndim + drop:
        raise TypeError(
            f"{op}: {what} {outer} has type {outer.type}, but the inner graph expects "
            f"{inner.type}" + (" per step" if drop else "")
        )


def check_lengths(op, n: int, seqs, inits) -> int:
    """The number of steps, after checking the sequences are long enough and the initial
    buffers hold enough taps (raises ValueError naming them)."""
    if n < 0:
        raise ValueError(f"{op}: the number of steps must be >= 0, got {n}")
    for k, s in enumerate(seqs):
        if s.shape[0] < n:
            raise ValueError(
                f"{op}: sequence {k} (shape {s.shape}, {s.dtype}) is shorter than the "
                f"{n} steps asked for"
            )
    for k, (init, lag) in enumerate(zip(inits, op.lags())):
        if init.ndim == 0 or init.shape[0] < lag:
            raise ValueError(
                f"{op}: the initial value of state {k} (shape {init.shape}, {init.dtype}) "
                f"needs at least {lag} entries along its first axis for taps "
                f"{list(op.state_taps[k])}"
            )
    return n
