"""How rewriting time grows with graph size: random elementwise/reduction graphs of 1k,
10k and 50k nodes through the default pipeline (fast_run), median of a few runs.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/rewrite_scaling.py
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # run from a checkout

import symcomp.tensor as st
from symcomp.graph import toposort
from symcomp.optimize.pipeline import rewrite


def random_graph(n_nodes: int, seed: int = 0):
    """A random graph of about ``n_nodes`` nodes over 8 vector inputs: unary and binary
    elementwise ops (including forms the stabilize pass rewrites) and some reductions."""
    rng = np.random.default_rng(seed)
    inputs = [st.dvector(f"x{i}") for i in range(8)]
    pool = list(inputs)
    unary = [st.exp, st.tanh, st.neg, lambda v: st.log(1 + v * v), st.sigmoid]
    binary = [st.add, st.mul, st.sub, lambda a, b: a * 2.0 + b]
    # Most picks draw on recent values, so nearly every node ends up used by the outputs.
    while len(pool) < n_nodes // 2:
        for _ in range(200):
            if rng.random() < 0.45:
                v = unary[rng.integers(len(unary))](pool[-1 - rng.integers(min(len(pool), 20))])
            else:
                a, b = len(pool) - 1 - rng.integers(min(len(pool), 20), size=2)
                v = binary[rng.integers(len(binary))](pool[a], pool[b])
            if rng.random() < 0.02:
                v = v - v.sum()
            pool.append(v)
    outputs = pool[-50:]
    return inputs, outputs


def measure(n_nodes: int, runs: int) -> dict:
    inputs, outputs = random_graph(n_nodes)
    size = len(toposort(outputs, blockers=inputs))
    times, cpu = [], []
    after = size
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        new, report = rewrite(inputs, outputs)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        after = report.nodes_after
    # CPU seconds too: on a shared, loaded machine wall time mostly measures the others.
    return {
        "nodes": size,
        "nodes_after": after,
        "seconds": statistics.median(times),
        "us_per_node": statistics.median(times) / size * 1e6,
        "cpu_seconds": statistics.median(cpu),
        "load_avg_1min": os.getloadavg()[0],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/rewrite_scaling.json")
    args = parser.parse_args(argv)
    rows = [measure(int(n), args.runs) for n in args.sizes.split(",")]
    print(f"{'nodes':>8} {'after':>8} {'seconds':>9} {'us/node':>9} {'cpu s':>9} {'load':>6}")
    for r in rows:
        print(
            f"{r['nodes']:>8} {r['nodes_after']:>8} {r['seconds']:>9.3f} "
            f"{r['us_per_node']:>9.1f} {r['cpu_seconds']:>9.3f} {r['load_avg_1min']:>6.1f}"
        )
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
