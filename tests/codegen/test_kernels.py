"""The C++ kernels of templates/include/symcomp (reduce.hpp, blas.hpp) against NumPy.

A small shared library instantiating the kernels for several dtypes is compiled once per test
session and called through ctypes with NumPy arrays of every layout: non-contiguous,
negative strides, transposed, size 0 and 1, NaNs, keepdims and non-contiguous outputs.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from symcomp.codegen.templates import templates_dir

pytestmark = pytest.mark.cxx

_CXX = shutil.which("g++") or shutil.which("clang++")

# Kernel instances: (name, combiner, input C type, output C type).
_REDUCE = [
    ("sum", "SumOp", "float64", "float64"),
    ("sum", "SumOp", "float32", "float32"),
    ("sum", "SumOp", "float32", "float64"),
    ("sum", "SumOp", "int8", "int64"),
    ("sum", "SumOp", "int8", "int8"),
    ("sum", "SumOp", "int32", "int64"),
    ("sum", "SumOp", "int64", "int64"),
    ("sum", "SumOp", "uint8", "uint64"),
    ("sum", "SumOp", "bool", "int64"),
    ("prod", "ProdOp", "float64", "float64"),
    ("prod", "ProdOp", "int32", "int64"),
    ("prod", "ProdOp", "int64", "int64"),
    ("prod", "ProdOp", "int16", "int16"),
    ("max", "MaxOp", "float64", "float64"),
    ("max", "MaxOp", "float32", "float32"),
    ("max", "MaxOp", "int32", "int32"),
    ("max", "MaxOp", "uint8", "uint8"),
    ("max", "MaxOp", "bool", "bool"),
    ("min", "MinOp", "float64", "float64"),
    ("min", "MinOp", "float32", "float32"),
    ("min", "MinOp", "int64", "int64"),
    ("min", "MinOp", "bool", "bool"),
    ("all", "AllOp", "float64", "bool"),
    ("all", "AllOp", "int32", "bool"),
    ("all", "AllOp", "bool", "bool"),
    ("any", "AnyOp", "float64", "bool"),
    ("any", "AnyOp", "int32", "bool"),
    ("any", "AnyOp", "bool", "bool"),
]
_ARG = ["float64", "float32", "int32", "bool", "uint8"]
_CT = {
    "float64": "double",
    "float32": "float",
    "int8": "std::int8_t",
    "int16": "std::int16_t",
    "int32": "std::int32_t",
    "int64": "std::int64_t",
    "uint8": "std::uint8_t",
    "uint64": "std::uint64_t",
    "bool": "bool",
}


def _fn(kind, inp, out):
    return f"{kind}_{inp}_{out}"


def _source() -> str:
    lines = [
        '#include "symcomp/reduce.hpp"',
        "using symcomp::i64;",
        "static i64 minpar = symcomp::kReduceMinParallel;",
        'extern "C" void set_min_parallel(i64 v) { minpar = v; }',
        "#define ARGS int nd, const i64* shape, const char* x, const i64* xs, char* out, "
        "const i64* os, const bool* red",
    ]
    for name, op, inp, out in _REDUCE:
        combiner = f"symcomp::{op}" if op in ("AllOp", "AnyOp") else f"symcomp::{op}<{_CT[out]}>"
        lines.append(
            f'extern "C" void {_fn(name, inp, out)}(ARGS) {{ symcomp::reduce_array<{combiner}, '
            f"{_CT[inp]}>(nd, shape, x, xs, out, os, red, minpar); }}"
        )
    for inp in _ARG:
        for name, flag in (("argmax", "true"), ("argmin", "false")):
            lines.append(
                f'extern "C" int {name}_{inp}(ARGS) {{ return symcomp::argreduce<{_CT[inp]}, '
                f"{flag}>(nd, shape, x, xs, out, os, red, minpar); }}"
            )
    # A fused map: sum(x * y) with y broadcast through its strides, read once.
    lines += [
        "struct MulMap {",
        "  static constexpr int nin = 2;",
        "  using type = double;",
        "  bool unit(const i64* s) const { return symcomp::unit<double, double>(s); }",
        "  template <bool C> double get(const char* const* p, const i64* s, i64 i) const {",
        "    return symcomp::rd<double, C>(p[0], s[0], i) * symcomp::rd<double, C>(p[1], s[1], i);",
        "  }",
        "};",
        'extern "C" void sum_mul(int nd, const i64* shape, const char* x, const i64* xs, '
        "const char* y, const i64* ys, char* out, const i64* os, const bool* red) {",
        "  const char* in[2] = {x, y}; const i64* st[2] = {xs, ys};",
        "  symcomp::reduce<symcomp::SumOp<double>>(MulMap{}, nd, shape, in, st, out, os, red, "
        "minpar);",
        "}",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    if _CXX is None:
        pytest.skip("no C++ compiler")
    d = tmp_path_factory.mktemp("kernels")
    src, so = d / "kernels.cpp", d / "kernels.so"
    src.write_text(_source())
    cmd = [_CXX, "-O2", "-march=native", "-fopenmp", "-std=c++17", "-shared", "-fPIC"]
    cmd += ["-Wall", "-Werror", "-I", str(templates_dir() / "include"), str(src), "-o", str(so)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return ctypes.CDLL(str(so))


def _i64(values):
    return np.ascontiguousarray(values, dtype=np.int64)


def _ptr(a):
    # data_as keeps a reference to the array, so temporaries live through the call.
    return a.ctypes.data_as(ctypes.c_void_p)


def _out_like(shape, dtype, strided):
    """An output array of ``shape``, non-contiguous when ``strided``."""
    if not strided or not shape:
        return np.empty(shape, dtype)
    big = np.empty(tuple(2 * n for n in shape), dtype)
    return big[tuple(slice(None, None, 2) for _ in shape)]


def _out_strides(x, out, axes, keepdims):
    """Output byte strides per input dim: 0 on reduced dims."""
    strides, j = [], 0
    for d in range(x.ndim):
        if d in axes:
            strides.append(0)
            j += keepdims
        else:
            strides.append(out.strides[j])
            j += 1
    return strides


def _call_reduce(lib, fname, x, axes, keepdims, out_dtype, strided_out=False):
    axes = tuple(range(x.ndim)) if axes is None else tuple(a % x.ndim for a in axes)
    shape = tuple(1 if d in axes else n for d, n in enumerate(x.shape))
    if not keepdims:
        shape = tuple(n for d, n in enumerate(x.shape) if d not in axes)
    out = _out_like(shape, out_dtype, strided_out)
    red = np.array([d in axes for d in range(x.ndim)], dtype=np.bool_)
    sh, xs = _i64(x.shape), _i64(x.strides)
    os = _i64(_out_strides(x, out, axes, keepdims))
    rc = getattr(lib, fname)(
        ctypes.c_int(x.ndim), _ptr(sh), _ptr(x), _ptr(xs), _ptr(out), _ptr(os), _ptr(red)
    )
    return out, rc


def _layouts(rng, shape, dtype):
    """x of ``shape`` as C-contiguous, Fortran, reversed, strided-slice and transposed views."""
    n = int(np.prod(shape)) if shape else 1
    if dtype == "bool":
        base = rng.random(n * 4) < 0.6
    elif np.dtype(dtype).kind == "f":
        base = rng.standard_normal(n * 4).astype(dtype)
    else:
        info = np.iinfo(dtype)
        base = rng.integers(max(info.min, -100), min(info.max, 100), n * 4).astype(dtype)
    yield "c", base[:n].reshape(shape)
    yield "f", np.asfortranarray(base[:n].reshape(shape))
    if shape:
        yield "neg", base[:n].reshape(shape)[..., ::-1]
        yield "step", base[: 2 * n].reshape(shape[:-1] + (2 * shape[-1],))[..., ::2]
        yield "T", base[:n].reshape(shape[::-1]).T
        yield "negstep", base[: 4 * n].reshape(shape[:-1] + (4 * shape[-1],))[..., ::-4]


_SHAPES = [(), (1,), (7,), (0,), (3, 0), (0, 4), (5, 6), (1, 9), (9, 1), (3, 4, 5), (2, 1, 3, 4)]


def _axes_for(ndim):
    yield None
    for a in range(ndim):
        yield (a,)
    if ndim >= 2:
        yield (0, ndim - 1)
        yield (-1,)
    if ndim >= 3:
        yield (1, 2)


def _numpy(name, x, axes, keepdims, out_dtype):
    if name in ("sum", "prod"):
        return getattr(np, name)(x, axis=axes, keepdims=keepdims, dtype=out_dtype)
    return getattr(np, name)(x, axis=axes, keepdims=keepdims)


# Every kernel serially; a few also with parallel loops forced on for tiny arrays.
_PAR = {"sum_float64_float64", "sum_int8_int64", "max_float32_float32", "any_float64_bool"}
_REDUCE_MODES = [(*r, 1 << 16) for r in _REDUCE] + [
    (*r, 1) for r in _REDUCE if _fn(r[0], r[2], r[3]) in _PAR
]


@pytest.mark.parametrize(
    "name,op,inp,out,minpar",
    _REDUCE_MODES,
    ids=[_fn(r[0], r[2], r[3]) + ("-par" if r[4] == 1 else "") for r in _REDUCE_MODES],
)
def test_reduce_matches_numpy(lib, name, op, inp, out, minpar):
    lib.set_min_parallel(ctypes.c_int64(minpar))
    rng = np.random.default_rng(0)
    for shape in _SHAPES:
        for layout, x in _layouts(rng, shape, inp):
            for axes in _axes_for(len(shape)):
                for keepdims in (False, True)[: 1 + (axes is not None and len(axes) == 1)]:
                    ax = tuple(range(x.ndim)) if axes is None else axes
                    empty = any(x.shape[a] == 0 for a in ax)
                    if empty and name in ("max", "min"):
                        continue  # NumPy raises; the emitter checks before calling
                    want = _numpy(name, x, axes, keepdims, out)
                    got, _ = _call_reduce(lib, _fn(name, inp, out), x, axes, keepdims, out, True)
                    where = f"{name} {inp}->{out} shape={shape} {layout} axes={axes} kd={keepdims}"
                    assert got.dtype == want.dtype and got.shape == want.shape, where
                    if np.dtype(out).kind == "f":
                        tol = 1e-5 if out == "float32" else 1e-12
                        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=where)
                    else:
                        np.testing.assert_array_equal(got, want, err_msg=where)


@pytest.mark.parametrize("fname", ["max_float64_float64", "min_float32_float32"])
def test_max_min_propagate_nan(lib, fname):
    dtype = fname.split("_")[1]
    x = np.arange(60, dtype=dtype).reshape(3, 4, 5)
    x[1, 2, 3] = np.nan
    x[2, 0, 0] = -np.inf
    for axes in (None, (0,), (1,), (2,), (0, 2)):
        for layout in (x, x[:, ::-1], x.transpose(2, 0, 1)):
            want = getattr(np, fname[:3])(layout, axis=axes)
            got, _ = _call_reduce(lib, fname, layout, axes, False, dtype)
            np.testing.assert_array_equal(got, want, err_msg=f"{fname} axes={axes}")


def test_sum_is_pairwise_accurate(lib):
    # 10^6 ones plus tiny values: a naive float32 sum stalls at 2^24; pairwise does not.
    x = np.full(3_000_000, 1.0, dtype=np.float32)
    got, _ = _call_reduce(lib, "sum_float32_float32", x, None, False, "float32")
    assert got == np.float32(3_000_000) == np.sum(x)
    rng = np.random.default_rng(1)
    y = rng.standard_normal((1000, 3000))
    exact = np.sum(y.astype(np.longdouble))
    for view in (y, y.T, y[::-1]):
        for axes in (None, (0,), (1,)):
            got, _ = _call_reduce(lib, "sum_float64_float64", view, axes, False, "float64")
            want = np.sum(view, axis=axes)
            # At least as accurate as NumPy: compare both with a long-double reference.
            ref = np.sum(view.astype(np.longdouble), axis=axes)
            assert np.max(np.abs(got - ref)) <= max(4 * np.max(np.abs(want - ref)), 1e-12)
    got, _ = _call_reduce(lib, "sum_float64_float64", y, None, False, "float64")
    assert abs(got - exact) < 1e-9


def test_integer_sum_prod_wrap(lib):
    x = np.array([2**62, 2**62, 2**62, 3], dtype=np.int64)
    got, _ = _call_reduce(lib, "sum_int64_int64", x, None, False, "int64")
    assert got == np.sum(x)
    got, _ = _call_reduce(lib, "prod_int64_int64", x, None, False, "int64")
    assert got == np.prod(x)
    y = np.array([300, 300, -7], dtype=np.int16)
    got, _ = _call_reduce(lib, "prod_int16_int16", y, None, False, "int16")
    assert got == np.prod(y, dtype=np.int16)


@pytest.mark.parametrize("minpar", [1 << 16, 1], ids=["serial", "parallel"])
@pytest.mark.parametrize("inp", _ARG)
def test_argreduce_matches_numpy(lib, inp, minpar):
    lib.set_min_parallel(ctypes.c_int64(minpar))
    rng = np.random.default_rng(2)
    for shape in [s for s in _SHAPES if 0 not in s]:
        for layout, x in _layouts(rng, shape, inp):
            if inp != "bool" and x.size:
                x = np.asarray(x // 3 if x.dtype.kind != "f" else np.round(x)).astype(inp)  # ties
            for axis in [None] + list(range(x.ndim)):
                for keepdims in (False, True):
                    for name in ("argmax", "argmin"):
                        want = getattr(np, name)(x, axis=axis, keepdims=keepdims)
                        axes = None if axis is None else (axis,)
                        got, rc = _call_reduce(lib, f"{name}_{inp}", x, axes, keepdims, "int64")
                        where = f"{name} {inp} {shape} {layout} axis={axis}"
                        assert rc == 1, where
                        np.testing.assert_array_equal(got, want, err_msg=where)


def test_argreduce_nan_first_and_empty(lib):
    x = np.array([[1.0, np.nan, 5.0, np.nan], [np.nan, 2.0, 9.0, 1.0], [3.0, 4.0, 0.5, 0.5]])
    for name in ("argmax", "argmin"):
        for axis in (None, 0, 1):
            for view in (x, x[:, ::-1], x.T):
                want = getattr(np, name)(view, axis=axis)
                axes = None if axis is None else (axis,)
                got, _ = _call_reduce(lib, f"{name}_float64", view, axes, False, "int64")
                np.testing.assert_array_equal(got, want, err_msg=f"{name} {axis}")
    e = np.zeros((3, 0))
    _, rc = _call_reduce(lib, "argmax_float64", e, (1,), False, "int64")
    assert rc == 0  # empty reduction reported, nothing written out of bounds
    _, rc = _call_reduce(lib, "argmax_float64", e.T, (1,), False, "int64")
    assert rc == 1  # no output elements: nothing to do


@pytest.mark.parametrize("minpar", [1 << 16, 1], ids=["serial", "parallel"])
def test_fused_map_sum_of_product(lib, minpar):
    lib.set_min_parallel(ctypes.c_int64(minpar))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 30))
    y = rng.standard_normal(30)
    yb = np.broadcast_to(y, x.shape)
    for xv, yv in ((x, yb), (x[::-1], yb), (x.T, yb.T)):
        for axes in (None, (0,), (1,)):
            want = np.sum(xv * yv, axis=axes)
            shape = tuple(n for d, n in enumerate(xv.shape) if axes is not None and d not in axes)
            out = np.empty(shape)
            red = np.array([axes is None or d in axes for d in range(2)], dtype=np.bool_)
            os = _i64(_out_strides(xv, out, tuple(range(2)) if axes is None else axes, False))
            lib.sum_mul(
                ctypes.c_int(2),
                _ptr(_i64(xv.shape)),
                _ptr(xv),
                _ptr(_i64(xv.strides)),
                _ptr(yv),
                _ptr(_i64(yv.strides)),
                _ptr(out),
                _ptr(os),
                _ptr(red),
            )
            np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)


def test_large_parallel_sum_deterministic(lib):
    lib.set_min_parallel(ctypes.c_int64(1 << 16))
    x = np.random.default_rng(4).standard_normal(2_000_003)
    a, _ = _call_reduce(lib, "sum_float64_float64", x, None, False, "float64")
    b, _ = _call_reduce(lib, "sum_float64_float64", x, None, False, "float64")
    assert a == b
    np.testing.assert_allclose(a, np.sum(x), rtol=1e-12)
    m = x[:2_000_000].reshape(1000, 2000)
    for axes in ((0,), (1,)):
        got, _ = _call_reduce(lib, "sum_float64_float64", m, axes, False, "float64")
        np.testing.assert_allclose(got, np.sum(m, axis=axes), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------
# blas.hpp

_BLAS_TYPES = {
    "float64": "double",
    "float32": "float",
    "int64": "std::int64_t",
    "int32": "std::int32_t",
    "int8": "std::int8_t",
    "bool": "bool",
}


def _blas_source() -> str:
    lines = [
        '#include "symcomp/blas.hpp"',
        "using symcomp::blas::i64;",
        "static const symcomp::blas::Api* api = nullptr;",
        'extern "C" int init(const char* path) { api = symcomp::blas::load(path); '
        "return api != nullptr; }",
    ]
    for dt, ct in _BLAS_TYPES.items():
        lines += [
            f'extern "C" int gemm_{dt}(i64 m, i64 n, i64 k, const char* A, i64 as0, i64 as1, '
            f"const char* B, i64 bs0, i64 bs1, char* C, i64 cs0, i64 cs1) {{ return "
            f"symcomp::blas::gemm<{ct}>(api, m, n, k, A, as0, as1, B, bs0, bs1, C, cs0, cs1); }}",
            f'extern "C" int dot_{dt}(i64 n, const char* x, i64 xs, const char* y, i64 ys, '
            f"char* r) {{ return symcomp::blas::dot<{ct}>(api, n, x, xs, y, ys, "
            f"reinterpret_cast<{ct}*>(r)); }}",
            f'extern "C" int matmul_{dt}(int nb, const i64* bshape, const i64* abs, '
            f"const i64* bbs, const i64* cbs, i64 m, i64 n, i64 k, const char* A, i64 as0, "
            f"i64 as1, const char* B, i64 bs0, i64 bs1, char* C, i64 cs0, i64 cs1) {{ return "
            f"symcomp::blas::matmul<{ct}>(api, nb, bshape, abs, bbs, cbs, m, n, k, A, as0, as1, "
            f"B, bs0, bs1, C, cs0, cs1); }}",
        ]
    return "\n".join(lines) + "\n"


def _compile(tmp_path_factory, name, source, extra=()):
    d = tmp_path_factory.mktemp(name)
    src, so = d / f"{name}.cpp", d / f"{name}.so"
    src.write_text(source)
    cmd = [_CXX, "-O2", "-march=native", "-std=c++17", "-shared", "-fPIC", "-Wall", "-Werror"]
    cmd += ["-I", str(templates_dir() / "include"), str(src), *extra, "-o", str(so)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return ctypes.CDLL(str(so))


@pytest.fixture(scope="module")
def blas(tmp_path_factory):
    from symcomp.codegen.blas import blas_info

    info = blas_info()
    if _CXX is None or not info["available"]:
        pytest.skip("needs a C++ compiler and scipy-openblas32")
    lib = _compile(tmp_path_factory, "blas", _blas_source(), ["-ldl"])
    assert lib.init(info["library_path"].encode()) == 1
    return lib


def _mat_views(rng, m, n, dtype):
    """(m, n) matrices in several layouts: C, Fortran, reversed rows/cols, strided,
    broadcast (zero stride) and a row/column of a bigger matrix."""
    size = (2 * max(m, n) + 1,) * 2
    if dtype == "bool":
        base = rng.random(size) < 0.5
    elif np.dtype(dtype).kind == "f":
        base = rng.standard_normal(size).astype(dtype)
    else:
        base = rng.integers(-50, 50, size).astype(dtype)
    yield "c", np.ascontiguousarray(base[:m, :n])
    yield "f", np.asfortranarray(base[:m, :n])
    yield "rev", base[:m, :n][::-1, ::-1]
    yield "step", base[: 2 * m : 2, : 2 * n : 2]
    yield "bcast", np.broadcast_to(base[:1, :n], (m, n))
    yield "T", np.ascontiguousarray(base[:n, :m]).T


def _gemm(lib, x, y, out):
    m, k = x.shape
    n = y.shape[1]
    args = [ctypes.c_int64(v) for v in (m, n, k)]
    args += [_ptr(x), *map(ctypes.c_int64, x.strides), _ptr(y), *map(ctypes.c_int64, y.strides)]
    args += [_ptr(out), *map(ctypes.c_int64, out.strides)]
    return getattr(lib, f"gemm_{x.dtype.name}")(*args)


@pytest.mark.parametrize("dtype", list(_BLAS_TYPES))
def test_gemm_matches_numpy(blas, dtype):
    rng = np.random.default_rng(5)
    for m, k, n in [
        (3, 4, 5),
        (1, 4, 5),
        (3, 4, 1),
        (1, 1, 1),
        (0, 3, 2),
        (2, 0, 3),
        (3, 2, 0),
        (17, 33, 9),
    ]:
        for lx, x in _mat_views(rng, m, k, dtype):
            for ly, y in _mat_views(rng, k, n, dtype):
                want = np.dot(x, y)
                for lo in ("c", "f", "step"):
                    out = np.full(want.shape, 7, dtype) if lo == "c" else None
                    if lo == "f":
                        out = np.asfortranarray(np.full(want.shape, 7, dtype))
                    elif lo == "step":
                        out = _out_like(want.shape, dtype, True)
                        out[...] = 7
                    assert _gemm(blas, x, y, out) == 0
                    where = f"{dtype} {m}x{k}x{n} {lx} {ly} out={lo}"
                    if np.dtype(dtype).kind == "f":
                        tol = 1e-4 if dtype == "float32" else 1e-12
                        np.testing.assert_allclose(out, want, rtol=tol, atol=tol, err_msg=where)
                    else:
                        np.testing.assert_array_equal(out, want, err_msg=where)


def test_integer_gemm_wraps(blas):
    x = np.full((2, 3), 2**62, dtype=np.int64)
    y = np.full((3, 2), 3, dtype=np.int64)
    out = np.empty((2, 2), np.int64)
    assert _gemm(blas, x, y, out) == 0
    np.testing.assert_array_equal(out, np.dot(x, y))
    x8 = np.full((2, 40), 100, dtype=np.int8)
    out8 = np.empty((2, 2), np.int8)
    assert _gemm(blas, x8, x8.T, out8) == 0
    np.testing.assert_array_equal(out8, np.dot(x8, x8.T))


@pytest.mark.parametrize("dtype", list(_BLAS_TYPES))
def test_dot_matches_numpy(blas, dtype):
    rng = np.random.default_rng(6)
    for n in (0, 1, 2, 7, 1000):
        for _, xm in _mat_views(rng, 1, n, dtype):
            for _, ym in _mat_views(rng, n, 1, dtype):
                x, y = xm[0], ym[:, 0]
                r = np.zeros(1, dtype)
                fn = getattr(blas, f"dot_{dtype}")
                args = [
                    _ptr(x),
                    ctypes.c_int64(x.strides[0]),
                    _ptr(y),
                    ctypes.c_int64(y.strides[0]),
                ]
                assert fn(ctypes.c_int64(n), *args, _ptr(r)) == 0
                want = np.dot(x, y)
                if np.dtype(dtype).kind == "f":
                    np.testing.assert_allclose(r[0], want, rtol=1e-5, atol=1e-5)
                else:
                    assert r[0] == want


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
def test_batched_matmul(blas, dtype):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((4, 1, 3, 5)).astype(dtype)
    b = rng.standard_normal((3, 5, 2)).astype(dtype)[::-1]
    want = np.matmul(a, b)
    out = np.empty(want.shape, dtype)
    ab = np.broadcast_to(a, (4, 3, 3, 5))
    bb = np.broadcast_to(b, (4, 3, 5, 2))
    fn = getattr(blas, f"matmul_{dtype}")
    rc = fn(
        ctypes.c_int(2),
        _ptr(_i64((4, 3))),
        _ptr(_i64(ab.strides[:2])),
        _ptr(_i64(bb.strides[:2])),
        _ptr(_i64(out.strides[:2])),
        *map(ctypes.c_int64, (3, 2, 5)),
        _ptr(a),
        *map(ctypes.c_int64, a.strides[2:]),
        _ptr(b),
        *map(ctypes.c_int64, b.strides[1:]),
        _ptr(out),
        *map(ctypes.c_int64, out.strides[2:]),
    )
    assert rc == 0
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def test_blas_linked_mode(tmp_path_factory):
    """The link flags of blas_info() build a module that finds the library at load time."""
    from symcomp.codegen.blas import blas_info

    info = blas_info()
    if _CXX is None or not info["available"]:
        pytest.skip("needs a C++ compiler and scipy-openblas32")
    src = (
        '#include "symcomp/blas.hpp"\n'
        'extern "C" double dot3(const double* x) { double r; symcomp::blas::dot<double>('
        "symcomp::blas::load(), 3, reinterpret_cast<const char*>(x), 8, "
        "reinterpret_cast<const char*>(x), 8, &r); return r; }\n"
    )
    lib = _compile(tmp_path_factory, "linked", src, [*info["compile_flags"], *info["link_flags"]])
    lib.dot3.restype = ctypes.c_double
    x = np.array([1.0, 2.0, 3.0])
    assert lib.dot3(_ptr(x)) == 14.0
    assert "OpenBLAS" in info["description"]


# ---------------------------------------------------------------------------------------
# The node emitters (symcomp/codegen/cpu/reduce.py and blas.py) inside compiled functions.


def _native_vs_py(inputs, output, arrays, rtol=1e-6):
    return _native_and_py(inputs, output, arrays, rtol)[0]


def _native_and_py(inputs, output, arrays, rtol=1e-6):
    """Native and py functions of ``output`` (one variable, or a list: then one module, one
    g++ run, computes them all), checked to agree on ``arrays``; returns both functions."""
    import symcomp as sc

    f = sc.function(inputs, output, mode="native")
    g = sc.function(inputs, output, mode="py")
    _agree(f(*arrays), g(*arrays), isinstance(output, list), rtol)
    return f, g


def _agree(got, want, many, rtol):
    pairs = zip(got, want, strict=True) if many else [(got, want)]
    for one, other in pairs:
        assert one.dtype == other.dtype and one.shape == other.shape
        np.testing.assert_allclose(one, other, rtol=rtol, atol=rtol)


def test_reduce_emitters_native():
    import symcomp.tensor as st

    if _CXX is None:
        pytest.skip("no C++ compiler")
    rng = np.random.default_rng(8)
    a = rng.standard_normal((4, 5, 6))
    views = (a, a[::-1, :, ::2], a.transpose(2, 0, 1))
    # One module holds all nine reductions, each of its own input (no sharing between them).
    builds = (
        lambda x: st.sum(x, axis=(0, 2)),
        lambda x: st.prod(x, axis=1, keepdims=True),
        lambda x: st.max(x, axis=-1),
        lambda x: st.min(x),
        lambda x: st.all(x > -1, axis=0),
        lambda x: st.any(x > 2, axis=(1, 2), keepdims=True),
        lambda x: st.argmax(x, axis=1),
        lambda x: st.argmin(x, keepdims=True),
        lambda x: st.sum(st.cast(x * 10, "int8"), axis=1),
    )
    xs = [st.tensor("float64", shape=(None, None, None)) for _ in builds]
    outs = [build(xi) for build, xi in zip(builds, xs, strict=True)]
    f, g = _native_and_py(xs, outs, [views[0]] * len(xs))
    for v in views[1:]:
        _agree(f(*[v] * len(xs)), g(*[v] * len(xs)), True, 1e-6)
    assert "symcomp/reduce.hpp" in f.source and "Python perform" not in f.source
    x = xs[0]
    empty = np.zeros((0, 3, 2))
    f = _native_vs_py([x], st.sum(x, axis=0), [empty])
    with pytest.raises(ValueError, match="zero-size"):
        import symcomp as sc

        sc.function([x], st.max(x, axis=0), mode="native")(empty)
    with pytest.raises(ValueError, match="empty sequence"):
        sc.function([x], st.argmax(x, axis=0), mode="native")(empty)


def test_matmul_emitters_native():
    import symcomp as sc
    import symcomp.tensor as st
    from symcomp.codegen.blas import blas_info

    if _CXX is None or not blas_info()["available"]:
        pytest.skip("needs a C++ compiler and scipy-openblas32")
    rng = np.random.default_rng(9)
    shapes = [
        ((3, 4), (4, 5)),
        ((4,), (4, 5)),
        ((3, 4), (4,)),
        ((4,), (4,)),
        ((2, 3, 4), (4, 5)),
        ((2, 1, 3, 4), (3, 4, 2)),
        ((0, 4), (4, 3)),
        ((3, 0), (0, 2)),
    ]
    # One module computes all 24 dtype x shape products, each of its own inputs.
    inputs, outs, arrays = [], [], []
    for dtype in ("float64", "float32", "int32"):
        for sa, sb in shapes:
            x = st.tensor(dtype, shape=(None,) * len(sa))
            y = st.tensor(dtype, shape=(None,) * len(sb))
            a = (rng.standard_normal(sa) * 4).astype(dtype)
            b = (rng.standard_normal(sb) * 4).astype(dtype)
            inputs += [x, y]
            outs.append(st.matmul(x, y))
            arrays += [a, b]
    f, _ = _native_and_py(inputs, outs, arrays, rtol=1e-4)
    assert "Python perform" not in f.source
    # Fortran-ordered A and a reversed-twice B for the 2-d x 2-d products.
    other = [
        np.asfortranarray(arr) if i % 2 == 0 and arr.ndim == 2 else arr[::-1][::-1]
        for i, arr in enumerate(arrays)
    ]
    for i, got in enumerate(f(*other)):
        a, b = arrays[2 * i], arrays[2 * i + 1]
        if a.ndim == 2 and b.ndim == 2:
            np.testing.assert_allclose(got, a @ b, rtol=1e-4)
    x, y = st.dmatrix("x"), st.dmatrix("y")
    with pytest.raises(ValueError, match="not aligned"):
        sc.function([x, y], x @ y, mode="native")(np.ones((2, 3)), np.ones((4, 2)))


def _needs_blas():
    from symcomp.codegen.blas import blas_info

    if _CXX is None or not blas_info()["available"]:
        pytest.skip("needs a C++ compiler and scipy-openblas32")


def test_gemm_gemv_emitters_native():
    import symcomp as sc
    import symcomp.tensor as st
    from symcomp.tensor.blas import gemm, gemv

    _needs_blas()
    rng = np.random.default_rng(10)
    fo = np.asfortranarray
    # One module computes all 40 gemm cases (2 dtypes x 4 transposes x 5 C shapes), and one
    # all 12 gemv cases, each case of its own input variables: two g++ runs, not 52.
    inputs, outs, arrays, other, other_py = [], [], [], [], []
    gv_inputs, gv_outs, gv_arrays = [], [], []
    for dtype in ("float64", "float32"):
        for ta in (False, True):
            for tb in (False, True):
                for cshape in ((3, 5), (5,), (3, 1), (), (4, 5)):
                    a, b = st.matrix("a", dtype=dtype), st.matrix("b", dtype=dtype)
                    al, be = st.scalar("al", dtype=dtype), st.scalar("be", dtype=dtype)
                    c = st.tensor(dtype, shape=(None,) * len(cshape))
                    m = 1 if cshape == (4, 5) else 3  # (4, 5): C broadcasts a 1-row product
                    am = rng.standard_normal((2, m) if ta else (m, 2)).astype(dtype)
                    bm = rng.standard_normal((5, 2) if tb else (2, 5)).astype(dtype)
                    cm = rng.standard_normal(cshape).astype(dtype)
                    inputs += [c, al, a, b, be]
                    outs.append(gemm(c, al, a, b, be, trans_a=ta, trans_b=tb))
                    arrays += [cm, 1.5, am, bm, 0.5]
                    # Fortran-ordered and reversed views, k = 0, and beta = 0.
                    other += [cm, -2.0, fo(am), bm[::-1][::-1], 0.0]
                    other_py += [cm, -2.0, am, bm, 0.0]
        # Gemv: the product is a column.
        for t in (False, True):
            for cshape in ((4,), (1,), ()):
                a, v = st.matrix("a", dtype=dtype), st.vector("v", dtype=dtype)
                al, be = st.scalar("al", dtype=dtype), st.scalar("be", dtype=dtype)
                c = st.tensor(dtype, shape=(None,) * len(cshape))
                am = rng.standard_normal((3, 4) if t else (4, 3)).astype(dtype)
                vm = rng.standard_normal(6).astype(dtype)[::2]
                cm = rng.standard_normal(cshape).astype(dtype)
                gv_inputs += [c, al, a, v, be]
                gv_outs.append(gemv(c, al, a, v, be, trans=t))
                gv_arrays += [cm, 0.7, am, vm, 1.0]
    f, g = _native_and_py(inputs, outs, arrays, 1e-5)
    assert "Python perform" not in f.source
    _agree(f(*other), g(*other_py), True, 1e-5)
    f = _native_vs_py(gv_inputs, gv_outs, gv_arrays, 1e-5)
    assert "Python perform" not in f.source
    for dtype in ("float64", "float32"):
        a, b = st.matrix("a", dtype=dtype), st.matrix("b", dtype=dtype)
        al, be = st.scalar("al", dtype=dtype), st.scalar("be", dtype=dtype)
        # NaN in C propagates even with beta == 0 (0 * nan); a finite 0-d C is not read.
        c = st.matrix("c", dtype=dtype)
        f = sc.function([c, al, a, b, be], gemm(c, al, a, b, be), mode="native")
        cm = np.zeros((2, 2), dtype)
        cm[0, 1] = np.nan
        got = f(cm, 1.0, np.ones((2, 3), dtype), np.ones((3, 2), dtype), 0.0)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(cm))
        np.testing.assert_array_equal(
            f(cm, 1.0, np.ones((2, 0), dtype), np.ones((0, 2), dtype), 2.0), 2 * cm
        )
        with pytest.raises(ValueError, match="not aligned"):
            f(cm, 1.0, np.ones((2, 3), dtype), np.ones((4, 2), dtype), 1.0)
        with pytest.raises(ValueError, match="does not broadcast"):
            f(np.ones((3, 2), dtype), 1.0, np.ones((2, 3), dtype), np.ones((3, 2), dtype), 1.0)


def test_sum_to_shape_native():
    import symcomp.tensor as st
    from symcomp.tensor.elemwise import SumToShape

    if _CXX is None:
        pytest.skip("no C++ compiler")
    rng = np.random.default_rng(11)
    g = st.tensor("float64", shape=(None, None, None))
    for xshape, gshape in (
        ((4, 5), (3, 4, 5)),
        ((1, 5), (3, 4, 5)),
        ((4, 1), (3, 4, 5)),
        ((5,), (3, 4, 5)),
        ((3, 4, 5), (3, 4, 5)),
        ((1, 1, 1), (3, 4, 5)),
        ((1, 4, 1), (3, 4, 0)),
    ):
        x = st.tensor("float64", shape=(None,) * len(xshape))
        gv = rng.standard_normal(gshape)
        for view in (gv, gv[::-1], np.asfortranarray(gv)):
            f = _native_vs_py([g, x], SumToShape()(g, x), [view, np.zeros(xshape)], 1e-12)
            assert "Python perform" not in f.source
    x = st.dmatrix("x")
    import symcomp as sc

    f = sc.function([g, x], SumToShape()(g, x), mode="native")
    gv = np.ones((2, 3, 4))
    assert f(gv, np.zeros((3, 4))).shape == (3, 4)
    with pytest.raises(ValueError, match="cannot sum"):
        f(gv, np.zeros((2, 4)))


def test_softmax_emitters_native():
    import symcomp as sc
    import symcomp.tensor as st

    if _CXX is None:
        pytest.skip("no C++ compiler")
    rng = np.random.default_rng(12)
    for dtype, rtol in (("float64", 1e-12), ("float32", 1e-5)):
        a = rng.standard_normal((37, 300)).astype(dtype) * 5
        a[3, 5] = np.nan
        a[4, :] = np.inf
        a[5, :] = -np.inf
        a[6, 7] = np.inf
        # One module per dtype for the three row-wise outputs, each of its own input.
        xs = [st.matrix("x", dtype=dtype) for _ in range(3)]
        outs = [st.nnet.softmax(xs[0]), st.nnet.log_softmax(xs[1]), st.logsumexp(xs[2], axis=1)]
        f = sc.function(xs, outs, mode="native")
        g = sc.function(xs, outs, mode="py")
        assert not f.runner.fallback_nodes
        for view in (a, a[:, ::2], a[::-1], a[:0], a[:, :1]):
            _agree(f(view, view, view), g(view, view, view), True, rtol)
        x = st.matrix("x", dtype=dtype)
        t = st.ivector("t")
        out = st.nnet.categorical_crossentropy(st.nnet.softmax(x), t)
        f = sc.function([x, t], out, mode="native")
        g = sc.function([x, t], out, mode="py")
        assert "CrossentropySoftmax1Hot" in str(f.maker.fgraph.toposort())
        assert not f.runner.fallback_nodes
        tv = rng.integers(0, 300, 37).astype("int32")
        with np.errstate(divide="ignore", invalid="ignore"):
            np.testing.assert_allclose(f(a, tv), g(a, tv), rtol=rtol, atol=rtol)
            np.testing.assert_allclose(f(a[:, ::-1], tv), g(a[:, ::-1], tv), rtol=rtol, atol=rtol)
        with pytest.raises(IndexError, match="out of range"):
            f(a, np.full(37, 300, "int32"))
        with pytest.raises(IndexError, match="out of range"):
            f(a, np.full(37, -1, "int32"))
        with pytest.raises(ValueError, match="rows"):
            f(a, np.zeros(36, "int32"))
        assert f(a[:0], np.zeros(0, "int32")).shape == (0,)


def _ordered(v):
    """Floats as int64 in the order of the floats (-0.0 and 0.0 both 0)."""
    i = v.view(np.int64 if v.dtype == np.float64 else np.int32).astype(np.int64)
    low = np.int64(-(2**63)) if v.dtype == np.float64 else np.int64(-(2**31))
    return np.where(i < 0, low - i, i)


def ulp_distance(got, want):
    """Elementwise distance in units in the last place between two float arrays of one
    dtype (0 where both are NaN). Exact in int64 where the signs agree; across zero the
    distance is huge anyway and is added in float64 (no int64 overflow)."""
    a, b = _ordered(got), _ordered(want)
    same = (a >= 0) == (b >= 0)
    d = np.where(same, np.abs(np.where(same, a - b, 0)), 0).astype(np.float64)
    d += np.where(same, 0.0, np.abs(a.astype(np.float64)) + np.abs(b.astype(np.float64)))
    return np.where(np.isnan(got) & np.isnan(want), 0.0, d)


# (function, float64 domain, float32 domain) for the vectorized math of simd_math.hpp.
_ULP_CASES = [
    ("exp", (-700, 700), (-87, 88)),
    ("log", (1e-300, 1e300), (1e-30, 1e30)),
    ("sin", (-1e4, 1e4), (-1e4, 1e4)),
    ("cos", (-1e4, 1e4), (-1e4, 1e4)),
    ("tanh", (-20, 20), (-10, 10)),
    ("expm1", (-30, 30), (-20, 20)),
    ("log1p", (-0.9, 1e6), (-0.9, 1e6)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,dom64,dom32", _ULP_CASES, ids=[c[0] for c in _ULP_CASES])
def test_vector_math_within_4_ulp(name, dom64, dom32, dtype):
    """Native elementwise math (libmvec's vector variants in the dense loop) is within 4 ulp
    of a more precise result (long double for float64, float64 for float32), as docs/native.md
    states, and special values (NaN, +-inf, +-0) come out as NumPy gives them."""
    import symcomp as sc
    import symcomp.tensor as st

    if _CXX is None:
        pytest.skip("no C++ compiler")
    if dtype == "float64" and np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("long double is no more precise than double here")
    fn = getattr(st, name, None)
    if fn is None:
        pytest.skip(f"symcomp.tensor has no {name}")
    lo, hi = dom64 if dtype == "float64" else dom32
    rng = np.random.default_rng(13)
    if lo > 0:  # log-uniform over a wide positive range
        x = np.exp(rng.uniform(np.log(lo), np.log(hi), 200_000))
    else:
        x = np.concatenate([rng.uniform(lo, hi, 100_000), rng.uniform(-1, 1, 100_000)])
    x = x.astype(dtype)
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype)
    v = st.vector("v", dtype=dtype)
    f = sc.function([v], fn(v), mode="native")
    assert not f.runner.fallback_nodes
    got = f(x)
    wide = np.longdouble if dtype == "float64" else np.float64
    with np.errstate(all="ignore"):
        want = getattr(np, name)(x.astype(wide)).astype(dtype)
        np_special = getattr(np, name)(special)
    worst = ulp_distance(got, want).max()
    assert worst <= 4, f"{name} {dtype}: {worst} ulp"
    with np.errstate(all="ignore"):
        got_special = f(np.tile(special, 1000))[: len(special)]
    np.testing.assert_array_equal(got_special, np_special)
    numbers = ~np.isnan(np_special)  # the sign of a NaN means nothing
    np.testing.assert_array_equal(np.signbit(got_special[numbers]), np.signbit(np_special[numbers]))
    so = f.cache_entry.path / "module.so"
    if _libmvec_expected():
        symbol = (
            f"_ZGVdN{4 if dtype == 'float64' else 8}v_{name}{'f' if dtype == 'float32' else ''}"
        )
        assert symbol.encode() in so.read_bytes(), f"no call of {symbol}: not vectorized"


def _libmvec_expected() -> bool:
    """Whether modules should call libmvec: g++ on x86-64 glibc >= 2.35 with AVX2."""
    import platform

    from symcomp.codegen.toolchain import find_compiler

    if platform.machine() != "x86_64" or platform.libc_ver()[0] != "glibc":
        return False
    if tuple(int(p) for p in platform.libc_ver()[1].split(".")[:2]) < (2, 35):
        return False
    compiler = find_compiler()
    if compiler is None or ("g++" not in compiler.path and "GCC" not in compiler.version):
        return False
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " avx2" in flags and "-DSYMCOMP_NO_LIBMVEC" not in " ".join(compiler.flags)


def test_fused_reduction_calls_vector_math():
    import symcomp as sc
    import symcomp.tensor as st

    if _CXX is None or not _libmvec_expected():
        pytest.skip("needs g++ with libmvec (x86-64 glibc >= 2.35, AVX2)")
    x = st.dmatrix("x")
    f = sc.function([x], st.sum(st.exp(x), axis=1), mode="native")
    a = np.random.default_rng(14).standard_normal((3, 1000))
    np.testing.assert_allclose(f(a), np.exp(a).sum(axis=1), rtol=1e-13)
    assert b"_ZGVdN4v_exp" in (f.cache_entry.path / "module.so").read_bytes()
