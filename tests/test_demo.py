"""`symcomp demo`: the public API example trains to high accuracy."""

import io

from symcomp.demo import run_demo


def test_demo_trains_in_py_mode():
    out = io.StringIO()
    result = run_demo("py", out=out)
    assert result.accuracy >= 0.95
    assert result.loss_end < result.loss_start
    assert "accuracy" in out.getvalue()
