"""verify_grad: compare symbolic gradients with central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


class GradientError(AssertionError):
    """A symbolic gradient disagrees with finite differences."""


def numeric_grad(f: Callable, values: Sequence[np.ndarray], eps: float) -> list:
    """Central differences of the scalar function f at ``values`` (one array per input)."""
    grads = []
    for k, v in enumerate(values):
        g = np.zeros(v.shape, dtype=np.float64)
        flat = v.reshape(-1)
        gflat = g.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = float(f(*values))
            flat[j] = orig - eps
            minus = float(f(*values))
            flat[j] = orig
            gflat[j] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def verify_grad(
    fn: Callable,
    pt: Sequence,
    n_tests: int = 2,
    rng=None,
    eps=None,
    abs_tol=None,
    rel_tol=None,
    mode=None,
    cast_to_output_type=False,
    no_debug_ref=True,
) -> None:
    """Check the gradient of ``fn`` (symbolic inputs -> one output) at the point ``pt``.

    A random projection turns the output into a scalar cost; its symbolic gradient wrt
    every input is compared with central finite differences. Raises GradientError naming
    the input and the worst element on a mismatch.
    """
    import symcomp
    import symcomp.tensor as st

    rng = rng if rng is not None else np.random.default_rng(42)
    pt = [np.array(p) for p in pt]
    dtype = pt[0].dtype.name if pt else "float64"
    if eps is None:
        eps = 1e-7 if dtype == "float64" else 3e-3
    abs_tol = abs_tol if abs_tol is not None else (1e-4 if dtype == "float64" else 3e-2)
    rel_tol = rel_tol if rel_tol is not None else (1e-4 if dtype == "float64" else 3e-2)
    inputs = [st.tensor(p.dtype, (None,) * p.ndim, name=f"input{k}") for k, p in enumerate(pt)]
    out = fn(*inputs)
    if isinstance(out, (list, tuple)):
        raise TypeError("verify_grad: fn must return one variable")
    out_fn = symcomp.function(inputs, out, mode=mode, on_unused_input="ignore")
    out_value = np.asarray(out_fn(*pt))
    float_idx = [k for k, p in enumerate(pt) if p.dtype.kind == "f"]
    if not float_idx:
        raise TypeError("verify_grad: no float input to differentiate")
    for _ in range(n_tests):
        proj = rng.uniform(0.5, 1.5, size=out_value.shape) * rng.choice([-1, 1], out_value.shape)
        proj_var = st.constant(proj.astype(out.dtype))
        cost = (out * proj_var).sum()
        wrt = [inputs[k] for k in float_idx]
        grads = symcomp.grad(cost, wrt, disconnected_inputs="ignore")
        grad_fn = symcomp.function(inputs, grads, mode=mode, on_unused_input="ignore")
        cost_fn = symcomp.function(inputs, cost, mode=mode, on_unused_input="ignore")
        symbolic = grad_fn(*pt)
        numeric = _numeric_subset(cost_fn, pt, float_idx, eps)
        for k, s, n in zip(float_idx, symbolic, numeric):
            _compare(k, np.asarray(s, dtype=np.float64), n, abs_tol, rel_tol)


def _numeric_subset(cost_fn, pt, idx, eps):
    values = [p.copy() for p in pt]
    fixed = {k: values[k] for k in range(len(values)) if k not in idx}

    def f(*free):
        args = list(fixed.get(k) for k in range(len(values)))
        for k, v in zip(idx, free):
            args[k] = v
        return cost_fn(*args)

    return numeric_grad(f, [values[k] for k in idx], eps)


def _compare(k, sym, num, abs_tol, rel_tol):
    if sym.shape != num.shape:
        raise GradientError(f"gradient of input {k}: shape {sym.shape}, expected {num.shape}")
    abs_err = np.abs(sym - num)
    with np.errstate(invalid="ignore"):
        rel_err = abs_err / np.maximum(np.abs(sym) + np.abs(num), 1e-8)
    # Written as not(<=) so a NaN or inf on either side counts as a mismatch.
    bad = ~((abs_err <= abs_tol) | (rel_err <= rel_tol))
    bad &= ~((sym == num) & np.isinf(num))  # equal infinities agree
    if bad.any():
        j = np.unravel_index(np.argmax(np.where(bad, abs_err, -1)), sym.shape)
        raise GradientError(
            f"gradient of input {k} differs from finite differences at {tuple(map(int, j))}: "
            f"symbolic {sym[j]!r}, numeric {num[j]!r} (abs err {abs_err[j]:.3g}, rel err "
            f"{rel_err[j]:.3g}; tolerances {abs_tol}, {rel_tol})"
        )
