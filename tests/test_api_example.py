"""DESIGN.md's public API example, run in mode "py", trains logistic regression."""

import numpy as np

import symcomp as sc
import symcomp.tensor as st


def _separable_problem(rng, n=300, d=64, k=10):
    centers = rng.normal(scale=3.0, size=(k, d))
    labels = rng.integers(0, k, size=n).astype("int32")
    data = centers[labels] + rng.normal(size=(n, d))
    return data, labels


def test_design_api_example_trains():
    rng = np.random.default_rng(0)
    data, labels = _separable_problem(rng)

    x = st.matrix("x")
    t = st.ivector("t")
    W = sc.shared(np.zeros((64, 10)), name="W")
    b = sc.shared(np.zeros(10), name="b")
    p = st.nnet.softmax(x @ W + b)
    cost = -st.mean(st.log(p)[st.arange(t.shape[0]), t])
    gW, gb = sc.grad(cost, [W, b])
    train = sc.function([x, t], cost, updates=[(W, W - 0.1 * gW), (b, b - 0.1 * gb)], mode="py")
    predict = sc.function([x], st.argmax(p, axis=1), mode="py")

    first = float(train(data, labels))
    for _ in range(60):
        last = float(train(data, labels))
    assert last < first / 5
    accuracy = float(np.mean(predict(data) == labels))
    assert accuracy >= 0.95
    assert predict(data).dtype == np.int64


def test_gradient_matches_numpy_backprop():
    rng = np.random.default_rng(1)
    data, labels = _separable_problem(rng, n=50, d=8, k=3)
    x, t = st.dmatrix("x"), st.ivector("t")
    W = sc.shared(rng.normal(size=(8, 3)), name="W")
    p = st.nnet.softmax(x @ W)
    cost = -st.mean(st.log(p)[st.arange(t.shape[0]), t])
    gW = sc.function([x, t], sc.grad(cost, W), mode="py")(data, labels)
    logits = data @ W.get_value()
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    probs[np.arange(50), labels] -= 1
    np.testing.assert_allclose(gW, data.T @ probs / 50, rtol=1e-10)
