"""What the examples share: scikit-learn's digits, split and scaled; shuffled minibatches;
the training loop that prints its progress; and the last line every example prints,
``test accuracy: X``. Not an example itself: each example is a complete program around
its model, and imports this as ``_common`` (it puts examples/ on ``sys.path`` first, so it
runs from any directory).

SYMCOMP_EXAMPLE_QUICK=1 makes every example train for one epoch only (the tests use it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

QUICK = os.environ.get("SYMCOMP_EXAMPLE_QUICK") == "1"  # train one epoch only
SEED = 0


def load_digits_split(dtype: str, images: bool = False):
    """``(x_train, x_test, t_train, t_test)``: the 1,797 8x8 digits bundled with scikit-learn
    (nothing is downloaded), pixels scaled to [0, 1] as rows of 64 features, or as (8, 8)
    images with ``images``; int32 labels; a stratified 75/25 split with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = ((digits.images if images else digits.data) / 16.0).astype(dtype)
    t = digits.target.astype(np.int32)
    return train_test_split(x, t, test_size=0.25, random_state=SEED, stratify=t)


def minibatches(n: int, batch: int, rng: np.random.Generator) -> list:
    """Index arrays of ``n // batch`` shuffled minibatches covering ``range(n)``."""
    return np.array_split(rng.permutation(n), max(n // batch, 1))


@contextmanager
def timed(what: str) -> Iterator[None]:
    """Prints ``<what> in <seconds> s`` once the block has run."""
    start = time.perf_counter()
    yield
    print(f"{what} in {time.perf_counter() - start:.2f} s")


def fit(
    step: Callable[[np.ndarray], float],
    n: int,
    batch: int,
    epochs: int,
    every: int,
    progress: Callable[[list], float] | None = None,
    label: str = "loss",
) -> None:
    """Train for ``epochs`` epochs: ``step(indices)`` takes one gradient step on a
    minibatch (the indices of its examples) and returns its loss. Prints the epoch's
    ``progress(losses)`` (by default the mean minibatch loss) after the first epoch,
    every ``every`` epochs and the last, then the training time."""
    rng = np.random.default_rng(SEED)
    with timed(f"trained {epochs} epochs"):
        for k in range(epochs):
            losses = [step(i) for i in minibatches(n, batch, rng)]
            if k % every == 0 or k == epochs - 1:
                value = progress(losses) if progress else float(np.mean(losses))
                print(f"epoch {k + 1:3d}  {label} {value:.4f}")


def report_accuracy(predicted: np.ndarray, t: np.ndarray) -> float:
    """Prints and returns the fraction of ``predicted`` labels equal to ``t``."""
    accuracy = float(np.mean(predicted == t))
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy
