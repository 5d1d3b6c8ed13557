"""Apply: one application of an Op to input Variables, producing output Variables."""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from symcomp.graph.sourceinfo import user_source

# Hash-consing table: building the same (op, inputs) twice returns the same node. Values
# are weak references that remove their entry when the node is freed (a plain dict of
# KeyedRefs: WeakValueDictionary's Python-level get/set cost a third of a graph rebuild).
_node_cache: dict[tuple, weakref.KeyedRef] = {}


def _forget(ref, _cache=_node_cache) -> None:
    if _cache.get(ref.key) is ref:
        del _cache[ref.key]


class Apply:
    """An immutable node ``outputs = op(*inputs)``.

    Build nodes with ``Apply.make(op, inputs, output_types)``, which returns the existing
    node when the same op was already applied to the same inputs.
    """

    __slots__ = ("__weakref__", "inputs", "op", "outputs", "trace")

    def __init__(self, op, inputs: Sequence, output_types: Sequence, trace=None):
        self.op = op
        self.inputs = tuple(inputs)
        self.trace = trace = trace if trace is not None else user_source()
        if len(output_types) == 1:
            t = output_types[0]
            self.outputs = (t.variable_class(t, self, 0, None, trace),)
        else:
            self.outputs = tuple(
                t.variable_class(t, self, i, None, trace) for i, t in enumerate(output_types)
            )

    @classmethod
    def make(cls, op, inputs: Sequence, output_types: Sequence) -> Apply:
        # Keyed by input ids, so the table holds no strong reference to a graph (a dropped
        # graph is freed in one collection). A live node found under these ids holds its
        # inputs alive, and two live objects never share an id, so its inputs are these.
        key = (op, tuple(map(id, inputs)))
        ref = _node_cache.get(key)
        if ref is not None:
            node = ref()
            if node is not None and [o.type for o in node.outputs] == list(output_types):
                return node
        node = cls(op, inputs, output_types)
        _node_cache[key] = weakref.KeyedRef(node, _forget, key)
        return node

    @property
    def out(self):
        """The single output (for one-output ops)."""
        if len(self.outputs) != 1:
            raise ValueError(f"{self.op} has {len(self.outputs)} outputs; use .outputs")
        return self.outputs[0]

    @property
    def nin(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        args = ", ".join(str(i) for i in self.inputs)
        return f"{self.op}({args})"

    def describe_inputs(self, values=None) -> str:
        """Shapes and dtypes of the inputs (runtime values if given, else static types)."""
        parts = []
        for i, var in enumerate(self.inputs):
            if values is not None and i < len(values):
                v = values[i]
                shape = getattr(v, "shape", ())
                dtype = getattr(v, "dtype", type(v).__name__)
                parts.append(f"input {i} ({var}): shape {tuple(shape)}, dtype {dtype}")
            else:
                parts.append(f"input {i} ({var}): {var.type}")
        return "\n".join("  " + p for p in parts)
