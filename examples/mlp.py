"""A multilayer perceptron on scikit-learn's handwritten digits, trained with symcomp.

The digits are 1,797 8x8 grayscale images (64 features, ten classes) bundled with
scikit-learn, so nothing is downloaded. The network is 64 -> 128 (ReLU) -> 10 (softmax),
trained by minibatch gradient descent with momentum on the mean negative log-likelihood plus
a small L2 penalty. Parameters and their velocities are shared variables; one compiled
function computes the loss and applies every update.

    pip install ".[examples]"
    python examples/mlp.py

SYMCOMP_EXAMPLE_QUICK=1 trains for one epoch only (the tests use it).
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # _common, and symcomp from a checkout, any cwd

from _common import QUICK, fit, load_digits_split, report_accuracy, timed  # noqa: E402

import symcomp as sc  # noqa: E402
import symcomp.tensor as st  # noqa: E402

DTYPE = "float32"
FULL_EPOCHS = 40
EPOCHS = 1 if QUICK else FULL_EPOCHS
BATCH = 32
HIDDEN = 128
LEARNING_RATE = 0.05
MOMENTUM = 0.9
L2 = 1e-4
SEED = 0


def load_data(dtype: str = DTYPE):
    """``(x_train, x_test, t_train, t_test)``: rows of 64 pixels scaled to [0, 1], int32
    labels, a stratified 75/25 split with a fixed seed."""
    return load_digits_split(dtype)


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


def main(epochs: int = EPOCHS) -> float:
    """Train for ``epochs`` epochs, print progress and return the test accuracy."""
    x_train, x_test, t_train, t_test = load_data()
    with timed("built and compiled"):
        train, predict = build(x_train.shape[1], 10)
    fit(lambda i: train(x_train[i], t_train[i]), len(x_train), BATCH, epochs, every=10)
    return report_accuracy(predict(x_test), t_test)


if __name__ == "__main__":
    main()
