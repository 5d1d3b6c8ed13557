"""Where the BLAS that generated code calls lives: OpenBLAS from the ``scipy-openblas32`` wheel.

The wheel ships ``libscipy_openblas.so`` with its CBLAS symbols prefixed ``scipy_`` (e.g.
``scipy_cblas_dgemm``) and 32-bit integers, so no system BLAS is needed and it never clashes
with NumPy's own (ILP64, ``scipy_openblas64_``) copy. ``templates/include/symcomp/blas.hpp``
either links it (the ``link_flags`` below, with ``-DSYMCOMP_BLAS_LINKED``) or opens
``library_path`` with dlopen at first use.
"""

from __future__ import annotations

import functools
from pathlib import Path

__all__ = ["blas_info"]


@functools.cache
def blas_info() -> dict:
    """What is known about the BLAS: a dict with ``available`` (bool), ``name``,
    ``version``, ``include_dir``, ``lib_dir``, ``library`` (the ``-l`` name),
    ``library_path`` (the shared object), ``link_flags`` (``-L``, ``-l`` and an rpath so the
    module finds the library at load time), ``compile_flags`` and ``description`` (one line
    for ``symcomp info``). When the wheel is missing, ``available`` is False and
    ``description`` says how to install it."""
    try:
        import scipy_openblas32 as ob
    except ImportError:
        return {
            "available": False,
            "name": "none",
            "version": "",
            "include_dir": "",
            "lib_dir": "",
            "library": "",
            "library_path": "",
            "link_flags": (),
            "compile_flags": (),
            "description": "not found (pip install scipy-openblas32); dot/matmul run in Python",
        }
    lib_dir = str(Path(ob.get_lib_dir()).resolve())
    library = ob.get_library()  # "scipy_openblas"
    candidates = sorted(Path(lib_dir).glob(f"lib{library}.*"))
    library_path = str(candidates[0]) if candidates else str(Path(lib_dir) / f"lib{library}.so")
    version = _version()
    config = _config(ob)
    return {
        "available": Path(library_path).is_file(),
        "name": "OpenBLAS (scipy-openblas32)",
        "version": version,
        "include_dir": str(Path(ob.get_include_dir()).resolve()),
        "lib_dir": lib_dir,
        "library": library,
        "library_path": library_path,
        "link_flags": (f"-L{lib_dir}", f"-l{library}", f"-Wl,-rpath,{lib_dir}"),
        "compile_flags": ("-DSYMCOMP_BLAS_LINKED",),
        "description": f"{config} (scipy-openblas32 {version}) at {library_path}",
    }


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("scipy-openblas32")
    except Exception:  # pragma: no cover - metadata missing in odd installs
        return "unknown"


def _config(ob) -> str:
    """The library's own configuration line (version, kernel, threading)."""
    try:
        text = ob.get_openblas_config()
    except Exception:  # pragma: no cover - depends on the wheel's build
        return "configuration unknown"
    return " ".join(str(text).split())
