"""st.nnet.dropout: masking, rescaling, gradient, fresh masks per call, both modes."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.codegen.toolchain import find_compiler
from symcomp.random import RandomStream

MODES = [
    "py",
    pytest.param(
        "native",
        marks=[pytest.mark.cxx, pytest.mark.skipif(find_compiler() is None, reason="no C++")],
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dropout_values_and_gradient(mode, dtype):
    s = RandomStream(3)
    x = st.matrix("x", dtype=dtype)
    w = st.matrix("w", dtype=dtype)
    y = st.nnet.dropout(x, 0.25, s)
    g = sc.grad((y * w).sum(), x)
    f = sc.function([x, w], [y, g], mode=mode)
    xv = np.random.default_rng(0).uniform(1, 2, size=(200, 50)).astype(dtype)
    wv = np.random.default_rng(1).uniform(-1, 1, size=(200, 50)).astype(dtype)
    yv, gv = f(xv, wv)
    assert yv.dtype == dtype and gv.dtype == dtype
    mask = yv != 0
    assert abs(mask.mean() - 0.75) < 0.02
    tol = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(yv, np.where(mask, xv / 0.75, 0), rtol=tol)
    np.testing.assert_allclose(gv, np.where(mask, wv / 0.75, 0), rtol=tol)
    assert not np.array_equal(f(xv, wv)[0] != 0, mask)  # a new mask on every call


def test_dropout_same_masks_in_py_and_native():
    if find_compiler() is None:
        pytest.skip("no C++ compiler")
    x = st.dvector("x")
    p = st.dscalar("p")
    outs = []
    for mode in ("py", "native"):
        f = sc.function([x, p], st.nnet.dropout(x, p, RandomStream(9)), mode=mode)
        outs.append(f(np.ones(100), 0.5))
    assert np.array_equal(outs[0], outs[1])
    assert set(np.unique(outs[0])) <= {0.0, 2.0}


def test_dropout_arguments():
    s = RandomStream(0)
    x = st.dvector("x")
    assert st.nnet.dropout(x, 0.0, s) is x
    with pytest.raises(ValueError, match="p must be in"):
        st.nnet.dropout(x, 1.0, s)
    with pytest.raises(TypeError, match="float input"):
        st.nnet.dropout(st.ivector("i"), 0.5, s)
