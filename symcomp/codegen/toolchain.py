"""The C++ toolchain: finding a compiler and building Python extension modules with it.

A source may hold several translation units: a prelude, then parts each starting with the line
``UNIT_MARKER``. ``Compiler.compile`` then builds the prelude plus each part as its own object
file (see ``split_units``), all at once (one compiler per unit), and links them: a large module compiles in about
the time of its largest unit. The units share NumPy's C API table, which the last unit (the
one with the module's init function) fills.

``find_compiler()`` looks for the compiler once per process (the ``cxx`` flag, which
``SYMCOMP_CXX`` sets, else ``g++`` then ``clang++`` on PATH) and returns a ``Compiler`` whose
flags reflect the current ``openmp`` and ``cxxflags`` flags. ``Compiler.compile`` runs the
compiler in a subprocess with a timeout and raises ``CompileError`` with the compiler's first
errors and the path of the kept source when it fails.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from symcomp.config import config

__all__ = [
    "BASE_FLAGS",
    "SHARED_MARKER",
    "UNIT_MARKER",
    "CompileError",
    "Compiler",
    "current_flags",
    "find_compiler",
    "include_dirs",
    "openmp_works",
    "python_abi",
    "symcomp_include_dir",
]

# -fno-math-errno lets the compiler vectorize sqrt & co.; unlike -ffast-math it keeps NaN and
# infinity semantics, which NumPy's results depend on.
BASE_FLAGS = ("-O3", "-march=native", "-fPIC", "-shared", "-std=c++17", "-fno-math-errno")

_ERROR_LINES = 20

# The line starting each further translation unit of a generated source.
UNIT_MARKER = "// ---- symcomp: translation unit ----"
# The line after a split source's header, before the code every unit but the last needs.
SHARED_MARKER = "// ---- symcomp: shared by the units of node functions ----"
# Flags of every unit of a split source: one NumPy API table for all (hidden, as is every
# symbol but the module's init function), filled by import_array() in the last unit only.
_UNIT_FLAGS = ("-fvisibility=hidden", "-DPY_ARRAY_UNIQUE_SYMBOL=symcomp_numpy_api")


class CompileError(RuntimeError):
    """A C++ compile failed or timed out.

    ``source_path`` is the kept source, ``command`` the compiler command line and ``output`` the
    compiler's full stderr/stdout. The message shows the first errors and the source path.
    """

    def __init__(self, summary: str, source_path: Path, command: Sequence[str], output: str):
        self.summary = summary
        self.source_path = Path(source_path)
        self.command = tuple(command)
        self.output = output
        super().__init__(self._message())

    def _message(self) -> str:
        lines = [line for line in self.output.splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()] or lines
        first = errors[:_ERROR_LINES]
        more = len(errors) - len(first)
        text = "\n  ".join(first) + (f"\n  ... ({more} more)" if more > 0 else "")
        return (
            f"{self.summary}\n  {text}\nsource kept at: {self.source_path}\n"
            f"command: {shlex.join(self.command)}"
        )

    def with_source(self, source_path: Path) -> CompileError:
        """The same error pointing at ``source_path`` (where the cache keeps the source)."""
        return CompileError(self.summary, source_path, self.command, self.output)


def include_dirs() -> tuple[str, ...]:
    """Python's and NumPy's headers, and symcomp's own (``templates/include``)."""
    import numpy

    return (sysconfig.get_paths()["include"], numpy.get_include(), str(symcomp_include_dir()))


def symcomp_include_dir() -> Path:
    """``templates/include`` (``symcomp/templates/include`` in a wheel). Found like
    ``templates.templates_dir()`` but without importing Jinja, which a process loading cached
    modules never needs."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "templates"
    return (installed if installed.is_dir() else package.parent / "templates") / "include"


@dataclass(frozen=True)
class Compiler:
    """A C++ compiler and the flags every module is built with.

    ``identity()`` (path, version, flags) goes into cache keys, so changing the compiler or a
    flag never loads a module built another way. ``compile`` builds one Python extension module.
    """

    path: str
    version: str
    flags: tuple[str, ...]

    def identity(self) -> str:
        """Path, version and flags in one string, for cache keys."""
        return "\n".join([self.path, self.version, *self.flags])

    def command(
        self, source_path: Path, out_path: Path, extra_flags: Sequence[str] = ()
    ) -> list[str]:
        """The command line that builds ``out_path`` from ``source_path``."""
        includes = [f"-I{d}" for d in include_dirs()]
        # Libraries and objects in extra_flags come after the source so the linker resolves them.
        return [
            self.path,
            *self.flags,
            *includes,
            str(source_path),
            *extra_flags,
            "-o",
            str(out_path),
        ]

    def compile(
        self,
        source_path: Path,
        out_path: Path,
        extra_flags: Sequence[str] = (),
        timeout: float | None = None,
    ) -> None:
        """Build the extension module ``out_path`` from ``source_path``.

        ``timeout`` defaults to the ``compile_timeout`` flag. Raises ``CompileError`` when the
        compiler fails, cannot run, or takes longer than ``timeout`` (it is then killed, with
        every process it started).
        """
        timeout = config.compile_timeout if timeout is None else timeout
        if config.compile_delay:  # test hook: a slow compile, to kill it midway
            time.sleep(config.compile_delay)
        source_path, out_path = Path(source_path), Path(out_path)
        units = split_units(source_path.read_text())
        if len(units) > 1:
            self._compile_units(source_path, out_path, units, extra_flags, timeout)
            return
        command = self.command(source_path, out_path, extra_flags)
        output, returncode = _run(command, timeout, source_path)
        if returncode != 0:
            raise CompileError(
                f"C++ compile failed (exit code {returncode})", source_path, command, output
            )

    def _compile_units(self, source_path, out_path, units, extra_flags, timeout) -> None:
        """Compile each unit to an object file concurrently, then link them into out_path."""
        from concurrent.futures import ThreadPoolExecutor

        flags = [f for f in self.flags if f != "-shared"]
        includes = [f"-I{d}" for d in include_dirs()]
        jobs = []
        for k, text in enumerate(units):
            path = source_path.with_name(f"{source_path.stem}.unit{k}.cpp")
            path.write_text(text)
            obj = path.with_suffix(".o")
            last = k == len(units) - 1
            command = [self.path, *flags, *_UNIT_FLAGS, *([] if last else ["-DNO_IMPORT_ARRAY"])]
            jobs.append((path, obj, [*command, *includes, "-c", str(path), "-o", str(obj)]))
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
            results = list(pool.map(lambda job: _run(job[2], timeout, job[0]), jobs))
        for (path, _, command), (output, returncode) in zip(jobs, results):
            if returncode != 0:
                raise CompileError(
                    f"C++ compile of {path.name} failed (exit code {returncode})",
                    source_path,
                    command,
                    output,
                )
        left = max(1.0, timeout - (time.monotonic() - started)) if timeout else timeout
        command = [
            self.path,
            *self.flags,
            *_UNIT_FLAGS,
            *(str(obj) for _, obj, _ in jobs),
            *extra_flags,
            "-o",
            str(out_path),
        ]
        output, returncode = _run(command, left, source_path)
        if returncode != 0:
            raise CompileError(
                f"C++ link failed (exit code {returncode})", source_path, command, output
            )
        for path, obj, _ in jobs:  # source_path holds every unit
            path.unlink(missing_ok=True)
            obj.unlink(missing_ok=True)


def split_units(source: str) -> list[str]:
    """The translation units of ``source``; ``[source]`` when it has no ``UNIT_MARKER`` line.

    The prelude (the text before the first marker) is a header, then optionally the line
    ``SHARED_MARKER`` and code for every unit but the last: each marked part but the last is
    compiled after the whole prelude, the last (the glue) after the header only."""
    parts = source.split("\n" + UNIT_MARKER + "\n")
    if len(parts) == 1:
        return [source]
    header, _, shared = parts[0].partition("\n" + SHARED_MARKER + "\n")
    units = [f"{header}\n{shared}\n{part}" for part in parts[1:-1]]
    return [*units, f"{header}\n{parts[-1]}"]


def run_compiler(command: list[str], timeout: float) -> tuple[str, int | None]:
    """A compiler's combined output and exit code (None: killed after ``timeout`` seconds;
    127: it could not be started). Shared by g++ and nvcc."""
    try:
        # A new session so a timeout kills cc1plus/cicc and the assembler too, not only the driver.
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        return f"cannot run {command[0]}: {exc}", 127
    try:
        output, _ = process.communicate(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return output or "", None
    except BaseException:  # KeyboardInterrupt: do not leave the compiler running
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return output, process.returncode


def _run(command: list[str], timeout: float, source_path: Path) -> tuple[str, int]:
    output, code = run_compiler(command, timeout)
    if code is None:
        raise CompileError(
            f"C++ compile timed out after {timeout:g} s (flag compile_timeout)",
            source_path,
            command,
            output,
        )
    if code == 127 and output.startswith("cannot run "):
        raise CompileError(
            f"cannot run the C++ compiler: {output[len('cannot run ') :]}", source_path, command, ""
        )
    return output, code


@functools.cache
def _discover(configured: str) -> tuple[str, str] | None:
    """(path, version) of the configured compiler or the first of g++/clang++ found."""
    for name in [configured] if configured else ["g++", "clang++"]:
        path = shutil.which(name)
        if path is None:
            continue
        try:
            result = subprocess.run(
                [path, "--version"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.SubprocessError):
            continue
        lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
        if result.returncode == 0 and lines:
            return os.path.realpath(path), lines[0]
    return None


def current_flags() -> tuple[str, ...]:
    """The flags modules are built with now: the base flags, ``-fopenmp`` when the ``openmp``
    flag is on, then the ``cxxflags`` flag (last, so it can override)."""
    flags = list(BASE_FLAGS)
    if config.openmp:
        flags.append("-fopenmp")
    flags.extend(shlex.split(config.cxxflags))
    return tuple(flags)


def find_compiler() -> Compiler | None:
    """The C++ compiler to use, or None when there is none.

    The ``cxx`` flag names it (``SYMCOMP_CXX`` sets the flag); when empty, ``g++`` then
    ``clang++`` on PATH. The search runs once per process and flag value; the flags are read
    on every call, so ``change_flags(openmp=False)`` takes effect at once.
    """
    found = _discover(config.cxx)
    if found is None:
        return None
    return Compiler(path=found[0], version=found[1], flags=current_flags())


@functools.cache
def openmp_works(compiler: Compiler | None = None) -> bool:
    """Whether ``compiler`` (default: ``find_compiler()``) builds and runs an OpenMP program.
    Memoized per process."""
    import tempfile

    compiler = compiler or find_compiler()
    if compiler is None:
        return False
    program = (
        "#include <omp.h>\n#include <cstdio>\n"
        "int main() { int n = 0;\n#pragma omp parallel reduction(+:n)\n n += 1;\n"
        ' std::printf("%d", omp_get_max_threads()); return n > 0 ? 0 : 1; }\n'
    )
    with tempfile.TemporaryDirectory(prefix="symcomp-omp-") as tmp:
        source, exe = Path(tmp) / "omp.cpp", Path(tmp) / "omp"
        source.write_text(program)
        try:
            result = subprocess.run(
                [compiler.path, "-fopenmp", str(source), "-o", str(exe)],
                capture_output=True,
                timeout=60,
                check=False,
            )
            if result.returncode != 0:
                return False
            return subprocess.run([str(exe)], capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False


def python_abi() -> str:
    """The Python ABI extension modules are built for (e.g. ``cpython-311-x86_64-linux-gnu``)."""
    return f"{sysconfig.get_config_var('SOABI')}|{sys.implementation.cache_tag}"
