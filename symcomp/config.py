"""symcomp's flags: one ``config`` object, read once at import.

Sources, later ones winning:

1. the TOML rc file ``<user config dir>/symcomp/symcomprc.toml`` (path overridable by the
   ``SYMCOMP_RC`` environment variable), whose top-level keys are flag names;
2. ``SYMCOMP_FLAGS="floatX=float32,mode=py"`` (comma separated ``name=value`` pairs; a comma
   inside a value is kept when what follows it is not ``name=``, as in ``cxxflags=-Wl,-O1``);
3. ``SYMCOMP_CACHE_DIR``, ``SYMCOMP_CACHE`` and ``SYMCOMP_CXX``, which set ``cache_dir``,
   ``cache`` and ``cxx``.

Flags are attributes (``config.floatX``); assigning one validates it. ``config.change_flags``
sets flags for a ``with`` block or a decorated function and restores them afterwards, even on
an exception. An unknown flag or an invalid value raises ``ValueError`` naming the flag and
listing what is valid.

This is the only module of symcomp that reads environment variables.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "FLAGS",
    "Config",
    "Flag",
    "UnknownFlagError",
    "change_flags",
    "config",
    "load_settings",
    "parse_duration",
    "parse_size",
    "rc_path",
]


@dataclass(frozen=True)
class Flag:
    """One flag: its default, a one-line doc, and a parser that validates and converts."""

    name: str
    default: Any
    doc: str
    valid: str  # the valid values, in words, for error messages and `symcomp info`
    parse: Callable[[Any], Any]  # returns the converted value or raises ValueError

    def convert(self, value: Any) -> Any:
        try:
            return self.parse(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"bad value {value!r} for flag {self.name!r}; valid values: {self.valid}"
            ) from None


def _choice(*choices: str | None) -> Callable[[Any], Any]:
    by_text = {str(c): c for c in choices}  # None is spelled "None" in env vars and rc files

    def parse(value: Any) -> Any:
        if (value is None or isinstance(value, str)) and str(value) in by_text:
            return by_text[str(value)]
        raise ValueError(value)

    return parse


def _matching(pattern: str) -> Callable[[Any], str]:
    regex = re.compile(pattern)

    def parse(value: Any) -> str:
        if isinstance(value, str) and regex.fullmatch(value):
            return value
        raise ValueError(value)

    return parse


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(value)


def _path(value: Any) -> str:
    if isinstance(value, (str, os.PathLike)) and str(value):
        return os.path.expanduser(str(value))
    raise ValueError(value)


_BOOL_TEXT = {
    "true": True,
    "yes": True,
    "1": True,
    "false": False,
    "no": False,
    "0": False,
}


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOL_TEXT:
        return _BOOL_TEXT[value.strip().lower()]
    raise ValueError(value)


def _nonnegative_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    number = int(value.strip()) if isinstance(value, str) else value
    if isinstance(number, int) and number >= 0:
        return number
    raise ValueError(value)


_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2,
               "G": 1024**3, "GB": 1024**3, "T": 1024**4, "TB": 1024**4}  # fmt: skip
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_size(value: Any) -> int:
    """Bytes from an int or a string like ``"2GB"``, ``"500M"``, ``"1024"`` (units are powers
    of 1024). Raises ``ValueError`` on anything else."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int) and value >= 0:
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([A-Za-z]*)\s*", str(value))
    if not match or match.group(2).upper() not in _SIZE_UNITS:
        raise ValueError(value)
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).upper()])


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string like ``"30d"``, ``"12h"``, ``"90m"``, ``"45s"``.
    Raises ``ValueError`` on anything else."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)) and value >= 0:
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smhdw]?)\s*", str(value))
    if not match:
        raise ValueError(value)
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


_FLAG_LIST = [
    Flag("floatX", "float64", "dtype of Python floats and of float constructors without a dtype",
         "float32, float64", _choice("float32", "float64")),
    Flag("mode", "native", "default function mode: native code, NumPy reference, or both compared",
         "native, py, debug", _choice("native", "py", "debug")),
    Flag("optimizer", "fast_run", "which graph rewrites function() applies",
         "fast_run, fast_compile, None", _choice("fast_run", "fast_compile", None)),
    Flag("device", "cpu", "where compiled functions run",
         "cpu, cuda, cudaN (N a device number)", _matching(r"cpu|cuda\d*")),
    Flag("cache_dir", platformdirs.user_cache_dir("symcomp"), "directory of the compile cache",
         "a path", _path),
    Flag("cache", "on", "keep compiled modules on disk (off: in memory only)",
         "on, off", _choice("on", "off")),
    Flag("cxx", "", "C++ compiler to use (empty: look for one on PATH)",
         "a compiler path or name, or empty", _string),
    Flag("cxxflags", "", "extra flags passed to the C++ compiler",
         "a string of compiler flags", _string),
    Flag("nvcc", "", "CUDA compiler to use (empty: look for nvcc on PATH)",
         "a compiler path or name, or empty", _string),
    Flag("openmp", True, "parallelize large elementwise loops with OpenMP",
         "true, false, 1, 0, yes, no", _bool),
    Flag("openmp_elemwise_minsize", 200000, "fewest elements for an OpenMP elementwise loop",
         "an integer >= 0", _nonnegative_int),
    Flag("on_opt_error", "warn", "what a failing rewrite does",
         "warn, raise, ignore", _choice("warn", "raise", "ignore")),
    Flag("compute_test_value", "off", "evaluate test values while building graphs",
         "off, raise, warn", _choice("off", "raise", "warn")),
    Flag("contexts", "", "named device contexts, e.g. 'dev0->cuda0;dev1->cuda1'",
         "a string", _string),
    Flag("profile", False, "profile compiled functions by default",
         "true, false, 1, 0, yes, no", _bool),
    Flag("never_compile", False, "treat a compile cache miss as an error",
         "true, false, 1, 0, yes, no", _bool),
    Flag("exception_verbosity", "low", "how much graph detail runtime errors show",
         "low, high", _choice("low", "high")),
    Flag("compile_timeout", 600.0, "seconds one C++ compile may take before it is killed",
         "a duration such as 600, 90s, 10m", parse_duration),
    Flag("cache_max_size", 2 * 1024**3, "compile cache size above which old entries are evicted",
         "a size such as 2GB, 500MB, 0 (no bound)", parse_size),
    Flag("cache_max_age", 30 * 86400.0, "evict cache entries unused for this long",
         "a duration such as 30d, 12h, 0 (no bound)", parse_duration),
    Flag("compile_delay", 0.0, "test only: seconds to sleep before each compile, lock held",
         "a duration such as 0, 5s", parse_duration),
]  # fmt: skip

FLAGS: dict[str, Flag] = {flag.name: flag for flag in _FLAG_LIST}

# Environment variables that set one flag each; they win over SYMCOMP_FLAGS.
_FLAG_ENV_VARS = {
    "SYMCOMP_CACHE_DIR": "cache_dir",
    "SYMCOMP_CACHE": "cache",
    "SYMCOMP_CXX": "cxx",
}

# Split at commas followed by `name=` (or by nothing but commas and spaces), so a value may
# itself hold commas (-Wl,-rpath,/x).
_FLAGS_SPLIT = re.compile(r",(?=[\s,]*(?:[A-Za-z_]\w*\s*=|$))")


class UnknownFlagError(ValueError, AttributeError):
    """A flag name that does not exist (an AttributeError too, so ``hasattr`` works)."""


def _flag(name: str) -> Flag:
    try:
        return FLAGS[name]
    except KeyError:
        raise UnknownFlagError(f"unknown flag {name!r}; valid flags: {', '.join(FLAGS)}") from None


def rc_path(environ: Mapping[str, str] = os.environ) -> Path:
    """The rc file to read: ``SYMCOMP_RC`` if set, else ``<user config dir>/symcomprc.toml``."""
    if environ.get("SYMCOMP_RC"):
        return Path(environ["SYMCOMP_RC"]).expanduser()
    return Path(platformdirs.user_config_dir("symcomp")) / "symcomprc.toml"


def _read_rc(path: Path, required: bool) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except FileNotFoundError:
        if required:
            raise ValueError(f"rc file {str(path)!r} (from SYMCOMP_RC) does not exist") from None
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"rc file {str(path)!r} is not valid TOML: {exc}") from None
    try:
        return {name: _flag(name).convert(value) for name, value in table.items()}
    except ValueError as exc:
        raise ValueError(f"in rc file {str(path)!r}: {exc}") from None


def _parse_flags_var(text: str) -> dict[str, Any]:
    settings = {}
    for item in _FLAGS_SPLIT.split(text):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"SYMCOMP_FLAGS item {item.strip()!r} is not of the form name=value")
        settings[name.strip()] = _flag(name.strip()).convert(value.strip())
    return settings


def load_settings(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The flag values set by the rc file and environment variables (not the defaults).

    Raises ``ValueError`` for an unknown flag, an invalid value, a malformed rc file, or a
    ``SYMCOMP_RC`` that names a missing file.
    """
    settings = _read_rc(rc_path(environ), required=bool(environ.get("SYMCOMP_RC")))
    try:
        settings.update(_parse_flags_var(environ.get("SYMCOMP_FLAGS", "")))
    except ValueError as exc:
        raise ValueError(f"in SYMCOMP_FLAGS: {exc}") from None
    for var, name in _FLAG_ENV_VARS.items():
        if environ.get(var):
            try:
                settings[name] = FLAGS[name].convert(environ[var])
            except ValueError as exc:
                raise ValueError(f"in {var}: {exc}") from None
    return settings


class _FlagChange(contextlib.ContextDecorator):
    """Sets flags on entry and restores them on exit; re-entrant, so usable as a decorator."""

    def __init__(self, config: Config, values: dict[str, Any]):
        self._config = config
        self._values = values
        self._saved: list[dict[str, Any]] = []

    def __enter__(self) -> Config:
        current = self._config._values
        self._saved.append({name: current[name] for name in self._values})
        current.update(self._values)
        return self._config

    def __exit__(self, *exc_info: object) -> None:
        self._config._values.update(self._saved.pop())


class Config:
    """The flags, as validated attributes. See the module docstring."""

    def __init__(self, settings: Mapping[str, Any] | None = None):
        values = {name: flag.default for name, flag in FLAGS.items()}
        for name, value in (settings or {}).items():
            values[name] = _flag(name).convert(value)
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._values[_flag(name).name]

    def __setattr__(self, name: str, value: Any) -> None:
        self._values[name] = _flag(name).convert(value)

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *FLAGS]

    def __repr__(self) -> str:
        return f"Config({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"

    def as_dict(self) -> dict[str, Any]:
        """All flags and their current values."""
        return dict(self._values)

    def change_flags(self, **values: Any) -> _FlagChange:
        """Set flags inside a ``with`` block or a decorated function, then restore them.

        Values are validated here, before anything changes.
        """
        return _FlagChange(self, {name: _flag(name).convert(v) for name, v in values.items()})


config = Config(load_settings())
change_flags = config.change_flags
