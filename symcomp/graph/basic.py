"""Graph walks: ancestors, inputs, deterministic toposort, clone and replace."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager

from symcomp.graph.apply import Apply
from symcomp.graph.variable import Constant, Variable


def _as_list(outputs) -> list:
    if isinstance(outputs, Variable):
        return [outputs]
    return list(outputs)


def ancestors(outputs, blockers: Iterable[Variable] = ()) -> list[Variable]:
    """All variables ``outputs`` depend on (themselves included), stopping at blockers."""
    blocked = set(blockers)
    seen: set = set()
    order: list[Variable] = []
    stack = list(reversed(_as_list(outputs)))
    while stack:
        var = stack.pop()
        if var in seen:
            continue
        seen.add(var)
        order.append(var)
        if var.owner is not None and var not in blocked:
            stack.extend(reversed(var.owner.inputs))
    return order


def graph_inputs(outputs, blockers: Iterable[Variable] = ()) -> list[Variable]:
    """The owner-less variables (inputs and constants) that ``outputs`` depend on."""
    blocked = set(blockers)
    return [v for v in ancestors(outputs, blocked) if v.owner is None or v in blocked]


def toposort(outputs, blockers: Iterable[Variable] = ()) -> list[Apply]:
    """Apply nodes in a deterministic order: each after all its inputs' owners.

    Depth-first from the outputs in order, inputs left to right, so the same graph
    always gives the same order.
    """
    blocked = set(blockers)
    done: set = set()
    order: list[Apply] = []
    for out in _as_list(outputs):
        owner = out.owner
        if owner is None or owner in done or out in blocked:
            continue
        # Parallel stacks of nodes and iterators over their remaining inputs.
        stack = [owner]
        pending = [iter(owner.inputs)]
        active = {owner}
        while stack:
            for var in pending[-1]:
                owner = var.owner
                if owner is not None and owner not in done and var not in blocked:
                    if owner in active:
                        raise ValueError(f"graph has a cycle through {owner}")
                    stack.append(owner)
                    pending.append(iter(owner.inputs))
                    active.add(owner)
                    break
            else:
                node = stack.pop()
                pending.pop()
                active.discard(node)
                done.add(node)
                order.append(node)
    return order


def clone_replace(
    outputs, replace: Mapping[Variable, Variable] | None = None, rebuild: bool = True
) -> list[Variable]:
    """Rebuild ``outputs`` with variables substituted per ``replace``.

    Each node whose inputs changed is rebuilt through ``op.make_node`` (so types are
    re-inferred and checked); unchanged subgraphs are kept as they are (nodes are
    immutable, so sharing them is safe).
    """
    memo: dict = dict(replace or {})
    for old, new in list(memo.items()):
        if not isinstance(new, Variable):
            from symcomp.tensor.basic import as_tensor_variable

            memo[old] = as_tensor_variable(new)
    outs = _as_list(outputs)
    for node in toposort(outs, blockers=memo.keys()):
        new_inputs = [memo.get(i, i) for i in node.inputs]
        if all(a is b for a, b in zip(new_inputs, node.inputs)):
            continue
        new_node = node.op.make_node(*new_inputs)
        for old_out, new_out in zip(node.outputs, new_node.outputs):
            memo[old_out] = new_out
    return [memo.get(o, o) for o in outs]


def graph_replace(outputs, replace: Mapping[Variable, Variable]):
    """``outputs`` with each ``old`` replaced by ``new`` (one Variable in, one out)."""
    result = clone_replace(outputs, replace)
    return result[0] if isinstance(outputs, Variable) else result


def clone_inputs(outputs, inputs: Sequence[Variable]):
    """Copies of ``inputs`` and ``outputs`` rebuilt on the copies (an independent graph)."""
    new_inputs = [i if isinstance(i, Constant) else i.clone() for i in inputs]
    new_outputs = clone_replace(outputs, dict(zip(inputs, new_inputs)))
    return new_inputs, new_outputs


def is_ancestor(var: Variable, outputs) -> bool:
    return var in set(ancestors(outputs))


@contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while building many nodes.

    Graph nodes are container objects, so building thousands of them triggers collections
    that walk the whole (growing) graph: about half the time of grad() on a 10k-node graph.
    Nothing built here needs collecting before the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
