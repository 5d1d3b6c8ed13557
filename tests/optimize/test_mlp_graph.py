"""Issue 3, item 3: the training graph of DESIGN.md's MLP (two layers, tanh, softmax
cross-entropy) comes out of fast_run shorter than it went in, stable at saturated logits,
and computing the same values."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.optimize.mode import Mode

N_IN, N_HID, N_OUT = 6, 5, 4


def build_mlp(seed=0, scale=0.3):
    """(x, t, params, cost, grads) of a 2-layer tanh MLP with softmax cross-entropy."""
    rng = np.random.default_rng(seed)
    x, t = st.matrix("x", dtype="float64"), st.ivector("t")
    W1 = sc.shared(rng.normal(size=(N_IN, N_HID)) * scale, name="W1")
    b1 = sc.shared(rng.normal(size=N_HID) * 0.1, name="b1")
    W2 = sc.shared(rng.normal(size=(N_HID, N_OUT)) * scale, name="W2")
    b2 = sc.shared(rng.normal(size=N_OUT) * 0.1, name="b2")
    h = st.tanh(x @ W1 + b1)
    p = st.nnet.softmax(h @ W2 + b2)
    cost = -st.mean(st.log(p)[st.arange(t.shape[0]), t])
    params = [W1, b1, W2, b2]
    return x, t, params, cost, sc.grad(cost, params)


def _data(n=7, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, N_IN)), rng.integers(0, N_OUT, size=n).astype(np.int32)


def _compile(optimizer, seed=0, scale=0.3, updates=False):
    x, t, params, cost, grads = build_mlp(seed, scale)
    mode = Mode(linker="py", optimizer=optimizer)
    if updates:
        ups = [(p, p - 0.1 * g) for p, g in zip(params, grads)]
        return sc.function([x, t], cost, updates=ups, mode=mode), params
    return sc.function([x, t], [cost, *grads], mode=mode), params


def node_counts() -> dict:
    """Nodes in the training function (cost and SGD updates) per optimizer."""
    return {
        opt: len(_compile(opt, updates=True)[0].maker.fgraph.apply_nodes)
        for opt in (None, "fast_compile", "fast_run")
    }


def test_fast_run_graph_is_shorter():
    counts = node_counts()
    assert counts["fast_run"] < counts[None], counts


def test_gradients_agree():
    plain, _ = _compile(None)
    fast, _ = _compile("fast_run")
    x, t = _data()
    for a, b in zip(plain(x, t), fast(x, t)):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


def test_training_steps_agree():
    plain, p_params = _compile(None, updates=True)
    fast, f_params = _compile("fast_run", updates=True)
    x, t = _data()
    for _ in range(3):
        np.testing.assert_allclose(fast(x, t), plain(x, t), rtol=1e-9)
    for a, b in zip(p_params, f_params):
        np.testing.assert_allclose(b.get_value(), a.get_value(), rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_saturated_logits_are_stable():
    # Weights this large push the logits to about +-1000: softmax underflows to 0 for all
    # but one class, so log(p) is -inf unoptimized; fast_run's log-softmax stays finite.
    x, t = _data()
    fast, _ = _compile("fast_run", scale=300.0)
    values = fast(x, t)
    assert all(np.isfinite(v).all() for v in values), values
    assert values[0] > 10  # a real loss, not a clipped one
    plain, _ = _compile(None, scale=300.0)
    with np.errstate(all="ignore"):
        assert not np.isfinite(plain(x, t)[0])
