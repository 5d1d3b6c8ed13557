"""Shared variables: symbolic variables with a persistent value, shared across functions."""

from __future__ import annotations

import numpy as np

from symcomp.graph.variable import Variable
from symcomp.tensor.type import TensorType
from symcomp.tensor.variable import _TensorOperators


class Container:
    """A mutable box holding one value; functions read and update it."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class SharedVariable(Variable):
    """A variable whose value persists between function calls.

    Functions that use it read its current value; ``updates`` replace it after a call.
    ``default_update`` (None, or an expression of the variable's type) is the update
    function() applies when the variable is in the graph and the user gives it no explicit
    update (random streams advance their states this way).
    """

    __slots__ = ("container", "default_update")

    def __init__(self, type, value, name=None, strict=False, allow_downcast=None):
        super().__init__(type, None, None, name)
        self.container = Container(type.filter(value, strict=strict, allow_downcast=allow_downcast))
        self.default_update = None

    def get_value(self, borrow: bool = False):
        """The current value (a copy unless ``borrow=True``)."""
        value = self.container.value
        return value if borrow else value.copy()

    def set_value(self, value, borrow: bool = False) -> None:
        """Replace the value (copied unless ``borrow=True``); it must fit the type."""
        new = self.type.filter(value)
        if not borrow and new is value:
            new = new.copy()
        self.container.value = new

    def clone(self, name=None):
        """A new shared variable of the same type, sharing this one's container."""
        cp = type(self).__new__(type(self))
        Variable.__init__(
            cp, self.type, None, None, self.name if name is None else name, self.trace
        )
        cp.container = self.container
        cp.default_update = self.default_update
        return cp

    @property
    def value(self):
        return self.container.value

    def __str__(self):
        return self.name if self.name is not None else f"<shared {self.type}>"


class TensorSharedVariable(_TensorOperators, SharedVariable):
    """A shared tensor."""

    __slots__ = ()
    weak = False


def default_updates(outputs, explicit=()) -> list:
    """(shared variable, default_update) for every shared variable with a default_update
    that ``outputs`` (or those updates themselves) depend on, except those in ``explicit``."""
    from symcomp.graph.basic import ancestors

    skip, result, todo = set(explicit), [], list(outputs)
    while todo:
        found = [
            v
            for v in ancestors(todo)
            if isinstance(v, SharedVariable) and v.default_update is not None and v not in skip
        ]
        skip.update(found)
        result.extend((v, v.default_update) for v in found)
        todo = [new for _, new in result[len(result) - len(found) :]]
    return result


def shared(
    value,
    name: str | None = None,
    strict: bool = False,
    allow_downcast: bool | None = None,
    borrow: bool = False,
    shape=None,
):
    """A shared variable holding ``value`` (copied unless ``borrow=True``).

    Its static shape is unknown in every dim unless ``shape`` is given, so the value may
    change shape through set_value. Python floats become config.floatX arrays.
    """
    if isinstance(value, Variable):
        raise TypeError(f"shared() takes a value, not the symbolic variable {value}")
    if isinstance(value, float):
        from symcomp.config import config

        arr = np.asarray(value, dtype=config.floatX)
    elif isinstance(value, np.ndarray):
        arr = value if borrow else value.copy()
    else:
        arr = np.array(value)
    if arr.dtype == object:
        raise TypeError(f"shared() needs numeric data, got {type(value).__name__}")
    static = (None,) * arr.ndim if shape is None else tuple(shape)
    ttype = TensorType(arr.dtype, static)
    return TensorSharedVariable(ttype, arr, name=name, strict=strict, allow_downcast=allow_downcast)
