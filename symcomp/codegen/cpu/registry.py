"""Node emitters: ``@emitter(OpClass)`` registers ``emit(node, ctx) -> NodeCode | None``.

An emitter returns the C++ body of one node function::

    static int nodeK(PyArrayObject* const* in, PyArrayObject** out, PyObject* thunks)

``in[k]`` are the node's input arrays (aligned, native byte order, the input's dtype and
ndim), ``out[k]`` must be set to new references (fresh arrays or views); the body returns 0,
or -1 with a Python exception set (``ctx.error(...)``), and never reads out of bounds. An
emitter returning None (an unsupported dtype, say) makes the node run its Python
``perform`` from inside the module.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from symcomp.codegen.dialect import CPP, Dialect
from symcomp.codegen.templates import render
from symcomp.scalar.base import C_TYPES

_EMITTERS: dict[type, Callable] = {}

# Modules whose import registers emitters (the kernels' modules may not exist yet).
EMITTER_MODULES = (
    "symcomp.codegen.cpu.elemwise",
    "symcomp.codegen.cpu.views",
    "symcomp.codegen.cpu.reduce",
    "symcomp.codegen.cpu.blas",
    "symcomp.codegen.cpu.softmax",
    "symcomp.codegen.cpu.control",
    "symcomp.codegen.cpu.conv",
    "symcomp.codegen.cpu.pool",
    "symcomp.codegen.cpu.random",
    "symcomp.codegen.cpu.subtensor",
    "symcomp.codegen.cpu.construct",
    "symcomp.codegen.cpu.advanced",
    "symcomp.codegen.cpu.cumulative",
    "symcomp.codegen.cpu.xent_dx",
)


@dataclass(frozen=True)
class NodeCode:
    """The C++ statements of a node function's body (already indented by two spaces)."""

    body: str


def emitter(*op_classes: type) -> Callable:
    """Register the decorated ``emit(node, ctx)`` for ``op_classes`` (and subclasses)."""

    def register(fn: Callable) -> Callable:
        for cls in op_classes:
            _EMITTERS[cls] = fn
        return fn

    return register


def load_emitters() -> None:
    """Import the modules that register emitters."""
    for name in EMITTER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise


def find_emitter(op) -> Callable | None:
    """The emitter registered for ``op``'s class or its nearest base class."""
    for cls in type(op).__mro__:
        fn = _EMITTERS.get(cls)
        if fn is not None:
            return fn
    return None


TYPENUMS = {
    "bool": "NPY_BOOL",
    "int8": "NPY_INT8",
    "int16": "NPY_INT16",
    "int32": "NPY_INT32",
    "int64": "NPY_INT64",
    "uint8": "NPY_UINT8",
    "uint16": "NPY_UINT16",
    "uint32": "NPY_UINT32",
    "uint64": "NPY_UINT64",
    "float32": "NPY_FLOAT32",
    "float64": "NPY_FLOAT64",
    "float16": "NPY_FLOAT16",
    "complex64": "NPY_COMPLEX64",
    "complex128": "NPY_COMPLEX128",
}


def supported(dtype: str) -> bool:
    """Whether generated kernels compute with ``dtype`` (others can only be passed
    through, to Python fallbacks)."""
    return dtype in C_TYPES


def c_string(text: str) -> str:
    """``text`` as a C string literal (JSON's escapes are valid C for ASCII)."""
    return json.dumps(text, ensure_ascii=True).replace("?", "\\?")


def dims_literal(shape) -> str:
    """A static shape as a C array initializer; -1 marks an unknown length."""
    values = [-1 if n is None else int(n) for n in shape] or [-1]
    return "{" + ", ".join(map(str, values)) + "}"


class ModuleBuilder:
    """What the node emitters add to one module: includes and deduplicated functions."""

    def __init__(self, dialect: Dialect = CPP):
        self.dialect = dialect
        self.includes: list[str] = []
        self.functions: list[str] = []
        self._names: dict = {}

    def include(self, header: str) -> None:
        if header not in self.includes:
            self.includes.append(header)

    def function(self, template: str, spec, prefix: str = "f") -> str:
        """Render ``template`` with ``spec`` and ``function_name`` once per distinct (template, spec);
        returns the function's name (deterministic: numbered by first use)."""
        key = (template, spec)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = f"{prefix}{len(self._names)}"
            self.functions.append(render(template, spec=spec, function_name=name))
        return name


class NodeContext:
    """What an emitter may use while emitting ``node`` (the ``ctx`` argument)."""

    def __init__(self, builder: ModuleBuilder, node, options, index: int = 0):
        self.builder = builder
        self.node = node
        self.options = options
        self.index = index  # the node's position in its graph: its entry in `thunks`
        self.dialect = builder.dialect
        self.inputs = [f"in[{k}]" for k in range(len(node.inputs))]
        self.outputs = [f"out[{k}]" for k in range(len(node.outputs))]

    def ctype(self, dtype: str) -> str:
        return self.dialect.ctype(dtype)

    def typenum(self, dtype: str) -> str:
        return TYPENUMS[dtype]

    def itemsize(self, dtype: str) -> int:
        return np.dtype(dtype).itemsize

    def include(self, header: str) -> None:
        """``#include <header>`` once in the module (e.g. "symcomp/reduce.hpp")."""
        self.builder.include(header)

    def function(self, template: str, spec, prefix: str = "f") -> str:
        """A module-level function rendered from ``template`` (see ModuleBuilder.function)."""
        return self.builder.function(template, spec, prefix)

    def error(self, exc: str, message: str, *c_args: str) -> str:
        """A C++ statement raising ``exc`` (e.g. "ValueError") with the printf-style
        ``message`` (PyErr_Format codes; ``c_args`` are C expressions) and returning -1."""
        args = "".join(f", {a}" for a in c_args)
        return f"return (PyErr_Format(PyExc_{exc}, {c_string(message)}{args}), -1);"

    def render(self, template: str, **context) -> str:
        """Render a node-body template."""
        return render(template, **context)
