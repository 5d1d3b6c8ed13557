// Helpers of the generated CUDA elementwise kernels (templates/cuda/elemwise.cu.j2).
// Compiled by nvcc only. The launch description in symcomp/codegen/cuda/launch.py mirrors
// SYMCOMP_CUDA_MAX_RANK and the layout of Dims, which it passes by value.
#pragma once

#include <cstdint>

#include <symcomp/hostdevice.hpp>

#define SYMCOMP_CUDA_MAX_RANK 8

namespace sc {
namespace cuda {

// One value per dimension (a shape, or one array's strides in elements), passed by value
// as a kernel parameter, so reading it costs no global-memory load. Entries past the
// launch's rank are unused.
struct Dims {
  long long v[SYMCOMP_CUDA_MAX_RANK];
};

// The first index a thread handles and the grid-stride step, both 64-bit, so arrays of
// more than 2**31 elements are indexed without overflow.
__device__ inline long long first_index() {
  return static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
}

__device__ inline long long grid_stride() {
  return static_cast<long long>(blockDim.x) * gridDim.x;
}

}  // namespace cuda
}  // namespace sc
