"""2-d pooling over the last two dims (max, sum, average with or without the padding), as
Theano's ``pool_2d``, and the pooling gradients as ops of their own.

Geometry, per pooled dim (size r, window ws, stride st, padding p on each side): with
``ignore_border=True`` only whole windows count, ``out = (r + 2 p - ws) // st + 1``; with
``ignore_border=False`` (no padding allowed) the last windows may hang over the border and
are clipped to it. A window covers padded positions [j st, j st + ws) clipped to the padded
image; padding never holds a maximum, and the average modes differ in what they divide by:
``average_inc_pad`` by the clipped window size (padding counted as zeros, the default of
avg_pool_2d as in PyTorch's count_include_pad), ``average_exc_pad`` by the number of real
input positions in the window. The max gradient goes to every position of a window that
equals its maximum (ties all get it, as in Theano/PyTensor's MaxPoolGrad); MaxPoolGradGrad,
its derivative wrt that gradient, sums a window's positions equal to its maximum, so max
pooling has derivatives of every order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.errors import shape_str, where
from symcomp.tensor.type import TensorType

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def pool_out_len(r, ws: int, st: int, pad: int, ignore_border: bool):
    """Output length along one pooled dim of size r (an int or a symbolic scalar)."""
    if ignore_border:
        return (r + 2 * pad - ws) // st + 1
    if st >= ws:
        return (r - 1) // st + 1
    return _max0((r - 1 - ws + st) // st) + 1


def _max0(v):
    if isinstance(v, (int, np.integer)):
        return max(int(v), 0)
    from symcomp.tensor.math import maximum

    return maximum(v, 0)


def _regions(r: int, ws: int, st: int, pad: int, ignore_border: bool, inc_pad: bool):
    """(start, end) in padded coordinates of each window along one dim."""
    img = r + 2 * pad
    out = []
    for j in range(pool_out_len(r, ws, st, pad, ignore_border)):
        start = j * st
        end = min(start + ws, img)
        if not inc_pad:
            start, end = max(start, pad), min(end, img - pad)
        out.append((start, end))
    return out


@dataclass(frozen=True)
class _PoolBase(Op):
    """Window ws, stride, pad (pairs), ignore_border and mode (one of MODES)."""

    ws: tuple = (2, 2)
    stride: tuple = (2, 2)
    pad: tuple = (0, 0)
    ignore_border: bool = True
    mode: str = "max"
    abstract = True

    def __post_init__(self):
        name = type(self).__name__
        if self.mode not in MODES:
            raise ValueError(f"{name}: mode must be one of {MODES}, got {self.mode!r}")
        if min(self.ws) < 1 or min(self.stride) < 1 or min(self.pad) < 0:
            raise ValueError(
                f"{name}: ws and stride must be >= 1 and pad >= 0, got ws={self.ws}, "
                f"stride={self.stride}, pad={self.pad}"
            )
        if max(self.pad) > 0 and not self.ignore_border:
            raise ValueError(f"{name}: padding needs ignore_border=True, got pad={self.pad}")
        if self.pad[0] >= self.ws[0] or self.pad[1] >= self.ws[1]:
            raise ValueError(
                f"{name}: pad must be smaller than the window, got pad={self.pad}, ws={self.ws}"
            )

    @property
    def params(self) -> dict:
        return {
            "ws": self.ws,
            "stride": self.stride,
            "pad": self.pad,
            "ignore_border": self.ignore_border,
            "mode": self.mode,
        }

    def out_shape(self, shape):
        """The pooled shape of an input of shape ``shape`` (ints or symbolic scalars)."""
        *lead, h, w = shape
        return (
            *lead,
            pool_out_len(h, self.ws[0], self.stride[0], self.pad[0], self.ignore_border),
            pool_out_len(w, self.ws[1], self.stride[1], self.pad[1], self.ignore_border),
        )

    def _static_out_shape(self, shape):
        *lead, h, w = shape
        dims = []
        for k, r in enumerate((h, w)):
            if r is None:
                dims.append(None)
                continue
            n = pool_out_len(r, self.ws[k], self.stride[k], self.pad[k], self.ignore_border)
            dims.append(n if n >= 1 else None)
        return (*lead, *dims)

    def check_input(self, x: np.ndarray) -> None:
        """ValueError naming the shapes when a whole window does not fit the padded input."""
        h, w = x.shape[-2:]
        if h == 0 or w == 0:
            raise ValueError(
                f"{type(self).__name__}: cannot pool an empty image (input shape {x.shape}, "
                f"dtype {x.dtype})"
            )
        if self.ignore_border and (
            h + 2 * self.pad[0] < self.ws[0] or w + 2 * self.pad[1] < self.ws[1]
        ):
            raise ValueError(
                f"{type(self).__name__}: the pooling window {self.ws} is larger than the "
                f"padded input (input shape {x.shape}, dtype {x.dtype}, pad {self.pad}); use "
                f"ignore_border=False to pool partial windows"
            )

    def regions(self, h: int, w: int):
        inc = self.mode == "average_inc_pad"
        rows = _regions(h, self.ws[0], self.stride[0], self.pad[0], self.ignore_border, inc)
        cols = _regions(w, self.ws[1], self.stride[1], self.pad[1], self.ignore_border, inc)
        return rows, cols

    def padded(self, x: np.ndarray) -> np.ndarray:
        (ph, pw), lead = self.pad, ((0, 0),) * (x.ndim - 2)
        return np.pad(x, (*lead, (ph, ph), (pw, pw))) if ph or pw else x

    def _make_type_checks(self, x):
        if x.ndim < 2 or not x.dtype.startswith(("float", "int", "uint")):
            raise TypeError(
                f"{type(self).__name__}: needs a real tensor with at least 2 dims (pooled: "
                f"the last two), got {x.type} of shape {shape_str(x.type.shape)}"
                f"{where(user_source())}"
            )


@dataclass(frozen=True)
class Pool2d(_PoolBase):
    """Pooling of the last two dims of x with window ws, stride and pad (see the module)."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        self._make_type_checks(x)
        if self.mode.startswith("average") and not x.dtype.startswith("float"):
            raise TypeError(
                f"Pool2d: average pooling needs a float input, got {x.type}{where(user_source())}"
            )
        return Apply.make(self, [x], [TensorType(x.dtype, self._static_out_shape(x.type.shape))])

    def perform(self, node, inputs):
        (x,) = inputs
        self.check_input(x)
        rows, cols = self.regions(*x.shape[-2:])
        xp = self.padded(x)
        out = np.empty(x.shape[:-2] + (len(rows), len(cols)), dtype=x.dtype)
        for i, (r0, r1) in enumerate(rows):
            for j, (c0, c1) in enumerate(cols):
                window = xp[..., r0:r1, c0:c1]
                if self.mode == "max":
                    out[..., i, j] = window.max(axis=(-2, -1))
                elif self.mode == "sum":
                    out[..., i, j] = window.sum(axis=(-2, -1))
                else:
                    out[..., i, j] = window.sum(axis=(-2, -1)) / ((r1 - r0) * (c1 - c0))
        return [out]

    def infer_shape(self, node, input_shapes):
        return [self.out_shape(input_shapes[0])]

    def pullback(self, inputs, outputs, cotangents):
        (x,), (out,), (g,) = inputs, outputs, cotangents
        if g is None or not x.dtype.startswith("float"):
            return [None]
        if self.mode == "max":
            return [MaxPoolGrad(**self.params)(x, out, g)]
        return [AveragePoolGrad(**self.params)(x, g)]


@dataclass(frozen=True)
class _MaxRouting(_PoolBase):
    """MaxPoolGrad and MaxPoolGradGrad: inputs (x, the pooled maxima, v), linear in v through
    the 0/1 routing A_x, "a position equal to its window's maximum". A_x is piecewise
    constant in x and maxout (zero derivative almost everywhere, as in Theano), so the only
    gradient is wrt v: the other op of the pair (A_x^T <-> A_x) applied to the cotangent."""

    abstract = True
    operand = "gz"  # the name of v

    def make_node(self, x, maxout, v):
        x, maxout, v = (as_tensor_variable(a) for a in (x, maxout, v))
        self._make_type_checks(x)
        if maxout.ndim != x.ndim or v.ndim != x.ndim or v.dtype != x.dtype:
            raise TypeError(
                f"{type(self).__name__}: x, maxout and {self.operand} must have the same ndim "
                f"and dtype, got {x.type}, {maxout.type}, {v.type}{where(user_source())}"
            )
        return Apply.make(self, [x, maxout, v], [self.out_type(x, maxout)])

    def pullback(self, inputs, outputs, cotangents):
        x, maxout, _ = inputs
        (g,) = cotangents
        if g is None:
            return [None, None, None]
        return [None, None, self.adjoint(**self.params)(x, maxout, g)]


@dataclass(frozen=True)
class MaxPoolGrad(_MaxRouting):
    """The gradient of max pooling: inputs (x, the pooled maxima, output gradient gz);
    gz of each window goes to every position of it equal to its maximum (A_x^T gz)."""

    def out_type(self, x, maxout):
        return x.type

    @property
    def adjoint(self):
        return MaxPoolGradGrad

    def perform(self, node, inputs):
        x, maxout, gz = inputs
        self.check_input(x)
        _check_pooled(self, x, gz, "gz")
        _check_pooled(self, x, maxout, "maxout")
        rows, cols = self.regions(*x.shape[-2:])
        xp = self.padded(x)
        gxp = np.zeros(xp.shape, dtype=x.dtype)
        for i, (r0, r1) in enumerate(rows):
            for j, (c0, c1) in enumerate(cols):
                hit = xp[..., r0:r1, c0:c1] == maxout[..., i, j, None, None]
                gxp[..., r0:r1, c0:c1] += hit * gz[..., i, j, None, None]
        ph, pw = self.pad
        return [np.ascontiguousarray(gxp[..., ph : ph + x.shape[-2], pw : pw + x.shape[-1]])]

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0])]


@dataclass(frozen=True)
class MaxPoolGradGrad(_MaxRouting):
    """The gradient of MaxPoolGrad wrt its gz (Theano's DownsampleFactorMaxGradGrad):
    inputs (x, the pooled maxima, ggx shaped like x); each window's output is the sum of ggx
    over the window's positions equal to its maximum (A_x ggx)."""

    operand = "ggx"

    def out_type(self, x, maxout):
        return TensorType(x.dtype, maxout.type.shape)

    @property
    def adjoint(self):
        return MaxPoolGrad

    def perform(self, node, inputs):
        x, maxout, ggx = inputs
        self.check_input(x)
        _check_pooled(self, x, maxout, "maxout")
        if ggx.shape != x.shape:
            raise ValueError(
                f"MaxPoolGradGrad: ggx has shape {ggx.shape}, expected the input's shape {x.shape}"
            )
        rows, cols = self.regions(*x.shape[-2:])
        xp, ggp = self.padded(x), self.padded(ggx)
        out = np.empty(maxout.shape, dtype=x.dtype)
        for i, (r0, r1) in enumerate(rows):
            for j, (c0, c1) in enumerate(cols):
                hit = xp[..., r0:r1, c0:c1] == maxout[..., i, j, None, None]
                out[..., i, j] = (hit * ggp[..., r0:r1, c0:c1]).sum(axis=(-2, -1))
        return [out]

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[1])]


@dataclass(frozen=True)
class AveragePoolGrad(_PoolBase):
    """The gradient of sum/average pooling: inputs (x, output gradient gz), where x only
    gives the shape; gz of each window is spread over it (divided as the mode divides)."""

    def make_node(self, x, gz):
        x, gz = as_tensor_variable(x), as_tensor_variable(gz)
        self._make_type_checks(x)
        if self.mode == "max" or gz.ndim != x.ndim or not gz.dtype.startswith("float"):
            raise TypeError(
                f"AveragePoolGrad: needs a sum/average mode and a float gz of x's ndim, got "
                f"mode {self.mode!r}, {x.type}, {gz.type}{where(user_source())}"
            )
        return Apply.make(self, [x, gz], [TensorType(gz.dtype, x.type.shape)])

    def perform(self, node, inputs):
        x, gz = inputs
        self.check_input(x)
        _check_pooled(self, x, gz, "gz")
        rows, cols = self.regions(*x.shape[-2:])
        ph, pw = self.pad
        gxp = np.zeros(x.shape[:-2] + (x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw), gz.dtype)
        for i, (r0, r1) in enumerate(rows):
            for j, (c0, c1) in enumerate(cols):
                scale = 1 if self.mode == "sum" else (r1 - r0) * (c1 - c0)
                gxp[..., r0:r1, c0:c1] += gz[..., i, j, None, None] / scale
        return [np.ascontiguousarray(gxp[..., ph : ph + x.shape[-2], pw : pw + x.shape[-1]])]

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0])]

    def pullback(self, inputs, outputs, cotangents):
        # gx = A^T gz for the linear pooling A: <G, A^T gz> = <A G, gz>.
        x, gz = inputs
        (g,) = cotangents
        if g is None:
            return [None, None]
        return [None, Pool2d(**self.params)(g)]


def _check_pooled(op, x: np.ndarray, v: np.ndarray, label: str) -> None:
    want = tuple(op.out_shape(x.shape))
    if tuple(v.shape) != want:
        raise ValueError(
            f"{type(op).__name__}: {label} has shape {tuple(v.shape)}, expected {want} for "
            f"input shape {tuple(x.shape)}"
        )


def _pair(value, what: str) -> tuple:
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"pooling: {what} must be an int or a pair, got {value}")
    return value


def pool_2d(input, ws, ignore_border: bool = True, stride=None, pad=(0, 0), mode="max"):
    """Theano's pool_2d: pools the last two dims of ``input`` with window ``ws``; stride
    defaults to ws; mode is "max", "sum", "average_inc_pad" or "average_exc_pad"."""
    ws = _pair(ws, "ws")
    stride = ws if stride is None else _pair(stride, "stride")
    op = Pool2d(
        ws=ws, stride=stride, pad=_pair(pad, "pad"), ignore_border=bool(ignore_border), mode=mode
    )
    return op(as_tensor_variable(input))


def max_pool_2d(x, ws, stride=None, pad=(0, 0), ignore_border: bool = True):
    """Max pooling of the last two dims of x (window ws, stride ws by default)."""
    return pool_2d(x, ws, ignore_border=ignore_border, stride=stride, pad=pad, mode="max")


def avg_pool_2d(x, ws, stride=None, pad=(0, 0), ignore_border: bool = True, mode="average_inc_pad"):
    """Average pooling of the last two dims of x. ``mode``: "average_inc_pad" (default:
    padding counts as zeros in the divisor) or "average_exc_pad" (only real positions)."""
    if mode not in ("average_inc_pad", "average_exc_pad"):
        raise ValueError(
            f"avg_pool_2d: mode must be 'average_inc_pad' or 'average_exc_pad', got {mode!r}"
        )
    return pool_2d(x, ws, ignore_border=ignore_border, stride=stride, pad=pad, mode=mode)
