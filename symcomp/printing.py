"""Looking at graphs: debugprint (indented tree), pprint (infix), to_dot / graph_image (pictures).

Every printer accepts a Variable, a list of Variables, a FunctionGraph, or a compiled
function (anything with ``maker.fgraph``). For a FunctionGraph the walk stops at its inputs.
Output is deterministic: ids and DOT node names follow the graph's toposort, never ``id()``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from typing import Any

from symcomp.graph.apply import Apply
from symcomp.graph.basic import toposort
from symcomp.graph.fgraph import FunctionGraph
from symcomp.graph.variable import Constant, Variable

__all__ = ["debugprint", "dprint", "graph_image", "pp", "pprint", "to_dot"]


# --------------------------------------------------------------------------- inputs


def _unpack(obj) -> tuple[list[Variable], list[Variable], FunctionGraph | None]:
    """(outputs, blockers, fgraph) for any printable object."""
    maker = getattr(obj, "maker", None)
    if maker is not None and hasattr(maker, "fgraph"):
        obj = maker.fgraph
    if isinstance(obj, FunctionGraph):
        return list(obj.outputs), list(obj.inputs), obj
    if isinstance(obj, Variable):
        return [obj], [], None
    if isinstance(obj, Apply):
        return list(obj.outputs), [], None
    if isinstance(obj, (list, tuple)) and all(isinstance(v, Variable) for v in obj):
        return list(obj), [], None
    raise TypeError(
        f"cannot print {type(obj).__name__}: expected a Variable, a list of Variables, "
        "a FunctionGraph or a compiled function"
    )


def _char_id(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> BA, ... (Theano's letter ids)."""
    letters = ""
    while True:
        n, r = divmod(n, 26)
        letters = chr(ord("A") + r) + letters
        if n == 0:
            return letters


def _value_text(data: Any) -> str:
    size = getattr(data, "size", 1)
    if size <= 8:
        return str(data.tolist() if hasattr(data, "tolist") else data)
    return f"{type(data).__name__}{{shape={getattr(data, 'shape', '')}}}"


# --------------------------------------------------------------------------- debugprint


class _Ids:
    """Assigns print ids in the order objects are first met."""

    def __init__(self, style: str, done: dict):
        if style not in ("auto", "CHAR", "int", "id", ""):
            raise ValueError(f"ids must be 'auto', 'CHAR', 'int', 'id' or '', got {style!r}")
        self.style = style
        self.done = done

    def get(self, key) -> tuple[str, bool]:
        """(id text, already seen)."""
        seen = key in self.done
        if not seen:
            n = len(self.done)
            if self.style in ("auto", "CHAR"):
                self.done[key] = _char_id(n)
            elif self.style == "int":
                self.done[key] = str(n)
            elif self.style == "id":
                self.done[key] = hex(id(key))
            else:
                self.done[key] = ""
        text = self.done[key]
        return (f" [id {text}]" if text else ""), seen


def _dp_label(var: Variable) -> str:
    node = var.owner
    if node is not None:
        label = str(node.op)
        if len(node.outputs) > 1:
            label += f".{var.index}"
        return label
    if isinstance(var, Constant):
        return _value_text(var.data)
    return var.name if var.name is not None else f"<{var.type}>"


def _dp_line(var, prefix, id_text, print_type, position) -> str:
    parts = [prefix + _dp_label(var) + id_text]
    if print_type:
        parts.append(f"<{var.type}>")
    if var.name is not None and (var.owner is not None or isinstance(var, Constant)):
        parts.append(f"'{var.name}'")
    if position is not None:
        parts.append(str(position))
    return " ".join(parts)


def _dp_tree(out, lines, ids, print_type, depth, blockers, positions) -> None:
    # An explicit stack: graphs thousands of nodes deep must not hit the recursion limit.
    stack = [(out, "", "", 0)]
    while stack:
        var, prefix, child_prefix, level = stack.pop()
        node = None if var in blockers else var.owner
        id_text, seen = ids.get(node if node is not None else var)
        position = positions.get(node) if node is not None else None
        lines.append(_dp_line(var, prefix, id_text, print_type, position))
        if node is None or seen or (depth >= 0 and level + 1 >= depth):
            continue
        last = len(node.inputs) - 1
        for i in range(last, -1, -1):
            more = child_prefix + ("  " if i == last else " |")
            stack.append((node.inputs[i], child_prefix + " |", more, level + 1))


def debugprint(
    obj,
    file=None,
    ids: str = "auto",
    print_type: bool = True,
    depth: int = -1,
    done: dict | None = None,
) -> str:
    """Print a graph as an indented tree, one line per variable, and return the text.

    ``obj`` is a Variable, a list of Variables, a FunctionGraph or a compiled function
    (its ``maker.fgraph``). Each line reads ``Op-or-name [id A] <type> 'name'``; children
    follow indented under `` |``. A node met a second time (a shared subexpression) is
    shown with its id only, not expanded again. Constants show their value, inputs their
    name. For a FunctionGraph, each apply line ends with its position in the toposort.

    file: where to write (default ``sys.stdout``); ``"str"`` returns the text without
    printing. ids: ``"auto"``/``"CHAR"`` (A, B, ...), ``"int"``, ``"id"`` (Python ids) or
    ``""`` (none). depth: how many levels to print (1: the outputs only; -1: all).
    done: a dict shared across calls so ids stay consistent between printouts.
    """
    outputs, blockers, fgraph = _unpack(obj)
    positions = {n: i for i, n in enumerate(fgraph.apply_nodes)} if fgraph is not None else {}
    id_maker = _Ids(ids, {} if done is None else done)
    lines: list[str] = []
    blocked = set(blockers)
    for out in outputs:
        _dp_tree(out, lines, id_maker, print_type, depth, blocked, positions)
    text = "\n".join(lines) + "\n"
    if file == "str":
        return text
    (sys.stdout if file is None else file).write(text)
    return text


def dprint(obj, **kwargs) -> str:
    """Shorthand for :func:`debugprint`."""
    return debugprint(obj, **kwargs)


# --------------------------------------------------------------------------- pprint

_INFIX = {
    "Add": "+",
    "Sub": "-",
    "Mul": "*",
    "TrueDiv": "/",
    "IntDiv": "//",
    "FloorDiv": "//",
    "Mod": "%",
    "Pow": "**",
    "LT": "<",
    "LE": "<=",
    "GT": ">",
    "GE": ">=",
    "EQ": "==",
    "NEQ": "!=",
    "AND": "&",
    "And": "&",
    "OR": "|",
    "Or": "|",
    "XOR": "^",
    "Xor": "^",
    "BitwiseAnd": "&",
    "BitwiseOr": "|",
    "BitwiseXor": "^",
}
_PREFIX = {"Neg": "-", "Invert": "~", "BitwiseNot": "~"}


def _fields_text(op) -> str:
    # dataclasses.fields, not __dataclass_fields__: the latter also lists ClassVars.
    if not dataclasses.is_dataclass(op):
        return ""
    return ", ".join(str(getattr(op, f.name)) for f in dataclasses.fields(op))


def _pp_node(node: Apply, args: list[str]) -> str:
    op = node.op
    scalar_op = getattr(op, "scalar_op", None)
    if scalar_op is not None:
        cls = type(scalar_op).__name__
        if cls in _INFIX and len(args) >= 2:
            return "(" + f" {_INFIX[cls]} ".join(args) + ")"
        if cls in _PREFIX and len(args) == 1:
            return f"({_PREFIX[cls]}{args[0]})"
        params = _fields_text(scalar_op)
        name = cls.lower() + (f"{{{params}}}" if params else "")
        return f"{name}({', '.join(args)})"
    if type(op).__name__ == "DimShuffle" and tuple(getattr(op, "new_order", ())) == (1, 0):
        return f"{args[0]}.T"
    return f"{op}({', '.join(args)})"


def pprint(obj) -> str:
    """A compact infix rendering, e.g. ``"(x + (y * 2.0))"``.

    Elementwise arithmetic and comparisons are written infix (fully parenthesized), other
    elementwise ops as ``name(args)``, any other op as ``Op{params}(args)``. Inputs show
    their name, constants their value. Several outputs give one line each. Shared
    subexpressions are written out at each use.
    """
    outputs, blockers, _ = _unpack(obj)
    text: dict[Variable, str] = {}

    def leaf(var: Variable) -> str:
        if isinstance(var, Constant):
            return var.name if var.name is not None else _value_text(var.data)
        return var.name if var.name is not None else f"<{var.type}>"

    # Toposort order instead of recursion: deep chains must not hit the recursion limit.
    for node in toposort(outputs, blockers=blockers):
        args = [text[i] if i in text else leaf(i) for i in node.inputs]
        rendered = _pp_node(node, args)
        for out in node.outputs:
            text[out] = rendered if len(node.outputs) == 1 else f"{rendered}[{out.index}]"
    return "\n".join(text[o] if o in text else leaf(o) for o in outputs)


pp = pprint


# --------------------------------------------------------------------------- DOT


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _dot_order(outputs, blockers, g) -> list:
    """Graph objects in a deterministic order: inputs, then per toposorted node its
    unseen inputs, the node, its outputs."""
    order: dict = {}
    for var in blockers:
        order.setdefault(var, None)
    for node in toposort(outputs, blockers=blockers):
        for var in node.inputs:
            order.setdefault(var, None)
        order.setdefault(node, None)
        for var in node.outputs:
            order.setdefault(var, None)
    for var in outputs:
        order.setdefault(var, None)
    return [obj for obj in order if id(obj) in g]


def _dot_var_attrs(var: Variable, is_input: bool, is_output: bool) -> str:
    if isinstance(var, Constant):
        label, color = _value_text(var.data), "lightgrey"
    elif var.name is not None:
        label, color = var.name, None
    else:
        label, color = str(var.type), None
    if is_input:
        color = "palegreen"
    if is_output:
        color = "lightblue"
    attrs = f'shape=ellipse, label="{_dot_escape(label)}"'
    if color is not None:
        attrs += f", style=filled, fillcolor={color}"
    return attrs


def to_dot(obj, name: str = "symcomp") -> str:
    """Graphviz DOT text of a graph.

    Variables are ellipses (inputs green, outputs blue, constants grey), apply nodes are
    boxes labelled with their op. Edges into an op with several inputs carry the input
    index; edges out of an op with several outputs carry the output index. Nodes are
    numbered in toposort order, so the same graph always gives the same text.
    """
    from symcomp.graph.nx import to_networkx

    outputs, blockers, fgraph = _unpack(obj)
    g = to_networkx(outputs)
    if fgraph is not None:
        # to_networkx walks to the leaves; a FunctionGraph's view stops at its inputs.
        keep = {id(v) for v in fgraph.variables} | {id(n) for n in fgraph.apply_nodes}
        g = g.subgraph(keep)
    order = _dot_order(outputs, blockers, g)
    names = {}
    counts = {"variable": 0, "apply": 0}
    for item in order:
        kind = g.nodes[id(item)]["kind"]
        names[id(item)] = f"{'v' if kind == 'variable' else 'n'}{counts[kind]}"
        counts[kind] += 1
    inputs = set(blockers) if fgraph is not None else set()
    out_set = set(outputs)
    lines = [
        f'digraph "{_dot_escape(name)}" {{',
        "  rankdir=TB;",
        '  node [fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for item in order:
        key = id(item)
        if g.nodes[key]["kind"] == "apply":
            attrs = f'shape=box, label="{_dot_escape(str(item.op))}"'
        else:
            is_input = item in inputs or (item.owner is None and not isinstance(item, Constant))
            attrs = _dot_var_attrs(item, is_input, item in out_set)
        lines.append(f"  {names[key]} [{attrs}];")
    for item in order:
        if g.nodes[id(item)]["kind"] != "apply":
            continue
        for i, var in enumerate(item.inputs):
            label = f' [label="{i}"]' if len(item.inputs) > 1 else ""
            lines.append(f"  {names[id(var)]} -> {names[id(item)]}{label};")
        for var in item.outputs:
            if id(var) not in names:
                continue
            label = f' [label="{var.index}"]' if len(item.outputs) > 1 else ""
            lines.append(f"  {names[id(item)]} -> {names[id(var)]}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


_IMAGE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def graph_image(obj, path) -> str:
    """Draw the graph to ``path`` (PNG, SVG or PDF, chosen by its suffix) with Graphviz.

    Needs Graphviz's ``dot`` program on PATH; raises RuntimeError saying how to install
    it when it is missing, and ValueError for an unknown suffix. Returns the path.
    """
    path = os.fspath(path)
    fmt = _IMAGE_FORMATS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise ValueError(f"graph_image writes {', '.join(_IMAGE_FORMATS)} files; got {path!r}")
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "graph_image needs Graphviz's 'dot' program; install it (apt-get install "
            "graphviz, or conda install graphviz) or use to_dot() and render the text "
            "elsewhere"
        )
    result = subprocess.run(
        [dot, f"-T{fmt}", "-o", path], input=to_dot(obj).encode(), capture_output=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"Graphviz 'dot' failed (exit {result.returncode}) writing {path}:\n"
            f"{result.stderr.decode(errors='replace')}"
        )
    return path
