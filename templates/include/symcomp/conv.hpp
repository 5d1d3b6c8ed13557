// symcomp/conv.hpp: 2-d convolution (NCHW input, OIHW filters) and its gradients, as
// im2col + gemm through OpenBLAS (blas.hpp), with OpenMP over the batch.
//
// All arrays are C-contiguous. Filters are first packed into an (O, K) matrix with
// K = C/groups * kh * kw (flipped for a true convolution), so the kernels only compute
// cross-correlations. Each thread owns its im2col buffer; the filter gradient is summed
// from per-thread partial sums. Functions return 0 or blas::kNoMemory.
#pragma once

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include <symcomp/blas.hpp>

namespace symcomp {
namespace conv {

using i64 = std::int64_t;

struct Geom {
  i64 n, c, h, w;     // input
  i64 o, kh, kw;      // filters (O, C/groups, kh, kw)
  i64 ho, wo;         // output
  i64 sh, sw, ph, pw, dh, dw, groups;
  i64 cg() const { return c / groups; }
  i64 og() const { return o / groups; }
  i64 k() const { return cg() * kh * kw; }
  i64 hw() const { return ho * wo; }
  // 1x1 filters, stride 1, no padding: the image is its own im2col matrix.
  bool identity_cols() const {
    return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
  }
};

template <class T>
inline void gemm(const blas::Api* api, bool ta, bool tb, i64 m, i64 n, i64 k, const T* A,
                 i64 lda, const T* B, i64 ldb, T beta, T* C, i64 ldc) {
  const int a = ta ? blas::kTrans : blas::kNoTrans, b = tb ? blas::kTrans : blas::kNoTrans;
  using bint = blas::bint;
  if constexpr (std::is_same_v<T, float>) {
    api->sgemm(blas::kRowMajor, a, b, bint(m), bint(n), bint(k), 1.0f, A, bint(lda), B,
               bint(ldb), beta, C, bint(ldc));
  } else {
    api->dgemm(blas::kRowMajor, a, b, bint(m), bint(n), bint(k), 1.0, A, bint(lda), B,
               bint(ldb), beta, C, bint(ldc));
  }
}

// col (K x Ho*Wo) of the Cg channels of one image starting at x (Cg x H x W).
template <class T>
void im2col(const Geom& g, const T* x, T* col) {
  const i64 cg = g.cg(), hw = g.hw();
  for (i64 c = 0; c < cg; ++c) {
    for (i64 i = 0; i < g.kh; ++i) {
      for (i64 j = 0; j < g.kw; ++j) {
        T* row = col + ((c * g.kh + i) * g.kw + j) * hw;
        const T* xc = x + c * g.h * g.w;
        for (i64 oh = 0; oh < g.ho; ++oh) {
          const i64 r = oh * g.sh - g.ph + i * g.dh;
          T* dst = row + oh * g.wo;
          if (r < 0 || r >= g.h) {
            std::fill(dst, dst + g.wo, T(0));
            continue;
          }
          const T* src = xc + r * g.w;
          const i64 q0 = j * g.dw - g.pw;
          for (i64 ow = 0; ow < g.wo; ++ow) {
            const i64 q = q0 + ow * g.sw;
            dst[ow] = (q >= 0 && q < g.w) ? src[q] : T(0);
          }
        }
      }
    }
  }
}

// The adjoint of im2col: adds col (K x Ho*Wo) into x (Cg x H x W).
template <class T>
void col2im(const Geom& g, const T* col, T* x) {
  const i64 cg = g.cg(), hw = g.hw();
  for (i64 c = 0; c < cg; ++c) {
    for (i64 i = 0; i < g.kh; ++i) {
      for (i64 j = 0; j < g.kw; ++j) {
        const T* row = col + ((c * g.kh + i) * g.kw + j) * hw;
        T* xc = x + c * g.h * g.w;
        for (i64 oh = 0; oh < g.ho; ++oh) {
          const i64 r = oh * g.sh - g.ph + i * g.dh;
          if (r < 0 || r >= g.h) continue;
          const T* src = row + oh * g.wo;
          T* dst = xc + r * g.w;
          const i64 q0 = j * g.dw - g.pw;
          for (i64 ow = 0; ow < g.wo; ++ow) {
            const i64 q = q0 + ow * g.sw;
            if (q >= 0 && q < g.w) dst[q] += src[ow];
          }
        }
      }
    }
  }
}

// Filters w (O, Cg, kh, kw) as the (O, K) matrix the kernels use (flipped if `flip`).
template <class T>
void pack_filters(const Geom& g, const T* w, bool flip, T* out) {
  const i64 cg = g.cg();
  for (i64 o = 0; o < g.o; ++o) {
    for (i64 c = 0; c < cg; ++c) {
      const T* src = w + (o * cg + c) * g.kh * g.kw;
      T* dst = out + (o * cg + c) * g.kh * g.kw;
      for (i64 i = 0; i < g.kh; ++i) {
        for (i64 j = 0; j < g.kw; ++j) {
          dst[i * g.kw + j] = flip ? src[(g.kh - 1 - i) * g.kw + (g.kw - 1 - j)]
                                   : src[i * g.kw + j];
        }
      }
    }
  }
}

// y (N, O, Ho, Wo) = conv(x, packed filters wp (O, K)).
template <class T>
int forward(const blas::Api* api, const Geom& g, const T* x, const T* wp, T* y, bool parallel) {
  const i64 cg = g.cg(), og = g.og(), k = g.k(), hw = g.hw();
  const bool direct = g.identity_cols();
  bool oom = false;
#pragma omp parallel if (parallel)
  {
    T* col = direct ? nullptr : new (std::nothrow) T[k * hw];
    if (!direct && col == nullptr) {
#pragma omp atomic write
      oom = true;
    }
#pragma omp barrier
    if (!oom) {  // every thread sees the same value after the barrier
#pragma omp for schedule(static)
      for (i64 n = 0; n < g.n; ++n) {
        for (i64 gr = 0; gr < g.groups; ++gr) {
          const T* xs = x + (n * g.c + gr * cg) * g.h * g.w;
          if (!direct) im2col(g, xs, col);
          gemm<T>(api, false, false, og, hw, k, wp + gr * og * k, k, direct ? xs : col, hw,
                  T(0), y + (n * g.o + gr * og) * hw, hw);
        }
      }
    }
    delete[] col;
  }
  return oom ? blas::kNoMemory : 0;
}

// gx (N, C, H, W) = the gradient of conv wrt x, from packed filters wp and gy.
template <class T>
int grad_input(const blas::Api* api, const Geom& g, const T* wp, const T* gy, T* gx,
               bool parallel) {
  const i64 cg = g.cg(), og = g.og(), k = g.k(), hw = g.hw();
  const bool direct = g.identity_cols();
  bool oom = false;
#pragma omp parallel if (parallel)
  {
    T* col = direct ? nullptr : new (std::nothrow) T[k * hw];
    if (!direct && col == nullptr) {
#pragma omp atomic write
      oom = true;
    }
#pragma omp barrier
    if (!oom) {  // every thread sees the same value after the barrier
#pragma omp for schedule(static)
      for (i64 n = 0; n < g.n; ++n) {
        for (i64 gr = 0; gr < g.groups; ++gr) {
          T* xs = gx + (n * g.c + gr * cg) * g.h * g.w;
          const T* gys = gy + (n * g.o + gr * og) * hw;
          if (direct) {
            gemm<T>(api, true, false, k, hw, og, wp + gr * og * k, k, gys, hw, T(0), xs, hw);
          } else {
            gemm<T>(api, true, false, k, hw, og, wp + gr * og * k, k, gys, hw, T(0), col, hw);
            std::memset(xs, 0, sizeof(T) * cg * g.h * g.w);
            col2im(g, col, xs);
          }
        }
      }
    }
    delete[] col;
  }
  return oom ? blas::kNoMemory : 0;
}

// gw (O, Cg, kh, kw) = the gradient of conv wrt the filters (flipped back if `flip`).
template <class T>
int grad_filters(const blas::Api* api, const Geom& g, const T* x, const T* gy, T* gw, bool flip,
                 bool parallel) {
  const i64 cg = g.cg(), og = g.og(), k = g.k(), hw = g.hw(), total = g.o * k;
  const bool direct = g.identity_cols();
  std::vector<T> sum;
  try {
    sum.assign(total, T(0));
  } catch (const std::bad_alloc&) {
    return blas::kNoMemory;
  }
  bool oom = false;
#pragma omp parallel if (parallel)
  {
    T* col = direct ? nullptr : new (std::nothrow) T[k * hw];
    T* acc = new (std::nothrow) T[total];
    if ((!direct && col == nullptr) || acc == nullptr) {
#pragma omp atomic write
      oom = true;
    }
#pragma omp barrier
    if (!oom) {
      std::fill(acc, acc + total, T(0));
#pragma omp for schedule(static)
      for (i64 n = 0; n < g.n; ++n) {
        for (i64 gr = 0; gr < g.groups; ++gr) {
          const T* xs = x + (n * g.c + gr * cg) * g.h * g.w;
          if (!direct) im2col(g, xs, col);
          gemm<T>(api, false, true, og, k, hw, gy + (n * g.o + gr * og) * hw, hw,
                  direct ? xs : col, hw, T(1), acc + gr * og * k, k);
        }
      }
#pragma omp critical(symcomp_conv_grad_filters)
      for (i64 q = 0; q < total; ++q) sum[q] += acc[q];
    }
    delete[] col;
    delete[] acc;
  }
  if (oom) return blas::kNoMemory;
  pack_filters(g, sum.data(), flip, gw);  // flipping is its own inverse
  return 0;
}

// Node entry points: (api, geometry, first operand, second operand, output, flip, parallel).
template <class T>
int conv2d(const blas::Api* api, const Geom& g, const T* x, const T* w, T* y, bool flip,
           bool parallel) {
  std::vector<T> wp;
  try {
    wp.resize(g.o * g.k());
  } catch (const std::bad_alloc&) {
    return blas::kNoMemory;
  }
  pack_filters(g, w, flip, wp.data());
  return forward(api, g, x, wp.data(), y, parallel);
}

template <class T>
int conv2d_grad_input(const blas::Api* api, const Geom& g, const T* w, const T* gy, T* gx,
                      bool flip, bool parallel) {
  std::vector<T> wp;
  try {
    wp.resize(g.o * g.k());
  } catch (const std::bad_alloc&) {
    return blas::kNoMemory;
  }
  pack_filters(g, w, flip, wp.data());
  return grad_input(api, g, wp.data(), gy, gx, parallel);
}

template <class T>
int conv2d_grad_filters(const blas::Api* api, const Geom& g, const T* x, const T* gy, T* gw,
                        bool flip, bool parallel) {
  return grad_filters(api, g, x, gy, gw, flip, parallel);
}

}  // namespace conv
}  // namespace symcomp
