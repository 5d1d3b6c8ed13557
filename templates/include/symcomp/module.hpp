// The prelude of every generated CPU module: Python, NumPy's C API and symcomp's helpers.
// A generated source includes it first and nothing before it, so it can be precompiled once
// per compiler and flags (most of a small module's compile time is parsing these headers).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <cstdint>

#include <symcomp/ndarray.hpp>
#include <symcomp/caller.hpp>
#include <symcomp/simd_math.hpp>
