"""One training step (forward + backward + SGD update) of a small convnet: symcomp native
against a NumPy im2col implementation, and torch eager when importable.

The network: input 32x1x28x28, 16 3x3 filters (valid, cross-correlation), + bias, ReLU,
2x2 max pooling, dense 2704 -> 10, softmax cross-entropy (mean over the batch). Every
implementation's cost and gradients are first checked against NumPy's on the same
parameters; the table shows the median step time after warm-up and the ratio against NumPy.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/conv_step.py [--quick]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symcomp as sc  # noqa: E402
import symcomp.tensor as st  # noqa: E402

N, C, H, W, F, K, CLASSES = 32, 1, 28, 28, 16, 3, 10
LR = 0.01


def make_problem(dtype: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    ho, wo = H - K + 1, W - K + 1
    params = {
        "w1": (rng.standard_normal((F, C, K, K)) * 0.3).astype(dtype),
        "b1": np.zeros(F, dtype),
        "w2": (rng.standard_normal((F * (ho // 2) * (wo // 2), CLASSES)) * 0.01).astype(dtype),
        "b2": np.zeros(CLASSES, dtype),
    }
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    t = rng.integers(0, CLASSES, N).astype(np.int32)
    return params, x, t


# --- NumPy: im2col through sliding windows, NHWC inside ---------------------------------


def numpy_grads(p, x, t):
    """(cost, {name: gradient}) of the network, by hand."""
    n = x.shape[0]
    cols = np.lib.stride_tricks.sliding_window_view(x, (K, K), axis=(2, 3))  # N,C,Ho,Wo,K,K
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n, H - K + 1, W - K + 1, C * K * K)
    w1 = p["w1"].reshape(F, C * K * K)
    pre = cols @ w1.T + p["b1"]  # N, Ho, Wo, F
    h = np.maximum(pre, 0)
    ho, wo = h.shape[1] // 2, h.shape[2] // 2
    hw = h[:, : 2 * ho, : 2 * wo].reshape(n, ho, 2, wo, 2, F)
    pooled = hw.max(axis=(2, 4))  # N, ho, wo, F
    flat = pooled.transpose(0, 3, 1, 2).reshape(n, -1)  # NCHW order, as the symbolic net
    z = flat @ p["w2"] + p["b2"]
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    prob = e / e.sum(axis=1, keepdims=True)
    cost = -np.log(prob[np.arange(n), t]).mean()
    dz = prob
    dz[np.arange(n), t] -= 1
    dz /= n
    g = {"w2": flat.T @ dz, "b2": dz.sum(0)}
    dflat = (dz @ p["w2"].T).reshape(n, F, ho, wo).transpose(0, 2, 3, 1)
    mask = hw == pooled[:, :, None, :, None, :]
    dh = np.zeros_like(h)
    dh[:, : 2 * ho, : 2 * wo] = (mask * dflat[:, :, None, :, None, :]).reshape(n, 2 * ho, 2 * wo, F)
    dpre = dh * (pre > 0)
    g["b1"] = dpre.sum(axis=(0, 1, 2))
    g["w1"] = (dpre.reshape(-1, F).T @ cols.reshape(-1, C * K * K)).reshape(F, C, K, K)
    return cost, g


def numpy_step(p, x, t):
    cost, g = numpy_grads(p, x, t)
    for name, grad in g.items():
        p[name] -= LR * grad
    return cost


# --- symcomp ---------------------------------------------------------------------------


def symcomp_net(params, dtype):
    shared = {k: sc.shared(v.copy(), name=k) for k, v in params.items()}
    x = st.tensor(dtype, (None, C, H, W), name="x")
    t = st.ivector("t")
    conv = st.nnet.conv2d(x, shared["w1"], filter_flip=False)
    h = st.nnet.relu(conv + shared["b1"].dimshuffle("x", 0, "x", "x"))
    pooled = st.nnet.max_pool_2d(h, (2, 2))
    flat = pooled.reshape((x.shape[0], -1))
    prob = st.nnet.softmax(flat @ shared["w2"] + shared["b2"])
    cost = st.mean(st.nnet.crossentropy_categorical_1hot(prob, t))
    names = list(shared)
    grads = sc.grad(cost, [shared[k] for k in names])
    return shared, x, t, cost, names, grads


def build_symcomp(params, dtype):
    shared, x, t, cost, names, grads = symcomp_net(params, dtype)
    check = sc.function([x, t], [cost, *grads], mode="native")
    updates = [(shared[k], shared[k] - LR * g) for k, g in zip(names, grads)]
    step = sc.function([x, t], cost, updates=updates, mode="native")
    return check, step, names, step.runner.fallback_nodes


# --- torch (optional) --------------------------------------------------------------------


def build_torch(params, dtype):
    import torch
    import torch.nn.functional as tf

    tp = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}

    def grads(x, t):
        for v in tp.values():
            v.grad = None
        h = tf.relu(tf.conv2d(x, tp["w1"], tp["b1"]))
        z = tf.max_pool2d(h, 2).reshape(x.shape[0], -1) @ tp["w2"] + tp["b2"]
        cost = tf.cross_entropy(z, t)
        cost.backward()
        return cost

    def step(x, t):
        cost = grads(x, t)
        with torch.no_grad():
            for v in tp.values():
                v -= LR * v.grad
        return cost

    return tp, grads, step, torch


# --- timing ------------------------------------------------------------------------------


def median_seconds(fn, repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _close(a, b, dtype) -> bool:
    tol = 1e-4 if dtype == "float32" else 1e-9
    return np.allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max())))


def run(dtype: str, repeat: int) -> list[dict]:
    params, x, t = make_problem(dtype)
    ref_cost, ref_grads = numpy_grads({k: v.copy() for k, v in params.items()}, x, t)
    rows = []

    numpy_params = {k: v.copy() for k, v in params.items()}
    rows.append(
        {
            "impl": "numpy (im2col)",
            "seconds": median_seconds(lambda: numpy_step(numpy_params, x, t), repeat),
        }
    )

    for openmp in (True, False):
        with sc.config.change_flags(openmp=openmp):
            start = time.perf_counter()
            check, step, names, fallbacks = build_symcomp(params, dtype)
            compile_s = time.perf_counter() - start
        cost, *grads = check(x, t)
        ok = _close(cost, ref_cost, dtype) and all(
            _close(g, ref_grads[k], dtype) for k, g in zip(names, grads)
        )
        if not ok:
            raise SystemExit("symcomp's cost or gradients differ from NumPy's")
        rows.append(
            {
                "impl": "symcomp native" + ("" if openmp else " (no OpenMP)"),
                "seconds": median_seconds(functools.partial(step, x, t), repeat),
                "compile_s": compile_s,
                "python_fallback_nodes": [str(n) for n in fallbacks],
            }
        )

    try:
        tp, tgrads, tstep, torch = build_torch(params, dtype)
    except ImportError:
        return rows
    xt, tt = torch.from_numpy(x), torch.from_numpy(t.astype(np.int64))
    cost = tgrads(xt, tt)
    if not (
        _close(cost.item(), ref_cost, dtype)
        and all(_close(tp[k].grad.numpy(), ref_grads[k], dtype) for k in names)
    ):
        raise SystemExit("torch's cost or gradients differ from NumPy's")
    rows.append(
        {
            "impl": f"torch {torch.__version__} eager",
            "seconds": median_seconds(lambda: tstep(xt, tt), repeat),
        }
    )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke run)")
    parser.add_argument("--repeat", type=int, default=50, help="timed steps per row")
    parser.add_argument("--dtype", default="float32,float64", help="comma-separated dtypes")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "conv_step.json"))
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else args.repeat
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"convnet step: input {N}x{C}x{H}x{W}, {F} {K}x{K} filters, ReLU, 2x2 max pool, "
        f"dense to {CLASSES}, softmax cross-entropy; median of {repeat} steps after warm-up"
    )
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} at start\n")
    print(f"{'dtype':8} {'implementation':26} {'ms/step':>9} {'vs numpy':>9}")
    results = []
    for dtype in args.dtype.split(","):
        rows = run(dtype, repeat)
        base = rows[0]["seconds"]
        for row in rows:
            row["dtype"] = dtype
            row["ratio_vs_numpy"] = base / row["seconds"]
            print(
                f"{dtype:8} {row['impl']:26} {row['seconds'] * 1e3:9.2f} "
                f"{row['ratio_vs_numpy']:8.2f}x"
            )
            results.append(row)
    print("\n(vs numpy: NumPy's time / this time; higher is faster)")
    fallbacks = sorted({n for row in results for n in row.get("python_fallback_nodes", [])})
    if fallbacks:
        print("note: symcomp nodes running their Python perform: " + "; ".join(fallbacks))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "load_average_start": load,
        "repeat": repeat,
    }
    out.write_text(json.dumps({"meta": meta, "rows": results}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
