"""Scalar math ops: dtype rules, NumPy edge semantics, the scipy-free references, and
every scalar op's C++ expression compiled with the system compiler and compared with its
NumPy implementation on edge values (zero divisors, INT_MIN, NaN, infinities, ties)."""

from __future__ import annotations

import ctypes
import itertools
import shutil
import subprocess

import numpy as np
import pytest
import scipy.special as sp

import symcomp.scalar as ss
from symcomp.scalar.base import SCALAR_OP_REGISTRY, EmitContext
from symcomp.scalar.math import lam
from symcomp.scalar.transcendental import (
    _erf_fallback,
    _erfc_fallback,
    _gammaln_fallback,
    digamma_numpy,
)

DTYPES = (
    "float64",
    "float32",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint64",
    "uint32",
    "uint8",
    "bool",
)
MIXED = [
    ("int8", "float32"),
    ("uint8", "int8"),
    ("int32", "float64"),
    ("bool", "int16"),
    ("float32", "int64"),
    ("uint32", "int32"),
]


# -- dtype rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op,dtype,expected",
    [
        (ss.exp, "int8", "float32"),
        (ss.exp, "bool", "float32"),
        (ss.exp, "int16", "float32"),
        (ss.exp, "int32", "float64"),
        (ss.exp, "uint64", "float64"),
        (ss.erf, "int8", "float32"),
        (ss.gammaln, "float32", "float32"),
        (ss.reciprocal, "int32", "float64"),
        (ss.floor, "int32", "int32"),
        (ss.floor, "bool", "bool"),
        (ss.trunc, "uint8", "uint8"),
        (ss.round_half_to_even, "int64", "int64"),
        (ss.round_half_away_from_zero, "int8", "int8"),
        (ss.round_half_to_even, "bool", "float32"),
        (ss.abs, "bool", "bool"),
        (ss.sqr, "bool", "int8"),
        (ss.isnan, "int8", "bool"),
        (ss.invert, "bool", "bool"),
        (ss.logical_not, "float32", "bool"),
    ],
)
def test_unary_out_dtype(op, dtype, expected):
    assert op.out_dtype(dtype) == expected


@pytest.mark.parametrize(
    "op,dtypes,expected",
    [
        (ss.int_div, ("bool", "bool"), "int8"),
        (ss.int_div, ("int8", "uint8"), "int16"),
        (ss.mod, ("float32", "int64"), "float64"),
        (ss.pow, ("bool", "bool"), "int8"),
        (ss.arctan2, ("int8", "int8"), "float32"),
        (ss.arctan2, ("int32", "float32"), "float64"),
        (ss.minimum, ("bool", "bool"), "bool"),
        (ss.clip, ("int8", "int64", "int8"), "int64"),
        (ss.logical_and, ("float64", "int8"), "bool"),
        (ss.bitwise_or, ("bool", "bool"), "bool"),
    ],
)
def test_nary_out_dtype(op, dtypes, expected):
    assert op.out_dtype(*dtypes) == expected


@pytest.mark.parametrize(
    "op,dtype", [(ss.sign, "bool"), (ss.invert, "float64"), (ss.bitwise_and, "float32")]
)
def test_unsupported_dtypes_are_type_errors(op, dtype):
    with pytest.raises(TypeError, match=type(op).__name__):
        op.out_dtype(*[dtype] * type(op).nin)


def test_ops_are_hashable_values():
    assert ss.IntDiv() == ss.int_div and hash(ss.Clip()) == hash(ss.clip)
    assert ss.exp != ss.exp2
    assert {ss.Sigmoid(), ss.sigmoid} == {ss.sigmoid}


# -- NumPy edge semantics of impl ------------------------------------------------------------


def test_integer_division_by_zero_is_zero():
    x = np.array([7, -7, 0, np.iinfo(np.int32).min], np.int32)
    y = np.array([0, 0, 0, -1], np.int32)
    np.testing.assert_array_equal(
        ss.int_div.impl(x, y, out_dtype="int32"), [0, 0, 0, np.iinfo(np.int32).min]
    )
    np.testing.assert_array_equal(ss.mod.impl(x, y, out_dtype="int32"), [0, 0, 0, 0])


def test_floor_division_and_modulo_signs():
    x = np.array([7.0, -7.0, 7.0, -7.0, -1.0])
    y = np.array([2.0, 2.0, -2.0, -2.0, np.inf])
    np.testing.assert_array_equal(ss.int_div.impl(x, y, out_dtype="float64"), [3, -4, -4, 3, -1])
    np.testing.assert_array_equal(ss.mod.impl(x, y, out_dtype="float64"), [1, 1, -1, -1, np.inf])


def test_integer_negative_power_raises():
    with pytest.raises(ValueError, match="negative integer powers"):
        ss.pow.impl(np.array([2]), np.array([-1]), out_dtype="int64")


def test_round_half_away_from_zero():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994, -0.3, np.nan, np.inf])
    got = ss.round_half_away_from_zero.impl(x, out_dtype="float64")
    np.testing.assert_array_equal(got, [1, 2, 3, -1, -3, 0, -0.0, np.nan, np.inf])
    assert np.signbit(got[6])
    np.testing.assert_array_equal(
        ss.round_half_to_even.impl(x[:5], out_dtype="float64"), [0, 2, 2, -0.0, -2]
    )


def test_sigmoid_softplus_do_not_overflow():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(all="raise"):
        s = ss.sigmoid.impl(x, out_dtype="float64")
    np.testing.assert_allclose(s, sp.expit(x), rtol=1e-15)
    np.testing.assert_allclose(ss.softplus.impl(x, out_dtype="float64"), np.logaddexp(0, x))
    assert ss.sigmoid.impl(x.astype("float32"), out_dtype="float32").dtype == np.float32


def test_sign_of_zero_and_nan():
    got = ss.sign.impl(np.array([-0.0, 0.0, np.nan, -3.0]), out_dtype="float64")
    np.testing.assert_array_equal(got, [0, 0, np.nan, -1])
    assert not np.signbit(got[0])


# -- the scipy-free references ----------------------------------------------------------------


def test_digamma_numpy_matches_scipy():
    x = np.concatenate([np.linspace(-9.7, 30, 4001), [1e-8, 1e-300, 1e6, 0.5, 2.0, 1.4616]])
    x = x[np.abs(x - np.round(x)) > 1e-6]  # near the poles both are huge and ill-conditioned
    np.testing.assert_allclose(digamma_numpy(x), sp.psi(x), rtol=1e-12, atol=1e-13)


def test_digamma_numpy_poles_and_dtype():
    x = np.array([0.0, -0.0, -1.0, -7.0, np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(digamma_numpy(x), sp.psi(x))
    assert digamma_numpy(np.float32([1.5])).dtype == np.float32
    assert digamma_numpy(np.float64(3.0)).shape == ()


@pytest.mark.parametrize(
    "fallback,oracle",
    [(_erf_fallback, sp.erf), (_erfc_fallback, sp.erfc), (_gammaln_fallback, sp.gammaln)],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_special_fallbacks_match_scipy(fallback, oracle, dtype):
    x = np.concatenate([np.linspace(-6, 12, 301), [0.0, -1.0, -2.0, np.inf, np.nan]])
    if oracle is sp.gammaln:
        x = x[x != -np.inf]
    x = x.astype(dtype)
    got = fallback(x)
    assert got.dtype == np.dtype(dtype)
    rtol = 1e-13 if dtype == "float64" else 1e-6
    np.testing.assert_allclose(got, oracle(x), rtol=rtol, atol=rtol)
    assert fallback(x[3]).shape == ()


# -- C++ expressions --------------------------------------------------------------------------


def test_lam_names_each_argument_once():
    ctx = EmitContext(("int8", "float32"), "float32")
    expr = lam(ctx, "T m = a; return m + b;", ("x[i]", "y[i]"))
    assert expr == (
        "([](float a, float b) -> float { float m = a; return m + b; }"
        "(static_cast<float>(x[i]), y[i]))"
    )


def test_cuda_dialect_uses_float_functions():
    ctx = EmitContext(("float32",), "float32", dialect="cuda")
    assert ss.exp.c_expr(ctx, "x") == "expf(x)"
    assert "fmodf(" in ss.mod.c_expr(
        EmitContext(("float32", "float32"), "float32", "cuda"), "x", "y"
    )


def _edge_values(dtype):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return np.array([False, True])
    if dt.kind in "iu":
        info = np.iinfo(dt)
        pool = [info.min, info.max, info.max - 1, 0, 1, 2, 3, 7, 100]
        if dt.kind == "i":
            pool += [info.min + 1, -1, -2, -3, -7]
        return np.unique(np.array(pool, dtype=np.int64 if dt.kind == "i" else np.uint64).astype(dt))
    return np.array(
        [
            np.nan,
            np.inf,
            -np.inf,
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -2.5,
            2.5,
            1.0,
            -1.0,
            3.7,
            -3.7,
            0.3,
            1e-30,
            -1e-30,
            88.0,
            700.0,
            -750.0,
            12.25,
        ],
        dtype=dt,
    )


def _instances(group):
    for cls in SCALAR_OP_REGISTRY:
        if (cls.__module__ == "symcomp.scalar.arith") != (group == "arith"):
            continue
        if cls is ss.Cast:
            yield from (ss.Cast(d) for d in DTYPES)
        else:
            yield cls()


def _signatures(op):
    nin = type(op).nin
    combos = [(d,) * nin for d in DTYPES]
    if nin == 2:
        combos += MIXED
    if nin == 3:
        combos += [
            ("bool", "float32", "int8"),
            ("int8", "int32", "int64"),
            ("float32", "int8", "float64"),
        ]
    for dtypes in combos:
        try:
            out = op.out_dtype(*dtypes)
        except TypeError:
            continue
        yield dtypes, out


def _inputs(op, dtypes):
    pools = [_edge_values(d) for d in dtypes]
    if len(pools) == 3:  # a sample of the triples keeps the test fast
        rng = np.random.default_rng(0)
        cols = [rng.choice(p, size=400) for p in pools]
    else:
        grids = np.meshgrid(*pools, indexing="ij")
        cols = [g.ravel() for g in grids]
    if (
        isinstance(op, ss.Cast)
        and np.dtype(op.dtype).kind in "iu"
        and np.dtype(dtypes[0]).kind == "f"
    ):
        info = np.iinfo(op.dtype)  # out-of-range float -> int is undefined in C++ (NumPy warns)
        keep = np.isfinite(cols[0]) & (cols[0] > info.min - 1.0) & (cols[0] < info.max + 1.0)
        cols = [c[keep] for c in cols]
    if (
        isinstance(op, ss.Pow)
        and np.dtype(dtypes[1]).kind in "iub"
        and np.dtype(op.out_dtype(*dtypes)).kind != "f"
    ):
        keep = cols[1] >= 0  # NumPy raises for negative integer exponents
        cols = [c[keep] for c in cols]
    return [np.ascontiguousarray(c) for c in cols]


def _kernels(group):
    for op in _instances(group):
        for dtypes, out in _signatures(op):
            yield op, dtypes, out


@pytest.fixture(
    scope="module",
    params=[
        "math",
        "arith",
    ],
)
def compiled(request, tmp_path_factory):
    cxx = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    kernels = list(_kernels(request.param))
    lines = ["#include <cmath>", "#include <cstdint>"]
    for k, (op, dtypes, out) in enumerate(kernels):
        ctx = EmitContext(tuple(dtypes), out)
        params = ", ".join(f"const {ctx.ctype(d)}* in{j}" for j, d in enumerate(dtypes))
        expr = op.c_expr(ctx, *(f"in{j}[i]" for j in range(len(dtypes))))
        lines.append(
            f'extern "C" void k{k}({params}, {ctx.ctype(out)}* out, std::int64_t n)'
            f" {{ for (std::int64_t i = 0; i < n; ++i) out[i] = {expr}; }}"
        )
    tmp = tmp_path_factory.mktemp("cexpr")
    src, lib = tmp / "kernels.cpp", tmp / "kernels.so"
    src.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [cxx, "-std=c++17", "-O2", "-shared", "-fPIC", "-w", str(src), "-o", str(lib)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{src} does not compile:\n{result.stderr[-4000:]}"
    return kernels, ctypes.CDLL(str(lib))


@pytest.mark.cxx
@pytest.mark.slow
def test_c_expressions_match_numpy(compiled):
    kernels, lib = compiled
    failures = []
    for k, (op, dtypes, out) in enumerate(kernels):
        inputs = _inputs(op, dtypes)
        expected = op.impl(*inputs, out_dtype=out)
        got = np.empty(len(inputs[0]), dtype=out)
        ptrs = [a.ctypes.data_as(ctypes.c_void_p) for a in inputs + [got]]
        getattr(lib, f"k{k}")(*ptrs, ctypes.c_int64(len(got)))
        if np.dtype(out).kind == "f":
            tol = 1e-13 if out == "float64" else 2e-6
            bad = ~np.isclose(got, expected, rtol=tol, atol=tol, equal_nan=True)
        else:
            bad = got != expected
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            args = ", ".join(repr(a[j]) for a in inputs)
            failures.append(
                f"{op}{dtypes}->{out}: ({args}) gives {got[j]!r}, NumPy {expected[j]!r}"
            )
    assert not failures, "\n".join(failures)


def test_every_scalar_op_has_a_c_expression():
    for op, dtypes, out in itertools.chain(_kernels("math"), _kernels("arith")):
        expr = op.c_expr(EmitContext(tuple(dtypes), out), *(f"x{j}" for j in range(len(dtypes))))
        assert isinstance(expr, str) and expr
