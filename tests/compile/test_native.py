"""Native mode: generated C++ modules against the py runner (values, dtypes, shapes,
broadcasting, strides, size 0), errors, the Python fallback, debug mode, make_runner."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.codegen.toolchain import find_compiler
from symcomp.compile import native
from symcomp.config import config
from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.type import TensorType

pytestmark = [
    pytest.mark.cxx,
    pytest.mark.skipif(find_compiler() is None, reason="no C++ compiler"),
]


def both(inputs, outputs, args, **kwargs):
    """Results of the native and the py function on ``args``; asserts native ran."""
    fn = sc.function(inputs, outputs, mode="native", **kwargs)
    assert isinstance(fn.runner, native.NativeRunner)
    ref = sc.function(inputs, outputs, mode="py", **kwargs)
    return fn(*args), ref(*args), fn


def assert_same(got, expected, rtol=None):
    got = got if isinstance(got, list) else [got]
    expected = expected if isinstance(expected, list) else [expected]
    for g, e in zip(got, expected):
        assert isinstance(g, np.ndarray)
        assert g.dtype == e.dtype and g.shape == e.shape, (g.dtype, g.shape, e.dtype, e.shape)
        if e.dtype.kind == "f":
            tol = rtol or (1e-12 if e.dtype == np.float64 else 1e-6)
            np.testing.assert_allclose(g, e, rtol=tol, atol=tol, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, e)


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_expression_and_transpose(dtype):
    x, y, z = st.matrix("x", dtype=dtype), st.vector("y", dtype=dtype), st.scalar("z", dtype)
    out = [st.exp(-x * x) * st.sin(y) + 0.5 * z, x.T, st.log(x + 3) / st.cos(y)]
    args = [RNG.normal(size=(5, 7)).astype(dtype), RNG.normal(size=7).astype(dtype)]
    args.append(np.asarray(1.5, dtype))
    got, expected, fn = both([x, y, z], out, args)
    assert_same(got, expected)
    assert "elemwise" in fn.source and fn.cache_entry is not None


@pytest.mark.parametrize(
    "xshape,yshape",
    [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 1, 4), (3, 1)), ((0, 4), (4,)), ((1,), (5,))],
)
def test_broadcasting(xshape, yshape):
    x = st.tensor("float64", (None,) * len(xshape), name="x")
    y = st.tensor("float64", (None,) * len(yshape), name="y")
    args = [RNG.normal(size=xshape), RNG.normal(size=yshape)]
    got, expected, _ = both([x, y], [x * y + y, x - 1], args)
    assert_same(got, expected)


def test_noncontiguous_negative_and_zero_strides():
    x, y = st.dmatrix("x"), st.dmatrix("y")
    f = sc.function([x, y], [st.sqrt(st.abs(x)) + y * 2], mode="native")
    big = RNG.normal(size=(6, 10))
    cases = [
        (big[::2, ::3], big[1::2, ::3]),
        (big[::-1, ::-2], big[:, ::2]),
        (np.broadcast_to(RNG.normal(size=(1, 5)), (6, 5)), big[:, 5:]),
        (big.T[:5], big.T[5:]),
    ]
    for a, b in cases:
        np.testing.assert_allclose(f(a, b)[0], np.sqrt(np.abs(a)) + b * 2, rtol=1e-14)


def test_size_zero_and_rank_zero():
    x, s = st.dtensor3("x"), st.dscalar("s")
    args = [np.ones((2, 0, 3)), np.asarray(2.0)]
    got, expected, _ = both([x, s], [x * s, s * s + 1, st.exp(s)], args)
    assert_same(got, expected)


@pytest.mark.parametrize(
    "dtypes",
    [
        ("int8", "float32"),
        ("uint8", "int8"),
        ("bool", "int16"),
        ("int32", "float64"),
        ("int64", "int64"),
        ("bool", "bool"),
        ("uint32", "int32"),
    ],
)
def test_mixed_dtypes(dtypes):
    x, y = st.vector("x", dtype=dtypes[0]), st.vector("y", dtype=dtypes[1])
    a = (RNG.integers(0, 2, 9) if dtypes[0] == "bool" else RNG.integers(-5, 6, 9)).astype(dtypes[0])
    b = (RNG.integers(0, 2, 9) if dtypes[1] == "bool" else RNG.integers(-5, 6, 9)).astype(dtypes[1])
    outs = [x + y, x * y, x < y, st.maximum(x, y)]
    got, expected, _ = both([x, y], outs, [a, b])
    assert_same(got, expected)


def test_integer_division_edges():
    x, y = st.ivector("x"), st.ivector("y")
    a = np.array([7, -7, 0, np.iinfo(np.int32).min, 5], np.int32)
    b = np.array([0, 2, 0, -1, -3], np.int32)
    got, expected, _ = both([x, y], [x // y, x % y], [a, b])
    assert_same(got, expected)


def test_openmp_paths_match():
    x, y = st.dmatrix("x"), st.dvector("y")
    a, b = RNG.normal(size=(300, 200)), RNG.normal(size=200)
    with config.change_flags(openmp_elemwise_minsize=1000):
        f = sc.function([x, y], st.tanh(x) * y, mode="native")
    assert "if (n >= 1000)" in f.source
    np.testing.assert_allclose(f(a, b), np.tanh(a) * b, rtol=1e-14)
    np.testing.assert_allclose(f(a[:, ::-1], b), np.tanh(a[:, ::-1]) * b, rtol=1e-14)


def test_composite_is_one_loop():
    from symcomp.scalar.composite import composite_from_graph
    from symcomp.tensor.elemwise import Elemwise

    x, y = st.fvector("x"), st.fvector("y")
    expr = st.exp(-x * x) * st.sin(y) + 1
    comp, outer = composite_from_graph([x, y], expr)
    fused = Elemwise(comp)(*outer)
    a, b = RNG.normal(size=50).astype("float32"), RNG.normal(size=50).astype("float32")
    got, expected, fn = both([x, y], fused, [a, b])
    assert_same(got, expected)
    assert fn.source.count("static void elemwise") == 1
    assert "const float t0 =" in fn.source


def test_views_and_shapes():
    x = st.dmatrix("x")
    n = st.lscalar("n")
    outs = [
        x.dimshuffle(1, "x", 0),
        x.shape,
        st.shape_i(x, 1),
        st.alloc(st.cast(n, "float64"), 2, n),
    ]
    got, expected, fn = both([x, n], outs, [RNG.normal(size=(3, 4)), np.asarray(3)])
    assert_same(got, expected)
    assert "[Python perform]" not in fn.source


def test_outputs_are_fresh_and_inputs_untouched():
    x = st.dvector("x")
    f = sc.function([x], [x.dimshuffle("x", 0), x * 1], mode="native")
    a = np.arange(3.0)
    view, prod = f(a)
    view[0, 0] = 100.0
    assert a[0] == 0.0 and prod.flags.owndata


def test_errors_name_the_node_shapes_and_line():
    x, y = st.dvector("x"), st.dvector("y")
    f = sc.function([x, y], x + y, mode="native")
    with pytest.raises(ValueError) as info:
        f(np.ones(3), np.ones(4))
    text = str(info.value)
    assert "could not be broadcast together with shapes (3,) (4,)" in text
    assert "Apply node that caused the error: Elemwise{Add}" in text
    assert "shape (4,), dtype float64" in text
    assert "test_native.py" in text  # the user's source line


def test_bad_arguments_with_trust_input_do_not_crash():
    x = st.dmatrix("x")
    f = sc.function([x], x * 2, mode="native")
    f.trust_input = True
    with pytest.raises(TypeError, match=r"input 0 \(x.*dtype float64"):
        f(np.ones((2, 2), np.float32))
    with pytest.raises(TypeError, match="ndarray"):
        f([[1.0]])
    unaligned = np.frombuffer(b"\0" + np.arange(4.0).tobytes(), dtype=np.float64, offset=1)
    np.testing.assert_array_equal(f(unaligned.reshape(2, 2)), np.arange(4.0).reshape(2, 2) * 2)
    swapped = np.arange(4.0).reshape(2, 2).astype(">f8")
    f.trust_input = False
    np.testing.assert_array_equal(f(swapped), np.arange(4.0).reshape(2, 2) * 2)


# -- the Python fallback -------------------------------------------------------------------


@dataclass(frozen=True)
class PyOnlyCumsum(Op):
    """A test op with no C++ emitter: cumulative sum along the last axis, in Python."""

    ret: str = "ndarray"

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply.make(self, [x], [TensorType(x.dtype, x.type.shape)])

    def perform(self, node, inputs):
        y = np.cumsum(inputs[0], axis=-1).astype(node.outputs[0].dtype)
        if self.ret == "list":
            return [y.tolist()]  # converted like the py runner does
        if self.ret == "wrong_ndim":
            return [y.ravel()[None, None]]
        if self.ret == "raise":
            raise ValueError("perform failed on purpose")
        return [y]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]


def test_python_only_op_runs_inside_the_module():
    x = st.dmatrix("x")
    a = RNG.normal(size=(3, 4))
    got, expected, fn = both([x], [PyOnlyCumsum()(x * 2) + 1], [a])
    assert_same(got, expected)
    assert "[Python perform]" in fn.source
    assert [type(n.op) for n in fn.runner.fallback_nodes] == [PyOnlyCumsum]
    got, expected, _ = both([x], PyOnlyCumsum("list")(x), [a])
    assert_same(got, expected)


def test_python_fallback_errors():
    x = st.dmatrix("x")
    f = sc.function([x], PyOnlyCumsum("wrong_ndim")(x), mode="native")
    with pytest.raises(ValueError, match=r"(?s)perform returned output 0 of shape.*PyOnlyCumsum"):
        f(np.ones((2, 2)))
    g = sc.function([x], PyOnlyCumsum("raise")(x), mode="native")
    with pytest.raises(ValueError, match=r"(?s)failed on purpose.*Apply node.*PyOnlyCumsum"):
        g(np.ones((2, 2)))


# -- debug mode and make_runner ------------------------------------------------------------


@dataclass(frozen=True)
class Twice(Op):
    """2 * x, whose registered C++ emitter is deliberately wrong (it copies x)."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply.make(self, [x], [TensorType(x.dtype, x.type.shape)])

    def perform(self, node, inputs):
        return [inputs[0] * 2]


def test_debug_mode_catches_a_wrong_emitter():
    from symcomp.codegen.cpu import registry

    def wrong(node, ctx):
        return registry.NodeCode(
            "  out[0] = reinterpret_cast<PyArrayObject*>(PyArray_NewCopy(in[0], NPY_CORDER));\n"
            "  return out[0] == nullptr ? -1 : 0;"
        )

    registry.emitter(Twice)(wrong)
    try:
        x = st.dvector("x")
        ok = sc.function([x], x + 1, mode="debug")
        np.testing.assert_array_equal(ok(np.ones(2)), [2, 2])
        f = sc.function([x], Twice()(x + 1) * 3, mode="debug")
        with pytest.raises(native.DebugModeError, match=r"(?s)values differ.*node Twice"):
            f(np.ones(2))
    finally:
        registry._EMITTERS.pop(Twice)


def test_make_runner_without_compiler_warns_once(monkeypatch):
    import symcomp.codegen.toolchain as toolchain

    monkeypatch.setattr(toolchain, "find_compiler", lambda: None)
    monkeypatch.setattr(native, "_warned_no_compiler", False)
    x = st.dvector("x")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = sc.function([x], x + 1, mode="native")
        g = sc.function([x], x + 2, mode="native")
    assert [str(w.message) for w in caught] == ["no C++ compiler found; running in py mode"]
    assert f.source is None and g(np.ones(1))[0] == 3.0


def test_same_graph_same_source():
    def build():
        x, y = st.dmatrix("a"), st.dvector("b")
        return sc.function([x, y], [st.exp(x) * y, x.T], mode="native")

    f, g = build(), build()
    assert f.source == g.source
    assert f.runner.module is g.runner.module
