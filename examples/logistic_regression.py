"""Multinomial logistic regression on scikit-learn's handwritten digits, trained with symcomp.

The digits are 1,797 8x8 grayscale images (64 features, ten classes) bundled with
scikit-learn, so nothing is downloaded. The model is softmax(x @ W + b); the loss is the mean
negative log-likelihood; minibatch gradient descent runs inside one compiled function through
``updates``, so the parameters stay in shared variables between calls.

    pip install ".[examples]"
    python examples/logistic_regression.py

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
LEARNING_RATE = 0.5


def load_data(dtype: str = DTYPE):
    """``(x_train, x_test, t_train, t_test)``: rows of 64 pixels scaled to [0, 1], int32
    labels, a stratified 75/25 split with a fixed seed."""
    return load_digits_split(dtype)


def build(n_features: int, n_classes: int, dtype: str = DTYPE, mode: str = "native"):
    """The model's functions: ``train(x, t) -> loss`` (one gradient step on the shared
    parameters) and ``predict(x) -> labels``."""
    x = st.matrix("x", dtype=dtype)
    t = st.ivector("t")
    W = sc.shared(np.zeros((n_features, n_classes), dtype=dtype), name="W")
    b = sc.shared(np.zeros(n_classes, dtype=dtype), name="b")
    logits = x @ W + b
    loss = st.nnet.categorical_crossentropy_from_logits(logits, t).mean()
    gW, gb = sc.grad(loss, [W, b])
    lr = np.asarray(LEARNING_RATE, dtype=dtype)
    train = sc.function(
        [x, t], loss, updates=[(W, W - lr * gW), (b, b - lr * gb)], mode=mode, name="train"
    )
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
