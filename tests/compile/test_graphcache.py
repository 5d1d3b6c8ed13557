"""The rewritten-graph cache: keys, flat dump/load, and a new process skipping rewrites."""

import os
import subprocess
import sys
import textwrap

import numpy as np

import symcomp as sc
import symcomp.tensor as st
from symcomp.compile.graphcache import dump_graph, graph_key, load_graph
from symcomp.optimize.mode import Mode

SCRIPT = textwrap.dedent(
    """
    import numpy as np, symcomp as sc, symcomp.tensor as st
    x = st.dvector("x")
    W = sc.shared(np.full(50_000, 2.0), name="W")
    f = sc.function([x], st.log(1 + x * W[:3]).sum(), updates=[(W, W * 2)], mode="py")
    print(f.rewrite_report.from_cache, float(f(np.ones(3))))
    """
)


def test_new_process_skips_rewriting(tmp_path):
    env = dict(os.environ, SYMCOMP_CACHE_DIR=str(tmp_path / "cache"))
    runs = [
        subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs[0][0] == "False" and runs[1][0] == "True"
    assert runs[0][1] == runs[1][1]
    assert abs(float(runs[0][1]) - 3 * np.log(3.0)) < 1e-12
    # shared values are never stored in the cache: the 400 kB array is not in any file
    sizes = [p.stat().st_size for p in (tmp_path / "cache").rglob("*.pkl")]
    assert sizes and max(sizes) < 50_000


def test_key_depends_on_structure_and_options():
    x, y = st.dvector("x"), st.dvector("y")
    k1 = graph_key([x, y], [x + y], ("fast_run",))
    assert k1 == graph_key([x, y], [x + y], ("fast_run",))
    assert k1 != graph_key([x, y], [x * y], ("fast_run",))
    assert k1 != graph_key([x, y], [x + y], ("fast_compile",))
    assert k1 != graph_key([x, y], [x + 2.0], ("fast_run",))
    assert graph_key([x], [x + 2.0], ()) != graph_key([x], [x + 3.0], ())


def test_dump_load_deep_graph_without_recursion():
    x = st.dvector("x")
    out = x
    for _ in range(5000):
        out = out * 1.0001 + 0.5
    y = st.dvector("y")
    (loaded,) = load_graph(dump_graph([x], [out]), [y])
    f = sc.function([y], loaded, mode=Mode(linker="py", optimizer=None))
    g = sc.function([x], out, mode=Mode(linker="py", optimizer=None))
    np.testing.assert_allclose(f(np.ones(2)), g(np.ones(2)))


def test_same_process_hit_returns_equal_results():
    x = st.dvector("x")
    W = sc.shared(np.ones(3), name="W")
    out = st.exp(x * W).sum()
    f1 = sc.function([x], out, mode="py")
    f2 = sc.function([x], out, mode="py")
    assert f2.rewrite_report.from_cache
    assert f1(np.ones(3)) == f2(np.ones(3))
