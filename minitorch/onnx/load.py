"""``minitorch.onnx.load``: run an ONNX file through minitorch ops, on any device.

The file is parsed with ``onnx`` (protobuf; nothing in it is executed), validated with
``onnx.checker.check_model``, and every node is checked against ``OPS`` before anything
runs: an operator without an implementation here raises ``UnsupportedOperatorError`` naming
it and its node, a file that does not parse or fails the checker raises ``ValueError``.
Models with external data files are refused (a file could name any path on the disk).

Values are of two kinds while a model runs: *host* values (NumPy arrays: initializers,
``Constant`` outputs, and everything computed from shapes -- ``Shape``, ``Gather`` of a
shape, ``Concat`` of sizes, ``Range``...), and *device* tensors (minitorch Tensors on the
model's device).  An operator whose inputs are all host values and that has a NumPy version
here runs on the host; the others run as minitorch ops (an initializer moves to the device
once, on first use).  So a shape computation never reads a device tensor back, and
``OnnxModel.to_graph(*inputs)`` can trace the whole model into one ``minitorch.jit.Graph``.
"""
from __future__ import annotations

import math
import os
from typing import Any, Callable, Dict, List

import numpy as np

from .errors import UnsupportedOperatorError

__all__ = ["load", "OnnxModel", "OPS"]


def _c(a) -> np.ndarray:
    """C-contiguous, keeping 0-d arrays 0-d (np.ascontiguousarray makes them 1-d)."""
    return np.asarray(a, order="C")


# -- helpers ---------------------------------------------------------------------------------
def _is_host(x) -> bool:
    return isinstance(x, np.ndarray)


def _mt():
    import minitorch
    return minitorch


def _mdtype(npdt):
    mt = _mt()
    npdt = np.dtype(npdt)
    name = {"bool": "bool"}.get(npdt.name, npdt.name)
    dt = getattr(mt, name, None)
    if dt is None or not isinstance(dt, mt.dtype):
        raise UnsupportedOperatorError(f"minitorch.onnx.load: dtype {npdt} is not supported")
    return dt


def _np_of(onnx_type: int):
    from onnx import helper
    return np.dtype(helper.tensor_dtype_to_np_dtype(onnx_type))


class _Ctx:
    """What an operator sees: the device, host <-> device conversions, the opset."""

    def __init__(self, model: "OnnxModel"):
        self.model = model
        self.device = model.device
        self.opset = model.opset

    def T(self, x):
        """A device tensor."""
        if x is None or not _is_host(x):
            return x
        cache = self.model._dev_cache
        hit = cache.get(id(x))
        if hit is not None and hit[0] is x:
            return hit[1]
        mt = _mt()
        t = mt.tensor(_c(x), dtype=_mdtype(x.dtype), device=self.device)
        if id(x) in self.model._const_ids:
            cache[id(x)] = (x, t)
        return t

    def H(self, x):
        """A host array (reads a device tensor back: only for shapes that come from data)."""
        if x is None or _is_host(x):
            return x
        return np.asarray(x.detach().cpu().numpy())


def _ints(x) -> List[int]:
    return [int(v) for v in np.asarray(x).reshape(-1)]


# -- the operator table ----------------------------------------------------------------------
# name -> (device implementation, host implementation or None).  Each is f(ctx, inputs, attrs)
# -> list of outputs; inputs are None where the node leaves an optional input empty.
OPS: Dict[str, tuple] = {}


def _op(name, host=None):
    def reg(fn):
        OPS[name] = (fn, host)
        return fn
    return reg


def _elementwise(name, dev: Callable, host: Callable):
    OPS[name] = (lambda c, i, a: [dev(*[c.T(x) for x in i])],
                 lambda c, i, a: [np.asarray(host(*i))])


def _int_div(a, b):
    if np.asarray(a).dtype.kind in "iu" and np.asarray(b).dtype.kind in "iu":
        return (np.trunc(np.asarray(a) / np.asarray(b))).astype(np.result_type(a, b))
    return np.asarray(a) / np.asarray(b)


def _dev_div(a, b):
    if not a.dtype.is_floating_point and not b.dtype.is_floating_point:
        return _mt().div(a, b, rounding_mode="trunc")
    return a / b


_elementwise("Add", lambda a, b: a + b, np.add)
_elementwise("Sub", lambda a, b: a - b, np.subtract)
_elementwise("Mul", lambda a, b: a * b, np.multiply)
_elementwise("Div", _dev_div, _int_div)
_elementwise("Pow", lambda a, b: a ** b if b.dtype == a.dtype else a ** b.to(a.dtype),
             lambda a, b: np.power(a, b).astype(a.dtype))
_elementwise("Equal", lambda a, b: a == b, np.equal)
_elementwise("Less", lambda a, b: a < b, np.less)
_elementwise("Greater", lambda a, b: a > b, np.greater)
_elementwise("LessOrEqual", lambda a, b: a <= b, np.less_equal)
_elementwise("GreaterOrEqual", lambda a, b: a >= b, np.greater_equal)
_elementwise("And", lambda a, b: a.logical_and(b), np.logical_and)
_elementwise("Or", lambda a, b: a.logical_or(b), np.logical_or)
_elementwise("Xor", lambda a, b: a.logical_xor(b), np.logical_xor)
_elementwise("Not", lambda a: a.logical_not(), np.logical_not)
_elementwise("Neg", lambda a: -a, np.negative)
_elementwise("Abs", lambda a: a.abs(), np.abs)
_elementwise("Sign", lambda a: a.sign(), np.sign)
_elementwise("Floor", lambda a: a.floor(), np.floor)
_elementwise("Ceil", lambda a: a.ceil(), np.ceil)
_elementwise("Sqrt", lambda a: a.sqrt(), np.sqrt)
_elementwise("Reciprocal", lambda a: a.reciprocal(), np.reciprocal)
_elementwise("Exp", lambda a: a.exp(), np.exp)
_elementwise("Log", lambda a: a.log(), np.log)
_elementwise("Identity", lambda a: a, lambda a: a)
_elementwise("Where", lambda c, a, b: _mt().where(c, a, b), np.where)
for _n, _f in (("Sin", "sin"), ("Cos", "cos"), ("Tanh", "tanh"), ("Tan", "tan"), ("Sigmoid", "sigmoid"),
               ("Relu", "relu"), ("Erf", "erf"), ("Round", "round"), ("IsNaN", "isnan")):
    OPS[_n] = ((lambda f: lambda c, i, a: [getattr(c.T(i[0]), f)()])(_f), None)


@_op("Max")
def _max(c, i, a):
    out = c.T(i[0])
    for x in i[1:]:
        out = _mt().maximum(out, c.T(x))
    return [out]


@_op("Min")
def _min(c, i, a):
    out = c.T(i[0])
    for x in i[1:]:
        out = _mt().minimum(out, c.T(x))
    return [out]


@_op("Sum")
def _sum(c, i, a):
    out = c.T(i[0])
    for x in i[1:]:
        out = out + c.T(x)
    return [out]


@_op("Mod")
def _mod(c, i, a):
    x, y = c.T(i[0]), c.T(i[1])
    return [_mt().fmod(x, y) if a.get("fmod", 0) else _mt().remainder(x, y)]


@_op("Clip")
def _clip(c, i, a):
    x = c.T(i[0])
    lo = a.get("min") if len(i) < 2 or i[1] is None else float(c.H(i[1]))
    hi = a.get("max") if len(i) < 3 or i[2] is None else float(c.H(i[2]))
    return [x.clamp(min=lo, max=hi)]


@_op("LeakyRelu")
def _leaky(c, i, a):
    from ..nn import functional as F
    return [F.leaky_relu(c.T(i[0]), a.get("alpha", 0.01))]


@_op("Elu")
def _elu(c, i, a):
    from ..nn import functional as F
    return [F.elu(c.T(i[0]), a.get("alpha", 1.0))]


@_op("Softplus")
def _softplus(c, i, a):
    from ..nn import functional as F
    return [F.softplus(c.T(i[0]))]


@_op("HardSigmoid")
def _hsig(c, i, a):
    x = c.T(i[0])
    return [(x * a.get("alpha", 0.2) + a.get("beta", 0.5)).clamp(0.0, 1.0)]


@_op("Gelu")
def _gelu(c, i, a):
    from ..nn import functional as F
    return [F.gelu(c.T(i[0]), approximate=a.get("approximate", "none"))]


@_op("Dropout")
def _dropout(c, i, a):
    x = i[0]
    shape = tuple(x.shape)
    return [x, np.ones(shape, dtype=bool)]


@_op("MatMul")
def _matmul(c, i, a):
    return [c.T(i[0]) @ c.T(i[1])]


@_op("Gemm")
def _gemm(c, i, a):
    A, B = c.T(i[0]), c.T(i[1])
    if a.get("transA", 0):
        A = A.transpose(0, 1)
    if a.get("transB", 0):
        B = B.transpose(0, 1)
    out = A @ B
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    if alpha != 1.0:
        out = out * alpha
    if len(i) > 2 and i[2] is not None:
        C = c.T(i[2])
        out = out + (C * beta if beta != 1.0 else C)
    return [out]


def _same_pads(in_sizes, kernel, strides, dilations, mode):
    pads_b, pads_e = [], []
    for n, k, s, d in zip(in_sizes, kernel, strides, dilations):
        out = -(-n // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - n)
        small, big = total // 2, total - total // 2
        b, e = (small, big) if mode == "SAME_UPPER" else (big, small)
        pads_b.append(b)
        pads_e.append(e)
    return pads_b + pads_e


def _pool_geometry(x, a, kernel):
    nd = len(kernel)
    strides = list(a.get("strides", [1] * nd))
    dil = list(a.get("dilations", [1] * nd))
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = _same_pads(list(x.shape[2:]), kernel, strides, dil, auto)
    elif auto == "VALID":
        pads = [0] * (2 * nd)
    else:
        pads = list(a.get("pads", [0] * (2 * nd)))
    return strides, dil, pads


def _pad_input(x, pads, value=0.0):
    """Pad (N, C, *spatial) by ONNX pads [b1, b2, ..., e1, e2, ...]."""
    from ..nn import functional as F
    nd = len(pads) // 2
    torch_pads = []
    for d in reversed(range(nd)):
        torch_pads += [pads[d], pads[nd + d]]
    return F.pad(x, torch_pads, value=value)


@_op("Conv")
def _conv(c, i, a):
    from ..nn import functional as F
    x, w = c.T(i[0]), c.T(i[1])
    b = c.T(i[2]) if len(i) > 2 and i[2] is not None else None
    kernel = list(a.get("kernel_shape", w.shape[2:]))
    nd = len(kernel)
    if nd not in (1, 2):
        raise UnsupportedOperatorError(f"minitorch.onnx.load: Conv with {nd} spatial dims is "
                                       f"not supported (1-d and 2-d are)")
    strides, dil, pads = _pool_geometry(x, a, kernel)
    group = int(a.get("group", 1))
    if pads[:nd] != pads[nd:]:
        x = _pad_input(x, pads)
        pads = [0] * (2 * nd)
    conv = F.conv2d if nd == 2 else F.conv1d
    return [conv(x, w, b, stride=tuple(strides), padding=tuple(pads[:nd]),
                 dilation=tuple(dil), groups=group)]


@_op("MaxPool")
def _maxpool(c, i, a):
    from ..nn import functional as F
    x = c.T(i[0])
    kernel = list(a["kernel_shape"])
    if len(kernel) != 2:
        raise UnsupportedOperatorError("minitorch.onnx.load: MaxPool is supported in 2-d only")
    strides, dil, pads = _pool_geometry(x, a, kernel)
    if pads[:2] != pads[2:] or pads[0] * 2 > kernel[0] or pads[1] * 2 > kernel[1]:
        x = _pad_input(x, pads, value=-math.inf)
        pads = [0, 0, 0, 0]
    geo = (tuple(kernel), tuple(strides), tuple(pads[:2]), tuple(dil), bool(a.get("ceil_mode", 0)))
    if not (len(a["_used"]) > 1 and a["_used"][1]):
        return [F.max_pool2d(x, *geo)]
    out, idx = F.max_pool2d(x, *geo, return_indices=True)
    n, ch, h, w = x.shape
    # ONNX indices count over the whole (N, C, H, W) tensor
    base = (_mt().arange(n * ch, device=c.device) * (h * w)).reshape(n, ch, 1, 1)
    return [out, idx + base]


@_op("AveragePool")
def _avgpool(c, i, a):
    from ..nn import functional as F
    x = c.T(i[0])
    kernel = list(a["kernel_shape"])
    strides, dil, pads = _pool_geometry(x, a, kernel)
    if len(kernel) != 2 or any(d != 1 for d in dil) or pads[:2] != pads[2:]:
        raise UnsupportedOperatorError("minitorch.onnx.load: AveragePool is supported in 2-d "
                                       "with symmetric pads and no dilation only")
    return [F.avg_pool2d(x, tuple(kernel), tuple(strides), tuple(pads[:2]),
                         bool(a.get("ceil_mode", 0)),
                         count_include_pad=bool(a.get("count_include_pad", 0)))]


@_op("GlobalAveragePool")
def _gap(c, i, a):
    x = c.T(i[0])
    return [x.mean(tuple(range(2, x.ndim)), keepdim=True)]


@_op("GlobalMaxPool")
def _gmp(c, i, a):
    x = c.T(i[0])
    return [x.amax(tuple(range(2, x.ndim)), keepdim=True)]


@_op("BatchNormalization")
def _bn(c, i, a):
    from ..nn import functional as F
    if a.get("training_mode", 0):
        raise UnsupportedOperatorError("minitorch.onnx.load: BatchNormalization with "
                                       "training_mode=1 is not supported (export in eval mode)")
    x, sc, b, m, v = (c.T(t) for t in i[:5])
    return [F.batch_norm(x, m, v, sc, b, training=False, eps=a.get("epsilon", 1e-5))]


@_op("LayerNormalization")
def _ln(c, i, a):
    from ..nn import functional as F
    x = c.T(i[0])
    axis = a.get("axis", -1) % x.ndim
    w = c.T(i[1])
    b = c.T(i[2]) if len(i) > 2 and i[2] is not None else None
    return [F.layer_norm(x, tuple(x.shape[axis:]), w, b, a.get("epsilon", 1e-5))]


def _softmax_like(fn_name):
    def f(c, i, a):
        x = c.T(i[0])
        if c.opset < 13:  # the old semantics: flatten to 2-d at axis
            axis = a.get("axis", 1) % max(x.ndim, 1)
            shape = x.shape
            x2 = x.reshape(int(np.prod(shape[:axis], dtype=np.int64)), -1)
            return [getattr(x2, fn_name)(1).reshape(shape)]
        return [getattr(x, fn_name)(a.get("axis", -1))]
    return f


OPS["Softmax"] = (_softmax_like("softmax"), None)
OPS["LogSoftmax"] = (_softmax_like("log_softmax"), None)


def _reshape_target(shape, target, allowzero):
    out = []
    for k, s in enumerate(target):
        if s == 0 and not allowzero:
            out.append(int(shape[k]))
        else:
            out.append(int(s))
    return out


def _reshape_dev(c, i, a):
    x = c.T(i[0])
    return [x.reshape(_reshape_target(x.shape, _ints(c.H(i[1])), a.get("allowzero", 0)))]


def _reshape_host(c, i, a):
    x = i[0]
    return [x.reshape(_reshape_target(x.shape, _ints(i[1]), a.get("allowzero", 0)))]


OPS["Reshape"] = (_reshape_dev, _reshape_host)


def _flatten_shape(shape, axis):
    axis = axis % (len(shape) + 1) if axis < 0 else axis
    return [int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64))]


OPS["Flatten"] = (lambda c, i, a: [c.T(i[0]).reshape(_flatten_shape(tuple(i[0].shape),
                                                                   a.get("axis", 1)))],
                  lambda c, i, a: [i[0].reshape(_flatten_shape(i[0].shape, a.get("axis", 1)))])


def _perm(x, a):
    return list(a["perm"]) if "perm" in a else list(reversed(range(len(x.shape))))


OPS["Transpose"] = (lambda c, i, a: [c.T(i[0]).permute(*_perm(i[0], a))],
                    lambda c, i, a: [_c(np.transpose(i[0], _perm(i[0], a)))])
OPS["Concat"] = (lambda c, i, a: [_mt().cat([c.T(x) for x in i if x is not None],
                                            a["axis"])],
                 lambda c, i, a: [np.concatenate([x for x in i if x is not None], a["axis"])])


def _axes_of(c, i, a, pos=1):
    if len(i) > pos and i[pos] is not None:
        return _ints(c.H(i[pos]))
    return list(a["axes"]) if "axes" in a else None


def _unsqueeze_shape(shape, axes):
    nd = len(shape) + len(axes)
    axes = sorted(ax % nd for ax in axes)
    out = list(shape)
    for ax in axes:
        out.insert(ax, 1)
    return out


def _squeeze_shape(shape, axes):
    if axes is None:
        return [s for s in shape if s != 1]
    axes = {ax % len(shape) for ax in axes}
    return [s for k, s in enumerate(shape) if k not in axes]


OPS["Unsqueeze"] = (
    lambda c, i, a: [c.T(i[0]).reshape(_unsqueeze_shape(tuple(i[0].shape),
                                                        _axes_of(c, i, a)))],
    lambda c, i, a: [i[0].reshape(_unsqueeze_shape(i[0].shape, _axes_of(c, i, a)))])
OPS["Squeeze"] = (
    lambda c, i, a: [c.T(i[0]).reshape(_squeeze_shape(tuple(i[0].shape), _axes_of(c, i, a)))],
    lambda c, i, a: [i[0].reshape(_squeeze_shape(i[0].shape, _axes_of(c, i, a)))])


def _shape_host(c, i, a):
    shape = tuple(int(s) for s in i[0].shape)
    nd = len(shape)
    start, end = a.get("start", 0), a.get("end", nd)
    return [np.asarray(shape[slice(start, end)], dtype=np.int64)]


OPS["Shape"] = (_shape_host, _shape_host)
OPS["Size"] = (lambda c, i, a: [np.asarray(int(np.prod(tuple(i[0].shape))), np.int64)],) * 2


def _cast_dev(c, i, a):
    dt = _np_of(a["to"])
    return [c.T(i[0]).to(_mdtype(dt))]


OPS["Cast"] = (_cast_dev, lambda c, i, a: [np.asarray(i[0]).astype(_np_of(a["to"]))])
OPS["CastLike"] = (lambda c, i, a: [c.T(i[0]).to(_mdtype(_dtype_of(i[1])))],
                   lambda c, i, a: [np.asarray(i[0]).astype(i[1].dtype)])


def _dtype_of(x):
    return x.dtype if _is_host(x) else x.dtype.np


def _const_of_shape(c, i, a):
    v = a.get("value")
    v = np.zeros(1, np.float32) if v is None else np.asarray(v).reshape(-1)
    return [np.full(_ints(c.H(i[0])), v[0], dtype=v.dtype)]


OPS["ConstantOfShape"] = (_const_of_shape, _const_of_shape)
OPS["Range"] = ((lambda c, i, a: [_range(c, i)]),) * 2


def _range(c, i):
    s, l, d = (np.asarray(c.H(x)).reshape(()) for x in i)
    return np.arange(s, l, d).astype(s.dtype)


def _slice_keys(shape, starts, ends, axes, steps):
    nd = len(shape)
    axes = list(range(len(starts))) if axes is None else [ax % nd for ax in axes]
    steps = [1] * len(starts) if steps is None else steps
    key = [slice(None)] * nd
    flips = []
    for s, e, ax, st in zip(starts, ends, axes, steps):
        if st == 0:
            raise ValueError("minitorch.onnx.load: Slice step cannot be 0")
        key[ax] = slice(s, e, st)
        if st < 0:
            flips.append(ax)
    return key, flips


def _slice_dev(c, i, a):
    x = c.T(i[0])
    starts, ends = _ints(c.H(i[1])), _ints(c.H(i[2]))
    axes = _ints(c.H(i[3])) if len(i) > 3 and i[3] is not None else None
    steps = _ints(c.H(i[4])) if len(i) > 4 and i[4] is not None else None
    key, flips = _slice_keys(tuple(x.shape), starts, ends, axes, steps)
    fixed = []
    for ax, k in enumerate(key):
        n = x.shape[ax]
        lo, hi, st = k.indices(n)
        if st > 0:
            fixed.append(slice(lo, max(lo, hi), st))
        else:
            idx = range(lo, hi, st)
            if len(idx) == 0:
                fixed.append(slice(0, 0, 1))
            else:
                fixed.append(slice(n - 1 - idx[0], n - 1 - idx[-1] + 1, -st))
    if flips:
        x = x.flip(tuple(flips))
    return [x[tuple(fixed)]]


def _slice_host(c, i, a):
    x = i[0]
    axes = _ints(i[3]) if len(i) > 3 and i[3] is not None else None
    steps = _ints(i[4]) if len(i) > 4 and i[4] is not None else None
    key, _ = _slice_keys(x.shape, _ints(i[1]), _ints(i[2]), axes, steps)
    return [_c(x[tuple(key)])]


OPS["Slice"] = (_slice_dev, _slice_host)


def _gather_dev(c, i, a):
    x = c.T(i[0])
    axis = a.get("axis", 0) % x.ndim
    n = x.shape[axis]
    idx = i[1]
    if _is_host(idx):
        idx = np.where(idx < 0, idx + n, idx).astype(np.int64)
        if idx.ndim == 0:
            return [x[(slice(None),) * axis + (int(idx),)]]
    idx = c.T(idx)
    if idx.dtype != _mt().int64:
        idx = idx.to(_mt().int64)
    if not _is_host(i[1]):
        idx = _mt().where(idx < 0, idx + n, idx)
    if axis == 0:
        return [x[idx]]
    flat = x.index_select(axis, idx.reshape(-1))
    return [flat.reshape(tuple(x.shape[:axis]) + tuple(idx.shape) + tuple(x.shape[axis + 1:]))]


OPS["Gather"] = (_gather_dev, lambda c, i, a: [np.take(i[0], i[1], axis=a.get("axis", 0))])


@_op("GatherElements")
def _gather_el(c, i, a):
    x, idx = c.T(i[0]), c.T(i[1])
    axis = a.get("axis", 0) % x.ndim
    idx = idx.to(_mt().int64)
    idx = _mt().where(idx < 0, idx + x.shape[axis], idx)
    return [x.gather(axis, idx)]


def _expand_shape(shape, target):
    return list(np.broadcast_shapes(tuple(shape), tuple(target)))


OPS["Expand"] = (
    lambda c, i, a: [c.T(i[0]).expand(*_expand_shape(tuple(i[0].shape), _ints(c.H(i[1]))))],
    lambda c, i, a: [np.broadcast_to(i[0], _expand_shape(i[0].shape, _ints(i[1]))).copy()])


def _split_sizes(c, i, a, n_out, dim):
    if len(i) > 1 and i[1] is not None:
        return _ints(c.H(i[1]))
    if "split" in a:
        return list(a["split"])
    k = a.get("num_outputs", n_out)
    q = -(-dim // k)
    return [q] * (k - 1) + [dim - q * (k - 1)]


def _split_dev(c, i, a):
    x = c.T(i[0])
    axis = a.get("axis", 0) % x.ndim
    sizes = _split_sizes(c, i, a, a["_n_out"], x.shape[axis])
    return list(x.split(sizes, axis))


def _split_host(c, i, a):
    x = i[0]
    axis = a.get("axis", 0) % x.ndim
    sizes = _split_sizes(c, i, a, a["_n_out"], x.shape[axis])
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


OPS["Split"] = (_split_dev, _split_host)


def _reduce(name):
    def dev(c, i, a):
        x = c.T(i[0])
        if name == "ReduceSum" or c.opset >= 18:
            axes = _ints(c.H(i[1])) if len(i) > 1 and i[1] is not None else None
        else:
            axes = list(a["axes"]) if "axes" in a else None
        if axes is None or not axes:
            if a.get("noop_with_empty_axes", 0):
                return [x]
            axes = list(range(x.ndim))
        keep = bool(a.get("keepdims", 1))
        axes = tuple(ax % x.ndim for ax in axes)
        if name == "ReduceSum":
            return [x.sum(axes, keepdim=keep)]
        if name == "ReduceMean":
            return [x.mean(axes, keepdim=keep)]
        if name == "ReduceMax":
            return [x.amax(axes, keepdim=keep)]
        if name == "ReduceMin":
            return [x.amin(axes, keepdim=keep)]
        if name == "ReduceProd":
            out = x
            for ax in sorted(axes, reverse=True):
                out = out.prod(ax, keepdim=keep)
            return [out]
        if name == "ReduceLogSumExp":
            return [x.logsumexp(axes, keepdim=keep)]
        raise AssertionError(name)
    return dev


for _r in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
           "ReduceLogSumExp"):
    OPS[_r] = (_reduce(_r), None)


def _arg(name):
    def dev(c, i, a):
        x = c.T(i[0])
        if a.get("select_last_index", 0):
            raise UnsupportedOperatorError(f"minitorch.onnx.load: {name} with "
                                           f"select_last_index=1 is not supported")
        axis = a.get("axis", 0)
        keep = bool(a.get("keepdims", 1))
        return [x.argmax(axis, keepdim=keep) if name == "ArgMax" else
                x.argmin(axis, keepdim=keep)]
    return dev


OPS["ArgMax"] = (_arg("ArgMax"), None)
OPS["ArgMin"] = (_arg("ArgMin"), None)


@_op("Trilu")
def _trilu(c, i, a):
    x = c.T(i[0])
    k = int(c.H(i[1])) if len(i) > 1 and i[1] is not None else 0
    return [x.triu(k) if a.get("upper", 1) else x.tril(k)]


@_op("Pad")
def _pad(c, i, a):
    from ..nn import functional as F
    x = c.T(i[0])
    if a.get("mode", "constant") != "constant":
        raise UnsupportedOperatorError("minitorch.onnx.load: Pad supports mode='constant' only")
    pads = _ints(c.H(i[1])) if len(i) > 1 and i[1] is not None else list(a.get("pads"))
    value = float(np.asarray(c.H(i[2])).reshape(-1)[0]) if len(i) > 2 and i[2] is not None \
        else float(a.get("value", 0.0))
    nd = x.ndim
    axes = _ints(c.H(i[3])) if len(i) > 3 and i[3] is not None else list(range(nd))
    full = [0] * (2 * nd)
    k = len(axes)
    for j, ax in enumerate(axes):
        full[ax % nd], full[nd + ax % nd] = pads[j], pads[k + j]
    torch_pads = []
    for d in reversed(range(nd)):
        torch_pads += [full[d], full[nd + d]]
    return [F.pad(x, torch_pads, value=value)]


@_op("LSTM")
def _lstm(c, i, a):
    """ONNX LSTM (gates i, o, f, c; activations sigmoid, tanh, tanh), forward, reverse or
    bidirectional, as a loop of minitorch ops."""
    mt = _mt()
    acts = [s.lower() if isinstance(s, str) else s for s in a.get("activations", [])]
    if acts and acts != ["sigmoid", "tanh", "tanh"] * (len(acts) // 3):
        raise UnsupportedOperatorError(f"minitorch.onnx.load: LSTM activations {acts} are not "
                                       f"supported (only the defaults)")
    if a.get("clip") is not None or a.get("input_forget", 0):
        raise UnsupportedOperatorError("minitorch.onnx.load: LSTM clip / input_forget are not "
                                       "supported")
    if len(i) > 7 and i[7] is not None:
        raise UnsupportedOperatorError("minitorch.onnx.load: LSTM peepholes (P) are not "
                                       "supported")
    layout = a.get("layout", 0)
    X = c.T(i[0])
    if layout:
        X = X.transpose(0, 1)
    W, R = c.T(i[1]), c.T(i[2])
    B = c.T(i[3]) if len(i) > 3 and i[3] is not None else None
    if len(i) > 4 and i[4] is not None:
        lens = c.H(i[4])
        if np.any(lens != X.shape[0]):
            raise UnsupportedOperatorError("minitorch.onnx.load: LSTM with sequence_lens "
                                           "shorter than the sequence is not supported")
    T_, N = X.shape[0], X.shape[1]
    H = int(a["hidden_size"])
    direction = a.get("direction", "forward")
    dirs = ["forward", "reverse"] if direction == "bidirectional" else [direction]
    h0 = c.T(i[5]) if len(i) > 5 and i[5] is not None else None
    c0 = c.T(i[6]) if len(i) > 6 and i[6] is not None else None
    if layout and h0 is not None:
        h0 = h0.transpose(0, 1)
    if layout and c0 is not None:
        c0 = c0.transpose(0, 1)
    ys, hs, cs = [], [], []
    for d, name in enumerate(dirs):
        w, r = W[d], R[d]
        xw = (X.reshape(T_ * N, -1) @ w.transpose(0, 1)).reshape(T_, N, 4 * H)
        if B is not None:
            xw = xw + (B[d][:4 * H] + B[d][4 * H:])
        h = h0[d] if h0 is not None else mt.zeros(N, H, dtype=X.dtype, device=X.device)
        cc = c0[d] if c0 is not None else mt.zeros(N, H, dtype=X.dtype, device=X.device)
        rt = r.transpose(0, 1)
        out = [None] * T_
        steps = range(T_) if name == "forward" else range(T_ - 1, -1, -1)
        for t in steps:
            g = xw[t] + h @ rt
            gi, go, gf, gc = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            cc = gf.sigmoid() * cc + gi.sigmoid() * gc.tanh()
            h = go.sigmoid() * cc.tanh()
            out[t] = h
        ys.append(mt.stack(out, 0))   # (T, N, H)
        hs.append(h)
        cs.append(cc)
    Y = mt.stack(ys, 1)               # (T, dirs, N, H)
    Yh, Yc = mt.stack(hs, 0), mt.stack(cs, 0)
    if layout:
        Y = Y.permute(2, 0, 1, 3)
        Yh, Yc = Yh.transpose(0, 1), Yc.transpose(0, 1)
    return [Y, Yh, Yc]


# -- the model -------------------------------------------------------------------------------
class OnnxModel:
    """An ONNX graph that runs through minitorch ops: ``model(*inputs)`` (minitorch tensors or
    NumPy arrays, in the order of ``input_names``) returns a tensor, or a tuple of them.

    ``.to(device)`` moves it; ``.to_graph(*inputs)`` traces one run into a
    ``minitorch.jit.Graph`` (specialized to those shapes; print it, save it, compile it);
    ``.nodes`` lists the operators, ``.initializers`` the weights (NumPy arrays)."""

    def __init__(self, model_proto, device, path: str):
        from onnx import helper, numpy_helper
        self.path = path
        g = model_proto.graph
        self.name = g.name
        self.opset = _default_opset(model_proto)
        self.initializers: Dict[str, np.ndarray] = {}
        for t in g.initializer:
            self.initializers[t.name] = numpy_helper.to_array(t)
        init = set(self.initializers)
        self.inputs = [(v.name, _value_type(v)) for v in g.input if v.name not in init]
        self.input_names = [n for n, _ in self.inputs]
        self.output_names = [v.name for v in g.output]
        self.nodes: List[tuple] = []
        for k, n in enumerate(g.node):
            attrs = {}
            for at in n.attribute:
                val = helper.get_attribute_value(at)
                if isinstance(val, bytes):
                    val = val.decode("utf-8", "replace")
                elif isinstance(val, list) and val and isinstance(val[0], bytes):
                    val = [x.decode("utf-8", "replace") for x in val]
                elif hasattr(val, "dims") and hasattr(val, "data_type"):  # a TensorProto
                    val = numpy_helper.to_array(val)
                attrs[at.name] = val
            attrs["_n_out"] = len(n.output)
            attrs["_used"] = [bool(o) for o in n.output]
            self.nodes.append((n.op_type, list(n.input), list(n.output), attrs,
                               n.name or f"node {k}"))
        self._const_ids: set = set()
        self._dev_cache: Dict[int, Any] = {}
        self.device = None
        self.to(device)
        self._fold_constants()

    def __repr__(self):
        return (f"OnnxModel({self.path!r}, {len(self.nodes)} nodes, inputs={self.input_names}, "
                f"outputs={self.output_names}, device={self.device})")

    def to(self, device):
        from ..device import canonical
        self.device = canonical(device if device is not None else "cpu")
        self._dev_cache = {}
        return self

    # constants: nodes whose inputs are all constants run once, here, on the host
    def _fold_constants(self):
        consts: Dict[str, np.ndarray] = dict(self.initializers)
        kept = []
        ctx = _Ctx(self)
        for op, ins, outs, attrs, name in self.nodes:
            if op == "Constant":
                consts[outs[0]] = _constant_value(attrs, name)
                continue
            host = OPS[op][1]
            if host is not None and all(x == "" or x in consts for x in ins) and op != "Shape":
                res = host(ctx, [consts[x] if x else None for x in ins], attrs)
                for o, r in zip(outs, res):
                    if o:
                        consts[o] = np.asarray(r)
                continue
            kept.append((op, ins, outs, attrs, name))
        self._consts = consts
        self._const_ids = {id(v) for v in consts.values()}
        self._run_nodes = kept

    def __call__(self, *args, **kwargs):
        mt = _mt()
        if len(args) + len(kwargs) != len(self.inputs):
            raise TypeError(f"the ONNX model takes {len(self.inputs)} input(s) "
                            f"({', '.join(self.input_names)}), got {len(args) + len(kwargs)}")
        env: Dict[str, Any] = dict(self._consts)
        given = dict(zip(self.input_names, args))
        for k, v in kwargs.items():
            if k not in self.input_names:
                raise TypeError(f"the ONNX model has no input named {k!r} (inputs: "
                                f"{', '.join(self.input_names)})")
            given[k] = v
        for name, (dt, dims) in self.inputs:
            x = given[name]
            if isinstance(x, np.ndarray):
                x = mt.tensor(x, device=self.device)
            if not isinstance(x, mt.Tensor):
                raise TypeError(f"input {name!r} must be a tensor, got {type(x).__name__}")
            if dt is not None and x.dtype.np != dt:
                raise RuntimeError(f"input {name!r} expects dtype {dt}, got {x.dtype}")
            if dims is not None:
                if x.ndim != len(dims) or any(isinstance(d, int) and d != s
                                              for d, s in zip(dims, x.shape)):
                    raise RuntimeError(f"input {name!r} expects shape "
                                       f"[{', '.join(str(d) for d in dims)}], got "
                                       f"{list(x.shape)}")
            if x.device != self.device:
                x = x.to(self.device)
            env[name] = x
        ctx = _Ctx(self)
        for op, ins, outs, attrs, name in self._run_nodes:
            vals = [env[x] if x else None for x in ins]
            dev, host = OPS[op]
            try:
                if host is not None and all(v is None or _is_host(v) for v in vals):
                    res = [None if r is None or not isinstance(r, (np.ndarray, np.generic))
                           else np.asarray(r) for r in host(ctx, vals, attrs)]
                else:
                    res = dev(ctx, vals, attrs)
            except UnsupportedOperatorError:
                raise
            except Exception as e:
                raise RuntimeError(f"ONNX node {name!r} ({op}) failed: {type(e).__name__}: "
                                   f"{e}") from e
            for o, r in zip(outs, res):
                if o:
                    env[o] = r
        res = []
        for o in self.output_names:
            v = env[o]
            res.append(ctx.T(np.asarray(v)) if _is_host(v) else v)
        return res[0] if len(res) == 1 else tuple(res)

    def to_graph(self, *example_inputs):
        """One run, traced: a ``minitorch.jit.Graph`` specialized to these input shapes."""
        from ..jit import trace

        def run(*xs):
            return self(*xs)
        run.__name__ = self.name or "onnx_model"
        return trace(run, *example_inputs)


def _constant_value(attrs, name):
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        if key in attrs:
            v = attrs[key]
            if key == "value_float" or key == "value_floats":
                return np.asarray(v, dtype=np.float32)
            if key in ("value_int", "value_ints"):
                return np.asarray(v, dtype=np.int64)
            return np.asarray(v)
    raise UnsupportedOperatorError(f"minitorch.onnx.load: Constant node {name!r} has no "
                                   f"supported value attribute ({sorted(attrs)})")


def _value_type(v):
    tt = v.type.tensor_type
    dt = _np_of(tt.elem_type) if tt.elem_type else None
    dims = None
    if tt.HasField("shape"):
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                for d in tt.shape.dim]
    return dt, dims


def _default_opset(m) -> int:
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    return 1


def load(path, device="cpu") -> OnnxModel:
    """Read an ONNX file (a path, bytes, or a binary file object) into an ``OnnxModel`` that
    runs on ``device`` through minitorch ops."""
    try:
        import onnx
        from google.protobuf.message import DecodeError
    except ImportError:
        raise ImportError("minitorch.onnx.load needs the onnx package: pip install "
                          "'minitorch[onnx]'") from None
    if isinstance(path, (bytes, bytearray)):
        data, where = bytes(path), "<bytes>"
    elif hasattr(path, "read"):
        data, where = path.read(), getattr(path, "name", "<file>")
    else:
        where = os.fspath(path)
        with open(where, "rb") as fh:
            data = fh.read()
    m = onnx.ModelProto()
    try:
        m.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as e:
        raise ValueError(f"{where} is not a valid ONNX model: the protobuf does not parse "
                         f"({type(e).__name__}: {e})") from None
    if not m.graph.node and not m.graph.output:
        raise ValueError(f"{where} is not a valid ONNX model: it has no graph (empty or not "
                         f"an ONNX file)")
    for t in m.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise ValueError(f"{where}: initializer {t.name!r} keeps its data in an external "
                             f"file, which minitorch.onnx.load does not read")
    for k, n in enumerate(m.graph.node):
        if n.domain not in ("", "ai.onnx"):
            raise UnsupportedOperatorError(
                f"ONNX operator {n.domain}::{n.op_type} (node {n.name or k!r}) is not "
                f"supported by minitorch.onnx.load: only the default ai.onnx domain is")
        if n.op_type not in OPS and n.op_type != "Constant":
            raise UnsupportedOperatorError(
                f"ONNX operator {n.op_type!r} (node {n.name or k!r}) is not supported by "
                f"minitorch.onnx.load; supported operators: {', '.join(sorted(OPS))}")
    try:
        onnx.checker.check_model(m)
    except Exception as e:
        raise ValueError(f"{where} is not a valid ONNX model: onnx.checker says: "
                         f"{str(e).strip().splitlines()[0] if str(e).strip() else e}") from None
    return OnnxModel(m, device, where)
