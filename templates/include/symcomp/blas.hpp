// symcomp/blas.hpp: matrix products on arrays of any strides.
//
// float32/float64 go to OpenBLAS from the scipy-openblas32 wheel (symbols prefixed
// `scipy_cblas_`, 32-bit ints). With SYMCOMP_BLAS_LINKED defined the module links the
// library (symcomp.codegen.blas gives the flags); otherwise `load(path)` opens it with dlopen
// at first use, so a module needs no link flags and a missing library is an error, not a
// failed import. Integer and bool products are plain loops with NumPy's wrap-around.
//
// Strides are in bytes. An operand BLAS can read as it is (one unit stride, the other a valid
// leading dimension; negative and zero strides are not) is passed with the right transpose
// flag; anything else is first copied to a contiguous temporary. Functions return 0, or
// kNoMemory / kTooLarge (a dim beyond 32-bit BLAS ints) for the caller to raise.
//
// The argument handling around the BLAS calls is SYMCOMP_COLD (compiled for size: it costs
// nothing next to the product and most of a module's compile time otherwise); the loops
// that do the work (integer products, scaling C into the output) are not.
#pragma once

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>

#include "symcomp/hostdevice.hpp"
#ifndef SYMCOMP_BLAS_LINKED
#include <dlfcn.h>
#endif

namespace symcomp {
namespace blas {

using i64 = std::int64_t;
using bint = int;  // OpenBLAS's blasint in the 32-bit-int build
constexpr int kNoMemory = -1, kTooLarge = -2;
enum { kRowMajor = 101, kNoTrans = 111, kTrans = 112 };

using sgemm_t = void (*)(int, int, int, bint, bint, bint, float, const float*, bint,
                         const float*, bint, float, float*, bint);
using dgemm_t = void (*)(int, int, int, bint, bint, bint, double, const double*, bint,
                         const double*, bint, double, double*, bint);
using sgemv_t = void (*)(int, int, bint, bint, float, const float*, bint, const float*, bint,
                         float, float*, bint);
using dgemv_t = void (*)(int, int, bint, bint, double, const double*, bint, const double*, bint,
                         double, double*, bint);
using sdot_t = float (*)(bint, const float*, bint, const float*, bint);
using ddot_t = double (*)(bint, const double*, bint, const double*, bint);

struct Api {
  sgemm_t sgemm;
  dgemm_t dgemm;
  sgemv_t sgemv;
  dgemv_t dgemv;
  sdot_t sdot;
  ddot_t ddot;
};

#ifdef SYMCOMP_BLAS_LINKED
extern "C" {
void scipy_cblas_sgemm(int, int, int, bint, bint, bint, float, const float*, bint, const float*,
                       bint, float, float*, bint);
void scipy_cblas_dgemm(int, int, int, bint, bint, bint, double, const double*, bint,
                       const double*, bint, double, double*, bint);
void scipy_cblas_sgemv(int, int, bint, bint, float, const float*, bint, const float*, bint, float,
                       float*, bint);
void scipy_cblas_dgemv(int, int, bint, bint, double, const double*, bint, const double*, bint,
                       double, double*, bint);
float scipy_cblas_sdot(bint, const float*, bint, const float*, bint);
double scipy_cblas_ddot(bint, const double*, bint, const double*, bint);
}
// A name of its own rather than a static local of load(): g++ merges the static locals of an
// inline function across the shared objects of a process by name (STB_GNU_UNIQUE), and a
// process may hold objects built in both modes, whose load() differ.
inline const Api linked_api{scipy_cblas_sgemm, scipy_cblas_dgemm, scipy_cblas_sgemv,
                            scipy_cblas_dgemv, scipy_cblas_sdot,  scipy_cblas_ddot};
inline const Api* load(const char* = nullptr, const char** = nullptr) { return &linked_api; }
#else
// The BLAS functions of the library at `path` (opened once; thread-safe), or nullptr with
// *error set to dlerror()'s message.
inline const Api* load(const char* path, const char** error = nullptr) {
  static const char* failure = nullptr;
  static const Api* api = [path]() -> const Api* {
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    static Api a{};
    if (h == nullptr) {
      failure = dlerror();
      return nullptr;
    }
    a.sgemm = reinterpret_cast<sgemm_t>(dlsym(h, "scipy_cblas_sgemm"));
    a.dgemm = reinterpret_cast<dgemm_t>(dlsym(h, "scipy_cblas_dgemm"));
    a.sgemv = reinterpret_cast<sgemv_t>(dlsym(h, "scipy_cblas_sgemv"));
    a.dgemv = reinterpret_cast<dgemv_t>(dlsym(h, "scipy_cblas_dgemv"));
    a.sdot = reinterpret_cast<sdot_t>(dlsym(h, "scipy_cblas_sdot"));
    a.ddot = reinterpret_cast<ddot_t>(dlsym(h, "scipy_cblas_ddot"));
    if (!a.sgemm || !a.dgemm || !a.sgemv || !a.dgemv || !a.sdot || !a.ddot) {
      failure = "the library lacks scipy_cblas_* symbols";
      return nullptr;
    }
    return &a;
  }();
  if (api == nullptr && error != nullptr) *error = failure ? failure : "dlopen failed";
  return api;
}
#endif

// The BLAS calls with alpha and beta (beta == 0: C is not read, as BLAS defines it).
template <class T>
struct Fn;
template <>
struct Fn<float> {
  static void gemm(const Api* a, int ta, int tb, bint m, bint n, bint k, float alpha,
                   const float* A, bint lda, const float* B, bint ldb, float beta, float* C,
                   bint ldc) {
    a->sgemm(kRowMajor, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  static void gemv(const Api* a, int t, bint m, bint n, float alpha, const float* A, bint lda,
                   const float* x, bint incx, float beta, float* y, bint incy) {
    a->sgemv(kRowMajor, t, m, n, alpha, A, lda, x, incx, beta, y, incy);
  }
  static float dot(const Api* a, bint n, const float* x, bint incx, const float* y, bint incy) {
    return a->sdot(n, x, incx, y, incy);
  }
};
template <>
struct Fn<double> {
  static void gemm(const Api* a, int ta, int tb, bint m, bint n, bint k, double alpha,
                   const double* A, bint lda, const double* B, bint ldb, double beta, double* C,
                   bint ldc) {
    a->dgemm(kRowMajor, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  static void gemv(const Api* a, int t, bint m, bint n, double alpha, const double* A, bint lda,
                   const double* x, bint incx, double beta, double* y, bint incy) {
    a->dgemv(kRowMajor, t, m, n, alpha, A, lda, x, incx, beta, y, incy);
  }
  static double dot(const Api* a, bint n, const double* x, bint incx, const double* y,
                    bint incy) {
    return a->ddot(n, x, incx, y, incy);
  }
};

namespace detail {

inline bool fits(i64 v) { return v >= 0 && v <= INT_MAX; }
inline i64 max1(i64 v) { return v > 1 ? v : 1; }

// A rows x cols matrix with byte strides (s0, s1) as a row-major BLAS operand: *trans false
// means it is row-major with leading dim *ld, true that its transpose is. False when neither
// fits (a negative, zero or odd stride): copy it first.
inline bool layout(i64 rows, i64 cols, i64 s0, i64 s1, i64 sz, bool* trans, i64* ld) {
  if ((s1 == sz || cols <= 1) && (rows <= 1 || (s0 % sz == 0 && s0 / sz >= max1(cols)))) {
    *trans = false;
    *ld = rows <= 1 ? max1(cols) : s0 / sz;
    return fits(*ld);
  }
  if ((s0 == sz || rows <= 1) && (cols <= 1 || (s1 % sz == 0 && s1 / sz >= max1(rows)))) {
    *trans = true;
    *ld = cols <= 1 ? max1(rows) : s1 / sz;
    return fits(*ld);
  }
  return false;
}

// An owned contiguous copy (row-major) of a strided matrix; data() is nullptr on failure.
template <class T>
class Packed {
 public:
  SYMCOMP_COLD Packed(i64 rows, i64 cols, const char* p, i64 s0, i64 s1)
      : data_(rows * cols > 0 ? new (std::nothrow) T[rows * cols] : nullptr) {
    if (data_ == nullptr) return;
    for (i64 i = 0; i < rows; ++i) {
      for (i64 j = 0; j < cols; ++j) {
        data_[i * cols + j] = *reinterpret_cast<const T*>(p + i * s0 + j * s1);
      }
    }
  }
  ~Packed() { delete[] data_; }
  Packed(const Packed&) = delete;
  Packed& operator=(const Packed&) = delete;
  T* data() const { return data_; }

 private:
  T* data_;
};

// C = beta * C + v (element (i, j) of a row-major m x n `v`, or 0 when v is nullptr), with
// BLAS's convention that beta == 0 does not read C.
template <class T>
SYMCOMP_COLD void axpby(i64 m, i64 n, const T* v, T beta, char* C, i64 cs0, i64 cs1) {
  for (i64 i = 0; i < m; ++i) {
    for (i64 j = 0; j < n; ++j) {
      T* c = reinterpret_cast<T*>(C + i * cs0 + j * cs1);
      const T add = v ? v[i * n + j] : T(0);
      *c = beta == T(0) ? add : beta * *c + add;
    }
  }
}

// Wrapping integer (and logical bool) multiply-add, as NumPy's integer dot.
template <class T>
inline T madd(T acc, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return acc | (a & b);
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<std::uint64_t>(acc) +
                          static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
  } else {
    return acc + a * b;
  }
}

// NumPy's integer (and bool) dot of two strided vectors, wrapping.
template <class T>
T int_dot(i64 n, const char* x, i64 xs, const char* y, i64 ys) {
  T acc = T(0);
  for (i64 i = 0; i < n; ++i) {
    acc = madd(acc, *reinterpret_cast<const T*>(x + i * xs),
               *reinterpret_cast<const T*>(y + i * ys));
  }
  return acc;
}

// C = A @ B for integers and bools (no BLAS), i-k-j order: the inner loop walks rows of B
// and C.
template <class T>
void int_gemm(i64 m, i64 n, i64 k, const char* A, i64 as0, i64 as1, const char* B, i64 bs0,
              i64 bs1, char* C, i64 cs0, i64 cs1) {
  for (i64 i = 0; i < m; ++i) {
    char* c = C + i * cs0;
    for (i64 j = 0; j < n; ++j) *reinterpret_cast<T*>(c + j * cs1) = T(0);
    for (i64 q = 0; q < k; ++q) {
      const T a = *reinterpret_cast<const T*>(A + i * as0 + q * as1);
      const char* b = B + q * bs0;
      for (i64 j = 0; j < n; ++j) {
        T* cj = reinterpret_cast<T*>(c + j * cs1);
        *cj = madd(*cj, a, *reinterpret_cast<const T*>(b + j * bs1));
      }
    }
  }
}

// out (o0 x o1, C-contiguous) = beta * C (byte strides cs0, cs1; 0 where C broadcasts).
template <class T>
__attribute__((noinline)) void scale_into(T* out, i64 o0, i64 o1, T beta, const char* C,
                                          i64 cs0, i64 cs1) {
  for (i64 i = 0; i < o0; ++i) {
    const char* c = C + i * cs0;
    T* row = out + i * o1;
    if (cs1 == 0) {
      const T v = beta * *reinterpret_cast<const T*>(c);
      for (i64 j = 0; j < o1; ++j) row[j] = v;
    } else if (cs1 == static_cast<i64>(sizeof(T))) {
      const T* cr = reinterpret_cast<const T*>(c);  // contiguous: vectorized
      for (i64 j = 0; j < o1; ++j) row[j] = beta * cr[j];
    } else {
      for (i64 j = 0; j < o1; ++j) row[j] = beta * *reinterpret_cast<const T*>(c + j * cs1);
    }
  }
}

}  // namespace detail

// dot of two vectors of length n (byte strides xs, ys).
template <class T>
SYMCOMP_COLD int dot(const Api* api, i64 n, const char* x, i64 xs, const char* y, i64 ys,
                     T* result) {
  constexpr i64 sz = sizeof(T);
  if constexpr (!std::is_floating_point_v<T>) {
    *result = detail::int_dot<T>(n, x, xs, y, ys);
    return 0;
  } else {
    if (n == 0) {
      *result = T(0);
      return 0;
    }
    if (!detail::fits(n)) return kTooLarge;
    const bool xok = n == 1 || (xs != 0 && xs % sz == 0), yok = n == 1 || (ys != 0 && ys % sz == 0);
    detail::Packed<T> px(xok ? 0 : n, 1, x, xs, 0), py(yok ? 0 : n, 1, y, ys, 0);
    if ((!xok && !px.data()) || (!yok && !py.data())) return kNoMemory;
    // BLAS walks a negative increment from the lowest address.
    const T* xp = xok ? reinterpret_cast<const T*>(xs < 0 ? x + (n - 1) * xs : x) : px.data();
    const T* yp = yok ? reinterpret_cast<const T*>(ys < 0 ? y + (n - 1) * ys : y) : py.data();
    const i64 ix = xok && n > 1 ? xs / sz : 1, iy = yok && n > 1 ? ys / sz : 1;
    *result = Fn<T>::dot(api, static_cast<bint>(n), xp, static_cast<bint>(ix), yp,
                         static_cast<bint>(iy));
    return 0;
  }
}

// y (m) = alpha * A (m x n, strides as0, as1) @ x (n) + beta * y (alpha and beta: floats
// only; beta == 0 does not read y).
template <class T>
SYMCOMP_COLD int gemv(const Api* api, i64 m, i64 n, const char* A, i64 as0, i64 as1,
                      const char* x, i64 xs, char* y, i64 ys, T alpha = T(1),
                      T beta = T(0)) {
  constexpr i64 sz = sizeof(T);
  if (m == 0) return 0;
  if (m == 1 || !std::is_floating_point_v<T>) {
    for (i64 i = 0; i < m; ++i) {
      T r;
      const int rc = dot<T>(api, n, A + i * as0, as1, x, xs, &r);
      if (rc != 0) return rc;
      if constexpr (std::is_floating_point_v<T>) r *= alpha;
      detail::axpby<T>(1, 1, &r, beta, y + i * ys, 0, 0);
    }
    return 0;
  }
  if (n == 0) {
    detail::axpby<T>(m, 1, nullptr, beta, y, ys, 0);
    return 0;
  }
  if (!detail::fits(m) || !detail::fits(n)) return kTooLarge;
  bool ta;
  i64 lda;
  const bool aok = detail::layout(m, n, as0, as1, sz, &ta, &lda);
  detail::Packed<T> pa(aok ? 0 : m, n, A, as0, as1);
  if (!aok) {
    if (!pa.data()) return kNoMemory;
    ta = false;
    lda = n;
  }
  const bool xok = n == 1 || (xs != 0 && xs % sz == 0);
  detail::Packed<T> px(xok ? 0 : n, 1, x, xs, 0);
  if (!xok && !px.data()) return kNoMemory;
  const T* xp = xok ? reinterpret_cast<const T*>(xs < 0 ? x + (n - 1) * xs : x) : px.data();
  const i64 ix = xok && n > 1 ? xs / sz : 1;
  const bool yok = ys != 0 && ys % sz == 0;
  T* tmp = yok ? nullptr : new (std::nothrow) T[m];
  if (!yok && tmp == nullptr) return kNoMemory;
  T* yp = yok ? reinterpret_cast<T*>(ys < 0 ? y + (m - 1) * ys : y) : tmp;
  const T* ap = aok ? reinterpret_cast<const T*>(A) : pa.data();
  // Row-major A: y = A x. Otherwise A^T is row-major (n x m) and y = (A^T)^T x.
  Fn<T>::gemv(api, ta ? kTrans : kNoTrans, static_cast<bint>(ta ? n : m),
              static_cast<bint>(ta ? m : n), alpha, ap, static_cast<bint>(lda), xp,
              static_cast<bint>(ix), yok ? beta : T(0), yp, static_cast<bint>(yok ? ys / sz : 1));
  if (!yok) {
    detail::axpby<T>(m, 1, tmp, beta, y, ys, 0);
    delete[] tmp;
  }
  return 0;
}

// C (m x n) = alpha * A (m x k) @ B (k x n) + beta * C; every operand with its byte
// strides (alpha and beta: floats only; beta == 0 does not read C).
template <class T>
SYMCOMP_COLD int gemm(const Api* api, i64 m, i64 n, i64 k, const char* A, i64 as0, i64 as1,
                      const char* B, i64 bs0, i64 bs1, char* C, i64 cs0, i64 cs1,
                      T alpha = T(1), T beta = T(0)) {
  constexpr i64 sz = sizeof(T);
  if (m == 0 || n == 0) return 0;
  if (k == 0) {
    detail::axpby<T>(m, n, nullptr, beta, C, cs0, cs1);
    return 0;
  }
  if constexpr (!std::is_floating_point_v<T>) {
    detail::int_gemm<T>(m, n, k, A, as0, as1, B, bs0, bs1, C, cs0, cs1);
    return 0;
  } else {
    if (n == 1) return gemv<T>(api, m, k, A, as0, as1, B, bs0, C, cs0, alpha, beta);
    if (m == 1) return gemv<T>(api, n, k, B, bs1, bs0, A, as1, C, cs1, alpha, beta);
    if (!detail::fits(m) || !detail::fits(n) || !detail::fits(k)) return kTooLarge;
    bool tc;
    i64 ldc;
    if (!detail::layout(m, n, cs0, cs1, sz, &tc, &ldc)) {
      T* tmp = new (std::nothrow) T[m * n];
      if (tmp == nullptr) return kNoMemory;
      const int rc = gemm<T>(api, m, n, k, A, as0, as1, B, bs0, bs1,
                             reinterpret_cast<char*>(tmp), n * sz, sz, alpha, T(0));
      if (rc == 0) detail::axpby<T>(m, n, tmp, beta, C, cs0, cs1);
      delete[] tmp;
      return rc;
    }
    // A column-major C is the row-major C^T = B^T A^T.
    if (tc) return gemm<T>(api, n, m, k, B, bs1, bs0, A, as1, as0, C, cs1, cs0, alpha, beta);
    bool ta, tb;
    i64 lda, ldb;
    const bool aok = detail::layout(m, k, as0, as1, sz, &ta, &lda);
    const bool bok = detail::layout(k, n, bs0, bs1, sz, &tb, &ldb);
    detail::Packed<T> pa(aok ? 0 : m, k, A, as0, as1), pb(bok ? 0 : k, n, B, bs0, bs1);
    if ((!aok && !pa.data()) || (!bok && !pb.data())) return kNoMemory;
    if (!aok) ta = false, lda = k;
    if (!bok) tb = false, ldb = n;
    Fn<T>::gemm(api, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, static_cast<bint>(m),
                static_cast<bint>(n), static_cast<bint>(k), alpha,
                aok ? reinterpret_cast<const T*>(A) : pa.data(), static_cast<bint>(lda),
                bok ? reinterpret_cast<const T*>(B) : pb.data(), static_cast<bint>(ldb), beta,
                reinterpret_cast<T*>(C), static_cast<bint>(ldc));
    return 0;
  }
}

// A stack of products over nb batch dims (bshape; per-operand batch byte strides, 0 where an
// operand broadcasts), each C[b] = A[b] @ B[b] as in gemm.
template <class T>
SYMCOMP_COLD int matmul(const Api* api, int nb, const i64* bshape, const i64* abs,
                        const i64* bbs, const i64* cbs, i64 m, i64 n, i64 k, const char* A,
                        i64 as0, i64 as1, const char* B, i64 bs0, i64 bs1, char* C, i64 cs0,
                        i64 cs1) {
  i64 count = 1;
  for (int d = 0; d < nb; ++d) count *= bshape[d];
  for (i64 b = 0; b < count; ++b) {
    i64 rest = b, ao = 0, bo = 0, co = 0;
    for (int d = nb - 1; d >= 0; --d) {
      const i64 i = rest % bshape[d];
      rest /= bshape[d];
      ao += i * abs[d];
      bo += i * bbs[d];
      co += i * cbs[d];
    }
    const int rc = gemm<T>(api, m, n, k, A + ao, as0, as1, B + bo, bs0, bs1, C + co, cs0, cs1);
    if (rc != 0) return rc;
  }
  return 0;
}

// Gemm/Gemv: out (o0 x o1, fresh and C-contiguous) = beta * C + alpha * (A @ B), where C
// (byte strides cs0, cs1; 0 where it broadcasts) and the m x n product broadcast to (o0, o1).
// C is scaled into out first, so NaN/inf in C propagate even when beta == 0 (NumPy's
// 0 * nan); only a finite 0-d C with beta == 0 is skipped (BLAS beta = 0, nothing read).
template <class T>
SYMCOMP_COLD int accumulate(const Api* api, i64 m, i64 n, i64 k, const char* A, i64 as0,
                            i64 as1, const char* B, i64 bs0, i64 bs1, T alpha, const char* C,
                            i64 cs0, i64 cs1, bool c_scalar, T beta, char* out, i64 o0,
                            i64 o1) {
  constexpr i64 sz = sizeof(T);
  T* o = reinterpret_cast<T*>(out);
  const bool same = o0 == m && o1 == n;
  const bool skip = same && c_scalar && beta == T(0) && std::isfinite(*reinterpret_cast<const T*>(C));
  if (!skip) detail::scale_into<T>(o, o0, o1, beta, C, cs0, cs1);
  if (same) return gemm<T>(api, m, n, k, A, as0, as1, B, bs0, bs1, out, o1 * sz, sz, alpha,
                           skip ? T(0) : T(1));
  // C broadcasts the product itself (m or n is 1 where C is longer): compute it apart.
  if (m * n == 0) return 0;
  T* p = new (std::nothrow) T[m * n];
  if (p == nullptr) return kNoMemory;
  const int rc = gemm<T>(api, m, n, k, A, as0, as1, B, bs0, bs1, reinterpret_cast<char*>(p),
                         n * sz, sz, alpha, T(0));
  for (i64 i = 0; rc == 0 && i < o0; ++i) {
    for (i64 j = 0; j < o1; ++j) o[i * o1 + j] += p[(m == 1 ? 0 : i) * n + (n == 1 ? 0 : j)];
  }
  delete[] p;
  return rc;
}

}  // namespace blas
}  // namespace symcomp
