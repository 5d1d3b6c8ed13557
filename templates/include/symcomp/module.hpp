// The prelude of every generated CPU module: Python, NumPy's C API and symcomp's helpers.
// A generated source includes it first and nothing before it, so it can be precompiled once
// per compiler and flags (most of a small module's compile time is parsing these headers).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif

// A node function of a module split into several translation units: external, so the glue
// unit can call it, but hidden, so it never leaves the module.
#define SC_NODE __attribute__((visibility("hidden")))

#include <symcomp/ndarray.hpp>
#include <symcomp/caller.hpp>
#include <symcomp/simd_math.hpp>

namespace sc {
// f(lo, hi) over [0, n) in one contiguous part per OpenMP thread, as schedule(static) splits
// a loop; f(0, n) without OpenMP. A kernel's loop lives in f once, for this and a serial call.
template <class F>
inline void parallel_ranges(npy_intp n, const F& f) {
#ifdef _OPENMP
#pragma omp parallel
  {
    const npy_intp t = omp_get_thread_num(), nt = omp_get_num_threads();
    const npy_intp q = n / nt, r = n % nt, lo = t * q + (t < r ? t : r);
    f(lo, lo + q + (t < r ? 1 : 0));
  }
#else
  f(0, n);
#endif
}
}  // namespace sc
