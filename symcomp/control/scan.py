"""``scan()``: Theano's loop construct, built on the Scan op (symcomp/control/scan_op.py)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from symcomp.graph.variable import Constant, Variable


def scan(
    fn,
    sequences=None,
    outputs_info=None,
    non_sequences=None,
    n_steps=None,
    go_backwards: bool = False,
    truncate_gradient: int = -1,
    strict: bool = False,
    return_list: bool = False,
    name: str | None = None,
):
    """Apply ``fn`` step by step; returns ``(outputs, updates)`` as Theano's scan does.

    sequences: variables iterated over their first axis, or dicts
    ``{"input": s, "taps": [-1, 0, 1]}`` (step t sees ``s[t + tap]`` for each tap, so t
    runs over the steps where every tap is inside s).
    outputs_info: one entry per output of ``fn``: None (the output is not fed back), an
    initial value x0 (fed back as the previous step's value; x0 has the output's shape),
    or ``{"initial": x0, "taps": [-2, -1]}`` (x0 stacks the values before the first step:
    ``x0[-1]`` is the value at tap -1). Without outputs_info no output is fed back.
    non_sequences: variables passed unchanged to every step.
    n_steps: the number of steps (required without sequences; with sequences, each must
    be at least that long; default: the shortest sequence).
    go_backwards: iterate over the sequences from their end.
    truncate_gradient: when > 0, gradients flow back through that many steps only.
    strict: every shared variable ``fn`` uses must be listed in non_sequences.

    ``fn`` receives the sequence taps (sequence by sequence), the fed-back taps (output by
    output) and then the non-sequences, and returns its outputs, a dict of updates of
    shared variables, or ``(outputs, updates)``. An updated shared variable is carried
    from step to step and its value after the last step is in the returned updates, to be
    passed to ``function(updates=...)``; shared variables with a ``default_update`` used
    inside advance at every step the same way. Outputs fed back are returned for steps
    0..n-1 (without their initial values); others stack one value per step.
    """
    import symcomp.tensor as st
    from symcomp.compile.sharedvalue import SharedVariable

    if truncate_gradient == 0 or not isinstance(truncate_gradient, int):
        raise ValueError(f"truncate_gradient must be -1 or a positive int, got {truncate_gradient}")
    seq_specs = [_seq_spec(s) for s in _as_list(sequences)]
    out_specs = _outputs_info(outputs_info)
    nonseqs = [
        st.as_tensor_variable(v) if not isinstance(v, Variable) else v
        for v in _as_list(non_sequences)
    ]

    # Sequence slots: one per (sequence, tap), each a slice of the (reversed) sequence.
    outer_seqs, inner_seqs, lengths = [], [], []
    for seq, taps in seq_specs:
        if go_backwards:
            seq = seq[::-1]
        lo, hi = min(min(taps), 0), max(max(taps), 0)
        for tap in taps:
            start, stop = tap - lo, (tap - hi) or None
            sliced = seq[start:stop] if (start or stop is not None) else seq
            outer_seqs.append(sliced)
            inner_seqs.append(_placeholder(seq, 1, f"{seq.name or 'seq'}[t{tap:+d}]"))
        lengths.append(seq.shape[0] - (hi - lo))
    if n_steps is None:
        if not lengths:
            raise ValueError("scan needs sequences or n_steps to know how many steps to run")
        n = lengths[0]
        for length in lengths[1:]:
            n = st.minimum(n, length)
    else:
        n = st.as_tensor_variable(n_steps)
        if n.ndim != 0 or not n.dtype.startswith(("int", "uint")):
            raise TypeError(f"scan: n_steps must be an integer scalar, got {n_steps!r}")

    # Fed-back outputs: their tap placeholders, and the initial buffers.
    inner_taps, inits = [], []
    for spec in out_specs:
        if spec is None:
            continue
        x0, taps, stacked = spec
        if not stacked:
            inits.append(st.expand_dims(x0, 0))
            elem = x0
        else:
            inits.append(x0)
            elem = x0[0]
        inner_taps.append([_placeholder(elem, 0, f"{x0.name or 'out'}[t{tap:+d}]") for tap in taps])
    inner_nonseqs = [v if isinstance(v, Constant) else _placeholder(v, 0, v.name) for v in nonseqs]

    args = list(inner_seqs) + [v for taps in inner_taps for v in taps] + inner_nonseqs
    outputs, updates = _split_result(fn(*args))
    if outputs_info is None:
        out_specs = [None] * len(outputs)
    if len(outputs) != len(out_specs):
        raise ValueError(
            f"scan: fn returned {len(outputs)} outputs but outputs_info has "
            f"{len(out_specs)} entries (use None for outputs that are not fed back)"
        )
    outputs = [st.as_tensor_variable(o) for o in outputs]
    return _build(
        outputs,
        updates,
        out_specs,
        n,
        outer_seqs,
        inner_seqs,
        inner_taps,
        inits,
        nonseqs,
        inner_nonseqs,
        strict,
        truncate_gradient,
        return_list,
        name,
        SharedVariable,
    )


def _build(
    outputs,
    updates,
    out_specs,
    n,
    outer_seqs,
    inner_seqs,
    inner_taps,
    inits,
    nonseqs,
    inner_nonseqs,
    strict,
    truncate_gradient,
    return_list,
    name,
    shared_class,
):
    import symcomp.tensor as st
    from symcomp.control.scan_op import Scan
    from symcomp.graph.basic import clone_replace, graph_inputs

    updates = OrderedDict(updates)
    bound = set(inner_seqs) | {v for taps in inner_taps for v in taps} | set(inner_nonseqs)
    # Shared variables with a default update (random states) advance at every step.
    pending = list(outputs) + list(updates.values())
    seen: set = set()
    while pending:
        free = [v for v in graph_inputs(pending) if v not in bound and v not in seen]
        pending = []
        for v in free:
            seen.add(v)
            upd = getattr(v, "default_update", None)
            if isinstance(v, shared_class) and upd is not None and v not in updates:
                updates[v] = upd
                pending.append(upd)
    exprs = list(outputs) + list(updates.values())
    free = [v for v in graph_inputs(exprs) if v not in bound and not isinstance(v, Constant)]
    free += [v for v in updates if v not in free]
    # Updated shared variables become states (tap -1); the others, and any other outer
    # variable fn closed over, become implicit non-sequences.
    state_vars = list(updates)
    replace, extra_outer, extra_inner = {}, [], []
    for v in free:
        if v in updates:
            continue
        if strict and isinstance(v, shared_class) and v not in nonseqs:
            raise ValueError(
                f"scan(strict=True): fn uses the shared variable {v} that is not in non_sequences"
            )
        if strict and not isinstance(v, shared_class):
            raise ValueError(f"scan(strict=True): fn uses {v} that is not an argument")
        replace[v] = _placeholder(v, 0, v.name)
        extra_outer.append(v)
        extra_inner.append(replace[v])
    shared_taps = []
    for v in state_vars:
        replace[v] = _placeholder(v, 0, f"{v.name or 'shared'}[t-1]")
        shared_taps.append([replace[v]])
    new_updates = [st.as_tensor_variable(u) for u in updates.values()]
    fed = [o for o, s in zip(outputs, out_specs) if s is not None]
    nit = [o for o, s in zip(outputs, out_specs) if s is None]
    inner_outs = clone_replace(fed + new_updates + nit, replace)
    for k, (init, new) in enumerate(
        zip(inits + [st.expand_dims(v, 0) for v in state_vars], inner_outs)
    ):
        _check_state(k, init, new, state_vars, len(inits))
    taps_all = [tuple(int(t) for t in spec[1]) for spec in out_specs if spec is not None]
    taps_all += [(-1,)] * len(state_vars)
    kept_nonseqs = [i for i in inner_nonseqs if not isinstance(i, Constant)]
    op = Scan(
        inner_inputs=tuple(
            inner_seqs
            + [v for t in inner_taps + shared_taps for v in t]
            + kept_nonseqs
            + extra_inner
        ),
        inner_outputs=tuple(inner_outs),
        n_seqs=len(inner_seqs),
        state_taps=tuple(taps_all),
        n_nitsot=len(nit),
        name=name,
        # updated shared variables: only their value after the last step is used
        last_only=tuple([False] * len(inits) + [True] * len(state_vars)),
        truncate_gradient=truncate_gradient,
    )
    state_inits = inits + [st.expand_dims(v, 0) for v in state_vars]
    outer_nonseqs = [v for v, i in zip(nonseqs, inner_nonseqs) if not isinstance(i, Constant)]
    node_inputs = [n, *outer_seqs, *state_inits, *outer_nonseqs, *extra_outer]
    results = op.make_node(*node_inputs).outputs
    lags = op.lags()
    bufs, nit_outs = results[: op.n_states], iter(results[op.n_states :])
    user_outs, k = [], 0
    for spec in out_specs:
        if spec is None:
            user_outs.append(next(nit_outs))
        else:
            user_outs.append(bufs[k][lags[k] :])
            k += 1
    new_updates = OrderedDict((v, bufs[len(inits) + j][-1]) for j, v in enumerate(state_vars))
    if len(user_outs) == 1 and not return_list:
        return user_outs[0], new_updates
    if not user_outs and not return_list:
        return None, new_updates
    return user_outs, new_updates


def _check_state(k, init, new, state_vars, n_outputs) -> None:
    what = (
        f"output {k}"
        if k < n_outputs
        else f"the update of shared variable {state_vars[k - n_outputs]}"
    )
    if new.dtype != init.dtype or new.ndim != init.ndim - 1:
        raise TypeError(
            f"scan: {what} is fed back, so each step must return the type of its initial "
            f"value: got {new.type} for an initial value of type {init.type} (per step: "
            f"{init.dtype} with {init.ndim - 1} dims); cast it (x.astype) to match"
        )


def _outputs_info(outputs_info) -> list:
    import symcomp.tensor as st

    specs = []
    for entry in _as_list(outputs_info):
        if entry is None:
            specs.append(None)
        elif isinstance(entry, Mapping):
            x0 = entry.get("initial")
            if x0 is None:
                specs.append(None)
                continue
            taps = tuple(entry.get("taps", [-1]))
            if not taps or any(int(t) >= 0 for t in taps):
                raise ValueError(f"scan: output taps must be negative, got {list(taps)}")
            x0 = st.as_tensor_variable(x0)
            if "taps" not in entry:
                specs.append((x0, (-1,), False))
                continue
            if x0.ndim == 0:
                raise ValueError(
                    f"scan: the initial value of an output with taps {list(taps)} stacks "
                    f"the values before the first step, so it needs a leading axis"
                )
            specs.append((x0, tuple(sorted(set(int(t) for t in taps))), True))
        else:
            specs.append((st.as_tensor_variable(entry), (-1,), False))
    return specs


def _seq_spec(entry):
    import symcomp.tensor as st

    if isinstance(entry, Mapping):
        seq = st.as_tensor_variable(entry["input"])
        taps = tuple(int(t) for t in entry.get("taps", [0]))
    else:
        seq, taps = st.as_tensor_variable(entry), (0,)
    if seq.ndim == 0:
        raise ValueError(f"scan: sequence {seq} is a scalar; sequences need a leading axis")
    if not taps:
        raise ValueError(f"scan: sequence {seq} has no taps")
    return seq, taps


def _placeholder(like, drop: int, name):
    from symcomp.tensor.type import TensorType

    shape = tuple(like.type.shape[drop:])
    return TensorType(like.dtype, shape)(name=name)


def _split_result(result):
    """fn's result as (list of outputs, updates)."""
    if result is None:
        return [], {}
    if isinstance(result, Mapping):
        return [], dict(result)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping):
        outs, upd = result
        return _outputs_list(outs), dict(upd)
    if (
        isinstance(result, (list, tuple))
        and result
        and all(isinstance(p, tuple) and len(p) == 2 and hasattr(p[0], "get_value") for p in result)
    ):
        return [], dict(result)
    return _outputs_list(result), {}


def _outputs_list(outs) -> list:
    if outs is None:
        return []
    if isinstance(outs, (list, tuple)):
        return list(outs)
    return [outs]


def _as_list(x) -> list:
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]
