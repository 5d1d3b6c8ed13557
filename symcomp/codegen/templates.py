"""The one Jinja2 environment that lays out generated C++ and CUDA source.

Templates hold scaffolding only (includes, signatures, loops, launches); Python computes every
name, type and statement and passes them in (see STYLE.md, "Codegen"). A variable a template
uses but the caller did not pass is an error (``jinja2.UndefinedError``), never an empty string.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def templates_dir() -> Path:
    """Where the templates are: ``symcomp/templates`` in an installed wheel, else the
    top-level ``templates/`` of a source checkout."""
    installed = _PACKAGE_DIR / "templates"
    return installed if installed.is_dir() else _PACKAGE_DIR.parent / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    """The shared environment, created on first use."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        bytecode_cache=_bytecode_cache(),
    )


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept in the (private) compile cache, so a new process does not
    recompile every template (about 0.3 s per process otherwise); None when the cache is
    off or unusable."""
    from symcomp.config import config

    if config.cache != "on":
        return None
    try:
        directory = Path(config.cache_dir) / "jinja"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if directory.stat().st_mode & 0o022:
            return None  # writable by others: never load code from there
        return _BytecodeCache(str(directory))
    except OSError:
        return None


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """A bytecode cache that never fails a render: the cache directory may be cleared or
    pruned by another process at any time, and then the template is simply recompiled."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            pass

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            Path(self.directory).mkdir(mode=0o700, parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


def render(name: str, **context: Any) -> str:
    """Render the template ``name`` (relative to ``templates_dir()``, e.g.
    ``"cpu/elemwise_loop.cpp.j2"``) with ``context``.

    Raises ``jinja2.TemplateNotFound`` for an unknown name and ``jinja2.UndefinedError`` when
    the template uses a variable that ``context`` lacks.
    """
    return environment().get_template(name).render(**context)
