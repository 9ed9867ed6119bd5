"""dtypes and PyTorch's type-promotion rules.

A ``dtype`` is a small immutable object (``minitorch.float32`` ...) that knows its NumPy
equivalent.  Promotion follows PyTorch: categories bool < integer < floating; a Python
scalar or a zero-dim tensor only lifts the category, never the width, of a dimensioned
tensor (``int64_tensor + 2.5 -> float32``, ``float32_tensor + float64_scalar -> float32``).
"""
from __future__ import annotations

import builtins

import ml_dtypes
import numpy as np

__all__ = ["dtype", "float32", "float64", "float16", "bfloat16", "half", "int64", "int32", "bool",
           "get_default_dtype", "set_default_dtype", "promote_types", "result_type", "finfo",
           "iinfo"]

_builtin_bool = builtins.bool
_builtin_int = builtins.int
_builtin_float = builtins.float


_PT_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
             "bool": "Bool", "float16": "Half", "bfloat16": "BFloat16"}
_C_NAMES = {"float32": "float", "float64": "double", "int64": "long", "int32": "int",
            "bool": "bool", "float16": "c10::Half", "bfloat16": "c10::BFloat16"}


class dtype:
    __slots__ = ("name", "np", "category", "itemsize", "is_floating_point", "is_signed", "_rank",
                 "pt_name", "c_name")

    # category: 0 bool, 1 integer, 2 floating
    def __init__(self, name: str, np_dtype, category: int, rank: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == 2
        self.is_signed = category != 0
        self._rank = rank
        # the two spellings PyTorch's error messages use: 'Float' (scalar type), 'float' (C)
        self.pt_name = _PT_NAMES[name]
        self.c_name = _C_NAMES[name]

    def __repr__(self) -> str:
        return f"minitorch.{self.name}"

    def __reduce__(self):
        return self.name


float32 = dtype("float32", np.float32, 2, 5)
float64 = dtype("float64", np.float64, 2, 6)
int32 = dtype("int32", np.int32, 1, 2)
int64 = dtype("int64", np.int64, 1, 3)
bool = dtype("bool", np.bool_, 0, 0)  # noqa: A001  (shadows builtin on purpose: torch.bool)
# the two 16-bit floats share a rank: neither holds the other, so they promote to float32
# (torch.promote_types(float16, bfloat16) is float32).  bfloat16 is ml_dtypes' NumPy type
# (as in JAX): its NumPy kind is 'V', not 'f' -- test floating point with ``kind in "fV"``.
float16 = dtype("float16", np.float16, 2, 4)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, 2, 4)
LOW_FLOATS = (float16, bfloat16)

# aliases PyTorch users type
float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001
half = float16

ALL_DTYPES = (float32, float64, int32, int64, bool, float16, bfloat16)
_BY_NP = {d.np: d for d in ALL_DTYPES}
_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update({"float": float32, "double": float64, "long": int64, "int": int32,
                 "half": float16})

_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    global _default_float
    if d not in (float32, float64, float16, bfloat16):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def from_numpy_dtype(npd) -> dtype:
    """Map a NumPy dtype onto ours; narrower/other types raise a clear TypeError."""
    d = _BY_NP.get(npd)
    if d is None:
        npd = np.dtype(npd)
        d = _BY_NP.get(npd)
        if d is None:
            if npd.kind == "f":
                return float64 if npd.itemsize > 4 else float32 if npd.itemsize > 2 else float16
            if npd.kind in "iu":
                return int64 if npd.itemsize >= 4 else int32
            raise TypeError(f"can't convert np.ndarray of type numpy.{npd}. The only supported types "
                            "are: float64, float32, float16, bfloat16, int64, int32, and bool.")
    return d


def to_dtype(d) -> dtype:
    """Accept a minitorch dtype, a NumPy dtype, a Python type or a name."""
    if isinstance(d, dtype):
        return d
    if d is _builtin_bool:
        return bool
    if d is _builtin_float:
        return float64
    if d is _builtin_int:
        return int64
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    try:
        return from_numpy_dtype(np.dtype(d))
    except TypeError:
        raise TypeError(f"invalid dtype {d!r}; expected one of minitorch.float32, float64, "
                        "float16, bfloat16, int64, int32, bool") from None


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to (torch.promote_types)."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a._rank == b._rank:
        return float32  # float16 with bfloat16
    return a if a._rank > b._rank else b


def scalar_dtype(x) -> dtype:
    """The dtype a Python scalar takes on its own (torch.tensor(x).dtype)."""
    if isinstance(x, _builtin_bool) or isinstance(x, np.bool_):
        return bool
    if isinstance(x, (_builtin_int, np.integer)):
        return int64
    return _default_float


class memory_format:
    """How a copy lays out its memory (``clone(memory_format=...)``), as ``torch.memory_format``:
    ``preserve_format`` (the default) keeps a dense tensor's strides, ``contiguous_format``
    gives C order.  (Exported by minitorch.creation.)"""
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"minitorch.{self.name}"

    def __reduce__(self):
        return self.name


preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")


# the ranges PyTorch's checked scalar conversion (c10::checked_convert) enforces, and the
# C type names its message uses ("value cannot be converted to type int64_t without overflow")
_INT_RANGE = {"int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1)}
_CHECKED_NAMES = {"float32": "float", "float64": "double", "int32": "int", "int64": "int64_t",
                  "bool": "bool", "float16": "c10::Half", "bfloat16": "c10::BFloat16"}
_FLOAT32_MAX = _builtin_float(np.finfo(np.float32).max)
_LOW_MAX = {"float16": 65504.0, "bfloat16": _builtin_float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)}


def _g6(x) -> str:
    return f"{x:g}"


class finfo:
    """Machine limits of a floating-point dtype (``torch.finfo``): ``bits``, ``eps``, ``max``,
    ``min``, ``tiny`` (= ``smallest_normal``), ``resolution``, ``dtype`` (its name)."""

    def __init__(self, type=None):  # noqa: A002  (PyTorch's parameter name)
        d = _default_float if type is None else to_dtype(type)
        if d.category != 2:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo "
                            "to handle 'torch.finfo'")
        f = ml_dtypes.finfo(d.np) if d is bfloat16 else np.finfo(d.np)
        self.bits = d.itemsize * 8
        self.eps = _builtin_float(f.eps)
        self.max = _builtin_float(f.max)
        self.min = _builtin_float(f.min)
        self.tiny = self.smallest_normal = _builtin_float(f.smallest_normal)
        self.resolution = 10.0 ** -_builtin_int(f.precision)
        self.dtype = d.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={_g6(self.resolution)}, min={_g6(self.min)}, "
                f"max={_g6(self.max)}, eps={_g6(self.eps)}, smallest_normal="
                f"{_g6(self.smallest_normal)}, tiny={_g6(self.tiny)}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (``torch.iinfo``): ``bits``, ``min``, ``max``, ``dtype``."""

    def __init__(self, type):  # noqa: A002
        d = to_dtype(type)
        if d.category != 1:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        i = np.iinfo(d.np)
        self.bits = d.itemsize * 8
        self.min = _builtin_int(i.min)
        self.max = _builtin_int(i.max)
        self.dtype = d.name

    def __repr__(self) -> str:
        return f"iinfo(min={_g6(self.min)}, max={_g6(self.max)}, dtype={self.dtype})"


def overflow_error(d: "dtype", name=None) -> RuntimeError:
    return RuntimeError(f"value cannot be converted to type {name or _CHECKED_NAMES[d.name]} "
                        f"without overflow")


def check_scalar(value, d: "dtype") -> None:
    """Raise PyTorch's errors where the Python scalar ``value`` does not fit ``d`` (``full``,
    ``fill_``, ``t[k] = value``, ``masked_fill``) instead of wrapping it silently: an int
    beyond 64 bits cannot be read at all (OverflowError); an int or float outside an
    integer dtype's range, NaN into an integer dtype, or a finite float beyond float32's
    range is a RuntimeError.  Floats are compared as doubles, as PyTorch does."""
    t = type(value)
    if t is _builtin_float or (t is not _builtin_int and isinstance(value, np.floating)):
        v = _builtin_float(value)
        if d.category == 2:
            if d is not float64:
                m = _FLOAT32_MAX if d is float32 else _LOW_MAX[d.name]
                if (v > m or v < -m) and v - v == 0.0:
                    raise overflow_error(d)  # finite (v - v is NaN for inf) and beyond the type
        elif d.category == 1:
            r = _INT_RANGE[d.name]
            if not (r[0] <= v <= _builtin_float(r[1])):  # also NaN
                raise overflow_error(d)
    elif t is _builtin_int or (t is not _builtin_bool and isinstance(value, np.integer)
                               and not isinstance(value, np.bool_)):
        v = _builtin_int(value)
        if not -0x8000000000000000 <= v <= 0x7FFFFFFF:  # beyond int32 or negative int64
            if v >= 0x10000000000000000:
                raise OverflowError("int too big to convert")
            if v < -0x8000000000000000:
                raise OverflowError("can't convert negative int to unsigned")
            if d.category == 1 and not _INT_RANGE[d.name][0] <= v <= _INT_RANGE[d.name][1]:
                raise overflow_error(d)
        elif v < -0x80000000 and d is int32:
            raise overflow_error(d)


def _category_of_scalar(x) -> int:
    if isinstance(x, (_builtin_bool, np.bool_)):
        return 0
    if isinstance(x, (_builtin_int, np.integer)):
        return 1
    return 2


def result_type(*operands) -> dtype:
    """torch.result_type for tensors and Python scalars.

    Priority: dimensioned tensors, then zero-dim tensors, then Python scalars.  A lower
    priority operand only matters if its category (bool < int < float) is higher.
    """
    dim_t = None
    zero_t = None
    scal_cat = -1
    for o in operands:
        d = getattr(o, "dtype", None)
        if d.__class__ is dtype:  # a Tensor (this module is below tensor.py: no import)
            if o.ndim:
                dim_t = d if dim_t is None else promote_types(dim_t, d)
            else:
                zero_t = d if zero_t is None else promote_types(zero_t, d)
        else:
            scal_cat = max(scal_cat, _category_of_scalar(o))
    res = dim_t
    if zero_t is not None:
        if res is None:
            res = zero_t
        elif zero_t.category > res.category:
            res = zero_t  # int_tensor + tensor(2.5, dtype=float64) -> float64
    if scal_cat >= 0:
        if res is None:
            res = (bool, int64, _default_float)[scal_cat]
        elif scal_cat > res.category:
            res = (bool, int64, _default_float)[scal_cat]
    return res

