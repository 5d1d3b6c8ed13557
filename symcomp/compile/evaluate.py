"""``var.eval({x: value})``: compile once per (variable, inputs), then evaluate."""

from __future__ import annotations

import weakref

_memo: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def eval_variable(var, inputs_to_values=None, mode=None, **kwargs):
    """Evaluate ``var`` given values for its inputs (keys: variables or their names)."""
    from symcomp.compile.function import function
    from symcomp.compile.sharedvalue import SharedVariable
    from symcomp.graph.basic import graph_inputs
    from symcomp.graph.variable import Constant

    inputs_to_values = dict(inputs_to_values or {})
    needed = [v for v in graph_inputs([var]) if not isinstance(v, (Constant, SharedVariable))]
    by_name = {v.name: v for v in needed if v.name}
    pairs = []
    for key, value in inputs_to_values.items():
        v = by_name.get(key) if isinstance(key, str) else key
        if v is None:
            raise ValueError(f"eval: no input named {key!r}; inputs: {list(by_name)}")
        pairs.append((v, value))
    pairs.sort(key=lambda kv: id(kv[0]))
    key = (tuple(v for v, _ in pairs), mode)
    fns = _memo.setdefault(var, {})
    fn = fns.get(key)
    if fn is None:
        fn = function([v for v, _ in pairs], var, mode=mode, on_unused_input="ignore")
        fns[key] = fn
    return fn(*[value for _, value in pairs])
