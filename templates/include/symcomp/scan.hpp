// Helpers of the Scan and IfElse nodes (templates/cpu/scan.cpp.j2, ifelse.cpp.j2): per-step
// row views that are re-pointed instead of reallocated, and row stores into the
// preallocated [n_steps, ...] buffers.
#pragma once

#include <cstring>

namespace sc {

// A read-only view of row i of `base` (its first axis). The view object is reused from step
// to step, re-pointed in place while no one else holds a reference to it, so a loop makes
// no allocation per step for its inputs.
struct Row {
  PyArrayObject* view = nullptr;
  PyArrayObject* base = nullptr;
  Row() = default;
  Row(const Row&) = delete;
  Row& operator=(const Row&) = delete;
  ~Row() { Py_XDECREF(view); }

  PyArrayObject* at(PyArrayObject* b, npy_intp i) {
    char* data = PyArray_BYTES(b) + i * PyArray_STRIDE(b, 0);
    if (view != nullptr && base == b && Py_REFCNT(view) == 1) {
      reinterpret_cast<PyArrayObject_fields*>(view)->data = data;
      return view;
    }
    Py_CLEAR(view);
    PyArray_Descr* descr = PyArray_DESCR(b);
    Py_INCREF(descr);
    PyObject* v = PyArray_NewFromDescr(&PyArray_Type, descr, PyArray_NDIM(b) - 1,
                                       PyArray_DIMS(b) + 1, PyArray_STRIDES(b) + 1, data, 0,
                                       nullptr);
    if (v == nullptr) return nullptr;
    Py_INCREF(b);
    if (PyArray_SetBaseObject(reinterpret_cast<PyArrayObject*>(v),
                              reinterpret_cast<PyObject*>(b)) < 0) {
      Py_DECREF(v);
      return nullptr;
    }
    PyArray_UpdateFlags(reinterpret_cast<PyArrayObject*>(v),
                        NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_F_CONTIGUOUS | NPY_ARRAY_ALIGNED);
    view = reinterpret_cast<PyArrayObject*>(v);
    base = b;
    return view;
  }
};

// Whether `value` has the shape of one row of `buf`.
inline bool row_shape(PyArrayObject* buf, PyArrayObject* value) {
  const int nd = PyArray_NDIM(buf) - 1;
  if (PyArray_NDIM(value) != nd) return false;
  for (int d = 0; d < nd; ++d)
    if (PyArray_DIM(value, d) != PyArray_DIM(buf, d + 1)) return false;
  return true;
}

// buf[i] = value (buf is C-contiguous, of value's dtype). Raises ValueError naming `what`
// and the step when the shapes differ.
inline int store_row(PyArrayObject* buf, npy_intp i, PyArrayObject* value, const char* what,
                     long k, npy_intp step) {
  if (!row_shape(buf, value)) {
    char got[160], want[160];
    shape_text(got, sizeof got, PyArray_DIMS(value), PyArray_NDIM(value));
    shape_text(want, sizeof want, PyArray_DIMS(buf) + 1, PyArray_NDIM(buf) - 1);
    PyErr_Format(PyExc_ValueError,
                 "step %ld computed %s %ld of shape %s, but it must have shape %s (the shape "
                 "of its initial value or of its first step)",
                 static_cast<long>(step), what, k, got, want);
    return -1;
  }
  char* row = PyArray_BYTES(buf) + i * PyArray_STRIDE(buf, 0);
  const npy_intp nbytes = PyArray_STRIDE(buf, 0);
  if (PyArray_IS_C_CONTIGUOUS(value) && PyArray_TYPE(value) == PyArray_TYPE(buf)) {
    if (nbytes > 0) std::memmove(row, PyArray_DATA(value), static_cast<std::size_t>(nbytes));
    return 0;
  }
  Row target;
  PyArrayObject* view = target.at(buf, i);
  if (view == nullptr) return -1;
  PyArray_ENABLEFLAGS(view, NPY_ARRAY_WRITEABLE);
  return PyArray_CopyInto(view, value);
}

// A fresh array of dims (lead, row dims of `like` from axis `skip` on) and typenum.
inline PyArrayObject* stacked(npy_intp lead, PyArrayObject* like, int skip, int typenum) {
  npy_intp dims[NPY_MAXDIMS];
  const int nd = PyArray_NDIM(like) - skip;
  dims[0] = lead;
  for (int d = 0; d < nd; ++d) dims[d + 1] = PyArray_DIM(like, d + skip);
  return empty(nd + 1, dims, typenum);
}

// Rotate the rows of a ring buffer left by `shift` (ring order -> step order).
inline int rotate_rows(PyArrayObject* buf, npy_intp shift) {
  const npy_intp rows = PyArray_DIM(buf, 0), row = PyArray_STRIDE(buf, 0);
  if (rows == 0 || shift % rows == 0 || row == 0) return 0;
  PyArrayObject* copy = reinterpret_cast<PyArrayObject*>(PyArray_NewCopy(buf, NPY_CORDER));
  if (copy == nullptr) return -1;
  for (npy_intp r = 0; r < rows; ++r)
    std::memcpy(PyArray_BYTES(buf) + r * row, PyArray_BYTES(copy) + ((r + shift) % rows) * row,
                static_cast<std::size_t>(row));
  Py_DECREF(copy);
  return 0;
}

// A constant of an inner graph, built once from its bytes (read-only).
inline PyArrayObject* inner_constant(int typenum, int nd, const npy_intp* dims, const char* data,
                                     std::size_t nbytes) {
  PyArrayObject* a = empty(nd, dims, typenum);
  if (a == nullptr) return nullptr;
  if (nbytes > 0) std::memcpy(PyArray_DATA(a), data, nbytes);
  PyArray_CLEARFLAGS(a, NPY_ARRAY_WRITEABLE);
  return a;
}

}  // namespace sc
