"""Host-side launch description of the CUDA elementwise kernels: which kernel, grid and block,
and its arguments for concrete array layouts.

Everything here is plain Python and NumPy (no GPU, no pycuda), so it is tested everywhere. A
runtime passes its own device pointers (pycuda ``DeviceAllocation``s, ``np.uintp`` values)
to ``Launch.arguments``; every other argument is a NumPy scalar or a by-value ``Dims``
struct (``np.void``), each 8-byte aligned, as pycuda packs kernel arguments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from symcomp.codegen.cuda.elemwise import MAX_RANK, CudaElemwiseKernel, CudaUnsupportedError

__all__ = [
    "DIMS_DTYPE",
    "ArrayLayout",
    "Launch",
    "broadcast_strides",
    "collapse_dims",
    "dims_value",
    "launch_config",
    "plan_launch",
]

# sc::cuda::Dims in templates/include/symcomp/cuda_elemwise.cuh.
DIMS_DTYPE = np.dtype([("v", np.int64, (MAX_RANK,))])
BLOCK = 256
MAX_GRID = 65536  # enough blocks to fill any current GPU; the grid-stride loop does the rest


@dataclass(frozen=True)
class ArrayLayout:
    """An array's shape and strides, the strides counted in elements (not bytes)."""

    shape: tuple
    strides: tuple

    @classmethod
    def of(cls, array) -> ArrayLayout:
        """The layout of anything with ``shape``, ``strides`` (bytes) and ``itemsize``
        (a NumPy array, a pycuda GPUArray). Raises ``ValueError`` for strides that are not
        a multiple of the item size (an unaligned view)."""
        itemsize = array.itemsize if hasattr(array, "itemsize") else array.dtype.itemsize
        strides = tuple(int(s) for s in array.strides)
        if any(s % itemsize for s in strides):
            raise ValueError(f"strides {strides} are not multiples of the item size {itemsize}")
        return cls(tuple(int(n) for n in array.shape), tuple(s // itemsize for s in strides))

    @classmethod
    def contiguous(cls, shape: Sequence[int]) -> ArrayLayout:
        """The C-contiguous layout of ``shape``."""
        shape = tuple(int(n) for n in shape)
        strides, step = [], 1
        for n in reversed(shape):
            strides.append(step)
            step *= max(n, 1)
        return cls(shape, tuple(reversed(strides)))

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def is_contiguous(self) -> bool:
        """C-contiguous: every dim of length > 1 has the stride of a dense row-major array."""
        step = 1
        for n, s in zip(reversed(self.shape), reversed(self.strides)):
            if n != 1 and s != step:
                return False
            step *= n
        return True


def broadcast_strides(layout: ArrayLayout, out_shape: Sequence[int]) -> tuple:
    """``layout``'s strides over ``out_shape``, NumPy's way: dims align on the right, missing
    and length-1 dims get stride 0. Raises ``ValueError`` when the shapes do not broadcast."""
    out_shape = tuple(out_shape)
    if len(layout.shape) > len(out_shape):
        raise ValueError(f"shape {layout.shape} has more dims than the output {out_shape}")
    pad = len(out_shape) - len(layout.shape)
    strides = [0] * pad
    for n, s, m in zip(layout.shape, layout.strides, out_shape[pad:]):
        if n == m and n != 1:
            strides.append(s)
        elif n == 1:
            strides.append(0)
        else:
            raise ValueError(f"shape {layout.shape} does not broadcast to {out_shape}")
    return tuple(strides)


def collapse_dims(shape: Sequence[int], strides: Sequence[Sequence[int]]) -> tuple:
    """``(shape, strides)`` with length-1 dims dropped and neighbouring dims merged where
    every array steps through them as through one dim (``s[d] == s[d+1] * shape[d+1]``).
    Indexing the result visits the same elements in the same order; at least one dim."""
    keep = [d for d, n in enumerate(shape) if n != 1]
    dims = [int(shape[d]) for d in keep]
    cols = [[int(s[d]) for d in keep] for s in strides]
    d = len(dims) - 2
    while d >= 0:
        if all(c[d] == c[d + 1] * dims[d + 1] for c in cols):
            dims[d] *= dims.pop(d + 1)
            for c in cols:
                c[d] = c.pop(d + 1)
        d -= 1
    if not dims:
        return (1,), tuple((0,) for _ in strides)
    return tuple(dims), tuple(tuple(c) for c in cols)


def dims_value(values: Sequence[int]) -> np.void:
    """A ``sc::cuda::Dims`` argument holding ``values`` (unused entries 0)."""
    if len(values) > MAX_RANK:
        raise CudaUnsupportedError(f"{len(values)} dims; CUDA kernels handle at most {MAX_RANK}")
    struct = np.zeros((), dtype=DIMS_DTYPE)
    struct["v"][: len(values)] = values
    return struct[()]


def launch_config(n: int, block: int = BLOCK, max_grid: int = MAX_GRID) -> tuple[int, int]:
    """``(grid, block)`` for ``n`` elements: one thread per element up to ``max_grid`` blocks;
    beyond that each thread loops (grid-stride). ``grid`` is 0 for ``n == 0`` (no launch)."""
    if n < 0 or block <= 0 or max_grid <= 0:
        raise ValueError(f"invalid launch: n={n}, block={block}, max_grid={max_grid}")
    return min(-(-n // block), max_grid), block


@dataclass(frozen=True)
class Launch:
    """One kernel call: ``function`` over ``n`` elements with ``grid`` x ``block`` threads.

    For the strided kernel, ``shape`` is the collapsed shape, ``strides[k]`` input k's
    strides over it (None for inputs read once) and ``out_strides`` the output's.
    """

    function: str
    n: int
    grid: int
    block: int
    strided: bool
    shape: tuple = ()
    strides: tuple = ()
    out_strides: tuple = ()

    @property
    def empty(self) -> bool:
        """Nothing to compute (a size-0 output): do not launch."""
        return self.n == 0

    def arguments(self, in_pointers: Sequence, out_pointer) -> list:
        """The kernel's arguments, in its parameter order, around the given pointers."""
        n = np.int64(self.n)
        if not self.strided:
            return [n, *in_pointers, out_pointer]
        args: list = [n, np.int64(len(self.shape)), dims_value(self.shape)]
        for pointer, strides in zip(in_pointers, self.strides, strict=True):
            args.append(pointer)
            if strides is not None:
                args.append(dims_value(strides))
        return [*args, out_pointer, dims_value(self.out_strides)]


def plan_launch(
    kernel: CudaElemwiseKernel,
    inputs: Sequence[ArrayLayout],
    out: ArrayLayout,
    block: int = BLOCK,
    max_grid: int = MAX_GRID,
) -> Launch:
    """The launch of ``kernel`` for inputs and output of these layouts: the contiguous
    kernel when the output and every array input are C-contiguous with the output's size,
    else the strided one over the collapsed broadcast shape. Raises ``ValueError`` when the
    inputs do not broadcast to the output, or their number is wrong."""
    if len(inputs) != len(kernel.in_dtypes):
        raise ValueError(f"{kernel.name} takes {len(kernel.in_dtypes)} inputs, got {len(inputs)}")
    n = out.size
    grid, block = launch_config(n, block, max_grid)
    arrays = [inputs[k] for k in kernel.arrays]
    for layout in arrays:
        broadcast_strides(layout, out.shape)  # raises when the shapes are incompatible
    if out.is_contiguous() and all(a.is_contiguous() and a.size == n for a in arrays):
        return Launch(kernel.contig_function, n, grid, block, strided=False)
    columns = [broadcast_strides(layout, out.shape) for layout in arrays]
    shape, collapsed = collapse_dims(out.shape, [*columns, out.strides])
    if len(shape) > MAX_RANK:
        raise CudaUnsupportedError(
            f"{kernel.name}: after merging dims the layout still has {len(shape)} dims; CUDA "
            f"kernels handle at most {MAX_RANK}"
        )
    by_input = dict(zip(kernel.arrays, collapsed[:-1]))
    strides = tuple(by_input.get(k) for k in range(len(inputs)))
    return Launch(kernel.strided_function, n, grid, block, True, shape, strides, collapsed[-1])
