"""Rewrites of Scan and IfElse nodes (pass ``scan_opt``, after fusion).

- ``hoist_invariants``: inner nodes that depend only on non-sequences and constants are
  computed once, before the loop (``scan(f, non_sequences=W)`` with ``W.T`` inside: the
  transpose leaves the loop), and become non-sequences.
- ``M @ x_t`` with x a sequence and M a non-sequence matrix becomes a new sequence
  ``X @ M.T`` computed before the loop (one gemm instead of a gemv per step).
- ``rewrite_inner``: the inner graphs (Scan steps, IfElse branches) go through the same
  pipeline as the outer graph, so fusion and BLAS (gemv/gemm) apply inside the loop.
- ``keep_last_state`` (graph rule): a state whose buffer is only read as ``buf[-1]`` keeps
  only its last L values (a ring buffer) instead of one value per step.
"""

from __future__ import annotations

import weakref
from dataclasses import replace as dc_replace

from symcomp.control.ifelse import IfElse
from symcomp.control.scan_op import Scan
from symcomp.optimize.engine import Pass

scan_opt = Pass("scan_opt", strategy="fixed_point", doc="rewrite loops and their inner graphs")
_done: weakref.WeakSet = weakref.WeakSet()  # ops whose inner graphs were rewritten


def _rewrite_graph(inputs, outputs) -> list:
    from symcomp.optimize.pipeline import rewrite

    new, _ = rewrite(list(inputs), list(outputs), excluding=("inplace",))
    return new


def _rewrite_scan(op, inputs):
    """New outputs of Scan ``op`` on ``inputs`` with invariants hoisted and the inner graph
    rewritten, or None when already done."""
    if op in _done:
        return None
    summed = _sums_out_of_loop(op, inputs)
    if summed is not None:
        return summed
    for step in (_hoisted, _seq_products):
        moved = step(op, inputs)
        if moved is not None:
            op, inputs = moved
    new_outs = _rewrite_graph(op.inner_inputs, op.inner_outputs)
    new_op = dc_replace(op, inner_outputs=tuple(new_outs))
    _done.add(new_op)
    return list(new_op.make_node(*inputs).outputs)


def _rewrite_ifelse(op, inputs):
    if op in _done:
        return None
    n = len(op.then_outputs)
    new = _rewrite_graph(op.inner_inputs, list(op.then_outputs) + list(op.else_outputs))
    new_op = IfElse(op.inner_inputs, tuple(new[:n]), tuple(new[n:]))
    _done.add(new_op)
    return list(new_op.make_node(*inputs).outputs)


@scan_opt.graph_rule
def rewrite_inner(outputs, ctx):
    # scan(f) -> scan(rewritten f), ifelse(c, f, g) -> ifelse(c, rewritten f, rewritten g)
    from symcomp.graph.basic import toposort

    memo: dict = {}
    changed = False
    for node in toposort(outputs):
        inputs = [memo.get(i, i) for i in node.inputs]
        new = None
        if isinstance(node.op, Scan):
            new = _rewrite_scan(node.op, inputs)
        elif isinstance(node.op, IfElse):
            new = _rewrite_ifelse(node.op, inputs)
        if new is None and any(a is not b for a, b in zip(inputs, node.inputs)):
            new = node.op.make_node(*inputs).outputs
        if new is not None:
            changed = True
            memo.update(zip(node.outputs, new))
    return [memo.get(o, o) for o in outputs] if changed else None


def _accumulation(op, k):
    """For a last-value state ``acc' = acc + x`` whose x does not read acc: ("outer", u, v)
    when x = outer(u, v), ("sum", x, None) when x has at most one dim; else None."""
    from symcomp.graph.basic import ancestors
    from symcomp.scalar.arith import Add
    from symcomp.tensor.dimshuffle import DimShuffle
    from symcomp.tensor.elemwise import Elemwise
    from symcomp.tensor.linalg import Dot

    if op.state_taps[k] != (-1,) or not op.keeps_last(k):
        return None
    _, taps, _ = op.split_inner()
    acc, new = taps[k][0], op.inner_outputs[k]
    node = new.owner
    if node is None or not isinstance(node.op, Elemwise) or not isinstance(node.op.scalar_op, Add):
        return None
    if len(node.inputs) != 2 or node.inputs[0] is not acc or new.type != acc.type:
        return None
    x = node.inputs[1]
    others = [o for j, o in enumerate(op.inner_outputs) if j != k] + [x]
    if acc in set(ancestors(others)):
        return None
    if x.type != acc.type:
        return None
    d = x.owner
    if isinstance(getattr(d, "op", None), Dot) and x.ndim == 2:
        a, b = d.inputs
        if (
            a.owner
            and b.owner
            and isinstance(a.owner.op, DimShuffle)
            and isinstance(b.owner.op, DimShuffle)
            and a.owner.op.new_order == (0, "x")
            and b.owner.op.new_order == ("x", 0)
        ):
            return "outer", a.owner.inputs[0], b.owner.inputs[0]
    if x.ndim <= 1:
        return "sum", x, None
    return None


def _sums_out_of_loop(op, inputs):
    """Accumulators summed after the loop: ``acc' = acc + outer(u_t, v_t)`` becomes the
    per-step outputs u and v and ``acc0 + U.T @ V`` (one matrix product instead of a
    rank-1 update and a copy of acc per step); ``acc' = acc + x_t`` with x_t a vector or
    scalar becomes ``acc0 + X.sum(0)``. Returns the node's new outputs, or None."""
    import symcomp.tensor as st
    from symcomp.control.ifelse import ifelse
    from symcomp.graph.basic import clone_replace

    found = {k: _accumulation(op, k) for k in range(op.n_states)}
    found = {k: v for k, v in found.items() if v is not None}
    if not found:
        return None
    n, seqs, inits, nonseqs = op.split_outer(list(inputs))
    _, taps, _ = op.split_inner()
    keep = [k for k in range(op.n_states) if k not in found]
    extra = []
    for k in sorted(found):
        kind, u, v = found[k]
        extra += [u, v] if kind == "outer" else [u]
    inner_ins = list(op.inner_inputs[: op.n_seqs])
    for k in keep:
        inner_ins += taps[k]
    inner_ins += list(op.inner_inputs[op.n_seqs + op.n_tap_inputs :])
    outs = [op.inner_outputs[k] for k in keep] + list(op.inner_outputs[op.n_states :]) + extra
    new_op = dc_replace(
        op,
        inner_inputs=tuple(inner_ins),
        inner_outputs=tuple(clone_replace(outs, {})),
        state_taps=tuple(op.state_taps[k] for k in keep),
        n_nitsot=op.n_nitsot + len(extra),
        last_only=tuple(op.keeps_last(k) for k in keep),
    )
    res = new_op.make_node(n, *seqs, *[inits[k] for k in keep], *nonseqs).outputs
    bufs = dict(zip(keep, res[: len(keep)]))
    nits = res[len(keep) : len(keep) + op.n_nitsot]
    stacked = iter(res[len(keep) + op.n_nitsot :])
    for k in sorted(found):
        kind = found[k][0]
        acc0 = inits[k][-1]
        total = (
            st.dot(next(stacked).T, next(stacked)) if kind == "outer" else next(stacked).sum(axis=0)
        )
        final = ifelse(st.gt(n, 0), acc0 + total.astype(acc0.dtype), acc0, computed=[acc0, *res])
        bufs[k] = st.expand_dims(final, 0)
    return [bufs[k] for k in range(op.n_states)] + list(nits)


def _hoisted(op, inputs):
    """(op, inputs) with the loop-invariant inner nodes moved out, or None."""
    from symcomp.graph.basic import clone_replace, toposort
    from symcomp.graph.variable import Constant
    from symcomp.tensor.type import TensorType

    _, _, inner_nonseqs = op.split_inner()
    invariant = set(inner_nonseqs)
    lifted = []
    for n in toposort(list(op.inner_outputs), blockers=op.inner_inputs):
        if all(i in invariant or isinstance(i, Constant) for i in n.inputs):
            invariant.update(n.outputs)
            lifted.extend(o for o in n.outputs)
    # only values read by per-step work are worth a new input
    used = {
        i
        for n in toposort(list(op.inner_outputs), blockers=op.inner_inputs)
        if not set(n.outputs) <= invariant
        for i in n.inputs
    }
    used |= set(op.inner_outputs)
    targets = [v for v in lifted if v in used and v not in inner_nonseqs]
    if not targets:
        return None
    outer_nonseqs = list(inputs[1 + op.n_seqs + op.n_states :])
    outer = clone_replace(targets, dict(zip(inner_nonseqs, outer_nonseqs)))
    fresh = [TensorType(v.dtype, tuple(v.type.shape))(name=v.name) for v in targets]
    new_outs = clone_replace(list(op.inner_outputs), dict(zip(targets, fresh)))
    new_op = dc_replace(
        op, inner_inputs=tuple(op.inner_inputs) + tuple(fresh), inner_outputs=tuple(new_outs)
    )
    return new_op, list(inputs) + list(outer)


def _seq_product(node, seqs: set, nonseqs: set):
    """(k, M, transpose) when ``node`` is ``M @ s`` (transpose) or ``s @ M`` with s a
    sequence slot (a vector) and M a non-sequence matrix; else None."""
    from symcomp.tensor.linalg import Dot, MatMul

    if not isinstance(node.op, (Dot, MatMul)) or len(node.inputs) != 2:
        return None
    a, b = node.inputs
    if a in nonseqs and a.ndim == 2 and b in seqs and b.ndim == 1:
        return b, a, True
    if a in seqs and a.ndim == 1 and b in nonseqs and b.ndim == 2:
        return a, b, False
    return None


def _seq_products(op, inputs):
    """(op, inputs) with each ``M @ x_t`` (x a sequence, M a non-sequence matrix) computed
    for every step at once before the loop, ``X @ M.T``, and read as a new sequence: one
    matrix product instead of a matrix-vector product per step (an RNN's input
    projection). None when there is none."""
    import symcomp.tensor as st
    from symcomp.graph.basic import clone_replace, toposort
    from symcomp.tensor.type import TensorType

    seq_slots, _, inner_nonseqs = op.split_inner()
    n, seqs, inits, nonseqs = op.split_outer(list(inputs))
    outer_of = dict(zip(seq_slots, seqs)) | dict(zip(inner_nonseqs, nonseqs))
    found = []
    for node in toposort(list(op.inner_outputs), blockers=op.inner_inputs):
        hit = _seq_product(node, set(seq_slots), set(inner_nonseqs))
        if hit is not None and node.outputs[0].dtype == hit[0].dtype == hit[1].dtype:
            found.append((node.outputs[0], *hit))
    if not found:
        return None
    new_seqs, fresh = [], []
    for out, slot, m, transpose in found:
        x, mat = outer_of[slot], outer_of[m]
        new_seqs.append(st.dot(x, mat.T if transpose else mat))
        fresh.append(TensorType(out.dtype, tuple(out.type.shape))(name=out.name))
    new_outs = clone_replace(list(op.inner_outputs), {f[0]: v for f, v in zip(found, fresh)})
    k = op.n_seqs
    new_op = dc_replace(
        op,
        inner_inputs=tuple(op.inner_inputs[:k]) + tuple(fresh) + tuple(op.inner_inputs[k:]),
        inner_outputs=tuple(new_outs),
        n_seqs=k + len(fresh),
    )
    return new_op, [n, *seqs, *new_seqs, *inits, *nonseqs]


@scan_opt.graph_rule
def keep_last_state(outputs, ctx):
    # scan(...).buf[-1] with no other reader -> ring-buffered state, buf[-1]
    from symcomp.graph.basic import clone_replace, toposort
    from symcomp.tensor.subtensor import Subtensor

    nodes = toposort(outputs, blockers=ctx.inputs if hasattr(ctx, "inputs") else ())
    readers: dict = {}
    for n in nodes:
        for i in n.inputs:
            readers.setdefault(i, []).append(n)
    out_set = set(outputs)

    def last_readers(var, lag):
        """The ``var[-1]`` nodes reading var (through one ``[lag:]``), or None when var
        is read any other way."""
        found = []
        if var in out_set or not readers.get(var):
            return None
        for r in readers[var]:
            if not isinstance(r.op, Subtensor):
                return None
            if r.op.idx_list == (("int", -1),):
                found.append(r)
            elif r.op.idx_list == (("slice", lag, None, None),) and lag is not None:
                inner = last_readers(r.outputs[0], None)
                if inner is None:
                    return None
                found.extend(inner)
            else:
                return None
        return found

    replace = {}
    for n in nodes:
        if not isinstance(n.op, Scan):
            continue
        op = n.op
        lasts = [
            None if op.keeps_last(k) else last_readers(n.outputs[k], op.lags()[k])
            for k in range(op.n_states)
        ]
        if not any(lasts):
            continue
        new_op = dc_replace(
            op, last_only=tuple(op.keeps_last(k) or bool(lasts[k]) for k in range(op.n_states))
        )
        if op in _done:
            _done.add(new_op)
        new_outs = new_op.make_node(*n.inputs).outputs
        for k in range(op.n_states):
            if lasts[k]:
                for r in lasts[k]:
                    replace[r.outputs[0]] = new_outs[k][-1]
            else:
                replace[n.outputs[k]] = new_outs[k]
        for j in range(op.n_nitsot):
            replace[n.outputs[op.n_states + j]] = new_outs[op.n_states + j]
    if not replace:
        return None
    return clone_replace(list(outputs), replace)


@scan_opt.graph_rule
def drop_unused_outputs(outputs, ctx):
    # scan(f -> (.., y, ..)) with y never read -> scan(f -> (.., ..)): y's step work is gone
    from symcomp.graph.basic import toposort

    nodes = toposort(outputs)
    read = {i for n in nodes for i in n.inputs} | set(outputs)
    memo: dict = {}
    changed = False
    for node in nodes:
        inputs = [memo.get(i, i) for i in node.inputs]
        new = None
        op = node.op
        if isinstance(op, Scan):
            nit = node.outputs[op.n_states :]
            used = [j for j, o in enumerate(nit) if o in read]
            if len(used) < len(nit):
                inner = list(op.inner_outputs[: op.n_states])
                inner += [op.inner_outputs[op.n_states + j] for j in used]
                new_op = dc_replace(op, inner_outputs=tuple(inner), n_nitsot=len(used))
                if op in _done:
                    _done.add(new_op)
                res = new_op.make_node(*inputs).outputs
                new = list(res[: op.n_states]) + [None] * len(nit)
                for k, j in enumerate(used):
                    new[op.n_states + j] = res[op.n_states + k]
        if new is None and any(a is not b for a, b in zip(inputs, node.inputs)):
            new = node.op.make_node(*inputs).outputs
        if new is not None:
            changed = True
            memo.update((o, n) for o, n in zip(node.outputs, new) if n is not None)
    return [memo.get(o, o) for o in outputs] if changed else None


__all__ = ["scan_opt"]
