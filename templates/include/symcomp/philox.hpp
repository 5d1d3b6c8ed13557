// Philox4x32-10 (Salmon et al., SC 2011) and the transformations of symcomp's random ops.
// The same algorithm as symcomp/random/philox.py, word for word, so py and native runs give
// the same bits: a stream is (key, base); block b is Philox(key, counter = (lo32(base + b),
// hi32(base + b), attempt, 0)); word w is word w % 4 of block w / 4; 64-bit value j is words
// 2j (low half) and 2j + 1 (high half). Header-only and free of host-only calls, so a CUDA
// backend can use it (SYMCOMP_HD marks the functions __host__ __device__ under nvcc).
#pragma once

#include <cmath>
#include <cstdint>

#ifndef SYMCOMP_HD
#ifdef __CUDACC__
#define SYMCOMP_HD __host__ __device__
#else
#define SYMCOMP_HD
#endif
#endif

namespace symcomp {
namespace philox {

struct Block {
  std::uint32_t v[4];
};

SYMCOMP_HD inline Block philox4x32_10(std::uint32_t c0, std::uint32_t c1, std::uint32_t c2,
                                      std::uint32_t c3, std::uint64_t key) {
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    if (r) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    const std::uint64_t p0 = static_cast<std::uint64_t>(c0) * 0xD2511F53u;
    const std::uint64_t p1 = static_cast<std::uint64_t>(c2) * 0xCD9E8D57u;
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  return Block{{c0, c1, c2, c3}};
}

// Block `b` of the stream (key, base) at `attempt`.
SYMCOMP_HD inline Block block(std::uint64_t key, std::uint64_t base, std::uint64_t b,
                              std::uint32_t attempt = 0) {
  const std::uint64_t ctr = base + b;  // wraps modulo 2**64, as the NumPy code does
  return philox4x32_10(static_cast<std::uint32_t>(ctr), static_cast<std::uint32_t>(ctr >> 32),
                       attempt, 0u, key);
}

SYMCOMP_HD inline std::uint32_t word(std::uint64_t key, std::uint64_t base, std::uint64_t w) {
  return block(key, base, w / 4).v[w % 4];
}

SYMCOMP_HD inline std::uint64_t u64(std::uint64_t key, std::uint64_t base, std::uint64_t j) {
  const Block b = block(key, base, j / 2);
  const int h = static_cast<int>(j % 2) * 2;
  return static_cast<std::uint64_t>(b.v[h]) | (static_cast<std::uint64_t>(b.v[h + 1]) << 32);
}

// float64 in [0, 1) from the top 53 bits of 64-bit value j.
SYMCOMP_HD inline double uniform53(std::uint64_t key, std::uint64_t base, std::uint64_t j) {
  return static_cast<double>(u64(key, base, j) >> 11) * 0x1.0p-53;
}

// A float32-exact value in [0, 1) from the top 24 bits of word w.
SYMCOMP_HD inline double uniform24(std::uint64_t key, std::uint64_t base, std::uint64_t w) {
  return static_cast<double>(word(key, base, w) >> 8) * 0x1.0p-24;
}

// High and low halves of the 128-bit product x * r, from 32-bit pieces (as the NumPy code).
SYMCOMP_HD inline void mul64(std::uint64_t x, std::uint64_t r, std::uint64_t& hi, std::uint64_t& lo) {
  const std::uint64_t m = 0xFFFFFFFFu;
  const std::uint64_t xl = x & m, xh = x >> 32, rl = r & m, rh = r >> 32;
  const std::uint64_t ll = xl * rl, lh = xl * rh, hl = xh * rl, hh = xh * rh;
  const std::uint64_t mid = (ll >> 32) + (lh & m) + (hl & m);
  hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  lo = (mid << 32) | (ll & m);
}

// An exactly uniform integer in [0, r) (r >= 1) from block i: Lemire's multiply-shift with
// rejection, two 64-bit candidates per attempt, attempt k in counter word 2.
SYMCOMP_HD inline std::uint64_t bounded(std::uint64_t key, std::uint64_t base, std::uint64_t i,
                                        std::uint64_t r) {
  const std::uint64_t threshold = (0 - r) % r;
  for (std::uint32_t attempt = 0;; ++attempt) {
    const Block b = block(key, base, i, attempt);
    for (int h = 0; h < 4; h += 2) {
      const std::uint64_t x = static_cast<std::uint64_t>(b.v[h]) |
                              (static_cast<std::uint64_t>(b.v[h + 1]) << 32);
      std::uint64_t hi, lo;
      mul64(x, r, hi, lo);
      if (lo >= threshold) return hi;
    }
  }
}

// Standard normal number i by Box-Muller over block i / 2 (u1 in (0, 1], so log is finite).
SYMCOMP_HD inline double normal(std::uint64_t key, std::uint64_t base, std::uint64_t i) {
  const Block b = block(key, base, i / 2);
  const std::uint64_t v1 =
      (static_cast<std::uint64_t>(b.v[0]) | (static_cast<std::uint64_t>(b.v[1]) << 32)) >> 11;
  const std::uint64_t v2 =
      (static_cast<std::uint64_t>(b.v[2]) | (static_cast<std::uint64_t>(b.v[3]) << 32)) >> 11;
  const double u1 = static_cast<double>(v1 + 1) * 0x1.0p-53;
  const double u2 = static_cast<double>(v2) * 0x1.0p-53;
  const double rad = std::sqrt(-2.0 * std::log(u1));
  const double theta = 6.283185307179586 * u2;
  return rad * (i % 2 == 0 ? std::cos(theta) : std::sin(theta));
}

// Index of the first cdf entry greater than x among cdf[0..n) (n if none): NumPy's
// searchsorted(cdf, x, side="right").
SYMCOMP_HD inline std::int64_t search_right(const double* cdf, std::int64_t n, double x) {
  std::int64_t lo = 0, hi = n;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (cdf[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

}  // namespace philox

// The draws of symcomp/random/op.py over flat arrays. A parameter is read as data[i * step]
// (step 0: one value for all). Each returns 0 or the positive code of the first failed check
// (the checks run in the order op.py makes them, before anything is drawn) and stores the
// number of blocks consumed in *used.
namespace random {

using philox::Block;
using philox::block;

template <class P>
struct Param {
  const P* data;
  std::int64_t step;
  P operator[](std::int64_t i) const { return data[i * step]; }
};

// a * b rounded on its own: compilers may otherwise fuse it with the following addition
// into one fma (GCC does at -O3 on CPUs with FMA), which NumPy never does.
SYMCOMP_HD inline double mul_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  volatile double p = a * b;
  return p;
#endif
}

SYMCOMP_HD inline std::uint64_t pair64(const Block& b, int h) {
  return static_cast<std::uint64_t>(b.v[2 * h]) | (static_cast<std::uint64_t>(b.v[2 * h + 1]) << 32);
}

template <class T>
int uniform(std::int64_t n, Param<double> lo, Param<double> hi, T* out, std::uint64_t key,
            std::uint64_t base, std::uint64_t* used, std::int64_t min_parallel) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!(std::isfinite(lo[i]) && std::isfinite(hi[i]))) return 1;
  for (std::int64_t i = 0; i < n; ++i)
    if (lo[i] > hi[i]) return 2;
  const int per = sizeof(T) == 4 ? 4 : 2;  // values per block: 24-bit words or 53-bit pairs
  const std::int64_t nblocks = (n + per - 1) / per;
#pragma omp parallel for if (n >= min_parallel) schedule(static)
  for (std::int64_t b = 0; b < nblocks; ++b) {
    const Block k = block(key, base, static_cast<std::uint64_t>(b));
    for (int w = 0; w < per && b * per + w < n; ++w) {
      const std::int64_t i = b * per + w;
      const double u = per == 4 ? static_cast<double>(k.v[w] >> 8) * 0x1.0p-24
                                : static_cast<double>(pair64(k, w) >> 11) * 0x1.0p-53;
      const double a = lo[i], d = hi[i] - a;
      out[i] = static_cast<T>(a + mul_rn(d, u));
    }
  }
  *used = static_cast<std::uint64_t>(nblocks);
  return 0;
}

template <class T>
int normal(std::int64_t n, Param<double> loc, Param<double> scale, T* out, std::uint64_t key,
           std::uint64_t base, std::uint64_t* used, std::int64_t min_parallel) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!(scale[i] >= 0)) return 1;
  const std::int64_t npairs = (n + 1) / 2;
#pragma omp parallel for if (n >= min_parallel) schedule(static)
  for (std::int64_t q = 0; q < npairs; ++q) {  // one block, one radius per pair of values
    const Block b = block(key, base, static_cast<std::uint64_t>(q));
    const double u1 = static_cast<double>((pair64(b, 0) >> 11) + 1) * 0x1.0p-53;
    const double u2 = static_cast<double>(pair64(b, 1) >> 11) * 0x1.0p-53;
    const double rad = std::sqrt(-2.0 * std::log(u1));
    const double theta = 6.283185307179586 * u2;
    const std::int64_t i = 2 * q;
    out[i] = static_cast<T>(loc[i] + mul_rn(scale[i], rad * std::cos(theta)));
    if (i + 1 < n) out[i + 1] = static_cast<T>(loc[i + 1] + mul_rn(scale[i + 1], rad * std::sin(theta)));
  }
  *used = static_cast<std::uint64_t>((n + 1) / 2);
  return 0;
}

template <class T>
int integers(std::int64_t n, Param<std::int64_t> lo, Param<std::int64_t> hi, T* out,
             std::uint64_t key, std::uint64_t base, std::uint64_t* used,
             std::int64_t min_parallel, std::int64_t min, std::int64_t max) {
  for (std::int64_t i = 0; i < n; ++i)
    if (lo[i] >= hi[i]) return 1;
  for (std::int64_t i = 0; i < n; ++i)
    if (lo[i] < min || hi[i] - 1 > max) return 2;
#pragma omp parallel for if (n >= min_parallel) schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint64_t l = static_cast<std::uint64_t>(lo[i]);
    const std::uint64_t r = static_cast<std::uint64_t>(hi[i]) - l;
    const std::uint64_t x = philox::bounded(key, base, static_cast<std::uint64_t>(i), r) + l;
    out[i] = static_cast<T>(static_cast<std::int64_t>(x));
  }
  *used = static_cast<std::uint64_t>(n);
  return 0;
}

// Successes among trials t0 .. t0+count-1 (trial t: the 53-bit uniform t is below p).
SYMCOMP_HD inline std::int64_t bernoulli_hits(std::uint64_t key, std::uint64_t base,
                                              std::uint64_t t0, std::int64_t count, double p) {
  std::int64_t hits = 0;
  std::uint64_t cached = ~std::uint64_t(0);
  Block k{};
  for (std::uint64_t t = t0; t < t0 + static_cast<std::uint64_t>(count); ++t) {
    if (t / 2 != cached) {
      cached = t / 2;
      k = block(key, base, cached);
    }
    hits += static_cast<double>(pair64(k, static_cast<int>(t % 2)) >> 11) * 0x1.0p-53 < p;
  }
  return hits;
}

template <class T>
int binomial(std::int64_t n, Param<std::int64_t> trials, Param<double> p, T* out,
             std::uint64_t key, std::uint64_t base, std::uint64_t* used,
             std::int64_t min_parallel, std::int64_t max_n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (trials[i] < 0 || trials[i] > max_n) return 1;
  for (std::int64_t i = 0; i < n; ++i)
    if (!(p[i] >= 0 && p[i] <= 1)) return 2;
  std::uint64_t total = 0;
  if (trials.step == 0) {  // sample i reads trials i*m ..: independent, so parallel
    const std::int64_t m = n > 0 ? trials[0] : 0;
#pragma omp parallel for if (n * (m + 1) >= min_parallel) schedule(static)
    for (std::int64_t i = 0; i < n; ++i)
      out[i] = static_cast<T>(bernoulli_hits(key, base, static_cast<std::uint64_t>(i * m), m, p[i]));
    total = static_cast<std::uint64_t>(n * m);
  } else {
    for (std::int64_t i = 0; i < n; ++i) {
      out[i] = static_cast<T>(bernoulli_hits(key, base, total, trials[i], p[i]));
      total += static_cast<std::uint64_t>(trials[i]);
    }
  }
  *used = (total + 1) / 2;
  return 0;
}

// Indices from range(n), see Choice in op.py. p (n_p entries, contiguous) when weighted;
// `work` holds n doubles (weighted without replacement) or n int64 (Fisher-Yates).
inline int choice(std::int64_t n, std::int64_t k, bool replace, const double* p,
                  std::int64_t n_p, std::int64_t* out, void* work, double atol,
                  std::uint64_t key, std::uint64_t base, std::uint64_t* used) {
  if (n < 0) return 1;
  if (n == 0 && k > 0) return 2;
  if (p != nullptr) {
    if (n_p != n) return 3;
    for (std::int64_t i = 0; i < n; ++i)
      if (!(p[i] >= 0 && p[i] <= 1)) return 4;
    double total = 0;
    std::int64_t nonzero = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      total += p[i];
      nonzero += p[i] != 0;
    }
    if (n && std::fabs(total - 1.0) > atol) return 5;
    if (!replace && nonzero < k) return 6;
  } else if (!replace && k > n) {
    return 7;
  }
  if (p == nullptr && replace) {
    for (std::int64_t i = 0; i < k; ++i)
      out[i] = static_cast<std::int64_t>(philox::bounded(key, base, i, static_cast<std::uint64_t>(n)));
  } else if (p == nullptr) {  // partial Fisher-Yates
    std::int64_t* perm = static_cast<std::int64_t*>(work);
    for (std::int64_t i = 0; i < n; ++i) perm[i] = i;
    for (std::int64_t i = 0; i < k; ++i) {
      const std::int64_t j = i + static_cast<std::int64_t>(
                                     philox::bounded(key, base, i, static_cast<std::uint64_t>(n - i)));
      const std::int64_t tmp = perm[i];
      perm[i] = perm[j];
      perm[j] = tmp;
      out[i] = perm[i];
    }
  } else {  // inversion of the cumulative weights
    double* cdf = static_cast<double*>(work);
    double* w = cdf + n;
    std::int64_t last = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      w[i] = p[i];
      if (p[i] != 0) last = i;
    }
    for (std::int64_t i = 0; i < k; ++i) {
      if (i == 0 || !replace) {
        double acc = 0;
        for (std::int64_t j = 0; j < n; ++j) cdf[j] = acc += w[j];
        if (!replace)
          for (std::int64_t j = 0; j < n; ++j)
            if (w[j] != 0) last = j;
      }
      const double u = static_cast<double>(philox::u64(key, base, i) >> 11) * 0x1.0p-53;
      std::int64_t t = philox::search_right(cdf, n, u * cdf[n - 1]);
      if (t >= n) t = last;
      out[i] = t;
      if (!replace) w[t] = 0;
    }
  }
  *used = static_cast<std::uint64_t>(p == nullptr ? k : (k + 1) / 2);
  return 0;
}

}  // namespace random
}  // namespace symcomp
