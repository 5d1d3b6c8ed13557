// Basic indexing (Subtensor, IncSubtensor): ints, slices and newaxis with NumPy's rules.
// basic_index() gives the view's layout (as NumPy's get_view_from_index computes it);
// update_subtensor() writes or adds a value, broadcast, into that region.
#pragma once

#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

namespace sc {

enum : int { kIndexInt = 0, kIndexSlice = 1, kIndexNewaxis = 2 };

// One entry of a basic index: its kind and which slice parts are given (None otherwise).
// Its values are three npy_intp per entry: the int, or start, stop, step.
struct IndexEntry {
  int kind;
  bool has_start, has_stop, has_step;
};

// An index component held in a 0-d integer array. A uint64 past the npy_intp range
// saturates: a slice clips it anyway, and an int index that large is out of bounds.
template <typename T>
inline npy_intp index_value(PyArrayObject* a) {
  const T v = *reinterpret_cast<const T*>(PyArray_DATA(a));
  if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(npy_intp)) {
    if (v > static_cast<T>(NPY_MAX_INTP)) return NPY_MAX_INTP;
  }
  return static_cast<npy_intp>(v);
}

// "1, 2:5, ::-1, None": the index as the Python implementation's messages spell it.
inline void index_text(char* buf, std::size_t size, const IndexEntry* e, int n,
                       const npy_intp* values) {
  std::size_t used = 0;
  buf[0] = '\0';
  auto put = [&](const char* fmt, long long v) {
    if (used < size) used += std::snprintf(buf + used, size - used, fmt, v);
  };
  for (int k = 0; k < n; ++k) {
    const npy_intp* v = values + 3 * k;
    if (k > 0) put(", ", 0);
    if (e[k].kind == kIndexInt) {
      put("%lld", v[0]);
    } else if (e[k].kind == kIndexNewaxis) {
      put("None", 0);
    } else {
      if (e[k].has_start) put("%lld", v[0]);
      put(":", 0);
      if (e[k].has_stop) put("%lld", v[1]);
      if (e[k].has_step) {
        put(":", 0);
        put("%lld", v[2]);
      }
    }
  }
}

// A slice bound as Python's slice.indices() normalizes it: negative counts from n, then
// clipped to [0, n] (step > 0) or [-1, n - 1] (step < 0).
inline npy_intp slice_bound(npy_intp i, npy_intp n, bool negative) {
  if (i < 0) {
    i += n;
    return i < 0 ? (negative ? -1 : 0) : i;
  }
  return i >= n ? (negative ? n - 1 : n) : i;
}

// The layout of x[index] (n entries): dims and byte strides of the view, and the byte
// offset of its first element; dims past the index are kept whole. 0, or -1 with an
// IndexError (an int out of bounds) or ValueError (a zero step) naming `op`.
inline int basic_index(PyArrayObject* x, const IndexEntry* e, int n, const npy_intp* values,
                       const char* op, npy_intp* dims, npy_intp* strides, npy_intp* offset) {
  const int nd = PyArray_NDIM(x);
  const npy_intp* xdims = PyArray_DIMS(x);
  const npy_intp* xstrides = PyArray_STRIDES(x);
  int d = 0, o = 0;
  *offset = 0;
  for (int k = 0; k < n; ++k) {
    const npy_intp* v = values + 3 * k;
    if (e[k].kind == kIndexNewaxis) {
      dims[o] = 1;
      strides[o++] = 0;
      continue;
    }
    const npy_intp len = xdims[d];
    if (e[k].kind == kIndexInt) {
      const npy_intp i = v[0] < 0 ? v[0] + len : v[0];
      if (i < 0 || i >= len) {
        char text[512], shape[256];
        index_text(text, sizeof text, e, n, values);
        shape_text(shape, sizeof shape, xdims, nd);
        PyErr_Format(PyExc_IndexError,
                     "%s: index [%s] is out of bounds for an array of shape %s (index %lld "
                     "is out of bounds for axis %d with size %lld)",
                     op, text, shape, static_cast<long long>(v[0]), d,
                     static_cast<long long>(len));
        return -1;
      }
      *offset += i * xstrides[d++];
      continue;
    }
    npy_intp step = e[k].has_step ? v[2] : 1;
    if (step == 0) {
      PyErr_Format(PyExc_ValueError, "%s: slice step cannot be zero", op);
      return -1;
    }
    if (step < -NPY_MAX_INTP) step = -NPY_MAX_INTP;  // so that -step cannot overflow
    const bool negative = step < 0;
    const npy_intp start = e[k].has_start ? slice_bound(v[0], len, negative)
                                          : (negative ? len - 1 : 0);
    const npy_intp stop = e[k].has_stop ? slice_bound(v[1], len, negative)
                                        : (negative ? -1 : len);
    npy_intp count = 0;
    if (negative ? stop < start : start < stop) {
      count = negative ? (start - stop - 1) / -step + 1 : (stop - start - 1) / step + 1;
    }
    // NumPy points an empty slice at the dim's start, with the dim's own stride. (A step
    // so large that its stride overflows leaves one element, whose stride is never used.)
    npy_intp stride = xstrides[d];
    if (count > 0 && __builtin_mul_overflow(xstrides[d], step, &stride)) stride = xstrides[d];
    dims[o] = count;
    strides[o++] = stride;
    if (count > 0) *offset += start * xstrides[d];
    ++d;
  }
  for (; d < nd; ++d, ++o) {
    dims[o] = xdims[d];
    strides[o] = xstrides[d];
  }
  return 0;
}

// A C-ordered copy of x from NumPy's allocator (what x.copy() gives).
inline PyArrayObject* copy_of(PyArrayObject* x) {
  return reinterpret_cast<PyArrayObject*>(PyArray_NewCopy(x, NPY_CORDER));
}

// x itself (a new reference): the target of an op that destroys its input; nullptr with a
// ValueError when x is read-only.
inline PyArrayObject* same(PyArrayObject* x) {
  if (!PyArray_ISWRITEABLE(x)) {
    PyErr_SetString(PyExc_ValueError, "assignment destination is read-only");
    return nullptr;
  }
  Py_INCREF(x);
  return x;
}

// Raw items of N bytes: assignment of dtypes the kernels do not compute (float16, complex).
template <std::size_t N>
struct Bytes {
  unsigned char b[N];
};

// A float16 item; arithmetic goes through float, as NumPy's float16 loops compute.
struct Half {
  std::uint16_t bits;
};

inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
  if (exp == 0x1fu) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf, NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // a subnormal half is a normal float: normalize its significand
    for (exp = 113; !(mant & 0x400u); mant <<= 1) --exp;
    bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// float -> float16 rounded to nearest even (overflow gives inf; NaN stays NaN).
inline std::uint16_t float_to_half(float value) {
  std::uint32_t f;
  std::memcpy(&f, &value, sizeof f);
  const std::uint32_t sign = (f & 0x80000000u) >> 16, exp = f & 0x7f800000u;
  std::uint32_t sig = f & 0x007fffffu;
  if (exp >= 0x47800000u) {  // out of range, inf or NaN
    if (exp == 0x7f800000u && sig != 0) {
      const std::uint32_t nan = 0x7c00u + (sig >> 13);
      return static_cast<std::uint16_t>(sign + (nan == 0x7c00u ? nan + 1 : nan));
    }
    return static_cast<std::uint16_t>(sign + 0x7c00u);
  }
  if (exp <= 0x38000000u) {  // a subnormal half or a signed zero
    if (exp < 0x33000000u) return static_cast<std::uint16_t>(sign);
    sig = (0x00800000u + sig) >> (113 - (exp >> 23));
    // Round half to even; the bits the shift dropped count as "above half".
    if ((sig & 0x3fffu) != 0x1000u || (f & 0x7ffu)) sig += 0x1000u;
    return static_cast<std::uint16_t>(sign + (sig >> 13));
  }
  if ((sig & 0x3fffu) != 0x1000u) sig += 0x1000u;  // round half to even
  // A carry out of the significand bumps the exponent (to inf at most): still correct.
  return static_cast<std::uint16_t>(sign + ((exp - 0x38000000u) >> 13) + (sig >> 13));
}

// dst = src.
template <typename T>
struct Assign {
  using type = T;
  static void apply(T& dst, const T& src) { dst = src; }
};

// dst += src as NumPy adds: bool is logical or, integers wrap around.
template <typename T>
struct Accumulate {
  using type = T;
  static void apply(T& dst, const T& src) {
    if constexpr (std::is_same_v<T, bool>) {
      dst = dst || src;
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      using U = std::make_unsigned_t<T>;
      dst = static_cast<T>(static_cast<U>(dst) + static_cast<U>(src));
    } else {
      dst = static_cast<T>(dst + src);
    }
  }
};

template <>
struct Accumulate<Half> {
  using type = Half;
  static void apply(Half& dst, const Half& src) {
    dst.bits = float_to_half(half_to_float(dst.bits) + half_to_float(src.bits));
  }
};

// Op::apply(dst[i], src[i]) over an nd-dim strided region (src strides are 0 along
// broadcast dims); rows of the last dim, with a contiguous fast path.
template <class Op>
inline void update_region(char* dst, const char* src, int nd, const npy_intp* dims,
                          const npy_intp* dst_strides, const npy_intp* src_strides) {
  using T = typename Op::type;
  npy_intp rows = 1;
  for (int d = 0; d + 1 < nd; ++d) rows *= dims[d];
  const npy_intp n = nd > 0 ? dims[nd - 1] : 1;
  if (rows == 0 || n == 0) return;
  const npy_intp ds = nd > 0 ? dst_strides[nd - 1] : 0;
  const npy_intp ss = nd > 0 ? src_strides[nd - 1] : 0;
  npy_intp counter[NPY_MAXDIMS] = {};
  for (npy_intp r = 0; r < rows; ++r) {
    if (ds == sizeof(T) && ss == sizeof(T)) {
      T* __restrict d = reinterpret_cast<T*>(dst);
      const T* __restrict s = reinterpret_cast<const T*>(src);
      for (npy_intp i = 0; i < n; ++i) Op::apply(d[i], s[i]);
    } else if (ss == 0) {
      const T s = *reinterpret_cast<const T*>(src);
      for (npy_intp i = 0; i < n; ++i) Op::apply(*reinterpret_cast<T*>(dst + i * ds), s);
    } else {
      for (npy_intp i = 0; i < n; ++i) {
        Op::apply(*reinterpret_cast<T*>(dst + i * ds),
                  *reinterpret_cast<const T*>(src + i * ss));
      }
    }
    // Next row: an odometer over dims [0, nd - 1).
    for (int d = nd - 2; d >= 0; --d) {
      dst += dst_strides[d];
      src += src_strides[d];
      if (++counter[d] < dims[d]) break;
      counter[d] = 0;
      dst -= dst_strides[d] * dims[d];
      src -= src_strides[d] * dims[d];
    }
  }
}

// The byte range [lo, hi) an array's elements occupy.
inline void memory_bounds(PyArrayObject* a, const char** lo, const char** hi) {
  const char* start = PyArray_BYTES(a);
  const char* end = start;
  for (int d = 0; d < PyArray_NDIM(a); ++d) {
    const npy_intp span = (PyArray_DIMS(a)[d] - 1) * PyArray_STRIDES(a)[d];
    if (PyArray_DIMS(a)[d] == 0) {
      *lo = *hi = start;
      return;
    }
    (span < 0 ? start : end) += span;
  }
  *lo = start;
  *hi = end + PyArray_ITEMSIZE(a);
}

// target[region] op= y, y broadcast to the region (nd dims, byte strides, at byte `offset`
// of target's data). A y sharing memory with target is copied first. 0, or -1 with a
// ValueError naming `op` when y does not broadcast.
template <class Op>
inline int update_subtensor(PyArrayObject* target, npy_intp offset, int nd, const npy_intp* dims,
                            const npy_intp* strides, PyArrayObject* y, const char* op,
                            npy_intp nogil_minsize) {
  const int ny = PyArray_NDIM(y);
  npy_intp ystrides[NPY_MAXDIMS] = {};
  bool ok = ny <= nd;
  for (int k = 0; ok && k < ny; ++k) {
    const npy_intp n = PyArray_DIMS(y)[k], want = dims[nd - ny + k];
    ok = n == want || n == 1;
    ystrides[nd - ny + k] = n == 1 ? 0 : PyArray_STRIDES(y)[k];
  }
  if (!ok) {
    char got[256], region[256], shape[256];
    shape_text(got, sizeof got, PyArray_DIMS(y), ny);
    shape_text(region, sizeof region, dims, nd);
    shape_text(shape, sizeof shape, PyArray_DIMS(target), PyArray_NDIM(target));
    PyErr_Format(PyExc_ValueError,
                 "%s: cannot broadcast a value of shape %s to the indexed shape %s (of an "
                 "array of shape %s)", op, got, region, shape);
    return -1;
  }
  npy_intp size = 1;
  for (int d = 0; d < nd; ++d) size *= dims[d];
  if (size == 0) return 0;
  PyArrayObject* source = y;
  const char *tlo, *thi, *ylo, *yhi;
  memory_bounds(target, &tlo, &thi);
  memory_bounds(y, &ylo, &yhi);
  if (ylo < thi && tlo < yhi) {  // y may overlap what is written: read from a copy
    source = copy_of(y);
    if (source == nullptr) return -1;
    for (int k = 0; k < ny; ++k) {
      if (PyArray_DIMS(y)[k] != 1) ystrides[nd - ny + k] = PyArray_STRIDES(source)[k];
    }
  } else {
    Py_INCREF(source);
  }
  {
    NoGil nogil(size >= nogil_minsize);
    update_region<Op>(PyArray_BYTES(target) + offset, PyArray_BYTES(source), nd, dims, strides,
                      ystrides);
  }
  Py_DECREF(source);
  return 0;
}

}  // namespace sc
