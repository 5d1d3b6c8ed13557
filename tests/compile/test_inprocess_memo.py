"""The same function built again in the same process (a new graph object from the same code,
new shared variables): function() reuses this process's rewritten graph, in-place plan and
loaded module without touching the cache directory, and never serves a changed graph, flag
or shared variable with the wrong module."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.codegen import cache
from symcomp.codegen.toolchain import find_compiler
from symcomp.optimize.mode import Mode

pytestmark = [
    pytest.mark.cxx,
    pytest.mark.skipif(find_compiler() is None, reason="no C++ compiler"),
]


def build(seed: int, lr: float = 0.1, **kw):
    """A small training step: new shared variables with random values on each call."""
    rng = np.random.default_rng(seed)
    W = sc.shared(rng.standard_normal((5, 3)), name="W")
    b = sc.shared(rng.standard_normal(3), name="b")
    x = st.dmatrix("x")
    p = st.nnet.softmax(x @ W + b)
    cost = -st.mean(st.log(p[:, 0]))
    gW, gb = sc.grad(cost, [W, b])
    f = sc.function([x], cost, updates=[(W, W - lr * gW), (b, b - lr * gb)], **kw)
    return f, W, b


def reference(W, b, x, lr=0.1):
    z = x @ W + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    cost = -np.mean(np.log(p[:, 0]))
    dz = p.copy()
    dz[:, 0] -= 1.0
    dz /= x.shape[0]
    return cost, W - lr * (x.T @ dz), b - lr * dz.sum(axis=0)


def step_and_check(f, W, b, x, lr=0.1):
    cost, W1, b1 = reference(W.get_value(), b.get_value(), x, lr)
    np.testing.assert_allclose(f(x), cost, rtol=1e-10)
    np.testing.assert_allclose(W.get_value(), W1, rtol=1e-10)
    np.testing.assert_allclose(b.get_value(), b1, rtol=1e-10)


def test_a_new_build_of_the_same_code_reuses_everything(monkeypatch):
    x = np.random.default_rng(9).standard_normal((4, 5))
    f1, W1, b1 = build(0)
    assert not f1.runner.fallback_nodes
    step_and_check(f1, W1, b1, x)

    def no_store():
        raise AssertionError("the cache directory was consulted")

    with monkeypatch.context() as m:
        m.setattr(cache, "open_store", no_store)
        f2, W2, b2 = build(1)
    assert f2.runner.module is f1.runner.module
    assert f2.runner._source is None  # nothing generated
    assert f2.rewrite_report.from_cache
    assert f2.maker.fgraph.inplace_plan.updates == f1.maker.fgraph.inplace_plan.updates
    # The new build runs on its own shared variables; the first build's are left alone.
    before = W1.get_value(), b1.get_value()
    step_and_check(f2, W2, b2, x)
    np.testing.assert_array_equal(W1.get_value(), before[0])
    np.testing.assert_array_equal(b1.get_value(), before[1])
    step_and_check(f1, W1, b1, x)
    assert f2.source == f1.source  # read back from the cache entry


def test_a_changed_graph_constant_or_flag_is_never_served_the_old_plan():
    x = np.random.default_rng(3).standard_normal((4, 5))
    f1, W1, b1 = build(0)
    # Another constant: the same module may serve it, with the new constant's value.
    f2, W2, b2 = build(0, lr=0.5)
    step_and_check(f2, W2, b2, x, lr=0.5)
    # Another graph (mode without the in-place plan): other source, right values.
    f3, W3, b3 = build(0, mode=Mode(linker="native").excluding("inplace"))
    assert getattr(f3.maker.fgraph, "inplace_plan", None) is None
    step_and_check(f3, W3, b3, x)
    # A flag that changes generated code: generated again, not taken from the memo.
    with sc.change_flags(openmp_elemwise_minsize=1000):
        f4, W4, b4 = build(0)
    assert f4.runner._source is not None and f4.runner.module is not f1.runner.module
    step_and_check(f4, W4, b4, x)
    step_and_check(f1, W1, b1, x)
