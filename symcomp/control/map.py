"""MapIndex: ``out[i] = inner(i, *free)`` for i in range(n), stacked (a loop over an inner
graph). jacobian() uses it when the expression's length is not static."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.tensor.type import TensorType

_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class MapIndex(Op):
    """Stack ``inner_outputs`` evaluated at i = 0..n-1.

    ``inner_inputs`` is (index scalar, *free variables); the node's inputs are
    (n, *free variables), matched by position. Ops compare by identity (an inner graph
    is not compared structurally).
    """

    inner_inputs: tuple
    inner_outputs: tuple

    # Identity semantics: two loops are equal only if they are the same op object.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        # what the rewritten-graph cache keys on: the body's structure and constants
        from symcomp.control.scan_op import inner_digest

        try:
            return f"{self}<{inner_digest(self.inner_inputs, self.inner_outputs)}>"
        except ValueError:  # a body reading variables it does not take: never equal to another
            return object.__repr__(self)

    def __str__(self) -> str:
        # no variable names: generated source names the op, and must not depend on them
        return f"MapIndex[{len(self.inner_inputs) - 1} free, {len(self.inner_outputs)} outputs]"

    def make_node(self, n, *free):
        from symcomp.tensor.shapeof import as_shape_scalars

        (n,) = as_shape_scalars([n])
        if len(free) != len(self.inner_inputs) - 1:
            raise TypeError(f"MapIndex expects {len(self.inner_inputs) - 1} free inputs")
        out_types = [TensorType(o.dtype, (None,) + o.type.shape) for o in self.inner_outputs]
        return Apply.make(self, [n, *free], out_types)

    def inner_graphs(self) -> tuple:
        """(the body,) as a FunctionGraph (see scan_op.inner_fgraphs)."""
        from symcomp.control.scan_op import inner_fgraphs

        return inner_fgraphs(self, self.inner_outputs)

    def _function(self):
        fn = _compiled.get(self)
        if fn is None:
            import symcomp

            fn = symcomp.function(
                list(self.inner_inputs),
                list(self.inner_outputs),
                mode="py",
                on_unused_input="ignore",
            )
            _compiled[self] = fn
        return fn

    def perform(self, node, inputs):
        n, free = int(inputs[0]), inputs[1:]
        if n < 0:
            raise ValueError(f"{self}: the number of rows must be >= 0, got {n}")
        fn = self._function()
        rows = [fn(np.int64(i), *free) for i in range(n)]
        outs = []
        for k, out in enumerate(node.outputs):
            if rows:
                outs.append(np.stack([r[k] for r in rows]).astype(out.dtype, copy=False))
            else:
                inner = self.inner_outputs[k].type.shape
                outs.append(np.zeros((0,) + tuple(s or 0 for s in inner), dtype=out.dtype))
        return outs

    def infer_shape(self, node, input_shapes):
        from symcomp.graph.basic import graph_replace
        from symcomp.tensor.basic import as_tensor_variable
        from symcomp.tensor.shapeof import infer_shapes

        n, free = node.inputs[0], node.inputs[1:]
        index = self.inner_inputs[0]
        replace = {index: as_tensor_variable(np.int64(0))}
        replace.update(dict(zip(self.inner_inputs[1:], free)))
        shapes = []
        inferred = infer_shapes(list(self.inner_outputs))
        for out in self.inner_outputs:
            inner = inferred[out]
            symbolic = [s for s in inner if not isinstance(s, int)]
            new = iter(graph_replace(symbolic, replace) if symbolic else [])
            shapes.append((n,) + tuple(s if isinstance(s, int) else next(new) for s in inner))
        return shapes

    def pullback(self, inputs, outputs, cotangents):
        raise NotImplementedError(
            "gradients through a jacobian computed by a loop (expression length not static) "
            "are not supported yet; give the expression a static shape"
        )


def map_jacobian(expression, wrts, consider_constant=None, disconnected_inputs="raise"):
    """jacobian() for an expression whose length is only known at run time."""
    import symcomp.tensor as st
    from symcomp.gradient import grad
    from symcomp.graph.basic import clone_replace, graph_inputs
    from symcomp.graph.variable import Constant

    flat = expression.flatten()
    index = st.lscalar("i")
    rows = grad(flat[index], wrts, consider_constant, disconnected_inputs)
    # Shared variables too are inputs of the node: the body is a closed graph over its own
    # copies of the free variables, which native code can compile.
    free = [
        v for v in graph_inputs(rows + [flat]) if v is not index and not isinstance(v, Constant)
    ]
    inner = [TensorType(v.dtype, tuple(v.type.shape))(name=v.name) for v in free]
    rows = clone_replace(rows, dict(zip(free, inner)))
    op = MapIndex((index, *inner), tuple(rows))
    stacked = op(flat.shape[0], *free)
    stacked = stacked if isinstance(stacked, list) else [stacked]
    return [
        s.reshape(tuple(st.shape_tuple(expression)) + tuple(st.shape_tuple(w)))
        for s, w in zip(stacked, wrts)
    ]
