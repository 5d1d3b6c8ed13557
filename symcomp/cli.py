"""The ``symcomp`` command.

Subcommands are entries of ``COMMANDS``: each adds its arguments to its own parser and runs
with the parsed namespace, returning an exit code. Exit codes: 0 ok, 1 failure, 2 usage error.
Errors go to stderr on one line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from symcomp.cli_cache import configure_cache, human_size, native_info, run_cache
from symcomp.config import FLAGS, config

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def version() -> str:
    """The installed distribution's version, else the source tree's ``symcomp.__version__``."""
    from importlib import metadata

    try:
        return metadata.version("symcomp")
    except metadata.PackageNotFoundError:
        import symcomp

        return getattr(symcomp, "__version__", "unknown")


@dataclass(frozen=True)
class Command:
    """A subcommand: ``configure`` adds its arguments, ``run`` returns an exit code."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# --- info -------------------------------------------------------------------------------------


def _tool(configured: str, candidates: Sequence[str]) -> dict[str, str] | None:
    """The first of ``configured`` (a flag value) or ``candidates`` found, with its version."""
    for name in [configured] if configured else candidates:
        path = shutil.which(name)
        if path:
            return {"path": path, "version": _version_line(path)}
    return None


def _version_line(path: str) -> str:
    try:
        result = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    # g++/clang++ print the version first; nvcc prints a banner and then "... release X.Y, ...".
    release = [line for line in lines if "release" in line]
    return (release or lines or ["unknown"])[0]


def _nvcc_archs(nvcc: dict[str, str] | None) -> list[str]:
    """The GPU architectures ``nvcc`` compiles for (``sm_80``, ...), from --list-gpu-arch."""
    if not nvcc:
        return []
    try:
        result = subprocess.run(
            [nvcc["path"], "--list-gpu-arch"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return []
    numbers = [a.removeprefix("compute_") for a in result.stdout.split() if "_" in a]
    return [f"sm_{n}" for n in sorted(numbers, key=lambda n: (len(n), n))]


def collect_info() -> dict[str, Any]:
    """Everything ``symcomp info`` reports, as plain JSON-able data."""
    import numpy

    nvcc = _tool(config.nvcc, ["nvcc"])
    return {
        "symcomp": version(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cxx": _tool(config.cxx, ["g++", "clang++"]),
        "nvcc": nvcc,
        "nvcc_archs": _nvcc_archs(nvcc),
        "cache_dir": config.cache_dir,
        **native_info(),  # the compiler symcomp uses (cxx), OpenMP, BLAS, pycuda, GPUs, cache
        "flags": config.as_dict(),
    }


def _configure_info(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _run_info(args: argparse.Namespace) -> int:
    info = collect_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    for key in ("symcomp", "python", "python_executable", "numpy", "platform"):
        print(f"{key + ':':<19}{info[key]}")
    for key in ("cxx", "nvcc"):
        tool = info[key]
        found = f"{tool['path']}  ({tool['version']})" if tool else "not found"
        print(f"{key + ':':<19}{found}")
    if info["nvcc"]:
        print(f"{'nvcc archs:':<19}{', '.join(info['nvcc_archs']) or 'unknown'}")
    _print_native_info(info)
    print("flags:")
    width = max(map(len, FLAGS))
    for name, value in info["flags"].items():
        print(f"  {name:<{width}} = {value!s:<14} # {FLAGS[name].doc}")
    return EXIT_OK


def _print_native_info(info: dict[str, Any]) -> None:
    print(f"{'openmp:':<19}{'yes' if info['openmp'] else 'no'}")
    blas = info["blas"]
    found = f"{blas['name']} {blas['version']}  ({blas['lib_dir']})" if blas else "not found"
    print(f"{'blas:':<19}{found}")
    print(f"{'pycuda:':<19}{info['pycuda'] or 'not installed'}")
    print(f"{'gpus:':<19}{', '.join(info['gpus']) or 'none found'}")
    print(f"{'cache_dir:':<19}{info['cache_dir']}")
    cache = info["cache"]
    state = cache["error"] or f"{cache['entries']} entries, {human_size(cache['bytes'])}"
    print(f"{'cache:':<19}{state}")


# --- demo -------------------------------------------------------------------------------------


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode",
        choices=["native", "py", "debug"],
        default=None,
        help=f"function mode (default: the mode flag, now {config.mode})",
    )


def _run_demo(args: argparse.Namespace) -> int:
    from symcomp.demo import run_demo

    run_demo(args.mode or config.mode)
    return EXIT_OK


COMMANDS: dict[str, Command] = {
    "info": Command(
        "show versions, compilers, flags and the cache directory", _configure_info, _run_info
    ),
    "demo": Command("train a small model and time it against NumPy", _configure_demo, _run_demo),
    "cache": Command("inspect and manage the compile cache", configure_cache, run_cache),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symcomp", description="symcomp: a tensor math compiler for Python."
    )
    parser.add_argument("--version", action="version", version=f"symcomp {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        command.configure(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``symcomp`` command with ``argv`` (default: ``sys.argv[1:]``); return its exit
    code."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with EXIT_USAGE on a usage error
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("symcomp: error: a command is required", file=sys.stderr)
        return EXIT_USAGE
    try:
        return COMMANDS[args.command].run(args)
    except BrokenPipeError:  # stdout closed early (`symcomp info | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - the command line reports every failure the same way
        message = " ".join(f"{type(exc).__name__}: {exc}".split()).rstrip(":")
        print(f"symcomp {args.command}: error: {message}", file=sys.stderr)
        return EXIT_FAILURE
