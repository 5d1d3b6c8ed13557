"""``ifelse(cond, then_branch, else_branch)``: a lazy conditional.

The IfElse op holds each branch as an inner graph over the free variables of both
branches, so only the branch that is taken is computed (in py mode and natively).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.tensor.type import TensorType

_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class IfElse(Op):
    """``then_outputs if cond else else_outputs``, computing one branch only.

    Node inputs: (cond, *free values), matched by position with ``inner_inputs``; both
    branches are graphs over ``inner_inputs``. Ops compare by identity.
    """

    inner_inputs: tuple
    then_outputs: tuple
    else_outputs: tuple

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        from symcomp.control.scan_op import inner_digest

        n = len(self.then_outputs)
        both = list(self.then_outputs) + list(self.else_outputs)
        return f"IfElse<{n}, {inner_digest(self.inner_inputs, both)}>"

    def __str__(self) -> str:
        return f"IfElse[{len(self.then_outputs)} outputs]"

    def make_node(self, cond, *free):
        from symcomp.tensor.basic import as_tensor_variable

        cond = as_tensor_variable(cond)
        if cond.ndim != 0:
            raise TypeError(f"ifelse: the condition must be a scalar, got {cond} ({cond.type})")
        if len(free) != len(self.inner_inputs):
            raise TypeError(f"{self} expects {len(self.inner_inputs)} inputs after cond")
        free = [as_tensor_variable(f) for f in free]
        for outer, inner in zip(free, self.inner_inputs):
            if outer.dtype != inner.dtype or outer.ndim != inner.ndim:
                raise TypeError(f"{self}: input {outer} ({outer.type}) should be {inner.type}")
        types = [_merged_type(a, b) for a, b in zip(self.then_outputs, self.else_outputs)]
        return Apply.make(self, [cond, *free], types)

    def inner_graphs(self) -> tuple:
        """(then branch, else branch) as FunctionGraphs (see scan_op.inner_fgraphs)."""
        from symcomp.control.scan_op import inner_fgraphs

        return inner_fgraphs(self, self.then_outputs, self.else_outputs)

    def branch_function(self, which: bool):
        key = _compiled.setdefault(self, {})
        fn = key.get(which)
        if fn is None:
            import symcomp

            outs = self.then_outputs if which else self.else_outputs
            fn = symcomp.function(
                list(self.inner_inputs), list(outs), mode="py", on_unused_input="ignore"
            )
            fn.trust_input = True
            key[which] = fn
        return fn

    def perform(self, node, inputs):
        cond, free = inputs[0], inputs[1:]
        results = self.branch_function(bool(cond))(*free)
        out = []
        for k, (value, var) in enumerate(zip(results, node.outputs)):
            value = np.asarray(value, dtype=var.dtype)
            if value.ndim != var.ndim or any(
                s is not None and s != v for s, v in zip(var.type.shape, value.shape)
            ):
                raise ValueError(
                    f"{self}: output {k} has shape {value.shape}, not the static shape "
                    f"{var.type.shape} both branches agree on"
                )
            out.append(np.array(value, copy=True) if _aliases(value, free) else value)
        return out

    def infer_shape(self, node, input_shapes):
        cond, free = node.inputs[0], node.inputs[1:]
        return [
            tuple(
                s if s is not None else self._lazy_dim(cond, free, k, d)
                for d, s in enumerate(out.type.shape)
            )
            for k, out in enumerate(node.outputs)
        ]

    def _lazy_dim(self, cond, free, k, d):
        from symcomp.graph.basic import clone_replace

        a, b = clone_replace(
            [self.then_outputs[k].shape[d], self.else_outputs[k].shape[d]],
            dict(zip(self.inner_inputs, free)),
        )
        return _ifelse_vars(cond, [a], [b])[0]

    def pullback(self, inputs, outputs, cotangents):
        import symcomp.tensor as st
        from symcomp.gradient import grad
        from symcomp.graph.basic import clone_replace

        cond, free = inputs[0], list(inputs[1:])
        gs = [g if g is not None else st.zeros_like(o) for g, o in zip(cotangents, outputs)]
        diff = [k for k, f in enumerate(free) if f.dtype.startswith(("float", "complex"))]
        if not diff:
            return [None] * len(inputs)
        targets = [free[k] for k in diff]
        mapping = dict(zip(self.inner_inputs, free))
        branch_grads = []
        for outs in (self.then_outputs, self.else_outputs):
            outer = clone_replace(list(outs), mapping)
            known = {o: g for o, g in zip(outer, gs) if o.dtype.startswith(("float", "complex"))}
            branch_grads.append(
                grad(None, targets, known_grads=known, disconnected_inputs="ignore")
                if known
                else [st.zeros_like(t) for t in targets]
            )
        # the cotangents and inputs are computed outside either way
        chosen = _ifelse_vars(cond, *branch_grads, boundary=list(free) + list(gs))
        result = [None] * len(inputs)
        for k, g in zip(diff, chosen):
            result[1 + k] = g
        return result


def _aliases(value, free) -> bool:
    return any(isinstance(f, np.ndarray) and np.shares_memory(value, f) for f in free)


def _merged_type(a, b) -> TensorType:
    shape = tuple(x if x == y else None for x, y in zip(a.type.shape, b.type.shape))
    return TensorType(a.dtype, shape)


def _ifelse_vars(cond, then_list, else_list, boundary=()) -> list:
    """IfElse outputs; the branches' inner graphs stop at graph inputs and at ``boundary``
    (values computed outside, whether or not a branch is taken)."""
    from symcomp.graph.basic import clone_replace, graph_inputs
    from symcomp.graph.variable import Constant
    from symcomp.tensor.type import TensorType as TT

    free = [
        v
        for v in graph_inputs(list(then_list) + list(else_list), blockers=boundary)
        if not isinstance(v, Constant)
    ]
    inner = [TT(v.dtype, tuple(v.type.shape))(name=v.name) for v in free]
    replace = dict(zip(free, inner))
    n = len(then_list)
    outs = clone_replace(list(then_list) + list(else_list), replace)
    op = IfElse(tuple(inner), tuple(outs[:n]), tuple(outs[n:]))
    return list(op.make_node(cond, *free).outputs)


def ifelse(cond, then_branch, else_branch, name: str | None = None, computed=()):
    """``then_branch if cond else else_branch``, evaluating only the branch taken.

    cond: a scalar (any dtype; nonzero is true). The branches are variables, or lists of
    variables of matching dtypes and ndims (a Python number takes the other branch's
    dtype and shape). Returns one variable, or a list when the branches are lists. The gradient is
    the ifelse of the branches' gradients. Each branch's inner graph reaches back to the
    graph's inputs, so work it shares with the rest of the graph is redone inside it;
    ``computed`` lists variables to compute outside instead (in every case).
    """
    import symcomp.tensor as st

    single = not isinstance(then_branch, (list, tuple))
    a = [then_branch] if single else list(then_branch)
    b = [else_branch] if not isinstance(else_branch, (list, tuple)) else list(else_branch)
    if len(a) != len(b):
        raise ValueError(f"ifelse: the branches have {len(a)} and {len(b)} outputs")
    ta, tb = [], []
    for k, (x, y) in enumerate(zip(a, b)):
        x, y = _matched(st, x, y, k)
        ta.append(x)
        tb.append(y)
    outs = _ifelse_vars(st.as_tensor_variable(cond), ta, tb, boundary=list(computed))
    if name:
        for o in outs:
            o.name = name
    return outs[0] if single else outs


def _matched(st, x, y, k):
    from symcomp.graph.variable import Variable

    # a Python number takes the other branch's dtype and shape
    if not isinstance(x, Variable) and isinstance(y, Variable):
        x = st.zeros_like(y) + np.asarray(x, dtype=y.dtype)
    elif not isinstance(y, Variable) and isinstance(x, Variable):
        y = st.zeros_like(x) + np.asarray(y, dtype=x.dtype)
    x, y = st.as_tensor_variable(x), st.as_tensor_variable(y)
    if x.dtype != y.dtype or x.ndim != y.ndim:
        raise TypeError(
            f"ifelse: output {k} has type {x.type} in the then branch but {y.type} in the "
            f"else branch; the branches must agree in dtype and ndim (cast one)"
        )
    return x, y
