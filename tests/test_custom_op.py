"""The custom-op contract of docs/extending.md, exercised by an op defined outside symcomp's
package: a Python ``perform`` and a C++ kernel rendered from the library's own template
directory, registered through the public ``symcomp.codegen`` names only."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.codegen import NodeCode, add_template_dir, emitter
from symcomp.graph import Apply, Op

TEMPLATES = Path(__file__).resolve().parent / "custom_op_templates"
NAMESPACE = "symcomp_test_custom_op"
KERNEL_MARK = "custom kernel: scaled softsign"
PERFORM_CALLS = [0]  # how often ScaledSoftsign.perform ran, to tell native code from fallback

add_template_dir(TEMPLATES, NAMESPACE)


@dataclass(frozen=True)
class ScaledSoftsign(Op):
    """y = x / (scale + |x|), elementwise, for a positive finite ``scale``."""

    scale: float = 1.0

    def __post_init__(self):
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"ScaledSoftsign needs a positive finite scale, got {self.scale}")

    def make_node(self, x):
        x = st.as_tensor_variable(x)
        if x.type.dtype not in ("float16", "float32", "float64"):
            raise TypeError(f"ScaledSoftsign needs a float input, got {x.type}")
        return Apply.make(self, [x], [x.type])

    def perform(self, node, inputs):
        PERFORM_CALLS[0] += 1
        (x,) = inputs
        scale = x.dtype.type(self.scale)
        return [x / (scale + np.abs(x))]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def pullback(self, inputs, outputs, cotangents):
        (x,), (g,) = inputs, cotangents
        if g is None:
            return [None]
        d = self.scale + st.abs(x)
        return [g * self.scale / (d * d)]


@emitter(ScaledSoftsign)
def emit_scaled_softsign(node, ctx) -> NodeCode | None:
    dtype = node.outputs[0].type.dtype
    if dtype not in ("float32", "float64"):
        return None  # float16: the node runs its perform from inside the module
    ctx.include("cmath")
    body = ctx.render(
        f"{NAMESPACE}/scaled_softsign.cpp.j2",
        ctype=ctx.ctype(dtype),
        typenum=ctx.typenum(dtype),
        scale=repr(float(node.op.scale)),
        nogil_minsize=ctx.options.nogil_minsize,
    )
    return NodeCode(body)


def expected(x: np.ndarray, scale: float) -> np.ndarray:
    return x / (x.dtype.type(scale) + np.abs(x))


def data(dtype: str, shape=(5, 7), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=3.0, size=shape).astype(dtype)


def assert_matches(got, want):
    got = np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    rtol = 1e-6 if want.dtype == np.float32 else 1e-14
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)


def kernel_nodes(fn) -> list:
    return [n for n in fn.maker.fgraph.apply_nodes if isinstance(n.op, ScaledSoftsign)]


def test_op_contract_in_python():
    x = st.dmatrix("x")
    y = ScaledSoftsign(2.0)(x)
    assert y.type == x.type
    assert ScaledSoftsign(2.0)(x) is y  # equal ops on equal inputs are one node
    assert ScaledSoftsign(2.0) == ScaledSoftsign(2.0) != ScaledSoftsign(3.0)
    with pytest.raises(TypeError, match="float input"):
        ScaledSoftsign()(st.ivector("i"))
    with pytest.raises(ValueError, match="positive finite"):
        ScaledSoftsign(-1.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_py_mode_matches_numpy(dtype):
    x = st.matrix("x", dtype=dtype)
    f = sc.function([x], ScaledSoftsign(2.5)(x), mode="py")
    value = data(dtype)
    assert_matches(f(value), expected(value, 2.5))


def test_infer_shape_answers_shape_queries_without_running_the_op():
    x = st.tensor3("x")
    y = ScaledSoftsign(1.5)(x)
    f = sc.function([x], y.shape, mode="py")
    assert not kernel_nodes(f)
    calls = PERFORM_CALLS[0]
    np.testing.assert_array_equal(f(np.zeros((2, 3, 4))), [2, 3, 4])
    assert PERFORM_CALLS[0] == calls
    assert ScaledSoftsign(1.5).infer_shape(y.owner, [(2, 3, 4)]) == [(2, 3, 4)]


def test_gradient():
    sc.verify_grad(lambda v: ScaledSoftsign(0.7)(v), [data("float64", (4, 3), seed=1)], mode="py")
    x = st.dvector("x")
    g = sc.grad(ScaledSoftsign(2.0)(x).sum(), x)
    value = np.array([-3.0, -0.5, 0.0, 0.25, 4.0])
    want = 2.0 / (2.0 + np.abs(value)) ** 2
    np.testing.assert_allclose(sc.function([x], g, mode="py")(value), want, rtol=1e-14)


@pytest.mark.cxx
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["contiguous", "strided argument", "transposed in graph", "0-d"])
def test_native_runs_the_cpp_kernel(dtype, layout):
    _skip_without_compiler()
    if layout == "0-d":
        x = st.scalar("x", dtype=dtype)
        y, value = ScaledSoftsign(2.5)(x), data(dtype, ())
        want = expected(value, 2.5)
    else:
        x = st.matrix("x", dtype=dtype)
        inner = x.T if layout == "transposed in graph" else x
        y, value = ScaledSoftsign(2.5)(inner), data(dtype, (9, 14))
        if layout == "strided argument":
            value = value[::2, ::3]
            assert not value.flags.c_contiguous
        want = expected(value.T if layout == "transposed in graph" else value, 2.5)
    f = sc.function([x], y, mode="native")
    assert kernel_nodes(f) and not f.runner.fallback_nodes
    assert KERNEL_MARK in f.source and "[Python perform]" not in f.source
    calls = PERFORM_CALLS[0]
    before = value.copy()
    assert_matches(f(value), want)
    assert PERFORM_CALLS[0] == calls  # the C++ kernel ran, not the Python fallback
    np.testing.assert_array_equal(value, before)


@pytest.mark.cxx
def test_native_empty_input_and_large_input_release_the_gil():
    _skip_without_compiler()
    x = st.dvector("x")
    f = sc.function([x], ScaledSoftsign(1.0)(x), mode="native")
    assert not f.runner.fallback_nodes
    for n in (0, 100_000):  # 100_000 elements: the loop runs without the GIL
        value = data("float64", (n,))
        assert_matches(f(value), expected(value, 1.0))


@pytest.mark.cxx
def test_native_gradient_and_debug_mode():
    _skip_without_compiler()
    x = st.dmatrix("x")
    y = ScaledSoftsign(0.5)(x)
    g = sc.grad((y * y).sum(), x)
    value = data("float64", (6, 5), seed=2)
    native = sc.function([x], [y, g], mode="native")
    fallback = set(native.runner.fallback_nodes)
    assert kernel_nodes(native) and not fallback & set(kernel_nodes(native))
    py = sc.function([x], [y, g], mode="py")
    for got, want in zip(native(value), py(value)):
        assert_matches(got, want)
    debug = sc.function([x], [y, g], mode="debug")  # native checked against perform
    for got, want in zip(debug(value), py(value)):
        assert_matches(got, want)


@pytest.mark.cxx
def test_unsupported_dtype_falls_back_to_perform():
    _skip_without_compiler()
    x = st.vector("x", dtype="float16")
    f = sc.function([x], ScaledSoftsign(2.0)(x), mode="native")
    assert [n.op for n in f.runner.fallback_nodes] == [ScaledSoftsign(2.0)]
    assert KERNEL_MARK not in f.source
    calls = PERFORM_CALLS[0]
    value = data("float16", (8,))
    assert_matches(f(value), expected(value, 2.0))
    assert PERFORM_CALLS[0] == calls + 1


@pytest.mark.cxx
def test_generated_source_is_deterministic_and_keys_the_cache():
    _skip_without_compiler()
    from symcomp.codegen.cpu.emitter import generate

    def compiled(scale):
        x = st.dvector("x")
        return sc.function([x], ScaledSoftsign(scale)(x), mode="native")

    a, b, c = compiled(2.0), compiled(2.0), compiled(3.0)
    assert a.source == b.source
    assert generate(a.maker.fgraph).source == a.source
    assert a.cache_entry.path == b.cache_entry.path
    # The parameter is baked into the kernel: another scale is another source and entry.
    assert c.source != a.source and c.cache_entry.path != a.cache_entry.path
    assert "static_cast<double>(3.0)" in c.source
    assert "static_cast<double>(2.0)" in a.source


def test_template_directories():
    assert "scale" in sc.codegen.render(
        f"{NAMESPACE}/scaled_softsign.cpp.j2",
        ctype="double",
        typenum="NPY_FLOAT64",
        scale="1.0",
        nogil_minsize=1,
    )
    add_template_dir(TEMPLATES, NAMESPACE)  # the same binding again: a no-op
    with pytest.raises(ValueError, match="already bound"):
        add_template_dir(TEMPLATES.parent, NAMESPACE)
    with pytest.raises(ValueError, match="symcomp's own"):
        add_template_dir(TEMPLATES, "cpu")
    with pytest.raises(ValueError, match="plain name"):
        add_template_dir(TEMPLATES, "a/b")
    with pytest.raises(NotADirectoryError):
        add_template_dir(TEMPLATES / "scaled_softsign.cpp.j2", "symcomp_test_not_a_dir")
    with pytest.raises(jinja2.UndefinedError):  # StrictUndefined applies to library templates
        sc.codegen.render(f"{NAMESPACE}/scaled_softsign.cpp.j2", ctype="double")
    with pytest.raises(jinja2.TemplateNotFound):
        sc.codegen.render(f"{NAMESPACE}/missing.cpp.j2")


def _skip_without_compiler():
    from symcomp.codegen.toolchain import find_compiler

    if find_compiler() is None:
        pytest.skip("no C++ compiler found")


@pytest.mark.cxx
def test_a_changed_kernel_is_compiled_again():
    """A library that changes its kernel (a new version, an edited template) gets the new
    code for a graph compiled before: whatever reuses compiled modules is keyed by it."""
    _skip_without_compiler()
    x = st.dvector("x")
    y = ScaledSoftsign(4.0)(x)
    first = sc.function([x], y, mode="native")
    assert KERNEL_MARK in first.source

    @emitter(ScaledSoftsign)
    def emit_changed(node, ctx):
        code = emit_scaled_softsign(node, ctx)
        return NodeCode(code.body.replace(KERNEL_MARK, f"{KERNEL_MARK}, version 2"))

    try:
        second = sc.function([x], y, mode="native")
    finally:
        emitter(ScaledSoftsign)(emit_scaled_softsign)
    assert f"{KERNEL_MARK}, version 2" in second.source
    assert second.cache_entry.path != first.cache_entry.path
    value = data("float64", (10,))
    assert_matches(second(value), expected(value, 4.0))


def test_public_codegen_names_load_lazily():
    import subprocess
    import sys

    import symcomp.codegen

    assert {"NodeCode", "NodeContext", "add_template_dir", "emitter", "render"} <= set(
        dir(symcomp.codegen)
    )
    assert symcomp.codegen.NodeCode is NodeCode
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        symcomp.codegen.missing  # noqa: B018
    # Loading a cached module imports symcomp.codegen; that alone must not import Jinja2.
    probe = "import sys, symcomp.codegen; print('jinja2' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
