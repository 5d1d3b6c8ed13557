"""Variable and Constant: the edges of a symcomp graph."""

from __future__ import annotations

import itertools
import weakref
from typing import Any

from symcomp.graph.sourceinfo import SourceInfo, user_source

_ids = itertools.count()


class Variable:
    """A symbolic value: the output ``index`` of the Apply ``owner`` (None for inputs).

    Variables compare and hash by identity. They are immutable once built, except for
    ``name``, which is a label for printing only.
    """

    __slots__ = ("__weakref__", "auto_name", "index", "name", "owner", "trace", "type")

    def __init__(self, type, owner=None, index=None, name: str | None = None, trace=None):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.trace: SourceInfo | None = trace if trace is not None else user_source()
        self.auto_name = f"_{next(_ids)}"

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        if self.owner is not None:
            op = self.owner.op
            if len(self.owner.outputs) == 1:
                return f"{op}.out"
            return f"{op}.{self.index}"
        return f"<{self.type}>"

    def clone(self, name: str | None = None) -> Variable:
        """A new input variable of the same type (no owner)."""
        return type(self)(self.type, None, None, self.name if name is None else name, self.trace)

    def get_parents(self):
        return [self.owner] if self.owner is not None else []

    def eval(self, inputs_to_values: dict | None = None, **kwargs):
        """Compile (once, memoized) and evaluate this variable.

        ``inputs_to_values`` maps input variables (or their names) to values.
        """
        from symcomp.compile.evaluate import eval_variable

        return eval_variable(self, inputs_to_values, **kwargs)


class Constant(Variable):
    """A Variable with a fixed value ``data``; never an owner."""

    __slots__ = ("data", "weak")

    def __init__(self, type, data, name: str | None = None, weak: bool = False):
        super().__init__(type, None, None, name)
        self.data = data
        self.weak = weak

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        data = self.data
        size = getattr(data, "size", 1)
        if size <= 8:
            text = str(data.tolist() if hasattr(data, "tolist") else data)
        else:
            text = f"{type(data).__name__}{{shape={getattr(data, 'shape', '')}}}"
        return text

    def clone(self, name: str | None = None) -> Constant:
        return self

    def signature(self) -> tuple:
        """What makes two constants equal: type, weakness and value bytes."""
        data = self.data
        return (self.type, self.weak, data.shape, data.tobytes())


_constant_cache: weakref.WeakValueDictionary[tuple, Constant] = weakref.WeakValueDictionary()
CONSTANT_MERGE_MAX_SIZE = 10_000


def intern_constant(const: Constant, max_size: int = CONSTANT_MERGE_MAX_SIZE) -> Constant:
    """Return the canonical constant equal to ``const`` (so equal constants are one node)."""
    data = const.data
    if getattr(data, "size", 0) > max_size:
        return const
    key = const.signature()
    found = _constant_cache.get(key)
    if found is not None:
        return found
    _constant_cache[key] = const
    return const


def is_constant(var: Any) -> bool:
    return isinstance(var, Constant)
