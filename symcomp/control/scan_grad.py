"""The gradient of Scan: a reverse Scan over the same steps.

Forward step t reads ``buf[L + t + tap]`` of each state and writes ``buf[L + t]``. Going
backwards (t = n-1 .. 0), the cotangent of ``buf[L + t]`` is complete when step t is
reached (only later steps read it). The reverse scan carries, per state, a window ``W`` of
the cotangents of positions ``L+t-1 .. L+t-L`` (just the cotangent of ``buf[L+t-1]`` when
L = 1), and one accumulator per non-sequence; per-sequence cotangents are its per-step
outputs. The window left after step 0 holds the cotangents of the initial values.
With ``truncate_gradient = k > 0`` the reverse scan runs over the last k steps only.
"""

from __future__ import annotations

from dataclasses import replace as dc_replace


def _is_float(v) -> bool:
    return v.dtype.startswith("float") or v.dtype.startswith("complex")


def scan_pullback(op, inputs, outputs, cotangents):
    import symcomp.tensor as st
    from symcomp.control.scan_op import Scan
    from symcomp.gradient import grad
    from symcomp.graph.basic import clone_replace

    n, seqs, inits, nonseqs = op.split_outer(list(inputs))
    K, S = op.n_states, op.n_seqs
    g_bufs, g_nit = list(cotangents[:K]), list(cotangents[K:])
    lags = op.lags()
    diff_states = [k for k in range(K) if _is_float(inits[k])]
    if any(op.keeps_last(k) for k in diff_states):
        full = dc_replace(op, last_only=())  # the whole trajectory is needed
        outputs = full.make_node(*inputs).outputs
    bufs = list(outputs[:K])
    inner_seqs, inner_taps, inner_nonseqs = op.split_inner()
    diff_seqs = [s for s in range(S) if _is_float(seqs[s])]
    diff_nonseqs = [m for m in range(len(nonseqs)) if _is_float(nonseqs[m])]

    def rev(x):
        return x[::-1]

    def ph(like, drop, name):
        from symcomp.tensor.type import TensorType

        return TensorType(like.dtype, tuple(like.type.shape[drop:]))(name=name)

    # Backward sequences (reversed): forward sequence values, tap values, cotangents.
    b_outer_seqs, b_inner_seqs, replace = [], [], {}
    for s in range(S):
        b_outer_seqs.append(rev(seqs[s][:n]))
        b_inner_seqs.append(ph(seqs[s], 1, f"x{s}"))
        replace[inner_seqs[s]] = b_inner_seqs[-1]
    for k in range(K):
        for tap, var in zip(op.state_taps[k], inner_taps[k]):
            start = lags[k] + tap
            b_outer_seqs.append(rev(bufs[k][start : start + n]))
            b_inner_seqs.append(ph(var, 0, var.name))
            replace[var] = b_inner_seqs[-1]
    # The forward's new states, read back instead of recomputed (tanh's gradient reads
    # its output, so the step's forward work is not redone).
    new_state_inner = {}
    for k in diff_states:
        b_outer_seqs.append(rev(bufs[k][lags[k] : lags[k] + n]))
        new_state_inner[k] = ph(op.inner_outputs[k], 0, f"state{k}[t]")
        b_inner_seqs.append(new_state_inner[k])
    g_nit_inner = {}
    for j, g in enumerate(g_nit):
        if g is not None:
            b_outer_seqs.append(rev(g))
            g_nit_inner[j] = ph(g, 1, f"g_out{j}")
            b_inner_seqs.append(g_nit_inner[j])
    g_buf_inner = {}
    for k in diff_states:
        if g_bufs[k] is not None and not op.keeps_last(k):
            b_outer_seqs.append(rev(g_bufs[k][lags[k] :]))
            g_buf_inner[k] = ph(g_bufs[k], 1, f"g_state{k}")
            b_inner_seqs.append(g_buf_inner[k])

    # Backward states: cotangent windows, then non-sequence accumulators.
    b_inits, windows = [], {}
    for k in diff_states:
        elem = bufs[k][0]
        window = elem if lags[k] == 1 else bufs[k][: lags[k]]
        start = st.zeros_like(window)
        if op.keeps_last(k) and g_bufs[k] is not None:
            # only the last L positions have cotangents: they seed the window
            start = g_bufs[k][0] if lags[k] == 1 else rev(g_bufs[k])
        b_inits.append(st.expand_dims(start, 0))
        windows[k] = ph(window, 0, f"w{k}")
    accs = {}
    for m in diff_nonseqs:
        b_inits.append(st.expand_dims(st.zeros_like(nonseqs[m]), 0))
        accs[m] = ph(nonseqs[m], 0, f"acc{m}")
    b_nonseqs = {m: ph(nonseqs[m], 0, inner_nonseqs[m].name) for m in range(len(nonseqs))}
    replace.update({inner_nonseqs[m]: b_nonseqs[m] for m in b_nonseqs})

    fwd_outs = clone_replace(list(op.inner_outputs), replace)
    known = {}
    for k in diff_states:
        cur = windows[k] if lags[k] == 1 else windows[k][0]
        if k in g_buf_inner:
            cur = cur + g_buf_inner[k]
        known[fwd_outs[k]] = cur
    for j, g in g_nit_inner.items():
        known[fwd_outs[K + j]] = g
    wrt_seqs = [b_inner_seqs[s] for s in diff_seqs]
    wrt_taps = [replace[v] for k in diff_states for v in inner_taps[k]]
    wrt_nonseqs = [b_nonseqs[m] for m in diff_nonseqs]
    wrt = wrt_seqs + wrt_taps + wrt_nonseqs
    grads = (
        grad(None, wrt, known_grads=known, disconnected_inputs="ignore")
        if known
        else [st.zeros_like(w) for w in wrt]
    )
    grads = clone_replace(
        grads,
        {fwd_outs[k]: new_state_inner[k] for k in diff_states if fwd_outs[k].owner is not None},
    )
    grads = _shape_only_sum_to(grads)
    g_seq = grads[: len(wrt_seqs)]
    g_tap = iter(grads[len(wrt_seqs) : len(wrt_seqs) + len(wrt_taps)])
    g_ns = grads[len(wrt_seqs) + len(wrt_taps) :]

    new_windows = []
    for k in diff_states:
        w, lag = windows[k], lags[k]
        if lag == 1:
            new_windows.append(next(g_tap))
            continue
        shifted = st.concatenate([w[1:], st.zeros_like(w[:1])], axis=0)
        for tap in op.state_taps[k]:
            shifted = st.inc_subtensor(shifted[-tap - 1], next(g_tap))
        new_windows.append(shifted)
    new_accs = [accs[m] + g for m, g in zip(diff_nonseqs, g_ns)]
    inner_outputs = [
        o.astype(i.dtype) if o.dtype != i.dtype else o
        for o, i in zip(
            new_windows + new_accs, [windows[k] for k in diff_states] + list(accs.values())
        )
    ]
    inner_outputs += [g.astype(b_inner_seqs[s].dtype) for s, g in zip(diff_seqs, g_seq)]
    n_b = n if op.truncate_gradient < 0 else st.minimum(n, op.truncate_gradient)
    back = Scan(
        inner_inputs=tuple(
            b_inner_seqs
            + [windows[k] for k in diff_states]
            + list(accs.values())
            + list(b_nonseqs.values())
        ),
        inner_outputs=tuple(inner_outputs),
        n_seqs=len(b_inner_seqs),
        state_taps=((-1,),) * (len(diff_states) + len(diff_nonseqs)),
        n_nitsot=len(diff_seqs),
        name=f"grad_of_{op.name}" if op.name else "grad",
        last_only=(True,) * (len(diff_states) + len(diff_nonseqs)),
    )
    results = back.make_node(n_b, *b_outer_seqs, *b_inits, *nonseqs).outputs
    n_w = len(diff_states)
    finals = [r[-1] for r in results[: n_w + len(diff_nonseqs)]]
    seq_grads = results[n_w + len(diff_nonseqs) :]
    return (
        [None]
        + _seq_results(op, seqs, n, n_b, diff_seqs, seq_grads)
        + _init_results(op, inits, n, g_bufs, diff_states, finals[:n_w])
        + _nonseq_results(nonseqs, diff_nonseqs, finals[n_w:])
    )


def _shape_only_sum_to(outputs) -> list:
    """sum_to(g, x) reads only x's shape: give it zeros of that shape, so the step does not
    recompute a forward value x (a matrix product, say) just for its shape."""
    import symcomp.tensor as st
    from symcomp.graph.basic import toposort
    from symcomp.tensor.elemwise import SumToShape
    from symcomp.tensor.shapeof import infer_shapes

    memo: dict = {}
    for node in toposort(outputs):
        inputs = [memo.get(i, i) for i in node.inputs]
        if isinstance(node.op, SumToShape) and inputs[1].owner is not None:
            x = inputs[1]
            inputs[1] = st.zeros(tuple(infer_shapes([x])[x]), dtype=x.dtype)
        if any(a is not b for a, b in zip(inputs, node.inputs)):
            memo.update(zip(node.outputs, node.op.make_node(*inputs).outputs))
    return [memo.get(o, o) for o in outputs]


def _seq_results(op, seqs, n, n_b, diff_seqs, seq_grads) -> list:
    import symcomp.tensor as st

    out = [None] * len(seqs)
    for s, g in zip(diff_seqs, seq_grads):
        z = st.zeros_like(seqs[s])
        out[s] = st.set_subtensor(z[n - n_b : n], g[::-1])
    return out


def _init_results(op, inits, n, g_bufs, diff_states, finals) -> list:
    import symcomp.tensor as st

    out = [None] * len(inits)
    lags = op.lags()
    for k, w in zip(diff_states, finals):
        lag = lags[k]
        d = st.expand_dims(w, 0) if lag == 1 else w[::-1]
        if op.truncate_gradient > 0:
            d = st.switch(st.gt(n, op.truncate_gradient), st.zeros_like(d), d)
        if g_bufs[k] is not None and not op.keeps_last(k):
            d = d + g_bufs[k][:lag]
        init = inits[k]
        out[k] = st.set_subtensor(st.zeros_like(init)[init.shape[0] - lag :], d)
    return out


def _nonseq_results(nonseqs, diff_nonseqs, finals) -> list:
    out = [None] * len(nonseqs)
    for m, f in zip(diff_nonseqs, finals):
        out[m] = f
    return out
