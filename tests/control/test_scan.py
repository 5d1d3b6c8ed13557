"""scan(): values against NumPy loops, gradients against finite differences, py and native."""

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.codegen.toolchain import find_compiler

MODES = ["py", pytest.param("native", marks=pytest.mark.cxx)]


def _native_ok(f, mode):
    """In native mode the Scan nodes run in C++ (not their Python perform)."""
    if mode == "native" and find_compiler() is not None:
        from symcomp.control.scan_op import Scan

        assert not [n for n in f.runner.fallback_nodes if isinstance(n.op, Scan)]


def _cumsum(x):
    out, updates = sc.scan(lambda v, acc: acc + v, sequences=x, outputs_info=st.zeros_like(x[0]))
    assert not updates
    return out


@pytest.mark.parametrize("mode", MODES)
def test_cumulative_sum(mode):
    x = st.dmatrix("x")
    f = sc.function([x], _cumsum(x), mode=mode)
    _native_ok(f, mode)
    v = np.random.default_rng(0).normal(size=(6, 3))
    expected, acc = [], np.zeros(3)
    for row in v:
        acc = acc + row
        expected.append(acc)
    np.testing.assert_allclose(f(v), np.array(expected), rtol=1e-12)
    assert f(v[:0]).shape == (0, 3)
    sc.verify_grad(lambda x: _cumsum(x), [v], mode=mode)


def _fib(a, n):
    out, _ = sc.scan(
        lambda x2, x1: x1 + x2, outputs_info={"initial": a, "taps": [-2, -1]}, n_steps=n
    )
    return out


@pytest.mark.parametrize("mode", MODES)
def test_fibonacci_taps(mode):
    a, n = st.dvector("a"), st.lscalar("n")
    f = sc.function([a, n], _fib(a, n), mode=mode)
    _native_ok(f, mode)
    start = np.array([1.0, 1.0])
    ref, seq = [], [1.0, 1.0]
    for _ in range(10):
        seq.append(seq[-1] + seq[-2])
        ref.append(seq[-1])
    np.testing.assert_allclose(f(start, 10), ref)
    assert f(start, 0).shape == (0,)
    sc.verify_grad(lambda a: _fib(a, 7) ** 1.5, [np.array([0.5, 0.7])], mode=mode)


def _poly(c, z):
    terms, _ = sc.scan(
        lambda ci, i, zz: ci * zz**i, sequences=[c, st.arange(1000)], non_sequences=z
    )
    return terms.sum()


@pytest.mark.parametrize("mode", MODES)
def test_polynomial_sequences_and_non_sequences(mode):
    c, z = st.dvector("c"), st.dscalar("z")
    f = sc.function([c, z], [_poly(c, z), *sc.grad(_poly(c, z), [c, z])], mode=mode)
    _native_ok(f, mode)
    cv = np.array([1.0, -2.0, 3.0, 0.5])
    value = sum(ci * 1.3**i for i, ci in enumerate(cv))
    got = f(cv, 1.3)
    np.testing.assert_allclose(got[0], value)
    np.testing.assert_allclose(got[1], 1.3 ** np.arange(4))
    np.testing.assert_allclose(got[2], sum(i * ci * 1.3 ** (i - 1) for i, ci in enumerate(cv)))
    sc.verify_grad(_poly, [cv, np.array(0.9)], mode=mode)


def _rnn(x, h0, W, U, b):
    hs, _ = sc.scan(
        lambda xt, h, W, U, b: st.tanh(W @ h + U @ xt + b),
        sequences=x,
        outputs_info=h0,
        non_sequences=[W, U, b],
    )
    return hs


def _rnn_ref(x, h0, W, U, b):
    h, out = h0, []
    for xt in x:
        h = np.tanh(W @ h + U @ xt + b)
        out.append(h)
    return np.array(out)


@pytest.mark.parametrize("mode", MODES)
def test_rnn(mode):
    rng = np.random.default_rng(1)
    args = [
        rng.normal(size=(7, 3)),
        rng.normal(size=4) * 0.5,
        rng.normal(size=(4, 4)) * 0.5,
        rng.normal(size=(4, 3)) * 0.5,
        rng.normal(size=4) * 0.1,
    ]
    syms = [st.dmatrix("x"), st.dvector("h0"), st.dmatrix("W"), st.dmatrix("U"), st.dvector("b")]
    f = sc.function(syms, _rnn(*syms), mode=mode)
    _native_ok(f, mode)
    np.testing.assert_allclose(f(*args), _rnn_ref(*args), rtol=1e-12)
    sc.verify_grad(lambda *s: _rnn(*s)[-1], args, mode=mode)
    sc.verify_grad(lambda *s: _rnn(*s), args, mode=mode)


@pytest.mark.parametrize("mode", MODES)
def test_go_backwards_and_sequence_taps(mode):
    x = st.dvector("x")
    back, _ = sc.scan(
        lambda v, acc: acc * 0.5 + v,
        sequences=x,
        outputs_info=st.as_tensor_variable(np.float64(0)),
        go_backwards=True,
    )
    taps, _ = sc.scan(lambda a, b, c: a - 2 * b + c, sequences={"input": x, "taps": [-1, 0, 1]})
    f = sc.function([x], [back, taps], mode=mode)
    _native_ok(f, mode)
    v = np.arange(6.0) ** 2
    acc, ref = 0.0, []
    for e in v[::-1]:
        acc = acc * 0.5 + e
        ref.append(acc)
    got = f(v)
    np.testing.assert_allclose(got[0], ref)
    np.testing.assert_allclose(got[1], v[:-2] - 2 * v[1:-1] + v[2:])
    sc.verify_grad(
        lambda x: sc.scan(lambda a, b, c: a * b * c, sequences={"input": x, "taps": [-1, 0, 1]})[0],
        [v / 10],
        mode=mode,
    )


@pytest.mark.parametrize("mode", MODES)
def test_n_steps_only_and_nit_sot(mode):
    a = st.dscalar("a")
    (powers, halves), _ = sc.scan(lambda p: (p * a, p / 2), outputs_info=[a, None], n_steps=5)
    n = st.lscalar("n")
    zeros, _ = sc.scan(lambda p: p + 1, outputs_info=st.zeros((2,)), n_steps=n)
    f = sc.function([a, n], [powers, halves, zeros], mode=mode)
    got = f(2.0, 0)
    np.testing.assert_allclose(got[0], [4, 8, 16, 32, 64])
    np.testing.assert_allclose(got[1], [1, 2, 4, 8, 16])
    assert got[2].shape == (0, 2)
    np.testing.assert_allclose(f(2.0, 3)[2], [[1, 1], [2, 2], [3, 3]])
    with pytest.raises(ValueError, match="steps"):
        f(2.0, -1)


def test_truncate_gradient():
    x = st.dvector("x")
    h, _ = sc.scan(
        lambda v, acc: acc * 2 + v,
        sequences=x,
        outputs_info=st.as_tensor_variable(np.float64(0)),
        truncate_gradient=2,
    )
    g = sc.function([x], sc.grad(h[-1], x), mode="py")(np.ones(5))
    np.testing.assert_allclose(g, [0, 0, 0, 2, 1])


def test_shared_variables_and_updates():
    counter = sc.shared(np.float64(0), name="counter")
    w = sc.shared(np.array([1.0, 2.0]), name="w")

    def step(x):
        return x * w, {counter: counter + 1}

    x = st.dmatrix("x")
    out, updates = sc.scan(step, sequences=x)
    assert list(updates) == [counter]
    f = sc.function([x], out, updates=updates)
    v = np.ones((3, 2))
    np.testing.assert_allclose(f(v), v * [1, 2])
    assert counter.get_value() == 3.0
    f(v[:2])
    assert counter.get_value() == 5.0
    with pytest.raises(ValueError, match="strict"):
        sc.scan(step, sequences=x, strict=True)
    out2, _ = sc.scan(lambda x, w: x * w, sequences=x, non_sequences=w, strict=True)
    np.testing.assert_allclose(sc.function([x], out2)(v), v * [1, 2])


def test_default_update_advances_per_step():
    state = sc.shared(np.float64(1.0), name="state")
    state.default_update = state * 3
    x = st.dvector("x")
    out, updates = sc.scan(lambda v: v + state, sequences=x)
    assert state in updates
    f = sc.function([x], out, updates=updates)
    np.testing.assert_allclose(f(np.zeros(3)), [1, 3, 9])
    assert state.get_value() == 27.0


def test_errors_name_the_problem():
    x = st.dvector("x")
    with pytest.raises(TypeError, match="initial value"):
        sc.scan(
            lambda v, acc: (acc + v).astype("float32"),
            sequences=x,
            outputs_info=st.as_tensor_variable(np.float64(0)),
        )
    with pytest.raises(ValueError, match="n_steps"):
        sc.scan(lambda acc: acc, outputs_info=x)
    n = st.lscalar("n")
    out, _ = sc.scan(lambda v: v * 2, sequences=x, n_steps=n)
    f = sc.function([x, n], out, mode="py")
    with pytest.raises(ValueError, match="shorter"):
        f(np.ones(3), 5)
    grow, _ = sc.scan(lambda acc: st.concatenate([acc, acc]), outputs_info=x, n_steps=2)
    with pytest.raises(ValueError, match="shape"):
        sc.function([x], grow, mode="py")(np.ones(2))


@pytest.mark.cxx
def test_native_errors_do_not_crash():
    x, n = st.dvector("x"), st.lscalar("n")
    out, _ = sc.scan(lambda v: v * 2, sequences=x, n_steps=n)
    f = sc.function([x, n], out, mode="native")
    with pytest.raises(ValueError, match="shorter"):
        f(np.ones(3), 5)
    grow, _ = sc.scan(lambda acc: st.concatenate([acc, acc]), outputs_info=x, n_steps=2)
    with pytest.raises(ValueError, match="shape"):
        sc.function([x], grow, mode="native")(np.ones(2))


def test_rewrites_inner_graph_hoist_and_keep_last():
    from symcomp.control.scan_op import Scan

    W, x, h0 = st.dmatrix("W"), st.dmatrix("x"), st.dvector("h0")
    hs, _ = sc.scan(
        lambda xt, h, W: st.tanh(W.T @ h + xt), sequences=x, outputs_info=h0, non_sequences=W
    )
    f = sc.function([W, x, h0], hs[-1], mode="py")
    (node,) = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Scan)]
    inner_ops = {type(n.op).__name__ for n in sc.graph.toposort(list(node.op.inner_outputs))}
    assert "DimShuffle" not in inner_ops  # W.T is computed once, outside the loop
    assert "Gemv" in inner_ops  # the BLAS pass ran inside
    assert node.op.last_only == (True,)  # only the last state is kept
    rng = np.random.default_rng(2)
    Wv, xv, hv = rng.normal(size=(3, 3)), rng.normal(size=(5, 3)), rng.normal(size=3)
    np.testing.assert_allclose(f(Wv, xv, hv), _rnn_ref(xv, hv, Wv.T, np.eye(3), 0)[-1])


def test_accumulators_are_summed_after_the_loop():
    from symcomp.control.scan_op import Scan

    syms = [st.dmatrix("x"), st.dvector("h0"), st.dmatrix("W"), st.dmatrix("U"), st.dvector("b")]
    cost = _rnn(*syms).sum()
    grads = sc.grad(cost, syms[2:])
    f = sc.function(syms, grads, mode="py")
    backward = [
        n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Scan) and n.op.name == "grad"
    ]
    (node,) = backward
    # the W, U and b accumulators left the loop: only the cotangent of h is carried
    assert node.op.n_states == 1
    rng = np.random.default_rng(3)
    args = [
        rng.normal(size=(5, 3)),
        rng.normal(size=4),
        rng.normal(size=(4, 4)) * 0.5,
        rng.normal(size=(4, 3)) * 0.5,
        rng.normal(size=4),
    ]
    got = f(*args)
    eps, k = 1e-6, (1, 2)
    plus, minus = [a.copy() for a in args], [a.copy() for a in args]
    plus[2][k] += eps
    minus[2][k] -= eps
    ref = (_rnn_ref(*plus).sum() - _rnn_ref(*minus).sum()) / (2 * eps)
    np.testing.assert_allclose(got[0][k], ref, rtol=1e-6)
    empty = [args[0][:0]] + args[1:]
    zero = f(*empty)
    assert all(np.all(z == 0) for z in zero)
    assert [z.shape for z in zero] == [(4, 4), (4, 3), (4,)]


def test_sequence_products_leave_the_loop():
    from symcomp.control.scan_op import Scan

    x, h0 = st.dmatrix("x"), st.dvector("h0")
    U, V = st.dmatrix("U"), st.dmatrix("V")
    fwd, _ = sc.scan(
        lambda xt, h, U, V: st.tanh(U @ xt + xt @ V + h),
        sequences=x,
        outputs_info=h0,
        non_sequences=[U, V],
    )
    back, _ = sc.scan(
        lambda xt, h, U: h * 0.5 + U @ xt,
        sequences=x,
        outputs_info=h0,
        non_sequences=U,
        go_backwards=True,
    )
    f = sc.function([x, h0, U, V], [fwd, back], mode="py")
    for node in [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Scan)]:
        inner = {type(n.op).__name__ for n in sc.graph.toposort(list(node.op.inner_outputs))}
        # U @ x_t and x_t @ V are sequences computed before the loop: no product per step
        assert not inner & {"Dot", "Gemv", "MatMul"}, inner
    rng = np.random.default_rng(5)
    xv, hv = rng.normal(size=(6, 3)), rng.normal(size=4)
    Uv, Vv = rng.normal(size=(4, 3)), rng.normal(size=(3, 4))
    h, ref = hv, []
    for xt in xv:
        h = np.tanh(Uv @ xt + xt @ Vv + h)
        ref.append(h)
    h, ref_back = hv, []
    for xt in xv[::-1]:
        h = h * 0.5 + Uv @ xt
        ref_back.append(h)
    got = f(xv, hv, Uv, Vv)
    np.testing.assert_allclose(got[0], ref, rtol=1e-12)
    np.testing.assert_allclose(got[1], ref_back, rtol=1e-12)
    empty = f(xv[:0], hv, Uv, Vv)
    assert [e.shape for e in empty] == [(0, 4), (0, 4)]
