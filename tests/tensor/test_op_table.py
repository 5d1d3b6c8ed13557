"""The generic op-table test: every row of every tests/tensor/optable_*.py module.

For each row, dtype and shape set: the py-mode result against the NumPy reference
(dtype, shape, values), the same with non-contiguous inputs, every node's infer_shape
against the real shapes, and verify_grad in float64. A registered op (or scalar op) that
no row exercises fails test_every_op_has_a_row.
"""

from __future__ import annotations

import importlib
import pathlib
import zlib

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.graph import OP_REGISTRY, ancestors
from symcomp.scalar import SCALAR_OP_REGISTRY
from tests.tensor.optable import Case, gen_inputs

HERE = pathlib.Path(__file__).parent


def _load_cases() -> list[Case]:
    cases = []
    for path in sorted(HERE.glob("optable_*.py")):
        module = importlib.import_module(f"tests.tensor.{path.stem}")
        cases.extend(module.CASES)
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate op-table row names: {sorted(dup)}"
    return cases


CASES = _load_cases()


def _dtype_tuple(case, dtype, n):
    return tuple(dtype) if isinstance(dtype, (tuple, list)) else (dtype,) * n


def _params():
    for case in CASES:
        for d in case.dtypes:
            for k, shapes in enumerate(case.shapes):
                did = "-".join(d) if isinstance(d, (tuple, list)) else d
                yield pytest.param(
                    case, d, shapes, id=f"{case.name}-{did}-s{k}", marks=list(case.marks)
                )


def _symbolic_inputs(case, arrays):
    return [
        st.tensor(a.dtype, a.shape if case.static_shape else (None,) * a.ndim, name=f"in{k}")
        for k, a in enumerate(arrays)
    ]


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _rng(*parts):
    return np.random.default_rng(zlib.crc32(repr(parts).encode()))


def _noncontiguous(a: np.ndarray) -> np.ndarray:
    """A strided view holding the same values as ``a``."""
    if a.ndim == 0 or a.size == 0:
        return a
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    big[..., ::2] = a
    view = big[..., ::2]
    assert not view.flags.c_contiguous or a.shape[-1] <= 1
    return view


def _check_close(case, got, expected, label):
    expected = np.asarray(expected)
    assert isinstance(got, np.ndarray), f"{label}: got {type(got).__name__}, not an ndarray"
    assert got.dtype == expected.dtype, f"{label}: dtype {got.dtype}, NumPy gives {expected.dtype}"
    assert got.shape == expected.shape, f"{label}: shape {got.shape}, NumPy gives {expected.shape}"
    if expected.dtype.kind in "fc":
        tight = expected.dtype == np.float64
        rtol = case.rtol if case.rtol is not None else (1e-7 if tight else 1e-5)
        atol = case.atol if case.atol is not None else (1e-12 if tight else 1e-6)
        np.testing.assert_allclose(
            got, expected, rtol=rtol, atol=atol, equal_nan=True, err_msg=label
        )
    else:
        np.testing.assert_array_equal(got, expected, err_msg=label)


def _has_cxx() -> bool:
    from symcomp.codegen.toolchain import find_compiler

    return find_compiler() is not None


# Ops that may still run their Python perform from inside a native module (none now).
PYTHON_ONLY_OPS: set[str] = set()

_NATIVE = [pytest.mark.cxx, pytest.mark.skipif(not _has_cxx(), reason="no C++ compiler")]


def _value_params():
    """Every row, dtype and shape set in py mode. Native mode (one compiled module per
    distinct graph, about a second each) runs each row's first dtype with the shape sets of
    the first set's ndims, which share one module; the scalar ops' C++ is checked on every
    dtype by tests/scalar/test_scalar_math.py."""
    for param in _params():
        yield pytest.param(*param.values, "py", id=param.id, marks=param.marks)
    for case in CASES:
        d = case.dtypes[0]
        did = "-".join(d) if isinstance(d, (tuple, list)) else d
        ndims = [len(s) for s in case.shapes[0]]
        for k, shapes in enumerate(case.shapes):
            if k == 0 or (not case.static_shape and [len(s) for s in shapes] == ndims):
                yield pytest.param(
                    case,
                    d,
                    shapes,
                    "native",
                    id=f"{case.name}-{did}-s{k}-native",
                    marks=list(case.marks) + _NATIVE,
                )


@pytest.mark.parametrize("case,dtype,shapes,mode", list(_value_params()))
def test_values(case: Case, dtype, shapes, mode):
    dtypes = _dtype_tuple(case, dtype, len(shapes))
    arrays = gen_inputs(case, _rng(case.name, dtype, shapes), dtypes, shapes)
    inputs = _symbolic_inputs(case, arrays)
    outputs = _as_list(case.fn(*inputs))
    with np.errstate(all="ignore"):
        expected = _as_list(case.ref(*[a.copy() for a in arrays]))
    fn = sc.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    if mode == "native":
        python_only = {type(n.op).__name__ for n in fn.runner.fallback_nodes} - PYTHON_ONLY_OPS
        assert not python_only, f"{case.name}: no C++ for {sorted(python_only)}"
    before = [a.copy() for a in arrays]
    got = fn(*arrays)
    for k, (g, e) in enumerate(zip(got, expected)):
        _check_close(case, g, e, f"{case.name} output {k}")
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b, err_msg="an input was modified")
    if case.noncontig:
        got = fn(*[_noncontiguous(a) for a in arrays])
        for k, (g, e) in enumerate(zip(got, expected)):
            _check_close(case, g, e, f"{case.name} output {k} (non-contiguous inputs)")
    if mode == "py":  # infer_shape does not depend on the mode
        _check_infer_shape(fn, arrays)


def _check_infer_shape(fn, arrays):
    """Each node's infer_shape, evaluated on the real inputs, equals the real shapes."""
    fgraph = fn.maker.fgraph
    explicit = fgraph.inputs[: fn.n_explicit]
    symbolic, actual = [], []
    for node in fgraph.apply_nodes:
        in_shapes = [st.shape_tuple(i) for i in node.inputs]
        out_shapes = node.op.infer_shape(node, in_shapes)
        assert len(out_shapes) == len(node.outputs), f"{node.op}.infer_shape: wrong count"
        for out, shp in zip(node.outputs, out_shapes):
            assert len(shp) == out.ndim, f"{node.op}.infer_shape gave {len(shp)} dims"
            symbolic.extend(st.as_tensor_variable(s) for s in shp)
            actual.extend(st.shape_i(out, d) for d in range(out.ndim))
    if not symbolic:
        return
    check = sc.function(
        explicit,
        symbolic + [st.as_tensor_variable(a) for a in actual],
        mode="py",
        on_unused_input="ignore",
    )
    values = check(*arrays)
    n = len(symbolic)
    inferred, real = values[:n], values[n:]
    assert [int(v) for v in inferred] == [int(v) for v in real], "infer_shape mismatch"


def _grad_params():
    for case in CASES:
        if not case.grad:
            continue
        for k, shapes in enumerate(case.shapes):
            if all(np.prod(s, dtype=int) > 0 for s in shapes):
                yield pytest.param(case, shapes, id=f"{case.name}-s{k}", marks=list(case.marks))


@pytest.mark.parametrize("case,shapes", list(_grad_params()))
def test_grad(case: Case, shapes):
    dtypes = tuple(
        "float64" if np.dtype(d).kind == "f" else d
        for d in _dtype_tuple(case, case.dtypes[0], len(shapes))
    )
    arrays = gen_inputs(case, _rng(case.name, "grad", shapes), dtypes, shapes)
    free = (
        case.grad_inputs
        if case.grad_inputs is not None
        else [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
    )
    fixed = {k: st.constant(a) for k, a in enumerate(arrays) if k not in free}

    def fn(*vars_):
        it = iter(vars_)
        args = [fixed[k] if k in fixed else next(it) for k in range(len(arrays))]
        outs = [o for o in _as_list(case.fn(*args)) if o.dtype.startswith("float")]
        if len(outs) == 1:
            return outs[0]
        total = outs[0].sum()
        for j, o in enumerate(outs[1:], start=2):
            total = total + o.sum() * j
        return total

    sc.verify_grad(fn, [arrays[k] for k in free], mode="py")


def _ops_in(outputs) -> set:
    found = set()
    for var in ancestors(outputs):
        if var.owner is not None:
            op = var.owner.op
            found.add(type(op))
            scalar_op = getattr(op, "scalar_op", None)
            if scalar_op is not None:
                found.add(type(scalar_op))
    return found


def test_every_op_has_a_row():
    covered: set = set()
    for case in CASES:
        shapes = case.shapes[0]
        dtypes = _dtype_tuple(case, case.dtypes[0], len(shapes))
        arrays = gen_inputs(case, _rng(case.name), dtypes, shapes)
        inputs = _symbolic_inputs(case, arrays)
        outs = _as_list(case.fn(*inputs))
        covered |= _ops_in(outs)
        floats = [i for i in inputs if i.dtype.startswith("float")]
        if case.grad and floats:
            cost = sum((o.sum() for o in outs if o.dtype.startswith("float")), start=0.0)
            covered |= _ops_in(sc.grad(cost, floats, disconnected_inputs="ignore"))
    registered = {
        c for c in OP_REGISTRY + SCALAR_OP_REGISTRY if c.__module__.startswith("symcomp.")
    }
    missing = sorted(c.__qualname__ for c in registered - covered)
    assert not missing, f"ops with no row in tests/tensor/optable_*.py: {missing}"
