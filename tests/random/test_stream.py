"""RandomStream in py mode: default updates, seeding, distributions, dtypes, sizes, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import symcomp as sc
import symcomp.tensor as st
from symcomp.random import RandomStream


def py(outputs, inputs=(), **kwargs):
    return sc.function(list(inputs), outputs, mode="py", **kwargs)


def test_successive_calls_differ_and_seed_replays():
    s = RandomStream(1)
    f = py([s.normal(size=(4,)), s.integers(0, 100, size=(3,))])
    a, b = f(), f()
    assert not np.array_equal(a[0], b[0])
    s.seed(1)
    c, d = f(), f()
    for x, y in zip(a + b, c + d):
        assert np.array_equal(x, y)
    s.seed(2)
    assert not np.array_equal(f()[0], a[0])


def test_same_seed_same_numbers_across_streams():
    f1 = py(RandomStream(7).uniform(size=(5,)))
    f2 = py(RandomStream(7).uniform(size=(5,)))
    assert np.array_equal(f1(), f2())
    assert np.array_equal(f1(), f2())


def test_identical_draws_are_not_merged():
    s = RandomStream(3)
    a, b = s.normal(size=(6,)), s.normal(size=(6,))
    x, y = py([a, b])()
    assert not np.array_equal(x, y)
    x2, y2 = py([a - b, a])()
    assert not np.allclose(x2, 0)


def test_one_draw_is_one_sample_inside_a_function():
    s = RandomStream(3)
    a = s.uniform(size=(5,))
    x, z = py([a, a - a])()
    assert np.all(z == 0) and x.shape == (5,)


def test_default_update_applies_unless_explicitly_updated():
    s = RandomStream(4)
    a = s.uniform(size=(3,))
    (state, new_state) = s.updates()[0]
    assert state.default_update is new_state
    frozen = py(a, updates=[(state, state)])
    assert np.array_equal(frozen(), frozen())
    before = state.get_value()
    advancing = py(a)
    advancing()
    after = state.get_value()
    assert after[0] == before[0] and after[1] == before[1] + 2  # 3 float64 values: 2 blocks


def test_default_update_of_any_shared_variable():
    counter = sc.shared(np.int64(0), name="counter")
    counter.default_update = counter + 1
    f = py(counter * 10)
    assert [int(f()) for _ in range(3)] == [0, 10, 20]
    assert int(counter.get_value()) == 3


def test_state_advances_by_the_blocks_drawn():
    cases = [
        (lambda s: s.uniform(size=(5,)), 3),
        (lambda s: s.uniform(size=(5,), dtype="float32"), 2),
        (lambda s: s.normal(size=(5,)), 3),
        (lambda s: s.integers(9, size=(5,)), 5),
        (lambda s: s.binomial(3, 0.5, size=(5,)), 8),
        (lambda s: s.choice(10, size=4, replace=False), 4),
        (lambda s: s.choice(3, size=5, p=[0.2, 0.3, 0.5]), 3),
    ]
    for build, blocks in cases:
        s = RandomStream(0)
        f = py(build(s))
        state = s.updates()[0][0]
        f()
        assert int(state.get_value()[1]) == blocks


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_and_normal_moments(dtype):
    s = RandomStream(123)
    n = 10**6
    u, z = py(
        [s.uniform(-1, 3, size=(n,), dtype=dtype), s.normal(2, 0.5, size=(n,), dtype=dtype)]
    )()
    assert u.dtype == dtype and z.dtype == dtype
    assert u.min() >= -1 and u.max() <= 3
    # mean/variance within ~5 standard errors
    assert abs(u.mean() - 1) < 5 * np.sqrt(16 / 12 / n)
    assert abs(u.var() - 16 / 12) < 0.01
    assert abs(z.mean() - 2) < 5 * 0.5 / np.sqrt(n)
    assert abs(z.var() - 0.25) < 0.002
    assert stats.kstest(u, stats.uniform(-1, 4).cdf).pvalue > 1e-3
    assert stats.kstest(z, stats.norm(2, 0.5).cdf).pvalue > 1e-3


def test_integers_range_and_distribution():
    s = RandomStream(5)
    x = py(s.integers(-3, 4, size=(70000,)))()
    assert x.dtype == np.int64 and x.min() == -3 and x.max() == 3
    assert stats.chisquare(np.bincount(x + 3)).pvalue > 1e-4
    y = py(s.integers(5, size=(10,), dtype="uint8"))()
    assert y.dtype == np.uint8 and y.max() < 5


def test_integers_extreme_ranges():
    s = RandomStream(6)
    big = py(s.integers(-(2**63), 2**63 - 1, size=(1000,)))()
    assert big.min() < -(2**61) and big.max() > 2**61
    small = py(s.integers(-128, 128, size=(5000,), dtype="int8"))()
    assert small.dtype == np.int8 and small.min() == -128 and small.max() == 127


def test_binomial_distribution():
    s = RandomStream(8)
    n, p = 12, 0.3
    x = py(s.binomial(n, p, size=(50000,)))()
    assert x.min() >= 0 and x.max() <= n
    assert abs(x.mean() - n * p) < 5 * np.sqrt(n * p * (1 - p) / x.size)
    counts = np.bincount(x, minlength=n + 1)
    expected = stats.binom(n, p).pmf(np.arange(n + 1)) * x.size
    keep = expected > 5
    observed = np.append(counts[keep], counts[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    assert stats.chisquare(observed, exp * observed.sum() / exp.sum()).pvalue > 1e-4


def test_binomial_broadcast_parameters():
    s = RandomStream(9)
    x = py(s.binomial(np.array([0, 1, 5, 20]), np.array([[0.0], [1.0]])))()
    assert x.shape == (2, 4)
    assert np.array_equal(x[0], [0, 0, 0, 0]) and np.array_equal(x[1], [0, 1, 5, 20])


def test_choice_with_and_without_replacement():
    s = RandomStream(10)
    pool = st.dvector("pool")
    f = py([s.choice(pool, size=(4,), replace=False), s.choice(5, size=20000)], [pool])
    values = np.array([1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
    picked, idx = f(values)
    assert len(set(picked.tolist())) == 4 and set(picked.tolist()) <= set(values.tolist())
    assert stats.chisquare(np.bincount(idx, minlength=5)).pvalue > 1e-4


def test_choice_weighted():
    s = RandomStream(11)
    p = np.array([0.1, 0.0, 0.6, 0.3])
    x, y = py([s.choice(4, size=40000, p=p), s.choice(4, size=3, replace=False, p=p)])()
    counts = np.bincount(x, minlength=4)
    assert counts[1] == 0
    assert stats.chisquare(counts[[0, 2, 3]], 40000 * p[[0, 2, 3]]).pvalue > 1e-4
    assert sorted(y.tolist()) == [0, 2, 3]


def test_permutation_is_a_permutation():
    s = RandomStream(12)
    x = st.dmatrix("x")
    f = py([s.permutation(10), s.permutation(x)], [x])
    data = np.arange(12.0).reshape(6, 2)
    perm, rows = f(data)
    assert sorted(perm.tolist()) == list(range(10))
    assert sorted(rows[:, 0].tolist()) == data[:, 0].tolist()
    assert np.array_equal(rows[:, 1] - rows[:, 0], np.ones(6))
    first = py(s.permutation(5), name="p5")
    seen = {tuple(first()) for _ in range(60)}
    assert len(seen) > 20  # 120 permutations: successive calls shuffle anew


def test_permutation_positions_are_uniform():
    s = RandomStream(13)
    f = py(s.permutation(4))
    firsts = np.bincount([int(f()[0]) for _ in range(2000)], minlength=4)
    assert stats.chisquare(firsts).pvalue > 1e-4


def test_symbolic_size_and_parameters():
    s = RandomStream(14)
    n = st.lscalar("n")
    loc = st.dvector("loc")
    f = py(
        [s.normal(loc, 0.0), s.uniform(size=(n, 2)), s.integers(0, 10, size=st.stack([n]))],
        [n, loc],
    )
    a, b, c = f(3, np.array([1.0, 2.0]))
    assert np.array_equal(a, [1.0, 2.0]) and b.shape == (3, 2) and c.shape == (3,)


@pytest.mark.parametrize("size", [0, 1, (), (0, 3), (1, 1)])
def test_size_zero_and_one(size):
    s = RandomStream(15)
    outs = [
        s.normal(size=size),
        s.uniform(size=size, dtype="float32"),
        s.integers(4, size=size),
        s.binomial(2, 0.5, size=size),
        s.choice(3, size=size),
    ]
    shape = np.empty(size).shape
    for v in py(outs)():
        assert v.shape == shape


def test_static_shapes():
    s = RandomStream(16)
    assert s.normal(size=(2, 3)).type.shape == (2, 3)
    assert s.normal(np.zeros(4)).type.shape == (4,)
    assert s.permutation(5).type.shape == (5,)


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda s: s.binomial(3, 1.5), "p must be in"),
        (lambda s: s.binomial(3, -0.1), "p must be in"),
        (lambda s: s.binomial(-1, 0.5), "n must be in"),
        (lambda s: s.integers(5, 5), "low must be < high"),
        (lambda s: s.integers(300, dtype="int8"), "does not fit in int8"),
        (lambda s: s.uniform(2, 1), "low must be <= high"),
        (lambda s: s.normal(0, -1), "scale must be >= 0"),
        (lambda s: s.choice(3, size=4, replace=False), "cannot take 4 samples from 3"),
        (lambda s: s.choice(3, p=[0.5, 0.6, -0.1]), "in \\[0, 1\\]"),
        (lambda s: s.choice(3, p=[0.5, 0.2, 0.2]), "do not sum to 1"),
        (lambda s: s.choice(3, size=3, replace=False, p=[0.5, 0.5, 0]), "fewer non-zero"),
        (lambda s: s.choice(0, size=2), "cannot be empty"),
    ],
)
def test_bad_constant_arguments_raise_when_built(build, message):
    with pytest.raises(ValueError, match=message):
        build(RandomStream(0))


@pytest.mark.parametrize(
    "build,args,message",
    [
        (lambda s, a, b: s.binomial(3, a), (1.5, 0.0), "p must be in"),
        (lambda s, a, b: s.integers(a, b), (4.0, 4.0), "low must be < high"),
        (lambda s, a, b: s.uniform(a, b), (2.0, 1.0), "low must be <= high"),
        (lambda s, a, b: s.uniform(a, b), (np.inf, 1.0), "finite"),
        (lambda s, a, b: s.normal(a, b), (0.0, -1.0), "scale must be >= 0"),
        (lambda s, a, b: s.normal(a, b), (0.0, np.nan), "scale must be >= 0"),
    ],
)
def test_bad_symbolic_arguments_raise_at_run_time(build, args, message):
    s = RandomStream(0)
    a, b = st.dscalar("a"), st.dscalar("b")
    x = build(
        s,
        st.cast(a, "int64") if "integers" in message or "low must be <" in message else a,
        st.cast(b, "int64") if "low must be <" in message else b,
    )
    f = py(x, [a, b], on_unused_input="ignore")
    with pytest.raises(ValueError, match=message):
        f(*args)


def test_choice_runtime_errors():
    s = RandomStream(0)
    n, k = st.lscalar("n"), st.lscalar("k")
    f = py(s.choice(n, size=k, replace=False), [n, k])
    assert sorted(f(5, 5).tolist()) == list(range(5))
    with pytest.raises(ValueError, match="cannot take 6 samples from 5"):
        f(5, 6)


def test_bad_types_raise():
    s = RandomStream(0)
    with pytest.raises(TypeError, match="integer"):
        s.integers(0.5, 3)
    with pytest.raises(TypeError, match="float32 or float64"):
        s.normal(dtype="int32")
    with pytest.raises(TypeError, match="integer dtype"):
        s.integers(3, dtype="float64")
    with pytest.raises(ValueError, match="seed"):
        RandomStream(-1)
    with pytest.raises(ValueError, match="broadcast"):
        s.normal(np.zeros(3), size=(2,))


def test_no_gradient_through_samples_but_through_parameters_use():
    s = RandomStream(0)
    loc = st.dscalar("loc")
    z = s.normal(0.0, 1.0, size=(3,))
    g = sc.grad((z * loc).sum(), loc)
    f = py([g, z], [loc])
    gv, zv = f(2.0)
    # the draw is shared between the outputs of one call
    assert np.isclose(gv, zv.sum())


def test_random_ops_are_never_folded():
    s = RandomStream(0)
    f = sc.function([], s.uniform(size=(3,)), mode="py")
    ops = {type(n.op).__name__ for n in f.maker.fgraph.apply_nodes}
    assert "Uniform" in ops
    assert not np.array_equal(f(), f())


def test_constant_folding_skips_random_ops_even_on_constant_inputs():
    from symcomp.optimize.folding import fold_constants
    from symcomp.random.op import Choice, Normal, Uniform

    state = st.constant(np.array([1, 0], dtype=np.uint64))
    for op, args in [
        (Uniform(ndim=1), (0.0, 1.0, 3)),
        (Normal(ndim=1), (0.0, 1.0, 3)),
        (Choice(ndim=1), (5, 3)),
    ]:
        assert op.foldable is False
        node = op.make_node(state, *args)
        assert fold_constants(node) is None
    f = py(Uniform(ndim=1)(state, 0.0, 1.0, 3)[1])
    assert any(isinstance(n.op, Uniform) for n in f.maker.fgraph.apply_nodes)
