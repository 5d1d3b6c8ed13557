"""The CUDA backend's code generation: elementwise kernels rendered from the same scalar C++
as the CPU backend (through the CUDA Dialect), their launch description, and nvcc.

Kernels are rendered and compiled (``compile_cuda``); ``symcomp.function`` does not launch
them yet (see docs/cuda.md).
"""
