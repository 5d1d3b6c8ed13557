"""Every model in examples/ trains a few steps in mode="debug": each node runs natively and
in Python on the same inputs, and any difference (dtype, shape, or values beyond the dtype's
tolerance) raises DebugModeError naming the node."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_examples import _load

pytest.importorskip("sklearn", reason="the examples need scikit-learn (pip install '.[examples]')")

STEPS = 3


def _logistic_or_mlp(example):
    x_train, x_test, t_train, _ = example.load_data()
    train, predict = example.build(x_train.shape[1], 10, mode="debug")
    return train, lambda: predict(x_test[:64]), (x_train, t_train), example.BATCH


def _convnet(example):
    x_train, x_test, t_train, _ = example.load_data()
    train, predict = example.build(10, mode="debug")
    return train, lambda: predict(x_test[:64]), (x_train, t_train), example.BATCH


def _rnn(example):
    x_train, x_test, t_train, t_test = example.load_data()
    train, evaluate = example.build(x_train.shape[2], 10, mode="debug")

    def rows_first(x, t, i):
        return x[:, i], t[i]

    return (
        train,
        lambda: evaluate(x_test[:, :64], t_test[:64]),
        (x_train, t_train),
        example.BATCH,
        rows_first,
    )


BUILDERS = {
    "logistic_regression": _logistic_or_mlp,
    "mlp": _logistic_or_mlp,
    "convnet": _convnet,
    "rnn": _rnn,
}


@pytest.mark.cxx
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_example_trains_in_debug_mode(name):
    from symcomp.codegen.toolchain import find_compiler

    if find_compiler() is None:
        pytest.skip("no C++ compiler found")
    train, check, (x, t), batch, *pick = BUILDERS[name](_load(name))
    assert type(train.runner).__name__ == "DebugRunner"
    take = pick[0] if pick else (lambda x, t, i: (x[i], t[i]))
    losses = [
        float(train(*take(x, t, np.arange(k * batch, (k + 1) * batch)))) for k in range(STEPS)
    ]
    assert np.isfinite(losses).all()
    check()  # the inference function, on the trained parameters
