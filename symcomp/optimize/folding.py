"""constant_folding: a node whose inputs are all constants becomes a constant.

Bounded: only when every output's static shape is known and holds at most FOLD_MAX_SIZE
elements, so no huge array is materialized into the graph. Ops with ``foldable = False``
(random number generators, anything reading outside state) are never folded.
"""

from __future__ import annotations

import numpy as np

from symcomp.graph.variable import Constant
from symcomp.optimize.engine import Pass

constant_folding = Pass("constant_folding", strategy="fixed_point", doc=__doc__)

FOLD_MAX_SIZE = 100_000


@constant_folding.node_rule()
def fold_constants(node):
    # op(c1, ..., cn) -> c  (c = op.perform(c1, ..., cn))
    if not node.inputs or not getattr(node.op, "foldable", True):
        return None
    if not all(isinstance(i, Constant) for i in node.inputs):
        return None
    out = node.outputs[0]
    shape = getattr(out.type, "shape", None)
    if shape is None or None in shape or int(np.prod(shape, dtype=np.int64)) > FOLD_MAX_SIZE:
        return None
    from symcomp.tensor.variable import tensor_constant

    try:
        with np.errstate(all="ignore"):
            (value,) = node.op.perform(node, [i.data for i in node.inputs])
    except Exception:  # leave it to run time, where the error names the user's line
        return None
    return tensor_constant(np.asarray(value, dtype=out.dtype))
