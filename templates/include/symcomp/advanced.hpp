// Advanced indexing with NumPy's rules (integer arrays of any int dtype, boolean masks,
// ints, slices and newaxis): the plan of an index against an array, and the gather, scatter
// and last-write kernels over it (AdvancedSubtensor, AdvancedIncSubtensor, LastWriteMask);
// nonzero.
//
// A plan describes the indexed result x[idx] as "virtual dims": the result's dims, with the
// dims of the broadcast index arrays (the advanced block) merged into one. Each virtual dim
// holds a table of offsets into x, one per position along it (a slice's table is
// i * step * stride; the block's is the sum of every index array's contribution), so one
// loop nest serves every index. Every index value is checked while the block's table is
// built, so the kernels never read or write out of bounds.
#pragma once

#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

namespace symcomp::advanced {

enum Kind : int { INT, SLICE, NEWAXIS, ARRAY, MASK };
enum SliceFlags : int { HAS_START = 1, HAS_STOP = 2, HAS_STEP = 4 };

// One entry of the index, after Python expanded Ellipsis and the trailing dims into full
// slices.
struct Entry {
  int kind;
  int dim;                // the first dim of x it indexes
  npy_intp start;         // INT: the index; SLICE: its start
  npy_intp stop;          // SLICE
  npy_intp step;          // SLICE
  int flags;              // SLICE: which of start, stop and step are given
  PyArrayObject* array;   // ARRAY (any int dtype) or MASK (bool)
};

enum Code : int { OK, OUT_OF_BOUNDS, MASK_MISMATCH, INDEX_BROADCAST, STEP_ZERO, VALUE_BROADCAST };

// What went wrong, for the node's error message.
struct Problem {
  int code = OK;
  long long value = 0;  // OUT_OF_BOUNDS: the index
  int axis = 0;         // the dim of x
  npy_intp size = 0;    // its length
  npy_intp other = 0;   // MASK_MISMATCH: the mask's length
  char text[512] = "";  // x's shape, or the shapes that do not broadcast
  char text2[256] = "";
};

struct Plan {
  int nd = 0;  // the indexed result's shape
  npy_intp dims[NPY_MAXDIMS];
  int nv = 0;  // virtual dims
  npy_intp vlen[NPY_MAXDIMS];
  int vdim[NPY_MAXDIMS];  // the first result dim of each virtual dim
  int block = -1;         // the virtual dim of the advanced block
  int nb = 0;             // how many result dims the block spans
  npy_intp base = 0;      // offset of the ints' and slice starts' element
  std::vector<npy_intp> table[NPY_MAXDIMS];

  npy_intp size() const {
    npy_intp n = 1;
    for (int d = 0; d < nd; ++d) n *= dims[d];
    return n;
  }
};

// f(idx, offset) for each element of an nd array in C order (idx: its coordinates, offset:
// sum idx * strides); f returns false to stop. Returns false when stopped.
template <class F>
inline bool walk(int nd, const npy_intp* dims, const npy_intp* strides, F&& f) {
  npy_intp total = 1;
  for (int d = 0; d < nd; ++d) total *= dims[d];
  npy_intp idx[NPY_MAXDIMS] = {};
  npy_intp off = 0;
  for (npy_intp p = 0; p < total; ++p) {
    if (!f(static_cast<const npy_intp*>(idx), off)) return false;
    for (int d = nd - 1; d >= 0; --d) {
      if (++idx[d] < dims[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (dims[d] - 1);
      idx[d] = 0;
    }
  }
  return true;
}

// An index array's value as an index into a dim of length n (negative ones count from the
// end); false, with the raw value in *bad, when out of range.
template <class I>
inline bool load(const char* p, npy_intp n, npy_intp* v, long long* bad) {
  const I raw = *reinterpret_cast<const I*>(p);
  if constexpr (std::is_signed_v<I>) {
    npy_intp i = static_cast<npy_intp>(raw);
    if (i < 0) i += n;
    if (i < 0 || i >= n) {
      *bad = static_cast<long long>(raw);
      return false;
    }
    *v = i;
  } else {
    if (static_cast<unsigned long long>(raw) >= static_cast<unsigned long long>(n)) {
      *bad = static_cast<long long>(raw);
      return false;
    }
    *v = static_cast<npy_intp>(raw);
  }
  return true;
}

// A contribution to the advanced block: an index array, or a mask's pre-multiplied offsets.
struct Source {
  const char* data;
  int nd;
  npy_intp dims[NPY_MAXDIMS];
  npy_intp strides[NPY_MAXDIMS];
  char kind;     // 'i' / 'u': an index array of that kind; 'o': npy_intp offsets
  int itemsize;  // of an index array
  int axis;      // the dim of x it indexes
};

template <class I>
inline bool add_index(std::vector<npy_intp>& table, const Source& s, int nb,
                      const npy_intp* bdims, const npy_intp* bstrides, npy_intp n,
                      npy_intp xstride, Problem& pr) {
  npy_intp p = 0;
  long long bad = 0;
  const bool ok = walk(nb, bdims, bstrides, [&](const npy_intp*, npy_intp off) {
    npy_intp v;
    if (!load<I>(s.data + off, n, &v, &bad)) return false;
    table[p++] += v * xstride;
    return true;
  });
  if (!ok) {
    pr.code = OUT_OF_BOUNDS;
    pr.value = bad;
    pr.axis = s.axis;
    pr.size = n;
  }
  return ok;
}

inline bool add_source(std::vector<npy_intp>& table, const Source& s, int nb,
                       const npy_intp* bdims, const npy_intp* xdims, const npy_intp* xstrides,
                       Problem& pr) {
  npy_intp bstrides[NPY_MAXDIMS];
  for (int d = 0; d < nb; ++d) {
    const int k = d - (nb - s.nd);
    bstrides[d] = (k < 0 || s.dims[k] == 1) ? 0 : s.strides[k];
  }
  if (s.kind == 'o') {
    npy_intp p = 0;
    walk(nb, bdims, bstrides, [&](const npy_intp*, npy_intp off) {
      table[p++] += *reinterpret_cast<const npy_intp*>(s.data + off);
      return true;
    });
    return true;
  }
  const npy_intp n = xdims[s.axis], xs = xstrides[s.axis];
  const bool u = s.kind == 'u';
  switch (s.itemsize) {
    case 1:
      return u ? add_index<std::uint8_t>(table, s, nb, bdims, bstrides, n, xs, pr)
               : add_index<std::int8_t>(table, s, nb, bdims, bstrides, n, xs, pr);
    case 2:
      return u ? add_index<std::uint16_t>(table, s, nb, bdims, bstrides, n, xs, pr)
               : add_index<std::int16_t>(table, s, nb, bdims, bstrides, n, xs, pr);
    case 4:
      return u ? add_index<std::uint32_t>(table, s, nb, bdims, bstrides, n, xs, pr)
               : add_index<std::int32_t>(table, s, nb, bdims, bstrides, n, xs, pr);
    default:
      return u ? add_index<std::uint64_t>(table, s, nb, bdims, bstrides, n, xs, pr)
               : add_index<std::int64_t>(table, s, nb, bdims, bstrides, n, xs, pr);
  }
}

inline void array_source(Source& s, PyArrayObject* a, int axis) {
  s.data = PyArray_BYTES(a);
  s.nd = PyArray_NDIM(a);
  for (int d = 0; d < s.nd; ++d) {
    s.dims[d] = PyArray_DIMS(a)[d];
    s.strides[d] = PyArray_STRIDES(a)[d];
  }
  s.kind = PyArray_DESCR(a)->kind == 'u' ? 'u' : 'i';
  s.itemsize = static_cast<int>(PyArray_ITEMSIZE(a));
  s.axis = axis;
}

// The offsets (sum coordinate * x stride) of a mask's true elements, in C order; false when
// its shape does not match the dims of x it indexes.
inline bool mask_offsets(std::vector<npy_intp>& out, PyArrayObject* m, int dim,
                         const npy_intp* xdims, const npy_intp* xstrides, Problem& pr) {
  const int k = PyArray_NDIM(m);
  for (int j = 0; j < k; ++j) {
    if (PyArray_DIMS(m)[j] != xdims[dim + j]) {
      pr.code = MASK_MISMATCH;
      pr.axis = dim + j;
      pr.size = xdims[dim + j];
      pr.other = PyArray_DIMS(m)[j];
      return false;
    }
  }
  const char* data = PyArray_BYTES(m);
  walk(k, PyArray_DIMS(m), PyArray_STRIDES(m), [&](const npy_intp* idx, npy_intp off) {
    if (data[off] != 0) {
      npy_intp o = 0;
      for (int j = 0; j < k; ++j) o += idx[j] * xstrides[dim + j];
      out.push_back(o);
    }
    return true;
  });
  return true;
}

// The plan of x[entries] for an x of shape xdims and the given strides (bytes to address
// x's data, or elements to number its positions); -1 with `pr` filled on a bad index.
// `block_first`: the advanced dims go first (the advanced entries are not adjacent).
inline int plan(Plan& pl, Problem& pr, const npy_intp* xdims, const npy_intp* xstrides,
                const Entry* entries, int n, bool block_first) {
  struct Virtual {
    bool block;
    npy_intp len, stride;
  };
  Virtual v[NPY_MAXDIMS + 1];
  int nv = 0;
  bool placed = block_first;
  Source sources[NPY_MAXDIMS];
  int ns = 0;
  std::vector<npy_intp> masks[NPY_MAXDIMS];
  pl.base = 0;
  if (block_first) v[nv++] = {true, 0, 0};
  for (int k = 0; k < n; ++k) {
    const Entry& e = entries[k];
    if (e.kind == SLICE) {
      const npy_intp len_x = xdims[e.dim];
      const npy_intp step = (e.flags & HAS_STEP) ? e.step : 1;
      if (step == 0) return (pr.code = STEP_ZERO, -1);
      npy_intp start = (e.flags & HAS_START) ? e.start : (step < 0 ? PY_SSIZE_T_MAX : 0);
      npy_intp stop = (e.flags & HAS_STOP) ? e.stop
                                           : (step < 0 ? PY_SSIZE_T_MIN : PY_SSIZE_T_MAX);
      const npy_intp len = PySlice_AdjustIndices(len_x, &start, &stop, step);
      if (len > 0) pl.base += start * xstrides[e.dim];
      v[nv++] = {false, len, step * xstrides[e.dim]};
      continue;
    }
    if (e.kind == NEWAXIS) {
      v[nv++] = {false, 1, 0};
      continue;
    }
    if (!placed) {
      v[nv++] = {true, 0, 0};
      placed = true;
    }
    if (e.kind == INT) {
      const npy_intp len_x = xdims[e.dim];
      npy_intp i = e.start < 0 ? e.start + len_x : e.start;
      if (i < 0 || i >= len_x) {
        pr.code = OUT_OF_BOUNDS;
        pr.value = e.start;
        pr.axis = e.dim;
        pr.size = len_x;
        return -1;
      }
      pl.base += i * xstrides[e.dim];
    } else if (e.kind == ARRAY) {
      array_source(sources[ns++], e.array, e.dim);
    } else {  // MASK
      std::vector<npy_intp>& offsets = masks[ns];
      if (PyArray_NDIM(e.array) == 0) {
        if (*PyArray_BYTES(e.array) != 0) offsets.push_back(0);
      } else if (!mask_offsets(offsets, e.array, e.dim, xdims, xstrides, pr)) {
        return -1;
      }
      Source& s = sources[ns++];
      s.data = reinterpret_cast<const char*>(offsets.data());
      s.nd = 1;
      s.dims[0] = static_cast<npy_intp>(offsets.size());
      s.strides[0] = sizeof(npy_intp);
      s.kind = 'o';
      s.itemsize = sizeof(npy_intp);
      s.axis = e.dim;
    }
  }
  // The block's shape: the index arrays' shapes broadcast (aligned on the right).
  int nb = 0;
  for (int k = 0; k < ns; ++k) nb = sources[k].nd > nb ? sources[k].nd : nb;
  npy_intp bdims[NPY_MAXDIMS];
  for (int d = 0; d < nb; ++d) bdims[d] = 1;
  for (int k = 0; k < ns; ++k) {
    const Source& s = sources[k];
    for (int j = 0; j < s.nd; ++j) {
      npy_intp& b = bdims[nb - s.nd + j];
      if (s.dims[j] == b || s.dims[j] == 1) continue;
      if (b == 1) {
        b = s.dims[j];
        continue;
      }
      pr.code = INDEX_BROADCAST;
      std::size_t used = 0;
      for (int i = 0; i < ns && used + 2 < sizeof pr.text; ++i) {
        if (i > 0) pr.text[used++] = ' ', pr.text[used] = '\0';
        sc::shape_text(pr.text + used, sizeof pr.text - used, sources[i].dims, sources[i].nd,
                       true);
        used = std::strlen(pr.text);
      }
      return -1;
    }
  }
  npy_intp count = 1;
  for (int d = 0; d < nb; ++d) count *= bdims[d];
  std::vector<npy_intp> block(static_cast<std::size_t>(count), 0);
  for (int k = 0; k < ns; ++k) {
    if (!add_source(block, sources[k], nb, bdims, xdims, xstrides, pr)) return -1;
  }
  // The virtual dims and the result's shape.
  pl.nd = 0;
  pl.nv = nv;
  pl.nb = nb;
  for (int k = 0; k < nv; ++k) {
    pl.vdim[k] = pl.nd;
    std::vector<npy_intp>& t = pl.table[k];
    if (v[k].block) {
      pl.block = k;
      pl.vlen[k] = count;
      for (int d = 0; d < nb; ++d) pl.dims[pl.nd++] = bdims[d];
      t.swap(block);
    } else {
      pl.vlen[k] = v[k].len;
      pl.dims[pl.nd++] = v[k].len;
      t.resize(static_cast<std::size_t>(v[k].len));
      for (npy_intp i = 0; i < v[k].len; ++i) t[i] = i * v[k].stride;
    }
  }
  return 0;
}

// The tables of a value y broadcast against the plan's result (offsets into y's data, one
// set per virtual dim); -1 with `pr` filled when y does not broadcast.
inline int value_tables(const Plan& pl, PyArrayObject* y, std::vector<npy_intp>* tables,
                        Problem& pr) {
  const int ny = PyArray_NDIM(y);
  npy_intp ys[NPY_MAXDIMS];
  bool ok = ny <= pl.nd;
  for (int d = 0; d < pl.nd && ok; ++d) {
    const int k = d - (pl.nd - ny);
    const npy_intp n = k < 0 ? 1 : PyArray_DIMS(y)[k];
    ok = n == 1 || n == pl.dims[d];
    ys[d] = n == 1 ? 0 : PyArray_STRIDES(y)[k];
  }
  if (!ok) {
    pr.code = VALUE_BROADCAST;
    sc::shape_text(pr.text, sizeof pr.text, PyArray_DIMS(y), ny);
    sc::shape_text(pr.text2, sizeof pr.text2, pl.dims, pl.nd);
    return -1;
  }
  for (int k = 0; k < pl.nv; ++k) {
    std::vector<npy_intp>& t = tables[k];
    t.resize(static_cast<std::size_t>(pl.vlen[k]));
    const int r = pl.vdim[k];
    if (k == pl.block) {
      npy_intp p = 0;
      walk(pl.nb, pl.dims + r, ys + r, [&](const npy_intp*, npy_intp off) {
        t[p++] = off;
        return true;
      });
    } else {
      for (npy_intp i = 0; i < pl.vlen[k]; ++i) t[i] = i * ys[r];
    }
  }
  return 0;
}

// f(a, b, row) for each row (the last virtual dim) of the plan's result, in C order: a is
// pl.base plus the outer offsets from `ta`, b the outer offsets from `tb` (0 without).
template <class F>
inline void rows(const Plan& pl, const std::vector<npy_intp>* ta,
                 const std::vector<npy_intp>* tb, F&& f) {
  const int last = pl.nv - 1;
  npy_intp total = 1;
  for (int k = 0; k <= last; ++k) total *= pl.vlen[k];
  if (total == 0) return;
  total /= pl.vlen[last];
  npy_intp idx[NPY_MAXDIMS] = {};
  for (npy_intp r = 0; r < total; ++r) {
    npy_intp a = pl.base, b = 0;
    for (int k = 0; k < last; ++k) {
      a += ta[k][idx[k]];
      if (tb != nullptr) b += tb[k][idx[k]];
    }
    f(a, b, r);
    for (int k = last - 1; k >= 0; --k) {
      if (++idx[k] < pl.vlen[k]) break;
      idx[k] = 0;
    }
  }
}

// Elements moved as raw bytes of their size (gather and set never look at values).
template <int N>
struct Item {
  unsigned char bytes[N];
};

// out (C-ordered, the result's shape) = x[idx].
template <class T>
inline void gather(const Plan& pl, const char* x, T* out) {
  const npy_intp m = pl.vlen[pl.nv - 1];
  const npy_intp* t = pl.table[pl.nv - 1].data();
  rows(pl, pl.table, nullptr, [&](npy_intp a, npy_intp, npy_intp r) {
    const char* src = x + a;
    T* dst = out + r * m;
    for (npy_intp i = 0; i < m; ++i) dst[i] = *reinterpret_cast<const T*>(src + t[i]);
  });
}

// x[idx] = y (a repeated target keeps the last value) or, with INC, np.add.at(x, idx, y):
// both in the C order of the result; `combine(old, value)` gives the incremented value.
template <class T, class Combine>
inline void scatter(const Plan& pl, const std::vector<npy_intp>* ytables, char* x,
                    const char* y, Combine combine) {
  const int last = pl.nv - 1;
  const npy_intp m = pl.vlen[last];
  const npy_intp* t = pl.table[last].data();
  const npy_intp* yt = ytables[last].data();
  rows(pl, pl.table, ytables, [&](npy_intp a, npy_intp b, npy_intp) {
    char* dst = x + a;
    const char* src = y + b;
    for (npy_intp i = 0; i < m; ++i) {
      T& o = *reinterpret_cast<T*>(dst + t[i]);
      o = combine(o, *reinterpret_cast<const T*>(src + yt[i]));
    }
  });
}

// out[p] (C-ordered, the result's shape) = whether result element p is the last one, in C
// order, to target its element of x (the plan's offsets number x's `size` elements).
inline void last_writes(const Plan& pl, npy_intp size, bool* out) {
  std::vector<npy_intp> last(static_cast<std::size_t>(size), -1);
  const npy_intp m = pl.vlen[pl.nv - 1];
  const npy_intp* t = pl.table[pl.nv - 1].data();
  rows(pl, pl.table, nullptr, [&](npy_intp a, npy_intp, npy_intp r) {
    for (npy_intp i = 0; i < m; ++i) last[a + t[i]] = r * m + i;
  });
  rows(pl, pl.table, nullptr, [&](npy_intp a, npy_intp, npy_intp r) {
    for (npy_intp i = 0; i < m; ++i) out[r * m + i] = last[a + t[i]] == r * m + i;
  });
}

// Element strides of a C-ordered array of the given shape.
inline void element_strides(int nd, const npy_intp* dims, npy_intp* strides) {
  npy_intp s = 1;
  for (int d = nd - 1; d >= 0; --d) {
    strides[d] = s;
    s *= dims[d] > 0 ? dims[d] : 1;
  }
}

// numpy.nonzero: how many elements of x are non-zero (NaN counts, -0.0 does not).
template <class T>
inline npy_intp count_nonzero(PyArrayObject* x) {
  const char* data = PyArray_BYTES(x);
  npy_intp n = 0;
  walk(PyArray_NDIM(x), PyArray_DIMS(x), PyArray_STRIDES(x), [&](const npy_intp*, npy_intp off) {
    n += *reinterpret_cast<const T*>(data + off) != T(0);
    return true;
  });
  return n;
}

// The coordinates of x's non-zero elements in C order, one output vector per dim.
template <class T>
inline void nonzero(PyArrayObject* x, std::int64_t* const* outs) {
  const char* data = PyArray_BYTES(x);
  const int nd = PyArray_NDIM(x);
  npy_intp p = 0;
  walk(nd, PyArray_DIMS(x), PyArray_STRIDES(x), [&](const npy_intp* idx, npy_intp off) {
    if (*reinterpret_cast<const T*>(data + off) != T(0)) {
      for (int d = 0; d < nd; ++d) outs[d][p] = idx[d];
      ++p;
    }
    return true;
  });
}

}  // namespace symcomp::advanced
