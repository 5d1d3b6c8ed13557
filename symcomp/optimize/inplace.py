"""memory planning: where an elementwise node may write its result into an input's buffer.

This pass never changes the graph (nodes are immutable and hash-consed, so "in place" is
not a property of a node): it computes an InplacePlan for one FunctionGraph, which the
runners read. ``plan.nodes[node] = k`` allows ``node`` (an Elemwise) to overwrite the buffer
of its input ``k``, because:

- input k has the output's dtype and ndim, and its shape equals the output's (proven from
  static shapes, or else ``node in plan.checked`` and the runner compares shapes first);
- no reader of that buffer comes later in the toposort. Ops that may return a view of an
  input (or the input itself: DimShuffle, Reshape, Subtensor, DisconnectedGrad, ...) put
  their output in the input's alias class, so a later reader of the view counts too. Only
  ops known to return new arrays (Elemwise, reductions, FusedReduce, Dot, Gemm, Shape) are exempt;
  an op may declare ``view_map = {out: (inputs...)}`` to say which inputs it may alias;
- no variable of the class is a function output, a constant, or a function input, except
  an input given as ``In(mutable=True)`` and a shared variable whose update this node
  computes (its old value is then dead: every other reader ran earlier);
- no other input of the node aliases input k (a kernel writing element i while reading
  element j of the same buffer would be wrong in native code).

Decisions are taken in toposort order; a buffer reused by one node may be reused again by
a later node once its new value is dead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from symcomp.graph.fgraph import FunctionGraph
from symcomp.graph.variable import Constant
from symcomp.optimize.engine import Pass

# A marker in the pipeline (it rewrites nothing): optimizer presets and
# Mode.including/excluding("inplace") decide whether function() plans memory.
inplace = Pass("inplace", strategy="once", doc=__doc__)


@dataclass(frozen=True, eq=False)
class InplacePlan:
    """Where nodes may overwrite an input buffer (see the module docstring).

    nodes: Elemwise node -> index of the input whose buffer it may write its result into.
    checked: the planned nodes whose input/output shapes are equal only if the runtime
    shapes say so (no broadcasting happened); a runner must compare them first.
    updates: positions in ``fgraph.outputs`` of shared-variable updates planned into the
    old value's own buffer (the runner keeps that buffer as the new value).
    """

    nodes: dict = field(default_factory=dict)
    checked: frozenset = frozenset()
    updates: frozenset = frozenset()

    def __len__(self) -> int:
        return len(self.nodes)


EMPTY_PLAN = InplacePlan()


def plan_inplace(
    fgraph: FunctionGraph,
    mutable_inputs: Iterable = (),
    shared_updates: Mapping | None = None,
) -> InplacePlan:
    """The in-place plan of ``fgraph``; also stored as ``fgraph.inplace_plan``.

    mutable_inputs: input variables given as ``In(mutable=True)`` (their buffers may be
    overwritten). shared_updates: shared variable -> position in ``fgraph.outputs`` of its
    update value.
    """
    plan = _Planner(fgraph, mutable_inputs, shared_updates or {}).plan()
    fgraph.inplace_plan = plan
    return plan


def planning_enabled(mode) -> bool:
    """Whether a resolved Mode (optimizer, included, excluded) runs the inplace pass."""
    from symcomp.optimize.pipeline import passes_for

    chosen = passes_for(mode.optimizer, mode.included, mode.excluded)
    return any(p.name == inplace.name for p in chosen)


class _Planner:
    def __init__(self, fgraph, mutable_inputs, shared_updates):
        self.fgraph = fgraph
        self.pos = {node: k for k, node in enumerate(fgraph.apply_nodes)}
        self.mutable = set(mutable_inputs)
        self.updated_by = {}  # update value -> the shared variable it updates
        self.update_pos = {}
        for shared, k in shared_updates.items():
            value = fgraph.outputs[k]
            self.updated_by.setdefault(value, shared)
            self.update_pos.setdefault(value, k)
        self.parent: dict = {}
        # Per class root: last reader's position, holds an output, leaf variables.
        self.last: dict = {}
        self.is_output: dict = {}
        self.leaves: dict = {}

    # -- alias classes (union-find) -----------------------------------------------------
    def find(self, v):
        parent = self.parent
        root = v
        while parent.get(root, root) is not root:
            root = parent[root]
        while v is not root:
            parent[v], v = root, parent.get(v, v)
        return root

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra is rb:
            return
        self.parent[rb] = ra
        self.last[ra] = max(self.last.get(ra, -1), self.last.pop(rb, -1))
        self.is_output[ra] = self.is_output.get(ra, False) or self.is_output.pop(rb, False)
        self.leaves[ra] = self.leaves.get(ra, frozenset()) | self.leaves.pop(rb, frozenset())

    def _build_classes(self) -> None:
        fg = self.fgraph
        for node in fg.apply_nodes:
            for k, out in enumerate(node.outputs):
                for i in may_alias(node, k):
                    self.union(out, node.inputs[i])
        for var in fg.variables:
            if var.owner is None:
                r = self.find(var)
                self.leaves[r] = self.leaves.get(r, frozenset()) | {var}
        for node, p in self.pos.items():
            for var in node.inputs:
                r = self.find(var)
                self.last[r] = max(self.last.get(r, -1), p)
        for var in fg.outputs:
            self.is_output[self.find(var)] = True

    # -- decisions ----------------------------------------------------------------------
    def plan(self) -> InplacePlan:
        from symcomp.tensor.elemwise import Elemwise

        self._build_classes()
        nodes, checked, updates = {}, set(), set()
        for node, p in self.pos.items():
            if type(node.op) is not Elemwise or len(node.outputs) != 1:
                continue
            choice = self._choose(node, p)
            if choice is None:
                continue
            k, proven, is_update = choice
            nodes[node] = k
            if not proven:
                checked.add(node)
            if is_update:
                updates.add(self.update_pos[node.outputs[0]])
            # The output now lives in input k's buffer: one alias class from here on.
            self.union(node.inputs[k], node.outputs[0])
        return InplacePlan(nodes, frozenset(checked), frozenset(updates))

    def _choose(self, node, p):
        out = node.outputs[0]
        shared = self.updated_by.get(out)
        best = None
        for k, var in enumerate(node.inputs):
            if not self._reusable(node, p, k, var, shared):
                continue
            proven = same_shape_static(node, k)
            is_update = shared is not None and var is shared
            rank = (not is_update, not proven, k)
            if best is None or rank < best[0]:
                best = (rank, k, proven, is_update)
        return None if best is None else best[1:]

    def _reusable(self, node, p, k, var, shared) -> bool:
        out = node.outputs[0]
        if isinstance(var, Constant) or var.type.dtype != out.type.dtype:
            return False
        if var.type.ndim != out.type.ndim:
            return False
        r = self.find(var)
        if self.is_output.get(r, False) or self.last.get(r, -1) > p:
            return False
        for leaf in self.leaves.get(r, ()):
            if leaf not in self.mutable and leaf is not shared:
                return False  # constants, plain inputs and other shared values stay intact
        return all(other is var or self.find(other) is not r for other in node.inputs)


def may_alias(node, k: int) -> tuple:
    """Indices of the inputs that output ``k`` of ``node`` may share memory with: the op's
    ``view_map`` when it declares one, none for ops known to return new arrays, else all
    (the safe default for ops whose perform may return an input or a view of it)."""
    view_map = getattr(node.op, "view_map", None)
    if isinstance(view_map, Mapping):
        return tuple(view_map.get(k, ()))
    if _is_fresh(node.op):
        return ()
    return tuple(range(len(node.inputs)))


@lru_cache(maxsize=1)
def fresh_op_types() -> tuple:
    """Op classes whose perform always returns new arrays, never an input or a view. (An
    op of another module can say the same by declaring ``view_map = {}``.)"""
    from symcomp.tensor.elemwise import Elemwise
    from symcomp.tensor.fused import FusedReduce
    from symcomp.tensor.linalg import Dot
    from symcomp.tensor.reduction import All, Any, Argmax, Argmin, Max, Min, Prod, Sum
    from symcomp.tensor.shapeof import Shape, ShapeI

    fresh = [
        Elemwise,
        FusedReduce,
        Sum,
        Prod,
        Max,
        Min,
        All,
        Any,
        Argmax,
        Argmin,
        Shape,
        ShapeI,
        Dot,
    ]
    try:
        from symcomp.tensor.blas import Gemm, Gemv
    except ImportError:  # BLAS ops not built in this tree
        pass
    else:
        fresh.extend((Gemm, Gemv))
    return tuple(fresh)


def _is_fresh(op) -> bool:
    return type(op) in fresh_op_types()


def same_shape_static(node, k: int) -> bool:
    """Whether input ``k`` of an Elemwise node has the output's shape whatever the runtime
    shapes: in every dim its static length is known and not 1 (broadcasting then makes
    it the output's), or every other input's length there is statically 1 (or the dim is
    missing)."""
    ndim = node.outputs[0].type.ndim
    mine = node.inputs[k].type.shape
    out = node.outputs[0].type.shape
    for d in range(ndim):
        n = mine[d]
        if n is not None and (n != 1 or out[d] == 1):
            continue
        if all(
            _static_dim(node.inputs[j], d, ndim) == 1 for j in range(len(node.inputs)) if j != k
        ):
            continue
        return False
    return True


def _static_dim(var, d: int, ndim: int):
    """``var``'s static length in dim ``d`` of an ``ndim``-dim broadcast (1 if missing)."""
    shape = var.type.shape
    j = d - (ndim - len(shape))
    return 1 if j < 0 else shape[j]
