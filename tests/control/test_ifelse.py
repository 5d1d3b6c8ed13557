"""ifelse(): lazy (only the branch taken runs), values, gradients, py and native; and the
gradients of the elementwise switch/where."""

from dataclasses import dataclass

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from tests.control.pyops import PythonOnlyUnary

MODES = ["py", pytest.param("native", marks=pytest.mark.cxx)]
CALLS = {"n": 0}


@dataclass(frozen=True)
class CountingDouble(PythonOnlyUnary):
    """2 * x, counting its calls (a Python-only op: native mode runs its perform)."""

    def perform(self, node, inputs):
        CALLS["n"] += 1
        return [inputs[0] * 2]

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * 2]


@pytest.mark.parametrize("mode", MODES)
def test_only_the_taken_branch_runs(mode):
    c, x = st.dscalar("c"), st.dvector("x")
    f = sc.function([c, x], sc.ifelse(st.gt(c, 0), CountingDouble()(x), x - 1), mode=mode)
    CALLS["n"] = 0
    np.testing.assert_allclose(f(-1.0, np.ones(3)), np.zeros(3))
    assert CALLS["n"] == 0
    np.testing.assert_allclose(f(1.0, np.ones(3)), 2 * np.ones(3))
    assert CALLS["n"] == 1


@pytest.mark.cxx
def test_native_ifelse_runs_in_cxx():
    from symcomp.control.ifelse import IfElse

    c, x, y = st.dscalar("c"), st.dvector("x"), st.dvector("y")
    f = sc.function([c, x, y], sc.ifelse(c, st.exp(x) * y, x @ y * y), mode="native")
    assert not [n for n in f.runner.fallback_nodes if isinstance(n.op, IfElse)]
    xv, yv = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    np.testing.assert_allclose(f(1.0, xv, yv), np.exp(xv) * yv)
    np.testing.assert_allclose(f(0.0, xv, yv), (xv @ yv) * yv)


@pytest.mark.parametrize("mode", MODES)
def test_lists_values_and_gradients(mode):
    c, x, y = st.lscalar("c"), st.dvector("x"), st.dmatrix("y")
    a, b = sc.ifelse(c, [x * 2, y.sum(axis=0)], [st.sin(x), y[0]])
    f = sc.function([c, x, y], [a, b], mode=mode)
    xv, yv = np.array([0.5, -1.0]), np.arange(6.0).reshape(3, 2)
    got = f(1, xv, yv)
    np.testing.assert_allclose(got[0], xv * 2)
    np.testing.assert_allclose(got[1], yv.sum(axis=0))
    got = f(0, xv, yv)
    np.testing.assert_allclose(got[0], np.sin(xv))
    np.testing.assert_allclose(got[1], yv[0])
    for cond in (0, 1):
        sc.verify_grad(
            lambda x, y, cond=cond: (lambda r: r[0].sum() + (r[1] ** 2).sum())(
                sc.ifelse(
                    st.constant(np.int64(cond)), [x * y[0], y.sum(axis=0)], [st.sin(x), y[1] * x]
                )
            ),
            [xv, yv],
            mode=mode,
        )


def test_errors():
    x, y = st.dvector("x"), st.fvector("y")
    with pytest.raises(TypeError, match="branches must agree"):
        sc.ifelse(1, x, y)
    with pytest.raises(TypeError, match="scalar"):
        sc.ifelse(x, x, x)
    with pytest.raises(ValueError, match="outputs"):
        sc.ifelse(1, [x, x], [x])


def test_python_numbers_take_the_other_dtype():
    x = st.fvector("x")
    out = sc.ifelse(st.gt(x.sum(), 0), x, 0.0)
    assert out.dtype == "float32"
    f = sc.function([x], out, mode="py")
    got = f(np.float32([-1, -2]))
    assert got.dtype == np.float32 and got.tolist() == [0, 0]
    assert f(np.float32([1, 2])).tolist() == [1, 2]


@pytest.mark.parametrize("fn", [st.switch, st.where])
def test_switch_where_gradients(fn):
    rng = np.random.default_rng(0)
    cond = rng.random((3, 4)) < 0.5
    sc.verify_grad(
        lambda a, b: fn(st.constant(cond), a * a, b),
        [rng.normal(size=(3, 4)), rng.normal(size=(4,))],
        mode="py",
    )
