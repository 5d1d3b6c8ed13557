// The fast call path of a compiled function: a callable object that a Function uses as its
// __call__. A positional call goes straight into the module's compute(): argument checks
// (arrays of the exact dtype, ndim and static shape pass as they are; anything else goes
// through the Python `filter(k, value)`, which applies the usual conversion rules), the
// shared values, the graph, fresh outputs and the shared-variable updates. Calls with
// keywords or another number of arguments go to the Python `general(*args, **kwargs)`.
// Included by module.hpp; every module gets its own copy of the type (anonymous namespace).
#pragma once

#include <structmember.h>

namespace sc {

// What a function argument must be: dtype, ndim and static lengths (-1: any length).
struct ArgSpec {
  int typenum;
  int ndim;
  const npy_intp* dims;
};

inline PyArrayObject* argument(PyObject* obj, const ArgSpec& s) {
  return argument(obj, s.typenum, s.ndim, s.dims);
}

// compute(values, constants, thunks, results, reuse): the graph's outputs into results
// (new references), 0; or -1 with an exception set. reuse (nullptr, or one entry per result,
// each nullptr or borrowed): an array that the node computing result k may write into instead
// of allocating (Out(borrow=True): the previous call's output).
using Compute = int (*)(PyObject* const*, PyObject*, PyObject*, PyObject**, PyObject* const*);

// --- buffers a node may write its output into ----------------------------------------------
// A node whose emitter supports it (elementwise kernels, which write their output densely)
// starts with out[0] set to a candidate buffer (a new reference, or nullptr) and keeps it
// only when fit_or_empty finds its dtype and shape right.

// The bytes [lo, hi) that `a` can reach through its strides; lo == hi when it is empty.
inline void extent(PyArrayObject* a, const char** lo, const char** hi) {
  const char* l = PyArray_BYTES(a);
  const char* h = l;
  for (int d = 0; d < PyArray_NDIM(a); ++d) {
    const npy_intp n = PyArray_DIM(a, d), s = PyArray_STRIDE(a, d);
    if (n == 0) {
      *lo = *hi = l;
      return;
    }
    (s < 0 ? l : h) += (n - 1) * s;
  }
  *lo = l;
  *hi = h + PyArray_ITEMSIZE(a);
}

// Whether two arrays may share memory (their extents intersect).
inline bool overlap(PyArrayObject* a, PyArrayObject* b) {
  const char *alo, *ahi, *blo, *bhi;
  extent(a, &alo, &ahi);
  extent(b, &blo, &bhi);
  return alo < ahi && blo < bhi && alo < bhi && blo < ahi;
}

// Whether a kernel may write a whole output into `o`: an aligned, writeable, C-contiguous
// ndarray in native byte order.
inline bool output_buffer(PyObject* o) {
  if (o == nullptr || !PyArray_Check(o)) return false;
  PyArrayObject* a = reinterpret_cast<PyArrayObject*>(o);
  return PyArray_ISCARRAY(a) && PyArray_ISNOTSWAPPED(a);
}

// The candidate for a node computing result k: a new reference to reuse[k], or nullptr.
inline PyArrayObject* reuse_candidate(PyObject* const* reuse, Py_ssize_t k) {
  if (reuse == nullptr || !output_buffer(reuse[k])) return nullptr;
  Py_INCREF(reuse[k]);
  return reinterpret_cast<PyArrayObject*>(reuse[k]);
}

// The candidate of a node planned in place (symcomp/optimize/inplace.py) into its input k: a
// new reference to in[k], or nullptr when, at run time, in[k] shares memory with another
// input of the node or with more than one function argument (the plan allows the argument
// it stands for, a shared variable being updated or an In(mutable=True) input, and nothing
// else may see the write).
inline PyArrayObject* inplace_candidate(PyArrayObject* const* in, int n_in, int k,
                                        PyObject* const* given, Py_ssize_t n_given) {
  PyArrayObject* a = in[k];
  if (!output_buffer(reinterpret_cast<PyObject*>(a))) return nullptr;
  for (int j = 0; j < n_in; ++j) {
    if (j != k && in[j] != nullptr && overlap(a, in[j])) return nullptr;
  }
  int seen = 0;
  for (Py_ssize_t i = 0; i < n_given; ++i) {
    if (PyArray_Check(given[i]) &&
        overlap(a, reinterpret_cast<PyArrayObject*>(given[i])) && ++seen > 1) {
      return nullptr;
    }
  }
  Py_INCREF(a);
  return a;
}

// The node's output: `candidate` (owned, may be nullptr) when it has exactly this dtype,
// ndim and shape, else a fresh array (the candidate released).
inline PyArrayObject* fit_or_empty(PyArrayObject* candidate, int nd, const npy_intp* dims,
                                   int typenum) {
  if (candidate != nullptr) {
    bool fits = PyArray_TYPE(candidate) == typenum && PyArray_NDIM(candidate) == nd;
    for (int d = 0; fits && d < nd; ++d) fits = PyArray_DIM(candidate, d) == dims[d];
    if (fits) return candidate;
    Py_DECREF(candidate);
  }
  return empty(nd, dims, typenum);
}

// A list of the n new references in items (stolen; released on failure).
inline PyObject* steal_list(PyObject** items, Py_ssize_t n) {
  PyObject* list = PyList_New(n);
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (list != nullptr) {
      PyList_SET_ITEM(list, i, items[i]);
    } else {
      Py_DECREF(items[i]);
    }
  }
  return list;
}

// run(inputs, constants, thunks) -> list: the module's plain entry point (NativeRunner).
inline PyObject* run(PyObject* const* args, Py_ssize_t nargs, Compute compute,
                     Py_ssize_t n_inputs, Py_ssize_t n_constants, Py_ssize_t n_nodes,
                     Py_ssize_t n_results) {
  PyObject* given = arguments(args, nargs, n_inputs, n_constants, n_nodes);
  if (given == nullptr) return nullptr;
  PyObject* small[16];
  PyObject** results = n_results <= 16
      ? small : static_cast<PyObject**>(PyMem_Malloc(n_results * sizeof(PyObject*)));
  PyObject* list = nullptr;
  if (results == nullptr) {
    PyErr_NoMemory();
  } else if (compute(PySequence_Fast_ITEMS(given), args[1], args[2], results, nullptr) == 0) {
    list = steal_list(results, n_results);
  }
  if (results != small) PyMem_Free(results);
  Py_DECREF(given);
  return list;
}

namespace {

struct Caller {
  PyObject_HEAD
  Compute compute;
  const ArgSpec* specs;
  Py_ssize_t n_explicit, n_implicit, n_outputs, n_updates;
  int result_kind;  // 0: list, 1: the single output, 2: dict keyed by `keys`
  char trust_input;
  PyObject* constants;   // tuple
  PyObject* thunks;      // tuple
  PyObject* containers;  // tuple: the Containers of the shared values (implicit inputs)
  PyObject* updated;     // tuple: the Containers the updates replace, in update order
  PyObject* copy;        // bytes per output: 1 a fresh array; 0 Out(borrow=True); 2 borrowed
                         // and kept, for the next call to write into (output reuse)
  PyObject** prev;       // per output: the kept array of the last call (owned), or nullptr
  PyObject* keys;        // tuple (result_kind 2) or None
  PyObject* general;     // callable(*args, **kwargs): the Python call path
  PyObject* filter;      // callable(k, value) -> the converted argument, or raises
  PyObject* locate;      // callable(err, values): raises err located at its node / input
};

PyObject* value_name = nullptr;  // interned "value" (Container.value)

inline bool exact(PyObject* obj, const ArgSpec& s) {
  if (Py_TYPE(obj) != &PyArray_Type) return false;
  PyArrayObject* a = reinterpret_cast<PyArrayObject*>(obj);
  return PyArray_TYPE(a) == s.typenum && PyArray_NDIM(a) == s.ndim &&
         matches(a, s.dims, s.ndim) && PyArray_ISALIGNED(a) && PyArray_ISNOTSWAPPED(a);
}

// Whether `o` may alias an input, an earlier result or read-only data (then it is copied).
inline bool shared_buffer(PyObject* o, PyObject* const* values, Py_ssize_t n, PyObject* const* others,
                          Py_ssize_t n_others) {
  PyArrayObject* a = reinterpret_cast<PyArrayObject*>(o);
  if (PyArray_BASE(a) != nullptr || !PyArray_ISWRITEABLE(a)) return true;
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (values[i] == o) return true;
  }
  for (Py_ssize_t i = 0; i < n_others; ++i) {
    if (others[i] == o) return true;
  }
  return false;
}

// Replace results[k] by a fresh copy when it shares a buffer; 0 or -1.
inline int freshen(PyObject** results, Py_ssize_t k, PyObject* const* values, Py_ssize_t n,
                   Py_ssize_t n_others) {
  PyObject* o = results[k];
  if (!PyArray_Check(o) || !shared_buffer(o, values, n, results, n_others)) return 0;
  PyObject* c = PyArray_NewCopy(reinterpret_cast<PyArrayObject*>(o), NPY_CORDER);
  if (c == nullptr) return -1;
  results[k] = c;
  Py_DECREF(o);
  return 0;
}

// The error of compute() (or of a conversion) re-raised by Python's `locate`.
inline void relocate(Caller* self, PyObject* const* values, Py_ssize_t n) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != nullptr && value != nullptr) PyException_SetTraceback(value, tb);
  PyObject* list = PyList_New(n);
  if (list == nullptr || value == nullptr) {
    Py_XDECREF(list);
    PyErr_Restore(type, value, tb);
    return;
  }
  for (Py_ssize_t i = 0; i < n; ++i) {
    Py_INCREF(values[i]);
    PyList_SET_ITEM(list, i, values[i]);
  }
  PyObject* r = PyObject_CallFunctionObjArgs(self->locate, value, list, nullptr);
  Py_DECREF(list);
  if (r != nullptr) {  // locate should raise; if it returned, raise the original error
    Py_DECREF(r);
    PyErr_Restore(type, value, tb);
    return;
  }
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
}

inline int apply_updates(Caller* self, PyObject** results, PyObject* const* values,
                         Py_ssize_t n) {
  for (Py_ssize_t j = 0; j < self->n_updates; ++j) {
    PyObject* container = PyTuple_GET_ITEM(self->updated, j);
    PyObject* old = PyObject_GetAttr(container, value_name);
    if (old == nullptr) return -1;
    const Py_ssize_t k = self->n_outputs + j;
    // An update computed in place into the old value's buffer keeps that buffer.
    const bool same = results[k] == old;
    Py_DECREF(old);
    if (!same && freshen(results, k, values, n, self->n_outputs) < 0) return -1;
    if (PyObject_SetAttr(container, value_name, results[k]) < 0) return -1;
  }
  return 0;
}

inline PyObject* package(Caller* self, PyObject** results) {
  if (self->result_kind == 1) {
    Py_INCREF(results[0]);
    return results[0];
  }
  if (self->result_kind == 0) {
    PyObject* list = PyList_New(self->n_outputs);
    for (Py_ssize_t k = 0; list != nullptr && k < self->n_outputs; ++k) {
      Py_INCREF(results[k]);
      PyList_SET_ITEM(list, k, results[k]);
    }
    return list;
  }
  PyObject* d = PyDict_New();
  for (Py_ssize_t k = 0; d != nullptr && k < self->n_outputs; ++k) {
    if (PyDict_SetItem(d, PyTuple_GET_ITEM(self->keys, k), results[k]) < 0) Py_CLEAR(d);
  }
  return d;
}

inline PyObject* finish(Caller* self, PyObject** results, PyObject* const* values,
                        Py_ssize_t n) {
  const char* copy = PyBytes_AS_STRING(self->copy);
  for (Py_ssize_t k = 0; k < self->n_outputs; ++k) {
    if (copy[k] == 1 && freshen(results, k, values, n, k) < 0) return nullptr;
  }
  if (apply_updates(self, results, values, n) < 0) return nullptr;
  return package(self, results);
}

// The arrays the next call may write into: the array output k is now, for each output kept
// for reuse, unless that array is not a plain buffer of its own, or is also an argument, a
// fresh (not borrowed) output or a shared variable's new value.
inline void keep_outputs(Caller* self, PyObject** results, PyObject* const* values,
                         Py_ssize_t n) {
  const char* copy = PyBytes_AS_STRING(self->copy);
  const Py_ssize_t nr = self->n_outputs + self->n_updates;
  for (Py_ssize_t k = 0; k < self->n_outputs; ++k) {
    if (copy[k] != 2) continue;
    PyObject* o = results[k];
    bool keep = PyArray_CheckExact(o) && PyArray_BASE(reinterpret_cast<PyArrayObject*>(o)) ==
                                             nullptr && output_buffer(o);
    for (Py_ssize_t i = 0; keep && i < n; ++i) keep = values[i] != o;
    for (Py_ssize_t j = 0; keep && j < nr; ++j) {
      keep = j == k || results[j] != o || (j < self->n_outputs && copy[j] != 1);
    }
    if (keep) {
      Py_INCREF(o);
      Py_XSETREF(self->prev[k], o);
    }
  }
}

// Moves the kept outputs into reuse[k] (owned), except those sharing memory with an argument
// or a shared value (never written into); the rest of reuse is nullptr. Taking them out
// means a concurrent call of the same function never gets the same buffer.
inline void take_kept(Caller* self, PyObject** reuse, PyObject* const* values, Py_ssize_t n) {
  const Py_ssize_t nr = self->n_outputs + self->n_updates;
  for (Py_ssize_t k = 0; k < nr; ++k) reuse[k] = nullptr;
  for (Py_ssize_t k = 0; k < self->n_outputs; ++k) {
    PyObject* o = self->prev[k];
    if (o == nullptr) continue;
    self->prev[k] = nullptr;
    PyArrayObject* a = reinterpret_cast<PyArrayObject*>(o);
    for (Py_ssize_t i = 0; o != nullptr && i < n; ++i) {
      if (PyArray_Check(values[i]) && overlap(a, reinterpret_cast<PyArrayObject*>(values[i]))) {
        Py_CLEAR(o);
      }
    }
    reuse[k] = o;
  }
}

PyObject* caller_call(PyObject* obj, PyObject* args, PyObject* kwargs) {
  Caller* self = reinterpret_cast<Caller*>(obj);
  const Py_ssize_t ne = self->n_explicit;
  if ((kwargs != nullptr && PyDict_GET_SIZE(kwargs) != 0) || PyTuple_GET_SIZE(args) != ne) {
    return PyObject_Call(self->general, args, kwargs);
  }
  const Py_ssize_t n = ne + self->n_implicit;
  const Py_ssize_t nr = self->n_outputs + self->n_updates;
  PyObject* small[48];
  PyObject** values = n + 2 * nr <= 48
      ? small : static_cast<PyObject**>(PyMem_Malloc((n + 2 * nr) * sizeof(PyObject*)));
  if (values == nullptr) return PyErr_NoMemory();
  PyObject** results = values + n;
  PyObject** reuse = results + nr;
  for (Py_ssize_t i = 0; i < nr; ++i) reuse[i] = nullptr;
  Py_ssize_t filled = 0;
  bool computed = false;
  PyObject* out = nullptr;
  for (; filled < ne; ++filled) {
    PyObject* a = PyTuple_GET_ITEM(args, filled);
    if (self->trust_input || exact(a, self->specs[filled])) {
      Py_INCREF(a);
    } else {
      PyObject* k = PyLong_FromSsize_t(filled);
      a = k == nullptr ? nullptr : PyObject_CallFunctionObjArgs(self->filter, k, a, nullptr);
      Py_XDECREF(k);
      if (a == nullptr) goto done;
    }
    values[filled] = a;
  }
  for (; filled < n; ++filled) {
    PyObject* v = PyObject_GetAttr(PyTuple_GET_ITEM(self->containers, filled - ne), value_name);
    if (v == nullptr) goto done;
    values[filled] = v;
  }
  take_kept(self, reuse, values, n);
  if (self->compute(values, self->constants, self->thunks, results, reuse) < 0) {
    relocate(self, values, n);
    goto done;
  }
  computed = true;
  out = finish(self, results, values, n);
  if (out != nullptr) keep_outputs(self, results, values, n);
done:
  for (Py_ssize_t i = 0; i < nr; ++i) Py_XDECREF(reuse[i]);
  if (computed) {
    for (Py_ssize_t i = 0; i < nr; ++i) Py_DECREF(results[i]);
  }
  for (Py_ssize_t i = 0; i < filled; ++i) Py_DECREF(values[i]);
  if (values != small) PyMem_Free(values);
  return out;
}

int caller_traverse(PyObject* obj, visitproc visit, void* arg) {
  Caller* self = reinterpret_cast<Caller*>(obj);
  Py_VISIT(self->constants);
  Py_VISIT(self->thunks);
  Py_VISIT(self->containers);
  Py_VISIT(self->updated);
  Py_VISIT(self->copy);
  Py_VISIT(self->keys);
  Py_VISIT(self->general);
  Py_VISIT(self->filter);
  Py_VISIT(self->locate);
  for (Py_ssize_t k = 0; self->prev != nullptr && k < self->n_outputs; ++k) {
    Py_VISIT(self->prev[k]);
  }
  return 0;
}

int caller_clear(PyObject* obj) {
  Caller* self = reinterpret_cast<Caller*>(obj);
  Py_CLEAR(self->constants);
  Py_CLEAR(self->thunks);
  Py_CLEAR(self->containers);
  Py_CLEAR(self->updated);
  Py_CLEAR(self->copy);
  Py_CLEAR(self->keys);
  Py_CLEAR(self->general);
  Py_CLEAR(self->filter);
  Py_CLEAR(self->locate);
  for (Py_ssize_t k = 0; self->prev != nullptr && k < self->n_outputs; ++k) {
    Py_CLEAR(self->prev[k]);
  }
  return 0;
}

void caller_dealloc(PyObject* obj) {
  PyObject_GC_UnTrack(obj);
  caller_clear(obj);
  PyMem_Free(reinterpret_cast<Caller*>(obj)->prev);
  PyObject_GC_Del(obj);
}

PyMemberDef caller_members[] = {
    {"trust_input", T_BOOL, offsetof(Caller, trust_input), 0,
     "skip the argument checks and conversions (compute() still checks dtype and ndim)"},
    {nullptr, 0, 0, 0, nullptr}};

PyTypeObject caller_type = [] {
  PyTypeObject t{PyVarObject_HEAD_INIT(nullptr, 0)};
  t.tp_name = "symcomp_module.Caller";
  t.tp_basicsize = sizeof(Caller);
  t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
  t.tp_doc = "The native call path of one Function.";
  t.tp_call = caller_call;
  t.tp_traverse = caller_traverse;
  t.tp_clear = caller_clear;
  t.tp_dealloc = caller_dealloc;
  t.tp_members = caller_members;
  return t;
}();

}  // namespace

// caller(n_explicit, constants, thunks, containers, updated, copy, result_kind, keys,
//        general, filter, locate) -> Caller, for a module whose compute() takes
// n_explicit + len(containers) values.
inline PyObject* make_caller(PyObject* const* args, Py_ssize_t nargs, Compute compute,
                             const ArgSpec* specs, Py_ssize_t n_inputs, Py_ssize_t n_constants,
                             Py_ssize_t n_nodes, Py_ssize_t n_results) {
  if (nargs != 11 || !PyLong_Check(args[0]) || !PyTuple_Check(args[1]) ||
      !PyTuple_Check(args[2]) || !PyTuple_Check(args[3]) || !PyTuple_Check(args[4]) ||
      !PyBytes_Check(args[5]) || !PyLong_Check(args[6])) {
    PyErr_SetString(PyExc_TypeError, "caller(): bad arguments");
    return nullptr;
  }
  const Py_ssize_t ne = PyLong_AsSsize_t(args[0]);
  const Py_ssize_t n_outputs = PyBytes_GET_SIZE(args[5]);
  const Py_ssize_t n_updates = PyTuple_GET_SIZE(args[4]);
  const long kind = PyLong_AsLong(args[6]);
  if (ne < 0 || ne + PyTuple_GET_SIZE(args[3]) != n_inputs ||
      PyTuple_GET_SIZE(args[1]) != n_constants || PyTuple_GET_SIZE(args[2]) != n_nodes ||
      n_outputs + n_updates != n_results || kind < 0 || kind > 2 ||
      (kind == 1 && n_outputs < 1) ||
      (kind == 2 && (!PyTuple_Check(args[7]) || PyTuple_GET_SIZE(args[7]) != n_outputs))) {
    PyErr_SetString(PyExc_ValueError, "caller(): arguments do not fit this module");
    return nullptr;
  }
  if (value_name == nullptr) {
    value_name = PyUnicode_InternFromString("value");
    if (value_name == nullptr) return nullptr;
  }
  if (caller_type.tp_flags & Py_TPFLAGS_READY ? false : PyType_Ready(&caller_type) < 0) {
    return nullptr;
  }
  Caller* self = PyObject_GC_New(Caller, &caller_type);
  if (self == nullptr) return nullptr;
  self->compute = compute;
  self->specs = specs;
  self->n_explicit = ne;
  self->n_implicit = n_inputs - ne;
  self->n_outputs = n_outputs;
  self->n_updates = n_updates;
  self->result_kind = static_cast<int>(kind);
  self->trust_input = 0;
  self->prev = nullptr;
  PyObject** slots[] = {&self->constants, &self->thunks,  &self->containers, &self->updated,
                        &self->copy,      &self->keys,    &self->general,    &self->filter,
                        &self->locate};
  const int from[] = {1, 2, 3, 4, 5, 7, 8, 9, 10};
  for (int i = 0; i < 9; ++i) {
    Py_INCREF(args[from[i]]);
    *slots[i] = args[from[i]];
  }
  self->prev = static_cast<PyObject**>(PyMem_Calloc(n_outputs + 1, sizeof(PyObject*)));
  if (self->prev == nullptr) {
    Py_DECREF(self);
    return PyErr_NoMemory();
  }
  PyObject_GC_Track(reinterpret_cast<PyObject*>(self));
  return reinterpret_cast<PyObject*>(self);
}

}  // namespace sc
