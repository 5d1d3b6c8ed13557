"""Type: what values a Variable may hold."""

from __future__ import annotations

from typing import Any


class Type:
    """The set of values a Variable may take.

    Subclasses are immutable and compare by their parameters. They provide
    ``filter(value, strict, allow_downcast)``, which returns the value converted to
    this type or raises TypeError/ValueError, and ``variable_class`` /
    ``constant_class`` (the Variable subclasses made for this type).
    """

    variable_class: type = None  # set by subclasses
    constant_class: type = None

    def filter(self, value: Any, strict: bool = False, allow_downcast: bool | None = None):
        raise NotImplementedError

    def is_valid_value(self, value: Any) -> bool:
        try:
            self.filter(value, strict=True)
            return True
        except (TypeError, ValueError):
            return False

    def make_variable(self, name: str | None = None):
        """A fresh input variable of this type."""
        return self.variable_class(self, None, None, name)

    def __call__(self, name: str | None = None):
        return self.make_variable(name)
