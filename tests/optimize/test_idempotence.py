"""Issue #3 acceptance: rewriting is idempotent, a second pipeline run changes nothing.

Random elementwise/reduction graphs from benchmarks/rewrite_scaling.py go through the
default (fast_run) pipeline twice. The second run must return the very same graph and
change nothing on the way: the only rules allowed to fire are canonicalize's
sub_to_add_neg and specialize's add_neg_to_sub, which turn each x - y into x + neg(y) and
back by design (docs/rewrites.md, "canonicalize"), as often as each other.
"""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

from symcomp.graph import toposort
from symcomp.optimize.pipeline import rewrite
from tests.optimize.util import assert_same_values

_BENCH = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "rewrite_scaling.py"
_spec = importlib.util.spec_from_file_location("rewrite_scaling", _BENCH)
rewrite_scaling = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rewrite_scaling)

ROUND_TRIP = ("sub_to_add_neg", "add_neg_to_sub")


# (requested size, seed): 360 to 1,750 nodes before rewriting. Seed 8 has an x + neg(x)
# that specialize would turn into x - x, and a shape read through a value that fusion
# fuses; seed 12 a neg(sum(neg(x))) that specialize's sum_of_neg makes neg(neg(sum(x))).
@pytest.mark.parametrize("n_nodes, seed", [(500, 8), (1000, 1), (1500, 12), (2000, 3), (4000, 8)])
def test_second_pipeline_run_changes_nothing(n_nodes, seed):
    inputs, outputs = rewrite_scaling.random_graph(n_nodes, seed)
    assert 300 <= len(toposort(outputs, blockers=inputs)) <= 2000
    once, report = rewrite(inputs, outputs, on_error="raise")
    assert report.nodes_after < report.nodes_before
    twice, again = rewrite(inputs, once, on_error="raise")
    assert all(a is b for a, b in zip(twice, once)), "the second run changed the graph"
    assert again.nodes_after == report.nodes_after
    fired = {rule: n for rule, n in again.fired.items() if n}
    assert {rule: n for rule, n in fired.items() if rule not in ROUND_TRIP} == {}
    assert fired.get(ROUND_TRIP[0], 0) == fired.get(ROUND_TRIP[1], 0)
    # Same values as the unrewritten graph (inputs in (0.1, 0.9), so no inf or nan where
    # x - x -> 0 could differ).
    assert_same_values(outputs, once, inputs, rng=np.random.default_rng(seed), rtol=1e-6)


def test_x_plus_neg_x_is_zero_after_canonicalize():
    import symcomp.tensor as st
    from symcomp.optimize.canonicalize import canonicalize
    from symcomp.optimize.specialize import specialize
    from tests.optimize.util import assert_graph_equal, run_passes

    x = st.dvector("x")
    y = st.exp(x)
    for expr in (y + st.neg(y), st.neg(y) + y):
        out = run_passes(expr, canonicalize, specialize, inputs=[x])
        assert_graph_equal(out, st.alloc(st.constant(0.0), st.shape_tuple(x)[0]))


def test_specialize_cancels_the_double_negation_sum_of_neg_makes():
    import symcomp.tensor as st
    from symcomp.optimize.canonicalize import canonicalize
    from symcomp.optimize.specialize import specialize
    from tests.optimize.util import assert_graph_equal, run_passes

    x = st.dvector("x")
    out = run_passes(st.neg(st.neg(st.exp(x)).sum()), canonicalize, specialize, inputs=[x])
    assert_graph_equal(out, st.exp(x).sum())
