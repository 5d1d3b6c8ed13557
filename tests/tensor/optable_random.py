"""Op-table rows for symcomp/random: each random op applied to an explicit state [key, base]
(a uint64 input), against references written from the stream's definition in
symcomp/random/philox.py (sample i of a draw from the blocks the docs give it). The ops
have no gradient (grad=False)."""

from __future__ import annotations

import numpy as np

import symcomp.tensor as st
from symcomp.random import philox
from symcomp.random.op import Binomial, Choice, Integers, Normal, Uniform
from tests.tensor.optable import Case

STATE = (2,)


def _with_state(params):
    """Input generator: a state (a random key, a base near a 32-bit carry), then params."""

    def gen(rng, dtypes, shapes):
        key = int(rng.integers(0, 2**63))
        state = np.array([key, 2**32 - 3], dtype=np.uint64)
        return [state] + [p(rng, shape) for p, shape in zip(params, shapes[1:])]

    return gen


def _floats(low, high):
    return lambda rng, shape: rng.uniform(low, high, size=shape)


def _ints(low, high):
    return lambda rng, shape: rng.integers(low, high, size=shape)


def _state_after(state, blocks):
    return np.array([state[0], (int(state[1]) + blocks) % 2**64], dtype=np.uint64)


def _draw(op_cls, dtype):
    def fn(state, a, b):
        shape = st.shape_tuple(a)
        return op_cls(ndim=a.ndim, dtype=dtype)(state, a, b, *shape)

    return fn


def ref_uniform(dtype):
    def ref(state, low, high):
        key, base, n = int(state[0]), int(state[1]), low.size
        if dtype == "float32":
            u = [(int(philox.words(key, base, i, 1)[0]) >> 8) * 2.0**-24 for i in range(n)]
            blocks = (n + 3) // 4
        else:
            u = [(int(philox.uint64s(key, base, i, 1)[0]) >> 11) * 2.0**-53 for i in range(n)]
            blocks = (n + 1) // 2
        low, high = np.broadcast_arrays(low, high)
        out = low.ravel() + (high.ravel() - low.ravel()) * np.array(u, dtype=float)
        return [_state_after(state, blocks), out.reshape(low.shape).astype(dtype)]

    return ref


def ref_normal(dtype):
    def ref(state, loc, scale):
        key, base, n = int(state[0]), int(state[1]), loc.size
        z = []
        for i in range(n):
            v1, v2 = (int(x) >> 11 for x in philox.uint64s(key, base, 2 * (i // 2), 2))
            rad = np.sqrt(-2 * np.log((v1 + 1) * 2.0**-53))
            angle = 2 * np.pi * v2 * 2.0**-53
            z.append(rad * (np.cos(angle) if i % 2 == 0 else np.sin(angle)))
        loc, scale = np.broadcast_arrays(loc, scale)
        out = loc.ravel() + scale.ravel() * np.array(z, dtype=float)
        return [_state_after(state, (n + 1) // 2), out.reshape(loc.shape).astype(dtype)]

    return ref


def _lemire(key, base, i, r):
    """Python-integer reference of philox.bounded for element i."""
    threshold = (2**64 - r) % r
    attempt = 0
    while True:
        idx = np.array([i], dtype=np.uint64)
        w = [int(x) for x in philox.blocks_at(key, base, idx, attempt)[0]]
        for x in (w[0] | w[1] << 32, w[2] | w[3] << 32):
            if (x * r) % 2**64 >= threshold:
                return (x * r) >> 64
        attempt += 1


def ref_integers(dtype):
    def ref(state, low, high):
        key, base = int(state[0]), int(state[1])
        low, high = np.broadcast_arrays(low, high)
        out = [
            lo + _lemire(key, base, i, hi - lo)
            for i, (lo, hi) in enumerate(zip(low.ravel().tolist(), high.ravel().tolist()))
        ]
        return [_state_after(state, low.size), np.array(out, dtype).reshape(low.shape)]

    return ref


def ref_binomial(state, n, p):
    key, base = int(state[0]), int(state[1])
    n, p = np.broadcast_arrays(n, p)
    out, t = [], 0
    for ni, pi in zip(n.ravel().tolist(), p.ravel().tolist()):
        u = philox.uniform53(key, base, t, ni)
        out.append(int(np.sum(u < pi)))
        t += ni
    return [_state_after(state, (t + 1) // 2), np.array(out, np.int64).reshape(n.shape)]


def _choice(replace, weighted):
    def fn(state, pool, *p):
        k = st.shape_i(pool, 0) - 1
        return Choice(ndim=1, replace=replace, weighted=weighted)(state, st.shape_i(pool, 0), *p, k)

    return fn


def ref_choice(replace):
    def ref(state, pool):
        key, base, n = int(state[0]), int(state[1]), pool.shape[0]
        k = n - 1
        if replace:
            out = [_lemire(key, base, i, n) for i in range(k)]
        else:
            perm = list(range(n))
            for i in range(k):
                j = i + _lemire(key, base, i, n - i)
                perm[i], perm[j] = perm[j], perm[i]
            out = perm[:k]
        return [_state_after(state, k), np.array(out, np.int64)]

    return ref


def ref_choice_weighted(replace):
    def ref(state, pool, p):
        key, base, n = int(state[0]), int(state[1]), pool.shape[0]
        k = n - 1
        w = p.astype(float).tolist()
        u = philox.uniform53(key, base, 0, k)
        out = []
        for i in range(k):
            cdf = np.cumsum(w)
            x = u[i] * cdf[-1]
            t = next((j for j, c in enumerate(cdf) if c > x), None)
            if t is None:
                t = max(j for j, v in enumerate(w) if v != 0)
            out.append(t)
            if not replace:
                w[t] = 0.0
        return [_state_after(state, (k + 1) // 2), np.array(out, np.int64)]

    return ref


def _weights(rng, dtypes, shapes):
    state = _with_state([])(rng, dtypes, shapes[:1])[0]
    n = shapes[1][0]
    p = rng.uniform(0.1, 1, size=n)
    if n > 3:
        p[1] = 0.0  # a zero weight is never drawn; n - 1 non-zero weights for n - 1 picks
    p /= p.sum()
    return [state, rng.uniform(size=n), p]


SHAPES2 = [((2,), (3, 4), (4,)), ((2,), (5,), (5,)), ((2,), (0, 2), (2,)), ((2,), (), ())]
CHOICE_SHAPES = [((2,), (6,)), ((2,), (1,)), ((2,), (9,))]

CASES = (
    [
        Case(
            f"random_uniform_{dtype}",
            _draw(Uniform, dtype),
            ref_uniform(dtype),
            SHAPES2,
            dtypes=[("uint64", "float64", "float64")],
            inputs=lambda rng, d, s: _with_state([_floats(-3, 0), _floats(0, 3)])(rng, d, s),
            grad=False,
        )
        for dtype in ("float64", "float32")
    ]
    + [
        Case(
            f"random_normal_{dtype}",
            _draw(Normal, dtype),
            ref_normal(dtype),
            SHAPES2,
            dtypes=[("uint64", "float64", "float64")],
            inputs=lambda rng, d, s: _with_state([_floats(-3, 3), _floats(0, 2)])(rng, d, s),
            grad=False,
            rtol=1e-12,
            atol=1e-12,
        )
        for dtype in ("float64", "float32")
    ]
    + [
        Case(
            f"random_integers_{dtype}",
            _draw(Integers, dtype),
            ref_integers(dtype),
            SHAPES2,
            dtypes=[("uint64", "int64", "int64")],
            inputs=lambda rng, d, s: _with_state([_ints(0, 50), _ints(51, 120)])(rng, d, s),
            grad=False,
        )
        for dtype in ("int64", "int8", "uint16")
    ]
    + [
        Case(
            "random_binomial",
            _draw(Binomial, "int64"),
            ref_binomial,
            SHAPES2,
            dtypes=[("uint64", "int64", "float64")],
            inputs=lambda rng, d, s: _with_state([_ints(0, 20), _floats(0, 1)])(rng, d, s),
            grad=False,
        ),
        Case(
            "random_choice_replace",
            _choice(True, False),
            ref_choice(True),
            CHOICE_SHAPES,
            dtypes=[("uint64", "float64")],
            inputs=lambda rng, d, s: _with_state([_floats(0, 1)])(rng, d, s),
            grad=False,
        ),
        Case(
            "random_choice_no_replace",
            _choice(False, False),
            ref_choice(False),
            CHOICE_SHAPES,
            dtypes=[("uint64", "float64")],
            inputs=lambda rng, d, s: _with_state([_floats(0, 1)])(rng, d, s),
            grad=False,
        ),
        Case(
            "random_choice_weighted_replace",
            _choice(True, True),
            ref_choice_weighted(True),
            [((2,), (6,), (6,)), ((2,), (1,), (1,))],
            dtypes=[("uint64", "float64", "float64")],
            inputs=_weights,
            grad=False,
        ),
        Case(
            "random_choice_weighted_no_replace",
            _choice(False, True),
            ref_choice_weighted(False),
            [((2,), (6,), (6,)), ((2,), (1,), (1,))],
            dtypes=[("uint64", "float64", "float64")],
            inputs=_weights,
            grad=False,
        ),
    ]
)
