"""The compile cache's directory: layout, permissions, entries, locks, stats and pruning.

Layout of the cache root (``config.cache_dir``)::

    <root>/<name>-<hash12>/      one entry: source.cpp, module.so, meta.json
    <root>/pickled/<name>-<hash12>.pkl   pickled objects (rewritten graphs)
    <root>/locks/<name>-<hash12>.lock    per-key compile locks (flock: freed when the holder dies)
    <root>/pch/<hash16>/         a precompiled prelude: symcomp/module.hpp.gch, meta.json
    <root>/tmp/                  builds in progress, renamed into place when complete
    <root>/failed/               sources of failed compiles, kept for inspection
    <root>/stats.json            hits, misses and compile time, across processes

The root and everything loaded from it must be owned by the user and not writable by group or
others: loading a shared object from a directory others can write runs their code.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import filelock

__all__ = [
    "CacheSecurityError",
    "EntryInfo",
    "Store",
    "check_private",
    "file_sha256",
    "write_atomic",
]

log = logging.getLogger("symcomp.cache")


def _filelock():
    """The filelock package, imported when a lock is first needed (a process that only loads
    cached modules never takes one, and the import costs tens of milliseconds)."""
    import filelock

    return filelock


# Stats increments of cache hits not yet written, per cache root: written at exit (or with the
# next compile's stats), so a cache hit costs no lock and no write.
_pending_stats: dict[str, dict[str, float]] = {}
_flush_registered: list = []

META, SOURCE, MODULE = "meta.json", "source.cpp", "module.so"
_SPECIAL = {"pickled", "locks", "tmp", "failed", "pch"}


class CacheSecurityError(PermissionError):
    """The cache directory or an entry is not private to the user; the message says the fix."""


def _flush_stats() -> None:
    for root, pending in list(_pending_stats.items()):
        if pending and Path(root).is_dir():
            Store(Path(root), writable=True).add_stats()


def check_private(path: Path, what: str = "cache directory") -> None:
    """Raise ``CacheSecurityError`` unless ``path`` is owned by the user and not writable by
    group or others."""
    st = os.stat(path)
    if st.st_uid != os.getuid():
        raise CacheSecurityError(
            f"{what} {path} is owned by uid {st.st_uid}, not by you (uid {os.getuid()}); "
            "symcomp only loads compiled code from directories you own: set SYMCOMP_CACHE_DIR "
            "to a directory of your own"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        fix = f"chmod 700 {path}" if stat.S_ISDIR(st.st_mode) else f"chmod go-w {path}"
        raise CacheSecurityError(
            f"{what} {path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}), "
            f"so they could make you run their code; fix it with `{fix}`"
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` so readers see the old content or the new, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _tree_size(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


@dataclass(frozen=True)
class EntryInfo:
    """An entry as found on disk: ``problem`` is None for a sound entry, else what is wrong."""

    path: Path
    meta: dict[str, Any]
    size: int
    problem: str | None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def last_used(self) -> float:
        return float(self.meta.get("last_used") or self.meta.get("created") or _mtime(self.path))

    @property
    def created(self) -> float:
        return float(self.meta.get("created") or _mtime(self.path))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


class Store:
    """One cache root. ``writable`` is False for a read-only directory: entries load, but
    nothing is written (no locks, no stats, no new entries)."""

    def __init__(self, root: Path, writable: bool):
        self.root = root
        self.writable = writable

    @classmethod
    def open(cls, root: str | Path, create: bool = True) -> Store:
        """The store at ``root``, created 0700 when missing and ``create``.

        Raises ``CacheSecurityError`` for a directory not private to the user and ``OSError``
        when it does not exist and cannot be created.
        """
        root = Path(root).expanduser().absolute()
        if create and not root.exists():
            root.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                root.mkdir(mode=0o700)
        check_private(root)
        writable = os.access(root, os.W_OK | os.X_OK)
        if writable:
            for sub in ("locks", "tmp", "pickled", "failed", "pch"):
                try:
                    (root / sub).mkdir(mode=0o700, exist_ok=True)
                except OSError as exc:  # a read-only file system reports itself here
                    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                        writable = False
                        break
                    raise
        return cls(root, writable)

    # --- entries ------------------------------------------------------------------------

    def entry_dir(self, dirname: str) -> Path:
        return self.root / dirname

    def entry_dirs(self) -> list[Path]:
        try:
            children = list(self.root.iterdir())
        except OSError:
            return []
        return sorted(
            p for p in children if p.name not in _SPECIAL and not p.name.startswith(".")
            and p.is_dir()
        )  # fmt: skip

    def read_meta(self, path: Path, deep: bool = True) -> dict[str, Any]:
        """The verified metadata of the entry at ``path`` (``deep``: the module's sha256 is
        checked too, not only its size).

        Raises ``FileNotFoundError`` when there is no entry, ``CacheSecurityError`` when it is
        not private, and ``ValueError`` saying what is wrong when it fails verification (the
        module file is then never loaded: a truncated shared object can crash ``dlopen``).
        """
        check_private(path, "cache entry")
        try:
            meta = json.loads((path / META).read_bytes())
        except FileNotFoundError:
            if not path.exists():
                raise
            raise ValueError("meta.json is missing") from None
        except (OSError, ValueError) as exc:
            raise ValueError(f"meta.json is unreadable ({exc})") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("module_sha256"), str):
            raise ValueError("meta.json lacks the module's hash")
        module = path / MODULE
        try:
            check_private(module, "cache file")
            size = module.stat().st_size
        except FileNotFoundError:
            raise ValueError("module.so is missing") from None
        if size != meta.get("module_size"):
            raise ValueError(f"module.so is {size} bytes, expected {meta.get('module_size')}")
        if deep and file_sha256(module) != meta["module_sha256"]:
            raise ValueError("module.so does not match its recorded sha256")
        return meta

    def info(self, path: Path, deep: bool = False) -> EntryInfo:
        """What ``read_meta`` finds, as an ``EntryInfo`` (never raises for a broken entry)."""
        try:
            meta, problem = self.read_meta(path, deep), None
        except (ValueError, OSError) as exc:
            problem = str(exc)
            try:
                meta = json.loads((path / META).read_bytes())
                meta = meta if isinstance(meta, dict) else {}
            except (OSError, ValueError):
                meta = {}
        return EntryInfo(path, meta, _tree_size(path), problem)

    def entries(self, deep: bool = False) -> list[EntryInfo]:
        """Every entry; ``deep`` checks each module's sha256 (reads every module)."""
        return [self.info(p, deep) for p in self.entry_dirs()]

    def write_meta(self, path: Path, meta: dict[str, Any]) -> None:
        write_atomic(path / META, json.dumps(meta, indent=1, sort_keys=True).encode())

    def touch(self, path: Path, meta: dict[str, Any], every: float = 60.0) -> None:
        """Record a use of the entry (for least-recently-used eviction), at most once per
        ``every`` seconds so hot entries are not rewritten on every load."""
        now = time.time()
        if not self.writable or now - float(meta.get("last_used", 0)) < every:
            return
        meta["last_used"] = now
        with contextlib.suppress(OSError):
            self.write_meta(path, meta)

    def touch_file(self, path: Path, every: float = 60.0) -> None:
        """Record a use of a single-file item (its mtime is its last use)."""
        if self.writable and time.time() - _mtime(path) > every:
            with contextlib.suppress(OSError):
                os.utime(path)

    def new_build_dir(self, dirname: str) -> Path:
        """A fresh private directory to build ``dirname`` in, on the cache's file system so the
        finished build can be renamed into place."""
        return Path(tempfile.mkdtemp(prefix=f"{dirname}.{os.getpid()}.", dir=self.root / "tmp"))

    def publish(self, build_dir: Path, dirname: str) -> bool:
        """Rename ``build_dir`` to the entry ``dirname``; False (and ``build_dir`` removed) when
        that entry already exists."""
        try:
            os.rename(build_dir, self.root / dirname)
            return True
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            shutil.rmtree(build_dir, ignore_errors=True)
            return False

    def discard(self, path: Path) -> None:
        """Remove an entry: renamed away first, so nobody sees it half deleted."""
        trash = self.root / "tmp" / f"{path.name}.trash.{os.getpid()}.{time.monotonic_ns()}"
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def keep_failed_source(self, dirname: str, source: str) -> Path:
        path = self.root / "failed" / f"{dirname}.cpp"
        write_atomic(path, source.encode())
        return path

    # --- locks --------------------------------------------------------------------------

    def lock(self, dirname: str, timeout: float) -> filelock.BaseFileLock:
        """The compile lock of one key. It is an OS lock (flock), released when its holder
        exits or is killed, so a crashed compile never blocks the next process for long."""
        return _filelock().FileLock(str(self.root / "locks" / f"{dirname}.lock"), timeout=timeout)

    @contextlib.contextmanager
    def holding(self, dirname: str, timeout: float) -> Iterator[None]:
        """Hold the compile lock of ``dirname``, logging who we wait for."""
        lock = self.lock(dirname, timeout)
        owner = self.root / "locks" / f"{dirname}.owner"
        filelock = _filelock()
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            log.info("waiting for %s, which %s is compiling", dirname, _read(owner) or "a process")
            try:
                lock.acquire()
            except filelock.Timeout:
                raise TimeoutError(
                    f"waited {timeout:g} s for the compile lock of {dirname} (held by "
                    f"{_read(owner) or 'another process'}); if no symcomp process is running, "
                    "run `symcomp cache unlock`"
                ) from None
        try:
            with contextlib.suppress(OSError):
                owner.write_text(f"pid {os.getpid()} on {os.uname().nodename}")
            yield
        finally:
            with contextlib.suppress(OSError):
                owner.unlink()
            lock.release()

    def unlock(self, stale_after: float) -> list[str]:
        """Remove lock files nobody holds and abandoned builds; return what was removed."""
        removed = []
        filelock = _filelock()
        for path in sorted((self.root / "locks").glob("*.lock")):
            lock = filelock.FileLock(str(path), timeout=0)
            try:
                lock.acquire()
            except filelock.Timeout:
                continue  # held by a live process: not stale
            try:
                path.unlink(missing_ok=True)
                (path.with_suffix(".owner")).unlink(missing_ok=True)
                removed.append(f"lock {path.name}")
            finally:
                lock.release()
        removed += self.clean_tmp(stale_after)
        return removed

    def clean_tmp(self, stale_after: float) -> list[str]:
        """Remove builds left in tmp/ by dead processes or older than ``stale_after`` seconds."""
        removed = []
        now = time.time()
        for path in sorted((self.root / "tmp").glob("*")):
            if not _pid_alive(_build_pid(path.name)) or now - _mtime(path) > stale_after:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(f"build {path.name}")
        return removed

    # --- stats --------------------------------------------------------------------------

    def read_stats(self) -> dict[str, float]:
        """The counters in stats.json plus this process's increments not yet written."""
        try:
            stats = json.loads((self.root / "stats.json").read_bytes())
            stats = stats if isinstance(stats, dict) else {}
        except (OSError, ValueError):
            stats = {}
        for name, value in _pending_stats.get(str(self.root), {}).items():
            stats[name] = stats.get(name, 0) + value
        return stats

    def add_stats(self, defer: bool = False, **increments: float) -> None:
        """Add to the counters in stats.json; never fails the caller (stats are advisory).
        ``defer``: keep them in memory until the next write or the process's exit (for cache
        hits, which should cost no lock and no write)."""
        if not self.writable:
            return
        pending = _pending_stats.setdefault(str(self.root), {})
        if defer:
            if not _flush_registered:
                _flush_registered.append(atexit.register(_flush_stats))
            for name, value in increments.items():
                pending[name] = pending.get(name, 0) + value
            return
        filelock = _filelock()
        try:
            with filelock.FileLock(str(self.root / "locks" / "stats.lock"), timeout=5):
                try:
                    stats = json.loads((self.root / "stats.json").read_bytes())
                    stats = stats if isinstance(stats, dict) else {}
                except (OSError, ValueError):
                    stats = {}
                for name, value in [*pending.items(), *increments.items()]:
                    stats[name] = stats.get(name, 0) + value
                pending.clear()
                write_atomic(self.root / "stats.json", json.dumps(stats, sort_keys=True).encode())
        except (OSError, filelock.Timeout) as exc:
            log.debug("could not update cache stats: %s", exc)

    def reset_stats(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / "stats.json").unlink()

    # --- pruning ------------------------------------------------------------------------

    def pickled_files(self) -> list[Path]:
        return sorted((self.root / "pickled").glob("*.pkl"))

    def pch_dirs(self) -> list[Path]:
        """The precompiled headers' directories (``symcomp.codegen.cache.StoreHeaders``)."""
        try:
            return sorted(p for p in (self.root / "pch").iterdir() if p.is_dir())
        except OSError:
            return []

    def prune(self, older_than: float | None, max_size: int | None) -> list[str]:
        """Remove entries unused for ``older_than`` seconds, then the least recently used
        until the cache holds at most ``max_size`` bytes (None or 0: no bound). Broken entries
        go first. Returns the removed names."""
        now = time.time()
        items = [(e.path, e.size, -1.0 if e.problem else e.last_used) for e in self.entries()]
        items += [(p, _size(p), _mtime(p)) for p in self.pickled_files()]
        items += [(p, _size(p), _mtime(p)) for p in (self.root / "failed").glob("*.cpp")]
        items += [(p, _tree_size(p), _mtime(p / META)) for p in self.pch_dirs()]
        items.sort(key=lambda item: item[2])
        removed, kept = [], []
        for path, size, used in items:
            if older_than and now - used > older_than or used < 0:
                removed.append(path)
            else:
                kept.append((path, size))
        total = sum(size for _, size in kept)
        for path, size in kept:
            if not max_size or total <= max_size:
                break
            removed.append(path)
            total -= size
        for path in removed:
            if path.is_dir():
                self.discard(path)
            else:
                path.unlink(missing_ok=True)
        removed_names = [p.name for p in removed]
        removed_names += self.clean_tmp(stale_after=24 * 3600)
        with contextlib.suppress(OSError):
            (self.root / "last_prune").touch()
        return removed_names

    def seconds_since_prune(self) -> float:
        return time.time() - _mtime(self.root / "last_prune")

    def clear(self) -> int:
        """Remove every entry, pickled object, kept source, precompiled header and the stats;
        return the count."""
        count = 0
        for path in [*self.entry_dirs(), *self.pch_dirs()]:
            self.discard(path)
            count += 1
        for path in [*self.pickled_files(), *(self.root / "failed").glob("*.cpp")]:
            path.unlink(missing_ok=True)
            count += 1
        self.reset_stats()
        return count

    def total_size(self) -> int:
        return _tree_size(self.root)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _build_pid(name: str) -> int | None:
    """The pid in a build directory's name ``<entry>.<pid>.<random>``."""
    for part in name.split("."):
        if part.isdigit():
            return int(part)
    return None


def _pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
