// symcomp/pool.hpp: 2-d pooling over the last two dims of C-contiguous arrays (max, sum,
// average including or excluding the padding) and its gradients, as Theano's pool_2d.
// Windows are [j * stride, j * stride + ws) in padded coordinates, clipped to the padded
// image; max, sum and average_exc_pad windows are further clipped to the real image. Every
// plane (one image of one channel) is independent: a team of threads (team.hpp) splits the
// planes when the work is large enough.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include <symcomp/team.hpp>

namespace symcomp {
namespace pool {

using i64 = std::int64_t;
enum Mode { kMax = 0, kSum = 1, kAverageIncPad = 2, kAverageExcPad = 3 };

struct Geom {
  i64 planes, h, w, ho, wo;
  i64 wsh, wsw, sh, sw, ph, pw;
  int mode;
};

inline i64 floor_div(i64 a, i64 b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// Output length along one dim of size r >= 1 (Theano's rule; see symcomp/tensor/nnet/pool.py).
inline i64 out_len(i64 r, i64 ws, i64 st, i64 pad, bool ignore_border) {
  if (ignore_border) return floor_div(r + 2 * pad - ws, st) + 1;
  if (st >= ws) return floor_div(r - 1, st) + 1;
  return std::max<i64>(0, floor_div(r - 1 - ws + st, st)) + 1;
}

// Window j along one dim (size r, padding pad): [*s, *e) in padded coordinates.
inline void window(i64 j, i64 ws, i64 st, i64 pad, i64 r, bool inc_pad, i64* s, i64* e) {
  const i64 img = r + 2 * pad;
  *s = j * st;
  *e = std::min(*s + ws, img);
  if (!inc_pad) {
    *s = std::max(*s, pad);
    *e = std::min(*e, img - pad);
  }
}

// The windows along both dims as real-image ranges [lo, hi), and their padded lengths
// (windows are separable: the window of output (i, j) is rows[i] x cols[j], and the divisor
// of the average modes is len[i] * len[j]).
struct Spans {
  std::vector<i64> r0, r1, rn, c0, c1, cn;
};

inline void spans_1d(i64 n, i64 ws, i64 st, i64 pad, i64 r, bool inc, std::vector<i64>* lo,
                     std::vector<i64>* hi, std::vector<i64>* len) {
  lo->resize(n);
  hi->resize(n);
  len->resize(n);
  for (i64 j = 0; j < n; ++j) {
    i64 s, e;
    window(j, ws, st, pad, r, inc, &s, &e);
    (*len)[j] = e - s;
    (*lo)[j] = std::max(s, pad) - pad;
    (*hi)[j] = std::min(e, pad + r) - pad;
  }
}

inline Spans spans(const Geom& g) {
  const bool inc = g.mode == kAverageIncPad;
  Spans sp;
  spans_1d(g.ho, g.wsh, g.sh, g.ph, g.h, inc, &sp.r0, &sp.r1, &sp.rn);
  spans_1d(g.wo, g.wsw, g.sw, g.pw, g.w, inc, &sp.c0, &sp.c1, &sp.cn);
  return sp;
}

// Whether column window j is exactly [j * sw, j * sw + wsw) for every j: whole and inside
// the row (no padding or clipping), so the columns can be combined one strided pass per tap.
inline bool regular_columns(const Geom& g, const Spans& sp) {
  for (i64 j = 0; j < g.wo; ++j) {
    if (sp.c0[j] != j * g.sw || sp.c1[j] != j * g.sw + g.wsw) return false;
  }
  return true;
}

template <class T>
inline T nanmax(T a, T v) {
  return ((v > a) | (v != v)) ? v : a;  // NaN wins, as in NumPy; no branch: it vectorizes
}

// Scratch of n elements for one thread (nullptr when out of memory).
template <class T>
std::unique_ptr<T[]> scratch(i64 n) {
  return std::unique_ptr<T[]>(new (std::nothrow) T[n > 0 ? n : 1]);
}

// Kernels: (geometry, operands, output, threads from team_size); false when out of memory.

// y (planes, Ho, Wo) = pool(x (planes, H, W)). Windows are separable: for each output row,
// the window's input rows are first combined into one row (a contiguous, vectorized loop),
// then each output takes its columns of that row.
template <class T>
bool forward(const Geom& g, const T* x, const T*, const T*, T* y, int threads) {
  const Spans sp = spans(g);
  const bool is_max = g.mode == kMax, divide = g.mode != kMax && g.mode != kSum;
  const bool regular = regular_columns(g, sp);
  return run_team(threads, g.planes, [&](int, i64 lo, i64 hi) {
    const auto row = scratch<T>(g.w);
    T* t = row.get();
    if (t == nullptr) return false;
    for (i64 p = lo; p < hi; ++p) {
      const T* xp = x + p * g.h * g.w;
      T* yp = y + p * g.ho * g.wo;
      for (i64 i = 0; i < g.ho; ++i) {
        const T* first = xp + sp.r0[i] * g.w;
        for (i64 c = 0; c < g.w; ++c) t[c] = first[c];
        for (i64 r = sp.r0[i] + 1; r < sp.r1[i]; ++r) {
          const T* src = xp + r * g.w;
          if (is_max) {
            for (i64 c = 0; c < g.w; ++c) t[c] = nanmax(t[c], src[c]);
          } else {
            for (i64 c = 0; c < g.w; ++c) t[c] += src[c];
          }
        }
        T* yr = yp + i * g.wo;
        if (regular) {  // column window j is [j * sw, j * sw + wsw): one strided pass per tap
          for (i64 j = 0; j < g.wo; ++j) yr[j] = t[j * g.sw];
          for (i64 k = 1; k < g.wsw; ++k) {
            if (is_max) {
              for (i64 j = 0; j < g.wo; ++j) yr[j] = nanmax(yr[j], t[j * g.sw + k]);
            } else {
              for (i64 j = 0; j < g.wo; ++j) yr[j] += t[j * g.sw + k];
            }
          }
          if (divide) {
            for (i64 j = 0; j < g.wo; ++j) yr[j] /= T(sp.rn[i] * sp.cn[j]);
          }
          continue;
        }
        for (i64 j = 0; j < g.wo; ++j) {
          T acc = t[sp.c0[j]];
          for (i64 c = sp.c0[j] + 1; c < sp.c1[j]; ++c) acc = is_max ? nanmax(acc, t[c]) : acc + t[c];
          if (divide) acc /= T(sp.rn[i] * sp.cn[j]);
          yr[j] = acc;
        }
      }
    }
    return true;
  });
}

// gx (planes, H, W): gz of each window added at every position equal to its maximum. When
// the column windows do not overlap (stride >= window), each output row's maxima and
// gradients are first spread over the columns, so the update is one vectorized loop per row.
template <class T>
bool max_grad(const Geom& g, const T* x, const T* maxout, const T* gz, T* gx, int threads) {
  const Spans sp = spans(g);
  const bool disjoint = g.sw >= g.wsw, regular = regular_columns(g, sp);
  return run_team(threads, g.planes, [&](int, i64 lo, i64 hi) {
    const auto rows = scratch<T>(2 * g.w);
    if (rows == nullptr) return false;
    T *mc = rows.get(), *dc = rows.get() + g.w;
    for (i64 p = lo; p < hi; ++p) {
      const T* xp = x + p * g.h * g.w;
      const T* mp = maxout + p * g.ho * g.wo;
      const T* gp = gz + p * g.ho * g.wo;
      T* out = gx + p * g.h * g.w;
      std::memset(out, 0, sizeof(T) * g.h * g.w);
      for (i64 i = 0; i < g.ho; ++i) {
        if (disjoint) {
          // Columns outside every window never match: a NaN maximum compares unequal.
          std::fill(mc, mc + g.w, T(0) / T(0));
          std::fill(dc, dc + g.w, T(0));
          if (regular) {
            for (i64 k = 0; k < g.wsw; ++k) {
              for (i64 j = 0; j < g.wo; ++j) {
                mc[j * g.sw + k] = mp[i * g.wo + j];
                dc[j * g.sw + k] = gp[i * g.wo + j];
              }
            }
          } else {
            for (i64 j = 0; j < g.wo; ++j) {
              for (i64 c = sp.c0[j]; c < sp.c1[j]; ++c) {
                mc[c] = mp[i * g.wo + j];
                dc[c] = gp[i * g.wo + j];
              }
            }
          }
          for (i64 r = sp.r0[i]; r < sp.r1[i]; ++r) {
            const T* src = xp + r * g.w;
            T* dst = out + r * g.w;
            for (i64 c = 0; c < g.w; ++c) dst[c] += src[c] == mc[c] ? dc[c] : T(0);
          }
          continue;
        }
        for (i64 j = 0; j < g.wo; ++j) {
          const T m = mp[i * g.wo + j], d = gp[i * g.wo + j];
          for (i64 r = sp.r0[i]; r < sp.r1[i]; ++r) {
            for (i64 c = sp.c0[j]; c < sp.c1[j]; ++c) {
              out[r * g.w + c] += xp[r * g.w + c] == m ? d : T(0);
            }
          }
        }
      }
    }
    return true;
  });
}

// ggz (planes, Ho, Wo): the sum of ggx (planes, H, W) over each window's positions equal to
// its maximum (the derivative of max_grad wrt gz, applied to ggx).
template <class T>
bool max_grad_grad(const Geom& g, const T* x, const T* maxout, const T* ggx, T* ggz,
                   int threads) {
  const Spans sp = spans(g);
  return run_team(threads, g.planes, [&](int, i64 lo, i64 hi) {
    for (i64 p = lo; p < hi; ++p) {
      const T* xp = x + p * g.h * g.w;
      const T* gp = ggx + p * g.h * g.w;
      for (i64 i = 0; i < g.ho; ++i) {
        for (i64 j = 0; j < g.wo; ++j) {
          const T m = maxout[(p * g.ho + i) * g.wo + j];
          T acc = T(0);
          for (i64 r = sp.r0[i]; r < sp.r1[i]; ++r) {
            for (i64 c = sp.c0[j]; c < sp.c1[j]; ++c) {
              acc += xp[r * g.w + c] == m ? gp[r * g.w + c] : T(0);
            }
          }
          ggz[(p * g.ho + i) * g.wo + j] = acc;
        }
      }
    }
    return true;
  });
}

// gx (planes, H, W): gz of each window spread over it (divided as the mode divides).
template <class T>
bool average_grad(const Geom& g, const T*, const T* gz, const T*, T* gx, int threads) {
  const Spans sp = spans(g);
  return run_team(threads, g.planes, [&](int, i64 lo, i64 hi) {
    for (i64 p = lo; p < hi; ++p) {
      const T* gp = gz + p * g.ho * g.wo;
      T* out = gx + p * g.h * g.w;
      std::memset(out, 0, sizeof(T) * g.h * g.w);
      for (i64 i = 0; i < g.ho; ++i) {
        for (i64 j = 0; j < g.wo; ++j) {
          const i64 r0 = sp.r0[i], r1 = sp.r1[i], c0 = sp.c0[j], c1 = sp.c1[j];
          T d = gp[i * g.wo + j];
          if (g.mode != kSum) d /= T(sp.rn[i] * sp.cn[j]);
          for (i64 r = r0; r < r1; ++r) {
            for (i64 c = c0; c < c1; ++c) out[r * g.w + c] += d;
          }
        }
      }
    }
    return true;
  });
}

}  // namespace pool
}  // namespace symcomp
