"""2-d convolution over NCHW images with OIHW filters, and its two gradient ops.

``conv2d`` follows Theano: by default the filters are flipped (a true convolution);
``filter_flip=False`` gives the cross-correlation that most deep-learning libraries call
convolution. The gradients wrt the input and wrt the filters are ops of their own
(``Conv2dGradInputs``, ``Conv2dGradFilters``), so gradient graphs run natively too, and each
of the three ops' pullback is made of the other two (second derivatives work).

Geometry, per spatial dim (k the filter size, d the dilation, s the stride, p the padding
on each side): ``out = (in + 2 p - d (k - 1) - 1) // s + 1``. ``padding`` is ``"valid"``
(p = 0), ``"full"`` (p = d (k - 1)), ``"half"`` (Theano's: p = d (k - 1) // 2), ``"same"``
(as "half", for odd dilated filter sizes only, so that out == in at stride 1), an int or
an ``(ph, pw)`` pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import float_of, upcast
from symcomp.tensor.errors import shape_str, where
from symcomp.tensor.type import TensorType

PAD_MODES = ("full", "half", "same")


def _pair(value, what: str) -> tuple:
    if isinstance(value, (int, np.integer)):
        value = (int(value), int(value))
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"conv2d: {what} must be an int or a pair, got {value}")
    return value


def normalize_padding(padding) -> tuple | str:
    """``padding`` as (ph, pw) ints or one of PAD_MODES ("valid" is (0, 0))."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0)
        if padding not in PAD_MODES:
            raise ValueError(
                f"conv2d: padding must be 'valid', 'full', 'half', 'same', an int or a pair, "
                f"got {padding!r}"
            )
        return padding
    pads = _pair(padding, "padding")
    if min(pads) < 0:
        raise ValueError(f"conv2d: padding must be non-negative, got {pads}")
    return pads


def pad_amount(padding, k, d, axis: int):
    """The padding on each side of spatial ``axis`` (0: rows, 1: cols) for filter size k and
    dilation d (ints, or symbolic scalars in infer_shape)."""
    if padding == "full":
        return d * (k - 1)
    if padding in ("half", "same"):
        return d * (k - 1) // 2
    return padding[axis]


@dataclass(frozen=True)
class ConvGeometry:
    """The concrete sizes of one convolution (what the kernels loop over)."""

    n: int
    c: int
    h: int
    w: int
    o: int
    kh: int
    kw: int
    ho: int
    wo: int
    ph: int
    pw: int


@dataclass(frozen=True)
class _ConvBase(Op):
    """The parameters shared by the three convolution ops: stride (sh, sw), padding
    ((ph, pw) or a mode of PAD_MODES), dilation (dh, dw), groups and filter_flip."""

    stride: tuple = (1, 1)
    padding: tuple | str = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1
    filter_flip: bool = True
    abstract = True

    def __post_init__(self):
        if min(self.stride) < 1 or min(self.dilation) < 1 or self.groups < 1:
            raise ValueError(
                f"{type(self).__name__}: stride, dilation and groups must be >= 1, got "
                f"stride={self.stride}, dilation={self.dilation}, groups={self.groups}"
            )

    @property
    def params(self) -> dict:
        return {
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "groups": self.groups,
            "filter_flip": self.filter_flip,
        }

    def out_len(self, size, k, axis: int):
        """Output length along spatial ``axis`` (ints or symbolic scalars)."""
        s, d = self.stride[axis], self.dilation[axis]
        p = pad_amount(self.padding, k, d, axis)
        return (size + 2 * p - d * (k - 1) - 1) // s + 1

    def _static_out(self, size, k, axis: int):
        if size is None or k is None:
            return None
        if self.padding == "same" and self.dilation[axis] * (k - 1) % 2:
            return None
        n = self.out_len(size, k, axis)
        return n if n >= 1 else None

    def geometry(self, xshape: tuple, wshape: tuple) -> ConvGeometry:
        """Checks that the input of shape ``xshape`` and filters of shape ``wshape`` fit
        together (ValueError naming both otherwise) and returns the sizes."""
        name = type(self).__name__
        n, c, h, w = (int(v) for v in xshape)
        o, cg, kh, kw = (int(v) for v in wshape)
        shapes = f"input shape {tuple(xshape)}, filters shape {tuple(wshape)}"
        g = self.groups
        if cg * g != c or o % g != 0:
            raise ValueError(
                f"{name}: channel mismatch: the input has {c} channels, the filters expect "
                f"{cg} per group x {g} groups = {cg * g}, and {o} output channels must be a "
                f"multiple of groups ({shapes})"
            )
        if kh < 1 or kw < 1:
            raise ValueError(f"{name}: empty filters ({shapes})")
        if self.padding == "same" and (
            self.dilation[0] * (kh - 1) % 2 or self.dilation[1] * (kw - 1) % 2
        ):
            raise ValueError(
                f"{name}: padding='same' needs odd (dilated) filter sizes; use 'half' or "
                f"explicit padding ({shapes})"
            )
        ho, wo = self.out_len(h, kh, 0), self.out_len(w, kw, 1)
        if ho < 1 or wo < 1:
            raise ValueError(
                f"{name}: the (dilated) filter window is larger than the padded input: output "
                f"size would be ({ho}, {wo}) ({shapes}, padding {self.padding}, dilation "
                f"{self.dilation})"
            )
        ph = pad_amount(self.padding, kh, self.dilation[0], 0)
        pw = pad_amount(self.padding, kw, self.dilation[1], 1)
        return ConvGeometry(n, c, h, w, o, kh, kw, ho, wo, ph, pw)

    # NumPy reference pieces ------------------------------------------------------------

    def _windows(self, x: np.ndarray, geo: ConvGeometry) -> np.ndarray:
        """im2col: (N, C, kh, kw, Ho, Wo) with the input window of every output position."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        xp = np.pad(x, ((0, 0), (0, 0), (geo.ph, geo.ph), (geo.pw, geo.pw)))
        cols = np.empty((geo.n, geo.c, geo.kh, geo.kw, geo.ho, geo.wo), dtype=x.dtype)
        for i in range(geo.kh):
            for j in range(geo.kw):
                r, q = i * dh, j * dw
                cols[:, :, i, j] = xp[
                    :, :, r : r + sh * (geo.ho - 1) + 1 : sh, q : q + sw * (geo.wo - 1) + 1 : sw
                ]
        return cols

    def _flip(self, w: np.ndarray) -> np.ndarray:
        return w[:, :, ::-1, ::-1] if self.filter_flip else w

    def _check_dtypes(self, *inputs):
        dtypes = {v.dtype for v in inputs}
        if len(dtypes) != 1 or not next(iter(dtypes)).startswith("float"):
            types = ", ".join(str(v.type) for v in inputs)
            raise TypeError(
                f"{type(self).__name__} needs float inputs of one dtype, got {types}"
                f"{where(user_source())}"
            )


def _check_4d(op, **named):
    for label, v in named.items():
        if v.ndim != 4:
            raise TypeError(
                f"{type(op).__name__}: {label} must be 4-d ({'NCHW' if label != 'filters' else 'OIHW'}), "
                f"got {v.type} of shape {shape_str(v.type.shape)}{where(user_source())}"
            )


@dataclass(frozen=True)
class Conv2d(_ConvBase):
    """y[n, o] = sum over the input channels c of o's group of x[n, c] (*) w[o, c]: NCHW
    input x, OIHW filters w with C/groups input channels; a convolution when
    filter_flip, else a cross-correlation."""

    def make_node(self, x, w):
        x, w = as_tensor_variable(x), as_tensor_variable(w)
        _check_4d(self, input=x, filters=w)
        self._check_dtypes(x, w)
        (n, _, h, wd), (o, _, kh, kw) = x.type.shape, w.type.shape
        shape = (n, o, self._static_out(h, kh, 0), self._static_out(wd, kw, 1))
        return Apply.make(self, [x, w], [TensorType(x.dtype, shape)])

    def perform(self, node, inputs):
        x, w = inputs
        geo = self.geometry(x.shape, w.shape)
        cols = self._windows(x, geo)
        wf = self._flip(w)
        g, cg, og = self.groups, geo.c // self.groups, geo.o // self.groups
        out = np.empty((geo.n, geo.o, geo.ho, geo.wo), dtype=x.dtype)
        for k in range(g):
            part = np.tensordot(
                cols[:, k * cg : (k + 1) * cg], wf[k * og : (k + 1) * og], ([1, 2, 3], [1, 2, 3])
            )  # (N, Ho, Wo, Og)
            out[:, k * og : (k + 1) * og] = part.transpose(0, 3, 1, 2)
        return [out]

    def infer_shape(self, node, input_shapes):
        (n, _, h, w), (o, _, kh, kw) = input_shapes
        return [(n, o, self.out_len(h, kh, 0), self.out_len(w, kw, 1))]

    def pullback(self, inputs, outputs, cotangents):
        x, w = inputs
        (g,) = cotangents
        if g is None:
            return [None, None]
        gx = Conv2dGradInputs(**self.params)(w, g, x)
        gw = Conv2dGradFilters(**self.params)(x, g, w)
        return [gx, gw]


@dataclass(frozen=True)
class Conv2dGradInputs(_ConvBase):
    """The gradient of Conv2d wrt its input: inputs (filters, output gradient, x), where x
    only gives the input's shape (strided convolutions lose it)."""

    def make_node(self, w, gy, x):
        w, gy, x = (as_tensor_variable(v) for v in (w, gy, x))
        _check_4d(self, filters=w, output_gradient=gy, input=x)
        self._check_dtypes(w, gy)
        return Apply.make(self, [w, gy, x], [TensorType(w.dtype, x.type.shape)])

    def perform(self, node, inputs):
        w, gy, x = inputs
        geo = self.geometry(x.shape, w.shape)
        _check_gy(self, geo, gy, x.shape, w.shape)
        wf = self._flip(w)
        g, cg, og = self.groups, geo.c // self.groups, geo.o // self.groups
        (sh, sw), (dh, dw) = self.stride, self.dilation
        gxp = np.zeros((geo.n, geo.c, geo.h + 2 * geo.ph, geo.w + 2 * geo.pw), dtype=w.dtype)
        for k in range(g):
            # (N, Ho, Wo, Og) x (Og, Cg, kh, kw) -> (N, Ho, Wo, Cg, kh, kw)
            cols = np.tensordot(
                gy[:, k * og : (k + 1) * og].transpose(0, 2, 3, 1), wf[k * og : (k + 1) * og], 1
            )
            for i in range(geo.kh):
                for j in range(geo.kw):
                    r, q = i * dh, j * dw
                    gxp[
                        :,
                        k * cg : (k + 1) * cg,
                        r : r + sh * (geo.ho - 1) + 1 : sh,
                        q : q + sw * (geo.wo - 1) + 1 : sw,
                    ] += cols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        gx = gxp[:, :, geo.ph : geo.ph + geo.h, geo.pw : geo.pw + geo.w]
        return [np.ascontiguousarray(gx)]

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[2])]

    def pullback(self, inputs, outputs, cotangents):
        # gx = A_w^T gy is linear in w and in gy: <G, gx> = <conv(G, w), gy>.
        w, gy, x = inputs
        (g,) = cotangents
        if g is None:
            return [None, None, None]
        gw = Conv2dGradFilters(**self.params)(g, gy, w)
        ggy = Conv2d(**self.params)(g, w)
        return [gw, ggy, None]


@dataclass(frozen=True)
class Conv2dGradFilters(_ConvBase):
    """The gradient of Conv2d wrt its filters: inputs (x, output gradient, w), where w only
    gives the filters' shape."""

    def make_node(self, x, gy, w):
        x, gy, w = (as_tensor_variable(v) for v in (x, gy, w))
        _check_4d(self, input=x, output_gradient=gy, filters=w)
        self._check_dtypes(x, gy)
        return Apply.make(self, [x, gy, w], [TensorType(x.dtype, w.type.shape)])

    def perform(self, node, inputs):
        x, gy, w = inputs
        geo = self.geometry(x.shape, w.shape)
        _check_gy(self, geo, gy, x.shape, w.shape)
        cols = self._windows(x, geo)
        g, cg, og = self.groups, geo.c // self.groups, geo.o // self.groups
        gw = np.empty((geo.o, cg, geo.kh, geo.kw), dtype=x.dtype)
        for k in range(g):
            gw[k * og : (k + 1) * og] = np.tensordot(
                gy[:, k * og : (k + 1) * og], cols[:, k * cg : (k + 1) * cg], ([0, 2, 3], [0, 4, 5])
            )
        return [np.ascontiguousarray(self._flip(gw))]

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[2])]

    def pullback(self, inputs, outputs, cotangents):
        # gw = dL/dw of <conv(x, w), gy>: bilinear in x and gy.
        x, gy, w = inputs
        (g,) = cotangents
        if g is None:
            return [None, None, None]
        gx = Conv2dGradInputs(**self.params)(g, gy, x)
        ggy = Conv2d(**self.params)(x, g)
        return [gx, ggy, None]


def _check_gy(op, geo: ConvGeometry, gy: np.ndarray, xshape, wshape) -> None:
    want = (geo.n, geo.o, geo.ho, geo.wo)
    if tuple(gy.shape) != want:
        raise ValueError(
            f"{type(op).__name__}: the output gradient has shape {tuple(gy.shape)}, expected "
            f"{want} (input shape {tuple(xshape)}, filters shape {tuple(wshape)})"
        )


def conv2d(
    input,
    filters,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
    filter_flip: bool = True,
    border_mode=None,
    subsample=None,
    filter_dilation=None,
):
    """2-d convolution of an NCHW ``input`` with OIHW ``filters`` (O, C/groups, kh, kw).

    stride, dilation: an int or a (rows, cols) pair. padding: "valid", "full", "half",
    "same" (odd dilated filter sizes), an int or a pair. filter_flip=True (Theano's
    default) flips the filters, a true convolution; False is a cross-correlation. Theano's
    keyword names ``border_mode``, ``subsample`` and ``filter_dilation`` are accepted too.
    Integer inputs are computed in their float type; returns (N, O, Ho, Wo).
    """
    if border_mode is not None:
        padding = border_mode
    if subsample is not None:
        stride = subsample
    if filter_dilation is not None:
        dilation = filter_dilation
    x, w = as_tensor_variable(input), as_tensor_variable(filters)
    dtype = float_of(upcast(x.dtype, w.dtype))
    from symcomp.tensor.arith import cast

    op = Conv2d(
        stride=_pair(stride, "stride"),
        padding=normalize_padding(padding),
        dilation=_pair(dilation, "dilation"),
        groups=int(groups),
        filter_flip=bool(filter_flip),
    )
    return op(cast(x, dtype), cast(w, dtype))
