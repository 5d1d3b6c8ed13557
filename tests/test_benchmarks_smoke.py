"""benchmarks/run.py runs end to end (tiny sizes; no timing is asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_run_quick_w2_w4(tmp_path):
    out = tmp_path / "run.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_")}
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            "--only",
            "W2,W4",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "W2" in proc.stdout and "W4" in proc.stdout
    data = json.loads(out.read_text())
    workloads = {row["workload"] for row in data["rows"]}
    assert workloads == {"W2", "W4"}
    assert all(row["seconds"] > 0 for row in data["rows"])


def test_run_rejects_unknown_workload():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--only", "W9"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode != 0 and "unknown workloads" in proc.stderr
