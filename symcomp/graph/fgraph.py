"""FunctionGraph: the view of one graph being compiled (inputs -> outputs)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from symcomp.graph.basic import graph_inputs, toposort
from symcomp.graph.variable import Constant, Variable


class MissingInputError(ValueError):
    """An output depends on a variable that is neither an input nor a constant."""


class FunctionGraph:
    """Inputs, outputs, the nodes between them in toposort order, and clients.

    A view: cheap to rebuild, never mutated. Rewrites produce a new FunctionGraph.
    """

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable], check=True):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.apply_nodes = toposort(self.outputs, blockers=self.inputs)
        if check:
            self.check()

    @cached_property
    def variables(self) -> list[Variable]:
        seen: dict = {v: None for v in self.inputs}
        for node in self.apply_nodes:
            for v in node.inputs + node.outputs:
                seen.setdefault(v, None)
        for v in self.outputs:
            seen.setdefault(v, None)
        return list(seen)

    @cached_property
    def clients(self) -> dict:
        """variable -> list of (node, input index) using it; outputs use ("output", i)."""
        result: dict = {v: [] for v in self.variables}
        for node in self.apply_nodes:
            for i, var in enumerate(node.inputs):
                result[var].append((node, i))
        for i, var in enumerate(self.outputs):
            result[var].append(("output", i))
        return result

    @property
    def constants(self) -> list[Constant]:
        return [v for v in self.variables if isinstance(v, Constant)]

    def check(self) -> None:
        """Validate invariants: every non-input leaf is a constant; types agree."""
        inputs = set(self.inputs)
        for var in graph_inputs(self.outputs, blockers=inputs):
            if var not in inputs and not isinstance(var, Constant):
                from symcomp.graph.sourceinfo import SourceInfo

                where = f"\n{var.trace}" if isinstance(var.trace, SourceInfo) else ""
                raise MissingInputError(
                    f"the graph needs the variable {var} ({var.type}), which is not among "
                    f"the inputs; pass it as an input or through givens{where}"
                )
        for node in self.apply_nodes:
            for out in node.outputs:
                if out.owner is not node:
                    raise AssertionError(f"output {out} of {node} has another owner")

    def __repr__(self) -> str:
        return f"FunctionGraph({self.inputs} -> {self.outputs}, {len(self.apply_nodes)} nodes)"

    def toposort(self):
        return list(self.apply_nodes)
