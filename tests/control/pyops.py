"""The base of the control tests' Python-only ops: a unary op with no emitter, so native mode
runs its perform from inside the compiled module (or loop); subclasses give ``perform``."""

from __future__ import annotations

from dataclasses import dataclass

import symcomp.tensor as st
from symcomp.graph import Apply, Op


@dataclass(frozen=True)
class PythonOnlyUnary(Op):
    """One input, one output of the input's type and shape."""

    abstract = True

    def make_node(self, x):
        x = st.as_tensor_variable(x)
        return Apply.make(self, [x], [x.type])

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]
