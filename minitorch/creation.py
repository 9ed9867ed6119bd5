"""Factories: ``tensor``, ``as_tensor``, ``from_numpy``, ``zeros``/``ones``/``full``/``empty``
(and ``_like``), ``arange``, ``linspace``, ``eye`` and the random ones."""
from __future__ import annotations

import numpy as np

from . import _dtype as D
from .device import canonical
from .random import generator_for
from .tensor import Tensor, _make, _shape_str

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "arange", "linspace", "logspace", "eye", "rand",
           "randn",
           "randint", "randperm", "normal", "rand_like", "randn_like", "randint_like",
           "bernoulli", "multinomial", "scalar_tensor", "memory_format", "preserve_format",
           "contiguous_format", "set_default_device", "get_default_device"]

from ._dtype import memory_format, preserve_format, contiguous_format  # noqa: E402,F401


# -- the default device ---------------------------------------------------------------------
# ``set_default_device`` / ``with minitorch.device(...)``: the device factories use when their
# ``device`` argument is None.  None here means "never set" (factories use the cpu, and
# ``tensor(t)`` keeps ``t``'s device, as in PyTorch).  Each factory reads it inline as
# ``canonical(_DEFAULT_DEVICE if device is None else device)``: one global lookup, no call.
_DEFAULT_DEVICE = None
_DEVICE_STACK: list = []  # saved defaults of the ``with device(...)`` blocks being run


def set_default_device(device) -> None:
    """Make factories (``zeros``, ``tensor``, ``randn``, ``arange`` ..., and so nn layers'
    parameters) allocate on ``device`` when they are not given one; ``None`` restores the cpu.
    ``*_like`` functions and ``Tensor.new_*`` keep their input's device, ``from_numpy`` stays
    on the cpu, as in PyTorch.  Process-wide (PyTorch's is per thread)."""
    global _DEFAULT_DEVICE
    _DEFAULT_DEVICE = None if device is None else canonical(device)


def get_default_device():
    """The device factories use when given none (``device(type='cpu')`` unless set)."""
    return canonical(_DEFAULT_DEVICE)


def _enter_device(d) -> None:  # ``with minitorch.device('cudasim'):`` (device.__enter__)
    global _DEFAULT_DEVICE
    new = canonical(d)
    _DEVICE_STACK.append(_DEFAULT_DEVICE)
    _DEFAULT_DEVICE = new


def _exit_device() -> None:
    global _DEFAULT_DEVICE
    _DEFAULT_DEVICE = _DEVICE_STACK.pop()


def _finish(data, dev, requires_grad) -> Tensor:
    if requires_grad and data.dtype.kind not in "fV":
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    return _make(data, dev, bool(requires_grad), None, 0, None)


def _ragged_error(data, dim=0):
    if isinstance(data, (list, tuple)) and data:
        lens = {len(x) if isinstance(x, (list, tuple)) else -1 for x in data}
        if len(lens) > 1:
            first = len(data[0]) if isinstance(data[0], (list, tuple)) else -1
            for x in data:
                ln = len(x) if isinstance(x, (list, tuple)) else -1
                if ln != first:
                    return ValueError(f"expected sequence of length {first} at dim {dim + 1} "
                                      f"(got {ln})" if ln >= 0 else "expected sequence of length "
                                      f"{first} at dim {dim + 1} (got a scalar)")
        for x in data:
            e = _ragged_error(x, dim + 1)
            if e is not None:
                return e
    return None


def _infer_np(data, dtype):
    """Python data -> numpy array with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        arr = np.array(data._device._be.to_numpy(data._data), copy=True)
        if dtype is None:
            return arr
        with np.errstate(invalid="ignore", over="ignore"):  # casts like NumPy, as PyTorch does
            return arr.astype(dtype.np)
    if isinstance(data, np.ndarray):  # NumPy arrays keep their dtype (and cast like NumPy)
        d = dtype or D.from_numpy_dtype(data.dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            return np.array(data, dtype=d.np, copy=True)
    if isinstance(data, np.generic):  # NumPy scalars keep their dtype, checked like numbers
        d = dtype or D.from_numpy_dtype(data.dtype)
        arr = np.array(data)
        _check_range(arr, d)
        with np.errstate(over="ignore", invalid="ignore"):
            return arr.astype(d.np)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _untensor(data)
    try:
        arr = np.array(data)
    except ValueError:
        err = _ragged_error(data)
        raise (err or ValueError("could not convert data to a tensor")) from None
    leaves = _flat(data) if isinstance(data, (list, tuple)) else [data]
    if (arr.dtype == object or arr.dtype == np.uint64 or (arr.dtype.kind in "fV" and arr.size and (
            (max(leaves) if 0 < len(leaves) <= 16 else arr.max()) >= 9.2e18))):
        # Python ints beyond int64 (NumPy made object, uint64 or float64 of them): PyTorch
        # reads each as a C long long and fails, unless the target is a floating/bool dtype
        big = _has_big_int(data)
        if big:
            target = dtype
            if target is None and big == "float":
                target = D.get_default_dtype()
            if target is None or not (target.is_floating_point or target is D.bool):
                raise ValueError("Overflow when unpacking long long")
            with np.errstate(over="ignore"):
                return np.array(data, dtype=object).astype(
                    np.float64 if target.is_floating_point else np.bool_).astype(target.np)
    if arr.dtype == object:
        err = _ragged_error(data)
        if err is not None:
            raise err
        raise TypeError(f"Could not infer dtype of {type(_flat(data)[0]).__name__}")
    if dtype is not None:
        _check_range(arr, dtype)
        # float64 -> float32 overflows to inf, and float(2**63) -> int64 passes PyTorch's
        # check too: cast without NumPy's warnings
        with np.errstate(over="ignore", invalid="ignore"):
            return arr.astype(dtype.np)
    if isinstance(data, (list, tuple)) and all(isinstance(v, np.generic) for v in leaves):
        return arr.astype(D.from_numpy_dtype(arr.dtype).np)  # [np.float64(1.0)] stays float64
    k = arr.dtype.kind
    if k == "f":
        return arr.astype(D.get_default_dtype().np)
    if k in "iu":
        return arr.astype(np.int64)
    if k == "b":
        return arr
    if k in "US":
        raise TypeError(f"new(): invalid data type '{type(_flat(data)[0]).__name__}'")
    raise TypeError(f"Could not infer dtype of {arr.dtype}")


def _check_range(arr: np.ndarray, d) -> None:
    """Numbers given as Python data must fit an integer target dtype: PyTorch raises where
    NumPy's cast would wrap (``tensor([3e9], dtype=int32)``, NaN into int64)."""
    r = D._INT_RANGE.get(d.name)
    if r is None or not arr.size or arr.dtype.kind not in "fiu":
        return
    if arr.dtype.kind in "fV":
        bad = bool(np.isnan(arr).any()) or float(arr.min()) < r[0] or float(arr.max()) > float(r[1])
    else:
        bad = int(arr.min()) < r[0] or int(arr.max()) > r[1]
    if bad:
        raise D.overflow_error(d, d.name)


def _has_big_int(data):
    """False, or True when Python data holds an int outside int64 ("float" when it also holds
    a float, so that the inferred dtype is floating)."""
    big = flt = False
    for v in (_flat(data) if isinstance(data, (list, tuple)) else [data]):
        if isinstance(v, int) and not isinstance(v, bool):
            if not -2 ** 63 <= v < 2 ** 63:
                big = True
        elif isinstance(v, (float, np.floating)):
            flt = True
    return ("float" if flt else True) if big else False


def _flat(data):
    out = []
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        else:
            out.append(x)
    return out or [0.0]


def _untensor(data):
    if isinstance(data, Tensor):
        return data._device._be.to_numpy(data._data).tolist()
    if isinstance(data, (list, tuple)):
        return [_untensor(x) for x in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """Copy ``data`` (nested lists, numbers, NumPy arrays, tensors) into a new leaf tensor."""
    dt = None if dtype is None else D.to_dtype(dtype)
    if isinstance(data, Tensor) and device is None and _DEFAULT_DEVICE is None:
        device = data._device
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    arr = _infer_np(data, dt)
    return _finish(dev._be.from_numpy(arr), dev, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return tensor(s, dtype=dtype or D.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory when it can (same dtype and device)."""
    dt = None if dtype is None else D.to_dtype(dtype)
    if isinstance(data, Tensor):
        out = data
        if device is None:
            device = _DEFAULT_DEVICE
        if device is not None:
            out = out.to(device)
        return out if dt is None else out.to(dt)
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    if isinstance(data, np.ndarray) and dev.type == "cpu" and data.dtype.kind in "fiub":
        d = dt or D.from_numpy_dtype(data.dtype)
        if data.dtype == d.np:
            return _make(data, dev, False, None, 0, None)
    return tensor(data, dtype=dt, device=dev)


def from_numpy(a: np.ndarray) -> Tensor:
    """A cpu tensor sharing memory with ``a`` (which must have a supported dtype)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    d = D._BY_NP.get(a.dtype)
    if d is None:
        raise TypeError(f"can't convert np.ndarray of type numpy.{a.dtype}. The only supported "
                        "types are: float64, float32, float16, bfloat16, int64, int32, and bool.")
    return _make(a, canonical("cpu"), False, None, 0, None)


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a sequence of ints, but got {type(s).__name__}")
        out.append(int(s))
    for s in out:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{_shape_str(out)}")
    return tuple(out)


def _dtype_or_default(dtype):
    return D.get_default_dtype() if dtype is None else D.to_dtype(dtype)


def zeros(*args, size=None, dtype=None, device=None, requires_grad: bool = False,
          out=None) -> Tensor:
    return full(_size(args if size is None else (size,)), 0, dtype=_dtype_or_default(dtype),
                device=device, requires_grad=requires_grad)


def ones(*args, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return full(_size(args if size is None else (size,)), 1, dtype=_dtype_or_default(dtype),
                device=device, requires_grad=requires_grad)


def empty(*args, size=None, dtype=None, device=None, requires_grad: bool = False,
          **_ignored) -> Tensor:
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    size = _size(args if size is None else (size,))
    return _finish(dev._be.empty(size, _dtype_or_default(dtype)), dev, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dt = D.to_dtype(dtype) if dtype is not None else D.scalar_dtype(fill_value)
    D.check_scalar(fill_value, dt)
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    size = _size((size,) if isinstance(size, (tuple, list)) else (size,))
    return _finish(dev._be.full(size, fill_value, dt), dev, requires_grad)


def _like(input: Tensor, dtype, device):
    if not isinstance(input, Tensor):
        raise TypeError(f"expected a Tensor as 'input', got {type(input).__name__}")
    return (input.dtype if dtype is None else D.to_dtype(dtype),
            input._device if device is None else canonical(device))


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad=False, **_ignored):
    dt, dev = _like(input, dtype, device)
    return full(input._data.shape, 0, dtype=dt, device=dev, requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad=False, **_ignored):
    dt, dev = _like(input, dtype, device)
    return full(input._data.shape, 1, dtype=dt, device=dev, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None, requires_grad=False,
              **_ignored):
    dt, dev = _like(input, dtype, device)
    return full(input._data.shape, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad=False, **_ignored):
    dt, dev = _like(input, dtype, device)
    return empty(input._data.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dt = D.int64 if all(_is_int(v) for v in vals) else D.get_default_dtype()
    else:
        dt = D.to_dtype(dtype)
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    n = max(0, int(np.ceil((end - start) / step)))
    data = dev._be.from_numpy((start + np.arange(n, dtype=np.float64) * step).astype(dt.np)
                              if dt.is_floating_point else
                              np.arange(start, end, step).astype(dt.np)[:n])
    return _finish(data, dev, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = _dtype_or_default(dtype)
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    data = np.linspace(float(start), float(end), int(steps), dtype=np.float64)
    return _finish(dev._be.from_numpy(data.astype(dt.np)), dev, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    dt = _dtype_or_default(dtype)
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    data = np.logspace(float(start), float(end), int(steps), base=base).astype(dt.np)
    return _finish(dev._be.from_numpy(data), dev, requires_grad)


def eye(n: int, m=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n if n < 0 else m}")
    dt = _dtype_or_default(dtype)
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    return _finish(dev._be.from_numpy(np.eye(n, m, dtype=dt.np)), dev, requires_grad)


# -- random ---------------------------------------------------------------------------------

def _float_dtype(dtype, name):
    dt = _dtype_or_default(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f'"{name}" not implemented for \'{dt.name}\'')
    return dt


def rand(*args, size=None, generator=None, dtype=None, device=None,
         requires_grad=False) -> Tensor:
    dt = _float_dtype(dtype, "check_uniform_bounds")
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    g = generator_for(dev, generator)
    size = _size(args if size is None else (size,))
    return _finish(dev._be.uniform(size, 0.0, 1.0, dt, g), dev, requires_grad)


def randn(*args, size=None, generator=None, dtype=None, device=None,
          requires_grad=False) -> Tensor:
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    g = generator_for(dev, generator)
    size = _size(args if size is None else (size,))
    return _finish(dev._be.normal(size, 0.0, 1.0, dt, g), dev, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing 1 required positional arguments: \"size\"")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    dt = D.int64 if dtype is None else D.to_dtype(dtype)
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    g = generator_for(dev, generator)
    if dt.is_floating_point:
        data = dev._be.astype(dev._be.randint(_size((size,)), int(low), int(high), D.int64, g), dt)
    else:
        data = dev._be.randint(_size((size,)), int(low), int(high), dt, g)
    return _finish(data, dev, requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    dt = D.int64 if dtype is None else D.to_dtype(dtype)
    dev = canonical(_DEFAULT_DEVICE if device is None else device)
    g = generator_for(dev, generator)
    return _finish(dev._be.randperm(int(n), dt, g), dev, requires_grad)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False) -> Tensor:
    """``normal(mean, std, size)`` with floats, or elementwise with tensor mean/std."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        from .ops.elementwise import broadcast_shapes
        shape = broadcast_shapes(mean._data.shape if isinstance(mean, Tensor) else (),
                                 std._data.shape if isinstance(std, Tensor) else ())
        if isinstance(std, Tensor) and bool((std < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        z = randn(shape, generator=generator, dtype=ref.dtype, device=ref._device)
        return (z * std + mean).detach()
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if size is None:
        raise TypeError("normal() with float mean and std needs a size")
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    dev = canonical(device)  # not the default device: PyTorch's normal(float, float) ignores it
    g = generator_for(dev, generator)
    size = _size((size,)) if not isinstance(size, int) else (size,)
    return _finish(dev._be.normal(size, float(mean), float(std), dt, g), dev, requires_grad)


def rand_like(input: Tensor, *, generator=None, dtype=None, device=None, requires_grad=False,
              **_ignored):
    dt, dev = _like(input, dtype, device)
    return rand(input._data.shape, generator=generator, dtype=dt, device=dev,
                requires_grad=requires_grad)


def randn_like(input: Tensor, *, generator=None, dtype=None, device=None, requires_grad=False,
               **_ignored):
    dt, dev = _like(input, dtype, device)
    return randn(input._data.shape, generator=generator, dtype=dt, device=dev,
                 requires_grad=requires_grad)


def randint_like(input: Tensor, low, high=None, *, generator=None, dtype=None, device=None,
                 requires_grad=False, **_ignored):
    dt, dev = _like(input, dtype, device)
    return randint(low, high, input._data.shape, generator=generator, dtype=dt, device=dev,
                   requires_grad=requires_grad)


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    probs = input if p is None else full_like(input, p)
    if probs._data.dtype.kind not in "fV":
        raise RuntimeError("bernoulli expects a floating point probability tensor")
    be = probs._device._be
    g = generator_for(probs._device, generator)
    return _make(be.bernoulli(probs._data, g), probs._device, False, None, 0, None)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Sample category indices with probabilities proportional to the rows of ``input``."""
    if input._data.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    w = np.asarray(input._device._be.to_numpy(input._data), dtype=np.float64)
    if (w < 0).any() or not np.isfinite(w).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = w.reshape(-1, w.shape[-1])
    g = generator_for(input._device, generator)
    out = []
    for r in rows:
        s = r.sum()
        if s <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > np.count_nonzero(r):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        out.append(g.np_gen.choice(len(r), size=num_samples, replace=replacement, p=r / s))
    res = np.array(out, dtype=np.int64).reshape(w.shape[:-1] + (num_samples,))
    return _make(input._device._be.from_numpy(res), input._device, False, None, 0, None)
