"""Matrix products: ``matmul`` (with PyTorch's 1-D and batch-broadcasting rules), ``mm``,
``bmm``, ``mv``, ``dot``, ``outer``.  One primitive underneath: batched (..., n, k) @ (..., k, m)."""
from __future__ import annotations

from ..amp import autocast_mode as _ac  # issue 18: autocast's one check
from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import _device_error, broadcast_shapes, sum_to


class MatMul(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        ctx.shapes = (a._data.shape, b._data.shape)
        return a._device._be.matmul(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = sum_to(g @ b.mT, sa) if ctx.needs_input_grad[0] else None
        gb = sum_to(a.mT @ g, sb) if ctx.needs_input_grad[1] else None
        return ga, gb


def _check_pair(a, b, name="matmul"):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        bad = b if isinstance(a, Tensor) else a
        raise TypeError(f"{name}(): argument 'other' must be Tensor, not {type(bad).__name__}")
    if a._device is not b._device:
        raise _device_error(a, b)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype.c_name} "
                           f"!= {b.dtype.c_name}")
    if a._data.ndim == 0 or b._data.ndim == 0:
        if name == "mv":  # PyTorch's mv reads size(0) of each first
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        raise RuntimeError(f"both arguments to {name} need to be at least 1D, but they are "
                           f"{a._data.ndim}D and {b._data.ndim}D")


def _check_not_bool(a, b):
    """PyTorch has no bool matmul kernels: its error (after the shape checks), naming the
    kernel the shapes would reach."""
    na, nb = a._data.ndim, b._data.ndim
    if a._data.dtype.kind == "b" and (a._data.size and b._data.size or na == 1 and nb == 1):
        # (dot refuses Bool even when empty; the matrix kernels skip an empty product)
        kernel = ("dot" if na == 1 and nb == 1 else "addmv_impl_cpu" if nb == 1
                  else "bmm" if nb >= 3 else "addmm_impl_cpu_")
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def _mm_error(sa, sb):
    """PyTorch's message, with each operand shown as the matrix it is multiplied as."""
    rows_b = sb[0] if len(sb) == 1 else sb[-2]
    cols_b = sb[-1] if len(sb) > 1 else 1
    return RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                        f"({_rows(sa)}x{sa[-1]} and {rows_b}x{cols_b})")


def _rows(sa):
    n = 1
    for s in sa[:-1]:
        n *= s
    return n


def _reaches_bmm(a: Tensor, b: Tensor) -> bool:
    """Whether PyTorch's matmul computes a @ b with bmm (not folded into mm / mv): its
    ``should_fold`` rule (which also looks at requires_grad and strides)."""
    na, nb = a._data.ndim, b._data.ndim
    if max(na, nb) < 3 or min(na, nb) < 1:
        return False
    if min(na, nb) >= 3:
        return True
    big, small = (a, b) if na >= nb else (b, a)
    if small._requires_grad:
        return False
    if na == 2:
        return True
    if not big._data.size:
        return False
    shape, st = list(big.shape), list(big.stride())
    if big is b:  # folded as b.mT
        shape[-2:], st[-2:] = shape[:-3:-1], st[:-3:-1]
    return any(st[i] != st[i + 1] * shape[i + 1] for i in range(len(shape) - 2))


def _grad_on() -> bool:
    from ..autograd.grad_mode import is_grad_enabled
    return is_grad_enabled()


def _bmm_dtypes(a: Tensor, b: Tensor, name="bmm"):
    """PyTorch's bmm with operands of two dtypes: an empty result, or one summed over zero
    terms, is made (zeros) in b's dtype without a dtype check; otherwise its errors."""
    sa, sb = a._data.shape, b._data.shape
    k = sa[-1]
    n = sa[-2] if len(sa) > 1 else 1
    m = sb[-1] if len(sb) > 1 else 1
    batch = 1
    for d in (sa[:-2] if len(sa) > len(sb) else sb[:-2]):
        batch *= d
    if not (batch and n and m and k):
        if (a._requires_grad or b._requires_grad) and _grad_on():
            if not b.dtype.is_floating_point:
                raise RuntimeError(f"Autograd not support dtype: {b.dtype.pt_name}")
            if a._requires_grad and len(sa) == 3 and tuple(sa[:-2]) != tuple(
                    broadcast_shapes(sa[:-2], sb[:-2])):  # (PyTorch: the mm path then)
                raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                                   f"{b.dtype.c_name} != {a.dtype.c_name}")
        return a.to(b.dtype), b
    if a._data.dtype.kind == "b":
        raise NotImplementedError(f'"{name}" not implemented for \'Bool\'')
    raise RuntimeError(f"expected scalar type {a.dtype.pt_name} but found {b.dtype.pt_name}")


def matmul(a: Tensor, b: Tensor) -> Tensor:
    if _ac.active:  # autocast (minitorch/amp): runs in its 16-bit dtype
        a, b = _ac.cast_lower(a, b)
    if (a.__class__ is Tensor and b.__class__ is Tensor and a._data.dtype != b._data.dtype
            and a._device is b._device and _reaches_bmm(a, b)):
        sa, sb = a._data.shape, b._data.shape
        if sa[-1] == (sb[0] if len(sb) == 1 else sb[-2]):
            broadcast_shapes(sa[:-2], sb[:-2])
            a, b = _bmm_dtypes(a, b)
    _check_pair(a, b)
    sa, sb = a._data.shape, b._data.shape
    if sa[-1] != (sb[0] if len(sb) == 1 else sb[-2]):
        if len(sa) == 1 and len(sb) == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{sa[0]}] and src "
                               f"[{sb[0]}] to have the same number of elements, but got {sa[0]} "
                               f"and {sb[0]} elements respectively")
        raise _mm_error(sa, sb)
    if len(sa) >= 2 and len(sb) >= 2:
        broadcast_shapes(sa[:-2], sb[:-2])
        _check_not_bool(a, b)
        return MatMul.apply(a, b)
    _check_not_bool(a, b)
    x = a.unsqueeze(0) if len(sa) == 1 else a
    y = b.unsqueeze(-1) if len(sb) == 1 else b
    out = MatMul.apply(x, y)
    if len(sb) == 1:
        out = out.squeeze(-1)
    if len(sa) == 1:
        out = out.squeeze(-2 if len(sb) > 1 else -1)
    return out


def rmatmul(b: Tensor, a) -> Tensor:
    return matmul(a, b)


def mm(a: Tensor, b: Tensor) -> Tensor:
    if _ac.active:  # autocast (minitorch/amp): runs in its 16-bit dtype
        a, b = _ac.cast_lower(a, b)
    _check_pair(a, b, "mm")
    if a._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a._data.shape[1] != b._data.shape[0]:
        raise _mm_error(a._data.shape, b._data.shape)
    _check_not_bool(a, b)
    return MatMul.apply(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    if _ac.active:  # autocast (minitorch/amp): runs in its 16-bit dtype
        a, b = _ac.cast_lower(a, b)
    if (a.__class__ is Tensor and b.__class__ is Tensor and a._data.dtype != b._data.dtype
            and a._device is b._device and a._data.ndim == 3 == b._data.ndim
            and a._data.shape[::2] == b._data.shape[:2]):
        a, b = _bmm_dtypes(a, b)
    _check_pair(a, b, "bmm")
    if a._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    sa, sb = a._data.shape, b._data.shape
    if sb[0] != sa[0] or sb[1] != sa[2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{sa[0]}, {sa[2]}] but got: [{sb[0]}, {sb[1]}].")
    _check_not_bool(a, b)
    return MatMul.apply(a, b)


def mv(a: Tensor, v: Tensor) -> Tensor:
    _check_pair(a, v, "mv")
    if a._data.ndim != 2 or v._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {a._data.ndim}, "
                           f"{v._data.ndim}")
    return matmul(a, v)


def dot(a: Tensor, b: Tensor) -> Tensor:
    _check_pair(a, b, "dot")
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D "
                           f"tensors")
    return matmul(a, b)


def outer(a: Tensor, b: Tensor) -> Tensor:
    for what, t in (("self", a), ("vec2", b)):
        if isinstance(t, Tensor) and t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {what}, but got {t._data.ndim}-D")
    return a.reshape(-1, 1) * b.reshape(1, -1)
