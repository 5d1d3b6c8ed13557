"""What test_conv.py and test_pool.py share: the (mode, dtype) grid, non-contiguous copies,
and one native function computing every configuration of a test module."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

import symcomp as sc

native = pytest.mark.cxx

MODE_DTYPES = [  # the py reference is dtype-generic: float32 is checked natively
    ("py", "float64"),
    pytest.param("native", "float64", marks=native),
    pytest.param("native", "float32", marks=native),
]


def noncontig(a: np.ndarray) -> np.ndarray:
    """A strided view equal to ``a`` (every other element of the last dim of a buffer)."""
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


class AllConfigs:
    """dtype -> one native function computing the outputs of every configuration, each of
    its own inputs: one g++ run per dtype for all configurations, not one per configuration
    (each node's code is generated alike either way). Built on first use.

    ``graph(config, dtype) -> (inputs, outputs)`` builds one configuration's graph;
    ``inputs(config, dtype) -> arrays`` gives its usual input values."""

    def __init__(self, configs: Sequence, graph: Callable, inputs: Callable):
        self.configs, self.graph, self.inputs = list(configs), graph, inputs
        self.built: dict = {}

    def function(self, dtype: str):
        if dtype not in self.built:
            inputs, outputs, spans = [], [], []
            for config in self.configs:
                ins, outs = self.graph(config, dtype)
                spans.append((len(outputs), len(outputs) + len(outs)))
                inputs += ins
                outputs += outs
            f = sc.function(inputs, outputs, mode="native")
            assert not f.runner.fallback_nodes
            self.built[dtype] = f, spans
        return self.built[dtype]

    def outputs_of(self, config, dtype: str) -> Callable:
        """``f(*own)``: the outputs of ``config`` for its inputs ``own``, the other
        configurations getting their usual inputs."""
        whole, spans = self.function(dtype)
        k = self.configs.index(config)
        rest = [self.inputs(c, dtype) for c in self.configs]
        lo, hi = spans[k]

        def f(*own):
            args = [a for i, group in enumerate(rest) for a in (own if i == k else group)]
            return whole(*args)[lo:hi]

        return f
