"""The C++ toolchain: finding a compiler and building Python extension modules with it.

A source may hold several translation units: a prelude, then parts each starting with the line
``UNIT_MARKER``. ``Compiler.compile`` then builds the prelude plus each part as its own object
file (see ``split_units``), all at once (one compiler per unit), and links them: a large module
compiles in about the time of its largest unit. The units share NumPy's C API table, which the
unit with the module's init function fills. With fewer CPUs than units, parts are packed
together (``plan_units``): one more compiler than CPUs only parses the prelude again.

A source whose first line of code is ``PRELUDE_INCLUDE`` can use a precompiled header of that
prelude: ``Compiler.compile`` takes a ``PrecompiledHeaders`` (the cache's, see
``symcomp.codegen.cache``) that finds one per compiler, flags and defines, or builds it while
a CPU would otherwise stay idle. Any problem with one (missing, being built, corrupt, refused
by the compiler) means a compile without it, never a failure.

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
from typing import Protocol

from symcomp.config import config

__all__ = [
    "BASE_FLAGS",
    "PRELUDE_HEADER",
    "PRELUDE_INCLUDE",
    "SHARED_MARKER",
    "UNIT_MARKER",
    "CompileError",
    "Compiler",
    "PrecompiledHeaders",
    "Unit",
    "current_flags",
    "find_compiler",
    "include_dirs",
    "openmp_works",
    "plan_units",
    "python_abi",
    "split_units",
    "symcomp_include_dir",
    "uses_prelude",
]

# -fno-math-errno lets the compiler vectorize sqrt & co.; unlike -ffast-math it keeps NaN and
# infinity semantics, which NumPy's results depend on.
BASE_FLAGS = ("-O3", "-march=native", "-fPIC", "-shared", "-std=c++17", "-fno-math-errno")

_ERROR_LINES = 20

# The line starting each further translation unit of a generated source.
UNIT_MARKER = "// ---- symcomp: translation unit ----"
# The line after a split source's header, before the code every unit but the last needs.
SHARED_MARKER = "// ---- symcomp: shared by the units of node functions ----"
# Flags of every translation unit (a whole module's too): one NumPy API table for all its
# units (hidden, as is every symbol but the module's init function), filled by import_array()
# in the unit holding the init function; the others add _NO_IMPORT. One set of flags for a
# whole module and that unit means one precompiled prelude serves both.
_UNIT_FLAGS = ("-fvisibility=hidden", "-DPY_ARRAY_UNIQUE_SYMBOL=symcomp_numpy_api")
_NO_IMPORT = "-DNO_IMPORT_ARRAY"

# The first line of code of a generated CPU source, and the header it includes: everything a
# precompiled header stands for (see templates/include/symcomp/module.hpp).
PRELUDE_HEADER = "symcomp/module.hpp"
PRELUDE_INCLUDE = f"#include <{PRELUDE_HEADER}>"


class PrecompiledHeaders(Protocol):
    """Where ``Compiler.compile`` gets precompiled preludes (``PRELUDE_HEADER``).

    ``defines`` are the extra flags of the units that would use one: a precompiled header is
    valid only for the compiler, flags and defines it was built with. No method raises: a
    precompiled header is an optimization, and a compile goes on without it.
    """

    def find(self, compiler: Compiler, defines: tuple[str, ...]) -> Path | None:
        """A directory holding ``PRELUDE_HEADER + ".gch"``, complete and verified; or None."""

    def build(self, compiler: Compiler, defines: tuple[str, ...]) -> None:
        """Build it (using ``compiler.pch_command``) unless it exists or is being built."""

    def discard(self, compiler: Compiler, defines: tuple[str, ...]) -> None:
        """Remove one the compiler failed with, so it is built again."""


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
        """The command line that builds ``out_path`` from ``source_path`` in one unit."""
        # Libraries and objects in extra_flags come after the source so the linker resolves them.
        return self._command(_UNIT_FLAGS, source_path, out_path, extra_flags, True)

    def compile(
        self,
        source_path: Path,
        out_path: Path,
        extra_flags: Sequence[str] = (),
        timeout: float | None = None,
        headers: PrecompiledHeaders | None = None,
        jobs: int | None = None,
    ) -> None:
        """Build the extension module ``out_path`` from ``source_path``.

        ``timeout`` defaults to the ``compile_timeout`` flag. ``headers`` provides precompiled
        preludes (None: none are used). ``jobs`` is how many compilers may run at once (default:
        the CPU count); a split source's parts are packed into that many units. Raises
        ``CompileError`` when the compiler fails, cannot run, or takes longer than ``timeout``
        (it is then killed, with every process it started).
        """
        timeout = config.compile_timeout if timeout is None else timeout
        if config.compile_delay:  # test hook: a slow compile, to kill it midway
            time.sleep(config.compile_delay)
        source_path, out_path = Path(source_path), Path(out_path)
        text = source_path.read_text()
        jobs = max(1, jobs or os.cpu_count() or 1)
        units = plan_units(text, jobs)
        if headers is not None and not (self.precompiles() and uses_prelude(text)):
            headers = None
        if len(units) == 1:
            command = self._command(units[0].defines, source_path, out_path, extra_flags, True)
            work = [(units[0], source_path, out_path, command)]
            self._run_units(headers, work, timeout, jobs, source_path)
            return
        started = time.monotonic()
        work = []
        for k, unit in enumerate(units):
            path = source_path.with_name(f"{source_path.stem}.unit{k}.cpp")
            path.write_text(unit.text)
            obj = path.with_suffix(".o")
            work.append((unit, path, obj, self._command(unit.defines, path, obj, (), False)))
        self._run_units(headers, work, timeout, jobs, source_path)
        left = max(1.0, timeout - (time.monotonic() - started)) if timeout else timeout
        command = [
            self.path,
            *self.flags,
            *_UNIT_FLAGS,
            *(str(obj) for _, _, obj, _ in work),
            *extra_flags,
            "-o",
            str(out_path),
        ]
        output, returncode = _run(command, left, source_path)
        if returncode != 0:
            raise CompileError(
                f"C++ link failed (exit code {returncode})", source_path, command, output
            )
        for _, path, obj, _ in work:  # source_path holds every unit
            path.unlink(missing_ok=True)
            obj.unlink(missing_ok=True)

    def precompiles(self) -> bool:
        """Whether this compiler finds precompiled headers as GCC does (``X.gch`` next to
        where ``X`` would be found on the include path); clang does not."""
        return "clang" not in f"{self.path} {self.version}".lower()

    def pch_command(self, defines: Sequence[str], out_path: Path) -> list[str]:
        """The command line that precompiles ``PRELUDE_HEADER`` into ``out_path`` for units
        built with ``defines``."""
        header = symcomp_include_dir() / PRELUDE_HEADER
        flags = [f for f in self.flags if f != "-shared"]
        includes = [f"-I{d}" for d in include_dirs()]
        return [self.path, *flags, *defines, *includes, "-x", "c++-header", str(header),
                "-o", str(out_path)]  # fmt: skip

    def _command(self, defines, source_path, out_path, extra_flags, link: bool) -> list[str]:
        flags = self.flags if link else [f for f in self.flags if f != "-shared"]
        includes = [f"-I{d}" for d in include_dirs()]
        tail = [str(source_path)] if link else ["-c", str(source_path)]
        return [self.path, *flags, *defines, *includes, *tail, *extra_flags, "-o", str(out_path)]

    def _run_units(self, headers, work, timeout, jobs, source_path) -> None:
        """Run the compile of every unit of ``work`` ((unit, path, output, command) each) at
        once, with the precompiled prelude for the unit's defines when ``headers`` has it;
        precompile missing ones alongside while fewer units than ``jobs`` run. A unit that
        fails with a precompiled header is compiled again without it (and the header is
        discarded when that succeeds). Raises ``CompileError`` naming ``source_path``."""
        variants = list(dict.fromkeys(unit.defines for unit, *_ in work))
        found = {v: headers.find(self, v) for v in variants} if headers is not None else {}
        missing = [v for v in variants if headers is not None and found[v] is None]
        builds = missing[: max(0, jobs - len(work))]

        def with_pch(unit: Unit, command: list[str]) -> list[str]:
            # First on the include path: the compiler takes symcomp/module.hpp.gch from there,
            # or, when it refuses it, goes on to the real header further down the path.
            where = found.get(unit.defines)
            return command if where is None else [command[0], f"-I{where}", *command[1:]]

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(work) + len(builds)) as pool:
            pending = [pool.submit(headers.build, self, v) for v in builds]
            results = list(pool.map(lambda w: _run(with_pch(w[0], w[3]), timeout, w[1]), work))
            for future in pending:
                future.result()
        for (unit, path, _, command), (output, returncode) in zip(work, results):
            if returncode != 0 and found.get(unit.defines) is not None:
                output, returncode = _run(command, timeout, path)
                if returncode == 0:
                    headers.discard(self, unit.defines)
            if returncode != 0:
                what = f"C++ compile of {path.name}" if len(work) > 1 else "C++ compile"
                raise CompileError(
                    f"{what} failed (exit code {returncode})", source_path, command, output
                )


@dataclass(frozen=True)
class Unit:
    """One translation unit to compile: its text and the defines it is compiled with (which
    say whether it fills NumPy's C API table or uses the one another unit fills)."""

    text: str
    defines: tuple[str, ...]


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


def plan_units(source: str, jobs: int) -> list[Unit]:
    """The units to compile ``source`` as with at most ``jobs`` compilers at once.

    ``split_units``'s units when there are no more than ``jobs``; else the parts of node
    functions are packed into ``jobs`` units (largest first, each into the smallest unit), and
    the glue goes into the smallest unit: a unit of its own would parse the whole prelude again
    for little code, and wait for a free CPU. The last unit returned fills NumPy's C API table
    (it holds the module's init function); the others are compiled with ``NO_IMPORT_ARRAY``.
    """
    parts = source.split("\n" + UNIT_MARKER + "\n")
    if len(parts) == 1:
        return [Unit(source, _UNIT_FLAGS)]
    if len(parts) - 1 <= jobs:
        units = split_units(source)
        return [Unit(u, (*_UNIT_FLAGS, _NO_IMPORT)) for u in units[:-1]] + [
            Unit(units[-1], _UNIT_FLAGS)
        ]
    header, _, shared = parts[0].partition("\n" + SHARED_MARKER + "\n")
    nodes, glue = parts[1:-1], parts[-1]
    bins: list[list[str]] = [[] for _ in range(min(jobs, len(nodes)))]
    sizes = [0] * len(bins)
    for part in sorted(nodes, key=len, reverse=True):  # stable: deterministic for equal sizes
        k = sizes.index(min(sizes))
        bins[k].append(part)
        sizes[k] += len(part)
    last = sizes.index(min(sizes))
    units = []
    for k, members in enumerate(bins):
        body = "\n".join(members + ([glue] if k == last else []))
        defines = _UNIT_FLAGS if k == last else (*_UNIT_FLAGS, _NO_IMPORT)
        units.append(Unit(f"{header}\n{shared}\n{body}", defines))
    return units[:last] + units[last + 1 :] + [units[last]]


def uses_prelude(source: str) -> bool:
    """Whether the first line of code of ``source`` is ``PRELUDE_INCLUDE`` (so a precompiled
    prelude can stand for it)."""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("//"):
            return stripped == PRELUDE_INCLUDE
    return False


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
