// symcomp/conv.hpp: 2-d convolution (NCHW input, OIHW filters) and its gradients, as
// im2col + gemm through OpenBLAS (blas.hpp), with OpenMP over the batch when the work is
// large enough (batch_threads).
//
// All arrays are C-contiguous. Filters are first packed into an (O, K) matrix with
// K = C/groups * kh * kw (flipped for a true convolution), so the kernels only compute
// cross-correlations. Each thread owns its im2col buffer; the filter gradient is summed
// from per-thread partial sums in a fixed order. Functions return 0 or blas::kNoMemory.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include <symcomp/blas.hpp>
#include <symcomp/team.hpp>

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

// OpenBLAS splits one gemm over its own threads above m * n * k = 65536 * 4 multiply-adds
// (GEMM_MULTITHREAD_THRESHOLD in its interface/gemm.c). The batch goes over OpenMP threads
// only when each image's gemms stay below that, so the two kinds of threads never stack;
// then team_size (team.hpp) gives each thread at least min_macs_per_thread.
constexpr i64 kBlasThreadedMacs = 65536 * 4;

inline int batch_threads(const Geom& g, i64 min_macs_per_thread) {
  const i64 per_gemm = g.og() * g.hw() * g.k();
  if (per_gemm > kBlasThreadedMacs) return 1;
  return team_size(g.n * g.groups * per_gemm, g.n, min_macs_per_thread);
}

// Calls image(n, group, col, k) for every image and group over `threads` threads (images
// split in contiguous ranges, range k in thread k). Each thread owns an im2col buffer `col`
// (K x Ho*Wo; nullptr for identity_cols). False when a buffer cannot be allocated.
template <class T, class Image>
bool each_image(const Geom& g, int threads, Image&& image) {
  const bool direct = g.identity_cols();
  return run_team(threads, g.n, [&](int k, i64 lo, i64 hi) {
    std::unique_ptr<T[]> col(direct ? nullptr : new (std::nothrow) T[g.k() * g.hw()]);
    if (!direct && !col) return false;
    for (i64 n = lo; n < hi; ++n) {
      for (i64 gr = 0; gr < g.groups; ++gr) image(n, gr, col.get(), k);
    }
    return true;
  });
}

// y (N, O, Ho, Wo) = conv(x, packed filters wp (O, K)).
template <class T>
int forward(const blas::Api* api, const Geom& g, const T* x, const T* wp, T* y, int threads) {
  const i64 cg = g.cg(), og = g.og(), k = g.k(), hw = g.hw();
  const auto image = [&](i64 n, i64 gr, T* col, int) {
    const T* xs = x + (n * g.c + gr * cg) * g.h * g.w;
    if (col != nullptr) im2col(g, xs, col);
    gemm<T>(api, false, false, og, hw, k, wp + gr * og * k, k, col ? col : xs, hw, T(0),
            y + (n * g.o + gr * og) * hw, hw);
  };
  return each_image<T>(g, threads, image) ? 0 : blas::kNoMemory;
}

// gx (N, C, H, W) = the gradient of conv wrt x, from packed filters wp and gy.
template <class T>
int grad_input(const blas::Api* api, const Geom& g, const T* wp, const T* gy, T* gx,
               int threads) {
  const i64 cg = g.cg(), og = g.og(), k = g.k(), hw = g.hw();
  const auto image = [&](i64 n, i64 gr, T* col, int) {
    T* xs = gx + (n * g.c + gr * cg) * g.h * g.w;
    gemm<T>(api, true, false, k, hw, og, wp + gr * og * k, k, gy + (n * g.o + gr * og) * hw,
            hw, T(0), col ? col : xs, hw);
    if (col != nullptr) {
      std::memset(xs, 0, sizeof(T) * cg * g.h * g.w);
      col2im(g, col, xs);
    }
  };
  return each_image<T>(g, threads, image) ? 0 : blas::kNoMemory;
}

// gw (O, Cg, kh, kw) = the gradient of conv wrt the filters (flipped back if `flip`): thread
// k sums its images' gemms into its own (O, K) matrix; the matrices are then added in the
// order of k, so the result does not depend on which thread finishes first.
template <class T>
int grad_filters(const blas::Api* api, const Geom& g, const T* x, const T* gy, T* gw, bool flip,
                 int threads) {
  const i64 cg = g.cg(), og = g.og(), k = g.k(), hw = g.hw(), total = g.o * k;
  std::vector<T> parts;
  try {
    parts.assign(total * (threads > 1 ? threads : 1), T(0));
  } catch (const std::bad_alloc&) {
    return blas::kNoMemory;
  }
  const auto image = [&](i64 n, i64 gr, T* col, int t) {
    const T* xs = x + (n * g.c + gr * cg) * g.h * g.w;
    if (col != nullptr) im2col(g, xs, col);
    gemm<T>(api, false, true, og, k, hw, gy + (n * g.o + gr * og) * hw, hw, col ? col : xs, hw,
            T(1), parts.data() + t * total + gr * og * k, k);
  };
  if (!each_image<T>(g, threads, image)) return blas::kNoMemory;
  for (int t = 1; t < threads; ++t) {
    for (i64 q = 0; q < total; ++q) parts[q] += parts[t * total + q];
  }
  pack_filters(g, parts.data(), flip, gw);  // flipping is its own inverse
  return 0;
}

// Node entry points: (api, geometry, first operand, second operand, output, flip, fewest
// multiply-adds per thread; INT64_MAX: always serial).
template <class T>
int conv2d(const blas::Api* api, const Geom& g, const T* x, const T* w, T* y, bool flip,
           i64 min_macs_per_thread) {
  std::vector<T> wp;
  try {
    wp.resize(g.o * g.k());
  } catch (const std::bad_alloc&) {
    return blas::kNoMemory;
  }
  pack_filters(g, w, flip, wp.data());
  return forward(api, g, x, wp.data(), y, batch_threads(g, min_macs_per_thread));
}

template <class T>
int conv2d_grad_input(const blas::Api* api, const Geom& g, const T* w, const T* gy, T* gx,
                      bool flip, i64 min_macs_per_thread) {
  std::vector<T> wp;
  try {
    wp.resize(g.o * g.k());
  } catch (const std::bad_alloc&) {
    return blas::kNoMemory;
  }
  pack_filters(g, w, flip, wp.data());
  return grad_input(api, g, wp.data(), gy, gx, batch_threads(g, min_macs_per_thread));
}

template <class T>
int conv2d_grad_filters(const blas::Api* api, const Geom& g, const T* x, const T* gy, T* gw,
                        bool flip, i64 min_macs_per_thread) {
  return grad_filters(api, g, x, gy, gw, flip, batch_threads(g, min_macs_per_thread));
}

}  // namespace conv
}  // namespace symcomp
