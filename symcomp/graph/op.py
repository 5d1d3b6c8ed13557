"""Op: the unit of extension.

An op is a small frozen dataclass holding, side by side, its type rule (``make_node``),
its NumPy reference (``perform``), its shape rule (``infer_shape``), its gradient
(``pullback``), optionally its forward-mode rule (``pushforward``) and its native code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Every concrete Op class defined in symcomp; the op-table tests require a row for each.
OP_REGISTRY: list[type] = []


@dataclass(frozen=True)
class Op:
    """Base class of all ops.

    Subclasses are ``@dataclass(frozen=True)``; their fields are the op's parameters and
    define equality, hashing and cache keys. A subclass provides:

    - ``make_node(*inputs) -> Apply``: checks input types, computes output types and
      returns ``Apply.make(self, inputs, output_types)``. Raises TypeError/ValueError for
      bad inputs, naming them.
    - ``perform(node, inputs) -> list``: the NumPy implementation, one array per output.
      Must not modify its inputs.
    - ``infer_shape(node, input_shapes) -> list[tuple]``: the output shapes, each entry an
      int or a symbolic int64 scalar, from the input shapes.
    - ``pullback(inputs, outputs, cotangents) -> list``: reverse mode. ``cotangents`` has
      one entry per output (None where that output gets no gradient); returns one entry
      per input: a Variable of the input's type, or None for "no gradient" (disconnected or
      not differentiable).
    - optionally ``pushforward(inputs, outputs, tangents) -> list`` (forward mode).

    Class attributes: ``abstract = True`` keeps a base class out of OP_REGISTRY;
    ``differentiable = False`` says the op has no gradient (its inputs get None);
    ``destroy_map``/``view_map`` are reserved for memory planning.
    """

    abstract = True
    differentiable = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("abstract", False):
            OP_REGISTRY.append(cls)

    def make_node(self, *inputs) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.make_node")

    def perform(self, node, inputs: Sequence) -> list:
        raise NotImplementedError(f"{type(self).__name__}.perform")

    def infer_shape(self, node, input_shapes: Sequence[tuple]) -> list[tuple]:
        raise NotImplementedError(f"{type(self).__name__}.infer_shape")

    def pullback(self, inputs, outputs, cotangents) -> list:
        if not self.differentiable:
            return [None] * len(inputs)
        raise NotImplementedError(f"{type(self).__name__} has no gradient (pullback)")

    def __call__(self, *inputs, **kwargs):
        node = self.make_node(*inputs, **kwargs)
        if len(node.outputs) == 1:
            return node.outputs[0]
        return list(node.outputs)

    def __str__(self) -> str:
        params = self._param_str()
        return f"{type(self).__name__}{{{params}}}" if params else type(self).__name__

    def _param_str(self) -> str:
        fields = getattr(self, "__dataclass_fields__", {})
        return ", ".join(f"{getattr(self, f)}" for f in fields)
