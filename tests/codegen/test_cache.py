"""The compile cache in one process: keys, memo, entries, verification, modes, pruning."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from symcomp.codegen import cache, cache_store
from symcomp.codegen.cache import CacheMissError, CacheSecurityError, CacheWarning, get_module
from symcomp.codegen.cache_store import Store
from symcomp.codegen.toolchain import CompileError, find_compiler
from symcomp.config import change_flags
from tests.codegen.ext_sources import REPO_ROOT, child_env, module_source, needs_cxx, run_child

pytestmark = needs_cxx()


@pytest.fixture
def cache_dir(tmp_path):
    """A fresh cache directory for one test, and an empty in-process memo."""
    root = tmp_path / "cache"
    cache.clear_memory()
    with change_flags(cache_dir=str(root), cache="on", never_compile=False):
        yield root
    cache.clear_memory()


def entries(root: Path) -> list[Path]:
    return Store.open(root).entry_dirs()


def test_compile_then_memo_without_disk_access(cache_dir):
    module, entry = get_module(module_source(3, "memo"), "memo", find_compiler(), description="3")
    assert module.value() == 3
    assert entry.origin == "compiled"
    assert entry.path.parent == cache_dir
    assert entry.path.name == f"memo-{entry.key[:12]}"
    assert {p.name for p in entry.path.iterdir()} == {"source.cpp", "module.so", "meta.json"}
    shutil.rmtree(cache_dir)  # the memo must not look at the disk
    again, entry2 = get_module(module_source(3, "memo"), "memo", find_compiler())
    assert again is module and entry2 is entry


def test_cache_dir_deleted_while_running(cache_dir):
    get_module(module_source(2, "gone"), "gone", find_compiler())
    shutil.rmtree(cache_dir)
    module, entry = get_module(module_source(3, "gone"), "gone", find_compiler())
    assert module.value() == 3 and entry.path.parent == cache_dir
    assert cache_dir.stat().st_mode & 0o777 == 0o700


def test_meta(cache_dir):
    source = module_source(4, "meta")
    _, entry = get_module(source, "meta", find_compiler(), description="returns four")
    meta = json.loads((entry.path / "meta.json").read_text())
    assert meta == entry.meta
    assert meta["name"] == "meta" and meta["description"] == "returns four"
    assert meta["key"] == entry.key
    assert meta["created"] <= meta["last_used"] <= time.time()
    assert meta["compile_seconds"] > 0
    assert meta["module_size"] == (entry.path / "module.so").stat().st_size
    assert (entry.path / "source.cpp").read_text() == source


def test_new_process_hits_the_disk_entry(cache_dir):
    first = run_child(cache_dir, 5, "disk")
    second = run_child(cache_dir, 5, "disk")
    assert (first["origin"], second["origin"]) == ("compiled", "disk")
    assert first["path"] == second["path"] and second["value"] == 5
    stats = Store.open(cache_dir).read_stats()
    assert stats["compiles"] == 1 and stats["hits"] == 1


def test_keys_are_deterministic_across_processes(cache_dir):
    source = module_source(1, "key")
    key = cache.module_key(source, "key", find_compiler())
    code = (
        "from symcomp.codegen import cache; from symcomp.codegen.toolchain import find_compiler;"
        "from tests.codegen.ext_sources import module_source;"
        "print(cache.module_key(module_source(1, 'key'), 'key', find_compiler()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=child_env(cache_dir),
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert out == key
    assert cache.module_key(source + " ", "key", find_compiler()) != key
    assert cache.module_key(source, "key", find_compiler(), link_flags=["-lm"]) != key
    with change_flags(cxxflags="-O1"):
        assert cache.module_key(source, "key", find_compiler()) != key


def test_two_modules_two_entries(cache_dir):
    a, _ = get_module(module_source(1, "a"), "two", find_compiler())
    b, _ = get_module(module_source(2, "b"), "two", find_compiler())
    assert (a.value(), b.value()) == (1, 2)
    assert len(entries(cache_dir)) == 2


def test_truncated_module_is_rebuilt_with_a_warning(cache_dir):
    first = run_child(cache_dir, 6, "trunc")
    module = Path(first["path"]) / "module.so"
    data = module.read_bytes()
    module.write_bytes(data[: len(data) // 3])
    assert Store.open(cache_dir).entries()[0].problem
    second = run_child(cache_dir, 6, "trunc")
    assert second["value"] == 6 and second["origin"] == "compiled"
    assert any("broken" in w and "rebuilding" in w for w in second["warnings"])
    assert [e.problem for e in Store.open(cache_dir).entries()] == [None]
    assert Store.open(cache_dir).read_stats()["rebuilt"] == 1


@pytest.mark.parametrize("damage", ["meta", "hash", "missing"])
def test_other_damage_is_rebuilt(cache_dir, damage):
    _, entry = get_module(module_source(8, damage), "damage", find_compiler())
    cache.clear_memory()
    if damage == "meta":
        (entry.path / "meta.json").write_text("{not json")
    elif damage == "hash":
        meta = json.loads((entry.path / "meta.json").read_text())
        meta["module_sha256"] = "0" * 64
        (entry.path / "meta.json").write_text(json.dumps(meta))
    else:
        (entry.path / "module.so").unlink()
    with pytest.warns(CacheWarning, match="rebuilding"):
        module, again = get_module(module_source(8, damage), "damage", find_compiler())
    assert module.value() == 8 and again.origin == "compiled"


def test_compile_error_keeps_the_source(cache_dir):
    with pytest.raises(CompileError) as info:
        get_module("this is not C++;\n", "broken", find_compiler())
    kept = info.value.source_path
    assert kept.parent == cache_dir / "failed" and kept.read_text() == "this is not C++;\n"
    assert str(kept) in str(info.value)
    assert entries(cache_dir) == [] and list((cache_dir / "tmp").iterdir()) == []


def test_never_compile(cache_dir):
    with change_flags(never_compile=True):
        with pytest.raises(CacheMissError, match="never_compile"):
            get_module(module_source(9, "never"), "never", find_compiler())
    get_module(module_source(9, "never"), "never", find_compiler())
    cache.clear_memory()
    with change_flags(never_compile=True):
        module, entry = get_module(module_source(9, "never"), "never", find_compiler())
    assert module.value() == 9 and entry.origin == "disk"


def test_cache_off_writes_nothing(cache_dir):
    with change_flags(cache="off"):
        module, entry = get_module(module_source(10, "off"), "off", find_compiler())
        again, _ = get_module(module_source(10, "off"), "off", find_compiler())
    assert module.value() == 10 and again is module
    assert not cache_dir.exists()
    assert cache_dir not in entry.path.parents


def test_group_writable_cache_dir_is_refused(cache_dir):
    get_module(module_source(11, "perm"), "perm", find_compiler())
    cache.clear_memory()
    os.chmod(cache_dir, 0o770)
    cache._open_store.cache_clear()
    with pytest.raises(CacheSecurityError, match=f"chmod 700 {cache_dir}"):
        get_module(module_source(11, "perm"), "perm", find_compiler())
    os.chmod(cache_dir, 0o700)
    assert get_module(module_source(11, "perm"), "perm", find_compiler())[0].value() == 11


def test_other_writable_entry_is_refused(cache_dir):
    _, entry = get_module(module_source(12, "entry"), "entry", find_compiler())
    cache.clear_memory()
    os.chmod(entry.path, 0o777)
    with pytest.raises(CacheSecurityError, match="chmod 700"):
        get_module(module_source(12, "entry"), "entry", find_compiler())


def test_cache_dir_is_created_private(cache_dir):
    get_module(module_source(13, "mode"), "mode", find_compiler())
    assert cache_dir.stat().st_mode & 0o777 == 0o700


def test_read_only_cache_dir(cache_dir, monkeypatch):
    _, stored = get_module(module_source(14, "ro"), "ro", find_compiler())
    cache.clear_memory()
    cache._open_store.cache_clear()
    # Running as root makes chmod meaningless, so the store is told it cannot write.
    real_access = os.access
    monkeypatch.setattr(
        cache_store.os, "access", lambda p, m: False if Path(p) == cache_dir else real_access(p, m)
    )
    cache._warned.clear()
    with pytest.warns(CacheWarning, match="read-only"):
        module, hit = get_module(module_source(14, "ro"), "ro", find_compiler())
        new, built = get_module(module_source(15, "ro2"), "ro2", find_compiler())
    assert (module.value(), hit.origin, hit.path) == (14, "disk", stored.path)
    assert (new.value(), built.origin) == (15, "compiled")
    assert cache_dir not in built.path.parents
    assert len(entries(cache_dir)) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        get_module(module_source(16, "ro3"), "ro3", find_compiler())
    cache._open_store.cache_clear()


def test_prune_by_age_and_size(cache_dir):
    paths = [
        get_module(module_source(v, "prune"), f"p{v}", find_compiler())[1].path for v in range(3)
    ]
    store = Store.open(cache_dir)
    for age, path in zip([300, 200, 100], paths):  # p0 used longest ago
        meta = json.loads((path / "meta.json").read_text())
        meta["last_used"] = time.time() - age
        store.write_meta(path, meta)
    removed = store.prune(older_than=250, max_size=None)
    assert removed == [paths[0].name]
    size = max(e.size for e in store.entries())  # entries differ by a few bytes
    removed = store.prune(older_than=None, max_size=size + 1)
    assert removed == [paths[1].name]
    assert [e.path for e in store.entries()] == [paths[2]]


def test_pickled_objects(cache_dir):
    calls = []

    def build():
        calls.append(1)
        return {"graph": [1, 2, 3]}

    assert cache.get_pickled(["g", "opts"], build, name="graph") == {"graph": [1, 2, 3]}
    assert cache.get_pickled(["g", "opts"], build, name="graph") == {"graph": [1, 2, 3]}
    assert len(calls) == 1
    cache.clear_memory()
    assert cache.get_pickled(["g", "opts"], build, name="graph") == {"graph": [1, 2, 3]}
    assert len(calls) == 1  # from disk
    [path] = Store.open(cache_dir).pickled_files()
    path.write_bytes(path.read_bytes()[:-3])
    cache.clear_memory()
    with pytest.warns(CacheWarning, match="broken"):
        assert cache.get_pickled(["g", "opts"], build, name="graph") == {"graph": [1, 2, 3]}
    assert len(calls) == 2
    cache.put_pickled(["g", "opts"], "replaced", name="graph")
    cache.clear_memory()
    assert cache.get_pickled(["g", "opts"], build, name="graph") == "replaced"
    stats = Store.open(cache_dir).read_stats()
    assert stats["pickled_hits"] == 2 and stats["pickled_misses"] == 2


def test_pickled_objects_cache_off(cache_dir):
    with change_flags(cache="off"):
        assert cache.get_pickled(["k"], lambda: 42) == 42
        assert cache.get_pickled(["k"], lambda: 43) == 42
    assert not cache_dir.exists()


def test_extra_objects_and_link_flags(cache_dir, tmp_path):
    helper = tmp_path / "helper.cpp"
    helper.write_text('extern "C" long helper_value() { return 31; }\n')
    obj = tmp_path / "helper.o"
    compiler = find_compiler()
    subprocess.run([compiler.path, "-fPIC", "-c", str(helper), "-o", str(obj)], check=True)
    source = (
        module_source(0, "objects")
        .replace("PyLong_FromLong(0)", "PyLong_FromLong(helper_value())")
        .replace(
            "static PyObject* value", 'extern "C" long helper_value();\nstatic PyObject* value'
        )
    )
    module, entry = get_module(source, "objects", compiler, extra_objects=[obj], link_flags=["-lm"])
    assert module.value() == 31
    assert entry.meta["flags"][-2:] == [str(obj), "-lm"]
    assert get_module(source, "objects", compiler, [obj], ["-lm"])[0] is module
    other = cache.module_key(source, "objects", compiler, [obj], ["-lm"])
    obj.write_bytes(obj.read_bytes() + b"\0")  # a changed object file changes the key
    assert cache.module_key(source, "objects", compiler, [obj], ["-lm"]) != other


def test_size_and_duration_flags():
    from symcomp.config import parse_duration, parse_size

    assert parse_size("2GB") == 2 * 1024**3 and parse_size("500M") == 500 * 1024**2
    assert parse_size(0) == 0 and parse_size("1536") == 1536
    assert parse_duration("30d") == 30 * 86400 and parse_duration("90m") == 5400
    assert parse_duration(1.5) == 1.5
    for bad in ("2XB", "-1", "", True):
        with pytest.raises(ValueError):
            parse_size(bad)
    with pytest.raises(ValueError):
        parse_duration("soon")
    with pytest.raises(ValueError, match="cache_max_size"):
        change_flags(cache_max_size="lots")
