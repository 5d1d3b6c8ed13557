"""A recurrent network on scikit-learn's handwritten digits, trained with symcomp.scan.

Each 8x8 digit image is read as a sequence of its 8 rows (8 pixels each). A vanilla RNN,
h_t = tanh(x_t Wx + h_{t-1} Wh + b), runs over the rows with ``symcomp.scan``; a softmax
layer classifies the digit from the last hidden state. Gradients flow back through the
scan (backpropagation through time is a reverse scan). Training is minibatch gradient
descent with momentum; parameters and velocities are shared variables, and one compiled
(native) function computes the loss and applies every update.

    pip install ".[examples]"
    python examples/rnn.py

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

DTYPE = "float64"
FULL_EPOCHS = 25
EPOCHS = 1 if QUICK else FULL_EPOCHS
BATCH = 64
HIDDEN = 64
LEARNING_RATE = 0.05
MOMENTUM = 0.9
SEED = 0


def load_data():
    """``(x_train, x_test, t_train, t_test)``: images as (8 rows, n images, 8 pixels)
    sequences scaled to [0, 1], int32 labels, a stratified 75/25 split."""
    x_train, x_test, t_train, t_test = load_digits_split(DTYPE, images=True)
    # scan iterates over the first axis: put the rows first
    return x_train.transpose(1, 0, 2), x_test.transpose(1, 0, 2), t_train, t_test


def build(n_pixels: int, n_classes: int, mode: str = "native"):
    """``train(x, t) -> loss`` (one momentum step) and ``evaluate(x, t) -> (loss,
    predicted labels)``."""
    rng = np.random.default_rng(SEED)

    def param(shape, scale, name):
        return sc.shared(rng.normal(scale=scale, size=shape).astype(DTYPE), name=name)

    Wx = param((n_pixels, HIDDEN), 1.0 / np.sqrt(n_pixels), "Wx")
    Wh = param((HIDDEN, HIDDEN), 1.0 / np.sqrt(HIDDEN), "Wh")
    b = sc.shared(np.zeros(HIDDEN, dtype=DTYPE), name="b")
    Wo = param((HIDDEN, n_classes), 1.0 / np.sqrt(HIDDEN), "Wo")
    bo = sc.shared(np.zeros(n_classes, dtype=DTYPE), name="bo")
    params = [Wx, Wh, b, Wo, bo]

    x = st.tensor3("x", dtype=DTYPE)  # (rows, batch, pixels)
    t = st.ivector("t")
    h0 = st.zeros((x.shape[1], HIDDEN), dtype=DTYPE)
    hs, _ = sc.scan(lambda row, h: st.tanh(row @ Wx + h @ Wh + b), sequences=x, outputs_info=h0)
    logits = hs[-1] @ Wo + bo
    nll = st.nnet.categorical_crossentropy_from_logits(logits, t).mean()

    updates = []
    for p, g in zip(params, sc.grad(nll, params)):
        velocity = sc.shared(np.zeros_like(p.get_value()), name=f"v{p.name}")
        step = MOMENTUM * velocity - LEARNING_RATE * g
        updates += [(velocity, step), (p, p + step)]
    train = sc.function([x, t], nll, updates=updates, mode=mode, name="train")
    evaluate = sc.function([x, t], [nll, st.argmax(logits, axis=1)], mode=mode, name="evaluate")
    return train, evaluate


def main(epochs: int = EPOCHS) -> float:
    """Train for ``epochs`` epochs, print the training loss and return the test accuracy."""
    x_train, x_test, t_train, t_test = load_data()
    with timed("built and compiled"):
        train, evaluate = build(x_train.shape[2], 10)

    def train_loss(_losses=None) -> float:
        return float(evaluate(x_train, t_train)[0])

    first = train_loss()
    print(f"epoch   0  train loss {first:.4f}")
    fit(
        lambda i: train(x_train[:, i], t_train[i]),  # the batch is axis 1
        len(t_train),
        BATCH,
        epochs,
        every=5,
        progress=train_loss,
        label="train loss",
    )
    last = train_loss()
    print(f"train loss {first:.3f} -> {last:.4f} ({first / last:.0f}x lower)")
    return report_accuracy(evaluate(x_test, t_test)[1], t_test)


if __name__ == "__main__":
    main()
