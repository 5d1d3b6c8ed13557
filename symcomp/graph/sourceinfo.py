"""Where user code created a variable: the first stack frame outside symcomp."""

from __future__ import annotations

import linecache
import os
import sys
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


def user_source() -> SourceInfo | None:
    """The innermost frame whose file is not inside the symcomp package.

    Walking frames costs well under a microsecond per frame; only the code object's
    filename is compared, so no line text is read until an error needs it.
    """
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if not code.co_filename.startswith(_PKG_DIR):
            return SourceInfo(code.co_filename, frame.f_lineno, code.co_name)
        frame = frame.f_back
    return None
