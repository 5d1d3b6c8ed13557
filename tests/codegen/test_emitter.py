"""The CPU module emitter: registry, contexts, deterministic and golden sources, kernel
deduplication, and (with a compiler) vectorized math in the built module."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import symcomp.tensor as st
from symcomp.codegen.cpu import registry
from symcomp.codegen.cpu.emitter import EmitOptions, generate
from symcomp.codegen.toolchain import UNIT_MARKER, split_units
from symcomp.graph.apply import Apply
from symcomp.graph.fgraph import FunctionGraph
from symcomp.graph.op import Op
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.elemwise import Elemwise
from symcomp.tensor.type import TensorType

GOLDEN = Path(__file__).parent / "golden"
OPTIONS = EmitOptions(openmp=True, openmp_minsize=200000)


@dataclass(frozen=True)
class GoldenPyOp(Op):
    """An op with no emitter (runs its perform), for the golden source."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply.make(self, [x], [TensorType(x.dtype, x.type.shape)])

    def perform(self, node, inputs):
        return [inputs[0][::-1].copy()]


def golden_graph() -> FunctionGraph:
    x = st.dmatrix("x")
    y = st.fvector("y")
    out = st.exp(-x * x) * y + 2
    return FunctionGraph([x, y], [out, GoldenPyOp()(x.T), st.shape_i(x, 1)])


def test_golden_source(request):
    source = generate(golden_graph(), OPTIONS).source
    path = GOLDEN / "small_graph.cpp"
    if request.config.getoption("--update-golden"):
        path.write_text(source)
    assert path.exists(), "run pytest --update-golden to create the golden source"
    assert source == path.read_text(), (
        "the generated source changed; if intended, run pytest tests/codegen --update-golden"
    )


def test_source_is_deterministic_across_graph_rebuilds():
    assert generate(golden_graph(), OPTIONS).source == generate(golden_graph(), OPTIONS).source


def test_source_does_not_depend_on_variable_names():
    a, b = st.dvector("a"), st.dvector("b")
    c, d = st.dvector("c"), st.dvector("d")
    assert (
        generate(FunctionGraph([a, b], [a * b]), OPTIONS).source
        == generate(FunctionGraph([c, d], [c * d]), OPTIONS).source
    )


def test_fallback_and_constants():
    x = st.dvector("x")
    code = generate(FunctionGraph([x], [GoldenPyOp()(x) * 3.0]), OPTIONS)
    assert code.fallback == (0,)
    assert [float(c) for c in code.constants] == [3.0]
    assert "[Python perform]" in code.source


def test_equal_kernels_are_emitted_once():
    x, y = st.dvector("x"), st.dvector("y")
    code = generate(FunctionGraph([x, y], [st.exp(x), st.exp(y), st.exp(x + y)]), OPTIONS)
    assert code.source.count("static void elemwise") == 2  # exp once, add once


def test_openmp_flag_changes_the_pragmas():
    x = st.dvector("x")
    fg = FunctionGraph([x], [x + 1])
    on = generate(fg, EmitOptions(openmp=True, openmp_minsize=1234)).source
    off = generate(fg, EmitOptions(openmp=False, openmp_minsize=1234)).source
    assert "if (n >= 1234) {" in on and "sc::parallel_ranges(n, dense)" in on
    assert "parallel for schedule(static) if (n >= 1234 && outer > 1)" in on
    assert "parallel" not in off and "#pragma omp simd" in off


def test_the_serial_and_parallel_dense_paths_share_one_loop():
    x = st.dvector("x")
    source = generate(FunctionGraph([x], [st.exp(x)]), OPTIONS).source
    assert source.count("std::exp") == 2  # the dense loop once, the strided loop once


def split_graph() -> FunctionGraph:
    x, y = st.dvector("x"), st.dmatrix("y")
    outs = [st.exp(-x * x) * y + 2, st.tanh(y).sum(axis=0), (x + 1) / (y * y + 1)]
    return FunctionGraph([x, y], outs)


def test_a_large_module_is_split_into_units_deterministically():
    options = EmitOptions(split_above=0)
    source = generate(split_graph(), options).source
    assert source == generate(split_graph(), options).source
    units = split_units(source)
    assert len(units) == 3  # two units of node functions and the glue
    assert source.count("SC_NODE int node") == 2 * len(split_graph().apply_nodes)
    assert all("#include <symcomp/module.hpp>" in u for u in units)
    assert "static void elemwise" not in units[-1] and "PyInit_symcomp_module" in units[-1]
    assert UNIT_MARKER not in generate(split_graph(), OPTIONS).source  # small: one unit


@pytest.mark.parametrize("split_above", [0, 10**9])
@pytest.mark.cxx
def test_split_and_single_unit_modules_compute_the_same(tmp_path, split_above):
    from symcomp.codegen import cache
    from symcomp.codegen.toolchain import find_compiler
    from symcomp.config import change_flags

    compiler = find_compiler()
    if compiler is None:
        pytest.skip("no C++ compiler found")
    fg = split_graph()
    code = generate(fg, EmitOptions(split_above=split_above))
    assert (UNIT_MARKER in code.source) == (split_above == 0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(5), rng.standard_normal((4, 5))
    with change_flags(cache_dir=str(tmp_path)):
        module, _ = cache.get_module(code.source, code.name, compiler)
    got = module.run([x, y], tuple(code.constants), (None,) * len(fg.apply_nodes))
    want = [np.exp(-x * x) * y + 2, np.tanh(y).sum(axis=0), (x + 1) / (y * y + 1)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_dtypes_without_c_types_fall_back():
    x = st.tensor("complex128", (None,), name="z")
    code = generate(FunctionGraph([x], [x * x]), OPTIONS)
    assert code.fallback == (0,) and "NPY_COMPLEX128" in code.source


def test_registry_finds_base_class_emitters():
    class Sub(Elemwise):
        pass

    registry.load_emitters()
    assert registry.find_emitter(Sub(st.exp(st.dvector()).owner.op.scalar_op)) is (
        registry.find_emitter(st.exp(st.dvector()).owner.op)
    )
    assert registry.find_emitter(GoldenPyOp()) is None


def test_context_error_and_literals():
    assert registry.c_string('a "b"\n?') == '"a \\"b\\"\\n\\?"'
    assert registry.dims_literal((None, 3)) == "{-1, 3}"
    assert registry.dims_literal(()) == "{-1}"
    x = st.dvector("x")
    ctx = registry.NodeContext(registry.ModuleBuilder(), (x + 1).owner, OPTIONS)
    assert ctx.inputs == ["in[0]", "in[1]"] and ctx.outputs == ["out[0]"]
    assert ctx.error("ValueError", "bad %zd", "n") == (
        'return (PyErr_Format(PyExc_ValueError, "bad %zd", n), -1);'
    )
    assert ctx.ctype("float32") == "float" and ctx.typenum("int8") == "NPY_INT8"


def test_templates_stay_small():
    root = Path(registry.__file__).resolve().parents[3] / "templates" / "cpu"
    for path in root.glob("*.j2"):
        assert len(path.read_text().splitlines()) <= 100, path


@pytest.mark.cxx
def test_vectorized_math_calls_libmvec():
    import symcomp as sc
    from symcomp.codegen.toolchain import find_compiler

    objdump = shutil.which("objdump")
    compiler = find_compiler()
    if objdump is None or compiler is None or "g++" not in Path(compiler.path).name:
        pytest.skip("needs g++ and objdump")
    x = st.dvector("x")
    f = sc.function([x], st.exp(x) + st.sin(x), mode="native")
    so = Path(f.cache_entry.path) / "module.so"
    symbols = subprocess.run([objdump, "-d", str(so)], capture_output=True, text=True).stdout
    assert "_ZGV" in symbols and "_exp" in symbols
    a = np.linspace(-700, 700, 1001)
    np.testing.assert_allclose(f(a), np.exp(a) + np.sin(a), rtol=1e-15 * 4 * 4)
