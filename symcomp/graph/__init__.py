"""The graph layer: Type, Variable, Constant, Apply, Op, FunctionGraph and graph walks."""

from symcomp.graph.apply import Apply
from symcomp.graph.basic import (
    ancestors,
    clone_inputs,
    clone_replace,
    graph_inputs,
    graph_replace,
    toposort,
)
from symcomp.graph.fgraph import FunctionGraph, MissingInputError
from symcomp.graph.nx import to_networkx
from symcomp.graph.op import OP_REGISTRY, Op
from symcomp.graph.sourceinfo import SourceInfo, user_source
from symcomp.graph.type import Type
from symcomp.graph.variable import Constant, Variable

__all__ = [
    "OP_REGISTRY",
    "Apply",
    "Constant",
    "FunctionGraph",
    "MissingInputError",
    "Op",
    "SourceInfo",
    "Type",
    "Variable",
    "ancestors",
    "clone_inputs",
    "clone_replace",
    "graph_inputs",
    "graph_replace",
    "to_networkx",
    "toposort",
    "user_source",
]
