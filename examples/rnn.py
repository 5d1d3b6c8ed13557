"""A recurrent network on scikit-learn's handwritten digits, trained with symcomp.scan.

Each 8x8 digit image is read as a sequence of its 8 rows (8 pixels each). A vanilla RNN,
h_t = tanh(x_t Wx + h_{t-1} Wh + b), runs over the rows with ``symcomp.scan``; a softmax
layer classifies the digit from the last hidden state. Gradients flow back through the
scan (backpropagation through time is a reverse scan). Training is minibatch gradient
descent with momentum; parameters and velocities are shared variables, and one compiled
(native) function computes the loss and applies every update.

    pip install ".[examples]"
    python examples/rnn.py

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

DTYPE = "float64"
FULL_EPOCHS = 25
EPOCHS = 2 if os.environ.get("SYMCOMP_EXAMPLE_QUICK") == "1" else FULL_EPOCHS
BATCH = 64
HIDDEN = 64
LEARNING_RATE = 0.05
MOMENTUM = 0.9
SEED = 0


def load_data():
    """``(x_train, x_test, t_train, t_test)``: images as (8 rows, n images, 8 pixels)
    sequences scaled to [0, 1], int32 labels, a stratified 75/25 split."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(DTYPE)
    t = digits.target.astype(np.int32)
    x_train, x_test, t_train, t_test = train_test_split(
        x, t, test_size=0.25, random_state=SEED, stratify=t
    )
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


def main() -> float:
    x_train, x_test, t_train, t_test = load_data()
    start = time.perf_counter()
    train, evaluate = build(x_train.shape[2], 10)
    print(f"compiled in {time.perf_counter() - start:.1f} s")
    rng = np.random.default_rng(SEED)
    first = float(evaluate(x_train, t_train)[0])
    print(f"epoch  0  train loss {first:.4f}")
    start = time.perf_counter()
    for e in range(1, EPOCHS + 1):
        order = rng.permutation(x_train.shape[1])
        for k in range(0, len(order), BATCH):
            idx = order[k : k + BATCH]
            train(x_train[:, idx], t_train[idx])
        if e % 5 == 0 or e == EPOCHS:
            print(f"epoch {e:2d}  train loss {float(evaluate(x_train, t_train)[0]):.4f}")
    last = float(evaluate(x_train, t_train)[0])
    accuracy = float((evaluate(x_test, t_test)[1] == t_test).mean())
    print(
        f"trained {EPOCHS} epochs in {time.perf_counter() - start:.1f} s; loss "
        f"{first:.3f} -> {last:.4f} ({first / last:.0f}x lower)"
    )
    print(f"test accuracy: {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
