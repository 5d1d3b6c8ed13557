"""``symcomp cache ...`` (inspect and manage the compile cache) and the native-toolchain part of
``symcomp info``.

Exit codes: 0 ok, 1 failure (including ``verify`` finding broken entries it did not fix),
2 usage (including ``clear`` without ``--yes`` when no terminal can confirm).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path
from typing import Any

from symcomp.codegen.cache_store import EntryInfo, Store
from symcomp.config import config, parse_duration, parse_size

__all__ = ["configure_cache", "human_size", "native_info", "run_cache"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def human_size(size: float) -> str:
    """``1536`` -> ``"1.5 KB"`` (powers of 1024, like the ``--max-size`` option reads)."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError  # pragma: no cover


def _ago(timestamp: float) -> str:
    seconds = max(0.0, time.time() - timestamp)
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds / length:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def _iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp).isoformat(timespec="seconds")


def _store() -> Store:
    return Store.open(config.cache_dir)


def _entry_json(entry: EntryInfo) -> dict[str, Any]:
    meta = entry.meta
    return {
        "name": entry.name,
        "path": str(entry.path),
        "key": meta.get("key"),
        "description": meta.get("description", ""),
        "size": entry.size,
        "created": entry.created,
        "last_used": entry.last_used,
        "compile_seconds": meta.get("compile_seconds"),
        "problem": entry.problem,
    }


# --- the subcommands ----------------------------------------------------------------------

_SORTS = {
    "size": lambda e: -e.size,  # largest first
    "age": lambda e: e.created,  # oldest first
    "used": lambda e: e.last_used,  # least recently used first: the eviction order
}


def _list(args: argparse.Namespace) -> int:
    entries = _store().entries()
    entries.sort(key=_SORTS[args.sort] if args.sort else (lambda e: e.name))
    if args.json:
        print(json.dumps([_entry_json(e) for e in entries], indent=2))
        return EXIT_OK
    if not entries:
        print(f"no entries in {config.cache_dir}")
        return EXIT_OK
    print(f"{'NAME':<40} {'SIZE':>9} {'CREATED':>9} {'USED':>9} {'COMPILE':>8}  STATUS")
    for e in entries:
        seconds = e.meta.get("compile_seconds")
        compile_text = f"{seconds:.2f}s" if isinstance(seconds, (int, float)) else "?"
        status = f"BROKEN: {e.problem}" if e.problem else "ok"
        print(
            f"{e.name:<40} {human_size(e.size):>9} {_ago(e.created):>9} "
            f"{_ago(e.last_used):>9} {compile_text:>8}  {status}"
        )
    return EXIT_OK


def _find(store: Store, key: str) -> EntryInfo:
    entries = store.entries()
    exact = [e for e in entries if key in (e.name, e.meta.get("key"))]
    matches = exact or [
        e
        for e in entries
        if e.name.startswith(key)
        or str(e.meta.get("key", "")).startswith(key)
        or e.name.rpartition("-")[2].startswith(key)
        or e.meta.get("name") == key
    ]
    if not matches:
        raise LookupError(f"no cache entry matches {key!r} (see `symcomp cache list`)")
    if len(matches) > 1:
        names = ", ".join(e.name for e in matches[:5])
        raise LookupError(f"{key!r} matches {len(matches)} entries ({names}); give more of it")
    return matches[0]


def _info(args: argparse.Namespace) -> int:
    store = _store()
    entry = store.info(_find(store, args.key).path, deep=True)
    data = {
        **entry.meta,
        **_entry_json(entry),
        "source": str(entry.path / "source.cpp"),
        "module": str(entry.path / "module.so"),
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return EXIT_OK
    for name in ("name", "description", "path", "source", "module", "key"):
        print(f"{name + ':':<17}{data.get(name)}")
    print(f"{'size:':<17}{human_size(entry.size)}")
    print(f"{'created:':<17}{_iso(entry.created)} ({_ago(entry.created)})")
    print(f"{'last used:':<17}{_iso(entry.last_used)} ({_ago(entry.last_used)})")
    for name in ("compile_seconds", "compiler", "compiler_version", "symcomp"):
        print(f"{name.replace('_', ' ') + ':':<17}{data.get(name)}")
    print(f"{'flags:':<17}{' '.join(data.get('flags', []))}")
    print(f"{'status:':<17}{'BROKEN: ' + entry.problem if entry.problem else 'ok'}")
    return EXIT_OK


def collect_stats(store: Store) -> dict[str, Any]:
    """What ``symcomp cache stats`` shows."""
    entries = store.entries()
    pickled = store.pickled_files()
    recorded = store.read_stats()
    return {
        "dir": str(store.root),
        "entries": len(entries),
        "broken": sum(1 for e in entries if e.problem),
        "entries_bytes": sum(e.size for e in entries),
        "pickled": len(pickled),
        "pickled_bytes": sum(p.stat().st_size for p in pickled),
        "total_bytes": store.total_size(),
        "hits": int(recorded.get("hits", 0)),
        "misses": int(recorded.get("misses", 0)),
        "compiles": int(recorded.get("compiles", 0)),
        "compile_seconds": round(float(recorded.get("compile_seconds", 0)), 3),
        "rebuilt": int(recorded.get("rebuilt", 0)),
        "pickled_hits": int(recorded.get("pickled_hits", 0)),
        "pickled_misses": int(recorded.get("pickled_misses", 0)),
        "max_size": config.cache_max_size,
        "max_age_seconds": config.cache_max_age,
    }


def _stats(args: argparse.Namespace) -> int:
    stats = collect_stats(_store())
    if args.json:
        print(json.dumps(stats, indent=2))
        return EXIT_OK
    print(f"{'directory:':<18}{stats['dir']}")
    print(f"{'entries:':<18}{stats['entries']} ({human_size(stats['entries_bytes'])}), "
          f"{stats['broken']} broken")  # fmt: skip
    print(f"{'pickled objects:':<18}{stats['pickled']} ({human_size(stats['pickled_bytes'])})")
    print(f"{'total size:':<18}{human_size(stats['total_bytes'])} "
          f"(bound {human_size(stats['max_size']) if stats['max_size'] else 'none'})")  # fmt: skip
    print(f"{'hits:':<18}{stats['hits']}")
    print(f"{'misses:':<18}{stats['misses']} ({stats['compile_seconds']:.1f} s compiling)")
    print(f"{'rebuilt:':<18}{stats['rebuilt']}")
    print(f"{'pickled hits:':<18}{stats['pickled_hits']} ({stats['pickled_misses']} misses)")
    return EXIT_OK


def _clear(args: argparse.Namespace) -> int:
    store = _store()
    if not args.yes:
        if not sys.stdin.isatty():
            print(
                f"symcomp cache clear: error: refusing to clear {store.root} without --yes "
                "(no terminal to confirm)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        answer = input(f"remove every entry of {store.root}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return EXIT_OK
    count = store.clear()
    store.unlock(stale_after=0)
    print(f"removed {count} items from {store.root}")
    return EXIT_OK


def _prune(args: argparse.Namespace) -> int:
    store = _store()
    removed = store.prune(args.older_than, args.max_size)
    for name in removed:
        print(f"removed {name}")
    print(f"pruned {len(removed)} items; {human_size(store.total_size())} left in {store.root}")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    store = _store()
    entries = store.entries(deep=True)
    broken = [e for e in entries if e.problem]
    if args.fix:
        for entry in broken:
            store.discard(entry.path)
    if args.json:
        print(json.dumps({
            "checked": len(entries),
            "broken": [{"name": e.name, "path": str(e.path), "problem": e.problem} for e in broken],
            "fixed": bool(args.fix),
        }, indent=2))  # fmt: skip
    else:
        for entry in broken:
            action = "removed" if args.fix else "BROKEN"
            print(f"{action}: {entry.name}: {entry.problem}")
        hint = "" if args.fix or not broken else " (run `symcomp cache verify --fix`)"
        print(f"checked {len(entries)} entries: {len(broken)} broken{hint}")
    return EXIT_FAILURE if broken and not args.fix else EXIT_OK


def _unlock(args: argparse.Namespace) -> int:
    store = _store()
    removed = store.unlock(stale_after=2 * config.compile_timeout)
    for what in removed:
        print(f"removed stale {what}")
    held = [p.stem for p in (store.root / "locks").glob("*.owner")]
    for name in held:
        owner = (store.root / "locks" / f"{name}.owner").read_text().strip()
        print(f"kept {name}.lock: held by {owner}")
    if not removed:
        print("no stale locks")
    return EXIT_OK


def _dir(args: argparse.Namespace) -> int:
    print(config.cache_dir)
    return EXIT_OK


# --- wiring -------------------------------------------------------------------------------


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad duration {text!r} (e.g. 30d, 12h, 90m)") from None


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (e.g. 2GB, 500MB)") from None


_SUBCOMMANDS = {
    "list": ("list the entries", _list),
    "info": ("show one entry: paths, metadata, what it computes", _info),
    "stats": ("entries, bytes, hits and misses", _stats),
    "clear": ("remove every entry", _clear),
    "prune": ("remove old entries, then least recently used ones above a size", _prune),
    "verify": ("check every entry (size and sha256 of its module)", _verify),
    "unlock": ("remove locks and builds left by killed processes", _unlock),
    "dir": ("print the cache directory", _dir),
}


def configure_cache(parser: argparse.ArgumentParser) -> None:
    """Add the ``cache`` subcommands to ``parser``."""
    sub = parser.add_subparsers(dest="cache_command", metavar="SUBCOMMAND", required=True)
    parsers = {
        name: sub.add_parser(name, help=text, description=text)
        for name, (text, _) in _SUBCOMMANDS.items()
    }
    parsers["list"].add_argument("--json", action="store_true", help="print a JSON list")
    parsers["list"].add_argument(
        "--sort", choices=sorted(_SORTS), help="size: largest first; age: oldest first; "
        "used: least recently used first"
    )  # fmt: skip
    parsers["info"].add_argument("key", metavar="KEY", help="entry name or hash prefix")
    parsers["info"].add_argument("--json", action="store_true", help="print one JSON object")
    parsers["stats"].add_argument("--json", action="store_true", help="print one JSON object")
    parsers["clear"].add_argument("--yes", action="store_true", help="do not ask")
    parsers["prune"].add_argument(
        "--older-than", type=_duration, default=config.cache_max_age, metavar="AGE",
        help="remove entries unused this long (e.g. 30d; default: the cache_max_age flag)",
    )  # fmt: skip
    parsers["prune"].add_argument(
        "--max-size", type=_size, default=config.cache_max_size, metavar="SIZE",
        help="then remove least recently used entries above this size (e.g. 2GB; default: "
        "the cache_max_size flag)",
    )  # fmt: skip
    parsers["verify"].add_argument("--fix", action="store_true", help="remove broken entries")
    parsers["verify"].add_argument("--json", action="store_true", help="print one JSON object")


def run_cache(args: argparse.Namespace) -> int:
    """Run the ``cache`` subcommand in ``args``."""
    return _SUBCOMMANDS[args.cache_command][1](args)


# --- symcomp info -------------------------------------------------------------------------


def native_info() -> dict[str, Any]:
    """The native toolchain and cache, for ``symcomp info``: never raises."""
    from symcomp.codegen.toolchain import find_compiler, openmp_works

    compiler = find_compiler()
    info: dict[str, Any] = {
        "cxx": {"path": compiler.path, "version": compiler.version} if compiler else None,
        "openmp": openmp_works() if compiler else False,
        "blas": _blas_info(),
        "pycuda": None,
        "gpus": [],
    }
    info["pycuda"], info["gpus"] = _cuda_info()
    try:
        store = Store.open(config.cache_dir, create=False)
        entries = store.entry_dirs()
        info["cache"] = {"entries": len(entries), "bytes": store.total_size(), "error": None}
    except OSError as exc:  # missing (nothing compiled yet) or refused
        exists = Path(config.cache_dir).exists()
        info["cache"] = {"entries": 0, "bytes": 0, "error": str(exc) if exists else None}
    return info


def _blas_info() -> dict[str, str] | None:
    try:
        import scipy_openblas32
    except ImportError:
        return None
    try:
        return {
            "name": "scipy-openblas32",
            "version": getattr(scipy_openblas32, "__version__", "unknown"),
            "lib_dir": scipy_openblas32.get_lib_dir(),
            "library": scipy_openblas32.get_library(),
        }
    except Exception as exc:  # noqa: BLE001 - a broken wheel is reported, not fatal
        return {"name": "scipy-openblas32", "version": f"unusable ({exc})", "lib_dir": ""}


def _cuda_info() -> tuple[str | None, list[str]]:
    try:
        import pycuda
        import pycuda.driver as driver
    except Exception:  # noqa: BLE001 - not installed, or no CUDA driver to load
        return None, []
    version = getattr(pycuda, "VERSION_TEXT", "installed")
    try:
        driver.init()
        return version, [driver.Device(i).name() for i in range(driver.Device.count())]
    except Exception:  # noqa: BLE001 - no GPU or no driver: report none
        return version, []
