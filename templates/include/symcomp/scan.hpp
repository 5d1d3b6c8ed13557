// Helpers of the Scan, MapIndex and IfElse nodes (templates/cpu/scan.cpp.j2, ifelse.cpp.j2):
// per-step row views that are re-pointed instead of reallocated, row stores into the
// preallocated [n_steps, ...] buffers, and what inner graphs need to call Python performs
// and report their errors. Loops run with the GIL held (node kernels release it only inside
// their own scope), so an inner node's perform is called like a top-level one.
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

// A 0-d read-only int64 array holding the step (MapIndex's index input), rewritten in place
// while no one else holds a reference to it.
struct StepIndex {
  PyArrayObject* value = nullptr;
  StepIndex() = default;
  StepIndex(const StepIndex&) = delete;
  StepIndex& operator=(const StepIndex&) = delete;
  ~StepIndex() { Py_XDECREF(value); }

  PyArrayObject* at(npy_intp t) {
    if (value == nullptr || Py_REFCNT(value) != 1) {
      Py_CLEAR(value);
      value = empty(0, nullptr, NPY_INT64);
      if (value == nullptr) return nullptr;
      PyArray_CLEARFLAGS(value, NPY_ARRAY_WRITEABLE);
    }
    *static_cast<npy_int64*>(PyArray_DATA(value)) = static_cast<npy_int64>(t);
    return value;
  }
};

// The thunks of inner graph `graph` of the node at `index` (borrowed): the runner gives a
// node with inner graphs a tuple of its inner graphs' thunks (callable as its perform), see
// node_thunks in symcomp/compile/native.py. nullptr with a TypeError set when it did not.
inline PyObject* inner_thunks(PyObject* thunks, Py_ssize_t index, Py_ssize_t graph) {
  PyObject* entry = PyTuple_Check(thunks) && index < PyTuple_GET_SIZE(thunks)
      ? PyTuple_GET_ITEM(thunks, index) : nullptr;
  PyObject* inner = entry != nullptr && PyTuple_Check(entry) && graph < PyTuple_GET_SIZE(entry)
      ? PyTuple_GET_ITEM(entry, graph) : nullptr;
  if (inner == nullptr || !PyTuple_Check(inner)) {
    PyErr_Format(PyExc_TypeError, "the thunks of node %zd hold no inner graph %zd",
                 index, graph);
    return nullptr;
  }
  return inner;
}

// The pending exception, raised by a node of an inner graph, re-raised with a message that
// names that node (its description, its inputs' shapes and dtypes) and the loop's step
// (step < 0: none), like the Python runner's node_error: same type, the original as its
// __cause__. A type that cannot be built from one message keeps the original exception.
inline void inner_error(const char* node, npy_intp step, PyArrayObject* const* in, int nin) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (value == nullptr || !PyErr_GivenExceptionMatches(type, PyExc_Exception)) {
    PyErr_Restore(type, value, tb);
    return;
  }
  if (tb != nullptr) PyException_SetTraceback(value, tb);
  PyObject* msg = step < 0
      ? PyUnicode_FromFormat("%S\nInner node that caused the error: %s", value, node)
      : PyUnicode_FromFormat("%S\nInner node that caused the error (step %zd): %s", value,
                             static_cast<Py_ssize_t>(step), node);
  for (int i = 0; i < nin && msg != nullptr; ++i) {
    char shape[160];
    shape_text(shape, sizeof shape, PyArray_DIMS(in[i]), PyArray_NDIM(in[i]));
    Py_SETREF(msg, PyUnicode_FromFormat("%U\n  input %d: shape %s, dtype %S", msg, i, shape,
                                        reinterpret_cast<PyObject*>(PyArray_DESCR(in[i]))));
  }
  PyObject* wrapped = msg != nullptr ? PyObject_CallOneArg(type, msg) : nullptr;
  Py_XDECREF(msg);
  if (wrapped == nullptr || !PyObject_TypeCheck(wrapped, reinterpret_cast<PyTypeObject*>(type))) {
    PyErr_Clear();
    Py_XDECREF(wrapped);
    PyErr_Restore(type, value, tb);
    return;
  }
  PyException_SetCause(wrapped, value);  // steals value
  PyErr_Restore(type, wrapped, tb);
}

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
