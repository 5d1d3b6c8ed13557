"""debugprint, pprint, to_dot and graph_image."""

import io
import shutil
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

import symcomp
import symcomp.tensor as st
from symcomp import printing
from symcomp.graph.apply import Apply
from symcomp.graph.fgraph import FunctionGraph
from symcomp.graph.op import Op
from symcomp.optimize.mode import Mode
from symcomp.printing import debugprint, graph_image, pprint, to_dot

MAT = "<Tensor(float64, shape=(?, ?))>"


@dataclass(frozen=True)
class _Split(Op):
    """A two-output op for printing tests only (abstract: kept out of the op table)."""

    abstract = True

    def make_node(self, x):
        x = st.as_tensor_variable(x)
        return Apply.make(self, [x], [x.type, x.type])


def _shared_graph():
    x, y = st.dmatrix("x"), st.dmatrix("y")
    a = x * y
    z = (a + a * 2.0) - st.neg(a)
    z.name = "z"
    return x, y, a, z


def test_debugprint_tree_and_sharing():
    z = _shared_graph()[3]
    text = debugprint(z, file="str")
    assert text.splitlines() == [
        f"Elemwise{{Sub}} [id A] {MAT} 'z'",
        f" |Elemwise{{Add}} [id B] {MAT}",
        f" | |Elemwise{{Mul}} [id C] {MAT}",
        f" | | |x [id D] {MAT}",
        f" | | |y [id E] {MAT}",
        f" | |Elemwise{{Mul}} [id F] {MAT}",
        f" |   |Elemwise{{Mul}} [id C] {MAT}",
        " |   |2.0 [id G] <Tensor(float64, shape=())>",
        f" |Elemwise{{Neg}} [id H] {MAT}",
        f"   |Elemwise{{Mul}} [id C] {MAT}",
    ]


def test_debugprint_str_does_not_print(capsys):
    _, _, _, z = _shared_graph()
    text = debugprint(z, file="str")
    assert capsys.readouterr().out == ""
    assert text.startswith("Elemwise{Sub}")


def test_debugprint_stdout_and_file(capsys):
    _, _, _, z = _shared_graph()
    text = debugprint(z)
    assert capsys.readouterr().out == text
    buf = io.StringIO()
    assert debugprint(z, file=buf) == buf.getvalue() == text


def test_debugprint_options():
    z = _shared_graph()[3]
    no_type = debugprint(z, file="str", print_type=False)
    assert "Tensor(" not in no_type
    assert no_type.splitlines()[0] == "Elemwise{Sub} [id A] 'z'"
    assert "[id" not in debugprint(z, file="str", ids="")
    assert debugprint(z, file="str", ids="int").splitlines()[0].startswith("Elemwise{Sub} [id 0]")
    shallow = debugprint(z, file="str", depth=2, print_type=False)
    assert shallow.splitlines() == [
        "Elemwise{Sub} [id A] 'z'",
        " |Elemwise{Add} [id B]",
        " |Elemwise{Neg} [id C]",
    ]
    assert debugprint(z, file="str", depth=1, print_type=False) == "Elemwise{Sub} [id A] 'z'\n"
    with pytest.raises(ValueError, match="ids must be"):
        debugprint(z, file="str", ids="bogus")


def test_debugprint_done_keeps_ids_across_calls():
    _, _, a, z = _shared_graph()
    done = {}
    debugprint(a, file="str", done=done)
    second = debugprint(z, file="str", done=done, print_type=False)
    # `a` was printed (as id A) by the first call, so it is not expanded again here.
    assert " | |Elemwise{Mul} [id A]" in second.splitlines()


def test_debugprint_list_and_unnamed_input():
    x = st.dvector()
    text = debugprint([x + 1.0, x], file="str", print_type=False)
    assert text.splitlines() == [
        "Elemwise{Add} [id A]",
        " |<Tensor(float64, shape=(?,))> [id B]",
        " |1.0 [id C]",
        "<Tensor(float64, shape=(?,))> [id B]",
    ]


def test_debugprint_multi_output():
    x = st.dvector("x")
    first, second = _Split()(x)
    text = debugprint([first, second], file="str", print_type=False)
    assert text.splitlines() == ["_Split.0 [id A]", " |x [id B]", "_Split.1 [id A]"]


def test_debugprint_function_graph_and_function():
    x, y, a, z = _shared_graph()
    fg = FunctionGraph([x, y], [z])
    text = debugprint(fg, file="str", print_type=False)
    first = text.splitlines()[0]
    assert first == f"Elemwise{{Sub}} [id A] 'z' {len(fg.apply_nodes) - 1}"
    fn = SimpleNamespace(maker=SimpleNamespace(fgraph=fg))
    assert debugprint(fn, file="str", print_type=False) == text
    # A FunctionGraph's inputs are leaves even when they have owners.
    inner = FunctionGraph([a], [a * 3.0])
    lines = debugprint(inner, file="str", print_type=False).splitlines()
    assert lines[1] == " |Elemwise{Mul} [id B]" and len(lines) == 3


def test_debugprint_deep_graph():
    x = st.dvector("x")
    out = x
    for _ in range(3000):
        out = out + 1.0
    lines = debugprint(out, file="str", print_type=False).splitlines()
    assert len(lines) == 3000 * 2 + 1
    assert lines[3000].startswith(" |" * 3000 + "x [id ")
    assert lines[-1].startswith(" |1.0 [id ")


def test_debugprint_bad_object():
    with pytest.raises(TypeError, match="cannot print int"):
        debugprint(3)


def test_pprint():
    x, y = st.dmatrix("x"), st.dmatrix("y")
    assert pprint(x + y * 2.0) == "(x + (y * 2.0))"
    assert pprint(st.neg(x) / y - x) == "(((-x) / y) - x)"
    assert pprint(st.switch(x < y, x, y)) == "switch((x < y), x, y)"
    assert pprint(st.cast(x, "float32")) == "cast{float32}(x)"
    assert pprint(st.transpose(x) * y) == "(x.T * y)"
    assert pprint(x) == "x"
    assert pprint([x + y, x]) == "(x + y)\nx"


def test_pprint_other_ops_and_deep_graph():
    x = st.dvector("x")
    assert pprint(st.expand_dims(x, 0)) == "DimShuffle{x,0}(x)"
    second = _Split()(x)[1]
    assert pprint(second) == "_Split(x)[1]"
    out = x
    for _ in range(2000):
        out = out * 2.0
    assert pprint(out).count("*") == 2000


def _dot_graph():
    x, y = st.dmatrix("x"), st.dmatrix("y")
    z = st.neg(x * y + 3.0)
    z.name = "z"
    return z


def test_to_dot_structure():
    text = to_dot(_dot_graph())
    assert text.startswith('digraph "symcomp" {')
    assert 'v0 [shape=ellipse, label="x", style=filled, fillcolor=palegreen];' in text
    assert 'label="3.0", style=filled, fillcolor=lightgrey' in text
    assert 'label="z", style=filled, fillcolor=lightblue' in text
    assert 'n0 [shape=box, label="Elemwise{Mul}"];' in text
    assert 'v0 -> n0 [label="0"];' in text and 'v1 -> n0 [label="1"];' in text
    # Neg has one input: no index label on its edge.
    neg_edges = [ln for ln in text.splitlines() if "-> n2" in ln]
    assert neg_edges == ["  v4 -> n2;"]
    assert text.count("shape=box") == 3 and text.count("shape=ellipse") == 6


def test_to_dot_deterministic():
    # Two separately built graphs (new input variables, so new nodes) give the same text.
    assert to_dot(_dot_graph()) == to_dot(_dot_graph())


def test_to_dot_escapes_and_multi_output():
    x = st.dvector('a"b')
    first, second = _Split()(x)
    text = to_dot([first, second])
    assert 'label="a\\"b"' in text
    assert 'n0 -> v1 [label="0"];' in text and 'n0 -> v2 [label="1"];' in text


def test_to_dot_function_graph_stops_at_inputs():
    x, y = st.dmatrix("x"), st.dmatrix("y")
    a = x * y
    fg = FunctionGraph([a], [a + 1.0])
    text = to_dot(fg)
    assert "Elemwise{Mul}" not in text
    assert text.count("shape=box") == 1


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_graph_image(tmp_path, suffix, magic):
    path = tmp_path / f"graph{suffix}"
    assert graph_image(_dot_graph(), path) == str(path)
    assert path.read_bytes().startswith(magic)


def test_graph_image_without_dot(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="needs Graphviz's 'dot' program.*to_dot"):
        graph_image(_dot_graph(), tmp_path / "g.png")


def test_graph_image_bad_suffix(tmp_path):
    with pytest.raises(ValueError, match="writes .png"):
        graph_image(_dot_graph(), tmp_path / "g.jpg")


def test_public_names():
    assert set(printing.__all__) >= {"debugprint", "to_dot", "graph_image", "pprint"}


@pytest.mark.skipif(not hasattr(symcomp, "function"), reason="symcomp.function not available")
def test_printers_accept_compiled_function():
    x, y = st.dmatrix("x"), st.dmatrix("y")
    z = x * y + x
    f = symcomp.function([x, y], z, mode=Mode(linker="py", optimizer=None))
    text = debugprint(f, file="str", print_type=False)
    assert text.splitlines()[0].startswith("Elemwise{Add} [id A]")
    assert " x [id " not in text.splitlines()[0]
    assert to_dot(f).count("fillcolor=palegreen") == 2
    assert "x" in pprint(f)
