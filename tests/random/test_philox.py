"""The NumPy Philox4x32-10 and its transformations (symcomp/random/philox.py)."""

from __future__ import annotations

import numpy as np
import pytest

from symcomp.random import philox

# Known-answer tests of Random123 (kat_vectors: philox4x32 10 rounds).
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_known_answers(ctr, key, expected):
    out = philox.philox4x32_10([np.array([c], np.uint32) for c in ctr], key)
    assert tuple(int(o[0]) for o in out) == expected


def test_blocks_follow_the_counter_with_carry():
    key, base = 0x0123456789ABCDEF, 2**32 - 2  # the low word wraps inside the draw
    got = philox.blocks(key, base, 0, 4)
    for b in range(4):
        c = base + b
        ref = philox.philox4x32_10(
            [np.array([x], np.uint32) for x in (c & 0xFFFFFFFF, c >> 32, 0, 0)],
            (key & 0xFFFFFFFF, key >> 32),
        )
        assert [int(r[0]) for r in ref] == got[b].tolist()


def test_words_and_uint64s_are_views_of_the_same_stream():
    key, base = 99, 7
    w = philox.words(key, base, 0, 40)
    assert np.array_equal(philox.words(key, base, 13, 9), w[13:22])
    v = philox.uint64s(key, base, 3, 5)
    expect = w[6:16:2].astype(np.uint64) | (w[7:16:2].astype(np.uint64) << np.uint64(32))
    assert np.array_equal(v, expect)


def test_mul64_matches_python_integers():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2**64, size=1000, dtype=np.uint64)
    r = rng.integers(1, 2**64, size=1000, dtype=np.uint64)
    hi, lo = philox.mul64(x, r)
    for a, b, h, low in zip(x.tolist(), r.tolist(), hi.tolist(), lo.tolist()):
        assert (a * b) >> 64 == h and (a * b) & (2**64 - 1) == low


def test_uniform_ranges_and_resolution():
    u53 = philox.uniform53(5, 0, 0, 10000)
    u24 = philox.uniform24(5, 0, 0, 10000)
    assert u53.min() >= 0 and u53.max() < 1 and u24.min() >= 0 and u24.max() < 1
    assert np.array_equal(u24, u24.astype(np.float32))  # exact float32 values
    assert np.all(np.mod(u24 * 2**24, 1) == 0) and np.all(np.mod(u53 * 2**53, 1) == 0)


def test_bounded_is_in_range_and_uniform():
    from scipy import stats

    r = np.full(60000, 6, dtype=np.uint64)
    x = philox.bounded(1, 2, r)
    counts = np.bincount(x.astype(np.int64), minlength=6)
    assert counts.size == 6
    assert stats.chisquare(counts).pvalue > 1e-4


def test_bounded_retries_when_both_candidates_are_rejected():
    # r = 2**63 + 1 rejects a candidate with probability about 1/2, so about a quarter of the
    # elements need a second attempt; every result stays below r and the layout is fixed.
    r = np.full(4000, 2**63 + 1, dtype=np.uint64)
    x = philox.bounded(3, 0, r)
    assert np.all(x < r)
    again = philox.bounded(3, 0, r[:100])
    assert np.array_equal(x[:100], again)
    # the retried elements differ from what the first attempt's candidates would give
    blk = philox.blocks(3, 0, 0, 4000).astype(np.uint64)
    hi0, _ = philox.mul64(blk[:, 0] | (blk[:, 1] << np.uint64(32)), r)
    hi1, _ = philox.mul64(blk[:, 2] | (blk[:, 3] << np.uint64(32)), r)
    assert np.mean((x != hi0) & (x != hi1)) > 0.15


def test_normal_pairs_are_box_muller():
    z = philox.normal_pairs(11, 0, 5)
    v = philox.uint64s(11, 0, 0, 6) >> np.uint64(11)
    u1 = (v[0::2] + np.uint64(1)).astype(float) * 2.0**-53
    u2 = v[1::2].astype(float) * 2.0**-53
    rad = np.sqrt(-2 * np.log(u1))
    expect = np.stack([rad * np.cos(2 * np.pi * u2), rad * np.sin(2 * np.pi * u2)], 1).ravel()
    np.testing.assert_allclose(z, expect[:5], rtol=1e-14)
