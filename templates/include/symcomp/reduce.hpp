// symcomp/reduce.hpp: reductions over any set of axes of an N-d strided array.
//
// Pure C++ (no Python.h): the generated module passes data pointers, shapes and byte strides.
// NumPy semantics: float sums are pairwise (blocks of 128 with 8 partial sums, as NumPy),
// max/min propagate NaN, integer sums/products wrap, argmax/argmin return the first extremum
// (the first NaN if there is one). Results do not depend on the number of threads: work is
// split into chunks whose boundaries depend only on the shape.
//
// The element to reduce comes from a "map": a small struct computing it from the input
// pointers, so `sum(f(x, y))` reads x and y once (a fused reduction) with the same driver:
//
//   struct SquareMap {
//     static constexpr int nin = 1;
//     using type = double;                                  // the accumulation type
//     bool unit(const std::int64_t* s) const { return symcomp::unit<double>(s); }
//     template <bool C>
//     double get(const char* const* p, const std::int64_t* s, std::int64_t i) const {
//       const double a = symcomp::rd<double, C>(p[0], s[0], i);
//       return a * a;
//     }
//   };
//
// `get<C>` returns element i along the innermost reduced or kept dim whose byte strides are
// s[k]; with C true every input is known to be contiguous there (s[k] == itemsize), which
// lets the compiler vectorize.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "symcomp/hostdevice.hpp"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace symcomp {

using i64 = std::int64_t;

// Below this many elements a reduction runs on one thread (thread start-up costs ~us).
constexpr i64 kReduceMinParallel = 1 << 16;
constexpr int kMaxReduceDims = 64;

// Element i of a strided (C = false) or contiguous (C = true) array starting at p.
template <class T, bool C>
inline T rd(const char* p, i64 s, i64 i) {
  if constexpr (C) {
    return reinterpret_cast<const T*>(p)[i];
  } else {
    return *reinterpret_cast<const T*>(p + i * s);
  }
}

// Whether the byte strides s[0..] are the item sizes of Ts... (contiguous along that dim).
template <class... Ts>
inline bool unit(const i64* s) {
  i64 sizes[] = {static_cast<i64>(sizeof(Ts))...};
  for (std::size_t k = 0; k < sizeof...(Ts); ++k) {
    if (s[k] != sizes[k]) return false;
  }
  return true;
}

// The plain map: input 0 converted to Acc (bool conversion is `!= 0`, NaN counting as true).
template <class In, class Acc>
struct CastMap {
  static constexpr int nin = 1;
  using type = Acc;
  bool unit(const i64* s) const { return symcomp::unit<In>(s); }
  template <bool C>
  Acc get(const char* const* p, const i64* s, i64 i) const {
    return static_cast<Acc>(rd<In, C>(p[0], s[0], i));
  }
};

namespace detail {
// Integer arithmetic that wraps like NumPy's instead of overflowing (undefined in C++).
template <class T>
inline T wrap_add(T a, T b) {
  return static_cast<T>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
template <class T>
inline T wrap_mul(T a, T b) {
  return static_cast<T>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}
template <class T>
constexpr bool is_int = std::is_integral_v<T> && !std::is_same_v<T, bool>;
}  // namespace detail

// Combiners: the identity, how two partial results combine, and whether the combination is
// rounded (then the driver sums pairwise for accuracy).
template <class T>
struct SumOp {
  using type = T;
  static constexpr bool pairwise = std::is_floating_point_v<T>;
  static T identity() { return T(0); }
  // -0.0 is the exact identity of float addition (sum([-0.0]) stays -0.0, as in NumPy).
  static T start() {
    if constexpr (std::is_floating_point_v<T>) return -T(0);
    return T(0);
  }
  static T combine(T a, T b) {
    if constexpr (detail::is_int<T>) {
      return detail::wrap_add(a, b);
    } else if constexpr (std::is_same_v<T, bool>) {
      return a | b;
    } else {
      return a + b;
    }
  }
};

template <class T>
struct ProdOp {
  using type = T;
  static constexpr bool pairwise = std::is_floating_point_v<T>;
  static T identity() { return T(1); }
  static T start() { return identity(); }
  static T combine(T a, T b) {
    if constexpr (detail::is_int<T>) {
      return detail::wrap_mul(a, b);
    } else if constexpr (std::is_same_v<T, bool>) {
      return a & b;
    } else {
      return a * b;
    }
  }
};

template <class T>
struct MaxOp {
  using type = T;
  static constexpr bool pairwise = false;
  static T identity() {
    if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::lowest();
  }
  static T start() { return identity(); }
  // A NaN in either operand wins (NumPy's maximum): b != b is true only for NaN.
  static T combine(T a, T b) { return ((b > a) | (b != b)) ? b : a; }
};

template <class T>
struct MinOp {
  using type = T;
  static constexpr bool pairwise = false;
  static T identity() {
    if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::max();
  }
  static T start() { return identity(); }
  static T combine(T a, T b) { return ((b < a) | (b != b)) ? b : a; }
};

struct AllOp {
  using type = bool;
  static constexpr bool pairwise = false;
  static bool identity() { return true; }
  static bool start() { return true; }
  static bool combine(bool a, bool b) { return a & b; }
};

struct AnyOp {
  using type = bool;
  static constexpr bool pairwise = false;
  static bool identity() { return false; }
  static bool start() { return false; }
  static bool combine(bool a, bool b) { return a | b; }
};

namespace detail {

// n elements along one dim starting at index lo: 8 interleaved partial results (the
// compiler vectorizes them; NumPy sums its 128-element blocks the same way).
template <class Op, bool C, class Map>
typename Op::type block(const Map& m, const char* const* p, const i64* s, i64 lo, i64 n) {
  using T = typename Op::type;
  constexpr int L = 8;
  if (n < L) {
    T r = Op::start();
    for (i64 i = 0; i < n; ++i) r = Op::combine(r, m.template get<C>(p, s, lo + i));
    return r;
  }
  T acc[L];
  for (int j = 0; j < L; ++j) acc[j] = m.template get<C>(p, s, lo + j);
  i64 i = L;
  for (; i + L <= n; i += L) {
    for (int j = 0; j < L; ++j) {
      acc[j] = Op::combine(acc[j], m.template get<C>(p, s, lo + i + j));
    }
  }
  T r = Op::combine(Op::combine(Op::combine(acc[0], acc[1]), Op::combine(acc[2], acc[3])),
                    Op::combine(Op::combine(acc[4], acc[5]), Op::combine(acc[6], acc[7])));
  for (; i < n; ++i) r = Op::combine(r, m.template get<C>(p, s, lo + i));
  return r;
}

// Whether a map computes its elements with math calls (Map::vector_calls): those vectorize
// (into libmvec's variants, see simd_math.hpp) only in a loop of their own.
template <class M, class = void>
struct vector_calls : std::false_type {};
template <class M>
struct vector_calls<M, std::void_t<decltype(M::vector_calls)>>
    : std::bool_constant<M::vector_calls> {};

// 128 elements from index lo: block<Op, C>(..., 128) with a constant trip count, so the
// compiler unrolls it into straight-line vector code.
template <class Op, bool C, class Map>
inline typename Op::type block128(const Map& m, const char* const* p, const i64* s, i64 lo) {
  using T = typename Op::type;
  constexpr int L = 8;
  T acc[L];
  if constexpr (vector_calls<Map>::value) {
    T v[128];
#pragma omp simd
    for (int i = 0; i < 128; ++i) v[i] = m.template get<C>(p, s, lo + i);
    for (int j = 0; j < L; ++j) acc[j] = v[j];
    for (int i = L; i < 128; i += L) {
      for (int j = 0; j < L; ++j) acc[j] = Op::combine(acc[j], v[i + j]);
    }
  } else {
    for (int j = 0; j < L; ++j) acc[j] = m.template get<C>(p, s, lo + j);
    for (int i = L; i < 128; i += L) {
      for (int j = 0; j < L; ++j) {
        acc[j] = Op::combine(acc[j], m.template get<C>(p, s, lo + i + j));
      }
    }
  }
  return Op::combine(Op::combine(Op::combine(acc[0], acc[1]), Op::combine(acc[2], acc[3])),
                     Op::combine(Op::combine(acc[4], acc[5]), Op::combine(acc[6], acc[7])));
}

// Pairwise summation above 128 elements for rounded combinations: error grows like log(n)
// instead of n. Blocks of 128 (8 partial sums each, as NumPy) are combined as a binary
// counter: two partial results of equal weight are added as soon as both exist, which is
// the tree of recursive halving without a function call per block (that overhead cost ~2x).
template <class Op, bool C, class Map>
typename Op::type pairwise(const Map& m, const char* const* p, const i64* s, i64 lo, i64 n) {
  using T = typename Op::type;
  if (!Op::pairwise || n <= 128) return block<Op, C>(m, p, s, lo, n);
  T stack[64];
  int level[64], top = 0;
  i64 i = 0;
  for (; i + 128 <= n; i += 128) {
    T v = block128<Op, C>(m, p, s, lo + i);
    int lv = 0;
    for (; top > 0 && level[top - 1] == lv; ++lv) v = Op::combine(stack[--top], v);
    stack[top] = v;
    level[top++] = lv;
  }
  T r = i < n ? block<Op, C>(m, p, s, lo + i, n - i) : stack[--top];
  while (top > 0) r = Op::combine(stack[--top], r);
  return r;
}

template <class Op, class Map>
typename Op::type line(const Map& m, bool c, const char* const* p, const i64* s, i64 lo, i64 n) {
  return c ? pairwise<Op, true>(m, p, s, lo, n) : pairwise<Op, false>(m, p, s, lo, n);
}

template <class Op>
__attribute__((noinline)) typename Op::type tree(const typename Op::type* v, i64 n) {
  if (n == 1) return v[0];
  const i64 h = n / 2;
  return Op::combine(tree<Op>(v, h), tree<Op>(v + h, n - h));
}

// The iteration space after dropping length-1 dims: per dim its length, whether it is
// reduced, and the byte stride of each operand (the inputs, then the output).
template <int N>
struct Dims {
  int nd = 0;
  i64 n[kMaxReduceDims];
  i64 s[kMaxReduceDims][N];
  bool red[kMaxReduceDims];

  // Byte offsets of the multi-index numbered lin (C order) over the dims listed in idx.
  void offsets(const int* idx, int cnt, i64 lin, i64* off) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int q = cnt - 1; q >= 0 && lin; --q) {
      const int a = idx[q];
      const i64 i = lin % n[a];
      lin /= n[a];
      for (int k = 0; k < N; ++k) off[k] += i * s[a][k];
    }
  }

  // The iteration space of reduce() over ndim dims: length-1 dims dropped, dims where
  // input 0 walks backwards reversed (base[] moves to their last element; the combiners are
  // associative), dims sorted so input 0's smallest stride is innermost, and neighbours that
  // walk memory as one dim merged. K/R: the kept and the reduced dims (R gets one dim of
  // length 1 when no dim is reduced). False when there is no output element. Run once per
  // call, so compiled for size (SYMCOMP_COLD).
  SYMCOMP_COLD bool setup(int ndim, const i64* shape, const i64* const* in_strides,
                          const i64* out_strides, const bool* reduced, const char** base,
                          int* K, int* nk, int* R, int* nr) {
    constexpr int NI = N - 1;
    nd = 0;
    for (int a = 0; a < ndim; ++a) {
      if (shape[a] == 0 && !reduced[a]) return false;
      if (shape[a] == 1) continue;
      const int b = nd++;
      n[b] = shape[a];
      red[b] = reduced[a];
      for (int k = 0; k < NI; ++k) s[b][k] = in_strides[k][a];
      s[b][NI] = reduced[a] ? 0 : out_strides[a];
    }
    for (int b = 0; b < nd; ++b) {
      if (s[b][0] < 0) {
        for (int k = 0; k < N; ++k) {
          base[k] += (n[b] - 1) * s[b][k];
          s[b][k] = -s[b][k];
        }
      }
    }
    for (int b = 1; b < nd; ++b) {
      for (int c = b; c > 0 && s[c - 1][0] < s[c][0]; --c) {
        std::swap(n[c - 1], n[c]);
        std::swap(red[c - 1], red[c]);
        for (int k = 0; k < N; ++k) std::swap(s[c - 1][k], s[c][k]);
      }
    }
    int m = 0;  // coalesce neighbours that walk memory as one dim
    for (int b = 0; b < nd; ++b) {
      bool merge = m > 0 && red[m - 1] == red[b];
      for (int k = 0; merge && k < N; ++k) merge = s[m - 1][k] == s[b][k] * n[b];
      if (merge) {
        n[m - 1] *= n[b];
        for (int k = 0; k < N; ++k) s[m - 1][k] = s[b][k];
      } else {
        n[m] = n[b];
        red[m] = red[b];
        for (int k = 0; k < N; ++k) s[m][k] = s[b][k];
        ++m;
      }
    }
    nd = m;
    *nk = *nr = 0;
    for (int b = 0; b < nd; ++b) (red[b] ? R[(*nr)++] : K[(*nk)++]) = b;
    if (*nr == 0) {  // every reduced dim has length 1: one element per output
      n[nd] = 1;
      red[nd] = true;
      for (int k = 0; k < N; ++k) s[nd][k] = 0;
      R[(*nr)++] = nd++;
    }
    return true;
  }

  i64 count(const int* idx, int cnt) const {
    i64 t = 1;
    for (int q = 0; q < cnt; ++q) t *= n[idx[q]];
    return t;
  }
};

inline bool go_parallel(i64 work, i64 items, i64 min_parallel) {
#ifdef _OPENMP
  return work >= min_parallel && items > 1 && omp_get_max_threads() > 1 && !omp_in_parallel();
#else
  (void)work;
  (void)items;
  (void)min_parallel;
  return false;
#endif
}

}  // namespace detail

// Reduce with combiner Op the elements that map m computes over an ndim-d iteration space.
// in[k]/in_strides[k]: input k's data and byte strides (0 where it broadcasts); out and
// out_strides: the output, with stride 0 on the reduced dims (keepdims or not is only the
// caller's shape). reduced[a] marks the reduced dims. ndim <= kMaxReduceDims.
template <class Op, class Map>
void reduce(const Map& m, int ndim, const i64* shape, const char* const* in,
            const i64* const* in_strides, char* out, const i64* out_strides,
            const bool* reduced, i64 min_parallel = kReduceMinParallel) {
  using T = typename Op::type;
  constexpr int NI = Map::nin, N = NI + 1;
  detail::Dims<N> d;
  const char* base[N];
  for (int k = 0; k < NI; ++k) base[k] = in[k];
  base[NI] = out;
  int K[kMaxReduceDims], R[kMaxReduceDims + 1], nk, nr;
  if (!d.setup(ndim, shape, in_strides, out_strides, reduced, base, K, &nk, R, &nr)) return;
  const int nd = d.nd;
  char* const outp = const_cast<char*>(base[NI]);
  const i64 total = d.count(K, nk) * d.count(R, nr);

  if (nk == 0) {  // a full reduction: chunks reduced in parallel, then combined pairwise
    const int rl = R[nr - 1];
    const i64 nl = d.n[rl], no = d.count(R, nr - 1);
    const i64* sl = d.s[rl];
    const bool c = m.unit(sl);
    constexpr i64 kMaxChunks = 1024;
    T part[kMaxChunks];
    i64 nch;
    if (no == 1) {
      i64 ch = (nl + kMaxChunks - 1) / kMaxChunks;
      ch = ch < (1 << 16) ? (1 << 16) : (ch + 127) / 128 * 128;
      nch = nl == 0 ? 0 : (nl + ch - 1) / ch;
      const bool par = detail::go_parallel(total, nch, min_parallel);
#pragma omp parallel for schedule(static) if (par)
      for (i64 q = 0; q < nch; ++q) {
        const i64 lo = q * ch;
        part[q] = detail::line<Op>(m, c, base, sl, lo, nl - lo < ch ? nl - lo : ch);
      }
    } else {
      const i64 ch = no == 0 ? 1 : (no + kMaxChunks - 1) / kMaxChunks;
      nch = (no + ch - 1) / ch;
      const bool par = detail::go_parallel(total, nch, min_parallel);
#pragma omp parallel for schedule(static) if (par)
      for (i64 q = 0; q < nch; ++q) {
        T acc = Op::start();
        const i64 hi = (q + 1) * ch < no ? (q + 1) * ch : no;
        for (i64 r = q * ch; r < hi; ++r) {
          i64 off[N];
          d.offsets(R, nr - 1, r, off);
          const char* p[N];
          for (int k = 0; k < N; ++k) p[k] = base[k] + off[k];
          acc = Op::combine(acc, detail::line<Op>(m, c, p, sl, 0, nl));
        }
        part[q] = acc;
      }
    }
    *reinterpret_cast<T*>(outp) = nch == 0 ? Op::identity() : detail::tree<Op>(part, nch);
    return;
  }

  if (d.red[nd - 1]) {  // innermost dim reduced: one line reduction per output element
    const int rl = R[nr - 1];
    const i64 nl = d.n[rl], no = d.count(R, nr - 1), nout = d.count(K, nk);
    const i64* sl = d.s[rl];
    const bool c = m.unit(sl);
    const bool par = detail::go_parallel(total, nout, min_parallel);
#pragma omp parallel for schedule(static) if (par)
    for (i64 o = 0; o < nout; ++o) {
      i64 off[N], roff[N];
      d.offsets(K, nk, o, off);
      T acc = Op::start();
      for (i64 r = 0; r < no; ++r) {
        d.offsets(R, nr - 1, r, roff);
        const char* p[N];
        for (int k = 0; k < N; ++k) p[k] = base[k] + off[k] + roff[k];
        const T v = nl == 0 ? Op::identity() : detail::line<Op>(m, c, p, sl, 0, nl);
        acc = r == 0 ? v : Op::combine(acc, v);
      }
      *reinterpret_cast<T*>(outp + off[NI]) = no == 0 ? Op::identity() : acc;
    }
    return;
  }

  // Innermost dim kept: rows accumulate into a tile of outputs, in blocks of 64 rows whose
  // partial sums are added to the tile (more accurate than NumPy's row-by-row sum).
  constexpr i64 W = 256, BR = 64;
  const int kl = K[nk - 1];
  const i64 nm = d.n[kl], ntiles = (nm + W - 1) / W, nout = d.count(K, nk - 1);
  const i64 nrows = d.count(R, nr);
  const i64* sm = d.s[kl];
  const bool c = m.unit(sm);
  const bool par = detail::go_parallel(total, nout * ntiles, min_parallel);
#pragma omp parallel for schedule(static) if (par)
  for (i64 it = 0; it < nout * ntiles; ++it) {
    const i64 o = it / ntiles, j0 = (it % ntiles) * W;
    const i64 w = nm - j0 < W ? nm - j0 : W;
    i64 off[N], roff[N];
    d.offsets(K, nk - 1, o, off);
    T acc[W], tmp[W];
    for (i64 j = 0; j < w; ++j) acc[j] = Op::start();
    for (i64 r0 = 0; r0 < nrows; r0 += BR) {
      for (i64 j = 0; j < w; ++j) tmp[j] = Op::start();
      const i64 r1 = r0 + BR < nrows ? r0 + BR : nrows;
      for (i64 r = r0; r < r1; ++r) {
        d.offsets(R, nr, r, roff);
        const char* p[N];
        for (int k = 0; k < N; ++k) p[k] = base[k] + off[k] + roff[k];
        if (c) {
          for (i64 j = 0; j < w; ++j) tmp[j] = Op::combine(tmp[j], m.template get<true>(p, sm, j0 + j));
        } else {
          for (i64 j = 0; j < w; ++j) tmp[j] = Op::combine(tmp[j], m.template get<false>(p, sm, j0 + j));
        }
      }
      for (i64 j = 0; j < w; ++j) acc[j] = Op::combine(acc[j], tmp[j]);
    }
    for (i64 j = 0; j < w; ++j) {
      *reinterpret_cast<T*>(outp + off[NI] + (j0 + j) * sm[NI]) =
          nrows == 0 ? Op::identity() : acc[j];
    }
  }
}

// Convenience: reduce one array x (element type In) into out (element type Op::type).
template <class Op, class In>
void reduce_array(int ndim, const i64* shape, const char* x, const i64* x_strides, char* out,
                  const i64* out_strides, const bool* reduced,
                  i64 min_parallel = kReduceMinParallel) {
  const char* in[1] = {x};
  const i64* st[1] = {x_strides};
  reduce<Op>(CastMap<In, typename Op::type>{}, ndim, shape, in, st, out, out_strides, reduced,
             min_parallel);
}

// Index (int64, C order over the reduced dims) of the first maximum (Max) or minimum of x
// over the reduced dims; the first NaN wins, as in NumPy. Returns false when a reduced dim is
// empty and there is an output element (NumPy raises; the caller checks first).
template <class T, bool Max>
bool argreduce(int ndim, const i64* shape, const char* x, const i64* x_strides, char* out,
               const i64* out_strides, const bool* reduced,
               i64 min_parallel = kReduceMinParallel) {
  detail::Dims<2> d;
  bool empty = false;
  for (int a = 0; a < ndim; ++a) {
    if (shape[a] == 0) {
      if (!reduced[a]) return true;
      empty = true;
    }
    if (shape[a] == 1) continue;
    const int b = d.nd++;
    d.n[b] = shape[a];
    d.red[b] = reduced[a];
    d.s[b][0] = x_strides[a];
    d.s[b][1] = reduced[a] ? 0 : out_strides[a];
  }
  if (empty) return false;
  // Only neighbours in logical order merge, so the C-order index is unchanged.
  int nd = 0;
  for (int b = 0; b < d.nd; ++b) {
    const bool merge = nd > 0 && d.red[nd - 1] == d.red[b] &&
                       d.s[nd - 1][0] == d.s[b][0] * d.n[b] &&
                       d.s[nd - 1][1] == d.s[b][1] * d.n[b];
    if (merge) {
      d.n[nd - 1] *= d.n[b];
      d.s[nd - 1][0] = d.s[b][0];
      d.s[nd - 1][1] = d.s[b][1];
    } else {
      d.n[nd] = d.n[b];
      d.red[nd] = d.red[b];
      d.s[nd][0] = d.s[b][0];
      d.s[nd][1] = d.s[b][1];
      ++nd;
    }
  }
  int K[kMaxReduceDims], R[kMaxReduceDims + 1], nk = 0, nr = 0;
  for (int b = 0; b < nd; ++b) (d.red[b] ? R[nr++] : K[nk++]) = b;
  if (nr == 0) {
    d.n[nd] = 1;
    d.s[nd][0] = d.s[nd][1] = 0;
    R[nr++] = nd++;
  }
  const int rl = R[nr - 1];
  const i64 nl = d.n[rl], sl = d.s[rl][0], no = d.count(R, nr - 1), nout = d.count(K, nk);
  const bool par = detail::go_parallel(nout * no * nl, nout, min_parallel);
#pragma omp parallel for schedule(static) if (par)
  for (i64 o = 0; o < nout; ++o) {
    i64 off[2], roff[2];
    d.offsets(K, nk, o, off);
    const char* p0 = x + off[0];
    T best = *reinterpret_cast<const T*>(p0);
    i64 bi = 0;
    if (best == best) {
      for (i64 r = 0; r < no; ++r) {
        d.offsets(R, nr - 1, r, roff);
        const char* p = p0 + roff[0];
        i64 i = 0;
        for (; i < nl; ++i) {
          const T v = rd<T, false>(p, sl, i);
          if (Max ? v > best : v < best) {
            best = v;
            bi = r * nl + i;
          } else if (v != v) {
            break;
          }
        }
        if (i < nl) {
          bi = r * nl + i;
          break;
        }
      }
    }
    *reinterpret_cast<i64*>(out + off[1]) = bi;
  }
  return true;
}

}  // namespace symcomp
