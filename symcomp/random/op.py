"""The random ops: each reads a stream state (a uint64 vector ``[key, base]``, see
symcomp/random/philox.py), draws, and returns ``[new_state, sample]``.

Inputs are ``(state, *params, *size)``: the parameters (float64 or int64, broadcast to the
sample's shape, NumPy rules) and one int64 scalar per sample dim. The ops have no gradient
and are never constant-folded (``foldable = False``): the state is an input like any other,
so two draws are distinct nodes exactly when their states differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.variable import Constant
from symcomp.random import philox
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.shapeof import as_shape_scalars, static_value
from symcomp.tensor.type import TensorType

STATE_TYPE = TensorType("uint64", (2,))
# Binomial draws are sums of Bernoulli trials: n trials per sample.
BINOMIAL_MAX_N = 1 << 20
# |sum(p) - 1| allowed for choice's probabilities (NumPy allows about sqrt(eps)).
P_SUM_ATOL = 1e-8
_CHUNK = 1 << 22


def _as_state(state):
    state = as_tensor_variable(state)
    if state.dtype != "uint64" or state.ndim != 1:
        raise TypeError(f"a random state must be a uint64 vector [key, base], got {state.type}")
    return state


def _as_param(x, kind: str, what: str):
    from symcomp.tensor.arith import cast

    x = as_tensor_variable(x)
    if kind == "int" and x.dtype[:3] not in ("int", "uin", "boo"):
        raise TypeError(f"{what} must be an integer, got {x} of dtype {x.dtype}")
    if x.dtype[:7] == "complex":
        raise TypeError(f"{what} must be real, got {x} of dtype {x.dtype}")
    return cast(x, "int64" if kind == "int" else "float64")


def _advance(state, blocks: int) -> np.ndarray:
    key, base = int(state[0]), int(state[1])
    return np.array([key, (base + blocks) % (1 << 64)], dtype=np.uint64)


def _key_base(state) -> tuple:
    state = np.asarray(state)
    if state.shape != (2,):
        raise ValueError(f"a random state must have shape (2,), got {state.shape}")
    return int(state[0]), int(state[1])


@dataclass(frozen=True)
class RandomVariable(Op):
    """Base of the broadcasting draws: ``(state, *params, *size) -> [new_state, sample]``.

    A subclass sets ``param_kinds`` (``"float"`` or ``"int"`` per parameter) and ``names``,
    and provides ``check(params)`` (raise ValueError for bad parameters) and
    ``draw(key, base, params, shape) -> (sample, blocks consumed)``.
    """

    abstract = True
    differentiable = False
    foldable = False
    param_kinds = ("float", "float")
    names = ("a", "b")

    ndim: int = 0
    dtype: str = "float64"

    def make_node(self, state, *rest):
        k = len(self.param_kinds)
        if len(rest) != k + self.ndim:
            raise TypeError(
                f"{type(self).__name__} takes a state, {k} parameters and {self.ndim} size "
                f"entries, got {len(rest)} inputs after the state"
            )
        params = [
            _as_param(p, kd, f"{type(self).__name__}: {nm}")
            for p, kd, nm in zip(rest[:k], self.param_kinds, self.names)
        ]
        size = as_shape_scalars(rest[k:])
        static = [static_value(s) for s in size]
        for p in params:
            if p.ndim > self.ndim:
                raise ValueError(
                    f"{type(self).__name__}: parameter {p} has {p.ndim} dims, more than "
                    f"the {self.ndim} of the size"
                )
            lead = self.ndim - p.ndim
            for d, n in enumerate(p.type.shape):
                t = static[lead + d]
                if n is not None and t is not None and n != 1 and n != t:
                    raise ValueError(
                        f"{type(self).__name__}: parameter of shape {p.type.shape} does not "
                        f"broadcast to the size {tuple(static)}"
                    )
        raw = [as_tensor_variable(p) for p in rest[:k]]
        if all(isinstance(p, Constant) for p in raw):
            kinds = {"int": np.int64, "float": np.float64}
            self.check([np.asarray(p.data, kinds[kd]) for p, kd in zip(raw, self.param_kinds)])
        out = [STATE_TYPE, TensorType(self.dtype, tuple(static))]
        return Apply.make(self, [_as_state(state), *params, *size], out)

    def perform(self, node, inputs):
        k = len(self.param_kinds)
        key, base = _key_base(inputs[0])
        shape = tuple(int(s) for s in inputs[1 + k :])
        if any(s < 0 for s in shape):
            raise ValueError(f"{type(self).__name__}: negative size {shape}")
        try:
            params = [np.broadcast_to(np.asarray(p), shape) for p in inputs[1 : 1 + k]]
        except ValueError:
            shapes = [np.shape(p) for p in inputs[1 : 1 + k]]
            raise ValueError(
                f"{type(self).__name__}: parameters of shapes {shapes} do not broadcast "
                f"to the size {shape}"
            ) from None
        self.check(params)
        sample, blocks = self.draw(key, base, params, shape)
        return [_advance(inputs[0], blocks), np.asarray(sample, dtype=self.dtype).reshape(shape)]

    def infer_shape(self, node, input_shapes):
        return [(2,), tuple(node.inputs[len(node.inputs) - self.ndim :])]


@dataclass(frozen=True)
class Uniform(RandomVariable):
    """Uniform in [low, high): float64 from 53 random bits, float32 from 24."""

    names = ("low", "high")

    def check(self, params):
        low, high = params
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise ValueError("uniform: low and high must be finite")
        if np.any(low > high):
            raise ValueError("uniform: low must be <= high")

    def draw(self, key, base, params, shape):
        low, high = params
        n = int(np.prod(shape, dtype=np.int64))
        if self.dtype == "float32":
            u, blocks = philox.uniform24(key, base, 0, n), (n + 3) // 4
        else:
            u, blocks = philox.uniform53(key, base, 0, n), (n + 1) // 2
        low, high = low.reshape(-1), high.reshape(-1)
        return low + (high - low) * u, blocks


@dataclass(frozen=True)
class Normal(RandomVariable):
    """Normal(loc, scale) by Box-Muller (computed in float64, then rounded to the dtype)."""

    names = ("loc", "scale")

    def check(self, params):
        if not np.all(params[1] >= 0):
            raise ValueError("normal: scale must be >= 0 (and not NaN)")

    def draw(self, key, base, params, shape):
        loc, scale = (p.reshape(-1) for p in params)
        n = int(np.prod(shape, dtype=np.int64))
        return loc + scale * philox.normal_pairs(key, base, n), (n + 1) // 2


@dataclass(frozen=True)
class Integers(RandomVariable):
    """Exactly uniform integers in [low, high) (Lemire's multiply-shift with rejection)."""

    param_kinds = ("int", "int")
    names = ("low", "high")
    dtype: str = "int64"

    def check(self, params):
        low, high = params
        if np.any(low >= high):
            raise ValueError("integers: low must be < high")
        info = np.iinfo(self.dtype)
        if np.any(low < info.min) or np.any(high - 1 > info.max):
            raise ValueError(f"integers: [low, high) does not fit in {self.dtype}")

    def draw(self, key, base, params, shape):
        low, high = (p.reshape(-1).astype(np.int64).view(np.uint64) for p in params)
        with np.errstate(over="ignore"):
            r = high - low
            x = philox.bounded(key, base, r) + low
        return x.view(np.int64).astype(self.dtype), int(r.size)


@dataclass(frozen=True)
class Binomial(RandomVariable):
    """Binomial(n, p) as the sum of n Bernoulli trials (u < p, u a 53-bit uniform); sample i
    reads the trials after those of samples 0..i-1. n <= BINOMIAL_MAX_N."""

    param_kinds = ("int", "float")
    names = ("n", "p")
    dtype: str = "int64"

    def check(self, params):
        n, p = params
        if np.any(n < 0) or np.any(n > BINOMIAL_MAX_N):
            raise ValueError(f"binomial: n must be in [0, {BINOMIAL_MAX_N}]")
        if not np.all((p >= 0) & (p <= 1)):
            raise ValueError("binomial: p must be in [0, 1]")

    def draw(self, key, base, params, shape):
        n, p = (a.reshape(-1) for a in params)
        n = n.astype(np.int64)
        ends = np.cumsum(n)
        total = int(ends[-1]) if ends.size else 0
        out = np.zeros(n.size, dtype=np.int64)
        start = 0  # first sample of the chunk
        while start < n.size:
            t0 = int(ends[start] - n[start])
            stop = int(np.searchsorted(ends, t0 + _CHUNK, side="right"))
            stop = max(stop, start + 1)
            t1 = int(ends[stop - 1])
            hits = philox.uniform53(key, base, t0, t1 - t0) < np.repeat(
                p[start:stop], n[start:stop]
            )
            csum = np.concatenate([[0], np.cumsum(hits, dtype=np.int64)])
            rel = ends[start:stop] - t0
            out[start:stop] = csum[rel] - csum[rel - n[start:stop]]
            start = stop
        return out, (total + 1) // 2


@dataclass(frozen=True)
class Choice(Op):
    """Indices drawn from range(n): with replacement (uniform, or weighted by ``p`` through
    its cumulative sum), or without (a partial Fisher-Yates shuffle; weighted: one weighted
    draw at a time, each removing its pick). Inputs ``(state, n, [p,] *size)``."""

    differentiable = False
    foldable = False

    ndim: int = 0
    replace: bool = True
    weighted: bool = False

    def make_node(self, state, n, *rest):
        rest_p = rest[0] if self.weighted else None
        n = _as_param(n, "int", "choice: a")
        if n.ndim != 0:
            raise TypeError(f"choice: the population size must be a scalar, got {n.type}")
        params = [n]
        if self.weighted:
            p = _as_param(rest[0], "float", "choice: p")
            if p.ndim != 1:
                raise ValueError(f"choice: p must be a vector, got {p.type}")
            params.append(p)
            rest = rest[1:]
        if len(rest) != self.ndim:
            raise TypeError(f"choice: expected {self.ndim} size entries, got {len(rest)}")
        size = as_shape_scalars(rest)
        static = tuple(static_value(s) for s in size)
        raw = [as_tensor_variable(v) for v in (n, *([rest_p] if self.weighted else []))]
        if all(isinstance(v, Constant) for v in raw) and None not in static:
            self.check([np.asarray(v.data) for v in raw], int(np.prod(static, dtype=int)))
        out = [STATE_TYPE, TensorType("int64", static)]
        return Apply.make(self, [_as_state(state), *params, *size], out)

    def check(self, params, k: int):
        n = int(params[0])
        if n < 0:
            raise ValueError(f"choice: a must be non-negative, got {n}")
        if n == 0 and k > 0:
            raise ValueError("choice: a cannot be empty unless no samples are taken")
        if self.weighted:
            p = np.asarray(params[1], dtype=np.float64)
            if p.shape != (n,):
                raise ValueError(f"choice: p has {p.size} entries but a has {n}")
            if not np.all((p >= 0) & (p <= 1)):
                raise ValueError("choice: probabilities must be in [0, 1]")
            if n and abs(np.cumsum(p)[-1] - 1.0) > P_SUM_ATOL:
                raise ValueError("choice: probabilities do not sum to 1")
            if not self.replace and np.count_nonzero(p) < k:
                raise ValueError(
                    f"choice: fewer non-zero probabilities than the {k} samples to take "
                    f"without replacement"
                )
        elif not self.replace and k > n:
            raise ValueError(f"choice: cannot take {k} samples from {n} without replacement")

    def perform(self, node, inputs):
        key, base = _key_base(inputs[0])
        nparam = 2 if self.weighted else 1
        shape = tuple(int(s) for s in inputs[1 + nparam :])
        if any(s < 0 for s in shape):
            raise ValueError(f"choice: negative size {shape}")
        k = int(np.prod(shape, dtype=np.int64))
        params = inputs[1 : 1 + nparam]
        self.check(params, k)
        n = int(params[0])
        if self.weighted:
            idx, blocks = _weighted(key, base, np.asarray(params[1]), k, self.replace)
        elif self.replace:
            idx = philox.bounded(key, base, np.full(k, n, dtype=np.uint64)).astype(np.int64)
            blocks = k
        else:
            idx, blocks = _fisher_yates(key, base, n, k), k
        return [_advance(inputs[0], blocks), idx.reshape(shape)]

    def infer_shape(self, node, input_shapes):
        return [(2,), tuple(node.inputs[len(node.inputs) - self.ndim :])]


def _fisher_yates(key, base, n: int, k: int) -> np.ndarray:
    """The first k entries of a Fisher-Yates shuffle of range(n): step i swaps entry i with
    entry i + j, j uniform in [0, n - i) from block i."""
    j = philox.bounded(key, base, n - np.arange(k, dtype=np.uint64)).astype(np.int64)
    perm = list(range(n))  # a list: element swaps are several times faster than on arrays
    for i, t in enumerate((j + np.arange(k)).tolist()):
        perm[i], perm[t] = perm[t], perm[i]
    return np.array(perm[:k], dtype=np.int64)


def _weighted(key, base, p: np.ndarray, k: int, replace: bool) -> tuple:
    """Inversion of the cumulative sum: sample i is the first index whose cumulative weight
    exceeds u_i * total (u_i the 53-bit uniform i); zero weights are never picked."""
    u = philox.uniform53(key, base, 0, k)
    w = np.array(p, dtype=np.float64)
    out = np.empty(k, dtype=np.int64)
    last = int(np.flatnonzero(w)[-1]) if np.any(w) else 0
    if replace:
        cdf = np.cumsum(w)
        idx = np.searchsorted(cdf, u * cdf[-1] if w.size else u, side="right")
        return np.where(idx >= w.size, last, idx).astype(np.int64), (k + 1) // 2
    for i in range(k):
        cdf = np.cumsum(w)
        t = int(np.searchsorted(cdf, u[i] * cdf[-1], side="right"))
        if t >= w.size:
            t = int(np.flatnonzero(w)[-1])
        out[i] = t
        w[t] = 0.0
    return out, (k + 1) // 2
