"""Where user code created a variable: the first stack frame outside symcomp."""

from __future__ import annotations

import linecache
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


@dataclass(frozen=True)
class SourceInfo:
    """A user source location: file, line number and function name."""

    filename: str
    lineno: int
    function: str

    @property
    def line(self) -> str:
        return linecache.getline(self.filename, self.lineno).strip()

    def __str__(self) -> str:
        text = self.line
        where = f'File "{self.filename}", line {self.lineno}, in {self.function}'
        return f"{where}\n    {text}" if text else where


# code object -> whether it belongs to symcomp (a dict lookup beats a string compare).
_internal: dict = {}
# While set, nodes are attributed to this location instead of walking the stack: gradient
# nodes point at the forward node they differentiate (see ``attributed_to``).
_override: list = [None]


def user_source() -> SourceInfo | None:
    """The innermost frame whose file is not inside the symcomp package.

    Only code objects are compared (memoized), so no line text is read until an error
    needs it; benchmarks/graph_build.py reports the cost per call.
    """
    if _override[0] is not None:
        return _override[0]
    frame = sys._getframe(1)
    internal = _internal
    while frame is not None:
        code = frame.f_code
        inside = internal.get(code)
        if inside is None:
            inside = internal[code] = code.co_filename.startswith(_PKG_DIR)
        if not inside:
            return SourceInfo(code.co_filename, frame.f_lineno, code.co_name)
        frame = frame.f_back
    return None


@contextmanager
def attributed_to(trace: SourceInfo | None):
    """Attribute every node built inside the block to ``trace`` (when not None)."""
    previous = _override[0]
    if trace is not None:
        _override[0] = trace
    try:
        yield
    finally:
        _override[0] = previous
