"""How fast symcomp builds and differentiates a large graph.

Builds a layered graph of about 10,000 elementwise nodes (add, mul and a tanh-like op
over four matrix inputs; each variable feeds two nodes of the next layer, so
subexpressions are shared), sums it to a scalar cost, takes ``symcomp.grad(cost, inputs)``
and reports the median of several runs. Also times ``user_source()``, the call that
records the user's source line on every new node.

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/graph_build.py
Writes benchmarks/results/graph_build.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import timeit

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import symcomp
import symcomp.tensor as st
from symcomp.graph.basic import toposort
from symcomp.graph.sourceinfo import _PKG_DIR, user_source

RESULT_PATH = os.path.join(ROOT, "benchmarks", "results", "graph_build.json")
N_INPUTS = 4


def _unary():
    """The tanh-like op: tanh where it exists, else exp, else neg (ops land over time)."""
    for name in ("tanh", "exp"):
        fn = getattr(st, name, None)
        if fn is not None:
            return name, fn
    return "neg", st.neg


def build_forward(n_nodes: int, width: int):
    """Inputs and the last layer of a ``width``-wide graph of ``n_nodes`` elementwise nodes.

    Layer 0 scales the inputs by distinct constants; node k of layer l is
    op(v[l-1][k], v[l-1][(k + 1) % width]) with op cycling through add, mul and the unary
    op (which takes only the first). Every variable feeds one or two nodes of the next
    layer, and each node has new inputs, so hash-consing never merges two of them. The
    graph is only built and differentiated, never evaluated, so values may overflow.
    """
    _, unary = _unary()
    inputs = [st.dmatrix(f"x{i}") for i in range(N_INPUTS)]
    layer = [inputs[k % N_INPUTS] * (k + 1.0) for k in range(width)]
    built = width
    depth = 0
    while built < n_nodes:
        depth += 1
        new = []
        for k in range(min(width, n_nodes - built)):
            a, b = layer[k], layer[(k + 1) % len(layer)]
            kind = (depth + k) % 3
            if kind == 0:
                new.append(a + b)
            elif kind == 1:
                new.append(a * b)
            else:
                new.append(unary(a))
            built += 1
        layer = new + layer[len(new) :]
    return inputs, layer


def scalar_cost(layer):
    """A scalar to differentiate: the sum of the layer's sums (None without st.sum)."""
    if not hasattr(st, "sum"):
        return None
    total = st.sum(layer[0])
    for var in layer[1:]:
        total = total + st.sum(var)
    return total


def one_run(n_nodes: int, width: int) -> dict:
    """Timings and node counts of one build (+ grad), then the leak check."""
    gc.collect()
    run = _measure(n_nodes, width)  # its graph dies when it returns
    run["live_nodes_after"] = live_nodes_after_gc()
    return run


def _measure(n_nodes: int, width: int) -> dict:
    t0 = time.perf_counter()
    inputs, layer = build_forward(n_nodes, width)
    cost = scalar_cost(layer)
    t_build = time.perf_counter() - t0
    outputs = [cost] if cost is not None else layer
    forward = toposort(outputs)
    run = {"build_s": t_build, "forward_nodes": len(forward)}
    grad = getattr(symcomp, "grad", None)
    if grad is not None and cost is not None:
        t0 = time.perf_counter()
        grads = grad(cost, inputs)
        run["grad_s"] = time.perf_counter() - t0
        backward = toposort(grads)
        fwd = set(forward)
        run["backward_nodes"] = len(backward)
        run["new_backward_nodes"] = sum(1 for n in backward if n not in fwd)
    return run


def live_nodes_after_gc() -> int:
    """Apply nodes still alive after the run's graph is dropped and gc runs once.

    Should be about 0: a dropped graph must be freed by one collection. A large number
    means the hash-consing table keeps dead graphs alive (one layer per collection).
    """
    from symcomp.graph import apply

    gc.collect()
    return len(getattr(apply, "_node_cache", ()))


def _nested_caller(depth: int):
    """A function calling user_source() from ``depth`` frames that count as symcomp's own
    (compiled with a filename inside the package), as Variable creation does."""
    lines = ["def f0():", "    return user_source()"]
    for i in range(1, depth + 1):
        lines += [f"def f{i}():", f"    return f{i - 1}()"]
    namespace = {"user_source": user_source}
    code = compile("\n".join(lines), os.path.join(_PKG_DIR, "_bench_frames.py"), "exec")
    exec(code, namespace)  # noqa: S102  (our own fixed source, compiled above)
    return namespace[f"f{depth}"]


def time_user_source(calls: int = 100_000) -> dict:
    """Microseconds per user_source() call, directly and from 6 symcomp frames deep
    (about how deep ``x * y`` is when its node records the line)."""
    direct = min(timeit.repeat(user_source, number=calls, repeat=3)) / calls
    nested = _nested_caller(6)
    deep = min(timeit.repeat(nested, number=calls, repeat=3)) / calls
    base = _nested_caller(6).__globals__
    base["user_source"] = lambda: None  # the same call chain without the frame walk
    chain = min(timeit.repeat(base["f6"], number=calls, repeat=3)) / calls
    return {
        "calls": calls,
        "direct_us": direct * 1e6,
        "nested6_us": deep * 1e6,
        "nested6_walk_only_us": max(deep - chain, 0.0) * 1e6,
    }


def summarize(runs: list[dict]) -> dict:
    out = {"runs": len(runs)}
    for key in runs[0]:
        out[key] = statistics.median(r[key] for r in runs)
    out["build_us_per_node"] = out["build_s"] / out["forward_nodes"] * 1e6
    if "grad_s" in out:
        out["grad_us_per_node"] = out["grad_s"] / max(out["new_backward_nodes"], 1) * 1e6
    return out


def print_table(result: dict) -> None:
    s = result["summary"]
    src = result["user_source"]
    rows = [
        ("forward nodes", f"{s['forward_nodes']:.0f}"),
        ("build (s)", f"{s['build_s']:.4f}"),
        ("build per node (us)", f"{s['build_us_per_node']:.2f}"),
    ]
    if "grad_s" in s:
        rows += [
            ("backward graph nodes", f"{s['backward_nodes']:.0f}"),
            ("  of which new", f"{s['new_backward_nodes']:.0f}"),
            ("grad (s)", f"{s['grad_s']:.4f}"),
            ("grad per new node (us)", f"{s['grad_us_per_node']:.2f}"),
        ]
    else:
        rows.append(("grad", "skipped: " + result["grad_skipped"]))
    rows += [
        ("live nodes after gc", f"{s['live_nodes_after']:.0f}"),
        ("user_source direct (us/call)", f"{src['direct_us']:.3f}"),
        ("user_source 6 deep (us/call)", f"{src['nested6_us']:.3f}"),
        ("  frame walk share (us/call)", f"{src['nested6_walk_only_us']:.3f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"graph_build: median of {s['runs']} runs, unary op {result['unary_op']}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>12}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000, help="elementwise nodes")
    parser.add_argument("--width", type=int, default=50, help="nodes per layer")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=RESULT_PATH, help="JSON file to write")
    args = parser.parse_args(argv)

    runs = [one_run(args.nodes, args.width) for _ in range(args.runs)]
    result = {
        "benchmark": "graph_build",
        "nodes_requested": args.nodes,
        "width": args.width,
        "unary_op": _unary()[0],
        "summary": summarize(runs),
        "per_run": runs,
        "user_source": time_user_source(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "symcomp": symcomp.__version__,
        "machine": platform.machine(),
    }
    if "grad_s" not in result["summary"]:
        missing = [
            n
            for n, ok in (
                ("symcomp.grad", hasattr(symcomp, "grad")),
                ("st.sum", hasattr(st, "sum")),
            )
            if not ok
        ]
        result["grad_skipped"] = f"{', '.join(missing)} not available yet"
    print_table(result)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {os.path.relpath(args.out)}")
    return result


if __name__ == "__main__":
    main()
