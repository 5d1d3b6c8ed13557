"""merge: equal subgraphs become one node, equal constants one constant.

Nodes are hash-consed as they are built, so rebuilding a graph (every sweep does) merges
equal subgraphs; this pass also makes equal constants (value and dtype, up to a size
bound) one constant, so the nodes using them merge too.
"""

from __future__ import annotations

from symcomp.graph.variable import Constant, intern_constant
from symcomp.optimize.engine import Pass

merge = Pass("merge", strategy="once", doc=__doc__)

MERGE_MAX_SIZE = 1_000_000


def canonical_constant(c: Constant) -> Constant:
    """The canonical constant with c's type, weakness and bytes (up to MERGE_MAX_SIZE)."""
    return intern_constant(c, MERGE_MAX_SIZE)


@merge.node_rule()
def merge_constants(node):
    # op(.., c, ..) -> op(.., c', ..) where c' is the canonical constant equal to c
    new = [canonical_constant(i) if isinstance(i, Constant) else i for i in node.inputs]
    if all(a is b for a, b in zip(new, node.inputs)):
        return None
    return node.op.make_node(*new).outputs[0]
