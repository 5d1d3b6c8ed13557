// SYMCOMP_HD marks a helper usable from both host code and CUDA device code: under nvcc
// (__CUDACC__) it is `__host__ __device__`, elsewhere it is empty. A header whose helpers
// generated scalar code calls marks them with it instead of keeping a device copy.
#pragma once

#if defined(__CUDACC__)
#define SYMCOMP_HD __host__ __device__
#else
#define SYMCOMP_HD
#endif
