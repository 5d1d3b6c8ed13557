"""The programs in examples/: each runs to the end in quick mode and prints its test metric,
and the models train to the same losses in native mode as in py mode (issue #4)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = REPO_ROOT / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))
# Every example ends by printing its held-out metric as "test <metric>: <number>".
METRIC = re.compile(r"^test [\w ]+: [-+]?\d", re.MULTILINE)

pytest.importorskip("sklearn", reason="the examples need scikit-learn (pip install '.[examples]')")


def _env(cache_dir: Path) -> dict[str, str]:
    env = dict(os.environ, SYMCOMP_EXAMPLE_QUICK="1", SYMCOMP_CACHE_DIR=str(cache_dir))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["SYMCOMP_RC"] = os.devnull
    for name in ("SYMCOMP_FLAGS", "SYMCOMP_CACHE"):
        env.pop(name, None)
    return env


def test_the_examples_are_there():
    names = {p.name for p in EXAMPLES}
    assert {"logistic_regression.py", "mlp.py"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=_env(tmp_path / "cache"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{path.name} failed:\n{done.stdout}\n{done.stderr}"
    assert METRIC.search(done.stdout), f"{path.name} printed no test metric:\n{done.stdout}"


STEPS = 8


def _load(name: str):
    """The example module ``examples/<name>.py`` (examples/ is not a package)."""
    path = EXAMPLES_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"symcomp_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train(example, mode: str) -> tuple[list, np.ndarray]:
    x_train, x_test, t_train, _ = example.load_data()
    train, predict = example.build(x_train.shape[1], 10, mode=mode)
    batches = np.array_split(np.arange(STEPS * example.BATCH), STEPS)
    losses = [float(train(x_train[b], t_train[b])) for b in batches]
    return losses, predict(x_test)


@pytest.mark.cxx
@pytest.mark.parametrize("name", ["logistic_regression", "mlp"])
def test_native_trains_like_py(name):
    from symcomp.codegen.toolchain import find_compiler

    if find_compiler() is None:
        pytest.skip("no C++ compiler found")
    example = _load(name)
    py_losses, py_labels = _train(example, "py")
    native_losses, native_labels = _train(example, "native")
    assert py_losses[-1] < py_losses[0]  # it does learn in these few steps
    # float32 training: the two modes sum in different orders (BLAS, vector loops).
    np.testing.assert_allclose(native_losses, py_losses, rtol=1e-4, atol=1e-6)
    assert np.mean(native_labels == py_labels) >= 0.99


@pytest.mark.parametrize("name, target", [("logistic_regression", 0.93), ("mlp", 0.95)])
def test_full_training_reaches_the_documented_accuracy(name, target, capsys):
    example = _load(name)
    accuracy = example.main(epochs=example.FULL_EPOCHS)
    assert accuracy >= target
    assert f"test accuracy: {accuracy:.4f}" in capsys.readouterr().out
