// symcomp/construct.hpp: the kernels of the structural and constructor ops (Reshape,
// Concatenate, Split, Repeat, RepeatSum, Tile, ARange, Eye, MakeVector).
//
// Most of them are one strided N-d copy: `copy<Src, Dst>` writes every element of a box of
// lengths dims, read at byte strides ss from src and written at byte strides ds to dst,
// converted as static_cast<Dst> (NumPy's astype for the safe casts Concatenate needs). A copy
// without conversion uses an unsigned type of the dtype's item size (Bytes<N>), so it is a
// bit-exact move for every dtype (float16, complex, bool included). A source stride of 0
// broadcasts, which is how Tile and Repeat are written as single copies.
//
// The kernels touch no Python object (they may run without the GIL); the helpers at the end
// use NumPy's C API and run with the GIL held. Included after symcomp/module.hpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>

namespace symcomp {
namespace construct {

using i64 = npy_intp;  // NumPy's index type, so dims and strides pass without copies

// Twice NumPy's NPY_MAXDIMS (64): Tile splits each dim into (repeat, length).
constexpr int kMaxDims = 128;

// An item of N bytes, copied as a whole.
template <int N>
struct Bytes {
  unsigned char b[N];
};
template <>
struct Bytes<1> {
  std::uint8_t v;
};
template <>
struct Bytes<2> {
  std::uint16_t v;
};
template <>
struct Bytes<4> {
  std::uint32_t v;
};
template <>
struct Bytes<8> {
  std::uint64_t v;
};

// The box without its length-1 dims, with neighbouring dims merged where both sides step
// through them as through one dim; the new number of dims, or -1 when the box is empty.
inline int simplify(int nd, const i64* dims, const i64* ss, const i64* ds, i64* n, i64* a,
                    i64* b) {
  int k = 0;
  for (int d = 0; d < nd; ++d) {
    if (dims[d] == 0) return -1;
    if (dims[d] == 1) continue;
    if (k > 0 && a[k - 1] == ss[d] * dims[d] && b[k - 1] == ds[d] * dims[d]) {
      n[k - 1] *= dims[d];
      a[k - 1] = ss[d];
      b[k - 1] = ds[d];
      continue;
    }
    n[k] = dims[d];
    a[k] = ss[d];
    b[k] = ds[d];
    ++k;
  }
  return k;
}

// dst[i * b] = Dst(src[i * a]) for i < n.
template <class Src, class Dst>
inline void line(const char* src, i64 a, char* dst, i64 b, i64 n) {
  if constexpr (std::is_same<Src, Dst>::value) {
    if (a == static_cast<i64>(sizeof(Src)) && b == a) {
      std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(Src));
      return;
    }
    if (a == 0) {
      const Src v = *reinterpret_cast<const Src*>(src);
      for (i64 i = 0; i < n; ++i) *reinterpret_cast<Src*>(dst + i * b) = v;
      return;
    }
  }
  if (a == static_cast<i64>(sizeof(Src)) && b == static_cast<i64>(sizeof(Dst))) {
    const Src* s = reinterpret_cast<const Src*>(src);
    Dst* d = reinterpret_cast<Dst*>(dst);
    for (i64 i = 0; i < n; ++i) d[i] = static_cast<Dst>(s[i]);
    return;
  }
  for (i64 i = 0; i < n; ++i) {
    const Src v = *reinterpret_cast<const Src*>(src + i * a);
    *reinterpret_cast<Dst*>(dst + i * b) = static_cast<Dst>(v);
  }
}

// The strided N-d copy (see the top of this file); nd <= kMaxDims.
template <class Src, class Dst>
void copy(int nd, const i64* dims, const char* src, const i64* ss, char* dst, const i64* ds) {
  i64 n[kMaxDims], a[kMaxDims], b[kMaxDims], idx[kMaxDims];
  const int k = simplify(nd, dims, ss, ds, n, a, b);
  if (k < 0) return;
  if (k == 0) {
    line<Src, Dst>(src, 0, dst, 0, 1);
    return;
  }
  for (int d = 0; d < k; ++d) idx[d] = 0;
  for (;;) {
    line<Src, Dst>(src, a[k - 1], dst, b[k - 1], n[k - 1]);
    int d = k - 2;
    for (; d >= 0; --d) {
      src += a[d];
      dst += b[d];
      if (++idx[d] < n[d]) break;
      src -= a[d] * n[d];
      dst -= b[d] * n[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

// C-order byte strides of a fresh array of these dims.
inline void c_strides(int nd, const i64* dims, i64 itemsize, i64* strides) {
  i64 s = itemsize;
  for (int d = nd - 1; d >= 0; --d) {
    strides[d] = s;
    s *= dims[d] > 0 ? dims[d] : 1;
  }
}

// The byte strides of the old array's data seen with the new dims (equal sizes), as
// numpy.reshape's no-copy path: true when they exist. Each group of old dims whose product
// is the product of a group of new dims must step through memory as one C-ordered block.
inline bool reshape_strides(int ond, const i64* odims, const i64* ostrides, int nnd,
                            const i64* ndims, i64 itemsize, i64* nstrides) {
  i64 od[kMaxDims], os[kMaxDims];
  int on = 0;
  i64 size = 1;
  for (int d = 0; d < ond; ++d) {
    size *= odims[d];
    if (odims[d] != 1) od[on] = odims[d], os[on++] = ostrides[d];
  }
  if (size == 0) {  // nothing is read: any strides do
    c_strides(nnd, ndims, itemsize, nstrides);
    return true;
  }
  int oi = 0, ni = 0;
  while (ni < nnd && oi < on) {
    int oj = oi + 1, nj = ni + 1;
    i64 np = ndims[ni], op = od[oi];
    while (np != op) {
      if (np < op) {
        np *= ndims[nj++];
      } else {
        op *= od[oj++];
      }
    }
    for (int ok = oi; ok + 1 < oj; ++ok) {
      if (os[ok] != od[ok + 1] * os[ok + 1]) return false;
    }
    nstrides[nj - 1] = os[oj - 1];
    for (int nk = nj - 1; nk > ni; --nk) nstrides[nk - 1] = nstrides[nk] * ndims[nk];
    ni = nj;
    oi = oj;
  }
  for (; ni < nnd; ++ni) nstrides[ni] = itemsize;  // trailing length-1 dims
  return true;
}

// Whether v (an integer, or a float truncated as Python's int() does) fits the integer type T:
// NumPy raises OverflowError when arange's first two values do not.
template <class T, class V>
inline bool fits(V v) {
  if constexpr (std::is_floating_point<V>::value) {
    const double t = std::trunc(static_cast<double>(v));
    return t >= static_cast<double>(std::numeric_limits<T>::min()) &&
           t < static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
  } else {
    return v >= static_cast<V>(std::numeric_limits<T>::min()) &&
           v <= static_cast<V>(std::numeric_limits<T>::max());
  }
}

// numpy.arange's values: out[0] = first, out[1] = second (both already in T), and
// out[i] = first + i * (second - first) in T's own arithmetic, as NumPy's fill functions:
// a multiply and an add, never contracted into one fused multiply-add (which rounds once
// and so differs from NumPy in the last bit).
#if defined(__clang__)
#define SC_NO_FP_CONTRACT
#elif defined(__GNUC__)
#define SC_NO_FP_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define SC_NO_FP_CONTRACT
#endif
template <class T>
SC_NO_FP_CONTRACT void arange_fill(T* out, i64 n, T first, T second) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  if (n > 0) out[0] = first;
  if (n > 1) out[1] = second;
  const T delta = static_cast<T>(second - first);
  for (i64 i = 2; i < n; ++i) out[i] = static_cast<T>(first + i * delta);
}

// numpy.repeat along `axis` with a count per entry: src has dims/ss, dst (byte strides ds)
// the same dims but the sum of the counts along the axis; the count of entry j is read at
// counts + j * cstep. Entry j fills the next run of count_j entries of dst.
template <class Item, class Count>
void repeat(int nd, const i64* dims, int axis, const char* src, const i64* ss, char* dst,
            const i64* ds, const char* counts, i64 cstep) {
  i64 box[kMaxDims], bs[kMaxDims];
  for (int d = 0; d < nd; ++d) box[d] = dims[d], bs[d] = ss[d];
  const i64 n = dims[axis];
  bs[axis] = 0;  // each entry is broadcast along its run of copies
  for (i64 j = 0; j < n; ++j) {
    box[axis] = static_cast<i64>(*reinterpret_cast<const Count*>(counts + j * cstep));
    copy<Item, Item>(nd, box, src + j * ss[axis], bs, dst, ds);
    dst += box[axis] * ds[axis];
  }
}

// numpy.repeat along `axis` with one count for every entry: one copy whose box splits the
// axis into (entry, copy), the copies reading the entry through a stride of 0.
template <class Item>
void repeat_uniform(int nd, const i64* dims, int axis, i64 count, const char* src, const i64* ss,
                    char* dst, const i64* ds) {
  i64 box[kMaxDims], bs[kMaxDims], bd[kMaxDims];
  int k = 0;
  for (int d = 0; d < nd; ++d, ++k) {
    box[k] = dims[d];
    bs[k] = ss[d];
    bd[k] = d == axis ? ds[d] * count : ds[d];
    if (d == axis) ++k, box[k] = count, bs[k] = 0, bd[k] = ds[d];
  }
  copy<Item, Item>(k, box, src, bs, dst, bd);
}

// numpy.tile: out (C-ordered, dims[d] * reps[d] along d) from x of dims/ss (already padded
// to nd dims), as one copy of the box (reps[0], dims[0], reps[1], dims[1], ...).
template <class Item>
void tile(int nd, const i64* dims, const i64* reps, const char* src, const i64* ss, char* dst,
          const i64* ds) {
  i64 box[kMaxDims], bs[kMaxDims], bd[kMaxDims];
  for (int d = 0; d < nd; ++d) {
    box[2 * d] = reps[d], bs[2 * d] = 0, bd[2 * d] = dims[d] * ds[d];
    box[2 * d + 1] = dims[d], bs[2 * d + 1] = ss[d], bd[2 * d + 1] = ds[d];
  }
  copy<Item, Item>(2 * nd, box, src, bs, dst, bd);
}

// numpy.arange's length from q = (stop - start) / step: ceil(q), at least 0; -1 when q is NaN
// and -2 when the length does not fit an npy_intp (NumPy's two errors).
inline i64 arange_length(double q) {
  if (std::isnan(q)) return -1;
  const double c = std::ceil(q);
  if (!(c > -9.2233720368547758e18 && c < 9.2233720368547758e18)) return -2;
  return c > 0 ? static_cast<i64>(c) : 0;
}

// The adjoint of repeat on a C-contiguous g of shape (outer, total, inner): out (outer, n,
// inner), zero-filled by the caller, gets out[o, j] += g[o, r] for each r in entry j's run,
// in order (as numpy.add.at).
template <class T, class Count>
void repeat_sum(const T* g, T* out, i64 outer, i64 total, i64 n, i64 inner, const char* counts,
                i64 cstep) {
  for (i64 o = 0; o < outer; ++o) {
    const T* row = g + o * total * inner;
    T* orow = out + o * n * inner;
    for (i64 j = 0; j < n; ++j) {
      const i64 c = static_cast<i64>(*reinterpret_cast<const Count*>(counts + j * cstep));
      T* acc = orow + j * inner;
      for (i64 r = 0; r < c; ++r, row += inner) {
        for (i64 i = 0; i < inner; ++i) acc[i] = static_cast<T>(acc[i] + row[i]);
      }
    }
  }
}

// "[2, 1, 3]" into buf: n integers read at byte stride step as T.
template <class T>
void list_text(char* buf, std::size_t size, const char* p, i64 n, i64 step) {
  std::size_t used = std::snprintf(buf, size, "[");
  for (i64 i = 0; i < n && used < size; ++i) {
    const long long v = static_cast<long long>(*reinterpret_cast<const T*>(p + i * step));
    used += std::snprintf(buf + used, size - used, i + 1 < n ? "%lld, " : "%lld", v);
  }
  if (used < size) std::snprintf(buf + used, size - used, "]");
}

// The value of a 0-d array holding a T, as a V.
template <class T, class V = i64>
inline V scalar(PyArrayObject* a) {
  return static_cast<V>(*reinterpret_cast<const T*>(PyArray_DATA(a)));
}

// A fresh C-ordered array (NumPy's allocator).
inline PyArrayObject* empty(int nd, const i64* dims, int typenum, bool zero = false) {
  i64* d = const_cast<i64*>(dims);
  PyObject* a = zero ? PyArray_ZEROS(nd, d, typenum, 0) : PyArray_EMPTY(nd, d, typenum, 0);
  return reinterpret_cast<PyArrayObject*>(a);
}

}  // namespace construct
}  // namespace symcomp
