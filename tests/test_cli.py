"""The `symcomp` command, run as `python -m symcomp` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from symcomp.cli import COMMANDS

REPO_ROOT = Path(__file__).resolve().parents[1]


def symcomp(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "symcomp", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version():
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        expected = tomllib.load(f)["project"]["version"]
    result = symcomp("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"symcomp {expected}"


def test_info():
    result = symcomp("info")
    assert result.returncode == 0, result.stderr
    for key in ("symcomp:", "python:", "numpy:", "platform:", "cxx:", "nvcc:", "cache_dir:"):
        assert key in result.stdout
    assert "floatX" in result.stdout
    assert "openmp_elemwise_minsize" in result.stdout


def test_info_json():
    result = symcomp("info", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert info["flags"]["floatX"] in ("float32", "float64")
    # tests/conftest.py gives the test session (and so this subprocess) a private cache dir.
    assert info["cache_dir"] == info["flags"]["cache_dir"]
    assert "symcomp-test-cache-" in info["cache_dir"]
    for tool in ("cxx", "nvcc"):
        assert info[tool] is None or set(info[tool]) == {"path", "version"}


@pytest.mark.parametrize("args", [[], *([name] for name in COMMANDS)])
def test_help(args):
    result = symcomp(*args, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: symcomp {' '.join(args)}".rstrip())


def test_top_level_help_lists_commands():
    result = symcomp("--help")
    for name in COMMANDS:
        assert name in result.stdout


def test_bad_subcommand_exits_2():
    result = symcomp("no-such-command")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_no_subcommand_exits_2():
    result = symcomp()
    assert result.returncode == 2
    assert "a command is required" in result.stderr


def test_bad_option_exits_2():
    result = symcomp("demo", "--mode", "fast")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_failure_exits_1_with_one_line_on_stderr(monkeypatch, capsys):
    from symcomp import cli

    def fail(args):
        raise RuntimeError("something\nbroke")

    monkeypatch.setitem(cli.COMMANDS, "info", cli.Command("fails", lambda parser: None, fail))
    assert cli.main(["info"]) == 1
    err = capsys.readouterr().err
    assert err == "symcomp info: error: RuntimeError: something broke\n"
