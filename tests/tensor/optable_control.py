"""Op-table rows for the control-flow ops: Scan (a cumulative sum over a sequence) and
IfElse (a lazy conditional)."""

import numpy as np

import symcomp as sc
import symcomp.tensor as st
from tests.tensor.optable import Case


def _cumsum_scan(x):
    out, _ = sc.scan(lambda v, acc: acc + v, sequences=x, outputs_info=st.zeros_like(x[0]))
    return out


def _ifelse(x, y):
    return sc.ifelse(st.gt(x.sum(), 0), x * y, x - y)


def _ifelse_ref(x, y):
    return x * y if x.sum() > 0 else x - y


CASES = [
    Case(
        "scan_cumsum",
        _cumsum_scan,
        lambda x: np.cumsum(x, axis=0),
        [((5, 3),), ((1, 2),)],
        dtypes=("float64",),
        noncontig=False,
    ),
    Case(
        "ifelse",
        _ifelse,
        _ifelse_ref,
        [((3,), (3,)), ((2, 2), (2, 2))],
        dtypes=("float64",),
    ),
]
