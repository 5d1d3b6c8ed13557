"""Tiny C++ extension modules and a child-process script for the toolchain and cache tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def module_source(value: int, tag: str = "") -> str:
    """A module ``symcomp_module`` whose ``value()`` returns ``value``; ``tag`` makes the source
    (and so the cache key) unique without changing what it does."""
    return f"""// {tag}
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject* value(PyObject*, PyObject*) {{ return PyLong_FromLong({value}); }}
static PyMethodDef methods[] = {{{{"value", value, METH_NOARGS, ""}}, {{nullptr, nullptr, 0, nullptr}}}};
static PyModuleDef def = {{PyModuleDef_HEAD_INIT, "symcomp_module", nullptr, -1, methods}};
PyMODINIT_FUNC PyInit_symcomp_module(void) {{ return PyModule_Create(&def); }}
"""


def needs_cxx():
    """The markers of a test that compiles: ``cxx``, skipped without a compiler."""
    from symcomp.codegen.toolchain import find_compiler

    return [
        pytest.mark.cxx,
        pytest.mark.skipif(find_compiler() is None, reason="no C++ compiler found"),
    ]


# A child process: get_module for module_source(VALUE, TAG); prints one JSON line.
CHILD = """
import json, sys, warnings
warnings.simplefilter("always")
from symcomp.codegen import cache
from symcomp.codegen.toolchain import find_compiler
from tests.codegen.ext_sources import module_source
value, tag = int(sys.argv[1]), sys.argv[2]
if len(sys.argv) > 3:  # a start line: say ready, then wait for "go", so all call at once
    import os, pathlib, time
    barrier = pathlib.Path(sys.argv[3])
    (barrier / f"ready-{os.getpid()}").touch()
    while not (barrier / "go").exists():
        time.sleep(0.005)
with warnings.catch_warnings(record=True) as caught:
    module, entry = cache.get_module(module_source(value, tag), "child", find_compiler(),
                                     description="returns " + str(value))
print(json.dumps({"value": module.value(), "origin": entry.origin, "path": str(entry.path),
                  "warnings": [str(w.message) for w in caught]}))
"""


# Run before CHILD to import only the cache's modules, not all of symcomp (whose import costs
# seconds on a loaded 2-core machine and says nothing about the cache): a bare package object.
LIGHT = """
import re, sys, types
pkg = types.ModuleType("symcomp")
pkg.__path__ = ["symcomp"]
pkg.__version__ = re.search(r'__version__ = "(.*)"', open("symcomp/__init__.py").read())[1]
sys.modules["symcomp"] = pkg
"""


def child_env(cache_dir: Path, **flags: str) -> dict[str, str]:
    env = dict(os.environ, SYMCOMP_CACHE_DIR=str(cache_dir), SYMCOMP_RC=os.devnull)
    env["SYMCOMP_FLAGS"] = ",".join(f"{k}={v}" for k, v in flags.items())
    env.pop("SYMCOMP_CACHE", None)
    return env


def start_child(
    cache_dir: Path,
    value: int,
    tag: str,
    barrier: Path | None = None,
    light: bool = False,
    **flags: str,
) -> subprocess.Popen:
    """Start CHILD; ``light`` imports only the cache's modules (see LIGHT)."""
    code = LIGHT + CHILD if light else CHILD
    return subprocess.Popen(
        [sys.executable, "-c", code, str(value), tag, *([str(barrier)] if barrier else [])],
        cwd=REPO_ROOT,
        env=child_env(cache_dir, **flags),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_child(process: subprocess.Popen, timeout: float = 120) -> dict:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def run_child(cache_dir: Path, value: int, tag: str, light: bool = False, **flags: str) -> dict:
    return finish_child(start_child(cache_dir, value, tag, light=light, **flags))
