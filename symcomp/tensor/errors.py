"""Error messages that name the node, the shapes and dtypes, and the user's source line."""

from __future__ import annotations


def where(trace) -> str:
    """The user source line as a message suffix ("" when unknown)."""
    return f"\nThe node was built at:\n  {trace}" if trace is not None else ""


def shape_str(shape) -> str:
    dims = ", ".join("?" if s is None else str(s) for s in shape)
    return f"({dims}{',' if len(shape) == 1 else ''})"
