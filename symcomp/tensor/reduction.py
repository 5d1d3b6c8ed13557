"""Reductions over axes (sum, prod, max, min, all, any, argmax, argmin) and the functions
built from them (mean, var, std, logsumexp). Cumulative ops live in cumulative.py."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from symcomp.graph.apply import Apply
from symcomp.graph.op import Op
from symcomp.graph.sourceinfo import user_source
from symcomp.tensor.basic import as_tensor_variable
from symcomp.tensor.dtypes import is_discrete
from symcomp.tensor.errors import where
from symcomp.tensor.type import TensorType, normalize_dtype

__all__ = [
    "All",
    "Any",
    "Argmax",
    "Argmin",
    "CumOp",
    "CumProd",
    "CumSum",
    "Max",
    "Min",
    "Prod",
    "Reduce",
    "Sum",
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "cumprod",
    "cumsum",
    "logsumexp",
    "max",
    "mean",
    "min",
    "normalize_axes",
    "prod",
    "std",
    "sum",
    "var",
]


def normalize_axes(axis, ndim: int, opname: str) -> tuple:
    """``axis`` (None, an int or a sequence of ints, negatives allowed) as a sorted tuple of
    non-negative axes; None means every axis. Raises ValueError when out of range or
    repeated, as NumPy does."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        axes = (axis,)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(
                f"{opname}: axis must be an int or a tuple of ints, got {axis!r}"
                f"{where(user_source())}"
            )
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{opname}: axis {a} is out of bounds for an array of {ndim} "
                f"dims{where(user_source())}"
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{opname}: duplicate value in axis {axis!r}{where(user_source())}")
    return tuple(sorted(out))


@lru_cache(maxsize=64)
def check_axis(opname: str, axis: int | None, x) -> None:
    """ValueError (naming the op and the user's line) when ``axis`` is not a dim of x."""
    if axis is not None and not 0 <= axis < x.ndim:
        raise ValueError(
            f"{opname}: axis {axis} out of range for {x} of type {x.type}{where(user_source())}"
        )


def sum_dtype(dtype: str) -> str:
    """NumPy's default accumulation/output dtype of sum/prod/cumsum: small ints and bool
    widen to the platform integer (int64 here), floats keep their dtype."""
    return np.sum(np.zeros(1, dtype=dtype)).dtype.name


def _reduced_shape(shape: tuple, axes: tuple, keepdims: bool) -> tuple:
    if keepdims:
        return tuple(1 if d in axes else n for d, n in enumerate(shape))
    return tuple(n for d, n in enumerate(shape) if d not in axes)


def _expand_back(g, axes: tuple, keepdims: bool):
    """A reduction's cotangent with the reduced dims back as length-1 dims."""
    from symcomp.tensor.dimshuffle import expand_dims

    return g if keepdims or not axes else expand_dims(g, axes)


@dataclass(frozen=True)
class Reduce(Op):
    """Reduce x over ``axes`` (sorted, non-negative; () reduces nothing), NumPy style.

    Subclasses set ``ufunc`` (the NumPy reduction) and may override ``out_dtype``.
    """

    axes: tuple
    keepdims: bool = False
    abstract = True
    ufunc = None
    # Reductions with no identity (max/min) raise on empty axes, as NumPy does.
    needs_nonempty = False

    def __post_init__(self):
        object.__setattr__(self, "axes", tuple(sorted(int(a) for a in self.axes)))
        if builtins.any(a < 0 for a in self.axes) or len(set(self.axes)) != len(self.axes):
            raise ValueError(
                f"{type(self).__name__}: axes must be distinct and non-negative, got {self.axes}"
            )

    def out_dtype(self, dtype: str) -> str:
        return dtype

    def make_node(self, x):
        x = as_tensor_variable(x)
        name = type(self).__name__
        if builtins.any(a >= x.ndim for a in self.axes):
            raise ValueError(
                f"{name}: axes {self.axes} out of range for {x} of type {x.type}"
                f"{where(user_source())}"
            )
        if self.needs_nonempty and builtins.any(x.type.shape[a] == 0 for a in self.axes):
            raise ValueError(
                f"{name}: zero-size reduction over axes {self.axes} of {x.type}, "
                f"which has no identity{where(user_source())}"
            )
        shape = _reduced_shape(x.type.shape, self.axes, self.keepdims)
        return Apply.make(self, [x], [TensorType(self.out_dtype(x.dtype), shape)])

    def perform(self, node, inputs):
        (x,) = inputs
        dtype = node.outputs[0].dtype
        if self.needs_nonempty and builtins.any(x.shape[a] == 0 for a in self.axes):
            raise ValueError(
                f"{type(self).__name__}: zero-size array to reduction over axes "
                f"{self.axes} (shape {x.shape}), which has no identity"
            )
        out = self._reduce(x, dtype)
        return [np.asarray(out, dtype=dtype)]

    def _reduce(self, x, dtype):
        return type(self).ufunc.reduce(x, axis=self.axes, keepdims=self.keepdims)

    def infer_shape(self, node, input_shapes):
        return [_reduced_shape(tuple(input_shapes[0]), self.axes, self.keepdims)]


@dataclass(frozen=True)
class Sum(Reduce):
    """Sum over ``axes``, accumulating in ``dtype`` (None: NumPy's default, see sum_dtype)."""

    dtype: str | None = None
    ufunc = np.add

    def out_dtype(self, dtype):
        return sum_dtype(dtype) if self.dtype is None else normalize_dtype(self.dtype)

    def _reduce(self, x, dtype):
        return np.sum(x, axis=self.axes, keepdims=self.keepdims, dtype=dtype)

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.alloc import broadcast_to
        from symcomp.tensor.arith import cast
        from symcomp.tensor.shapeof import shape_tuple

        (x,), g = inputs, cotangents[0]
        if g is None or is_discrete(x.dtype):
            return [None]
        g = cast(_expand_back(g, self.axes, self.keepdims), x.dtype)
        if g.type.shape == x.type.shape and None not in x.type.shape:
            return [g]
        return [broadcast_to(g, shape_tuple(x))]


@dataclass(frozen=True)
class Prod(Reduce):
    """Product over ``axes``, accumulating in ``dtype`` (None: NumPy's default).

    Gradient: the product of the other entries, computed without dividing by zero: with no
    zero in a slice it is prod/x; with one zero only that entry gets the product of the
    non-zeros; with two or more every entry gets 0. (Its second derivative is exact only
    away from zeros.)
    """

    dtype: str | None = None
    ufunc = np.multiply

    def out_dtype(self, dtype):
        return sum_dtype(dtype) if self.dtype is None else normalize_dtype(self.dtype)

    def _reduce(self, x, dtype):
        return np.prod(x, axis=self.axes, keepdims=self.keepdims, dtype=dtype)

    def pullback(self, inputs, outputs, cotangents):
        from symcomp.tensor.arith import cast, eq, neq, switch, true_div

        (x,), g = inputs, cotangents[0]
        if g is None or is_discrete(x.dtype):
            return [None]
        axes = self.axes
        g = cast(_expand_back(g, axes, self.keepdims), x.dtype)
        nonzero = neq(x, 0)
        safe = switch(nonzero, x, 1)
        prod_nz = cast(Prod(axes, True)(safe), x.dtype)
        n_zeros = Sum(axes, True)(cast(eq(x, 0), "int64"))
        others = switch(
            eq(n_zeros, 0),
            true_div(prod_nz, safe),
            switch(eq(n_zeros, 1), switch(nonzero, 0, prod_nz), 0),
        )
        return [cast(g * others, x.dtype)]


class _Extremum(Reduce):
    abstract = True
    needs_nonempty = True

    def pullback(self, inputs, outputs, cotangents):
        """The cotangent goes to the positions equal to the extremum; ties share it evenly
        (a valid subgradient, as JAX does), so the gradient sums to the cotangent."""
        from symcomp.tensor.arith import cast, eq, true_div

        (x,), g = inputs, cotangents[0]
        if g is None or is_discrete(x.dtype):
            return [None]
        out = _expand_back(outputs[0], self.axes, self.keepdims)
        g = cast(_expand_back(g, self.axes, self.keepdims), x.dtype)
        mask = cast(eq(x, out), x.dtype)
        count = Sum(self.axes, True)(mask)
        return [cast(mask * true_div(g, count), x.dtype)]


@dataclass(frozen=True)
class Max(_Extremum):
    """Maximum over ``axes`` (NaN propagates); an empty axis raises ValueError."""

    ufunc = np.maximum


@dataclass(frozen=True)
class Min(_Extremum):
    """Minimum over ``axes`` (NaN propagates); an empty axis raises ValueError."""

    ufunc = np.minimum


@dataclass(frozen=True)
class All(Reduce):
    """True where every entry over ``axes`` is non-zero (a bool result)."""

    differentiable = False
    ufunc = np.logical_and

    def out_dtype(self, dtype):
        return "bool"

    def _reduce(self, x, dtype):
        return np.all(x, axis=self.axes, keepdims=self.keepdims)


@dataclass(frozen=True)
class Any(Reduce):
    """True where some entry over ``axes`` is non-zero (a bool result)."""

    differentiable = False
    ufunc = np.logical_or

    def out_dtype(self, dtype):
        return "bool"

    def _reduce(self, x, dtype):
        return np.any(x, axis=self.axes, keepdims=self.keepdims)


@dataclass(frozen=True)
class _ArgReduce(Op):
    """Index of the extremum along ``axis`` (None: of the flattened array), int64."""

    axis: int | None
    keepdims: bool = False
    abstract = True
    differentiable = False
    function = None

    def make_node(self, x):
        x = as_tensor_variable(x)
        name = type(self).__name__
        check_axis(name, self.axis, x)
        axes = tuple(range(x.ndim)) if self.axis is None else (self.axis,)
        if builtins.any(x.type.shape[a] == 0 for a in axes):
            raise ValueError(
                f"{name}: attempt to get {name.lower()} of an empty sequence "
                f"({x.type}){where(user_source())}"
            )
        return Apply.make(self, [x], [TensorType("int64", self._shape(x.type.shape))])

    def _shape(self, shape):
        if self.axis is None:
            return (1,) * len(shape) if self.keepdims else ()
        return _reduced_shape(tuple(shape), (self.axis,), self.keepdims)

    def perform(self, node, inputs):
        (x,) = inputs
        axes = range(x.ndim) if self.axis is None else (self.axis,)
        if builtins.any(x.shape[a] == 0 for a in axes):
            raise ValueError(
                f"{type(self).__name__}: attempt to get "
                f"{type(self).__name__.lower()} of an empty sequence (shape "
                f"{x.shape})"
            )
        out = type(self).function(x, axis=self.axis, keepdims=self.keepdims)
        return [np.asarray(out, dtype=np.int64)]

    def infer_shape(self, node, input_shapes):
        return [self._shape(tuple(input_shapes[0]))]


@dataclass(frozen=True)
class Argmax(_ArgReduce):
    """Index of the (first) maximum, NumPy's argmax."""

    function = staticmethod(np.argmax)


@dataclass(frozen=True)
class Argmin(_ArgReduce):
    """Index of the (first) minimum, NumPy's argmin."""

    function = staticmethod(np.argmin)


def _reduce(cls, x, axis, keepdims, **params):
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim, cls.__name__.lower())
    return cls(axes, bool(keepdims), **params)(x)


def sum(x, axis=None, keepdims: bool = False, dtype=None, acc_dtype=None):
    """Sum over ``axis`` (None, an int or a tuple; negatives allowed), as numpy.sum: small
    ints and bool sum to int64; ``dtype`` sets the accumulation and output dtype."""
    dtype = None if dtype is None else normalize_dtype(dtype)
    return _reduce(Sum, x, axis, keepdims, dtype=dtype)


def prod(x, axis=None, keepdims: bool = False, dtype=None, acc_dtype=None):
    """Product over ``axis``, as numpy.prod (dtype rules as ``sum``)."""
    dtype = None if dtype is None else normalize_dtype(dtype)
    return _reduce(Prod, x, axis, keepdims, dtype=dtype)


def max(x, axis=None, keepdims: bool = False):
    """Maximum over ``axis``, as numpy.max; an empty reduction raises ValueError."""
    return _reduce(Max, x, axis, keepdims)


def min(x, axis=None, keepdims: bool = False):
    """Minimum over ``axis``, as numpy.min; an empty reduction raises ValueError."""
    return _reduce(Min, x, axis, keepdims)


amax, amin = max, min


def all(x, axis=None, keepdims: bool = False):
    """Whether every entry over ``axis`` is non-zero, as numpy.all."""
    return _reduce(All, x, axis, keepdims)


def any(x, axis=None, keepdims: bool = False):
    """Whether some entry over ``axis`` is non-zero, as numpy.any."""
    return _reduce(Any, x, axis, keepdims)


def _arg(cls, x, axis, keepdims):
    x = as_tensor_variable(x)
    if axis is not None:
        if not isinstance(axis, (int, np.integer)):
            if len(axis) != 1:
                raise TypeError(
                    f"{cls.__name__.lower()}: axis must be None or one int, got "
                    f"{axis!r}{where(user_source())}"
                )
            axis = axis[0]
        axis = normalize_axes(axis, x.ndim, cls.__name__.lower())[0]
    return cls(axis, bool(keepdims))(x)


def argmax(x, axis=None, keepdims: bool = False):
    """Index of the first maximum along ``axis`` (None: in the flattened array), int64."""
    return _arg(Argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims: bool = False):
    """Index of the first minimum along ``axis`` (None: in the flattened array), int64."""
    return _arg(Argmin, x, axis, keepdims)


def _count(x, axes: tuple):
    """The number of entries reduced over ``axes``: an int when static, else int64 scalar."""
    from symcomp.tensor.shape import _prod
    from symcomp.tensor.shapeof import shape_i

    return _prod([shape_i(x, a) for a in axes])


def _mean_dtype(dtype: str) -> str:
    return "float64" if is_discrete(dtype) else dtype


def _divide(total, n, dtype: str):
    """total / n in ``dtype`` (n an int or an int64 scalar)."""
    from symcomp.tensor.arith import cast, true_div

    if not isinstance(n, int):
        n = cast(n, dtype)
    return cast(true_div(total, n), dtype)


def mean(x, axis=None, keepdims: bool = False, dtype=None, acc_dtype=None):
    """Arithmetic mean over ``axis``, as numpy.mean: integer inputs give float64, float16 is
    accumulated in float32; an empty reduction gives NaN."""
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim, "mean")
    out_dtype = normalize_dtype(dtype) if dtype is not None else _mean_dtype(x.dtype)
    acc = "float32" if out_dtype == "float16" else out_dtype
    return _divide(sum(x, axes, keepdims, dtype=acc), _count(x, axes), out_dtype)


def var(x, axis=None, keepdims: bool = False, ddof: int = 0):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom, as numpy.var (real
    inputs; integer inputs give float64; ddof >= the count gives inf/NaN as NumPy)."""
    from symcomp.tensor.arith import cast, lt, switch

    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim, "var")
    out_dtype = _mean_dtype(x.dtype)
    xf = cast(x, out_dtype)
    centered = xf - mean(xf, axes, keepdims=True)
    n = _count(x, axes)
    if isinstance(n, int):
        dof = builtins.max(n - ddof, 0)
    else:
        dof = n - ddof
        dof = switch(lt(dof, 0), 0, dof)
    return _divide(sum(centered * centered, axes, keepdims), dof, out_dtype)


def std(x, axis=None, keepdims: bool = False, ddof: int = 0):
    """Standard deviation over ``axis``: sqrt(var(x, axis, keepdims, ddof))."""
    import symcomp.tensor as st

    return st.sqrt(var(x, axis, keepdims, ddof))


def logsumexp(x, axis=None, keepdims: bool = False):
    """log(sum(exp(x))) over ``axis``, computed stably (shifted by the max, as
    scipy.special.logsumexp; a slice of all -inf gives -inf). Its gradient is softmax."""
    import symcomp.tensor as st
    from symcomp.tensor.arith import gt, lt, switch

    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim, "logsumexp")
    if is_discrete(x.dtype):
        x = st.cast(x, "float64")
    m = max(x, axes, keepdims=True)
    # A non-finite max (all -inf, or some +inf/NaN) is replaced by 0 so x - m stays finite
    # where x is; exp/log then produce -inf/inf/NaN exactly as scipy does.
    shift = switch(gt(m, -np.inf), switch(lt(m, np.inf), m, 0), 0)
    out = st.log(sum(st.exp(x - shift), axes, keepdims=True)) + shift
    if not keepdims:
        from symcomp.tensor.dimshuffle import squeeze

        out = squeeze(out, axes)
    return out


from symcomp.tensor.cumulative import CumOp, CumProd, CumSum, cumprod, cumsum
