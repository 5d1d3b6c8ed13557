"""The compile cache: compiled extension modules and pickled objects, shared by processes.

``get_module(source, name, compiler)`` returns the loaded module for a C++ source, compiling it
at most once per key across all processes that share the cache directory:

1. the in-process memo (no disk access);
2. the entry ``<cache_dir>/<name>-<hash12>/``, verified (size and sha256 of module.so) before
   it is loaded: a broken entry is rebuilt with a warning, never loaded;
3. on a miss, the key's file lock, a second look, a compile in ``tmp/``, an atomic rename.

The key is the sha256 of the source, the name, the compiler's identity (path, version, flags),
the link flags and objects, the headers under ``templates/include``, the Python and NumPy ABI,
the target CPU and the symcomp version; the same program in a new process finds the same key.

``StoreHeaders`` keeps the precompiled preludes the compiles use (``<cache_dir>/pch/``), under
the same rules: keyed by compiler, flags, defines, headers and environment, built in ``tmp/``
under a lock, renamed into place, verified before use, rebuilt when broken.

``cache == "off"`` keeps modules in memory only (built in a private temp dir);
``never_compile`` turns a miss into ``CacheMissError``; a read-only cache directory loads what it
holds and compiles misses into a temp dir, with one warning. ``get_pickled``/``put_pickled``
store any picklable object (the rewritten graphs) under the same rules.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import json
import logging
import os
import pickle
import platform
import re
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from symcomp.codegen.cache_store import (
    MODULE,
    SOURCE,
    CacheSecurityError,
    Store,
    check_private,
    file_sha256,
    write_atomic,
)
from symcomp.codegen.loader import MODULE_NAME, load_extension
from symcomp.codegen.toolchain import (
    PRELUDE_HEADER,
    CompileError,
    Compiler,
    include_dirs,
    python_abi,
    run_compiler,
    symcomp_include_dir,
)
from symcomp.config import config

__all__ = [
    "CacheMissError",
    "CacheSecurityError",
    "CacheWarning",
    "Entry",
    "StoreHeaders",
    "clear_memory",
    "get_module",
    "get_pickled",
    "memory_stats",
    "module_key",
    "open_store",
    "put_pickled",
]

T = TypeVar("T")
log = logging.getLogger("symcomp.cache")

# Automatic eviction runs after a compile, at most this often.
_PRUNE_EVERY = 3600.0


class CacheMissError(RuntimeError):
    """A module is not in the cache and the ``never_compile`` flag forbids compiling it."""


class CacheWarning(UserWarning):
    """Something about the cache the user should know; the program goes on."""


@dataclass(frozen=True)
class Entry:
    """A compiled module's cache entry: ``path`` its directory, ``key`` the full hash, ``meta``
    its metadata, ``origin`` how this process got it ("compiled" or "disk")."""

    path: Path
    key: str
    meta: dict[str, Any] = field(hash=False, compare=False)
    origin: str = "disk"


_lock = threading.RLock()
_memo: dict[str, tuple[ModuleType, Entry]] = {}
_key_memo: dict[str, tuple[ModuleType, Entry]] = {}  # the same modules, by their cache key
_pickled_memo: dict[str, Any] = {}
_counts = {"memory_hits": 0, "disk_hits": 0, "compiles": 0}
_warned: set[str] = set()


def memory_stats() -> dict[str, int]:
    """This process's counts: memo hits, disk hits, compiles."""
    return dict(_counts)


def clear_memory() -> None:
    """Forget the in-process memo (loaded modules stay loaded)."""
    with _lock:
        _memo.clear()
        _key_memo.clear()
        _pickled_memo.clear()


def _warn_once(tag: str, message: str) -> None:
    if tag not in _warned:
        _warned.add(tag)
        warnings.warn(message, CacheWarning, stacklevel=3)


# --- keys ---------------------------------------------------------------------------------


def _symcomp_version() -> str:
    import symcomp

    return getattr(symcomp, "__version__", "unknown")


@functools.cache
def _headers_hash() -> str:
    """The headers generated code includes are part of what a module is built from."""
    digest = hashlib.sha256()
    include = symcomp_include_dir()
    for path in sorted(include.rglob("*")) if include.is_dir() else []:
        if path.is_file():
            digest.update(str(path.relative_to(include)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@functools.cache
def templates_hash() -> str:
    """A digest of every template and header generated code is made from: a record that
    stands for generated source (see ``find_module``) must change when any of them does."""
    digest = hashlib.sha256()
    root = symcomp_include_dir().parent
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@functools.cache
def _target_cpu() -> str:
    """What -march=native means here: the CPU model and feature flags."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
        wanted = [line for line in lines if line.startswith(("model name", "flags", "Features"))]
        return hashlib.sha256("\n".join(sorted(set(wanted))).encode()).hexdigest()[:16]
    except OSError:
        return f"{platform.machine()}|{platform.processor()}"


@functools.cache
def _environment_id() -> str:
    import numpy

    return "\n".join(
        [python_abi(), f"numpy {numpy.__version__}", _symcomp_version(), _target_cpu()]
    )


def _digest(parts: Sequence[str | bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else bytes(part)
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def module_key(
    source: str,
    name: str,
    compiler: Compiler,
    extra_objects: Sequence[str | Path] = (),
    link_flags: Sequence[str] = (),
) -> str:
    """The cache key (sha256 hex) of a module. Deterministic across processes."""
    objects = [file_sha256(Path(p)) for p in extra_objects]
    return _digest(
        [
            "module",
            source,
            name,
            compiler.identity(),
            "\n".join(link_flags),
            "\n".join(objects),
            _headers_hash(),
            _environment_id(),
        ]
    )


def _dirname(name: str, key: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")[:48] or "module"
    return f"{readable}-{key[:12]}"


# --- the store ----------------------------------------------------------------------------


def open_store() -> Store | None:
    """The store at ``config.cache_dir``; None when the cache is off or the directory cannot be
    created (warned once). Raises ``CacheSecurityError`` for a directory not private to you."""
    if config.cache == "off":
        return None
    store = _open_store(config.cache_dir)
    if store is not None and store.writable and not (store.root / "tmp").is_dir():  # deleted
        _open_store.cache_clear()
        store = _open_store(config.cache_dir)
    return store


@functools.lru_cache(maxsize=8)
def _open_store(root: str) -> Store | None:
    try:
        store = Store.open(root)
    except CacheSecurityError:
        _open_store.cache_clear()  # check again next time: the user may fix it
        raise
    except OSError as exc:
        _warn_once(
            f"unusable:{root}",
            f"symcomp: cannot use the cache directory {root} ({exc}); compiled modules are "
            "kept in memory only (set SYMCOMP_CACHE_DIR to a writable directory)",
        )
        return None
    if not store.writable:
        _warn_once(
            f"readonly:{root}",
            f"symcomp: the cache directory {root} is read-only; modules found there are used, "
            "new ones are compiled into temporary directories and not kept",
        )
    return store


@functools.cache
def _private_dir() -> Path:
    """This process's build directory when nothing may be written to the cache."""
    path = Path(tempfile.mkdtemp(prefix="symcomp-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


# --- modules ------------------------------------------------------------------------------


def get_module(
    source: str,
    name: str,
    compiler: Compiler,
    extra_objects: Sequence[str | Path] = (),
    link_flags: Sequence[str] = (),
    description: str = "",
) -> tuple[ModuleType, Entry]:
    """The extension module built from ``source`` (whose init function is
    ``PyInit_symcomp_module``) and its cache entry, compiling it only on a miss.

    ``name`` names the entry directory (readable; part of the key); ``description`` says what
    it computes (stored in meta.json). ``extra_objects`` and ``link_flags`` follow the source
    on the compiler's command line. Raises ``CompileError`` when the compile fails (the source
    is kept under ``failed/``), ``CacheMissError`` on a miss with ``never_compile`` set, and
    ``CacheSecurityError`` for a cache directory or entry others can write.
    """
    # The memo is keyed without reading extra_objects (their paths stand for them within a
    # process), so a memo hit touches no file at all.
    memo_key = _digest(
        [source, name, compiler.identity(), *map(str, extra_objects), "\0", *link_flags]
    )
    with _lock:
        found = _memo.get(memo_key)
        if found is not None:
            _counts["memory_hits"] += 1
            return found
        key = module_key(source, name, compiler, extra_objects, link_flags)
        found = _get_module_uncached(
            source, name, key, compiler, extra_objects, link_flags, description
        )
        _memo[memo_key] = found
        _key_memo[key] = found
        return found


def find_module(key: str, name: str) -> tuple[ModuleType, Entry] | None:
    """The module whose cache key is ``key`` (entry named after ``name``) and its entry, when
    this process or the cache already has it; else None. Never compiles and never warns: a
    caller that gets None builds the module with ``get_module`` (which reports a broken
    entry and rebuilds it)."""
    with _lock:
        found = _key_memo.get(key)
        if found is not None:
            _counts["memory_hits"] += 1
            return found
        store = open_store()
        if store is None:
            return None
        found, _ = _load_entry(store, _dirname(name, key), key, warn=False)
        if found is not None:
            _key_memo[key] = found
        return found


def _get_module_uncached(source, name, key, compiler, extra_objects, link_flags, description):
    dirname = _dirname(name, key)
    extra = [*map(str, extra_objects), *link_flags]
    store = open_store()
    if store is not None:
        found, problem = _load_entry(store, dirname, key)
        if found is not None:
            return found
    if config.never_compile:
        where = f"in {store.root}" if store is not None else "(the cache is off)"
        raise CacheMissError(
            f"no compiled module {dirname} {where}, and the never_compile flag forbids compiling "
            "it; run the program once with never_compile=False to fill the cache"
        )
    if store is None or not store.writable:
        build = Path(tempfile.mkdtemp(prefix=f"{dirname}.", dir=_private_dir()))
        meta = _build(build, source, name, key, compiler, extra, description, store)
        return _load(build, key, meta, "compiled")
    with store.holding(dirname, timeout=config.compile_timeout + 60):
        # Second look: another process may have built it while we waited for the lock.
        found, problem = _load_entry(store, dirname, key, warn=problem is None)
        if found is not None:
            return found
        if problem is not None:
            store.discard(store.entry_dir(dirname))
            store.add_stats(rebuilt=1)
        build = store.new_build_dir(dirname)
        meta = _build(build, source, name, key, compiler, extra, description, store)
        if not store.publish(build, dirname):  # only if someone broke the lock
            meta = store.read_meta(store.entry_dir(dirname))
    store.add_stats(misses=1, compiles=1, compile_seconds=meta["compile_seconds"])
    store.clean_tmp(stale_after=2 * config.compile_timeout)  # builds of killed processes
    if store.seconds_since_prune() > _PRUNE_EVERY:
        store.prune(config.cache_max_age, config.cache_max_size)
    return _load(store.entry_dir(dirname), key, meta, "compiled")


def _load_entry(store: Store, dirname: str, key: str, warn: bool = True):
    """((module, Entry), None) on a hit; (None, problem) for a broken entry; (None, None) for a
    missing one. A broken entry is never loaded."""
    path = store.entry_dir(dirname)
    try:
        meta = store.read_meta(path)
        if meta.get("key") != key:
            raise ValueError("its key does not match its directory")
        found = _load(path, key, meta, "disk")
    except FileNotFoundError:
        return None, None
    except (ValueError, ImportError, OSError) as exc:
        if isinstance(exc, CacheSecurityError):
            raise
        if warn:
            warnings.warn(
                f"symcomp: cache entry {path} is broken ({exc}); rebuilding it",
                CacheWarning,
                stacklevel=5,
            )
        return None, str(exc)
    _counts["disk_hits"] += 1
    store.add_stats(hits=1, defer=True)
    store.touch(path, meta)
    return found, None


def _load(path: Path, key: str, meta: dict[str, Any], origin: str) -> tuple[ModuleType, Entry]:
    module = load_extension(path / MODULE, MODULE_NAME)
    if origin == "compiled":
        _counts["compiles"] += 1
    return module, Entry(path=path, key=key, meta=meta, origin=origin)


def _build(build, source, name, key, compiler, extra, description, store) -> dict[str, Any]:
    """Compile ``source`` into ``build`` (source.cpp, module.so, meta.json); return the meta."""
    (build / SOURCE).write_text(source)
    start = time.perf_counter()
    try:
        headers = StoreHeaders(store) if store is not None else None
        compiler.compile(build / SOURCE, build / MODULE, extra_flags=extra, headers=headers)
    except CompileError as exc:
        dirname = _dirname(name, key)
        if store is not None and store.writable:
            kept = store.keep_failed_source(dirname, source)
        else:
            kept = _private_dir() / f"{dirname}.cpp"
            kept.write_text(source)
        shutil.rmtree(build, ignore_errors=True)
        raise exc.with_source(kept) from None
    seconds = time.perf_counter() - start
    now = time.time()
    meta = {
        "key": key,
        "name": name,
        "description": description,
        "created": now,
        "last_used": now,
        "compile_seconds": round(seconds, 4),
        "module_sha256": file_sha256(build / MODULE),
        "module_size": (build / MODULE).stat().st_size,
        "size": (build / MODULE).stat().st_size + len(source.encode()),
        "compiler": compiler.path,
        "compiler_version": compiler.version,
        "flags": list(compiler.flags) + list(extra),
        "symcomp": _symcomp_version(),
    }
    write_atomic(build / "meta.json", json.dumps(meta, indent=1, sort_keys=True).encode())
    return meta


# --- precompiled headers -----------------------------------------------------------------

_GCH = PRELUDE_HEADER + ".gch"
_verified: dict[tuple, bool] = {}  # (path, size, mtime, inode) -> the sha256 matched


class StoreHeaders:
    """``toolchain.PrecompiledHeaders`` kept in a cache store: ``<root>/pch/<hash16>/`` holds
    ``symcomp/module.hpp.gch`` and ``meta.json`` (its size and sha256, what built it), one per
    compiler identity (path, version, flags), defines, include directories, headers and
    environment (Python, NumPy, symcomp, CPU): the compiler does not check that the headers a
    precompiled header was made from are unchanged, the key does.

    A build takes the key's lock without waiting (another process building it means a compile
    without it this time), runs in ``tmp/`` and is renamed into place complete, so a half
    written one is never seen. ``find`` checks ownership, size and sha256 (once per process
    and file) and removes a broken one. No method raises."""

    def __init__(self, store: Store):
        self.store = store

    def _name(self, compiler: Compiler, defines: Sequence[str]) -> str:
        parts = ["pch", compiler.identity(), "\n".join(defines), "\n".join(include_dirs())]
        return _digest([*parts, _headers_hash(), _environment_id()])[:16]

    def _dir(self, compiler: Compiler, defines: Sequence[str]) -> Path:
        return self.store.root / "pch" / self._name(compiler, defines)

    def find(self, compiler: Compiler, defines: tuple[str, ...]) -> Path | None:
        path = self._dir(compiler, defines)
        try:
            self._verify(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.debug("precompiled header %s is broken (%s); removing it", path, exc)
            if self.store.writable and not isinstance(exc, CacheSecurityError):
                self.store.discard(path)
            return None
        self.store.touch_file(path / "meta.json")
        return path

    def _verify(self, path: Path) -> None:
        check_private(path, "precompiled header directory")
        meta = json.loads((path / "meta.json").read_bytes())
        gch = path / _GCH
        check_private(gch, "precompiled header")
        st = gch.stat()
        if not isinstance(meta, dict) or st.st_size != meta.get("size"):
            raise ValueError(f"{_GCH} is {st.st_size} bytes, expected {meta.get('size')}")
        seen = (str(gch), st.st_size, st.st_mtime_ns, st.st_ino)
        if seen not in _verified:
            if file_sha256(gch) != meta.get("sha256"):
                raise ValueError(f"{_GCH} does not match its recorded sha256")
            _verified[seen] = True

    def build(self, compiler: Compiler, defines: tuple[str, ...]) -> None:
        if not self.store.writable:
            return
        name = self._name(compiler, defines)
        lock = self.store.lock(f"pch-{name}", timeout=0)
        try:
            lock.acquire(timeout=0)
        except Exception:  # noqa: BLE001 - held elsewhere (or no lock): skip, never fail
            return
        try:
            self._build_locked(compiler, defines, name)
        except Exception as exc:  # noqa: BLE001 - a precompiled header is optional
            log.debug("could not precompile %s: %s", PRELUDE_HEADER, exc)
        finally:
            lock.release()

    def _build_locked(self, compiler: Compiler, defines: tuple[str, ...], name: str) -> None:
        final = self.store.root / "pch" / name
        if final.exists():
            return
        build = self.store.new_build_dir(f"pch-{name}")
        try:
            (build / _GCH).parent.mkdir(parents=True)
            command = compiler.pch_command(defines, build / _GCH)
            start = time.perf_counter()
            output, code = run_compiler(command, config.compile_timeout)
            if code != 0:
                log.debug("precompiling %s failed (%s): %s", PRELUDE_HEADER, code, output[-2000:])
                return
            meta = {
                "size": (build / _GCH).stat().st_size,
                "sha256": file_sha256(build / _GCH),
                "compiler": compiler.path,
                "compiler_version": compiler.version,
                "flags": [*compiler.flags, *defines],
                "created": time.time(),
                "compile_seconds": round(time.perf_counter() - start, 4),
            }
            write_atomic(build / "meta.json", json.dumps(meta, indent=1, sort_keys=True).encode())
            os.rename(build, final)
        finally:
            if build.exists():
                shutil.rmtree(build, ignore_errors=True)

    def discard(self, compiler: Compiler, defines: tuple[str, ...]) -> None:
        if self.store.writable:
            with contextlib.suppress(OSError):
                self.store.discard(self._dir(compiler, defines))


# --- pickled objects ----------------------------------------------------------------------


def _pickled_path(store: Store, name: str, key_parts: Sequence[str | bytes]) -> tuple[str, Path]:
    key = _digest(["pickled", name, *key_parts, _environment_id(), str(pickle.HIGHEST_PROTOCOL)])
    return key, store.root / "pickled" / f"{_dirname(name, key)}.pkl"


def get_pickled(
    key_parts: Sequence[str | bytes], build_fn: Callable[[], T], name: str = "object"
) -> T:
    """The object stored under ``key_parts``, else ``build_fn()`` (then stored).

    The key also covers the Python, NumPy and symcomp versions. The same object is returned
    within a process: treat it as immutable. A corrupt file is rebuilt with a warning.
    """
    store = open_store()
    if store is None:
        key = _digest(["pickled", name, *key_parts])
        with _lock:
            if key not in _pickled_memo:
                _pickled_memo[key] = build_fn()
            return _pickled_memo[key]
    key, path = _pickled_path(store, name, key_parts)
    with _lock:
        if key in _pickled_memo:
            return _pickled_memo[key]
        obj = _read_pickled(store, path)
        if obj is _MISSING:
            store.add_stats(pickled_misses=1)
            obj = build_fn()
            _write_pickled(store, path, obj)
        else:
            store.add_stats(pickled_hits=1, defer=True)
        _pickled_memo[key] = obj
        return obj


def find_pickled(key_parts: Sequence[str | bytes], name: str = "object") -> Any:
    """The object ``put_pickled`` stored under ``key_parts``, or None."""
    store = open_store()
    with _lock:
        if store is None:
            return _pickled_memo.get(_digest(["pickled", name, *key_parts]))
        key, path = _pickled_path(store, name, key_parts)
        if key in _pickled_memo:
            return _pickled_memo[key]
        obj = _read_pickled(store, path)
        if obj is _MISSING:
            return None
        _pickled_memo[key] = obj
        return obj


def put_pickled(key_parts: Sequence[str | bytes], obj: Any, name: str = "object") -> None:
    """Store ``obj`` under ``key_parts`` (replacing what was there)."""
    store = open_store()
    if store is None:
        with _lock:
            _pickled_memo[_digest(["pickled", name, *key_parts])] = obj
        return
    key, path = _pickled_path(store, name, key_parts)
    with _lock:
        _pickled_memo[key] = obj
        _write_pickled(store, path, obj)


_MISSING = object()


def _read_pickled(store: Store, path: Path) -> Any:
    try:
        check_private(path, "cache file")
        data = path.read_bytes()
    except FileNotFoundError:
        return _MISSING
    digest, _, payload = data.partition(b"\n")
    try:
        if hashlib.sha256(payload).hexdigest().encode() != digest:
            raise ValueError("its content does not match its recorded sha256")
        obj = pickle.loads(payload)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means: rebuild it
        warnings.warn(
            f"symcomp: cached {path} is broken ({exc}); rebuilding it", CacheWarning, stacklevel=3
        )
        return _MISSING
    store.touch_file(path)
    return obj


def _write_pickled(store: Store, path: Path, obj: Any) -> None:
    if not store.writable:
        return
    try:
        payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        _warn_once(f"pickle:{path.name}", f"symcomp: cannot cache {path.name}: {exc}")
        return
    write_atomic(path, hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
