// symcomp/softmax.hpp: row-wise softmax, log-softmax and softmax cross-entropy over the last
// axis of C-contiguous arrays (rows x n), one row per task, rows in parallel.
//
// As the ops' NumPy references: each row is shifted by its maximum (NaN-propagating), a
// non-finite maximum is not subtracted (a row of infinities gives NaN/inf by exp's own
// rules, not inf - inf), sums are pairwise (reduce.hpp), and softmax divides by the sum.
// exp and log vectorize through simd_math.hpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <new>

#include "symcomp/reduce.hpp"
#include "symcomp/simd_math.hpp"

namespace symcomp {
namespace softmax {

// The row's maximum, or 0 when it is not finite.
template <class T>
inline T shift(const T* x, i64 n) {
  const char* p[1] = {reinterpret_cast<const char*>(x)};
  const i64 s[1] = {sizeof(T)};
  const T m = detail::line<MaxOp<T>>(CastMap<T, T>{}, true, p, s, 0, n);
  return std::isfinite(m) ? m : T(0);
}

template <class T>
inline T row_sum(const T* v, i64 n) {
  const char* p[1] = {reinterpret_cast<const char*>(v)};
  const i64 s[1] = {sizeof(T)};
  return detail::line<SumOp<T>>(CastMap<T, T>{}, true, p, s, 0, n);
}

// log(sum(exp(x - m))) of a row, using out (n elements) as scratch.
template <class T>
inline T log_sum_exp(const T* x, T m, T* out, i64 n) {
#pragma omp simd
  for (i64 j = 0; j < n; ++j) out[j] = std::exp(x[j] - m);
  return std::log(row_sum(out, n));
}

// out = softmax(x) (Log: log_softmax) along rows of length n.
template <class T, bool Log>
void rows(const T* x, T* out, i64 rows, i64 n, i64 min_parallel) {
  const bool par = detail::go_parallel(rows * n, rows, min_parallel);
#pragma omp parallel for schedule(static) if (par)
  for (i64 r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    T* o = out + r * n;
    const T m = shift(xr, n);
    if constexpr (Log) {
      const T l = log_sum_exp(xr, m, o, n);
#pragma omp simd
      for (i64 j = 0; j < n; ++j) o[j] = (xr[j] - m) - l;
    } else {
#pragma omp simd
      for (i64 j = 0; j < n; ++j) o[j] = std::exp(xr[j] - m);
      const T s = row_sum(o, n);
#pragma omp simd
      for (i64 j = 0; j < n; ++j) o[j] = o[j] / s;
    }
  }
}

// out = softmax(x) (Log: log_softmax) along the middle axis of a C-contiguous
// (outer, n, inner) array: row (o, i) is x[o, :, i], elements `inner` apart. The same steps
// as rows(), over strided rows (inner == 1 is rows() itself).
template <class T, bool Log>
void strided_rows(const T* x, T* out, i64 outer, i64 n, i64 inner, i64 min_parallel) {
  if (inner == 1) return rows<T, Log>(x, out, outer, n, min_parallel);
  const bool par = detail::go_parallel(outer * n * inner, outer * inner, min_parallel);
  const i64 s[1] = {static_cast<i64>(sizeof(T)) * inner};
#pragma omp parallel for schedule(static) if (par)
  for (i64 r = 0; r < outer * inner; ++r) {
    const T* xr = x + (r / inner) * n * inner + r % inner;
    T* o = out + (r / inner) * n * inner + r % inner;
    const char* px[1] = {reinterpret_cast<const char*>(xr)};
    T m = detail::line<MaxOp<T>>(CastMap<T, T>{}, false, px, s, 0, n);
    if (!std::isfinite(m)) m = T(0);
    for (i64 j = 0; j < n; ++j) o[j * inner] = std::exp(xr[j * inner] - m);
    const char* po[1] = {reinterpret_cast<const char*>(o)};
    const T sum = detail::line<SumOp<T>>(CastMap<T, T>{}, false, po, s, 0, n);
    if constexpr (Log) {
      const T l = std::log(sum);
      for (i64 j = 0; j < n; ++j) o[j * inner] = (xr[j * inner] - m) - l;
    } else {
      for (i64 j = 0; j < n; ++j) o[j * inner] = o[j * inner] / sum;
    }
  }
}

// The first row r whose class index t[r] (t: rows entries of type I, byte stride ts) is
// outside [0, n), with that index in *bad; -1 when all are in range.
template <class I>
inline i64 bad_class_index(const char* t, i64 ts, i64 rows, i64 n, long long* bad) {
  for (i64 r = 0; r < rows; ++r) {
    const long long v = static_cast<long long>(*reinterpret_cast<const I*>(t + r * ts));
    if (v < 0 || v >= n) {
      *bad = v;
      return r;
    }
  }
  return -1;
}

// out[r] = log(sum(exp(x[r] - m))) - (x[r, t[r]] - m), t (byte stride ts) already checked
// to be in range. False when the scratch rows cannot be allocated.
template <class T, class I>
bool crossentropy_1hot(const T* x, const char* t, i64 ts, T* out, i64 rows, i64 n,
                       i64 min_parallel) {
  const bool par = detail::go_parallel(rows * n, rows, min_parallel);
  int threads = 1;
#ifdef _OPENMP
  if (par) threads = omp_get_max_threads();
#endif
  T* scratch = new (std::nothrow) T[threads * (n > 0 ? n : 1)];
  if (scratch == nullptr) return false;
#pragma omp parallel for schedule(static) num_threads(threads) if (par)
  for (i64 r = 0; r < rows; ++r) {
    int k = 0;
#ifdef _OPENMP
    k = omp_get_thread_num();
#endif
    const T* xr = x + r * n;
    const T m = shift(xr, n);
    const T target = xr[*reinterpret_cast<const I*>(t + r * ts)];
    out[r] = log_sum_exp(xr, m, scratch + k * n, n) - (target - m);
  }
  delete[] scratch;
  return true;
}

// out[r] = -log(p[r, t[r]]) (CrossentropyCategorical1Hot) for a strided p (byte strides
// ps0, ps1) and t, indices already checked.
template <class T, class I>
void crossentropy_1hot_probs(const char* p, i64 ps0, i64 ps1, const char* t, i64 ts, T* out,
                             i64 rows) {
  for (i64 r = 0; r < rows; ++r) {
    const i64 c = static_cast<i64>(*reinterpret_cast<const I*>(t + r * ts));
    out[r] = -std::log(*reinterpret_cast<const T*>(p + r * ps0 + c * ps1));
  }
}

// gp[r, t[r]] = -g[r] / p[r, t[r]] into a zeroed C-contiguous gp (rows x n)
// (CrossentropyCategorical1HotGrad); g has byte stride gs (0: one value for every row).
template <class T, class I>
void crossentropy_1hot_grad(const char* g, i64 gs, const char* p, i64 ps0, i64 ps1,
                            const char* t, i64 ts, T* gp, i64 rows, i64 n) {
  for (i64 r = 0; r < rows; ++r) {
    const i64 c = static_cast<i64>(*reinterpret_cast<const I*>(t + r * ts));
    const T gr = *reinterpret_cast<const T*>(g + r * gs);
    gp[r * n + c] = -gr / *reinterpret_cast<const T*>(p + r * ps0 + c * ps1);
  }
}

}  // namespace softmax
}  // namespace symcomp
