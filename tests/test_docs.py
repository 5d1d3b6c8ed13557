"""Every ```python block in README.md and docs/*.md runs as written (blocks in one file
run in order, sharing a namespace, so later blocks may use earlier names)."""

import pathlib
import re
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.parametrize("path", [f for f in FILES if _blocks(f)], ids=lambda p: p.name)
def test_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from symcomp.config import config

    saved = dict(config._values)  # a document may set flags (README sets floatX): undo after
    try:
        _run_blocks(path)
    finally:
        config._values.clear()
        config._values.update(saved)


def _run_blocks(path):
    namespace: dict = {"__name__": "__docs__"}
    for k, block in enumerate(_blocks(path)):
        if ">>> " in block:  # doctest-style: run the statements, outputs are illustrations
            block = "\n".join(
                line[4:] for line in block.splitlines() if line.startswith((">>> ", "... "))
            )
        if "graph_image(" in block and shutil.which("dot") is None:
            continue  # needs Graphviz's dot program, which this machine lacks
        try:
            exec(compile(block, f"{path.name}[block {k}]", "exec"), namespace)
        except Exception as err:
            raise AssertionError(f"{path.name} block {k} failed: {err!r}\n{block}") from err
