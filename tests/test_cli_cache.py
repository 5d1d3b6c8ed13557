"""``symcomp cache ...`` and the toolchain lines of ``symcomp info``, run in subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import filelock
import pytest

from tests.codegen.ext_sources import REPO_ROOT, child_env, needs_cxx, run_child

SUBCOMMANDS = ["list", "info", "stats", "clear", "prune", "verify", "unlock", "dir"]


def symcomp(cache_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "symcomp", *args],
        cwd=REPO_ROOT,
        env=child_env(cache_dir),
        stdin=subprocess.DEVNULL,  # not a terminal: `cache clear` must not prompt
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok_json(result: subprocess.CompletedProcess):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A cache with two entries, compiled once for the module's tests."""
    root = tmp_path_factory.mktemp("filled") / "cache"
    if shutil.which("g++") is None and shutil.which("clang++") is None:
        pytest.skip("no C++ compiler found")
    for value in (1, 2):
        run_child(root, value, f"cli{value}", light=True)
    return root


@pytest.fixture
def cache_dir(filled, tmp_path):
    """A private copy of the filled cache."""
    root = tmp_path / "cache"
    shutil.copytree(filled, root)
    return root


def test_dir(tmp_path):
    result = symcomp(tmp_path / "c", "cache", "dir")
    assert (result.returncode, result.stdout) == (0, f"{tmp_path / 'c'}\n")


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_help(tmp_path, sub):
    result = symcomp(tmp_path, "cache", sub, "--help")
    assert result.returncode == 0 and result.stdout.startswith(f"usage: symcomp cache {sub}")


def test_missing_subcommand_is_a_usage_error(tmp_path):
    result = symcomp(tmp_path, "cache")
    assert result.returncode == 2 and "required" in result.stderr


def test_list_empty(tmp_path):
    assert ok_json(symcomp(tmp_path / "c", "cache", "list", "--json")) == []
    assert "no entries" in symcomp(tmp_path / "c", "cache", "list").stdout


class TestFilled:
    pytestmark = needs_cxx()

    def test_list(self, cache_dir):
        entries = ok_json(symcomp(cache_dir, "cache", "list", "--json"))
        assert len(entries) == 2
        assert {e["description"] for e in entries} == {"returns 1", "returns 2"}
        assert all(e["problem"] is None and e["size"] > 0 for e in entries)
        text = symcomp(cache_dir, "cache", "list").stdout
        assert "NAME" in text and entries[0]["name"] in text

    def test_list_sort(self, cache_dir):
        first, second = sorted(Path(cache_dir).glob("child-*"))
        meta = json.loads((first / "meta.json").read_text())
        meta["last_used"] = time.time() + 100  # `first` is now the most recently used
        (first / "meta.json").write_text(json.dumps(meta))
        used = ok_json(symcomp(cache_dir, "cache", "list", "--json", "--sort", "used"))
        assert [e["name"] for e in used] == [second.name, first.name]
        for order in ("size", "age"):
            assert len(ok_json(symcomp(cache_dir, "cache", "list", "--json", "--sort", order))) == 2
        bad = symcomp(cache_dir, "cache", "list", "--sort", "colour")
        assert bad.returncode == 2

    def test_info(self, cache_dir):
        entry = ok_json(symcomp(cache_dir, "cache", "list", "--json"))[0]
        by_hash = ok_json(symcomp(cache_dir, "cache", "info", entry["key"][:8], "--json"))
        assert by_hash["name"] == entry["name"]
        assert Path(by_hash["source"]).read_text().startswith("// cli")
        text = symcomp(cache_dir, "cache", "info", entry["name"]).stdout
        assert "source:" in text and entry["description"] in text
        ambiguous = symcomp(cache_dir, "cache", "info", "child")
        assert ambiguous.returncode == 1 and "matches 2 entries" in ambiguous.stderr
        missing = symcomp(cache_dir, "cache", "info", "nothing-like-this")
        assert missing.returncode == 1
        assert missing.stderr.count("\n") == 1 and "no cache entry matches" in missing.stderr

    def test_stats(self, cache_dir):
        stats = ok_json(symcomp(cache_dir, "cache", "stats", "--json"))
        assert (stats["entries"], stats["compiles"], stats["misses"], stats["broken"]) == (
            2,
            2,
            2,
            0,
        )
        assert stats["entries_bytes"] > 0 and stats["dir"] == str(cache_dir)
        assert "hits:" in symcomp(cache_dir, "cache", "stats").stdout

    def test_clear(self, cache_dir):
        refused = symcomp(cache_dir, "cache", "clear")
        assert refused.returncode == 2 and "--yes" in refused.stderr
        assert refused.stderr.count("\n") == 1
        assert len(ok_json(symcomp(cache_dir, "cache", "list", "--json"))) == 2
        result = symcomp(cache_dir, "cache", "clear", "--yes")
        assert result.returncode == 0 and "removed 2" in result.stdout
        assert ok_json(symcomp(cache_dir, "cache", "list", "--json")) == []
        assert ok_json(symcomp(cache_dir, "cache", "stats", "--json"))["compiles"] == 0

    def test_prune(self, cache_dir):
        assert symcomp(cache_dir, "cache", "prune").returncode == 0
        assert len(ok_json(symcomp(cache_dir, "cache", "list", "--json"))) == 2
        time.sleep(1.1)
        result = symcomp(cache_dir, "cache", "prune", "--older-than", "1s", "--max-size", "0")
        assert result.returncode == 0 and "pruned 2" in result.stdout
        assert ok_json(symcomp(cache_dir, "cache", "list", "--json")) == []
        assert symcomp(cache_dir, "cache", "prune", "--older-than", "soon").returncode == 2

    def test_prune_max_size(self, cache_dir):
        result = symcomp(cache_dir, "cache", "prune", "--older-than", "0", "--max-size", "1")
        assert "pruned 2" in result.stdout

    def test_verify(self, cache_dir):
        assert symcomp(cache_dir, "cache", "verify").returncode == 0
        victim = sorted(Path(cache_dir).glob("child-*"))[0]
        data = (victim / "module.so").read_bytes()
        (victim / "module.so").write_bytes(data[:100])
        found = symcomp(cache_dir, "cache", "verify")
        assert found.returncode == 1 and f"BROKEN: {victim.name}" in found.stdout
        report = json.loads(symcomp(cache_dir, "cache", "verify", "--json").stdout)
        assert [b["name"] for b in report["broken"]] == [victim.name]
        assert report["checked"] == 2
        assert "expected" in report["broken"][0]["problem"]
        fixed = symcomp(cache_dir, "cache", "verify", "--fix")
        assert fixed.returncode == 0 and f"removed: {victim.name}" in fixed.stdout
        assert not victim.exists()
        assert symcomp(cache_dir, "cache", "verify").returncode == 0

    def test_unlock(self, cache_dir):
        locks = cache_dir / "locks"
        (locks / "stale-000000000000.lock").touch()
        held = filelock.FileLock(str(locks / "busy-000000000000.lock"))
        with held:
            (locks / "busy-000000000000.owner").write_text("pid 1 on here")
            result = symcomp(cache_dir, "cache", "unlock")
        assert result.returncode == 0, result.stderr
        assert "removed stale lock stale-000000000000.lock" in result.stdout
        assert "kept busy-000000000000.lock" in result.stdout
        assert (locks / "busy-000000000000.lock").exists()
        assert not (locks / "stale-000000000000.lock").exists()
        (cache_dir / "tmp" / "child-1.999999999.x").mkdir()  # a build of a dead process
        again = symcomp(cache_dir, "cache", "unlock")
        assert "removed stale build child-1.999999999.x" in again.stdout

    def test_group_writable_dir_is_refused(self, cache_dir):
        os.chmod(cache_dir, 0o775)
        result = symcomp(cache_dir, "cache", "list")
        assert result.returncode == 1
        assert f"chmod 700 {cache_dir}" in result.stderr and result.stderr.count("\n") == 1


def test_info_reports_toolchain_and_cache(tmp_path):
    info = ok_json(symcomp(tmp_path / "c", "info", "--json"))
    assert set(info) >= {"cxx", "openmp", "blas", "pycuda", "gpus", "cache"}
    assert isinstance(info["openmp"], bool) and isinstance(info["gpus"], list)
    assert info["cache"] == {"entries": 0, "bytes": 0, "error": None}
    if info["blas"] is not None:
        assert Path(info["blas"]["lib_dir"]).is_dir()
    text = symcomp(tmp_path / "c", "info").stdout
    for line in ("openmp:", "blas:", "pycuda:", "gpus:", "cache:"):
        assert line in text
