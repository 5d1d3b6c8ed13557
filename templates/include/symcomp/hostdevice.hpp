// Function attributes shared by symcomp's headers.
//
// SYMCOMP_HD marks a helper usable from both host code and CUDA device code: under nvcc
// (__CUDACC__) it is `__host__ __device__`, elsewhere it is empty. A header whose helpers
// generated scalar code calls marks them with it instead of keeping a device copy.
//
// SYMCOMP_COLD marks host code that runs rarely (error reporting, fallbacks) or costs little
// next to what it calls (BLAS argument handling, a reduction's set-up): GCC and clang compile
// it for size, never inline it, and treat the paths leading to it as unlikely. Hot loops never
// carry it. It is about compile time: -O3 unrolls and vectorizes such code for nothing, and
// inlining it copies it into every node function that calls it.
#pragma once

#if defined(__CUDACC__)
#define SYMCOMP_HD __host__ __device__
#else
#define SYMCOMP_HD
#endif

#if defined(__GNUC__) && !defined(__CUDACC__)
#define SYMCOMP_COLD __attribute__((cold, noinline))
#else
#define SYMCOMP_COLD
#endif
