"""The one Jinja2 environment that lays out generated C++ and CUDA source.

Templates hold scaffolding only (includes, signatures, loops, launches); Python computes every
name, type and statement and passes them in (see STYLE.md, "Codegen"). A variable a template
uses but the caller did not pass is an error (``jinja2.UndefinedError``), never an empty string.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jinja2

_PACKAGE_DIR = Path(__file__).resolve().parent.parent

# Template directories added by libraries outside symcomp: namespace -> directory. Their
# templates are named "<namespace>/<path>", so they never shadow symcomp's own.
_EXTRA_DIRS: dict[str, Path] = {}
# The loaders of those directories; the environment's PrefixLoader holds this very dict, so
# directories added after the environment was created are found too.
_PREFIX_LOADERS: dict[str, jinja2.BaseLoader] = {}
_NAMESPACE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_RESERVED = frozenset({"cpu", "cuda", "include"})


def templates_dir() -> Path:
    """Where the templates are: ``symcomp/templates`` in an installed wheel, else the
    top-level ``templates/`` of a source checkout."""
    installed = _PACKAGE_DIR / "templates"
    return installed if installed.is_dir() else _PACKAGE_DIR.parent / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    """The shared environment, created on first use."""
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(templates_dir()), jinja2.PrefixLoader(_PREFIX_LOADERS)]
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        bytecode_cache=_bytecode_cache(),
    )


def add_template_dir(directory: str | Path, namespace: str) -> None:
    """Make the Jinja2 templates under ``directory`` renderable as ``"<namespace>/<name>"``
    (by ``render``, ``NodeContext.render`` and ``NodeContext.function``), for libraries that
    ship their own kernels' templates.

    Call it once at import of the library's emitter module; calling it again with the same
    directory is a no-op. A rendered template becomes part of the generated source, and the
    source is hashed into the compile-cache key, so editing a template recompiles what uses it.

    Raises ValueError when ``namespace`` is not an identifier-like name (dots and dashes
    allowed), names one of symcomp's own template folders (``cpu``, ``cuda``, ``include``), or
    is already bound to another directory, and NotADirectoryError when ``directory`` is not
    a directory.
    """
    path = Path(directory).resolve()
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"template namespace {namespace!r} is not a plain name")
    if namespace in _RESERVED or (templates_dir() / namespace).exists():
        raise ValueError(f"template namespace {namespace!r} is one of symcomp's own folders")
    if not path.is_dir():
        raise NotADirectoryError(f"template directory {str(path)!r} is not a directory")
    bound = _EXTRA_DIRS.get(namespace)
    if bound == path:
        return
    if bound is not None:
        raise ValueError(
            f"template namespace {namespace!r} is already bound to {str(bound)!r}, not {str(path)!r}"
        )
    _EXTRA_DIRS[namespace] = path
    _PREFIX_LOADERS[namespace] = jinja2.FileSystemLoader(path)


def template_dirs() -> dict[str, Path]:
    """The directories added with ``add_template_dir``, by namespace."""
    return dict(_EXTRA_DIRS)


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
    ``"cpu/elemwise_loop.cpp.j2"``, or ``"<namespace>/<name>"`` for a directory added with
    ``add_template_dir``) with ``context``.

    Raises ``jinja2.TemplateNotFound`` for an unknown name and ``jinja2.UndefinedError`` when
    the template uses a variable that ``context`` lacks.
    """
    return environment().get_template(name).render(**context)
