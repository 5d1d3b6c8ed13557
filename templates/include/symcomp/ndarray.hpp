// Array helpers shared by every generated CPU module: argument checks, NumPy-style
// broadcasting, output allocation, views, the Python fallback call and error reporting.
// Included after Python.h and numpy/arrayobject.h. Everything here runs with the GIL held
// unless stated otherwise.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "symcomp/hostdevice.hpp"

namespace sc {

// Set a Python exception and return -1 (the error convention of node functions).
inline int fail(PyObject* type, const char* message) {
  PyErr_SetString(type, message);
  return -1;
}

// "(3, 4)" into buf (Python's tuple spelling; "(3,4)" when compact, as NumPy's
// broadcasting errors spell shapes).
SYMCOMP_COLD inline void shape_text(char* buf, std::size_t size, const npy_intp* dims, int nd,
                       bool compact = false) {
  std::size_t used = std::snprintf(buf, size, "(");
  for (int d = 0; d < nd && used < size; ++d) {
    used += std::snprintf(buf + used, size - used, d + 1 < nd ? (compact ? "%lld," : "%lld, ")
                          : "%lld", static_cast<long long>(dims[d]));
  }
  if (used < size) std::snprintf(buf + used, size - used, nd == 1 ? ",)" : ")");
}

// Record which node (or function argument) raised, and its input arrays, on the pending
// exception, so the Python side re-raises it with the node's description and source line.
SYMCOMP_COLD inline void annotate(const char* attr, long index, PyArrayObject* const* in, int nin) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (value != nullptr) {
    PyObject* k = PyLong_FromLong(index);
    PyObject* args = PyTuple_New(nin);
    if (k != nullptr && args != nullptr) {
      for (int i = 0; i < nin; ++i) {
        PyObject* a = in[i] != nullptr ? reinterpret_cast<PyObject*>(in[i]) : Py_None;
        Py_INCREF(a);
        PyTuple_SET_ITEM(args, i, a);
      }
      if (PyObject_SetAttrString(value, attr, k) < 0 ||
          PyObject_SetAttrString(value, "_symcomp_inputs", args) < 0) {
        PyErr_Clear();  // exceptions without a __dict__: keep the original message
      }
    }
    Py_XDECREF(k);
    Py_XDECREF(args);
  }
  PyErr_Restore(type, value, tb);
}

// Static shape check: dims[d] < 0 means "any length".
inline bool matches(PyArrayObject* a, const npy_intp* dims, int nd) {
  for (int d = 0; d < nd; ++d) {
    if (dims[d] >= 0 && PyArray_DIMS(a)[d] != dims[d]) return false;
  }
  return true;
}

// Sets the TypeError/ValueError saying why `obj` is not an ndarray of the expected dtype,
// ndim and static shape (the slow path of `argument`).
SYMCOMP_COLD inline void argument_error(PyObject* obj, int typenum, int nd,
                                       const npy_intp* dims) {
  if (!PyArray_Check(obj)) {
    PyErr_Format(PyExc_TypeError, "expected a numpy.ndarray, got %s", Py_TYPE(obj)->tp_name);
    return;
  }
  PyArrayObject* a = reinterpret_cast<PyArrayObject*>(obj);
  if (PyArray_TYPE(a) != typenum || PyArray_NDIM(a) != nd) {
    PyArray_Descr* want = PyArray_DescrFromType(typenum);
    PyErr_Format(PyExc_TypeError, "expected an array of dtype %S with %d dimensions, got %S "
                 "with %d", reinterpret_cast<PyObject*>(want),
                 nd, reinterpret_cast<PyObject*>(PyArray_DESCR(a)), PyArray_NDIM(a));
    Py_XDECREF(want);
    return;
  }
  char got[256], expected[256];
  shape_text(got, sizeof got, PyArray_DIMS(a), nd);
  shape_text(expected, sizeof expected, dims, nd);
  PyErr_Format(PyExc_ValueError, "expected static shape %s (-1: any length), got %s", expected,
               got);
}

// A function argument as an aligned, native-byte-order ndarray of the expected dtype, ndim
// and static shape (a new reference), or nullptr with a TypeError/ValueError set.
inline PyArrayObject* argument(PyObject* obj, int typenum, int nd, const npy_intp* dims) {
  PyArrayObject* a = reinterpret_cast<PyArrayObject*>(obj);
  if (!PyArray_Check(obj) || PyArray_TYPE(a) != typenum || PyArray_NDIM(a) != nd ||
      !matches(a, dims, nd)) {
    argument_error(obj, typenum, nd, dims);
    return nullptr;
  }
  if (PyArray_ISALIGNED(a) && PyArray_ISNOTSWAPPED(a)) {
    Py_INCREF(obj);
    return a;
  }
  // Unaligned or byte-swapped data: a native copy, so kernels may load it directly.
  return reinterpret_cast<PyArrayObject*>(
      PyArray_FromAny(obj, PyArray_DescrFromType(typenum), nd, nd,
                      NPY_ARRAY_ALIGNED | NPY_ARRAY_NOTSWAPPED | NPY_ARRAY_ENSURECOPY, nullptr));
}

// Checks run(inputs, constants, thunks)'s arguments; returns `inputs` as a fast sequence
// (a new reference) of n_inputs items, or nullptr with a TypeError set.
inline PyObject* arguments(PyObject* const* args, Py_ssize_t nargs, Py_ssize_t n_inputs,
                           Py_ssize_t n_constants, Py_ssize_t n_nodes) {
  if (nargs != 3 || !PyTuple_Check(args[1]) || PyTuple_GET_SIZE(args[1]) != n_constants ||
      !PyTuple_Check(args[2]) || PyTuple_GET_SIZE(args[2]) != n_nodes) {
    PyErr_SetString(PyExc_TypeError, "run(inputs, constants, thunks): bad arguments");
    return nullptr;
  }
  PyObject* given = PySequence_Fast(args[0], "run: inputs must be a list or tuple");
  if (given != nullptr && PySequence_Fast_GET_SIZE(given) != n_inputs) {
    PyErr_Format(PyExc_TypeError, "expected %zd inputs, got %zd", n_inputs,
                 PySequence_Fast_GET_SIZE(given));
    Py_CLEAR(given);
  }
  return given;
}

// The ValueError NumPy raises for inputs whose shapes do not broadcast; returns -1.
SYMCOMP_COLD inline int broadcast_error(PyArrayObject* const* in, int nin) {
  char text[1024];
  std::size_t used = 0;
  text[0] = '\0';
  for (int j = 0; j < nin && used + 2 < sizeof text; ++j) {
    shape_text(text + used, sizeof text - used, PyArray_DIMS(in[j]), PyArray_NDIM(in[j]), true);
    used = std::strlen(text);
    if (used + 2 < sizeof text) text[used++] = ' ', text[used] = '\0';
  }
  PyErr_Format(PyExc_ValueError, "operands could not be broadcast together with shapes %s",
               text);
  return -1;
}

// NumPy broadcasting of the inputs' shapes (aligned on the right) into out[0..nd).
inline int broadcast(npy_intp* out, int nd, PyArrayObject* const* in, int nin) {
  for (int d = 0; d < nd; ++d) out[d] = 1;
  for (int i = 0; i < nin; ++i) {
    const int ni = PyArray_NDIM(in[i]);
    for (int d = 0; d < ni; ++d) {
      const npy_intp n = PyArray_DIMS(in[i])[d];
      npy_intp& o = out[nd - ni + d];
      if (n == o || n == 1) continue;
      if (o != 1) return broadcast_error(in, nin);
      o = n;
    }
  }
  return 0;
}

// Byte strides of `a` seen as an nd-dim array of the broadcast shape (aligned on the right;
// broadcast dims get stride 0).
inline void broadcast_strides(npy_intp* strides, int nd, PyArrayObject* a) {
  const int na = PyArray_NDIM(a);
  for (int d = 0; d < nd; ++d) {
    const int k = d - (nd - na);
    strides[d] = (k < 0 || PyArray_DIMS(a)[k] == 1) ? 0 : PyArray_STRIDES(a)[k];
  }
}

// True when `a` is C-contiguous and holds n elements: element i of the output is element i
// of `a` (given that the shapes broadcast).
inline bool dense(PyArrayObject* a, npy_intp n) {
  return PyArray_IS_C_CONTIGUOUS(a) && PyArray_SIZE(a) == n;
}

// A fresh C-ordered array from NumPy's allocator (large outputs fault in far fewer pages
// than with a plain malloc).
inline PyArrayObject* empty(int nd, const npy_intp* dims, int typenum) {
  return reinterpret_cast<PyArrayObject*>(PyArray_EMPTY(nd, const_cast<npy_intp*>(dims),
                                                        typenum, 0));
}

// A view of `base` with the given dims and byte strides, its first element `offset` bytes
// into base's data.
inline PyArrayObject* view(PyArrayObject* base, int nd, const npy_intp* dims,
                           const npy_intp* strides, npy_intp offset = 0) {
  PyArray_Descr* descr = PyArray_DESCR(base);
  Py_INCREF(descr);
  const int flags = PyArray_FLAGS(base) & NPY_ARRAY_WRITEABLE;
  PyObject* v = PyArray_NewFromDescr(&PyArray_Type, descr, nd, const_cast<npy_intp*>(dims),
                                     const_cast<npy_intp*>(strides),
                                     PyArray_BYTES(base) + offset, flags, nullptr);
  if (v == nullptr) return nullptr;
  Py_INCREF(base);
  if (PyArray_SetBaseObject(reinterpret_cast<PyArrayObject*>(v),
                            reinterpret_cast<PyObject*>(base)) < 0) {
    Py_DECREF(v);
    return nullptr;
  }
  PyArray_UpdateFlags(reinterpret_cast<PyArrayObject*>(v),
                      NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_F_CONTIGUOUS | NPY_ARRAY_ALIGNED);
  return reinterpret_cast<PyArrayObject*>(v);
}

// Runs a node's Python perform: thunk(*inputs) -> sequence of nout arrays, each converted to
// its dtype (as the py runner does) and checked for ndim and static shape.
SYMCOMP_COLD inline int call_python(PyObject* thunk, PyArrayObject* const* in, int nin,
                                    PyArrayObject** out, int nout, const int* typenums,
                                    const int* ndims, const npy_intp* dims) {
  PyObject* result =
      PyObject_Vectorcall(thunk, reinterpret_cast<PyObject* const*>(in), nin, nullptr);
  if (result == nullptr) return -1;
  PyObject* seq = PySequence_Fast(result, "perform must return a list of arrays");
  Py_DECREF(result);
  if (seq == nullptr) return -1;
  if (PySequence_Fast_GET_SIZE(seq) != nout) {
    PyErr_Format(PyExc_ValueError, "perform returned %zd outputs, expected %d",
                 PySequence_Fast_GET_SIZE(seq), nout);
    Py_DECREF(seq);
    return -1;
  }
  for (int k = 0; k < nout; ++k, dims += ndims[k - 1]) {
    PyObject* item = PySequence_Fast_GET_ITEM(seq, k);
    PyObject* arr = PyArray_FromAny(item, PyArray_DescrFromType(typenums[k]), 0, 0,
                                    NPY_ARRAY_ALIGNED | NPY_ARRAY_NOTSWAPPED, nullptr);
    if (arr == nullptr) {
      Py_DECREF(seq);
      return -1;
    }
    out[k] = reinterpret_cast<PyArrayObject*>(arr);
    if (PyArray_NDIM(out[k]) != ndims[k] || !matches(out[k], dims, ndims[k])) {
      char got[256], expected[256];
      shape_text(got, sizeof got, PyArray_DIMS(out[k]), PyArray_NDIM(out[k]));
      shape_text(expected, sizeof expected, dims, ndims[k]);
      PyErr_Format(PyExc_ValueError,
                   "perform returned output %d of shape %s, expected static shape %s "
                   "(-1: any length)", k, got, expected);
      Py_DECREF(seq);
      return -1;
    }
  }
  Py_DECREF(seq);
  return 0;
}

// Releases the GIL for the lifetime of the object when `release` is true.
class NoGil {
 public:
  explicit NoGil(bool release) : state_(release ? PyEval_SaveThread() : nullptr) {}
  ~NoGil() {
    if (state_ != nullptr) PyEval_RestoreThread(state_);
  }
  NoGil(const NoGil&) = delete;
  NoGil& operator=(const NoGil&) = delete;

 private:
  PyThreadState* state_;
};

// The int64 value of a 0-d integer array (shape arguments).
inline int scalar_int(PyArrayObject* a, npy_intp* value) {
  PyObject* item = PyArray_GETITEM(a, PyArray_BYTES(a));
  if (item == nullptr) return -1;
  *value = static_cast<npy_intp>(PyLong_AsSsize_t(item));
  Py_DECREF(item);
  return (*value == -1 && PyErr_Occurred()) ? -1 : 0;
}

}  // namespace sc
