"""nvcc: finding it and compiling CUDA source to a cubin or PTX, cached on disk.

``compile_cuda(source, arch)`` runs ``nvcc -arch=sm_XX -cubin`` (or ``-ptx``) in a subprocess
with the ``compile_timeout`` flag's timeout. A failure raises ``CompileError`` with nvcc's
first errors and the path where the source is kept. Results are stored in the compile cache
(``symcomp.codegen.cache``'s pickled objects: content-addressed, sha256-verified, written
atomically, pruned and cleared with the rest), keyed by the source, the architecture, the
output kind, nvcc's path, version and flags, and the headers under ``templates/include``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from symcomp.codegen.cache import CacheMissError, _headers_hash, get_pickled, open_store
from symcomp.codegen.toolchain import CompileError, run_compiler, symcomp_include_dir
from symcomp.config import config

__all__ = ["NVCC_FLAGS", "CudaBinary", "Nvcc", "compile_cuda", "find_nvcc", "normalize_arch"]

# -fmad=false: no fused multiply-adds, so a*b+c rounds twice as in NumPy (and in the CPU
# backend, which g++ compiles with -ffp-contract=off under -std=c++17). Denormals and
# division/sqrt stay IEEE (nvcc's defaults: -ftz=false -prec-div=true -prec-sqrt=true).
# Warning 177 (unused variable) is expected: an input some scalar ops ignore (isnan of an
# integer is false) is still loaded.
NVCC_FLAGS = ("-std=c++17", "-O3", "--fmad=false", "--diag-suppress=177")
KINDS = ("cubin", "ptx")
_ERROR_LINES = 20


@dataclass(frozen=True)
class Nvcc:
    """The CUDA compiler: its path and the version line of ``nvcc --version``."""

    path: str
    version: str

    def identity(self) -> str:
        return "\n".join([self.path, self.version, *NVCC_FLAGS])

    def command(self, source: Path, out: Path, arch: str, kind: str) -> list[str]:
        """The nvcc command line building ``out`` (a cubin or PTX file) from ``source``."""
        return [
            self.path,
            *NVCC_FLAGS,
            f"-arch={arch}",
            f"-{kind}",
            f"-I{symcomp_include_dir()}",
            str(source),
            "-o",
            str(out),
        ]


@functools.cache
def _discover(configured: str) -> Nvcc | None:
    candidates = [configured] if configured else ["nvcc", "/usr/local/cuda/bin/nvcc"]
    for name in candidates:
        path = shutil.which(name)
        if path is None:
            continue
        try:
            result = subprocess.run(
                [path, "--version"], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.SubprocessError):
            continue
        lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
        release = [line for line in lines if "release" in line]
        if result.returncode == 0 and lines:
            return Nvcc(os.path.realpath(path), (release or lines)[0])
    return None


def find_nvcc() -> Nvcc | None:
    """nvcc as the ``nvcc`` flag names it, else ``nvcc`` on PATH, else
    ``/usr/local/cuda/bin/nvcc``; None when there is none. Looked up once per flag value."""
    return _discover(config.nvcc)


def normalize_arch(arch: str | int) -> str:
    """``"sm_80"`` from ``"sm_80"``, ``"80"``, ``80`` or ``"8.0"``; ``ValueError`` otherwise."""
    text = str(arch).strip().lower()
    match = re.fullmatch(r"(?:sm_)?(\d{2,3}[a-z]?)|(\d+)\.(\d)", text)
    if match is None:
        raise ValueError(f"not a CUDA architecture: {arch!r} (expected e.g. 'sm_80' or 80)")
    number = match.group(1) or f"{match.group(2)}{match.group(3)}"
    return f"sm_{number}"


@dataclass(frozen=True)
class CudaBinary:
    """A compiled CUDA translation unit: ``data`` is the cubin (or PTX text as bytes) that
    pycuda's ``module_from_buffer`` loads; the rest says how it was built."""

    name: str
    arch: str
    kind: str
    data: bytes
    source_sha256: str
    nvcc: str
    compile_seconds: float


def compile_cuda(
    source: str,
    arch: str | int = "sm_80",
    kind: str = "cubin",
    name: str = "kernels",
    nvcc: Nvcc | None = None,
    timeout: float | None = None,
) -> CudaBinary:
    """``source`` compiled for ``arch`` into a ``kind`` ("cubin" or "ptx"), from the compile
    cache when it holds it.

    Raises ``RuntimeError`` when no nvcc is found, ``CompileError`` when nvcc fails or runs
    past ``timeout`` (default: the ``compile_timeout`` flag; nvcc and its children are then
    killed), and ``CacheMissError`` on a miss with the ``never_compile`` flag set.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    arch = normalize_arch(arch)
    nvcc = nvcc or find_nvcc()
    if nvcc is None:
        raise RuntimeError(
            "nvcc not found: install the CUDA toolkit, put nvcc on PATH or set the nvcc flag "
            "(SYMCOMP_FLAGS=nvcc=/path/to/nvcc)"
        )
    timeout = config.compile_timeout if timeout is None else timeout
    label = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")[:40] or "kernels"
    key_parts = ["cuda", source, arch, kind, nvcc.identity(), _headers_hash()]

    def build() -> CudaBinary:
        if config.never_compile:
            raise CacheMissError(
                f"no compiled CUDA {label} for {arch} in the cache, and the never_compile flag "
                "forbids compiling it"
            )
        return _build(source, arch, kind, label, nvcc, timeout)

    return get_pickled(key_parts, build, name=f"cuda_{label}_{arch}_{kind}")


def _build(source: str, arch: str, kind: str, label: str, nvcc: Nvcc, timeout: float):
    digest = hashlib.sha256(source.encode()).hexdigest()
    with tempfile.TemporaryDirectory(prefix="symcomp-cuda-") as tmp:
        src, out = Path(tmp) / f"{label}.cu", Path(tmp) / f"{label}.{kind}"
        src.write_text(source)
        command = nvcc.command(src, out, arch, kind)
        start = time.perf_counter()
        output, code = run_compiler(command, timeout)
        seconds = time.perf_counter() - start
        if code is None or code != 0:
            kept = _keep_failed(source, f"cuda_{label}_{arch}-{digest[:12]}")
            command[command.index(str(src))] = str(kept)
            summary = (
                f"nvcc timed out after {timeout:g} s (flag compile_timeout)"
                if code is None
                else f"CUDA compile failed for {arch} (exit code {code})"
            )
            raise CompileError(summary, kept, command, output)
        data = out.read_bytes()
    return CudaBinary(label, arch, kind, data, digest, nvcc.version, round(seconds, 4))


def _keep_failed(source: str, dirname: str) -> Path:
    """Keep a failed source for inspection: under the cache's ``failed/`` (pruned with the
    cache) when it is writable, else in a temp dir. Compile it with ``nvcc -x cu``."""
    store = open_store()
    if store is not None and store.writable:
        return store.keep_failed_source(dirname, source)
    path = Path(tempfile.mkdtemp(prefix="symcomp-cuda-failed-")) / f"{dirname}.cu"
    path.write_text(source)
    return path
