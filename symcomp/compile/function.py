"""function(): compile a graph into a callable Function."""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from symcomp.compile.graphcache import cached_rewrite
from symcomp.compile.io import In, Out
from symcomp.compile.native import make_runner
from symcomp.compile.profiling import ProfileStats
from symcomp.compile.sharedvalue import SharedVariable, default_updates
from symcomp.graph.basic import ancestors, clone_replace
from symcomp.graph.fgraph import FunctionGraph
from symcomp.graph.sourceinfo import user_source
from symcomp.graph.variable import Constant, Variable
from symcomp.optimize.inplace import InplacePlan, plan_inplace, planning_enabled
from symcomp.optimize.mode import Mode
from symcomp.optimize.pipeline import rewrite
from symcomp.tensor.basic import as_tensor_variable

MODES = ("native", "py", "debug")


class UnusedInputError(ValueError):
    """An input given to function() is not used by any output or update."""


class FunctionMaker:
    """What function() built: the FunctionGraph (``fgraph``), inputs, outputs, updates."""

    def __init__(self, fgraph, inputs, outputs, n_updates, mode, profile):
        self.fgraph = fgraph
        self.inputs = inputs  # list[In], explicit then implicit (shared)
        self.outputs = outputs  # list[Out]
        self.n_updates = n_updates
        self.mode = mode
        self.profile = profile


def function(
    inputs: Sequence = (),
    outputs=None,
    updates=None,
    givens=None,
    mode=None,
    name: str | None = None,
    on_unused_input: str = "raise",
    allow_input_downcast: bool | None = None,
    profile: bool = False,
    trust_input: bool = False,
) -> Function:
    """Compile ``outputs`` as a function of ``inputs``.

    outputs: a Variable, a list, or a dict name -> Variable (the result is then a dict);
    Out(var, borrow=True) entries allowed. updates: pairs (shared, new value) or a dict,
    applied after all outputs are computed (every update reads the old values). givens:
    pairs (var, replacement) substituted in the graph. mode: "native" (default from
    config.mode), "py" or "debug".
    """
    from symcomp.config import config

    resolved = Mode.resolve(mode)
    mode = resolved.linker
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise ValueError("on_unused_input must be 'raise', 'warn' or 'ignore'")
    trace = user_source()
    ins = [i if isinstance(i, In) else In(i) for i in _as_seq(inputs, "inputs")]
    for i in ins:
        if isinstance(i.variable, (Constant, SharedVariable)) or i.variable.owner is not None:
            raise TypeError(
                f"function input {i.variable} is not an input variable: inputs "
                f"must be fresh symbolic variables (not constants, shared "
                f"variables or results of operations); use givens to replace "
                f"an intermediate value"
            )
        if allow_input_downcast is not None and i.allow_downcast is None:
            i.allow_downcast = allow_input_downcast
    _check_distinct([i.variable for i in ins])
    outs, out_keys, single = _normalize_outputs(outputs)
    upd = _normalize_updates(updates)
    # Shared variables with a default_update (random states) advance unless updated explicitly.
    upd += _normalize_updates(
        default_updates([o.variable for o in outs] + [n for _, n in upd], [v for v, _ in upd])
    )
    graph_outputs = [o.variable for o in outs] + [new for _, new in upd]
    if givens:
        pairs = list(givens.items()) if isinstance(givens, Mapping) else list(givens)
        graph_outputs = clone_replace(graph_outputs, _check_givens(pairs))
    reached = ancestors(graph_outputs)
    _check_unused(ins, set(reached), on_unused_input)
    leaves = [v for v in reached if v.owner is None]
    shared_vars = [v for v in leaves if isinstance(v, SharedVariable)]
    for var, _ in upd:
        if var not in shared_vars:
            shared_vars.append(var)
    implicit = [In(v, name=v.name, borrow=True) for v in shared_vars]
    graph_inputs = [i.variable for i in ins] + shared_vars
    given = set(graph_inputs)
    if any(v not in given and not isinstance(v, Constant) for v in leaves):
        FunctionGraph(graph_inputs, graph_outputs)  # reports the missing input before rewriting
    graph_outputs, report = cached_rewrite(
        graph_inputs, graph_outputs, resolved, config.on_opt_error, rewrite
    )
    fgraph = FunctionGraph(graph_inputs, graph_outputs)
    planned = planning_enabled(resolved)
    plan_key = _plan_key(report, ins, upd, graph_inputs, planned)
    if planned:
        _plan_memory(fgraph, plan_key, ins, upd, len(outs))
    maker = FunctionMaker(fgraph, ins + implicit, outs, len(upd), mode, profile)
    maker.rewrite_report = report
    maker.plan_key = plan_key
    fn = Function(
        maker,
        n_explicit=len(ins),
        updated=[v for v, _ in upd],
        name=name,
        out_keys=out_keys,
        single=single,
        trace=trace,
    )
    fn.trust_input = trust_input
    return fn


def _plan_key(report, ins, upd, graph_inputs, planned) -> str | None:
    """A key for everything the final graph is made from (the cached rewrite's key, the
    in-place planning inputs), or None when the rewrite was not cacheable."""
    key = getattr(report, "graph_key", None)
    if key is None:
        return None
    mutable = [k for k, i in enumerate(ins) if i.mutable]
    position = {id(v): k for k, v in enumerate(graph_inputs)}
    updated = [position[id(var)] for var, _ in upd]
    return f"{key}|{planned}|{mutable}|{updated}"


# In-place plans by plan key, this process: (node ops, {node position: input}, checked node
# positions, update positions). The plan key stands for the final graph and the planning
# inputs, so a function built again from the same code gets the same plan without planning.
_PLANS: dict[str, tuple] = {}
_PLANS_MAX = 512


def _plan_memory(fgraph, plan_key, ins, upd, n_outputs: int) -> None:
    """Set ``fgraph.inplace_plan``: remembered for ``plan_key``, or planned (and remembered)."""
    nodes = fgraph.apply_nodes
    known = _PLANS.get(plan_key) if plan_key is not None else None
    if known is not None:
        ops, where, checked, updates = known
        if len(ops) == len(nodes) and all(n.op == op for n, op in zip(nodes, ops)):
            fgraph.inplace_plan = InplacePlan(
                {nodes[p]: k for p, k in where.items()},
                frozenset(nodes[p] for p in checked),
                updates,
            )
            return
    plan = plan_inplace(
        fgraph,
        mutable_inputs=[i.variable for i in ins if i.mutable],
        shared_updates={var: n_outputs + k for k, (var, _) in enumerate(upd)},
    )
    if plan_key is None:
        return
    position = {node: p for p, node in enumerate(nodes)}
    _PLANS.pop(plan_key, None)
    _PLANS[plan_key] = (
        tuple(n.op for n in nodes),
        {position[n]: k for n, k in plan.nodes.items()},
        frozenset(position[n] for n in plan.checked),
        plan.updates,
    )
    while len(_PLANS) > _PLANS_MAX:
        del _PLANS[next(iter(_PLANS))]


def _as_seq(x, what):
    if x is None:
        return []
    if isinstance(x, (Variable, In)):
        raise TypeError(f"{what} must be a list; wrap the single input as [{x}]")
    return list(x)


def _check_distinct(variables):
    seen = set()
    for v in variables:
        if v in seen:
            raise ValueError(f"the input {v} is given twice")
        seen.add(v)


def _normalize_outputs(outputs):
    if outputs is None:
        return [], None, False
    if isinstance(outputs, Mapping):
        keys = list(outputs)
        return [_as_out(outputs[k]) for k in keys], keys, False
    if isinstance(outputs, (Variable, Out)):
        return [_as_out(outputs)], None, True
    return [_as_out(o) for o in outputs], None, False


def _as_out(o) -> Out:
    if isinstance(o, Out):
        return Out(as_tensor_variable(o.variable), o.borrow)
    return Out(as_tensor_variable(o))


def _normalize_updates(updates) -> list:
    if not updates:
        return []
    pairs = list(updates.items()) if isinstance(updates, Mapping) else list(updates)
    result, seen = [], set()
    for pair in pairs:
        var, new = pair
        if not isinstance(var, SharedVariable):
            raise TypeError(
                f"updates must be (shared variable, new value) pairs; {var} is "
                f"not a shared variable"
            )
        if var in seen:
            raise ValueError(f"the shared variable {var} is updated twice")
        seen.add(var)
        new = as_tensor_variable(new)
        if isinstance(new, Constant) and getattr(new, "weak", False):
            from symcomp.tensor.arith import cast

            new = cast(new, var.dtype)
        if not _types_agree(var.type, new.type):
            raise TypeError(
                f"an update must have the type of its shared variable: {var} is "
                f"{var.type} but its update {new} is {new.type}; cast the update "
                f"(e.g. st.cast(new, '{var.dtype}')) or give the shared variable that type"
            )
        result.append((var, new))
    return result


def _types_agree(t, u) -> bool:
    """Same dtype and ndim, and no static lengths that contradict each other."""
    return (
        t.dtype == u.dtype
        and t.ndim == u.ndim
        and all(a is None or b is None or a == b for a, b in zip(t.shape, u.shape))
    )


def _check_givens(pairs):
    result = {}
    for old, new in pairs:
        new = as_tensor_variable(new)
        if old.type.dtype != new.type.dtype or old.type.ndim != new.type.ndim:
            raise TypeError(
                f"givens: {old} ({old.type}) cannot be replaced by {new} "
                f"({new.type}): dtypes and ndims must match"
            )
        result[old] = new
    return result


def _check_unused(ins, used, policy):
    unused = [i for i in ins if i.variable not in used]
    if not unused or policy == "ignore":
        return
    names = ", ".join(str(i.variable) for i in unused)
    msg = (
        f"function() got inputs that no output or update uses: {names}; pass "
        f"on_unused_input='ignore' (or 'warn') if that is intended"
    )
    if policy == "raise":
        raise UnusedInputError(msg)
    warnings.warn(msg, stacklevel=3)


class Function:
    """A compiled function. Call it with the inputs' values positionally or by name.

    Attributes: ``maker.fgraph`` (the graph that runs), ``trust_input`` (skip argument
    checks), ``profile`` (ProfileStats when compiled with profile=True), ``source`` and
    ``cache_entry`` (the generated code, None in py mode).
    """

    def __init__(self, maker, n_explicit, updated, name, out_keys, single, trace, containers=None):
        self.maker = maker
        self.name = name
        self.trace = trace
        self.n_explicit = n_explicit
        self.updated = updated
        self.out_keys = out_keys
        self.single = single
        self._caller = None
        self.trust_input = False
        self.cache_entry = None
        self.profile = ProfileStats(name) if maker.profile else None
        self.rewrite_report = getattr(maker, "rewrite_report", None)
        if self.profile is not None:
            self.profile.rewrite_report = self.rewrite_report
        implicit = maker.inputs[n_explicit:]
        self.containers = containers or [i.variable.container for i in implicit]
        self._update_containers = [
            self.containers[implicit.index(_find(implicit, v))] for v in updated
        ]
        self.runner = make_runner(
            maker.fgraph, maker.mode, self.profile, getattr(maker, "plan_key", None)
        )
        self.cache_entry = getattr(self.runner, "cache_entry", None)
        self._names = {i.name: k for k, i in enumerate(maker.inputs[:n_explicit]) if i.name}
        self._defaults = [i.value if i.has_default else None for i in maker.inputs[:n_explicit]]
        self._n_outputs = len(maker.outputs)
        self._copy_outputs = [not o.borrow for o in maker.outputs]
        self._checks = [
            (np.dtype(t.dtype), t.ndim, None if set(t.shape) <= {None} else t.shape)
            for t in (i.variable.type for i in maker.inputs[:n_explicit])
        ]
        self._install_caller()

    @property
    def trust_input(self) -> bool:
        """Skip the argument checks and conversions (an argument must then already be an
        ndarray of the input's dtype and ndim)."""
        return self._trust_input

    @trust_input.setter
    def trust_input(self, value: bool) -> None:
        self._trust_input = bool(value)
        if self._caller is not None:
            self._caller.trust_input = self._trust_input

    def _install_caller(self) -> None:
        """Native functions: calls with positional arguments go straight into the module
        (``Caller`` in templates/include/symcomp/caller.hpp); the rest, and profiled
        functions, take the Python path below."""
        make = getattr(self.runner, "caller", None)
        if make is None or self.profile is not None:
            return
        kind = 1 if self.single else (0 if self.out_keys is None else 2)
        self._caller = make(
            n_explicit=self.n_explicit,
            containers=tuple(self.containers),
            updated=tuple(self._update_containers),
            copy=bytes(self._copy_outputs),
            kind=kind,
            keys=None if self.out_keys is None else tuple(self.out_keys),
            general=functools.partial(Function.__call__, self),
            filter=self._filter,
        )
        if self._caller is None:
            return
        # Special methods are looked up on the type: a class of its own per function.
        self.__class__ = type(
            "Function", (Function,), {"__call__": self._caller, "__module__": __name__}
        )

    def __call__(self, *args, **kwargs):
        start = time.perf_counter() if self.profile is not None else 0.0
        if kwargs or len(args) != self.n_explicit:
            values = self._arguments(args, kwargs)
        elif self.trust_input:
            values = list(args)
        else:
            # Fast path: an ndarray of exactly the input's dtype, ndim and static shape
            # needs no conversion; anything else goes through TensorType.filter.
            values = [
                a
                if type(a) is np.ndarray
                and a.dtype is dt
                and a.ndim == nd
                and (static is None or _fits(a.shape, static))
                else self._filter(k, a)
                for k, (a, (dt, nd, static)) in enumerate(zip(args, self._checks))
            ]
        values.extend(c.value for c in self.containers)
        results = self.runner.run(values)
        outputs = results[: self._n_outputs]
        for k, copy in enumerate(self._copy_outputs):
            if copy:
                outputs[k] = _fresh(outputs[k], values, outputs[:k])
        for container, new in zip(self._update_containers, results[self._n_outputs :]):
            # An update computed in place into the old value's buffer keeps that buffer.
            container.value = new if new is container.value else _fresh(new, values, outputs)
        if self.profile is not None:
            self.profile.calls += 1
            self.profile.call_time += time.perf_counter() - start
        if self.single:
            return outputs[0]
        if self.out_keys is not None:
            return dict(zip(self.out_keys, outputs))
        return outputs

    def _arguments(self, args, kwargs) -> list:
        n = self.n_explicit
        if len(args) > n:
            raise TypeError(f"{self._label()} takes {n} arguments, got {len(args)}")
        values = list(args) + [None] * (n - len(args))
        given = [True] * len(args) + [False] * (n - len(args))
        for key, value in kwargs.items():
            k = self._names.get(key)
            if k is None:
                raise TypeError(
                    f"{self._label()} has no input named {key!r}; inputs: "
                    f"{', '.join(map(str, self._names)) or '(none named)'}"
                )
            if given[k]:
                raise TypeError(f"{self._label()} got input {key!r} twice")
            values[k], given[k] = value, True
        ins = self.maker.inputs
        for k in range(n):
            if not given[k]:
                if not ins[k].has_default:
                    raise TypeError(f"{self._label()}: missing input {k} ({ins[k].variable})")
                values[k] = self._defaults[k]
        if not self.trust_input:
            for k in range(n):
                values[k] = self._filter(k, values[k])
        return values

    def _filter(self, k, value):
        inp = self.maker.inputs[k]
        try:
            return inp.variable.type.filter(
                value, strict=inp.strict, allow_downcast=inp.allow_downcast
            )
        except (TypeError, ValueError) as err:
            raise type(err)(
                f"bad argument {k} ({inp.variable}) to {self._label()}: {err}"
                + (f"\nThe function was built at:\n  {self.trace}" if self.trace else "")
            ) from None

    def _label(self) -> str:
        return f"function {self.name!r}" if self.name else "the function"

    def copy(self, share_memory: bool = True, swap: Mapping | None = None, name=None):
        """A copy of this function. share_memory=False gives it its own copies of the
        shared values; swap maps shared variables to others whose values it uses."""
        implicit = [i.variable for i in self.maker.inputs[self.n_explicit :]]
        containers = []
        for var, c in zip(implicit, self.containers):
            if swap and var in swap:
                containers.append(swap[var].container)
            elif share_memory:
                containers.append(c)
            else:
                from symcomp.compile.sharedvalue import Container

                containers.append(Container(np.array(c.value, copy=True)))
        fn = Function(
            self.maker,
            self.n_explicit,
            self.updated,
            name or self.name,
            self.out_keys,
            self.single,
            self.trace,
            containers,
        )
        fn.trust_input = self.trust_input
        return fn

    @property
    def source(self) -> str | None:
        """The generated C++ source (None in py mode)."""
        return getattr(self.runner, "source", None)

    def __repr__(self):
        return f"<symcomp.Function {self.name or ''} mode={self.maker.mode}>"


def _find(ins, var):
    for i in ins:
        if i.variable is var:
            return i
    raise KeyError(var)


def _fits(shape, static) -> bool:
    return all(s is None or s == n for s, n in zip(static, shape))


def _fresh(value, inputs, others):
    """``value`` unless it may alias an input, another output or a constant: then a copy."""
    if value.base is not None:
        return value.copy()
    for v in inputs:
        if v is value:
            return value.copy()
    for o in others:
        if o is value:
            return value.copy()
    return value if value.flags.writeable else value.copy()
