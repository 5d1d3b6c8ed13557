"""A small convolutional network on scikit-learn's handwritten digits, trained with symcomp.

The digits are 1,797 8x8 grayscale images (ten classes) bundled with scikit-learn, so
nothing is downloaded. The network:

    input 1x8x8 -> conv 16 3x3 ('same' padding) -> batch norm -> ReLU -> 2x2 max pool
                -> dense 256 -> 10 (softmax)

trained by minibatch gradient descent with momentum on the mean negative log-likelihood.
Batch normalization uses the batch statistics while training and running averages (kept in
shared variables, updated by the training function) for the test set. The convolution,
pooling and their gradients run as native kernels.

    pip install ".[examples]"
    python examples/convnet.py

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
FULL_EPOCHS = 15
EPOCHS = 1 if QUICK else FULL_EPOCHS
BATCH = 32
FILTERS = 16
LEARNING_RATE = 0.05
MOMENTUM = 0.9
BN_MOMENTUM = 0.1  # weight of the newest batch in the running averages
SEED = 0


def load_data(dtype: str = DTYPE):
    """``(x_train, x_test, t_train, t_test)``: images as (N, 1, 8, 8) scaled to [0, 1],
    int32 labels, a stratified 75/25 split with a fixed seed."""
    x_train, x_test, t_train, t_test = load_digits_split(dtype, images=True)
    return x_train[:, None], x_test[:, None], t_train, t_test


def shared(value: np.ndarray, name: str):
    return sc.shared(value.astype(DTYPE), name=name)


def build(n_classes: int = 10, mode: str = "native"):
    """The network's functions: ``train(x, t) -> loss`` (one momentum step on the shared
    parameters, and the batch-norm running averages) and ``predict(x) -> labels``."""
    rng = np.random.default_rng(SEED)
    filters = shared(rng.normal(scale=np.sqrt(2.0 / 9), size=(FILTERS, 1, 3, 3)), "filters")
    gamma, beta = shared(np.ones(FILTERS), "gamma"), shared(np.zeros(FILTERS), "beta")
    n_dense = FILTERS * 4 * 4
    W = shared(rng.normal(scale=np.sqrt(1.0 / n_dense), size=(n_dense, n_classes)), "W")
    b = shared(np.zeros(n_classes), "b")
    params = [filters, gamma, beta, W, b]
    running_mean, running_var = shared(np.zeros(FILTERS), "mean"), shared(np.ones(FILTERS), "var")

    x = st.tensor4("x", dtype=DTYPE)
    t = st.ivector("t")

    def logits(normalized):
        pooled = st.nnet.max_pool_2d(st.nnet.relu(normalized), (2, 2))
        return pooled.reshape((x.shape[0], n_dense)) @ W + b

    conv = st.nnet.conv2d(x, filters, padding="same", filter_flip=False)
    normalized, mean, var = st.nnet.batch_normalization_train(conv, gamma, beta)
    nll = st.nnet.categorical_crossentropy_from_logits(logits(normalized), t).mean()

    count = st.cast(x.shape[0] * conv.shape[2] * conv.shape[3], DTYPE)  # values per statistic
    updates = [
        (running_mean, (1 - BN_MOMENTUM) * running_mean + BN_MOMENTUM * mean),
        (running_var, (1 - BN_MOMENTUM) * running_var + BN_MOMENTUM * var * count / (count - 1)),
    ]
    for p, g in zip(params, sc.grad(nll, params)):
        velocity = sc.shared(np.zeros_like(p.get_value()), name=f"v_{p.name}")
        step = MOMENTUM * velocity - LEARNING_RATE * g
        updates += [(velocity, step), (p, p + step)]
    train = sc.function([x, t], nll, updates=updates, mode=mode, name="train")

    inference = st.nnet.batch_normalization_test(conv, gamma, beta, running_mean, running_var)
    predict = sc.function([x], st.argmax(logits(inference), axis=1), mode=mode, name="predict")
    return train, predict


def main(epochs: int = EPOCHS) -> float:
    """Train for ``epochs`` epochs, print progress and return the test accuracy."""
    x_train, x_test, t_train, t_test = load_data()
    with timed("built and compiled"):
        train, predict = build()
    fit(lambda i: train(x_train[i], t_train[i]), len(x_train), BATCH, epochs, every=5)
    return report_accuracy(predict(x_test), t_test)


if __name__ == "__main__":
    main()
