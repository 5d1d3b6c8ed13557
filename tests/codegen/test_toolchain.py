"""The C++ toolchain (finding the compiler, building modules) and the extension loader."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from symcomp.codegen import toolchain
from symcomp.codegen.loader import load_extension
from symcomp.codegen.toolchain import (
    BASE_FLAGS,
    SHARED_MARKER,
    UNIT_MARKER,
    CompileError,
    Compiler,
    find_compiler,
    split_units,
)
from symcomp.config import change_flags
from tests.codegen.ext_sources import module_source, needs_cxx


def test_no_compiler_gives_none():
    with change_flags(cxx="no-such-compiler-symcomp"):
        assert find_compiler() is None


def test_missing_compiler_binary_raises_compile_error(tmp_path):
    source = tmp_path / "m.cpp"
    source.write_text(module_source(1))
    compiler = Compiler(str(tmp_path / "no-such-g++"), "none", BASE_FLAGS)
    with pytest.raises(CompileError, match="cannot run the C\\+\\+ compiler") as info:
        compiler.compile(source, tmp_path / "m.so")
    assert str(source) in str(info.value)


def test_flags_follow_config():
    with change_flags(openmp=True, cxxflags="-O1 -DX=1"):
        flags = toolchain.current_flags()
    assert flags[: len(BASE_FLAGS)] == BASE_FLAGS
    assert "-fopenmp" in flags
    assert flags[-2:] == ("-O1", "-DX=1")  # last, so they override the defaults
    with change_flags(openmp=False):
        assert "-fopenmp" not in toolchain.current_flags()
    assert not any("fast-math" in flag for flag in BASE_FLAGS)


def test_identity_covers_path_version_and_flags():
    a = Compiler("/usr/bin/g++", "g++ 12", ("-O3",))
    assert {"/usr/bin/g++", "g++ 12", "-O3"} <= set(a.identity().splitlines())
    assert a.identity() != Compiler("/usr/bin/g++", "g++ 13", ("-O3",)).identity()
    assert a.identity() != Compiler("/usr/bin/g++", "g++ 12", ("-O2",)).identity()


def test_command_puts_libraries_after_the_source(tmp_path):
    compiler = Compiler("/usr/bin/g++", "g++ 12", ("-O3",))
    command = compiler.command(tmp_path / "m.cpp", tmp_path / "m.so", ["-lfoo"])
    assert command.index(str(tmp_path / "m.cpp")) < command.index("-lfoo")
    assert command[-2:] == ["-o", str(tmp_path / "m.so")]
    assert any(flag.endswith("templates/include") for flag in command)


def test_split_units():
    assert split_units("int a;\n") == ["int a;\n"]
    source = "\n".join(
        ["H", SHARED_MARKER, "S", UNIT_MARKER, "A", UNIT_MARKER, "B", UNIT_MARKER, "G"]
    )
    assert split_units(source) == ["H\nS\nA", "H\nS\nB", "H\nG"]


# Two units of node functions calling NumPy's C API and a shared helper, and the glue.
SPLIT_SOURCE = "\n".join(
    [
        "#include <symcomp/module.hpp>",
        SHARED_MARKER,
        "static long twice(long v) { return 2 * v; }",
        UNIT_MARKER,
        "SC_NODE long first() { npy_intp dims[] = {3};",
        "  PyObject* a = PyArray_ZEROS(1, dims, NPY_DOUBLE, 0);",
        "  const long n = PyArray_SIZE(reinterpret_cast<PyArrayObject*>(a));",
        "  Py_DECREF(a); return twice(n); }",
        UNIT_MARKER,
        "SC_NODE long second() { return twice(20); }",
        UNIT_MARKER,
        "SC_NODE long first();",
        "SC_NODE long second();",
        "static PyObject* value(PyObject*, PyObject*) {",
        "  return PyLong_FromLong(first() + second() + BROKEN); }",
        'static PyMethodDef methods[] = {{"value", value, METH_NOARGS, ""}, {}};',
        'static PyModuleDef def = {PyModuleDef_HEAD_INIT, "symcomp_module", nullptr, -1, methods};',
        "PyMODINIT_FUNC PyInit_symcomp_module(void) { import_array(); return PyModule_Create(&def); }",
        "",
    ]
)


class TestWithCompiler:
    pytestmark = needs_cxx()

    def test_find_compiler(self):
        compiler = find_compiler()
        assert Path(compiler.path).is_file()
        assert compiler.version
        assert compiler.flags == toolchain.current_flags()
        assert find_compiler() == compiler  # memoized search, same answer

    def test_compile_and_load(self, tmp_path):
        source = tmp_path / "m.cpp"
        source.write_text(module_source(7))
        find_compiler().compile(source, tmp_path / "m.so")
        assert load_extension(tmp_path / "m.so").value() == 7

    def test_modules_with_the_same_init_name_load_side_by_side(self, tmp_path):
        modules = []
        for value in (1, 2):
            source = tmp_path / f"m{value}.cpp"
            source.write_text(module_source(value))
            find_compiler().compile(source, tmp_path / f"m{value}.so")
            modules.append(load_extension(tmp_path / f"m{value}.so"))
        assert [m.value() for m in modules] == [1, 2]
        assert "symcomp_module" not in __import__("sys").modules

    def test_compile_error_shows_first_errors_and_source(self, tmp_path):
        source = tmp_path / "bad.cpp"
        lines = [f"int f{i}() {{ return undeclared_{i}; }}" for i in range(40)]
        source.write_text("\n".join(lines))
        with pytest.raises(CompileError) as info:
            find_compiler().compile(source, tmp_path / "bad.so")
        message = str(info.value)
        assert "undeclared_0" in message
        assert "undeclared_39" not in message  # only the first ~20 error lines
        assert f"source kept at: {source}" in message
        assert info.value.source_path == source
        assert "undeclared_39" in info.value.output

    def test_a_split_source_compiles_its_units_and_links_them(self, tmp_path):
        source = tmp_path / "m.cpp"
        source.write_text(SPLIT_SOURCE.replace("BROKEN", "0"))
        find_compiler().compile(source, tmp_path / "m.so")
        assert load_extension(tmp_path / "m.so").value() == 46  # 2 * 3 + 2 * 20
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m.cpp", "m.so"]

    def test_a_failed_unit_reports_its_errors_and_the_source(self, tmp_path):
        source = tmp_path / "m.cpp"
        source.write_text(SPLIT_SOURCE)
        with pytest.raises(CompileError) as info:
            find_compiler().compile(source, tmp_path / "m.so", jobs=3)
        assert "m.unit2.cpp failed" in str(info.value) and "BROKEN" in str(info.value)
        assert info.value.source_path == source

    def test_fewer_cpus_than_units_packs_them(self, tmp_path):
        source = tmp_path / "m.cpp"
        source.write_text(SPLIT_SOURCE.replace("BROKEN", "0"))
        for jobs in (1, 2):
            find_compiler().compile(source, tmp_path / f"m{jobs}.so", jobs=jobs)
            assert load_extension(tmp_path / f"m{jobs}.so").value() == 46

    def test_timeout_kills_the_compile(self, tmp_path):
        source = tmp_path / "m.cpp"
        source.write_text(module_source(1))
        start = time.monotonic()
        with pytest.raises(CompileError, match="timed out"):
            find_compiler().compile(source, tmp_path / "m.so", timeout=0.05)
        assert time.monotonic() - start < 5

    def test_compile_delay_flag_is_a_test_hook(self, tmp_path):
        source = tmp_path / "m.cpp"
        source.write_text(module_source(1))
        start = time.monotonic()
        with change_flags(compile_delay=0.3):
            find_compiler().compile(source, tmp_path / "m.so")
        assert time.monotonic() - start >= 0.3

    def test_openmp_probe(self):
        assert toolchain.openmp_works() in (True, False)


def test_load_missing_file_raises_import_error(tmp_path):
    with pytest.raises(ImportError, match="does not exist"):
        load_extension(tmp_path / "nothing.so")


def test_load_non_elf_raises_import_error(tmp_path):
    path = tmp_path / "junk.so"
    path.write_bytes(b"not a shared object")
    with pytest.raises(ImportError):
        load_extension(path)
