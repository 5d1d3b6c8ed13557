"""``symcomp demo``: a logistic regression trained with symcomp and timed against NumPy.

The model is the one in the public API example (DESIGN.md): softmax over ``x @ W + b``, mean
negative log-likelihood, gradient descent through ``updates``, and an argmax predictor. The
data are synthetic Gaussian blobs, one per class, from a fixed seed.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

import numpy as np

N_CLASSES = 3
N_FEATURES = 20
N_SAMPLES = 600
STEPS = 100
LEARNING_RATE = 0.5
SEED = 0


@dataclass(frozen=True)
class DemoResult:
    """What the demo measured; times are wall-clock seconds."""

    mode: str
    loss_start: float
    loss_end: float
    accuracy: float
    compile_seconds: float
    step_seconds: float
    numpy_step_seconds: float


def make_data(dtype: str, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``(x, t)``: N_SAMPLES points in N_FEATURES dimensions around one random center per
    class, nearly linearly separable; ``t`` holds int32 class labels."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=1.5, size=(N_CLASSES, N_FEATURES))
    t = rng.integers(0, N_CLASSES, size=N_SAMPLES).astype(np.int32)
    x = centers[t] + rng.normal(size=(N_SAMPLES, N_FEATURES))
    return x.astype(dtype), t


def numpy_step(W: np.ndarray, b: np.ndarray, x: np.ndarray, t: np.ndarray, lr: float) -> float:
    """One hand-written gradient step, updating ``W`` and ``b`` in place; returns the loss
    before the update (as the symcomp function does)."""
    n = x.shape[0]
    z = x @ W + b
    z -= z.max(axis=1, keepdims=True)  # softmax is shift-invariant; this avoids overflow
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = -np.mean(np.log(p[rows, t]))
    p[rows, t] -= 1.0  # d(loss)/dz = (p - onehot(t)) / n
    p /= n
    W -= lr * (x.T @ p)
    b -= lr * p.sum(axis=0)
    return float(loss)


def _numpy_step_seconds(x: np.ndarray, t: np.ndarray, steps: int) -> float:
    W = np.zeros((N_FEATURES, N_CLASSES), dtype=x.dtype)
    b = np.zeros(N_CLASSES, dtype=x.dtype)
    start = time.perf_counter()
    for _ in range(steps):
        numpy_step(W, b, x, t, LEARNING_RATE)
    return (time.perf_counter() - start) / steps


def run_demo(mode: str, steps: int = STEPS, out: TextIO | None = None) -> DemoResult:
    """Train the model for ``steps`` steps with functions compiled in ``mode``, print a
    summary to ``out`` (default: stdout) and return the measurements."""
    import symcomp as sc
    import symcomp.tensor as st
    from symcomp.config import config

    out = out or sys.stdout
    dtype = config.floatX
    data, labels = make_data(dtype)

    x = st.matrix("x")
    t = st.ivector("t")
    W = sc.shared(np.zeros((N_FEATURES, N_CLASSES), dtype=dtype), name="W")
    b = sc.shared(np.zeros(N_CLASSES, dtype=dtype), name="b")
    p = st.nnet.softmax(x @ W + b)
    cost = -st.mean(st.log(p)[st.arange(t.shape[0]), t])
    gW, gb = sc.grad(cost, [W, b])
    updates = [(W, W - LEARNING_RATE * gW), (b, b - LEARNING_RATE * gb)]

    start = time.perf_counter()
    train = sc.function([x, t], cost, updates=updates, mode=mode)
    predict = sc.function([x], st.argmax(p, axis=1), mode=mode)
    compile_seconds = time.perf_counter() - start

    # The first step is left out of the timing: it may finish lazy setup (loading modules).
    losses = [float(train(data, labels))]
    start = time.perf_counter()
    losses += [float(train(data, labels)) for _ in range(steps - 1)]
    step_seconds = (time.perf_counter() - start) / max(steps - 1, 1)
    accuracy = float(np.mean(predict(data) == labels))

    result = DemoResult(
        mode=mode,
        loss_start=losses[0],
        loss_end=losses[-1],
        accuracy=accuracy,
        compile_seconds=compile_seconds,
        step_seconds=step_seconds,
        numpy_step_seconds=_numpy_step_seconds(data, labels, steps),
    )
    _report(result, steps, out)
    return result


def _report(r: DemoResult, steps: int, out: TextIO) -> None:
    print(
        f"symcomp demo: logistic regression, {N_SAMPLES} samples x {N_FEATURES} features, "
        f"{N_CLASSES} classes, {steps} steps, mode={r.mode}",
        file=out,
    )
    print(f"  compile:   {r.compile_seconds:.3f} s (train and predict)", file=out)
    print(f"  loss:      {r.loss_start:.4f} -> {r.loss_end:.4f}", file=out)
    print(f"  accuracy:  {r.accuracy:.1%} on the training set", file=out)
    print(
        f"  per step:  symcomp {r.step_seconds * 1e3:.3f} ms, NumPy by hand "
        f"{r.numpy_step_seconds * 1e3:.3f} ms ({r.step_seconds / r.numpy_step_seconds:.2f}x)",
        file=out,
    )
