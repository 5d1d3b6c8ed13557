"""fusion: maximal elementwise subgraphs become one Elemwise(Composite) node, and an
elementwise producer fuses into the reduction that consumes it (FusedReduce).

A group grows from a sink (an elementwise node) up through its elementwise producers. A
producer joins only when

- every client of its value is already in the group (a value read elsewhere would have
  to be computed twice, so it ends the group and becomes a group input);
- its value has the same ndim and static broadcast pattern as the group's result, so no
  producer is re-evaluated once per broadcast element;
- the group then reads at most MAX_INPUTS distinct inputs (constants count: they become
  composite inputs);
- its scalar op (every inner op, for a Composite) has C++ code, so the fused node still
  compiles to one loop.

Fusion changes no value: the composite evaluates the same scalar ops in the same order and
dtypes. Fused nodes have no gradient, which is why fusion runs after grad() is taken.
"""

from __future__ import annotations

from symcomp.graph.basic import toposort
from symcomp.graph.fgraph import FunctionGraph
from symcomp.graph.sourceinfo import attributed_to
from symcomp.graph.variable import Constant
from symcomp.optimize.engine import Pass, rebuild_node
from symcomp.scalar.base import ScalarOp
from symcomp.scalar.composite import Composite, composite_from_graph
from symcomp.tensor.elemwise import Elemwise
from symcomp.tensor.fused import FUSABLE_REDUCTIONS, FusedReduce

# One sweep finds maximal groups, so a second one would change nothing.
fusion = Pass("fusion", strategy="once", doc=__doc__)

MAX_INPUTS = 32


def has_c_code(scalar_op) -> bool:
    """Whether ``scalar_op`` (every inner op of a Composite) has a C++ expression."""
    if isinstance(scalar_op, Composite):
        return all(has_c_code(op) for op, _, _ in scalar_op.nodes)
    return type(scalar_op).c_expr is not ScalarOp.c_expr


def is_fusable(node) -> bool:
    """An Elemwise node (one output) whose scalar code can join a fused loop."""
    return type(node.op) is Elemwise and has_c_code(node.op.scalar_op)


def broadcast_pattern(var) -> tuple:
    """(ndim, which dims are statically broadcastable)."""
    return var.type.ndim, tuple(n == 1 for n in var.type.shape)


@fusion.graph_rule
def fuse_elemwise(outputs, ctx):
    # f(g(x), y) -> Elemwise(Composite{f(g(a), b)})(x, y)   (for maximal groups)
    # reduce(Elemwise(f)(x, ..)) -> FusedReduce(reduce, f)(x, ..)   (rule fuse_into_reduction)
    fg = FunctionGraph(ctx.inputs, outputs, check=False)
    finder = _GroupFinder(fg)
    groups = finder.groups()
    subst = {}
    scalar_of = {}
    for root, ext in groups.items():
        comp, outer = composite_from_graph(ext, root.outputs[0])
        scalar_of[root] = (comp, outer)
        subst[root] = (outer, _composite_builder(comp))
    if ctx.enabled("fuse_into_reduction"):
        for node in fg.apply_nodes:
            found = _reduction_of_elemwise(node, finder, scalar_of)
            if found is not None:
                scalar_op, inputs = found
                subst[node] = (inputs, _op_builder(FusedReduce(node.op, scalar_op)))
    if not subst:
        return None
    ctx.report.stats(fusion.name).fired["fuse_into_reduction"] += sum(
        isinstance(node.op, tuple(FUSABLE_REDUCTIONS)) for node in subst
    )
    return _rebuild(fg, subst)


def _reduction_of_elemwise(node, finder, scalar_of):
    """(scalar op, inputs) of the elementwise value a fusable reduction ``node`` reduces,
    when that value has no other reader; else None."""
    if type(node.op) not in FUSABLE_REDUCTIONS:
        return None
    x = node.inputs[0]
    producer = x.owner
    if producer is None or not finder.fusable(producer):
        return None
    readers = finder.clients[x]
    if len(readers) != 1 or readers[0][0] is not node:  # also read elsewhere, or returned
        return None
    if producer in scalar_of:
        return scalar_of[producer]
    if producer in finder.assigned:  # inside a group whose root is elsewhere
        return None
    return producer.op.scalar_op, list(producer.inputs)


class _GroupFinder:
    """Maximal fusable groups of one graph (see the module docstring)."""

    def __init__(self, fg):
        self.fg = fg
        self.clients = fg.clients
        self.assigned: set = set()
        self._fusable: dict = {}
        self._pattern: dict = {}

    def fusable(self, node) -> bool:
        known = self._fusable.get(node)
        if known is None:
            known = self._fusable[node] = is_fusable(node)
        return known

    def pattern(self, var) -> tuple:
        known = self._pattern.get(var)
        if known is None:
            known = self._pattern[var] = broadcast_pattern(var)
        return known

    def groups(self) -> dict:
        """Group root node -> the group's inputs (in reading order), for groups of two or
        more nodes."""
        groups: dict = {}
        for node in reversed(self.fg.apply_nodes):
            if node in self.assigned or not self.fusable(node):
                continue
            members, ext = self._grow(node)
            if len(members) > 1:
                self.assigned.update(members)
                groups[node] = _ordered(node, ext)
        return groups

    def _grow(self, root) -> tuple:
        """The largest group under ``root``: (members, its inputs)."""
        pattern = self.pattern(root.outputs[0])
        members = {root: None}
        ext = dict.fromkeys(root.inputs)  # an ordered set
        grew = True
        while grew:
            grew = False
            for var in list(ext):
                producer = var.owner
                if producer is None or producer in members or producer in self.assigned:
                    continue
                if not self.fusable(producer) or self.pattern(var) != pattern:
                    continue
                if any(c == "output" or c not in members for c, _ in self.clients[var]):
                    continue
                new_ext = {v: None for v in ext if v is not var}
                new_ext.update(dict.fromkeys(producer.inputs))
                if len(new_ext) > MAX_INPUTS:
                    continue
                members[producer] = None
                ext, grew = new_ext, True
        return members, ext


def _ordered(root, ext) -> list:
    """``ext`` in order of first use in the group's toposort (so the same group always
    gives the same composite, with inputs in reading order)."""
    order: dict = {}
    for node in toposort([root.outputs[0]], blockers=ext):
        for var in node.inputs:
            if var in ext:
                order.setdefault(var, None)
    return list(order)


def _composite_builder(comp):
    def build(inputs):
        return Elemwise(comp)(*[_strong(i) for i in inputs])

    return build


def _op_builder(op):
    def build(inputs):
        return op(*[_strong(i) for i in inputs])

    return build


def _strong(var):
    """A weak Python-scalar constant as a plain constant of its dtype, so the fused node
    does not re-resolve its dtype against a different set of operands."""
    if isinstance(var, Constant) and getattr(var, "weak", False):
        from symcomp.tensor.variable import tensor_constant

        return tensor_constant(var.data, dtype=var.dtype)
    return var


def _rebuild(fg, subst: dict) -> list:
    """The outputs of ``fg`` with each node in ``subst`` (node -> (its new inputs, as
    original variables; build(new input variables) -> the new output)) replaced; other
    nodes are rebuilt on their new inputs. Nodes no longer reachable are not built."""
    deps = {node: (subst[node][0] if node in subst else node.inputs) for node in fg.apply_nodes}
    live: set = {o.owner for o in fg.outputs if o.owner is not None}
    for node in reversed(fg.apply_nodes):
        if node in live:
            live.update(v.owner for v in deps[node] if v.owner is not None)
    new_of: dict = {}
    for node in fg.apply_nodes:
        if node not in live:
            continue
        inputs = [new_of.get(v, v) for v in deps[node]]
        if node in subst:
            with attributed_to(node.trace):
                new_of[node.outputs[0]] = subst[node][1](inputs)
            continue
        if all(a is b for a, b in zip(inputs, node.inputs)):
            continue
        rebuilt = rebuild_node(node, inputs)
        new_of.update(zip(node.outputs, rebuilt.outputs))
    return [new_of.get(o, o) for o in fg.outputs]
