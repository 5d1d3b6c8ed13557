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
from collections.abc import Callable
from dataclasses import dataclass, field

from symcomp.graph.apply import Apply
from symcomp.graph.basic import toposort
from symcomp.graph.sourceinfo import _override
from symcomp.graph.variable import Variable
from symcomp.optimize.pattern import Pat, _matcher, match, node_key

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

    def __post_init__(self):
        # The pattern compiled once: ``matcher(var, {})`` is ``match(pattern, var, {})``.
        self.matcher = None if self.pattern is None else _matcher(self.pattern)


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
        state = _RunState(self, ctx, stats)
        has_node_rules = bool(self.any_rules) or any(self.rules.values())
        for _ in range(MAX_SWEEPS if self.strategy == "fixed_point" else 1):
            stats.sweeps += 1
            fired = False
            if has_node_rules:  # a sweep with no rule to offer nodes to changes nothing
                outputs, fired = self._sweep(outputs, ctx, state)
            for rule in self.graph_rules:
                if not ctx.enabled(rule.name) or _same_list(state.unchanged.get(id(rule)), outputs):
                    continue  # graph rules are pure too: same graph, same (no) change
                new = _guarded(rule, outputs, ctx, lambda r=rule, o=outputs: r.fn(o, ctx))
                if new is not None and new != outputs:
                    outputs, fired = list(new), True
                    stats.fired[rule.name] += 1
                else:
                    state.unchanged[id(rule)] = tuple(outputs)
            if not fired:
                break
        stats.seconds += time.perf_counter() - start
        return outputs

    def _rules_for(self, node, ctx) -> list:
        rules = self.rules.get(node_key(node), ()) if self.rules else ()
        return [r for r in (*rules, *self.any_rules) if ctx.enabled(r.name)]

    def _sweep(self, outputs, ctx, state):
        new_of: dict = {}  # old variable -> its replacement (only those that changed)
        fired = False
        rewrite_once, stable = state.rewrite_once, state.stable
        for node in ctx.toposort(outputs):
            rebuilt = node
            if new_of:
                old_inputs = node.inputs
                for i in old_inputs:
                    if i in new_of:
                        rebuilt = rebuild_node(node, [new_of.get(i, i) for i in old_inputs])
                        for old, new in zip(node.outputs, rebuilt.outputs):
                            if old is not new:
                                new_of[old] = new
                        break
            if len(rebuilt.outputs) != 1:
                continue
            current = rebuilt.outputs[0]
            if current in stable:
                continue  # no rule changes it (and so it replaces nothing)
            for _ in range(MAX_SWEEPS):  # rewrite this value to a local fixed point
                replacement = rewrite_once(current)
                if replacement is None:
                    break
                current, fired = replacement, True
            if current is not node.outputs[0]:
                new_of[node.outputs[0]] = current
        return [new_of.get(o, o) for o in outputs], fired


class _RunState:
    """What one ``Pass.run`` keeps between nodes and sweeps: the enabled rules per dispatch
    key, and the values no rule changes. Rules are pure functions of the node (and nodes
    are immutable), so a value on which every rule returned None is not offered to them
    again in this run: the sweep that confirms a fixed point costs a walk, not a rule
    attempt per node. Likewise a graph rule is not called again on the outputs it last
    left unchanged."""

    def __init__(self, p: Pass, ctx: RewriteContext, stats: PassStats):
        self.p, self.ctx, self.stats = p, ctx, stats
        self.by_key: dict = {}
        self.stable: set = set()
        self.unchanged: dict = {}  # id(graph rule) -> the outputs it last left unchanged

    def rules(self, node) -> list:
        key = node_key(node)
        found = self.by_key.get(key)
        if found is None:
            found = self.by_key[key] = self.p._rules_for(node, self.ctx)
        return found

    def rewrite_once(self, var):
        """The first enabled rule's replacement of ``var``, or None."""
        node = var.owner
        if node is None or var in self.stable:
            return None
        ctx = self.ctx
        override = _override
        previous = override[0]
        if node.trace is not None:  # new nodes keep the user line of the replaced one
            override[0] = node.trace
        try:
            for rule in self.rules(node):
                try:
                    if rule.pattern is None:
                        new = rule.fn(node)
                    else:
                        bindings = rule.matcher(node.outputs[0], {})
                        new = None if bindings is None else rule.fn(**bindings)
                except Exception as err:  # a failing rule is skipped, never fatal by default
                    _failed(rule, node, ctx, err)
                    continue
                if new is None or new is var:
                    continue
                if not isinstance(new, (Variable, list, tuple)):
                    new = _as_variable(new)
                    if new is var:
                        continue
                if not _same_type(var, new):
                    ctx.warn(
                        f"rule {rule.name} returned {new} of type {new.type} for {var} "
                        f"of type {var.type}; skipped"
                    )
                    continue
                self.stats.fired[rule.name] += 1
                ctx.log(self.p.name, rule.name, node, new)
                return new
        finally:
            override[0] = previous
        self.stable.add(var)
        return None


def rebuild_node(node, inputs):
    """``node.op`` applied to ``inputs``, under ``node``'s user line.

    When ``node`` is an Elemwise or a plain reduction and its inputs keep their types (none
    is, or replaces, a weak Python-scalar constant), the type rule is skipped: the op's
    make_node would pass such inputs through and compute exactly the output types
    ``node`` has, since those depend on the input types only."""
    override = _override
    previous = override[0]
    if node.trace is not None:
        override[0] = node.trace
    try:
        op = node.op
        if _type_only(op):
            for a, b in zip(node.inputs, inputs):
                if a is not b and (a.weak or b.weak or not (a.type is b.type or a.type == b.type)):
                    break
            else:
                return Apply.make(op, inputs, [o.type for o in node.outputs])
        return op.make_node(*inputs)
    finally:
        override[0] = previous


_TYPE_ONLY: dict = {}  # op class -> whether its make_node is a function of input types


def _type_only(op) -> bool:
    kind = type(op)
    known = _TYPE_ONLY.get(kind)
    if known is None:
        from symcomp.tensor.elemwise import Elemwise
        from symcomp.tensor.reduction import Reduce

        known = kind is Elemwise or (
            issubclass(kind, Reduce) and kind.make_node is Reduce.make_node
        )
        _TYPE_ONLY[kind] = known
    return known


def _as_variable(result):
    from symcomp.tensor.basic import as_tensor_variable

    return as_tensor_variable(result)


def _failed(rule, subject, ctx, err) -> None:
    ctx.report.failures += 1
    if ctx.on_error == "raise":
        raise RewriteError(f"rule {rule.name} failed on {subject}: {err}") from err
    if ctx.on_error == "warn":
        ctx.warn(
            f"rule {rule.name} failed on {subject} and was skipped: {type(err).__name__}: {err}"
        )


def _guarded(rule, subject, ctx, thunk):
    try:
        result = thunk()
    except Exception as err:  # a failing rule is skipped, never fatal by default
        _failed(rule, subject, ctx, err)
        return None
    if result is not None and not isinstance(result, (Variable, list, tuple)):
        result = _as_variable(result)
    return result


def _same_list(a, b) -> bool:
    """Whether sequences ``a`` (or None) and ``b`` hold the same objects."""
    return a is not None and len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _same_type(old, new) -> bool:
    t, u = old.type, new.type
    if getattr(t, "dtype", None) != getattr(u, "dtype", None):
        return False
    if getattr(t, "ndim", None) != getattr(u, "ndim", None):
        return False
    return all(
        a is None or b is None or a == b
        for a, b in zip(getattr(t, "shape", ()), getattr(u, "shape", ()))
    )


class RewriteContext:
    """What a pipeline run knows: the graph's inputs, enabled rules, error policy, the
    report being filled and an optional debug log."""

    def __init__(self, inputs, report, excluded=(), on_error="warn", debug=False):
        self.inputs = list(inputs)
        self.report = report
        self.excluded = set(excluded)
        self.on_error = on_error
        self.debug = debug
        self._topo: tuple = ((), [])  # (outputs, their toposort): the last one asked for

    def toposort(self, outputs) -> list:
        """The Apply nodes between the inputs and ``outputs``, in toposort order (shared:
        do not modify). Remembers the last answer: a sweep that changed nothing, a graph
        rule after it and the next pass's first sweep all walk the same graph."""
        last, order = self._topo
        if not _same_list(last, outputs):
            order = toposort(outputs, blockers=self.inputs)
            self._topo = (tuple(outputs), order)
        return order

    def enabled(self, rule_name: str) -> bool:
        return rule_name not in self.excluded

    def warn(self, msg: str) -> None:
        warnings.warn(msg, stacklevel=2)

    def log(self, pass_name, rule_name, node, new) -> None:
        if self.debug:
            print(f"[{pass_name}] {rule_name}: {node} -> {new}")
