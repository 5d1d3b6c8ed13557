"""networkx export of a graph (for ordering, partitioning, reachability, pictures)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from symcomp.graph.basic import ancestors

if TYPE_CHECKING:
    import networkx as nx


def to_networkx(outputs) -> nx.DiGraph:
    """A DiGraph with a node per Variable and per Apply; edges follow data flow.

    Node attributes: ``kind`` ("variable" or "apply"), ``label``, and ``obj`` (the object).
    """
    import networkx as nx  # imported on use: it costs ~0.3 s at ``import symcomp``

    g = nx.DiGraph()
    for var in ancestors(outputs):
        g.add_node(id(var), kind="variable", label=str(var), obj=var)
        node = var.owner
        if node is None:
            continue
        if id(node) not in g:
            g.add_node(id(node), kind="apply", label=str(node.op), obj=node)
            for i, inp in enumerate(node.inputs):
                g.add_edge(id(inp), id(node), index=i)
        g.add_edge(id(node), id(var), index=var.index)
    return g
