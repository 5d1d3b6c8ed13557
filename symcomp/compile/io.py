"""In and Out: how a function's inputs and outputs are passed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from symcomp.graph.variable import Variable

_NO_VALUE = object()


@dataclass
class In:
    """A function input with options.

    value: a default used when the argument is not given. name: the keyword name
    (defaults to the variable's name). borrow: the function may keep a reference to the
    argument. mutable: the function may overwrite the argument's buffer (memory planning
    may then compute in place). strict: the argument must already have the exact dtype.
    allow_downcast: see TensorType.filter.
    """

    variable: Variable
    name: str | None = None
    value: Any = _NO_VALUE
    borrow: bool = False
    mutable: bool = False
    strict: bool = False
    allow_downcast: bool | None = None

    def __post_init__(self):
        if not isinstance(self.variable, Variable):
            raise TypeError(f"In() takes a symbolic variable, got {self.variable!r}")
        if self.name is None:
            self.name = self.variable.name

    @property
    def has_default(self) -> bool:
        return self.value is not _NO_VALUE


@dataclass
class Out:
    """A function output. borrow=True lets the function return an internal buffer that a
    later call may overwrite (faster); the default returns a fresh array every call."""

    variable: Variable
    borrow: bool = False
