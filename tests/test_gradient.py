"""grad, Lop, Rop, jacobian, hessian, verify_grad and the gradient-blocking ops."""

import numpy as np
import pytest

import symcomp as sc
import symcomp.tensor as st
from symcomp.gradient import DisconnectedInputError, GradientError


def test_grad_of_scalar_expression():
    a, b = st.dscalar("a"), st.dscalar("b")
    c = a * a * 3 + b / a - a
    ga, gb = sc.grad(c, [a, b])
    f = sc.function([a, b], [ga, gb], mode="py")
    va, vb = f(2.0, 5.0)
    assert va == pytest.approx(12 - 5 / 4 - 1) and vb == pytest.approx(0.5)


def test_non_scalar_cost_raises_type_error():
    x = st.dvector("x")
    with pytest.raises(TypeError, match="scalar"):
        sc.grad(x * 2, x)


def test_disconnected_wrt_raises_naming_it():
    a, b = st.dscalar("a"), st.dscalar("bee")
    with pytest.raises(DisconnectedInputError, match="bee"):
        sc.grad(a * 2, b)
    with pytest.warns(UserWarning, match="bee"):
        g = sc.grad(a * 2, b, disconnected_inputs="warn")
    assert g.eval({b: 1.0}) == 0.0
    assert sc.grad(a * 2, b, disconnected_inputs="ignore", return_disconnected="none") is None


def test_broadcasting_gradient_sums_back():
    x, m = st.dvector("x"), st.dmatrix("m")
    cost = (m * x).sum()
    gx = sc.grad(cost, x)
    val = gx.eval({x: np.ones(3), m: np.arange(6.0).reshape(2, 3)})
    np.testing.assert_allclose(val, [3, 5, 7])
    # runtime broadcasting of a dim whose length is unknown statically
    y = st.dmatrix("y")
    gy = sc.grad((m * y).sum(), y)
    val = gy.eval({y: np.ones((1, 3)), m: np.arange(6.0).reshape(2, 3)})
    np.testing.assert_allclose(val, [[3, 5, 7]])


def test_consider_constant_and_known_grads():
    x = st.dscalar("x")
    y = x * x
    g = sc.grad(y * x, x, consider_constant=[y])
    assert g.eval({x: 3.0}) == 9.0
    gk = sc.grad(None, x, known_grads={y: st.constant(2.0)})
    assert gk.eval({x: 3.0}) == 12.0


def test_stop_gradient_and_zero_grad():
    x = st.dscalar("x")
    assert sc.grad(sc.stop_gradient(x) * x, x).eval({x: 3.0}) == 3.0
    assert sc.grad(sc.zero_grad(x * x) + x, x).eval({x: 3.0}) == 1.0
    with pytest.raises(DisconnectedInputError):
        sc.grad(sc.disconnected_grad(x) * 2, x)


def test_integer_wrt_gets_zeros():
    i = st.iscalar("i")
    x = st.dscalar("x")
    g = sc.grad(x * i, i)
    assert g.eval({i: 3, x: 2.0}) == 0.0


def test_float32_gradients_stay_float32():
    x = st.fvector("x")
    g = sc.grad((x * x * 0.5).sum(), x)
    assert g.dtype == "float32"


def test_second_derivative():
    x = st.dscalar("x")
    g = sc.grad(x * x * x, x)
    gg = sc.grad(g, x)
    assert gg.eval({x: 2.0}) == pytest.approx(12.0)


def test_lop_and_rop():
    x = st.dvector("x")
    w = st.dmatrix("w")
    y = st.dot(w, x)
    v = st.dvector("v")
    u = st.dvector("u")
    xv, wv = np.array([1.0, 2.0]), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    lop = sc.Lop(y, x, u).eval({w: wv, u: np.array([1.0, 0.0, 2.0]), x: xv})
    np.testing.assert_allclose(lop, wv.T @ [1.0, 0.0, 2.0])
    rop = sc.Rop(y, x, v).eval({w: wv, v: np.array([1.0, -1.0]), x: xv})
    np.testing.assert_allclose(rop, wv @ [1.0, -1.0])
    # Rop of a nonlinear function: d(exp(x)) . v = exp(x) * v
    r2 = sc.Rop(st.exp(x), x, v).eval({x: xv, v: np.array([2.0, 3.0])})
    np.testing.assert_allclose(r2, np.exp(xv) * [2.0, 3.0])


def test_jacobian_and_hessian():
    x = st.dvector("x")
    xv = np.array([1.0, 2.0, 3.0])
    jac = sc.jacobian(x**2, x)
    np.testing.assert_allclose(jac.eval({x: xv}), np.diag(2 * xv))
    hess = sc.hessian((x**3).sum(), x)
    np.testing.assert_allclose(hess.eval({x: xv}), np.diag(6 * xv))
    xs = st.tensor("float64", (2,), name="xs")
    js = sc.jacobian(st.stack([xs[0] * xs[1], xs[0]]), xs)
    np.testing.assert_allclose(js.eval({xs: np.array([2.0, 3.0])}), [[3, 2], [1, 0]])


def test_verify_grad_catches_a_wrong_gradient():
    from dataclasses import dataclass

    from symcomp.graph import Apply, Op

    @dataclass(frozen=True)
    class WrongSquare(Op):
        abstract = True  # a test op, kept out of the registry

        def make_node(self, x):
            x = st.as_tensor_variable(x)
            return Apply.make(self, [x], [x.type])

        def perform(self, node, inputs):
            return [inputs[0] ** 2]

        def pullback(self, inputs, outputs, cotangents):
            return [cotangents[0] * inputs[0]]  # should be 2 * x

    sc.verify_grad(lambda x: x * x, [np.array([1.0, 2.0])])
    with pytest.raises(GradientError, match="input 0"):
        sc.verify_grad(lambda x: WrongSquare()(x), [np.array([1.0, 2.0])])
