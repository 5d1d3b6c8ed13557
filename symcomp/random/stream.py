"""RandomStream: symbolic random draws whose states live in shared variables.

Every draw gets its own shared state ``[key, base]`` (uint64) with a ``default_update``
(the op's new state), so ``symcomp.function`` advances it on every call unless the user
gives an explicit update for it, and two draws that look alike are never merged.
"""

from __future__ import annotations

import numpy as np

from symcomp.config import config
from symcomp.random.op import Binomial, Choice, Integers, Normal, Uniform


def _key(seed: int, index: int) -> int:
    """The Philox key of draw ``index`` of a stream seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0])


def _size_entries(size) -> tuple | None:
    """``size`` (None, an int, a tuple/list of ints or int scalars, or an int vector) as a
    tuple of entries."""
    from symcomp.tensor.basic import as_tensor_variable

    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        return (int(size),)
    if isinstance(size, (tuple, list)):
        return tuple(size)
    size = as_tensor_variable(size)
    if size.ndim == 0:
        return (size,)
    if size.ndim != 1 or size.type.shape[0] is None:
        raise ValueError(
            f"size must be an int, a tuple, or an int vector of static length; got {size.type}"
        )
    return tuple(size[i] for i in range(size.type.shape[0]))


def _broadcast_params(params) -> tuple:
    """The NumPy broadcast of the parameters' shapes, as shape entries."""
    from symcomp.tensor.basic import as_tensor_variable
    from symcomp.tensor.shapeof import broadcast_shape_symbolic, shape_tuple

    params = [as_tensor_variable(p) for p in params]
    ndim = max((p.ndim for p in params), default=0)
    static = []
    for d in range(ndim):
        dims = [p.type.shape[d - ndim + p.ndim] for p in params if d - ndim + p.ndim >= 0]
        known = [n for n in dims if n is not None and n != 1]
        if known:
            static.append(known[0])
        elif all(n == 1 for n in dims):
            static.append(1)
        else:
            static.append(None)
    return broadcast_shape_symbolic([shape_tuple(p) for p in params], tuple(static))


class RandomStream:
    """A source of symbolic random draws, NumPy Generator style (PyTensor's RandomStream).

    ``seed`` is an int (None: a fresh random seed). Parameters and ``size`` may be symbolic.
    Each method returns a symbolic sample; the functions compiled from it draw new numbers
    on every call. ``seed(s)`` resets every state of the stream reproducibly.
    """

    def __init__(self, seed: int | None = None):
        self.state_updates: list = []  # [(shared state, new state)], one per draw
        self.gen_seed = self._fresh(seed)

    @staticmethod
    def _fresh(seed):
        if seed is None:
            return int(np.random.SeedSequence().entropy % (1 << 63))
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        return int(seed)

    def seed(self, seed: int | None = None) -> None:
        """Reset every state of this stream as if it had been created with ``seed``."""
        self.gen_seed = self._fresh(seed)
        for k, (state, _) in enumerate(self.state_updates):
            state.set_value(np.array([_key(self.gen_seed, k), 0], dtype=np.uint64))

    def updates(self) -> list:
        """(shared state, new state) pairs of every draw so far."""
        return list(self.state_updates)

    def _draw(self, op, inputs, name):
        from symcomp.compile.sharedvalue import shared

        k = len(self.state_updates)
        state = shared(
            np.array([_key(self.gen_seed, k), 0], dtype=np.uint64),
            name=f"{name}_state{k}",
            shape=(2,),
        )
        new_state, sample = op(state, *inputs)
        state.default_update = new_state
        self.state_updates.append((state, new_state))
        return sample

    def _rv(self, cls, params, size, dtype, name):
        entries = _size_entries(size)
        if entries is None:
            entries = _broadcast_params(params)
        return self._draw(cls(ndim=len(entries), dtype=dtype), [*params, *entries], name)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=None):
        """Uniform in [low, high) (float32: from 24 random bits; float64: from 53)."""
        return self._rv(Uniform, [low, high], size, _float(dtype), "uniform")

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=None):
        """Normal(loc, scale), by Box-Muller."""
        return self._rv(Normal, [loc, scale], size, _float(dtype), "normal")

    def integers(self, low, high=None, size=None, dtype="int64"):
        """Exactly uniform integers in [low, high) (in [0, low) when high is None)."""
        if high is None:
            low, high = 0, low
        return self._rv(Integers, [low, high], size, _int(dtype), "integers")

    def binomial(self, n, p, size=None, dtype="int64"):
        """Binomial(n, p): the number of successes in n trials of probability p."""
        return self._rv(Binomial, [n, p], size, _int(dtype), "binomial")

    def choice(self, a, size=None, replace: bool = True, p=None):
        """Random entries of ``a`` (a vector), or of range(a) when ``a`` is an int scalar;
        weighted by ``p`` when given; without repeats when ``replace`` is False."""
        from symcomp.tensor.basic import as_tensor_variable
        from symcomp.tensor.shapeof import shape_i

        a = as_tensor_variable(a)
        if a.ndim == 0:
            n, pool = a, None
        else:
            n, pool = shape_i(a, 0), a
        entries = _size_entries(size)
        op = Choice(ndim=len(entries or ()), replace=bool(replace), weighted=p is not None)
        inputs = [n] + ([] if p is None else [p]) + list(entries or ())
        idx = self._draw(op, inputs, "choice")
        return idx if pool is None else pool[idx]

    def permutation(self, x):
        """A random permutation of range(x) for an int scalar ``x``, else of ``x`` along its
        first axis (a Fisher-Yates shuffle)."""
        from symcomp.tensor.basic import as_tensor_variable
        from symcomp.tensor.shapeof import shape_i

        x = as_tensor_variable(x)
        n = x if x.ndim == 0 else shape_i(x, 0)
        idx = self._draw(Choice(ndim=1, replace=False), [n, n], "permutation")
        return idx if x.ndim == 0 else x[idx]


def _float(dtype):
    dtype = config.floatX if dtype is None else str(np.dtype(dtype))
    if dtype not in ("float32", "float64"):
        raise TypeError(f"a continuous distribution needs dtype float32 or float64, not {dtype}")
    return dtype


def _int(dtype):
    dtype = str(np.dtype(dtype))
    if np.dtype(dtype).kind not in "iu":
        raise TypeError(f"a discrete distribution needs an integer dtype, not {dtype}")
    return dtype
