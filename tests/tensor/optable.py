"""The op table: one row (Case) per op. test_op_table.py runs every row generically.

A row says how to build the op symbolically (``fn``), the NumPy reference (``ref``),
which input shapes and dtypes to try, the input domain and whether to check gradients.
The generic test compares the py-mode result with the reference (dtype, shape, values),
for contiguous and non-contiguous inputs, checks each node's infer_shape, and runs
verify_grad in float64. Every op class registered in symcomp (OP_REGISTRY) and every
scalar op (SCALAR_OP_REGISTRY) must appear in some row's graph, or the suite fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

FLOATS = ("float64", "float32")
INTS = ("int64", "int32", "int16", "int8", "uint8")
ALL_DTYPES = FLOATS + INTS + ("bool",)


@dataclass
class Case:
    """One row of the op table.

    name:    test id (unique).
    fn:      fn(*input_variables) -> Variable or list of Variables (symbolic).
    ref:     ref(*arrays) -> array or list of arrays (NumPy).
    shapes:  list of shape sets, one shape per input: [((3, 4), (4,)), ((0, 4), (4,))].
    dtypes:  dtypes to try; each entry is one dtype for all inputs or a tuple per input.
    domain:  (low, high) for generated values; integer dtypes use the same range (clipped
             to the dtype), bool is random.
    inputs:  optional generator inputs(rng, dtypes, shapes) -> list of arrays, replacing the
             default one (use it for indices, positive-definite inputs, ...).
    grad:    run verify_grad (float64 only) on the float inputs.
    grad_inputs: indices of the inputs to differentiate (default: every float input).
    rtol/atol: tolerances for the value comparison (default from the dtype).
    noncontig: also try non-contiguous views of the inputs.
    static_shape: build the symbolic inputs with the arrays' static shapes instead of None.
    """

    name: str
    fn: Callable
    ref: Callable
    shapes: Sequence[tuple]
    dtypes: Sequence = FLOATS
    domain: tuple = (-2.0, 2.0)
    inputs: Callable | None = None
    grad: bool = True
    grad_inputs: Sequence[int] | None = None
    rtol: float | None = None
    atol: float | None = None
    noncontig: bool = True
    static_shape: bool = False
    marks: tuple = field(default_factory=tuple)


def gen_inputs(case: Case, rng: np.random.Generator, dtypes: tuple, shapes: tuple) -> list:
    """Default input generator: uniform in case.domain, cast to each dtype."""
    if case.inputs is not None:
        return case.inputs(rng, dtypes, shapes)
    low, high = case.domain
    out = []
    for dtype, shape in zip(dtypes, shapes):
        dt = np.dtype(dtype)
        if dt.kind == "b":
            out.append(rng.random(shape) < 0.5)
        elif dt.kind in "iu":
            info = np.iinfo(dt)
            lo, hi = max(int(np.floor(low)), info.min), min(int(np.ceil(high)), info.max)
            out.append(rng.integers(lo, hi + 1, size=shape).astype(dt))
        else:
            out.append(rng.uniform(low, high, size=shape).astype(dt))
    return out
