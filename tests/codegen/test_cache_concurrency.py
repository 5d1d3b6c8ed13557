"""The compile cache shared by processes: one compile for many, and killed compiles."""

from __future__ import annotations

import os
import signal
import time

import pytest

from symcomp.codegen.cache_store import Store
from tests.codegen.ext_sources import finish_child, needs_cxx, run_child, start_child

pytestmark = [*needs_cxx(), pytest.mark.slow]


@pytest.mark.parametrize("processes", [4, 16])
def test_processes_started_at_once_compile_once(tmp_path, processes):
    cache_dir, barrier = tmp_path / "cache", tmp_path / "barrier"
    barrier.mkdir()
    children = [start_child(cache_dir, 21, "race", barrier, light=True) for _ in range(processes)]
    deadline = time.monotonic() + 120
    while len(list(barrier.glob("ready-*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.01)
    (barrier / "go").touch()
    results = [finish_child(child) for child in children]
    assert [r["value"] for r in results] == [21] * processes
    assert sorted(r["origin"] for r in results) == ["compiled"] + ["disk"] * (processes - 1)
    store = Store.open(cache_dir)
    assert [e.problem for e in store.entries()] == [None]
    assert store.read_stats()["compiles"] == 1
    assert store.read_stats()["hits"] == processes - 1
    assert list((cache_dir / "tmp").iterdir()) == []


def test_killed_compile_leaves_no_broken_entry(tmp_path):
    cache_dir = tmp_path / "cache"
    slow = start_child(cache_dir, 22, "killed", light=True, compile_delay="60")
    owner = None
    deadline = time.monotonic() + 60
    while owner is None and time.monotonic() < deadline:
        owner = (
            next((cache_dir / "locks").glob("child-*.owner"), None) if cache_dir.exists() else None
        )
        time.sleep(0.02)
    assert owner is not None, "the slow child never took the compile lock"
    os.kill(slow.pid, signal.SIGKILL)  # killed while holding the lock, mid-compile
    slow.wait()
    start = time.monotonic()
    result = run_child(cache_dir, 22, "killed", light=True)
    elapsed = time.monotonic() - start
    assert result == {**result, "value": 22, "origin": "compiled"}
    assert elapsed < 20  # the lock died with its holder: no waiting for a timeout
    store = Store.open(cache_dir)
    assert [e.problem for e in store.entries()] == [None]
    assert list((cache_dir / "tmp").iterdir()) == []  # the killed build was cleaned up
    print(f"next process after SIGKILL finished in {elapsed:.2f} s")


def test_light_child_computes_the_same_key(tmp_path):
    # The light children above must exercise the same keys as a full import of symcomp.
    cache_dir = tmp_path / "cache"
    assert run_child(cache_dir, 23, "same", light=True)["origin"] == "compiled"
    assert run_child(cache_dir, 23, "same")["origin"] == "disk"
