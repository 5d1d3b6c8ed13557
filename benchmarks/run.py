"""The workloads of issue 4 (W1-W8) for symcomp, NumPy and, when importable, numexpr, JAX
and PyTensor: medians of repeated runs after warm-up, a table with ratios against NumPy, and
JSON in benchmarks/results/run.json. STREAM (benchmarks/stream.c) gives the memory
bandwidth ceiling.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run.py [--quick] [--only W1,W3]

symcomp runs in mode="native"; where that is not available (no compiler, or the native
backend fails on a workload) it runs mode="py" and the table says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symcomp as sc  # noqa: E402
import symcomp.tensor as st  # noqa: E402

WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8")
ROWS: list[dict] = []
NOTES: list[str] = []


def bench(fn, repeat: int, warmup: int = 2) -> float:
    """Median seconds of one call of ``fn`` over ``repeat`` runs, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def record(workload: str, case: str, impl: str, seconds: float, **extra) -> None:
    ROWS.append({"workload": workload, "case": case, "impl": impl, "seconds": seconds, **extra})


def compile_fn(inputs, outputs, **kw):
    """(function, mode used): native when it works, else py (noted once per reason)."""
    try:
        return sc.function(inputs, outputs, mode="native", **kw), "native"
    except Exception as exc:  # no compiler, or a native backend gap: report and go on
        note = f"native mode failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
        if note not in NOTES:
            NOTES.append(note)
        return sc.function(inputs, outputs, mode="py", **kw), "py"


def checked(fn, args, want, rtol):
    """Run fn once and compare with the NumPy result, so a wrong kernel is not timed."""
    got = fn(*args)
    got = got[0] if isinstance(got, list) else got
    if not np.allclose(got, want, rtol=rtol, atol=rtol):
        NOTES.append(f"result mismatch for {fn}: max abs err {np.max(np.abs(got - want))}")


def others():
    """Optional competitors: name -> module, for those importable."""
    found = {}
    for name in ("numexpr", "jax", "pytensor"):
        try:
            found[name] = __import__(name)
        except Exception:
            pass
    return found


# --- W1 -----------------------------------------------------------------------------


def w1(n, repeat):
    for dtype in ("float64", "float32"):
        _w1_one(n, repeat, dtype)


def _w1_one(n, repeat, dtype):
    rng = np.random.default_rng(0)
    x, y, z = (rng.standard_normal(n).astype(dtype) for _ in range(3))
    vx, vy, vz = (st.vector(name, dtype=dtype) for name in "xyz")
    f, mode = compile_fn([vx, vy, vz], st.exp(-vx * vx) * st.sin(vy) + 0.5 * vz)
    want = np.exp(-x * x) * np.sin(y) + 0.5 * z
    checked(f, (x, y, z), want, 1e-5)
    case = f"exp(-x*x)*sin(y)+0.5*z n={n} {dtype}"
    record("W1", case, "numpy", bench(lambda: np.exp(-x * x) * np.sin(y) + 0.5 * z, repeat))
    record("W1", case, f"symcomp[{mode}]", bench(lambda: f(x, y, z), repeat))
    mods = others()
    if "numexpr" in mods:
        ne = mods["numexpr"]
        expr = "exp(-x*x)*sin(y)+0.5*z"
        record("W1", case, "numexpr", bench(lambda: ne.evaluate(expr), repeat))
    if "jax" in mods:
        import jax
        import jax.numpy as jnp

        g = jax.jit(lambda a, b, c: jnp.exp(-a * a) * jnp.sin(b) + 0.5 * c)
        record("W1", case, "jax", bench(lambda: g(x, y, z).block_until_ready(), repeat))


# --- W2 -----------------------------------------------------------------------------


def w2(n, repeat, stream):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    vx, vy = st.dvector("x"), st.dvector("y")
    expr = 2.5 * vx + vy
    f, mode = compile_fn([vx, vy], expr)
    fb, mode_b = compile_fn([vx, vy], sc.Out(expr, borrow=True))
    checked(f, (x, y), 2.5 * x + y, 1e-12)
    case = f"2.5*x+y n={n} float64"
    record("W2", case + " fresh", "numpy", bench(lambda: 2.5 * x + y, repeat))
    record("W2", case + " fresh", f"symcomp[{mode}]", bench(lambda: f(x, y), repeat))
    out = np.empty(n)

    def numpy_reuse():
        np.multiply(x, 2.5, out=out)
        np.add(out, y, out=out)

    triad_bytes = 3 * 8 * n
    t_np = bench(numpy_reuse, repeat)
    record("W2", case + " reused output", "numpy", t_np)
    t = bench(lambda: fb(x, y), repeat)
    extra = {}
    if stream and stream.get("triad_gbs"):
        gbs = triad_bytes / t / 1e9
        extra = {"gbs": gbs, "of_stream_triad": gbs / stream["triad_gbs"]}
    record("W2", case + " reused output", f"symcomp[{mode_b}] Out(borrow=True)", t, **extra)
    mods = others()
    if "numexpr" in mods:
        ne = mods["numexpr"]
        record("W2", case + " fresh", "numexpr", bench(lambda: ne.evaluate("2.5*x+y"), repeat))


# --- W3 -----------------------------------------------------------------------------


def np_logsumexp(a):
    m = a.max(axis=1, keepdims=True)
    return np.log(np.exp(a - m).sum(axis=1)) + m[:, 0]


def np_softmax(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def w3(n, side, repeat):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(n)
    vx = st.dvector("x")
    f, mode = compile_fn([vx], st.sum(vx * vx))
    checked(f, (x,), np.sum(x * x), 1e-10)
    case = f"sum(x*x) n={n} float64"
    record("W3", case, "numpy", bench(lambda: np.sum(x * x), repeat))
    record("W3", case, f"symcomp[{mode}]", bench(lambda: f(x), repeat))

    a = rng.standard_normal((side, side))
    va = st.dmatrix("a")
    g, mode = compile_fn([va], st.logsumexp(va, axis=1))
    checked(g, (a,), np_logsumexp(a), 1e-10)
    case = f"row logsumexp {side}x{side} float64"
    record("W3", case, "numpy", bench(lambda: np_logsumexp(a), repeat))
    record("W3", case, f"symcomp[{mode}]", bench(lambda: g(a), repeat))

    h, mode = compile_fn([va], st.nnet.softmax(va))
    checked(h, (a,), np_softmax(a), 1e-10)
    case = f"row softmax {side}x{side} float64"
    record("W3", case, "numpy", bench(lambda: np_softmax(a), repeat))
    record("W3", case, f"symcomp[{mode}]", bench(lambda: h(a), repeat))


# --- W4 -----------------------------------------------------------------------------


def per_call(fn, number) -> float:
    """Median seconds per call over 7 timeit runs of ``number`` calls."""
    fn()
    return statistics.median(timeit.repeat(fn, number=number, repeat=7)) / number


def w4(number):
    a, b = np.array(1.5), np.array(2.5)
    va, vb = st.dscalar("a"), st.dscalar("b")
    f, mode = compile_fn([va, vb], va + vb)
    ft, _ = compile_fn([va, vb], va + vb, trust_input=True)
    case = "f(a, b) = a + b, 0-d float64"
    record("W4", case, "numpy a+b", per_call(lambda: a + b, number))
    record("W4", case, f"symcomp[{mode}]", per_call(lambda: f(a, b), number))
    record("W4", case, f"symcomp[{mode}] trust_input", per_call(lambda: ft(a, b), number))


# --- W5 / W6 --------------------------------------------------------------------------

W5_BUILD = """
import numpy as np, symcomp as sc, symcomp.tensor as st

# The training step's graph: (inputs, cost, updates, params), with new shared variables.
def mlp_graph(n_in=784, n_hid=512, n_out=10, lr=0.01, seed=0):
    rng = np.random.default_rng(seed)
    W1 = sc.shared((rng.standard_normal((n_in, n_hid)) * 0.05).astype("float32"), name="W1")
    b1 = sc.shared(np.zeros(n_hid, "float32"), name="b1")
    W2 = sc.shared((rng.standard_normal((n_hid, n_out)) * 0.05).astype("float32"), name="W2")
    b2 = sc.shared(np.zeros(n_out, "float32"), name="b2")
    x, t = st.fmatrix("x"), st.ivector("t")
    h = st.tanh(st.dot(x, W1) + b1)
    p = st.nnet.softmax(st.dot(h, W2) + b2)
    cost = st.mean(st.nnet.categorical_crossentropy(p, t))
    params = [W1, b1, W2, b2]
    grads = sc.grad(cost, params)
    updates = [(v, v - np.float32(lr) * g) for v, g in zip(params, grads)]
    return [x, t], cost, updates, params

def build_mlp(batch=128, mode="native", seed=0, **kw):
    inputs, cost, updates, params = mlp_graph(seed=seed, **kw)
    return sc.function(inputs, cost, updates=updates, mode=mode), params
"""


def numpy_mlp_step(params, x, t, lr=0.01):
    """Hand-written NumPy forward + backprop + SGD update (in place), float32."""
    W1, b1, W2, b2 = params
    lr = np.float32(lr)
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = x.shape[0]
    cost = -np.mean(np.log(p[np.arange(n), t]))
    dz = p
    dz[np.arange(n), t] -= 1
    dz /= n
    dW2 = h.T @ dz
    db2 = dz.sum(axis=0)
    dh = (dz @ W2.T) * (1 - h * h)
    dW1 = x.T @ dh
    db1 = dh.sum(axis=0)
    W1 -= lr * dW1
    b1 -= lr * db1
    W2 -= lr * dW2
    b2 -= lr * db2
    return cost


def w5(batch, repeat):
    scope: dict = {}
    exec(W5_BUILD, scope)
    mode = "native"
    try:
        train, _ = scope["build_mlp"](batch=batch)
    except Exception as exc:
        NOTES.append(f"W5 native failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
        train, _ = scope["build_mlp"](batch=batch, mode="py")
        mode = "py"
    rng = np.random.default_rng(3)
    x = rng.standard_normal((batch, 784)).astype("float32")
    t = rng.integers(0, 10, batch).astype("int32")
    r = np.random.default_rng(0)
    params = [
        (r.standard_normal((784, 512)) * 0.05).astype("float32"),
        np.zeros(512, "float32"),
        (r.standard_normal((512, 10)) * 0.05).astype("float32"),
        np.zeros(10, "float32"),
    ]
    c_np, c_sc = numpy_mlp_step([p.copy() for p in params], x, t), train(x, t)
    c_sc = float(c_sc[0] if isinstance(c_sc, list) else c_sc)
    if not np.isclose(c_np, c_sc, rtol=1e-3):
        NOTES.append(f"W5 first-step cost differs: numpy {c_np:.6f} vs symcomp {c_sc:.6f}")
    case = f"MLP 784-512-10 tanh SGD step, batch {batch}, float32"
    record(
        "W5",
        case,
        "numpy (hand-written backprop)",
        bench(lambda: numpy_mlp_step(params, x, t), repeat),
    )
    record("W5", case, f"symcomp[{mode}]", bench(lambda: train(x, t), repeat))


# Times sc.function(...) alone: the graph, its gradient and the shared variables are built
# first, outside the timed region (their cost is reported on its own row). "again": the same
# code builds a new graph (new shared variables, other random values) in the same process,
# AGAIN times over; the medians are reported.
W6_CHILD = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
t0 = time.perf_counter()
import symcomp
t_import = time.perf_counter() - t0
exec(sys.argv[2])
mode = sys.argv[3]

def timed(seed):
    t = time.perf_counter(); inputs, cost, updates, _ = mlp_graph(seed=seed)
    built = time.perf_counter() - t
    t = time.perf_counter(); sc.function(inputs, cost, updates=updates, mode=mode)
    return built, time.perf_counter() - t

build_first, first = timed(0)
again = [timed(seed) for seed in range(1, 1 + int(sys.argv[4]))]
print(json.dumps({"import": t_import, "build_first": build_first, "first": first,
                  "build_again": statistics.median(b for b, _ in again),
                  "again": statistics.median(f for _, f in again)}))
"""
AGAIN = 15


def w6():
    mode = "native"
    cache = tempfile.mkdtemp(prefix="symcomp-bench-cache-")
    env = dict(os.environ, SYMCOMP_CACHE_DIR=cache)

    def child(m):
        out = subprocess.run(
            [sys.executable, "-c", W6_CHILD, str(ROOT), W5_BUILD, m, str(AGAIN)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
        return json.loads(out.stdout.strip().splitlines()[-1])

    try:
        try:
            cold, warm = child(mode), child(mode)
        except Exception as exc:
            NOTES.append(f"W6 native failed ({exc}); timing py mode")
            mode = "py"
            cold, warm = child(mode), child(mode)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    # The function() figures time sc.function alone (rewrite, codegen, compile or cache
    # look-ups); building the graph, its gradient and the shared variables is its own row.
    impl = f"symcomp[{mode}]"
    record("W6", "function() W5 step: cold (empty cache)", impl, cold["first"])
    record("W6", "function() W5 step: warm cache, new process", impl, warm["first"])
    record(
        "W6", f"function() W5 step: again, same process (median of {AGAIN})", impl, warm["again"]
    )
    record("W6", "build W5 graph + grad + shared (new process)", impl, warm["build_first"])
    record(
        "W6",
        f"build W5 graph + grad + shared (same process, median of {AGAIN})",
        impl,
        warm["build_again"],
    )


# --- W7 -----------------------------------------------------------------------------


def rnn_data(steps, hidden=128, n_in=64, seed=7):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((hidden, hidden)) * 0.1,
        rng.standard_normal((hidden, n_in)) * 0.1,
        rng.standard_normal(hidden) * 0.1,
        rng.standard_normal((steps, n_in)),
        np.zeros(hidden),
    )


def numpy_rnn(W, U, b, x, h0):
    hs = np.empty((x.shape[0], h0.shape[0]))
    h = h0
    for t in range(x.shape[0]):
        h = hs[t] = np.tanh(W @ h + U @ x[t] + b)
    return hs


def numpy_rnn_grad(W, U, b, x, h0):
    """Forward, then backprop through time of sum(hs): (cost, dW, dU, db, dh0)."""
    hs = numpy_rnn(W, U, b, x, h0)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh = np.zeros_like(h0)
    for t in range(x.shape[0] - 1, -1, -1):
        da = (1.0 + dh) * (1.0 - hs[t] ** 2)
        dW += np.outer(da, hs[t - 1] if t else h0)
        dU += np.outer(da, x[t])
        db += da
        dh = W.T @ da
    return hs.sum(), dW, dU, db, dh


def w7(steps, repeat):
    """RNN h_t = tanh(W h_{t-1} + U x_t + b) by scan: forward, and forward + gradient."""
    args = rnn_data(steps)
    W, U, x = st.dmatrix("W"), st.dmatrix("U"), st.dmatrix("x")
    b, h0 = st.dvector("b"), st.dvector("h0")
    hs, _ = sc.scan(
        lambda xt, h, W, U, b: st.tanh(W @ h + U @ xt + b),
        sequences=x,
        outputs_info=h0,
        non_sequences=[W, U, b],
    )
    cost = hs.sum()
    fwd, mode = compile_fn([W, U, b, x, h0], hs)
    full, _ = compile_fn([W, U, b, x, h0], [cost, *sc.grad(cost, [W, U, b, h0])])
    checked(fwd, args, numpy_rnn(*args), 1e-10)
    checked(full, args, numpy_rnn_grad(*args)[0], 1e-10)
    case = f"rnn 128/64 x{steps} float64"
    record("W7", f"{case} forward", "numpy", bench(lambda: numpy_rnn(*args), repeat))
    record("W7", f"{case} forward", f"symcomp[{mode}]", bench(lambda: fwd(*args), repeat))
    record("W7", f"{case} fwd+grad", "numpy", bench(lambda: numpy_rnn_grad(*args), repeat))
    record("W7", f"{case} fwd+grad", f"symcomp[{mode}]", bench(lambda: full(*args), repeat))


# --- W8 -----------------------------------------------------------------------------


def w8(side, repeat):
    for dtype in ("float32", "float64"):
        _w8_one(side, repeat, dtype)


def _w8_one(side, repeat, dtype):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((side, side)).astype(dtype)
    b = rng.standard_normal((side, side)).astype(dtype)
    va, vb = st.matrix("a", dtype=dtype), st.matrix("b", dtype=dtype)
    f, mode = compile_fn([va, vb], st.dot(va, vb))
    checked(f, (a, b), a @ b, 1e-2 if dtype == "float32" else 1e-8)
    flops = 2.0 * side**3
    case = f"gemm {side}x{side} {dtype}"
    t = bench(lambda: a @ b, repeat)
    record("W8", case, "numpy", t, gflops=flops / t / 1e9)
    t = bench(lambda: f(a, b), repeat)
    record("W8", case, f"symcomp[{mode}]", t, gflops=flops / t / 1e9)


# --- driver -------------------------------------------------------------------------


def run_stream(n: int) -> dict:
    """Compile and run stream.c; {} when no C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        NOTES.append("no C compiler: STREAM skipped")
        return {}
    with tempfile.TemporaryDirectory() as d:
        exe = Path(d) / "stream"
        src = Path(__file__).with_name("stream.c")
        subprocess.run(
            [cc, "-O3", "-march=native", "-fopenmp", str(src), "-o", str(exe)], check=True
        )
        line = subprocess.run([str(exe), str(n)], capture_output=True, text=True, check=True).stdout
    fields = dict(item.split("=") for item in line.split())
    return {k: float(v) for k, v in fields.items()}


def print_table(stream: dict) -> None:
    numpy_time = {}
    for r in ROWS:
        if r["impl"].startswith("numpy"):
            numpy_time[(r["workload"], r["case"])] = r["seconds"]
    print(f"{'workload':<4} {'case':<58} {'impl':<34} {'time':>11} {'vs numpy':>9}  extra")
    for r in ROWS:
        base = numpy_time.get((r["workload"], r["case"]))
        if base is None and r["workload"] == "W4":
            base = numpy_time.get(("W4", r["case"]))
        ratio = f"{base / r['seconds']:.2f}x" if base and not r["impl"].startswith("numpy") else ""
        r["speedup_vs_numpy"] = base / r["seconds"] if base else None
        s = r["seconds"]
        shown = f"{s * 1e6:.2f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"
        extra = ", ".join(
            f"{k}={v:.3g}" for k, v in r.items() if k in ("gflops", "gbs", "of_stream_triad")
        )
        print(
            f"{r['workload']:<4} {r['case'][:58]:<58} {r['impl'][:34]:<34} {shown:>11} {ratio:>9}  {extra}"
        )
    if stream:
        print(
            f"STREAM: copy {stream['copy_gbs']:.2f} GB/s, triad {stream['triad_gbs']:.2f} GB/s "
            f"({int(stream['threads'])} threads)"
        )
    for note in NOTES:
        print("note:", note)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W3")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "run.json"))
    args = parser.parse_args(argv)
    only = [w.strip().upper() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    unknown = [w for w in only if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {', '.join(WORKLOADS)}")
    q = args.quick
    n, side, gemm_side, repeat = (10**5, 200, 256, 5) if q else (10**7, 2000, 2048, 15)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            NOTES.append(f"{var} is set; run under `env -u {var}` for comparable BLAS figures")
    stream = run_stream(n) if ("W2" in only and not q) or not q else {}
    if "W1" in only:
        w1(n, repeat)
    if "W2" in only:
        w2(n, repeat, stream)
    if "W3" in only:
        w3(n, side, repeat)
    if "W4" in only:
        w4(2000 if q else 200000)
    if "W5" in only:
        w5(128, 5 if q else 50)
    if "W6" in only:
        w6()
    if "W7" in only:
        w7(100 if q else 1000, 5 if q else 30)
    if "W8" in only:
        w8(gemm_side, 3 if q else 7)
    print_table(stream)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "quick": q,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    out.write_text(
        json.dumps({"meta": meta, "stream": stream, "rows": ROWS, "notes": NOTES}, indent=2)
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
