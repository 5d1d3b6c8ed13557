"""CUDA elementwise kernels: rendering through the CUDA dialect, the launch description
(checked everywhere by emulating the kernels' index arithmetic in NumPy), nvcc compiles for
sm_80 and sm_90 (marker ``nvcc``), and launches through pycuda compared with NumPy (marker
``gpu``, skipped without pycuda or a GPU)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import symcomp.scalar as ss
import symcomp.tensor as st
from symcomp.codegen import cache
from symcomp.codegen.cuda import nvcc as nvcc_module
from symcomp.codegen.cuda.elemwise import (
    MAX_RANK,
    CudaUnsupportedError,
    elemwise_kernel,
    render_kernel,
    render_module,
    scalar_kernel,
)
from symcomp.codegen.cuda.launch import (
    ArrayLayout,
    Launch,
    collapse_dims,
    dims_value,
    launch_config,
    plan_launch,
)
from symcomp.codegen.cuda.nvcc import compile_cuda, find_nvcc, normalize_arch
from symcomp.codegen.toolchain import CompileError
from symcomp.config import config
from symcomp.scalar.base import SCALAR_OP_REGISTRY
from symcomp.scalar.composite import composite_from_graph
from symcomp.tensor.elemwise import Elemwise

GOLDEN = Path(__file__).parent / "golden"
ARCHS = ("sm_80", "sm_90")
needs_nvcc = pytest.mark.skipif(
    find_nvcc() is None, reason="nvcc not found (put it on PATH or set the nvcc flag)"
)


def fused_node(dtype: str = "float32", y_shape=(None,)):
    """Elemwise(Composite) of exp(-x*x) * sin(y) + 0.5 * z, as the fusion pass builds it."""
    x = st.tensor(dtype, shape=(None, None), name="x")
    y = st.tensor(dtype, shape=y_shape, name="y")
    z = st.tensor(dtype, shape=(None, None), name="z")
    comp, outer = composite_from_graph([x, y, z], st.exp(-x * x) * st.sin(y) + 0.5 * z)
    return Elemwise(comp).make_node(*outer)


def op_instances():
    # symcomp's own ops (tests elsewhere may register ops of their own in the same process).
    for cls in (c for c in SCALAR_OP_REGISTRY if c.__module__.startswith("symcomp.")):
        if cls is ss.Cast:
            yield from (ss.Cast(d) for d in ("float32", "float64", "int8", "uint64", "bool"))
        else:
            yield cls()


# nvcc takes ~0.1 s of CPU per kernel pair, so the dtypes are chosen, not crossed: float32
# for every op (float32 math stays float32: expf, ...); int32 for the ops with integer
# semantics (float-valued ops only convert an integer input); uint8 and bool where an op has
# an unsigned or boolean branch; float64 (plain exp, sin, ...) through the fused kernels.
_EXTRA = {ss.Add, ss.Mul, ss.Neg, ss.IntDiv, ss.Mod, ss.Abs, ss.Sign, ss.Invert, ss.Pow}


def signatures(op):
    nin = type(op).nin
    dtypes = ["float32"]
    if not type(op).float_output and not isinstance(op, ss.Cast):
        dtypes.append("int32")
    if type(op) in _EXTRA:
        dtypes += ["uint8", "bool"]
    for dtype in dtypes:
        try:
            yield (dtype,) * nin, op.out_dtype(*(dtype,) * nin)
        except TypeError:
            continue


def all_op_kernels():
    kernels = []
    for op in op_instances():
        found = list(signatures(op))
        assert found, f"{op} accepts none of the test dtypes"
        kernels += [scalar_kernel(op, ins, out) for ins, out in found]
    return kernels


# -- rendering -------------------------------------------------------------------------------


def test_every_scalar_op_renders_with_device_math_only():
    kernels = all_op_kernels()
    source = render_module(kernels)
    for k in kernels:
        assert f"void {k.contig_function}(" in source
        assert f"void {k.strided_function}(" in source
    # Host-only spellings never reach device code: no std:: functions (only std:: types).
    assert not re.findall(r"std::(?!u?int\d+_t\b)\w+", source)


def test_float32_math_is_float32_and_float64_is_double():
    f32 = render_kernel(elemwise_kernel(fused_node("float32")))
    assert "expf(" in f32 and "sinf(" in f32
    f64 = render_kernel(elemwise_kernel(fused_node("float64")))
    assert re.search(r"\bexp\(", f64) and re.search(r"\bsin\(", f64)
    assert "expf" not in f64 and "const double t2 = exp(t1);" in f64


def test_fused_kernel_reads_constants_once_and_arrays_per_element():
    spec = elemwise_kernel(fused_node())
    assert spec.arrays == (0, 1, 2) and spec.scalars == (3,)  # 0.5 is a 0-d input
    assert spec.setup == ("const float a3 = in3[0];",)
    assert "const float a1 = in1[p1];" in spec.strided_body
    assert "const float a1 = in1[i];" in spec.contig_body
    assert spec.result == "t6"


def test_source_is_deterministic_and_matches_golden(request):
    first = render_module([elemwise_kernel(fused_node()), elemwise_kernel(fused_node("float64"))])
    again = render_module([elemwise_kernel(fused_node()), elemwise_kernel(fused_node("float64"))])
    assert first == again
    path = GOLDEN / "cuda_composite.cu"
    if request.config.getoption("--update-golden"):
        path.write_text(first)
    assert path.exists(), "run pytest --update-golden to create the golden source"
    assert first == path.read_text(), (
        "the generated CUDA source changed; if intended, run pytest tests/codegen --update-golden"
    )


def test_kernel_names_follow_the_code():
    a, b = elemwise_kernel(fused_node()), elemwise_kernel(fused_node())
    assert a.name == b.name and a.name.startswith("sc_composite_")
    assert elemwise_kernel(fused_node("float64")).name != a.name
    assert scalar_kernel(ss.exp, ["float32"], "float32", name="my_exp").name == "my_exp"
    with pytest.raises(ValueError, match="not a C identifier"):
        scalar_kernel(ss.exp, ["float32"], "float32", name="1bad")


def test_render_module_emits_each_kernel_once_and_rejects_name_clashes():
    spec = scalar_kernel(ss.exp, ["float32"], "float32")
    source = render_module([spec, spec])
    assert source.count(f"void {spec.contig_function}(") == 1
    other = scalar_kernel(ss.sin, ["float32"], "float32", name=spec.name)
    with pytest.raises(ValueError, match="two different CUDA kernels"):
        render_module([spec, other])


@pytest.mark.parametrize("dtype", ["complex64", "complex128", "float16"])
def test_unsupported_dtypes_raise_clearly(dtype):
    with pytest.raises(CudaUnsupportedError, match=f"do not support dtype {dtype}"):
        scalar_kernel(ss.add, [dtype, dtype], dtype)


def test_rank_and_parameter_limits_raise_clearly():
    with pytest.raises(CudaUnsupportedError, match=f"at most {MAX_RANK} dimensions"):
        scalar_kernel(ss.exp, ["float32"], "float32", ndim=MAX_RANK + 1)
    x = st.tensor("float32", shape=(None,) * (MAX_RANK + 1))
    with pytest.raises(CudaUnsupportedError, match="at most"):
        elemwise_kernel(st.exp(x).owner)
    xs = [st.fvector(f"x{k}") for k in range(60)]
    total = xs[0]
    for v in xs[1:]:
        total = total + v
    comp, outer = composite_from_graph(xs, total)
    with pytest.raises(CudaUnsupportedError, match="bytes of parameters"):
        elemwise_kernel(Elemwise(comp).make_node(*outer))


def test_non_elementwise_node_is_a_type_error():
    with pytest.raises(TypeError, match="not an elementwise op"):
        elemwise_kernel(st.dmatrix("x").sum().owner)


# -- launch description (emulated in NumPy) --------------------------------------------------


def emulate(launch: Launch, buffers, offsets, out_size: int, dtype) -> np.ndarray:
    """What the chosen kernel of ``sub`` computes: a - b, read from flat buffers at element
    offsets exactly as the template indexes them (never out of bounds); returns the flat
    output buffer."""
    out = np.zeros(out_size, dtype=dtype)
    i = np.arange(launch.n)
    if not launch.strided:
        pos = [off + i for off in offsets]
    else:
        pos = _strided_positions(launch, i, offsets)
        i = pos.pop()
    for buf, p in zip(buffers, pos):
        assert ((p >= 0) & (p < buf.size)).all(), "an index outside the array"
    out[i] = buffers[0][pos[0]] - buffers[1][pos[1]]
    return out


def _strided_positions(launch: Launch, i, offsets) -> list:
    """Each input's element index for thread indices ``i``, then the output's."""
    rest, o = i.copy(), np.zeros_like(i)
    pos = [np.full_like(i, off) for off in offsets]
    for d in range(len(launch.shape) - 1, -1, -1):
        idx, rest = rest % launch.shape[d], rest // launch.shape[d]
        o += idx * launch.out_strides[d]
        for p, strides in zip(pos, launch.strides):
            if strides is not None:
                p += idx * strides[d]
    return [*pos, o]


def _flat(base: np.ndarray, view: np.ndarray):
    """``base``'s flat buffer and the element offset of ``view``'s first element in it."""
    offset = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return base.reshape(-1), offset // base.itemsize


# name: (views of two (6, 10) bases, the collapsed shape of the strided launch)
CASES = {
    "contiguous": (lambda a, b: (a, b), ()),
    "broadcast_row": (lambda a, b: (a, b[0]), (6, 10)),
    "broadcast_column": (lambda a, b: (a, b[:, :1]), (6, 10)),
    "transposed": (lambda a, b: (a.reshape(10, 6).T, b), (6, 10)),
    "sliced": (lambda a, b: (a[:, ::2], b[:, 1::2]), (30,)),  # both step 2 through 6 * 5
    "negative_strides": (lambda a, b: (a[::-1], b[:, ::-1]), (6, 10)),
    "scalar_array": (lambda a, b: (a, b[:1, :1]), (60,)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_launch_plan_matches_numpy_broadcasting(case):
    rng = np.random.default_rng(1)
    base_a, base_b = rng.standard_normal((6, 10)), rng.standard_normal((6, 10))
    views, collapsed = CASES[case]
    a, b = views(base_a, base_b)
    spec = scalar_kernel(ss.sub, ["float64", "float64"], "float64", ndim=2)
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    launch = plan_launch(
        spec, [ArrayLayout.of(a), ArrayLayout.of(b)], ArrayLayout.contiguous(out_shape)
    )
    assert launch.strided == (case != "contiguous") and launch.shape == collapsed
    assert launch.function == (spec.strided_function if launch.strided else spec.contig_function)
    (buf_a, off_a), (buf_b, off_b) = _flat(base_a, a), _flat(base_b, b)
    got = emulate(launch, [buf_a, buf_b], [off_a, off_b], launch.n, "float64")
    np.testing.assert_array_equal(got.reshape(out_shape), a - b)


def test_launch_into_a_transposed_output_and_collapsed_dims():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 5, 6))
    b = rng.standard_normal((4, 5, 6))
    spec = scalar_kernel(ss.sub, ["float64", "float64"], "float64", ndim=3)
    contiguous = plan_launch(spec, [ArrayLayout.of(a)] * 2, ArrayLayout.of(a))
    assert not contiguous.strided and contiguous.n == 120
    out_f = np.empty((4, 5, 6), order="F")
    launch = plan_launch(spec, [ArrayLayout.of(a), ArrayLayout.of(b)], ArrayLayout.of(out_f))
    assert launch.strided and launch.out_strides == (1, 4, 20)
    flat = emulate(launch, [a.reshape(-1), b.reshape(-1)], [0, 0], 120, "float64")
    np.testing.assert_array_equal(flat.reshape((6, 5, 4)).T, a - b)


def test_collapse_dims():
    # A C-contiguous 3-d array and a row broadcast over the first two dims: those merge.
    assert collapse_dims((2, 3, 4), [(12, 4, 1), (0, 0, 1)]) == ((6, 4), ((4, 1), (0, 1)))
    assert collapse_dims((2, 3, 4), [(12, 4, 1), (0, 0, 0)]) == ((24,), ((1,), (0,)))
    assert collapse_dims((2, 3, 4), [(12, 4, 1)]) == ((24,), ((1,),))
    assert collapse_dims((2, 1, 4), [(4, 99, 1)]) == ((8,), ((1,),))
    assert collapse_dims((1, 1), [(5, 7)]) == ((1,), ((0,),))
    assert collapse_dims((3, 4), [(1, 3)]) == ((3, 4), ((1, 3),))


def test_layouts_and_limits():
    assert ArrayLayout.contiguous((2, 3)).strides == (3, 1)
    assert ArrayLayout.of(np.zeros((3, 4), dtype=np.float32)[:, ::2]).strides == (4, 2)
    assert ArrayLayout.of(np.zeros((3, 4))[::-1]).strides == (-4, 1)
    assert ArrayLayout((3, 1), (1, 17)).is_contiguous()
    assert not ArrayLayout((3, 4), (1, 3)).is_contiguous()
    spec = scalar_kernel(ss.add, ["float32", "float32"], "float32", ndim=2)
    with pytest.raises(ValueError, match="does not broadcast"):
        plan_launch(spec, [ArrayLayout.contiguous((3, 4))] * 2, ArrayLayout.contiguous((3, 5)))
    with pytest.raises(ValueError, match="takes 2 inputs"):
        plan_launch(spec, [ArrayLayout.contiguous((3, 4))], ArrayLayout.contiguous((3, 4)))
    # Strides no dim merging can remove: more dims than the kernel supports.
    shape = (2,) * (MAX_RANK + 1)
    odd = ArrayLayout(shape, tuple(3**k for k in range(MAX_RANK + 1)))
    big = scalar_kernel(ss.add, ["float32", "float32"], "float32", ndim=MAX_RANK)
    with pytest.raises(CudaUnsupportedError, match=f"at most {MAX_RANK}"):
        plan_launch(big, [odd, odd], ArrayLayout.contiguous(shape))


def test_launch_config_and_arguments():
    assert launch_config(0) == (0, 256)
    assert launch_config(1) == (1, 256)
    assert launch_config(257) == (2, 256)
    assert launch_config(10**12) == (65536, 256)  # the grid-stride loop covers the rest
    with pytest.raises(ValueError):
        launch_config(10, block=0)
    spec = elemwise_kernel(fused_node())
    out = ArrayLayout.contiguous((3, 4))
    inputs = [out, ArrayLayout.contiguous((4,)), out, ArrayLayout.contiguous(())]
    launch = plan_launch(spec, inputs, out)
    assert launch.strided and launch.strides[3] is None and not launch.empty
    args = launch.arguments(["p0", "p1", "p2", "p3"], "po")
    assert [type(a) for a in args[:2]] == [np.int64, np.int64]
    assert args[3:9:2] == ["p0", "p1", "p2"] and args[9] == "p3" and args[10] == "po"
    assert args[2].dtype.itemsize == 8 * MAX_RANK and list(args[2]["v"][:2]) == [3, 4]
    assert list(args[6]["v"][:2]) == [0, 1]  # y broadcast over the rows
    assert dims_value([5]).tobytes()[:8] == np.int64(5).tobytes()
    dense = plan_launch(spec, [out, out, out, inputs[3]], out)
    assert dense.arguments(["p0", "p1", "p2", "p3"], "po")[1:] == ["p0", "p1", "p2", "p3", "po"]
    empty = ArrayLayout.contiguous((0, 4))
    assert plan_launch(spec, [empty, inputs[1], empty, inputs[3]], empty).empty


def test_normalize_arch():
    assert normalize_arch("sm_90") == normalize_arch(90) == normalize_arch("9.0") == "sm_90"
    assert normalize_arch("sm_90a") == "sm_90a"
    with pytest.raises(ValueError, match="not a CUDA architecture"):
        normalize_arch("volta")


# -- nvcc ------------------------------------------------------------------------------------


def _kernel_names(spec) -> list[bytes]:
    return [spec.contig_function.encode(), spec.strided_function.encode()]


@pytest.mark.nvcc
@needs_nvcc
@pytest.mark.parametrize("arch", ARCHS)
def test_every_scalar_op_and_a_fused_kernel_compile(arch):
    kernels = all_op_kernels() + [elemwise_kernel(fused_node(d)) for d in ("float32", "float64")]
    binary = compile_cuda(render_module(kernels), arch, name="all_scalar_ops")
    assert binary.arch == arch and binary.kind == "cubin"
    assert binary.data[:4] == b"\x7fELF"
    for spec in kernels:
        for name in _kernel_names(spec):
            assert name in binary.data, f"{name.decode()} missing from the cubin"


@pytest.mark.nvcc
@needs_nvcc
def test_ptx_output_targets_the_arch():
    spec = elemwise_kernel(fused_node())
    binary = compile_cuda(render_module([spec]), "sm_90", kind="ptx", name="fused")
    text = binary.data.decode()
    assert ".target sm_90" in text and f".entry {spec.contig_function}(" in text


@pytest.mark.nvcc
@needs_nvcc
def test_compiles_are_cached_on_disk(monkeypatch):
    source = render_module([scalar_kernel(ss.tanh, ["float32"], "float32", name="cached_tanh")])
    first = compile_cuda(source, "sm_80", name="cached")
    cache.clear_memory()

    def no_nvcc(*args, **kwargs):
        raise AssertionError("nvcc ran although the cache holds the result")

    monkeypatch.setattr(nvcc_module, "run_compiler", no_nvcc)
    again = compile_cuda(source, "sm_80", name="cached")
    assert again == first
    stored = list((Path(config.cache_dir) / "pickled").glob("cuda_cached_sm_80_cubin-*.pkl"))
    assert len(stored) == 1
    with config.change_flags(never_compile=True):
        with pytest.raises(cache.CacheMissError, match="never_compile"):
            compile_cuda(source + "// another source\n", "sm_80", name="cached")


@pytest.mark.nvcc
@needs_nvcc
def test_compile_error_names_kept_source_and_first_error():
    source = render_module([scalar_kernel(ss.exp, ["float32"], "float32")])
    broken = source + '\nextern "C" __global__ void broken() { undefined_thing(); }\n'
    with pytest.raises(CompileError) as info:
        compile_cuda(broken, "sm_80", name="broken")
    message = str(info.value)
    assert "CUDA compile failed for sm_80" in message
    assert "undefined_thing" in message and "error" in message
    kept = info.value.source_path
    assert f"source kept at: {kept}" in message and kept.read_text() == broken


@pytest.mark.nvcc
@needs_nvcc
def test_nvcc_timeout_is_an_error():
    source = render_module([scalar_kernel(ss.cosh, ["float64"], "float64", name="slow")])
    with pytest.raises(CompileError, match="nvcc timed out"):
        compile_cuda(source, "sm_80", name="slow", timeout=0.001)


@pytest.mark.nvcc
@needs_nvcc
def test_info_lists_the_architectures_nvcc_compiles_for():
    from symcomp.cli import collect_info

    info = collect_info()
    assert info["nvcc"] is not None
    assert set(ARCHS) <= set(info["nvcc_archs"])


# -- on a GPU (pycuda) -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpu():
    """(pycuda.driver, the device's arch) with a context current for the module's tests."""
    if find_nvcc() is None:
        pytest.skip("nvcc not found")
    try:
        import pycuda.driver as drv
    except ImportError:
        pytest.skip("pycuda is not installed")
    try:
        drv.init()
        if drv.Device.count() == 0:
            pytest.skip("no CUDA GPU found")
        device = drv.Device(0)
        context = device.make_context()
    except drv.Error as exc:
        pytest.skip(f"no usable CUDA GPU: {exc}")
    major, minor = device.compute_capability()
    arch = f"sm_{major}{minor}"
    try:
        probe = render_module([scalar_kernel(ss.add, ["int8", "int8"], "int8", name="probe")])
        try:
            compile_cuda(probe, arch, name="probe")
        except CompileError as exc:
            pytest.skip(f"this nvcc cannot compile for the GPU's {arch}: {exc.summary}")
        yield drv, arch
    finally:
        context.pop()


def run_on_gpu(gpu, node, bases_and_views, out_order="C") -> np.ndarray:
    """Run ``node``'s kernel on (base array, view of it) inputs; the output is allocated in
    ``out_order`` on the device and returned as a NumPy array."""
    drv, arch = gpu
    spec = elemwise_kernel(node)
    binary = compile_cuda(render_module([spec]), arch, name=spec.name)
    module = drv.module_from_buffer(binary.data)
    views = [view for _, view in bases_and_views]
    out_shape = np.broadcast_shapes(*(v.shape for v in views))
    out_host = np.empty(out_shape, dtype=node.outputs[0].dtype, order=out_order)
    keep, pointers = [], []
    for base, view in bases_and_views:
        assert base.flags.c_contiguous, "views must be of C-contiguous base arrays"
        device = drv.to_device(base) if base.nbytes else drv.mem_alloc(1)
        keep.append(device)
        _, offset = _flat(base, view)
        pointers.append(np.uintp(int(device) + offset * base.itemsize))
    out_device = drv.mem_alloc(max(out_host.nbytes, 1))
    layouts = [ArrayLayout.of(v) for v in views]
    launch = plan_launch(spec, layouts, ArrayLayout.of(out_host))
    if not launch.empty:
        function = module.get_function(launch.function)
        function(
            *launch.arguments(pointers, out_device),
            block=(launch.block, 1, 1),
            grid=(launch.grid, 1),
        )
        drv.Context.synchronize()
    flat = np.empty(out_host.size, dtype=out_host.dtype)
    if flat.nbytes:
        drv.memcpy_dtoh(flat, out_device)
    if out_order == "F":
        return flat.reshape(out_shape[::-1]).T
    return flat.reshape(out_shape)


def _same(view):
    return (view, view)


def _constant(node, k):
    return np.asarray(node.inputs[k].data, dtype=node.inputs[k].type.dtype)


def _assert_matches(got, expected, dtype):
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if np.dtype(dtype).kind == "f":
        tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-12
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["contiguous", "broadcast", "strided", "f_order_out"])
def test_gpu_fused_kernel_matches_numpy(gpu, dtype, layout):
    rng = np.random.default_rng(3)
    node = fused_node(dtype)
    x = rng.standard_normal((33, 70)).astype(dtype)
    z = rng.standard_normal((33, 70)).astype(dtype)
    y = rng.standard_normal(70).astype(dtype)
    half = _constant(node, 3)
    inputs = [_same(x), _same(y), _same(z), _same(half)]
    if layout == "broadcast":
        y_col = rng.standard_normal((33, 1)).astype(dtype)
        node = fused_node(dtype, y_shape=(None, 1))
        inputs[1] = _same(y_col)
    if layout == "strided":
        big = rng.standard_normal((66, 141)).astype(dtype)
        inputs[0] = (big, big[::2, 1::2])
        inputs[2] = (big, big[1::2, ::-2][:, :70])
    got = run_on_gpu(gpu, node, inputs, out_order="F" if layout == "f_order_out" else "C")
    xv, yv, zv = (inputs[k][1] for k in range(3))
    expected = (np.exp(-xv * xv) * np.sin(yv) + half * zv).astype(dtype)
    _assert_matches(got, expected, dtype)


@pytest.mark.gpu
@pytest.mark.parametrize(
    "op,dtypes",
    [
        (ss.int_div, ("int32", "int32")),
        (ss.mod, ("int64", "int64")),
        (ss.int_div, ("float64", "float64")),
        (ss.mod, ("float32", "float32")),
        (ss.add, ("uint8", "uint8")),
        (ss.maximum, ("float32", "float32")),
        (ss.round_half_to_even, ("float32",)),
        (ss.psi, ("float64",)),
        (ss.sigmoid, ("float32",)),
        (ss.lt, ("uint32", "int32")),
        (ss.logical_xor, ("bool", "bool")),
        (ss.Cast("int8"), ("float64",)),
        (ss.exp, ("int16",)),
    ],
    ids=str,
)
def test_gpu_scalar_ops_match_numpy(gpu, op, dtypes):
    rng = np.random.default_rng(4)
    arrays = []
    for dtype in dtypes:
        if np.dtype(dtype).kind == "f":
            pool = [-2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, 3.7, -7.25]
            # NaN to an integer is undefined in C++ (and platform-defined in NumPy).
            values = rng.choice(pool if isinstance(op, ss.Cast) else [*pool, np.nan], 240)
        elif dtype == "bool":
            values = rng.integers(0, 2, 240)
        else:
            info = np.iinfo(dtype)
            values = rng.integers(max(info.min, -300), min(info.max, 300), 240, endpoint=True)
        arrays.append(values.astype(dtype).reshape(12, 20))
    variables = [st.tensor(d, shape=(None, None)) for d in dtypes]
    node = Elemwise(op).make_node(*variables)
    out_dtype = node.outputs[0].type.dtype
    got = run_on_gpu(gpu, node, [_same(a) for a in arrays])
    expected = op.impl(*arrays, out_dtype=out_dtype)
    _assert_matches(got, expected, out_dtype)
    # The same node through the strided kernel: every input transposed.
    t_arrays = [np.ascontiguousarray(a.T) for a in arrays]
    got_t = run_on_gpu(gpu, node, [(t, t.T) for t in t_arrays])
    _assert_matches(got_t, expected, out_dtype)


@pytest.mark.gpu
def test_gpu_empty_and_zero_d(gpu):
    node = Elemwise(ss.add).make_node(st.fvector("a"), st.fvector("b"))
    empty = np.zeros(0, dtype=np.float32)
    assert run_on_gpu(gpu, node, [_same(empty), _same(empty)]).shape == (0,)
    zero_d = Elemwise(ss.mul).make_node(st.dscalar("a"), st.dscalar("b"))
    a, b = np.array(1.5), np.array(-4.0)
    got = run_on_gpu(gpu, zero_d, [_same(a), _same(b)])
    assert got.shape == () and got == -6.0
