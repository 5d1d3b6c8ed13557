"""The order of rewrite passes: one explicit list, in phases (DESIGN.md "Rewrites").

merge -> constant folding -> canonicalize -> stabilize -> specialize -> fusion -> BLAS ->
in-place (memory planning). The ``optimizer`` flag picks a preset: ``fast_run`` (all),
``fast_compile`` (folding and canonicalize only) or ``None`` (nothing).
"""

from __future__ import annotations

import time

from symcomp.graph.basic import gc_paused, toposort
from symcomp.optimize.blas import blas
from symcomp.optimize.canonicalize import canonicalize
from symcomp.optimize.engine import RewriteContext
from symcomp.optimize.folding import constant_folding
from symcomp.optimize.fusion import fusion
from symcomp.optimize.inplace import inplace
from symcomp.optimize.merge import merge
from symcomp.optimize.report import RewriteReport
from symcomp.optimize.scan_rules import scan_opt
from symcomp.optimize.specialize import specialize
from symcomp.optimize.stabilize import stabilize

# BLAS runs before fusion (as in Theano): fusing a bias add into an elementwise group first
# would hide the dot(x, W) + b that becomes one Gemm call.
DEFAULT = (
    merge,
    constant_folding,
    canonicalize,
    stabilize,
    specialize,
    blas,
    fusion,
    merge,
    scan_opt,
    inplace,
)
PRESETS = {
    "fast_run": DEFAULT,
    "fast_compile": (constant_folding, canonicalize),
    "None": (),
    None: (),
}
ALL_PASSES = {p.name: p for p in DEFAULT}
# Tests set this: validate the graph (types, inputs, idempotent types) after every pass.
CHECK_AFTER_EACH_PASS = False


def passes_for(optimizer, including=(), excluding=()) -> tuple:
    """The passes a preset runs, plus ``including`` (pass names, in pipeline order) and
    less passes named in ``excluding``. Rule names in ``excluding`` are handled by the
    context."""
    if optimizer not in PRESETS:
        raise ValueError(f"unknown optimizer {optimizer!r}; use fast_run, fast_compile or None")
    chosen = list(PRESETS[optimizer])
    for name in including:
        if name in ALL_PASSES and ALL_PASSES[name] not in chosen:
            chosen.append(ALL_PASSES[name])
    order = {p.name: k for k, p in enumerate(DEFAULT)}
    chosen.sort(key=lambda p: order.get(p.name, len(order)))
    return tuple(p for p in chosen if p.name not in set(excluding))


def rewrite(
    inputs, outputs, optimizer="fast_run", including=(), excluding=(), on_error="warn", debug=False
):
    """Run the pipeline on ``outputs`` (a list); returns ``(new_outputs, report)``."""
    report = RewriteReport()
    report.nodes_before = len(toposort(outputs, blockers=inputs))
    ctx = RewriteContext(inputs, report, excluded=excluding, on_error=on_error, debug=debug)
    start = time.perf_counter()
    with gc_paused():
        outputs = _run_passes(inputs, outputs, ctx, passes_for(optimizer, including, excluding))
    report.seconds = time.perf_counter() - start
    report.nodes_after = len(toposort(outputs, blockers=inputs))
    return list(outputs), report


def _run_passes(inputs, outputs, ctx, passes):
    for p in passes:
        new = p.run(list(outputs), ctx)
        if CHECK_AFTER_EACH_PASS:
            check_rewrite(inputs, outputs, new, p.name)
        outputs = new
    return outputs


def check_rewrite(inputs, before, after, pass_name: str) -> None:
    """Graph invariants after a pass: same number of outputs, each with the type of the one
    it replaces (dtype, ndim, compatible static shape), and no input other than ``inputs``
    and constants."""
    from symcomp.graph.fgraph import FunctionGraph

    assert len(before) == len(after), f"{pass_name} changed the number of outputs"
    for old, new in zip(before, after):
        t, u = old.type, new.type
        assert (t.dtype, t.ndim) == (u.dtype, u.ndim), (
            f"{pass_name} changed {old} of type {t} into {new} of type {u}"
        )
    FunctionGraph(inputs, after).check()
