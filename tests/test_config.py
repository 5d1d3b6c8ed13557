"""Flags: parsing from the rc file and environment, validation, change_flags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from symcomp.config import FLAGS, Config, change_flags, config, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def environ(tmp_path):
    """A fake environment whose rc file path points at a file that does not exist yet."""
    return {"SYMCOMP_RC": str(tmp_path / "symcomprc.toml")}


def write_rc(environ, text: str) -> None:
    Path(environ["SYMCOMP_RC"]).write_text(text)


def test_defaults():
    fresh = Config()
    assert fresh.floatX == "float64"
    assert fresh.mode == "native"
    assert fresh.optimizer == "fast_run"
    assert fresh.device == "cpu"
    assert fresh.openmp is True
    assert fresh.openmp_elemwise_minsize == 200000
    assert fresh.as_dict() == {name: flag.default for name, flag in FLAGS.items()}


def test_every_flag_has_a_one_line_doc():
    for flag in FLAGS.values():
        assert flag.doc and "\n" not in flag.doc, flag.name


def test_no_settings_without_rc_or_env(tmp_path):
    assert load_settings({"SYMCOMP_RC": os.devnull}) == {}


def test_flags_var():
    settings = load_settings(
        {"SYMCOMP_RC": os.devnull, "SYMCOMP_FLAGS": " floatX=float32 , mode=py,,openmp=no,"}
    )
    assert settings == {"floatX": "float32", "mode": "py", "openmp": False}


def test_flags_var_value_may_hold_commas():
    settings = load_settings(
        {"SYMCOMP_RC": os.devnull, "SYMCOMP_FLAGS": "cxxflags=-O2 -Wl,-rpath,/opt/lib,mode=py"}
    )
    assert settings == {"cxxflags": "-O2 -Wl,-rpath,/opt/lib", "mode": "py"}


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("1", True), ("YES", True), ("false", False), ("0", False), ("no", False)],
)
def test_bool_spellings(text, value):
    assert load_settings({"SYMCOMP_RC": os.devnull, "SYMCOMP_FLAGS": f"profile={text}"}) == {
        "profile": value
    }


def test_typed_values_from_text():
    env = {"SYMCOMP_RC": os.devnull, "SYMCOMP_FLAGS": "openmp_elemwise_minsize=10,optimizer=None"}
    assert load_settings(env) == {"openmp_elemwise_minsize": 10, "optimizer": None}


def test_dedicated_env_vars_win_over_flags_var():
    env = {
        "SYMCOMP_RC": os.devnull,
        "SYMCOMP_FLAGS": "cache_dir=/a,cache=on,cxx=g++",
        "SYMCOMP_CACHE_DIR": "/b",
        "SYMCOMP_CACHE": "off",
        "SYMCOMP_CXX": "clang++",
    }
    assert load_settings(env) == {"cache_dir": "/b", "cache": "off", "cxx": "clang++"}


def test_rc_file(environ):
    write_rc(environ, 'floatX = "float32"\nopenmp = false\nopenmp_elemwise_minsize = 5\n')
    assert load_settings(environ) == {"floatX": "float32", "openmp": False,
                                      "openmp_elemwise_minsize": 5}  # fmt: skip


def test_env_wins_over_rc(environ):
    write_rc(environ, 'floatX = "float32"\nmode = "debug"\ncache = "on"\n')
    environ.update(SYMCOMP_FLAGS="mode=py", SYMCOMP_CACHE="off")
    assert load_settings(environ) == {"floatX": "float32", "mode": "py", "cache": "off"}


def test_default_rc_path_is_optional(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_config_dir", lambda *a, **k: str(tmp_path / "none"))
    assert load_settings({}) == {}


def test_missing_explicit_rc_file_raises(environ):
    with pytest.raises(ValueError, match="does not exist"):
        load_settings(environ)


@pytest.mark.parametrize(
    ("rc", "match"),
    [
        ('colour = "blue"\n', "unknown flag 'colour'; valid flags: floatX, mode"),
        ('floatX = "float16"\n', "bad value 'float16' for flag 'floatX'; valid values: float32"),
        ("openmp_elemwise_minsize = -1\n", "openmp_elemwise_minsize"),
        ("floatX = \n", "not valid TOML"),
    ],
)
def test_bad_rc_file(environ, rc, match):
    write_rc(environ, rc)
    with pytest.raises(ValueError, match=match):
        load_settings(environ)


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        ("colour=blue", "unknown flag 'colour'; valid flags: floatX, mode, optimizer"),
        ("mode=fast", "bad value 'fast' for flag 'mode'; valid values: native, py, debug"),
        ("device=gpu", "flag 'device'; valid values: cpu, cuda, cudaN"),
        ("openmp=maybe", "flag 'openmp'"),
        ("openmp_elemwise_minsize=1e5", "flag 'openmp_elemwise_minsize'"),
        ("floatX", "not of the form name=value"),
    ],
)
def test_bad_flags_var(flags, match):
    with pytest.raises(ValueError, match=match):
        load_settings({"SYMCOMP_RC": os.devnull, "SYMCOMP_FLAGS": flags})


def test_bad_dedicated_env_var():
    with pytest.raises(ValueError, match="SYMCOMP_CACHE.*flag 'cache'; valid values: on, off"):
        load_settings({"SYMCOMP_RC": os.devnull, "SYMCOMP_CACHE": "maybe"})


def test_device_values():
    fresh = Config()
    for device in ("cpu", "cuda", "cuda0", "cuda12"):
        fresh.device = device
        assert fresh.device == device
    with pytest.raises(ValueError, match="device"):
        fresh.device = "cuda-1"


def test_assignment_validates():
    fresh = Config()
    fresh.floatX = "float32"
    assert fresh.floatX == "float32"
    with pytest.raises(ValueError, match="bad value 'float16' for flag 'floatX'"):
        fresh.floatX = "float16"
    assert fresh.floatX == "float32"
    fresh.openmp = "yes"
    assert fresh.openmp is True
    fresh.optimizer = None
    assert fresh.optimizer is None


def test_unknown_flag():
    with pytest.raises(ValueError, match="unknown flag 'floatx'; valid flags: floatX"):
        config.floatx  # noqa: B018
    with pytest.raises(ValueError, match="unknown flag 'floatx'"):
        config.floatx = "float32"
    assert not hasattr(config, "floatx")
    with pytest.raises(ValueError, match="unknown flag 'nope'"):
        Config({"nope": 1})


def test_change_flags_context_manager():
    before = config.floatX
    with change_flags(floatX="float32", mode="py") as cfg:
        assert cfg is config
        assert (config.floatX, config.mode) == ("float32", "py")
    assert config.floatX == before


def test_change_flags_restores_on_exception():
    before = config.as_dict()
    with pytest.raises(RuntimeError), config.change_flags(floatX="float32", profile=True):
        raise RuntimeError
    assert config.as_dict() == before


def test_change_flags_decorator():
    before = config.floatX

    @change_flags(floatX="float32")
    def inner(depth):
        assert config.floatX == "float32"
        return inner(depth - 1) if depth else config.floatX  # re-entrant

    assert inner(2) == "float32"
    assert config.floatX == before


def test_change_flags_validates_before_changing_anything():
    before = config.as_dict()
    with pytest.raises(ValueError, match="unknown flag 'nope'"):
        change_flags(floatX="float32", nope=1)
    with pytest.raises(ValueError, match="flag 'mode'"):
        change_flags(floatX="float32", mode="fast")
    assert config.as_dict() == before


def test_flags_read_at_import():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMCOMP_")}
    env.update(SYMCOMP_RC=os.devnull, SYMCOMP_FLAGS="floatX=float32", SYMCOMP_CACHE="off")
    code = "from symcomp.config import config; print(config.floatX, config.cache)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == ["float32", "off"], result.stderr


def test_bad_env_fails_at_import():
    env = dict(os.environ, SYMCOMP_RC=os.devnull, SYMCOMP_FLAGS="floatX=float16")
    result = subprocess.run(
        [sys.executable, "-c", "import symcomp.config"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "bad value 'float16' for flag 'floatX'" in result.stderr


def test_tests_use_a_private_cache_dir():
    # tests/conftest.py sets SYMCOMP_CACHE_DIR before symcomp is imported.
    assert config.cache_dir == os.environ["SYMCOMP_CACHE_DIR"]
    assert "symcomp-test-cache-" in config.cache_dir
