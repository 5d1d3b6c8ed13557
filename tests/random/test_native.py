"""Native random draws give the same numbers as py mode for the same seed: every op
bit-identical, except normal (Box-Muller's log/cos/sin come from glibc in C++ and from NumPy
in py mode, which may differ in the last ulp): float64 within rtol 1e-12 / atol 1e-12 and
float32 within one float32 ulp (rtol 1e-6, atol 1e-6)."""

from __future__ import annotations

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.codegen.toolchain import find_compiler
from symcomp.compile import native
from symcomp.random import RandomStream

pytestmark = [
    pytest.mark.cxx,
    pytest.mark.skipif(find_compiler() is None, reason="no C++ compiler"),
]


def _build(seed, inputs_fn):
    s = RandomStream(seed)
    return s, inputs_fn(s)


def _draws(s, n, lo, p, pool):
    return [
        s.uniform(-2, 3, size=(n, 3)),
        s.uniform(lo, 5.0, size=(n, 3), dtype="float32"),
        s.normal(lo, 2.0, size=(n, 3)),
        s.normal(size=(n,), dtype="float32"),
        s.integers(-5, 17, size=(n, 3)),
        s.integers(0, 2**40, size=(n,), dtype="uint64"),
        s.integers(-(2**63), 2**63 - 1, size=(n,)),
        s.integers(10, size=(n,), dtype="int8"),
        s.binomial(7, p, size=(n, 3)),
        s.binomial(st.cast(lo + 3, "int64"), 0.25, size=(n, 3), dtype="int32"),
        s.choice(n + 3, size=(n,)),
        s.choice(n + 3, size=(n,), replace=False),
        s.choice(pool, size=(2, 2), p=[0.1, 0.2, 0.3, 0.4]),
        s.choice(4, size=(3,), replace=False, p=[0.1, 0.0, 0.5, 0.4]),
        s.permutation(n),
        s.permutation(pool),
    ]


NORMALS = (2, 3)


def _compare(got, ref):
    for k, (g, r) in enumerate(zip(got, ref)):
        assert g.dtype == r.dtype and g.shape == r.shape, k
        if k in NORMALS:
            tol = 1e-12 if g.dtype == np.float64 else 1e-6
            np.testing.assert_allclose(g, r, rtol=tol, atol=tol, err_msg=str(k))
        else:
            assert np.array_equal(g, r), k


@pytest.fixture(scope="module")
def pair():
    n, lo, p = st.lscalar("n"), st.dvector("lo"), st.dscalar("p")
    pool = st.dvector("pool")
    s1 = RandomStream(2024)
    f_native = sc.function([n, lo, p, pool], _draws(s1, n, lo, p, pool), mode="native")
    s2 = RandomStream(2024)
    f_py = sc.function([n, lo, p, pool], _draws(s2, n, lo, p, pool), mode="py")
    return s1, f_native, s2, f_py


def _args(n):
    return n, np.linspace(-1, 1, 3), 0.4, np.array([10.0, 20.0, 30.0, 40.0])


def test_native_runs_every_random_op_natively(pair):
    _, f_native, _, _ = pair
    assert isinstance(f_native.runner, native.NativeRunner)
    fallback = {type(node.op).__name__ for node in f_native.runner.fallback_nodes}
    assert not fallback & {"Uniform", "Normal", "Integers", "Binomial", "Choice"}
    assert "philox" in f_native.source


@pytest.mark.parametrize("n", [5, 1, 0, 1000])
def test_same_seed_same_numbers_py_and_native(pair, n):
    s1, f_native, s2, f_py = pair
    s1.seed(n)
    s2.seed(n)
    for _ in range(2):  # and the states advance identically
        _compare(f_native(*_args(n)), f_py(*_args(n)))
    for (a, _), (b, _) in zip(s1.updates(), s2.updates()):
        assert np.array_equal(a.get_value(), b.get_value())


def test_native_successive_calls_differ_and_seed_replays(pair):
    s1, f_native, _, _ = pair
    s1.seed(5)
    a = f_native(*_args(6))
    b = f_native(*_args(6))
    assert not np.array_equal(a[0], b[0])
    s1.seed(5)
    for x, y in zip(a, f_native(*_args(6))):
        assert np.array_equal(x, y)


def test_native_large_draws_match_and_have_the_right_moments():
    s1, s2 = RandomStream(77), RandomStream(77)
    size = 10**6

    def outs(s):
        return [
            s.uniform(size=(size,)),
            s.normal(size=(size,)),
            s.integers(0, 1000, size=(size,)),
            s.binomial(3, 0.5, size=(size // 4,)),  # OpenMP-parallel paths (size >= minsize)
        ]

    got = sc.function([], outs(s1), mode="native")()
    ref = sc.function([], outs(s2), mode="py")()
    assert np.array_equal(got[0], ref[0]) and np.array_equal(got[2], ref[2])
    assert np.array_equal(got[3], ref[3])
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12, atol=1e-12)
    assert abs(got[1].mean()) < 5e-3 and abs(got[1].var() - 1) < 5e-3
    assert abs(got[0].mean() - 0.5) < 2e-3


def test_native_broadcasts_strided_parameters():
    s1, s2 = RandomStream(8), RandomStream(8)
    lo, hi = st.dmatrix("lo"), st.dvector("hi")

    def out(s):
        return s.uniform(lo, hi)

    lo_v = np.arange(12.0).reshape(3, 4)[:, ::2] - 20  # (3, 2), strided
    hi_v = np.array([1.0, 2.0, 3.0, 4.0])[::2]
    f = sc.function([lo, hi], out(s1), mode="native")
    g = sc.function([lo, hi], out(s2), mode="py")
    assert np.array_equal(f(lo_v, hi_v), g(lo_v, hi_v))


@pytest.mark.parametrize(
    "build,args,message",
    [
        (lambda s, a, b: s.binomial(3, a), (1.5, 0.0), "p must be in"),
        (
            lambda s, a, b: s.integers(st.cast(a, "int64"), st.cast(b, "int64")),
            (4.0, 4.0),
            "low must be < high",
        ),
        (
            lambda s, a, b: s.integers(st.cast(a, "int64"), 1000, dtype="int8"),
            (0.0, 0.0),
            "does not fit",
        ),
        (lambda s, a, b: s.uniform(a, b), (2.0, 1.0), "low must be <= high"),
        (lambda s, a, b: s.normal(a, b), (0.0, -1.0), "scale must be >= 0"),
        (
            lambda s, a, b: s.choice(st.cast(a, "int64"), size=st.cast(b, "int64"), replace=False),
            (3.0, 4.0),
            "cannot take 4 samples from 3",
        ),
        (lambda s, a, b: s.choice(3, p=st.stack([a, b, b])), (0.5, 0.1), "do not sum to 1"),
        (
            lambda s, a, b: s.choice(3, size=2, replace=False, p=st.stack([a, b, b])),
            (1.0, 0.0),
            "fewer non-zero",
        ),
        (lambda s, a, b: s.normal(size=(st.cast(a, "int64"),)), (-1.0, 0.0), "negative"),
    ],
)
def test_native_bad_arguments_raise(build, args, message):
    a, b = st.dscalar("a"), st.dscalar("b")
    f = sc.function([a, b], build(RandomStream(0), a, b), mode="native", on_unused_input="ignore")
    with pytest.raises(ValueError, match=message):
        f(*args)
