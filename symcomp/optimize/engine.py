"""The rewrite engine: rules registered into named passes, applied in sweeps.

A sweep walks the graph in toposort order, rebuilding each node on its (possibly
rewritten) inputs — hash-consing merges equal nodes on the way — then offers the node to
the rules dispatched on its op. A rule returns a replacement variable (same dtype and ndim)
or None. ``fixed_point`` passes sweep until no rule fires. New nodes made by a rule carry
the replaced node's user source line.
"""

from __future__ import annotations

import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from symcomp.graph.basic import toposort
from symcomp.graph.sourceinfo import attributed_to
from symcomp.graph.variable import Variable
from symcomp.optimize.pattern import Pat, match, node_key

MAX_SWEEPS = 30


class RewriteError(RuntimeError):
    """A rule raised while config.on_opt_error is "raise"."""


@dataclass
class Rule:
    """One rewrite: ``fn(**bindings)`` for a pattern rule, ``fn(node)`` for a node rule."""

    name: str
    fn: Callable
    pattern: Pat | None = None
    tags: tuple = ()

    def apply(self, node):
        if self.pattern is None:
            return self.fn(node)
        out = node.outputs[0]
        bindings = match(self.pattern, out, {})
        if bindings is None:
            return None
        return self.fn(**bindings)


@dataclass
class PassStats:
    seconds: float = 0.0
    sweeps: int = 0
    fired: dict = field(default_factory=lambda: defaultdict(int))


class Pass:
    """A named set of rules, applied ``once`` (one sweep) or to a ``fixed_point``.

    ``@p.rule(pattern)`` registers a pattern rule, ``@p.node_rule(OpOrScalarOpClass)`` a
    plain function of the node; ``@p.graph_rule`` a function ``fn(outputs, ctx)`` of the whole output list
    (for passes no local rule can express, such as fusion).
    """

    def __init__(self, name: str, strategy: str = "fixed_point", doc: str = ""):
        if strategy not in ("fixed_point", "once"):
            raise ValueError("strategy must be 'fixed_point' or 'once'")
        self.name = name
        self.strategy = strategy
        self.doc = doc
        self.rules: dict = defaultdict(list)  # dispatch key -> [Rule]
        self.any_rules: list = []  # rules offered every node
        self.graph_rules: list = []

    def __repr__(self) -> str:
        return f"Pass({self.name!r})"

    @property
    def rule_names(self) -> list:
        names = [r.name for rules in self.rules.values() for r in rules]
        return names + [r.name for r in self.any_rules] + [r.name for r in self.graph_rules]

    def rule(self, pattern: Pat, name: str | None = None):
        def register(fn):
            self.rules[pattern.dispatch_key()].append(Rule(name or fn.__name__, fn, pattern))
            return fn

        return register

    def node_rule(self, *keys, name: str | None = None):
        """Register ``fn(node)`` for nodes whose op (or Elemwise scalar op) is one of
        ``keys`` (classes); with no key, for every node."""

        def register(fn):
            rule = Rule(name or fn.__name__, fn)
            if not keys:
                self.any_rules.append(rule)
            for key in keys:
                self.rules[key].append(rule)
            return fn

        return register

    def graph_rule(self, fn):
        self.graph_rules.append(Rule(fn.__name__, fn))
        return fn

    # -- running --------------------------------------------------------------------
    def run(self, outputs: list, ctx: RewriteContext) -> list:
        stats = ctx.report.stats(self.name)
        start = time.perf_counter()
        for _ in range(MAX_SWEEPS if self.strategy == "fixed_point" else 1):
            stats.sweeps += 1
            outputs, fired = self._sweep(outputs, ctx, stats)
            for rule in self.graph_rules:
                if ctx.enabled(rule.name):
                    new = _guarded(rule, outputs, ctx, lambda r=rule: r.fn(outputs, ctx))
                    if new is not None and new != outputs:
                        outputs, fired = list(new), True
                        stats.fired[rule.name] += 1
            if not fired:
                break
        stats.seconds += time.perf_counter() - start
        return outputs

    def _rules_for(self, node, ctx) -> list:
        rules = self.rules.get(node_key(node), ()) if self.rules else ()
        return [r for r in (*rules, *self.any_rules) if ctx.enabled(r.name)]

    def _sweep(self, outputs, ctx, stats):
        new_of: dict = {}
        fired = False
        for node in toposort(outputs, blockers=ctx.inputs):
            inputs = [new_of.get(i, i) for i in node.inputs]
            if any(a is not b for a, b in zip(inputs, node.inputs)):
                with attributed_to(node.trace):
                    rebuilt = node.op.make_node(*inputs)
            else:
                rebuilt = node
            for old, new in zip(node.outputs, rebuilt.outputs):
                new_of[old] = new
            if len(rebuilt.outputs) != 1:
                continue
            current = rebuilt.outputs[0]
            for _ in range(MAX_SWEEPS):  # rewrite this value to a local fixed point
                replacement = self._rewrite_once(current, ctx, stats)
                if replacement is None:
                    break
                current, fired = replacement, True
            new_of[node.outputs[0]] = current
        return [new_of.get(o, o) for o in outputs], fired

    def _rewrite_once(self, var, ctx, stats):
        node = var.owner
        if node is None:
            return None
        for rule in self._rules_for(node, ctx):
            new = _guarded(rule, node, ctx, lambda r=rule: _call(r, node))
            if new is None or new is var:
                continue
            if not _same_type(var, new):
                ctx.warn(f"rule {rule.name} returned {new} of type {new.type} for {var} of "
                         f"type {var.type}; skipped")
                continue
            stats.fired[rule.name] += 1
            ctx.log(self.name, rule.name, node, new)
            return new
        return None


def _call(rule, node):
    with attributed_to(node.trace):  # new nodes keep the user line of the replaced one
        return rule.apply(node)


def _guarded(rule, subject, ctx, thunk):
    try:
        result = thunk()
    except Exception as err:  # a failing rule is skipped, never fatal by default
        ctx.report.failures += 1
        if ctx.on_error == "raise":
            raise RewriteError(f"rule {rule.name} failed on {subject}: {err}") from err
        if ctx.on_error == "warn":
            ctx.warn(f"rule {rule.name} failed on {subject} and was skipped: "
                     f"{type(err).__name__}: {err}")
        return None
    if result is not None and not isinstance(result, (Variable, list, tuple)):
        from symcomp.tensor.basic import as_tensor_variable

        result = as_tensor_variable(result)
    return result


def _same_type(old, new) -> bool:
    t, u = old.type, new.type
    if getattr(t, "dtype", None) != getattr(u, "dtype", None):
        return False
    if getattr(t, "ndim", None) != getattr(u, "ndim", None):
        return False
    return all(a is None or b is None or a == b
               for a, b in zip(getattr(t, "shape", ()), getattr(u, "shape", ())))


class RewriteContext:
    """What a pipeline run knows: the graph's inputs, enabled rules, error policy, the
    report being filled and an optional debug log."""

    def __init__(self, inputs, report, excluded=(), on_error="warn", debug=False):
        self.inputs = list(inputs)
        self.report = report
        self.excluded = set(excluded)
        self.on_error = on_error
        self.debug = debug

    def enabled(self, rule_name: str) -> bool:
        return rule_name not in self.excluded

    def warn(self, msg: str) -> None:
        warnings.warn(msg, stacklevel=2)

    def log(self, pass_name, rule_name, node, new) -> None:
        if self.debug:
            print(f"[{pass_name}] {rule_name}: {node} -> {new}")
