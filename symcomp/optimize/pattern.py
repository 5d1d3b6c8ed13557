"""The pattern language of rewrite rules.

``pat(head, *args)`` matches a node whose op is ``head``: an Op instance (equality), an Op
class (isinstance), or a ScalarOp instance or class (an Elemwise applying it). Arguments
are sub-patterns, ``var("x")`` (binds any variable; the same name must bind the same
variable), ``const(value)`` (a constant equal to value everywhere, after broadcasting) or
``const(predicate)``. ``where=`` adds a predicate on the bindings. Patterns on ``add`` and
``mul`` also match with the two arguments swapped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    op = node.op
    kind = type(op)
    return type(op.scalar_op) if kind is _elemwise_class() else kind


_ELEMWISE: list = []


def _elemwise_class() -> type:
    """symcomp.tensor.elemwise.Elemwise (imported on first use: the tensor package imports
    this one)."""
    if not _ELEMWISE:
        from symcomp.tensor.elemwise import Elemwise

        _ELEMWISE.append(Elemwise)
    return _ELEMWISE[0]


def _is_elemwise(op) -> bool:
    return type(op) is _elemwise_class()


def match(p, v: Variable, bindings: dict) -> dict | None:
    """Bindings extending ``bindings`` if ``v`` matches pattern ``p``, else None."""
    return _matcher(p)(v, bindings)


# id(pattern) -> (pattern, its matcher); the pattern is held so its id is never reused.
_MATCHERS: dict = {}


def _matcher(p) -> Callable:
    """``p`` compiled to a function ``(v, bindings) -> bindings or None``: the pattern's
    tests are decided once, here, instead of on every node the rule is offered."""
    found = _MATCHERS.get(id(p))
    if found is not None:
        return found[1]
    if isinstance(p, Var):
        fn = _var_matcher(p.name, p.pred)
    elif isinstance(p, Const):
        fn = _const_matcher(p.value, p.name)
    else:
        fn = _pat_matcher(p)
    _MATCHERS[id(p)] = (p, fn)
    return fn


def _var_matcher(name, pred):
    def match_var(v, bindings):
        bound = bindings.get(name)
        if bound is not None:
            return bindings if bound is v else None
        if pred is not None and not pred(v):
            return None
        return {**bindings, name: v}

    return match_var


def _const_matcher(value, name):
    def match_const(v, bindings):
        if not isinstance(v, Constant) or not _const_matches(value, v.data):
            return None
        return {**bindings, name: v} if name else bindings

    return match_const


def _pat_matcher(p: Pat):
    head_ok = _head_test(p.head)
    subs = tuple(_matcher(a) for a in p.args)
    nargs, name, where, commutative = len(subs), p.name, p.where, p.commutative

    def match_pat(v, bindings):
        node = v.owner
        if node is None or not head_ok(node.op):
            return None
        inputs = node.inputs
        if len(inputs) != nargs:
            return None
        for order in (inputs, inputs[::-1]) if commutative else (inputs,):
            b = bindings
            for sub, inp in zip(subs, order):
                b = sub(inp, b)
                if b is None:
                    break
            if b is not None:
                if name:
                    b = {**b, name: v}
                if where is None or where(b):
                    return b
        return None

    return match_pat


def _head_test(head) -> Callable:
    """A test ``op -> bool`` equivalent to ``_head_matches(head, op)``."""
    if isinstance(head, ScalarOp):

        def scalar_op_is(op):
            return type(op) is _elemwise_class() and op.scalar_op == head

        return scalar_op_is
    if isinstance(head, type) and issubclass(head, ScalarOp):

        def scalar_op_of_class(op):
            return type(op) is _elemwise_class() and isinstance(op.scalar_op, head)

        return scalar_op_of_class
    if isinstance(head, type):

        def op_of_class(op):
            return isinstance(op, head)

        return op_of_class

    def op_is(op):
        return op == head

    return op_is


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
    if type(data) is np.ndarray and data.size == 1 and isinstance(value, (int, float, np.generic)):
        # the usual scalar constant: what np.all gives for one element, without a reduction
        return bool(data == value)
    with np.errstate(all="ignore"):
        return bool(np.all(np.asarray(data) == value))
