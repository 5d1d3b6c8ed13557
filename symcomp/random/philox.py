"""Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011) in
vectorized NumPy, and the transformations every random op builds on.

This file and ``templates/include/symcomp/philox.hpp`` are one algorithm written twice: the
same words, in the same order, through the same integer and float64 arithmetic, so py and
native runs give the same bits. A stream is ``(key, base)`` (two uint64): block ``b`` of a
draw is Philox(key, counter = (lo32(base + b), hi32(base + b), attempt, 0)); ``attempt`` is
0 except for the rare retries of the rejection sampler in :func:`bounded`. Word ``w`` of a
draw is word ``w % 4`` of block ``w // 4``; 64-bit value ``j`` is words ``2j`` (low half)
and ``2j + 1`` (high half).
"""

from __future__ import annotations

import numpy as np

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = np.uint32(0x9E3779B9), np.uint32(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)
S32 = np.uint64(32)
TWO_M53 = 2.0**-53
TWO_M24 = 2.0**-24


def philox4x32_10(ctr: list, key: tuple) -> list:
    """Philox4x32-10 of counters ``ctr`` (four uint32 arrays) under ``key`` (two uint32)."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint32) for c in ctr)
    k0, k1 = np.uint32(key[0]), np.uint32(key[1])
    with np.errstate(over="ignore"):
        for r in range(10):
            if r:
                k0, k1 = k0 + W0, k1 + W1
            p0 = c0.astype(np.uint64) * M0
            p1 = c2.astype(np.uint64) * M1
            hi0, lo0 = (p0 >> S32).astype(np.uint32), (p0 & MASK32).astype(np.uint32)
            hi1, lo1 = (p1 >> S32).astype(np.uint32), (p1 & MASK32).astype(np.uint32)
            c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return [c0, c1, c2, c3]


def _split_key(key: int) -> tuple:
    key = int(key)
    return (key & 0xFFFFFFFF, key >> 32)


def blocks(key: int, base: int, first: int, count: int) -> np.ndarray:
    """Blocks ``first .. first+count-1`` of the stream, as a (count, 4) uint32 array."""
    return blocks_at(key, base, np.arange(first, first + count, dtype=np.uint64))


def blocks_at(key: int, base: int, idx: np.ndarray, attempt: int = 0) -> np.ndarray:
    """The blocks with indices ``idx`` (uint64 array) of the stream at ``attempt``."""
    idx = np.asarray(idx, dtype=np.uint64)
    with np.errstate(over="ignore"):
        ctr = idx + np.uint64(base)  # wraps modulo 2**64, as the C++ does
    lo, hi = (ctr & MASK32).astype(np.uint32), (ctr >> S32).astype(np.uint32)
    att = np.full(lo.shape, attempt, dtype=np.uint32)
    out = philox4x32_10([lo, hi, att, np.zeros_like(lo)], _split_key(key))
    return np.stack(out, axis=-1).reshape(-1, 4)


def words(key: int, base: int, first: int, count: int) -> np.ndarray:
    """Words ``first .. first+count-1`` of the stream (uint32)."""
    b0, b1 = first // 4, (first + count + 3) // 4
    flat = blocks(key, base, b0, b1 - b0).reshape(-1)
    return flat[first - 4 * b0 : first - 4 * b0 + count]


def uint64s(key: int, base: int, first: int, count: int) -> np.ndarray:
    """64-bit values ``first .. first+count-1`` of the stream."""
    w = words(key, base, 2 * first, 2 * count).astype(np.uint64)
    return w[0::2] | (w[1::2] << S32)


def uniform53(key: int, base: int, first: int, count: int) -> np.ndarray:
    """float64 in [0, 1) from the top 53 bits of 64-bit values ``first..``."""
    return (uint64s(key, base, first, count) >> np.uint64(11)).astype(np.float64) * TWO_M53


def uniform24(key: int, base: int, first: int, count: int) -> np.ndarray:
    """float64 holding float32-exact values in [0, 1) from the top 24 bits of words ``first..``."""
    return (words(key, base, first, count) >> np.uint32(8)).astype(np.float64) * TWO_M24


def mul64(x: np.ndarray, r: np.ndarray) -> tuple:
    """(high, low) 64-bit halves of the 128-bit products x * r (uint64 arrays)."""
    xl, xh = x & MASK32, x >> S32
    rl, rh = r & MASK32, r >> S32
    ll, lh, hl, hh = xl * rl, xl * rh, xh * rl, xh * rh
    mid = (ll >> S32) + (lh & MASK32) + (hl & MASK32)
    hi = hh + (lh >> S32) + (hl >> S32) + (mid >> S32)
    lo = (mid << S32) | (ll & MASK32)
    return hi, lo


def bounded(key: int, base: int, ranges: np.ndarray) -> np.ndarray:
    """Exactly uniform integers in [0, ranges[i]) (uint64 ranges >= 1), element i from block
    ``i``: Lemire's multiply-shift with rejection. Each attempt gives two 64-bit candidates;
    attempt k reads the block with counter word 2 = k (for ranges <= 2**32 a retry has
    probability below 2**-64)."""
    r = np.asarray(ranges, dtype=np.uint64).reshape(-1)
    n = r.size
    out = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        threshold = (np.uint64(0) - r) % r  # (2**64 - r) mod r
    todo = np.arange(n)
    attempt = 0
    while todo.size:
        blk = blocks_at(key, base, todo, attempt).astype(np.uint64)
        pending = np.ones(todo.size, dtype=bool)
        for half in (0, 1):
            x = blk[:, 2 * half] | (blk[:, 2 * half + 1] << S32)
            with np.errstate(over="ignore"):
                hi, lo = mul64(x, r[todo])
            ok = pending & (lo >= threshold[todo])
            out[todo[ok]] = hi[ok]
            pending &= ~ok
        todo = todo[pending]
        attempt += 1
    return out


def normal_pairs(key: int, base: int, count: int) -> np.ndarray:
    """``count`` standard normals by Box-Muller: value 2q and 2q+1 from 64-bit values
    (2q, 2q+1), i.e. from block q. u1 is in (0, 1] so log(u1) is finite."""
    npairs = (count + 1) // 2
    v = uint64s(key, base, 0, 2 * npairs) >> np.uint64(11)
    u1 = (v[0::2] + np.uint64(1)).astype(np.float64) * TWO_M53
    u2 = v[1::2].astype(np.float64) * TWO_M53
    rad = np.sqrt(-2.0 * np.log(u1))
    theta = 6.283185307179586 * u2
    out = np.empty(2 * npairs, dtype=np.float64)
    out[0::2] = rad * np.cos(theta)
    out[1::2] = rad * np.sin(theta)
    return out[:count]
