"""A multilayer perceptron on scikit-learn's handwritten digits, trained with symcomp.

The digits are 1,797 8x8 grayscale images (64 features, ten classes) bundled with
scikit-learn, so nothing is downloaded. The network is 64 -> 128 (ReLU) -> 10 (softmax),
trained by minibatch gradient descent with momentum on the mean negative log-likelihood plus
a small L2 penalty. Parameters and their velocities are shared variables; one compiled
function computes the loss and applies every update.

    pip install ".[examples]"
    python examples/mlp.py

SYMCOMP_EXAMPLE_QUICK=1 trains for two epochs only (the tests use it).
"""

from __future__ import annotations

import os
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import symcomp as sc
import symcomp.tensor as st

DTYPE = "float32"
FULL_EPOCHS = 40
EPOCHS = 2 if os.environ.get("SYMCOMP_EXAMPLE_QUICK") == "1" else FULL_EPOCHS
BATCH = 32
HIDDEN = 128
LEARNING_RATE = 0.05
MOMENTUM = 0.9
L2 = 1e-4
SEED = 0


def load_data(dtype: str = DTYPE):
    """``(x_train, x_test, t_train, t_test)``: pixels scaled to [0, 1], int32 labels, a
    stratified 75/25 split with a fixed seed."""
    digits = load_digits()
    x = (digits.data / 16.0).astype(dtype)
    t = digits.target.astype(np.int32)
    return train_test_split(x, t, test_size=0.25, random_state=SEED, stratify=t)


def layer(rng: np.random.Generator, n_in: int, n_out: int, dtype: str, name: str):
    """Shared weights (He initialization, for ReLU) and zero biases of one dense layer."""
    W = rng.normal(scale=np.sqrt(2.0 / n_in), size=(n_in, n_out)).astype(dtype)
    return sc.shared(W, name=f"W{name}"), sc.shared(np.zeros(n_out, dtype=dtype), name=f"b{name}")


def build(n_features: int, n_classes: int, dtype: str = DTYPE, mode: str = "native"):
    """The network's functions: ``train(x, t) -> loss`` (one momentum step on the shared
    parameters) and ``predict(x) -> labels``."""
    rng = np.random.default_rng(SEED)
    W1, b1 = layer(rng, n_features, HIDDEN, dtype, "1")
    W2, b2 = layer(rng, HIDDEN, n_classes, dtype, "2")
    params = [W1, b1, W2, b2]

    x = st.matrix("x", dtype=dtype)
    t = st.ivector("t")
    hidden = st.nnet.relu(x @ W1 + b1)
    logits = hidden @ W2 + b2
    nll = st.nnet.categorical_crossentropy_from_logits(logits, t).mean()
    loss = nll + L2 * ((W1**2).sum() + (W2**2).sum())

    updates = []
    for p, g in zip(params, sc.grad(loss, params)):
        velocity = sc.shared(np.zeros_like(p.get_value()), name=f"v{p.name}")
        step = MOMENTUM * velocity - LEARNING_RATE * g
        updates += [(velocity, step), (p, p + step)]
    train = sc.function([x, t], nll, updates=updates, mode=mode, name="train")
    predict = sc.function([x], st.argmax(logits, axis=1), mode=mode, name="predict")
    return train, predict


def epoch(train, x: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> float:
    """One pass over the data in shuffled minibatches; returns the mean loss."""
    order = rng.permutation(len(x))
    losses = [train(x[i], t[i]) for i in np.array_split(order, len(x) // BATCH)]
    return float(np.mean(losses))


def main(epochs: int = EPOCHS) -> float:
    """Train for ``epochs`` epochs, print progress and return the test accuracy."""
    x_train, x_test, t_train, t_test = load_data()
    start = time.perf_counter()
    train, predict = build(x_train.shape[1], 10)
    print(f"built and compiled in {time.perf_counter() - start:.2f} s")
    rng = np.random.default_rng(SEED)
    start = time.perf_counter()
    for k in range(epochs):
        loss = epoch(train, x_train, t_train, rng)
        if k % 10 == 0 or k == epochs - 1:
            print(f"epoch {k + 1:3d}  loss {loss:.4f}")
    print(f"trained {epochs} epochs in {time.perf_counter() - start:.2f} s")
    accuracy = float(np.mean(predict(x_test) == t_test))
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
