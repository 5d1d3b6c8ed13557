"""Op-table rows for symcomp/tensor/nnet conv, pooling and batchnorm, and their NumPy loop
references (shared with test_conv.py, test_pool.py and test_batchnorm.py)."""

from __future__ import annotations

import numpy as np

import symcomp.tensor as st
from symcomp.tensor.nnet.conv import Conv2d, Conv2dGradFilters, Conv2dGradInputs
from tests.tensor.optable import Case

# --- convolution --------------------------------------------------------------------------


def _pads(padding, kh, kw, dh, dw):
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return dh * (kh - 1), dw * (kw - 1)
    if padding in ("half", "same"):
        return dh * (kh - 1) // 2, dw * (kw - 1) // 2
    if isinstance(padding, int):
        return padding, padding
    return tuple(padding)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def ref_conv_all(x, w, gy=None, stride=1, padding="valid", dilation=1, groups=1, flip=True):
    """A plain loop over output positions and filter taps: (y, gx, gw) of a 2-d
    convolution (cross-correlation when not flip), gx and gw for the output gradient gy."""
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ph, pw = _pads(padding, kh, kw, dh, dw)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    wf = w[:, :, ::-1, ::-1] if flip else w
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    og = o // groups
    y = np.zeros((n, o, ho, wo), dtype=x.dtype)
    gxp = np.zeros_like(xp)
    gwf = np.zeros_like(w)
    gy = np.zeros_like(y) if gy is None else gy
    for i in range(ho):
        for j in range(wo):
            for a in range(kh):
                for b in range(kw):
                    r, q = i * sh + a * dh, j * sw + b * dw
                    for g in range(groups):
                        cs, os_ = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
                        patch = xp[:, cs, r, q]  # (N, Cg)
                        tap = wf[os_, :, a, b]  # (Og, Cg)
                        y[:, os_, i, j] += patch @ tap.T
                        gxp[:, cs, r, q] += gy[:, os_, i, j] @ tap
                        gwf[os_, :, a, b] += gy[:, os_, i, j].T @ patch
    gx = gxp[:, :, ph : ph + h, pw : pw + wd]
    gw = gwf[:, :, ::-1, ::-1] if flip else gwf
    return y, np.ascontiguousarray(gx), np.ascontiguousarray(gw)


def _conv_case(name, shapes, **kw):
    def fn(x, w):
        return st.nnet.conv2d(x, w, filter_flip=kw.get("flip", True), **_conv_kw(kw))

    def ref(x, w):
        return ref_conv_all(x, w, **kw)[0]

    return Case(name, fn, ref, shapes)


def _conv_kw(kw):
    return {k: v for k, v in kw.items() if k != "flip"}


def _op_params(kw):
    from symcomp.tensor.nnet.conv import normalize_padding

    return dict(
        stride=_pair(kw.get("stride", 1)),
        padding=normalize_padding(kw.get("padding", "valid")),
        dilation=_pair(kw.get("dilation", 1)),
        groups=kw.get("groups", 1),
        filter_flip=kw.get("flip", True),
    )


def _grad_inputs_case(name, xshape, wshape, **kw):
    """Conv2dGradInputs(w, gy, x): x only gives the shape."""
    y, *_ = ref_conv_all(np.zeros(xshape), np.zeros(wshape), **kw)

    def fn(w, gy, x):
        return Conv2dGradInputs(**_op_params(kw))(w, gy, x)

    def ref(w, gy, x):
        return ref_conv_all(np.zeros_like(x), w, gy, **kw)[1]

    return Case(name, fn, ref, [(wshape, y.shape, xshape)], grad_inputs=(0, 1))


def _grad_filters_case(name, xshape, wshape, **kw):
    """Conv2dGradFilters(x, gy, w): w only gives the shape."""
    y, *_ = ref_conv_all(np.zeros(xshape), np.zeros(wshape), **kw)

    def fn(x, gy, w):
        return Conv2dGradFilters(**_op_params(kw))(x, gy, w)

    def ref(x, gy, w):
        return ref_conv_all(x, np.zeros_like(w), gy, **kw)[2]

    return Case(name, fn, ref, [(xshape, y.shape, wshape)], grad_inputs=(0, 1))


assert Conv2d  # the rows below build it through st.nnet.conv2d

CASES = [
    _conv_case("conv2d", [((2, 3, 6, 5), (4, 3, 3, 2)), ((1, 1, 3, 3), (1, 1, 3, 3))]),
    _conv_case("conv2d_corr", [((2, 3, 6, 5), (4, 3, 3, 2))], flip=False),
    _conv_case("conv2d_stride_pad", [((2, 2, 7, 6), (3, 2, 3, 3))], stride=(2, 1), padding=(1, 2)),
    _conv_case("conv2d_dil_full", [((1, 2, 6, 7), (2, 2, 2, 3))], dilation=2, padding="full"),
    _conv_case("conv2d_groups", [((2, 4, 5, 5), (6, 2, 3, 3))], groups=2, padding="same"),
    _grad_inputs_case(
        "conv2d_grad_inputs", (2, 4, 7, 6), (6, 2, 3, 2), stride=2, padding=1, groups=2
    ),
    _grad_inputs_case("conv2d_grad_inputs_flip", (2, 3, 5, 5), (2, 3, 2, 2), flip=False),
    _grad_filters_case(
        "conv2d_grad_filters", (2, 4, 7, 6), (6, 2, 3, 2), stride=(1, 2), dilation=2, groups=2
    ),
    _grad_filters_case("conv2d_grad_filters_half", (2, 1, 5, 4), (3, 1, 2, 2), padding="half"),
]


# --- pooling ------------------------------------------------------------------------------


def _pool_len(r, ws, st, pad, ignore_border):
    if ignore_border:
        return (r + 2 * pad - ws) // st + 1
    if st >= ws:
        return (r - 1) // st + 1
    return max(0, (r - 1 - ws + st) // st) + 1


def _pool_windows(h, w, ws, st, pad, ignore_border, mode):
    """For each output (i, j): the window's real-image ranges and its divisor."""
    out = {}
    for i in range(_pool_len(h, ws[0], st[0], pad[0], ignore_border)):
        for j in range(_pool_len(w, ws[1], st[1], pad[1], ignore_border)):
            spans = []
            for k, (idx, size) in enumerate(((i, h), (j, w))):
                s, e = idx * st[k], min(idx * st[k] + ws[k], size + 2 * pad[k])
                if mode != "average_inc_pad":
                    s, e = max(s, pad[k]), min(e, size + pad[k])
                spans.append((s, e))
            (r0, r1), (c0, c1) = spans
            count = (r1 - r0) * (c1 - c0)
            rows = (max(r0, pad[0]) - pad[0], min(r1, pad[0] + h) - pad[0])
            cols = (max(c0, pad[1]) - pad[1], min(c1, pad[1] + w) - pad[1])
            out[i, j] = rows, cols, count
    return out


def ref_pool_all(x, gz=None, ws=(2, 2), stride=None, pad=(0, 0), ignore_border=True, mode="max"):
    """Loop reference of Theano's pool_2d over the last two dims: (y, gx) for the output
    gradient gz (max: gz to every position equal to the window's maximum)."""
    ws, pad = _pair(ws), _pair(pad)
    st = ws if stride is None else _pair(stride)
    h, w = x.shape[-2:]
    wins = _pool_windows(h, w, ws, st, pad, ignore_border, mode)
    ho = max(i for i, _ in wins) + 1
    wo = max(j for _, j in wins) + 1
    y = np.zeros(x.shape[:-2] + (ho, wo), dtype=x.dtype)
    gx = np.zeros_like(x)
    gz = np.zeros_like(y) if gz is None else gz
    for (i, j), ((r0, r1), (c0, c1), count) in wins.items():
        win = x[..., r0:r1, c0:c1]
        if mode == "max":
            m = win.max(axis=(-2, -1))
            y[..., i, j] = m
            gx[..., r0:r1, c0:c1] += (win == m[..., None, None]) * gz[..., i, j, None, None]
        else:
            div = 1 if mode == "sum" else count
            y[..., i, j] = win.sum(axis=(-2, -1)) / div
            gx[..., r0:r1, c0:c1] += gz[..., i, j, None, None] / div
    return y, gx


def _pool_case(name, shapes, **kw):
    def fn(x):
        return st.nnet.pool_2d(x, **kw)

    def ref(x):
        return ref_pool_all(x, **kw)[0]

    return Case(name, fn, ref, shapes)


def _distinct(rng, dtypes, shapes):
    """A permutation of distinct values, so no window has a tied maximum."""
    out = []
    for dtype, shape in zip(dtypes, shapes):
        size = int(np.prod(shape))
        out.append((rng.permutation(size).reshape(shape) / max(size, 1) - 0.5).astype(dtype))
    return out


def _pool_grad_case(name, xshape, **kw):
    from symcomp.tensor.nnet.pool import AveragePoolGrad, MaxPoolGrad, Pool2d

    mode = kw.get("mode", "max")
    ws = _pair(kw["ws"])
    params = dict(
        ws=ws,
        stride=_pair(kw.get("stride") or ws),
        pad=_pair(kw.get("pad", 0)),
        ignore_border=kw.get("ignore_border", True),
        mode=mode,
    )
    y, _ = ref_pool_all(np.zeros(xshape), **kw)

    if mode == "max":

        def fn(x, gz):
            return MaxPoolGrad(**params)(x, Pool2d(**params)(x), gz)

        def inputs(rng, dtypes, shapes):
            return _distinct(rng, dtypes[:1], shapes[:1]) + [
                rng.uniform(-1, 1, shapes[1]).astype(dtypes[1])
            ]

        return Case(
            name,
            fn,
            lambda x, gz: ref_pool_all(x, gz, **kw)[1],
            [(xshape, y.shape)],
            inputs=inputs,
            grad_inputs=(1,),  # linear in gz (MaxPoolGradGrad); piecewise constant in x
        )

    def fn_avg(x, gz):
        return AveragePoolGrad(**params)(x, gz)

    return Case(
        name,
        fn_avg,
        lambda x, gz: ref_pool_all(x, gz, **kw)[1],
        [(xshape, y.shape)],
        grad_inputs=(1,),
    )


CASES += [
    Case(
        "max_pool_2d",
        lambda x: st.nnet.max_pool_2d(x, (2, 2)),
        lambda x: ref_pool_all(x, ws=2)[0],
        [((2, 3, 6, 5),), ((4, 4),), ((1, 1, 2, 2),)],
        inputs=_distinct,
    ),
    _pool_case("pool_max_pad", [((2, 2, 5, 6),)], ws=3, stride=2, pad=(1, 2), mode="max"),
    _pool_case("pool_max_partial", [((2, 7, 5),)], ws=(3, 2), stride=(2, 1), ignore_border=False),
    _pool_case("pool_avg_inc", [((2, 2, 5, 6),)], ws=3, stride=2, pad=1, mode="average_inc_pad"),
    _pool_case("pool_avg_exc", [((2, 2, 5, 6),)], ws=3, stride=2, pad=1, mode="average_exc_pad"),
    _pool_case(
        "pool_avg_partial",
        [((3, 7, 5),)],
        ws=3,
        stride=2,
        ignore_border=False,
        mode="average_inc_pad",
    ),
    _pool_case("pool_sum", [((2, 3, 4, 6),)], ws=(2, 3), mode="sum"),
    _pool_grad_case("max_pool_grad", (2, 3, 6, 5), ws=2),
    _pool_grad_case("max_pool_grad_pad", (2, 2, 5, 6), ws=3, stride=2, pad=1),
    _pool_grad_case(
        "avg_pool_grad_inc", (2, 2, 5, 6), ws=3, stride=2, pad=1, mode="average_inc_pad"
    ),
    _pool_grad_case(
        "avg_pool_grad_exc",
        (2, 7, 5),
        ws=(3, 2),
        stride=1,
        ignore_border=False,
        mode="average_exc_pad",
    ),
]
