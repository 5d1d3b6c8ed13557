"""The pattern language of rewrite rules.

``pat(head, *args)`` matches a node whose op is ``head``: an Op instance (equality), an Op
class (isinstance), or a ScalarOp instance or class (an Elemwise applying it). Arguments
are sub-patterns, ``var("x")`` (binds any variable; the same name must bind the same
variable), ``const(value)`` (a constant equal to value everywhere, after broadcasting) or
``const(predicate)``. ``where=`` adds a predicate on the bindings. Patterns on ``add`` and
``mul`` also match with the two arguments swapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from symcomp.graph.op import Op
from symcomp.graph.variable import Constant, Variable
from symcomp.scalar.base import ScalarOp

COMMUTATIVE = ("Add", "Mul", "Maximum", "Minimum", "EQ", "NEQ", "LogicalAnd", "LogicalOr")


@dataclass(frozen=True)
class Var:
    """Binds a variable to ``name`` (an optional ``pred(var) -> bool`` restricts it)."""

    name: str
    pred: Callable | None = None


@dataclass(frozen=True)
class Const:
    """Matches a constant whose every element equals ``value`` (or satisfies it, when
    ``value`` is callable, called with the constant's data). ``name`` binds it."""

    value: Any
    name: str | None = None


@dataclass(frozen=True)
class Pat:
    """Matches ``head(*args)``; see the module docstring."""

    head: Any
    args: tuple = ()
    where: Callable | None = None
    name: str | None = None
    commutative: bool = field(default=False)

    def dispatch_key(self):
        """The key rules are indexed by: the op class, or the scalar op class."""
        head = self.head
        if isinstance(head, (Op, ScalarOp)):
            return type(head)
        return head


def var(name: str, pred: Callable | None = None) -> Var:
    return Var(name, pred)


def const(value, name: str | None = None) -> Const:
    return Const(value, name)


def pat(head, *args, where: Callable | None = None, name: str | None = None) -> Pat:
    scalar = head if isinstance(head, (ScalarOp, type)) else None
    comm = scalar is not None and getattr(scalar, "__name__", type(scalar).__name__) in COMMUTATIVE
    return Pat(head, tuple(args), where, name, comm and len(args) == 2)


def node_key(node):
    """The dispatch key of a node: its scalar op class for Elemwise, else its op class."""
    scalar = getattr(node.op, "scalar_op", None)
    return type(scalar) if scalar is not None and _is_elemwise(node.op) else type(node.op)


def _is_elemwise(op) -> bool:
    from symcomp.tensor.elemwise import Elemwise

    return type(op) is Elemwise


def match(p, v: Variable, bindings: dict) -> dict | None:
    """Bindings extending ``bindings`` if ``v`` matches pattern ``p``, else None."""
    if isinstance(p, Var):
        bound = bindings.get(p.name)
        if bound is not None:
            return bindings if bound is v else None
        if p.pred is not None and not p.pred(v):
            return None
        return {**bindings, p.name: v}
    if isinstance(p, Const):
        if not isinstance(v, Constant) or not _const_matches(p.value, v.data):
            return None
        return {**bindings, p.name: v} if p.name else bindings
    node = v.owner
    if node is None or not _head_matches(p.head, node.op):
        return None
    if len(p.args) != len(node.inputs):
        return None
    orders = [node.inputs]
    if p.commutative:
        orders.append(node.inputs[::-1])
    for inputs in orders:
        b = bindings
        for sub, inp in zip(p.args, inputs):
            b = match(sub, inp, b)
            if b is None:
                break
        if b is not None:
            if p.name:
                b = {**b, p.name: v}
            if p.where is None or p.where(b):
                return b
    return None


def _head_matches(head, op) -> bool:
    if isinstance(head, ScalarOp):
        return _is_elemwise(op) and op.scalar_op == head
    if isinstance(head, type) and issubclass(head, ScalarOp):
        return _is_elemwise(op) and isinstance(op.scalar_op, head)
    if isinstance(head, type):
        return isinstance(op, head)
    return op == head


def _const_matches(value, data) -> bool:
    if callable(value):
        return bool(value(data))
    with np.errstate(all="ignore"):
        return bool(np.all(np.asarray(data) == value))
