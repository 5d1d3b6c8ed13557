"""Code generation: C++/CUDA emitters, templates, toolchain, disk cache and loader.

The names below are the stable contract for native kernels of ops defined outside symcomp
(see docs/extending.md):

- ``emitter(*op_classes)``: registers ``emit(node, ctx) -> NodeCode | None`` as the C++ code
  of the nodes of those op classes (and their subclasses);
- ``NodeCode``: the body of one node function, which an emitter returns;
- ``NodeContext``: the ``ctx`` an emitter receives (C types, type numbers, ``error``,
  ``include``, ``render`` and ``function`` for templates);
- ``add_template_dir(directory, namespace)``: templates a library ships, rendered as
  ``"<namespace>/<name>"``;
- ``render(name, **context)``: renders any template.

They are imported on first use, so importing ``symcomp.codegen`` (as loading a cached module
does) imports neither Jinja2 nor the emitters.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["NodeCode", "NodeContext", "add_template_dir", "emitter", "render"]

_EXPORTS = {
    "NodeCode": "symcomp.codegen.cpu.registry",
    "NodeContext": "symcomp.codegen.cpu.registry",
    "emitter": "symcomp.codegen.cpu.registry",
    "add_template_dir": "symcomp.codegen.templates",
    "render": "symcomp.codegen.templates",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'symcomp.codegen' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
