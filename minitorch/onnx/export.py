"""``minitorch.onnx.export``: trace, then write each IR node (or a recognised pattern) as ONNX.

The steps, in order:

1. **Trace** the model in eval mode under ``no_grad`` (``torch.onnx.export``'s default
   ``training=EVAL``) with ``minitorch.jit``'s tracer.  While it runs, a profile hook notes
   each call of a *pattern* function (``F.linear``, ``F.conv2d``, ``F.layer_norm``,
   ``F.batch_norm`` in eval mode, ``F.gelu``, ``F.embedding``): the nodes it recorded, its
   tensor arguments and its result.  That is how ``conv2d``'s im2col + matmul, or layer
   norm's mean / variance / rsqrt chain, become one ``Conv`` or ``LayerNormalization``.
2. **Dynamic axes**: the IR is specialized to the traced shapes, so for each symbolic
   dimension the model is traced once more with that dimension one larger.  Every integer
   that changes with it (a reshape target, an expand shape, a ``full`` shape) is fitted as
   ``c * size`` and emitted as a shape computed from the input's ``Shape``; a graph whose
   structure changes with the size cannot be exported with that axis dynamic (the error
   says where).
3. **Lower** node by node with the tables below (``PRIMITIVES``); a pattern whose internal
   values are used elsewhere falls back to its primitives.  A primitive without a mapping
   raises ``UnsupportedOperatorError`` naming it and the source line.
4. **Check** with ``onnx.checker.check_model(model, full_check=True)``, then write (to a
   temporary file, renamed into place: a failed export never leaves a broken file).
"""
from __future__ import annotations

import math
import os
import sys
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import OnnxExporterError, UnsupportedOperatorError

__all__ = ["export", "PRIMITIVES", "PATTERNS"]

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min

# minitorch unary op -> ONNX operator (one node); the others are written as two nodes below
UNARY = {"neg": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs",
         "sign": "Sign", "sin": "Sin", "cos": "Cos", "tanh": "Tanh", "tan": "Tan", "sigmoid": "Sigmoid",
         "relu": "Relu", "floor": "Floor", "ceil": "Ceil", "round": "Round",
         "logical_not": "Not", "isnan": "IsNaN", "erf": "Erf"}
UNARY2 = {"rsqrt": "Reciprocal(Sqrt(x))", "log1p": "Log(Add(x, 1))", "expm1": "Sub(Exp(x), 1)",
          "bitwise_not": "Not (bool) / BitwiseNot (ints, opset 18)"}
BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow",
          "maximum": "Max", "minimum": "Min", "eq": "Equal", "lt": "Less", "gt": "Greater",
          "le": "LessOrEqual", "ge": "GreaterOrEqual"}
BINARY2 = {"ne": "Not(Equal)", "floor_divide": "Floor(Div) (floats)",
           "remainder": "Mod(fmod=0) (ints) / a - Floor(a/b)*b (floats)",
           "fmod": "Mod(fmod=1)", "bitwise_and": "And (bool) / BitwiseAnd",
           "bitwise_or": "Or (bool) / BitwiseOr", "bitwise_xor": "Xor (bool) / BitwiseXor"}
REDUCE = {"sum": "ReduceSum", "prod": "ReduceProd", "max": "ReduceMax", "min": "ReduceMin",
          "all": "ReduceMin (on 0/1)", "any": "ReduceMax (on 0/1)"}

# every primitive with a mapping, and what it becomes (docs/onnx.md prints this table)
PRIMITIVES = {
    "contiguous": "(no node: the same value)", "asarray": "(no node)",
    "from_numpy": "(no node: a constant)",
    "astype": "Cast", "reshape": "Reshape (Flatten for x.flatten(1))",
    "permute": "Transpose", "expand": "Expand",
    "slice": "Slice (ranges), Gather (an int index), Unsqueeze (None)",
    "flip": "Slice (steps -1)", "unary": "see UNARY", "binary": "see BINARY",
    "where": "Where", "reduce": "ReduceSum / ReduceProd / ReduceMax / ReduceMin",
    "argreduce": "ArgMax / ArgMin", "matmul": "MatMul", "softmax": "Softmax",
    "log_softmax": "LogSoftmax", "cat": "Concat", "index": "Gather (one index) / GatherND",
    "gather": "GatherElements", "full": "ConstantOfShape", "empty": "ConstantOfShape",
    "arange": "a constant (Range when its bounds are dynamic)",
    "im2col": "Conv with one-hot filters + Reshape",
    "im2col_t": "Conv with one-hot filters + Transpose + Reshape",
    "max_pool2d": "MaxPool (indices: Mod of MaxPool's Indices by H*W)",
    "attention": "MatMul, Mul, Add (mask), Softmax, MatMul",
    "lstm_cell": "Add, Slice, Sigmoid, Tanh, Mul (the cell's formulas)",
    "gru_cell": "Add, Slice, Sigmoid, Tanh, Mul, Sub (the cell's formulas)",
    "gelu": "Gelu (opset >= 20); Div, Erf, Add, Mul, Mul (tanh form: its formula) below",
    "layer_norm": "LayerNormalization (opset >= 17); ReduceSum, Sub, Mul, Sqrt, Reciprocal "
                  "below",
}
PATTERNS = {
    "linear": "Gemm (2-d input, as torch) / MatMul + Add",
    "conv2d": "Conv (replaces im2col + matmul + reshape/permute + bias add)",
    "batch_norm": "BatchNormalization (eval mode)",
    "layer_norm": "LayerNormalization (opset >= 17)",
    "gelu": "Gelu (opset >= 20); Div, Erf, Add, Mul, Mul below (as torch at opset 17)",
    "embedding": "Gather",
    "nn.LSTM": "LSTM (one node per layer and direction; gates reordered i, o, f, c)",
}


def _c(a) -> np.ndarray:
    """C-contiguous, keeping 0-d arrays 0-d (np.ascontiguousarray makes them 1-d)."""
    return np.asarray(a, order="C")


# -- symbolic sizes --------------------------------------------------------------------------
class SymInt:
    """An integer ``c * size(s1) * size(s2) ...`` of the traced graph that follows dynamic
    axes (``syms``: the names of those axes)."""
    __slots__ = ("c", "syms")

    def __init__(self, c: int, syms: tuple):
        self.c, self.syms = c, tuple(syms)

    def __repr__(self):
        return "*".join(([str(self.c)] if self.c != 1 else []) + list(self.syms))


class _Mismatch(Exception):
    pass


def _unify(a, others, sizes, where):
    """``a`` (from the base trace) with the same argument of each bumped trace: integers that
    change become SymInt; anything else that changes is a structural mismatch."""
    t = type(a)
    if t is bool or a is None or t is str:
        for b in others:
            if b != a or type(b) is not t:
                raise _Mismatch(where)
        return a
    if t is int:
        if all(type(b) is int and b == a for b in others):
            return a
        syms, base = [], 1
        for (sym, s0, s1), b in zip(sizes, others):
            if type(b) is not int:
                raise _Mismatch(where)
            if b == a:
                continue
            if b * s0 != a * s1:
                raise _Mismatch(f"{where}: the integer {a} changes with dynamic axis {sym!r} "
                                f"but not in proportion to its size")
            syms.append(sym)
            base *= s0
        if a % base:
            raise _Mismatch(f"{where}: the integer {a} changes with the dynamic axes "
                            f"{syms} but is not a multiple of their sizes")
        return SymInt(a // base, syms)
    if t in (tuple, list):
        for b in others:
            if type(b) is not t or len(b) != len(a):
                raise _Mismatch(where)
        return t(_unify(x, [b[i] for b in others], sizes, where) for i, x in enumerate(a))
    if t is slice:
        parts = [_unify(getattr(a, k), [getattr(b, k) for b in others], sizes, where)
                 for k in ("start", "stop", "step")]
        return slice(*parts)
    if isinstance(a, float):
        for b in others:
            if not isinstance(b, float) or not (b == a or (math.isnan(a) and math.isnan(b))):
                raise _Mismatch(f"{where}: the number {a!r} changes with the dynamic axis")
        return a
    from ..jit.graph import Ref
    if t is Ref:
        for b in others:
            if type(b) is not Ref or b.v != a.v:
                raise _Mismatch(where)
        return a
    for b in others:
        try:
            same = type(b) is type(a) and bool(b == a)
        except Exception:
            same = b is a
        if not same:
            raise _Mismatch(where)
    return a


# -- pattern regions, found with a profile hook while tracing ---------------------------------
class _Region:
    """One call of a pattern function: its nodes, its arguments (``ids``: argument name, or
    ``name.i`` for the tensors of a tuple argument, -> value id) and result values."""
    __slots__ = ("kind", "args", "nodes", "outs", "ids")

    def __init__(self, kind, args, nodes, outs, ids):
        self.kind, self.args, self.nodes, self.outs, self.ids = kind, args, nodes, outs, ids

    @property
    def out(self):
        return self.outs[0]


def _pattern_codes():
    import minitorch.nn.functional as F
    from ..nn.rnn import RNNBase
    return {F.linear.__code__: "linear", F.conv2d.__code__: "conv2d",
            F.layer_norm.__code__: "layer_norm", F.batch_norm.__code__: "batch_norm",
            F.gelu.__code__: "gelu", F.embedding.__code__: "embedding",
            RNNBase._run.__code__: "rnn_run"}


def _tensors(loc):
    """(key, tensor) for the tensor arguments, and the tensors of tuple arguments."""
    from ..tensor import Tensor
    for k, v in loc.items():
        if isinstance(v, Tensor):
            yield k, v
        elif isinstance(v, (tuple, list)):
            for i, x in enumerate(v):
                if isinstance(x, Tensor):
                    yield f"{k}.{i}", x


def _flat_tensors(obj):
    from ..tensor import Tensor
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for x in obj for t in _flat_tensors(x)]
    return []


class _RegionHook:
    def __init__(self):
        self.codes = _pattern_codes()
        self.stack: list = []
        self.found: List[_Region] = []

    def __call__(self, frame, event, arg):
        if event == "call":
            kind = self.codes.get(frame.f_code)
            if kind is not None:
                from .. import _tracing
                tr = _tracing.active
                if tr is not None:
                    loc = dict(frame.f_locals)
                    # the value each tensor argument has *now* (a view made inside the
                    # pattern may give the same array a newer value later)
                    before = {k: tr.ids.get(id(v._data)) for k, v in _tensors(loc)}
                    self.stack.append((kind, frame, (loc, before), len(tr.g.nodes)))
        elif event == "return" and self.stack and self.stack[-1][1] is frame:
            kind, _f, (args, before), start = self.stack.pop()
            # a pattern inside a pattern (the input projection of an LSTM layer) is kept
            # too: it is written when the outer one cannot be
            from .. import _tracing
            tr = _tracing.active
            results = _flat_tensors(arg)
            if tr is None or not results:
                return
            ids = {k: before.get(k) if before.get(k) is not None else tr.ids.get(id(v._data))
                   for k, v in _tensors(args)}
            outs = [tr.ids.get(id(t._data)) for t in results]
            if all(o is not None for o in outs):
                self.found.append(_Region(kind, args, list(tr.g.nodes[start:]), outs, ids))


def _trace(fn, args, with_regions: bool):
    from .. import no_grad
    from ..jit.capture import capture
    hook = _RegionHook() if with_regions else None
    old = sys.getprofile()
    try:
        with no_grad():
            if hook is not None:
                sys.setprofile(hook)
            try:
                g, _res, _info = capture(fn, tuple(args), {}, fullgraph=True)
            finally:
                if hook is not None:
                    sys.setprofile(old)
    except Exception as e:
        from ..jit.tracer import GraphBreak
        if isinstance(e, GraphBreak):
            raise OnnxExporterError(f"minitorch.onnx.export: the model cannot be captured as "
                                    f"one static graph: {e}") from None
        raise
    if g.not_replayable:
        raise OnnxExporterError(f"minitorch.onnx.export: {g.not_replayable}")
    return g, (hook.found if hook else [])


# -- the exporter ----------------------------------------------------------------------------
class _Emitter:
    def __init__(self, onnx_mod, g, opset: int, state_names: Dict[int, str]):
        self.onnx = onnx_mod
        self.h = onnx_mod.helper
        self.g = g
        self.opset = opset
        self.nodes: list = []
        self.inits: Dict[str, Any] = {}
        self.names: Dict[int, str] = {}      # value id -> ONNX name
        self.state_names = state_names
        self.counter: Dict[str, int] = {}
        self.src = ""
        self.out_names: Dict[int, str] = {}  # value id -> graph output name
        self.sym_src: Dict[str, Tuple[str, int]] = {}  # symbol -> (input name, axis)
        self.sym_cache: Dict[str, str] = {}
        self._const_cache: Dict[Tuple, str] = {}
        self.sym_consts: Dict[int, tuple] = {}

    # values ----------------------------------------------------------------------------
    def name(self, vid: int) -> str:
        n = self.names.get(vid)
        if n is not None:
            return n
        v = self.g.values[vid]
        if vid in self.sym_consts:
            n = self._sym_arange(vid, *self.sym_consts[vid])
        elif vid in self.g.consts:
            arr = _host(self.g.consts[vid], self.g.devices.get(vid, "cpu"))
            n = self.const(arr, f"const_{vid}")
        elif v.kind == "state":
            name = self.state_names[vid]
            arr = _host(self.g._slots[v.name].read(), self.g.devices[vid])
            self.inits[name] = self.h.make_tensor(
                name, _onnx_dtype(arr.dtype), arr.shape, _c(arr).tobytes(),
                raw=True)
            n = name
        else:
            raise OnnxExporterError(f"internal error: value %{vid} is used before it is "
                                    f"defined")
        self.names[vid] = n
        return n

    def _sym_arange(self, vid, start, step, n, dtype) -> str:
        """``start + step * arange(n)`` with a symbolic ``n`` (minitorch.arange computes its
        values in NumPy, so a traced arange is a constant): a Range node."""
        (cnt,) = self.node("Squeeze", [self.shape([n]), self.ints([0])])
        dt = np.dtype(dtype)
        if dt != np.int64:
            (cnt,) = self.node("Cast", [cnt], to=_onnx_dtype(dt))
        lim = cnt
        if step != 1:
            (lim,) = self.node("Mul", [lim, self.scalar(step, dt)])
        if start != 0:
            (lim,) = self.node("Add", [lim, self.scalar(start, dt)])
        return self.node("Range", [self.scalar(start, dt), lim, self.scalar(step, dt)])[0]

    def const(self, arr, base: str = "const") -> str:
        arr = _c(arr)
        key = None
        if arr.size <= 16:
            key = (str(arr.dtype), arr.shape, arr.tobytes())
            hit = self._const_cache.get(key)
            if hit is not None:
                return hit
        name = base
        k = 1
        while name in self.inits:
            name = f"{base}_{k}"
            k += 1
        self.inits[name] = self.h.make_tensor(name, _onnx_dtype(arr.dtype), arr.shape,
                                              arr.tobytes(), raw=True)
        if key is not None:
            self._const_cache[key] = name
        return name

    def ints(self, vals) -> str:
        return self.const(np.asarray(list(vals), dtype=np.int64), "shape")

    def scalar(self, value, dtype) -> str:
        return self.const(np.asarray(value, dtype=np.dtype(dtype)), "scalar")

    # nodes -----------------------------------------------------------------------------
    def node(self, op: str, inputs: Sequence[str], n_out: int = 1, outs=None, **attrs):
        k = self.counter.get(op, 0)
        self.counter[op] = k + 1
        nname = f"/{op}_{k}" if k else f"/{op}"
        if outs is None:
            outs = [f"{nname}_output_{i}" for i in range(n_out)]
        nd = self.h.make_node(op, list(inputs), list(outs), name=nname,
                              doc_string=self.src or None, **attrs)
        self.nodes.append(nd)
        return outs

    def define(self, vid: int, op: str, inputs, **attrs) -> str:
        """One node whose single output is value ``vid``."""
        out = self.out_names.get(vid)
        (name,) = self.node(op, inputs, outs=[out] if out else None, **attrs)
        self.names[vid] = name
        return name

    def alias(self, vid: int, name: str) -> None:
        if vid in self.out_names:
            self.define(vid, "Identity", [name])
        else:
            self.names[vid] = name

    # shapes ----------------------------------------------------------------------------
    def sym(self, s: str) -> str:
        n = self.sym_cache.get(s)
        if n is None:
            inp, axis = self.sym_src[s]
            (n,) = self.node("Shape", [inp], start=axis, end=axis + 1)
            self.sym_cache[s] = n
        return n

    def shape(self, dims, reshape: bool = False) -> str:
        """A 1-d int64 tensor of ``dims`` (ints and SymInts)."""
        dims = list(dims)
        syms = [i for i, d in enumerate(dims) if isinstance(d, SymInt)]
        if not syms:
            return self.ints(dims)
        if reshape and len(syms) == 1 and all(d != 0 for d in dims if isinstance(d, int)):
            return self.ints([-1 if isinstance(d, SymInt) else d for d in dims])
        parts, run = [], []
        for d in dims:
            if isinstance(d, SymInt):
                if run:
                    parts.append(self.ints(run))
                    run = []
                s = self.sym(d.syms[0])
                for other in d.syms[1:]:
                    (s,) = self.node("Mul", [s, self.sym(other)])
                if d.c != 1:
                    (s,) = self.node("Mul", [s, self.ints([d.c])])
                parts.append(s)
            else:
                run.append(d)
        if run:
            parts.append(self.ints(run))
        return parts[0] if len(parts) == 1 else self.node("Concat", parts, axis=0)[0]


def _host(arr, device: str) -> np.ndarray:
    from ..device import canonical
    return _c(np.asarray(canonical(device)._be.to_numpy(arr)))


def _onnx_dtype(dt) -> int:
    from onnx import helper
    return helper.np_dtype_to_tensor_dtype(np.dtype(dt))


def _unsupported(what: str, n, opset: int):
    raise UnsupportedOperatorError(
        f"Exporting the operator '{what}' to ONNX opset version {opset} is not supported by "
        f"minitorch.onnx (minitorch primitive {n.op!r} at {n.src or '<unknown line>'}); "
        f"nothing was written")


def _static(x, n, what):
    if isinstance(x, SymInt):
        raise OnnxExporterError(f"minitorch.onnx.export: {what} of {n.op!r} at {n.src} depends "
                                f"on a dynamic axis ({x}); export with that axis static")
    return x


# -- one primitive ---------------------------------------------------------------------------
def _lower(e: _Emitter, n, args, kw):
    from ..jit.graph import Ref
    g = e.g
    op = n.op
    V = g.values
    out = n.outs[0] if n.outs else None
    if op in ("contiguous", "asarray", "from_numpy"):
        e.alias(out, e.name(args[0].v))
        return
    if op == "astype":
        src = V[args[0].v]
        if src.dtype == V[out].dtype:
            e.alias(out, e.name(args[0].v))
        else:
            e.define(out, "Cast", [e.name(args[0].v)], to=_onnx_dtype(V[out].dtype))
        return
    if op == "reshape":
        xs, target = V[args[0].v].shape, tuple(args[1])
        if len(target) == 2 and len(xs) > 2 and isinstance(target[1], int) and \
                target[1] == int(np.prod(xs[1:])) and target[1] > 0:
            # x.flatten(1): torch writes Flatten, which keeps the batch dim's name
            e.define(out, "Flatten", [e.name(args[0].v)], axis=1)
            return
        e.define(out, "Reshape", [e.name(args[0].v), e.shape(args[1], reshape=True)])
        return
    if op == "permute":
        e.define(out, "Transpose", [e.name(args[0].v)], perm=[int(p) for p in args[1]])
        return
    if op == "expand":
        e.define(out, "Expand", [e.name(args[0].v), e.shape(args[1])])
        return
    if op == "slice":
        _lower_slice(e, n, args[0].v, tuple(args[1]), out)
        return
    if op == "flip":
        dims = [int(d) for d in args[1]]
        k = len(dims)
        e.define(out, "Slice", [e.name(args[0].v), e.ints([-1] * k), e.ints([INT64_MIN] * k),
                                e.ints(dims), e.ints([-1] * k)])
        return
    if op == "unary":
        _lower_unary(e, n, args[0], args[1].v, out)
        return
    if op == "binary":
        if kw.get("out") is not None:
            _unsupported("binary(out=) (an in-place update)", n, e.opset)
        _lower_binary(e, n, args[0], args[1], args[2], out)
        return
    if op == "where":
        dt = V[out].dtype
        ins = [e.name(args[0].v)] + [e.name(a.v) if isinstance(a, Ref) else e.scalar(a, dt)
                                     for a in args[1:3]]
        e.define(out, "Where", ins)
        return
    if op == "reduce":
        _lower_reduce(e, n, args[0], args[1].v, tuple(args[2]), bool(args[3]), out)
        return
    if op == "argreduce":
        rop, x, axis, keep = args
        name = e.name(x.v)
        onnx_op = {"argmax": "ArgMax", "argmin": "ArgMin"}[rop]
        if axis is None:
            (flat,) = e.node("Reshape", [name, e.ints([-1])])
            if keep:
                (r,) = e.node(onnx_op, [flat], axis=0, keepdims=1)
                e.define(out, "Reshape", [r, e.ints([1] * len(V[x.v].shape))])
            else:
                e.define(out, onnx_op, [flat], axis=0, keepdims=0)
        else:
            e.define(out, onnx_op, [name], axis=int(axis), keepdims=int(bool(keep)))
        return
    if op == "matmul":
        e.define(out, "MatMul", [e.name(args[0].v), e.name(args[1].v)])
        return
    if op in ("softmax", "log_softmax"):
        e.define(out, "Softmax" if op == "softmax" else "LogSoftmax", [e.name(args[0].v)],
                 axis=int(args[1]))
        return
    if op == "cat":
        if len(args[0]) == 1:
            e.alias(out, e.name(args[0][0].v))
            return
        e.define(out, "Concat", [e.name(a.v) for a in args[0]], axis=int(args[1]))
        return
    if op == "index":
        x, idxs = args
        names = [e.name(i.v) for i in idxs]
        if len(names) == 1:
            e.define(out, "Gather", [e.name(x.v), names[0]], axis=0)
        else:
            cols = [e.node("Unsqueeze", [nm, e.ints([-1])])[0] for nm in names]
            (ix,) = e.node("Concat", cols, axis=-1)
            e.define(out, "GatherND", [e.name(x.v), ix])
        return
    if op == "gather":
        e.define(out, "GatherElements", [e.name(args[0].v), e.name(args[2].v)],
                 axis=int(args[1]))
        return
    if op in ("full", "empty"):
        value = args[1] if op == "full" else 0
        dt = np.dtype(V[out].dtype)
        val = e.h.make_tensor("value", _onnx_dtype(dt), [1],
                              np.asarray([value], dtype=dt).tobytes(), raw=True)
        e.define(out, "ConstantOfShape", [e.shape(args[0])], value=val)
        return
    if op == "arange":
        start, stop, step = args[0], args[1], args[2]
        dt = np.dtype(V[out].dtype)
        if not any(isinstance(a, SymInt) for a in (start, stop, step)):
            e.alias(out, e.const(np.arange(start, stop, step).astype(dt), "arange"))
            return
        ins = []
        for a in (start, stop, step):
            if isinstance(a, SymInt):
                s = e.shape([a])
                (s,) = e.node("Squeeze", [s, e.ints([0])])
                if dt != np.int64:
                    (s,) = e.node("Cast", [s], to=_onnx_dtype(dt))
                ins.append(s)
            else:
                ins.append(e.scalar(a, dt))
        e.define(out, "Range", ins)
        return
    if op in ("im2col", "im2col_t"):
        x, kernel, stride, pad, dil = args
        xs = V[x.v].shape
        c = xs[1]
        kh, kw = (_static(k, n, "the kernel size") for k in kernel)
        w = np.zeros((c * kh * kw, c, kh, kw), dtype=np.dtype(V[x.v].dtype))
        for ci in range(c):
            for i in range(kh):
                for j in range(kw):
                    w[(ci * kh + i) * kw + j, ci, i, j] = 1
        (cols,) = e.node("Conv", [e.name(x.v), e.const(w, "im2col_filters")],
                         kernel_shape=[kh, kw], strides=list(stride),
                         pads=[pad[0], pad[1], pad[0], pad[1]], dilations=list(dil))
        if op == "im2col_t":  # (N, K, oh, ow) -> (K, N, oh, ow) -> (K, N*oh*ow)
            (cols,) = e.node("Transpose", [cols], perm=[1, 0, 2, 3])
            e.define(out, "Reshape", [cols, e.ints([c * kh * kw, -1])])
            return
        e.define(out, "Reshape", [cols, e.ints([0, c * kh * kw, -1])])
        return
    if op == "max_pool2d":
        x, kernel, stride, pad, dil, ceil = args
        attrs = dict(kernel_shape=list(kernel), strides=list(stride),
                     pads=[pad[0], pad[1], pad[0], pad[1]], dilations=list(dil),
                     ceil_mode=int(bool(ceil)))
        used_idx = len(n.outs) > 1 and e.used(n.outs[1])
        if not used_idx:
            e.define(n.outs[0], "MaxPool", [e.name(x.v)], **attrs)
            return
        vals, idx = e.node("MaxPool", [e.name(x.v)], n_out=2, **attrs)
        e.alias(n.outs[0], vals)
        h, w = V[x.v].shape[2], V[x.v].shape[3]
        e.define(n.outs[1], "Mod", [idx, e.ints([h * w])], fmod=0)
        return
    if op == "attention":
        _lower_attention(e, n, args, kw)
        return
    if op in ("gelu", "layer_norm"):  # the fused primitives outside their F.* pattern
        (_lower_gelu if op == "gelu" else _lower_layer_norm)(e, n, args)
        return
    if op in ("lstm_cell", "gru_cell"):  # nn/rnn.py's fused cells (an nn.LSTM layer that
        _lower_rnn_cell(e, n, args)       # is not one ONNX LSTM node, nn.GRU, the cells)
        return
    _unsupported(op if op not in ("check", "counter") else op, n, e.opset)


def _lower_gelu(e, n, args):
    """``gelu`` (backends/base.py): Gelu at opset 20, else its formula."""
    x, approx = args[0], args[1]
    dt = np.dtype(e.g.values[x.v].dtype)
    xs = e.name(x.v)
    if e.opset >= 20:
        e.define(n.outs[0], "Gelu", [xs], approximate=approx)
        return
    if approx == "tanh":
        (x3,) = e.node("Mul", [xs, e.node("Mul", [xs, xs])[0]])
        (u,) = e.node("Add", [xs, e.node("Mul", [x3, e.scalar(0.044715, dt)])[0]])
        (u,) = e.node("Mul", [u, e.scalar(math.sqrt(2.0 / math.pi), dt)])
        (f,) = e.node("Add", [e.node("Tanh", [u])[0], e.scalar(1.0, dt)])
    else:
        (f,) = e.node("Erf", [e.node("Div", [xs, e.scalar(math.sqrt(2.0), dt)])[0]])
        (f,) = e.node("Add", [f, e.scalar(1.0, dt)])
    (f,) = e.node("Mul", [xs, f])
    e.define(n.outs[0], "Mul", [f, e.scalar(0.5, dt)])


def _lower_layer_norm(e, n, args):
    """``layer_norm`` of (M, N) rows (backends/base.py): LayerNormalization at opset >= 17,
    else mean / variance / reciprocal square root; the saved mean and rstd outputs are not
    written (only training graphs read them)."""
    from ..jit.graph import Ref
    x, w, b, eps = args
    dt = np.dtype(e.g.values[x.v].dtype)
    cols = int(e.g.values[x.v].shape[-1])
    xs = e.name(x.v)
    if e.opset >= 17:
        sc = e.name(w.v) if isinstance(w, Ref) else e.const(np.ones(cols, dt), "ln_scale")
        ins = [xs, sc] + ([e.name(b.v)] if isinstance(b, Ref) else [])
        e.define(n.outs[0], "LayerNormalization", ins, axis=-1, epsilon=float(eps))
        return
    inv_n = e.scalar(1.0 / cols, dt)
    (mu,) = e.node("Mul", [_reduce_node(e, "ReduceSum", xs, [-1], True), inv_n])
    (d,) = e.node("Sub", [xs, mu])
    (var,) = e.node("Mul", [_reduce_node(e, "ReduceSum", e.node("Mul", [d, d])[0], [-1],
                                         True), inv_n])
    (rs,) = e.node("Reciprocal", [e.node("Sqrt", [e.node("Add", [var, e.scalar(
        float(eps), dt)])[0]])[0]])
    ops = [("Mul", rs)] + ([("Mul", e.name(w.v))] if isinstance(w, Ref) else []) + \
        ([("Add", e.name(b.v))] if isinstance(b, Ref) else [])
    y = d
    for op, other in ops[:-1]:
        (y,) = e.node(op, [y, other])
    e.define(n.outs[0], ops[-1][0], [y, ops[-1][1]])


def _lower_rnn_cell(e, n, args):
    """``lstm_cell`` / ``gru_cell`` as their elementwise formulas (backends/base.py)."""
    from ..jit.graph import Ref
    gi, gh, b, s = args
    hs = e.g.values[s.v].shape[1]
    hh = e.name(gh.v)
    if isinstance(b, Ref):
        (hh,) = e.node("Add", [hh, e.name(b.v)])

    def block(x, k):
        return e.node("Slice", [x, e.ints([k * hs]), e.ints([(k + 1) * hs]), e.ints([1])])[0]
    if n.op == "lstm_cell":
        (a,) = e.node("Add", [e.name(gi.v), hh])
        acts = [e.node("Tanh" if k == 2 else "Sigmoid", [block(a, k)])[0] for k in range(4)]
        i, f, g, o = acts
        (fc,) = e.node("Mul", [f, e.name(s.v)])
        (ig,) = e.node("Mul", [i, g])
        c2 = e.define(n.outs[1], "Add", [fc, ig])
        (tc,) = e.node("Tanh", [c2])
        e.define(n.outs[0], "Mul", [o, tc])
        if e.used(n.outs[2]):
            e.define(n.outs[2], "Concat", acts, axis=1)
        return
    x = e.name(gi.v)
    (r,) = e.node("Sigmoid", [e.node("Add", [block(x, 0), block(hh, 0)])[0]])
    (z,) = e.node("Sigmoid", [e.node("Add", [block(x, 1), block(hh, 1)])[0]])
    hn = block(hh, 2)
    (rn,) = e.node("Mul", [r, hn])
    (nn_,) = e.node("Tanh", [e.node("Add", [block(x, 2), rn])[0]])
    (d,) = e.node("Sub", [e.name(s.v), nn_])
    (dz,) = e.node("Mul", [d, z])
    e.define(n.outs[0], "Add", [dz, nn_])
    if e.used(n.outs[1]):
        e.define(n.outs[1], "Concat", [r, z, nn_, hn], axis=1)


def _lower_slice(e, n, xv, key, out):
    g = e.g
    shape = g.values[xv].shape
    starts, ends, axes, steps, squeeze, unsq = [], [], [], [], [], []
    dim = 0      # input dim
    odim = 0     # output dim (after squeezes and new axes)
    for k in key:
        if k is None:
            unsq.append(odim)
            odim += 1
            continue
        if isinstance(k, slice):
            st, sp, sd = k.start, k.stop, k.step
            if not (st in (None, 0) and sp is None and sd in (None, 1)):
                if isinstance(sp, int) and not isinstance(sp, bool) and sp >= shape[dim] \
                        and st in (None, 0) and sd in (None, 1):
                    pass  # the whole dim
                else:
                    starts.append(0 if st is None else st)
                    ends.append(INT64_MAX if sp is None else sp)
                    axes.append(dim)
                    steps.append(1 if sd is None else sd)
            dim += 1
            odim += 1
            continue
        squeeze.append((dim, int(_static(k, n, "a slice index"))))
        dim += 1
    name = e.name(xv)
    if axes:
        (name,) = e.node("Slice", [name, e.shape(starts), e.shape(ends), e.ints(axes),
                                   e.ints(steps)])
    for d, i in sorted(squeeze, reverse=True):  # x[..., i, ...]: Gather, as torch writes it
        (name,) = e.node("Gather", [name, e.const(np.asarray(i, np.int64), "index")], axis=d)
    if unsq:
        (name,) = e.node("Unsqueeze", [name, e.ints(unsq)])
    e.alias(out, name)


def _lower_unary(e, n, uop, xv, out):
    x = e.name(xv)
    dt = np.dtype(e.g.values[xv].dtype)
    if uop in UNARY:
        e.define(out, UNARY[uop], [x])
    elif uop == "rsqrt":
        (s,) = e.node("Sqrt", [x])
        e.define(out, "Reciprocal", [s])
    elif uop == "log1p":
        (s,) = e.node("Add", [x, e.scalar(1, dt)])
        e.define(out, "Log", [s])
    elif uop == "expm1":
        (s,) = e.node("Exp", [x])
        e.define(out, "Sub", [s, e.scalar(1, dt)])
    elif uop == "bitwise_not" and dt == np.bool_:
        e.define(out, "Not", [x])
    elif uop == "bitwise_not" and e.opset >= 18:
        e.define(out, "BitwiseNot", [x])
    else:
        _unsupported(f"unary {uop}", n, e.opset)


def _lower_binary(e, n, bop, a, b, out):
    from ..jit.graph import Ref
    V = e.g.values
    ref = a if isinstance(a, Ref) else b
    dt = np.dtype(V[ref.v].dtype)
    A = e.name(a.v) if isinstance(a, Ref) else e.scalar(a, dt)
    B = e.name(b.v) if isinstance(b, Ref) else e.scalar(b, dt)
    isfloat = dt.kind == "f"
    if bop in BINARY:
        e.define(out, BINARY[bop], [A, B])
    elif bop == "ne":
        (s,) = e.node("Equal", [A, B])
        e.define(out, "Not", [s])
    elif bop == "floor_divide" and isfloat:
        (s,) = e.node("Div", [A, B])
        e.define(out, "Floor", [s])
    elif bop == "remainder" and not isfloat:
        e.define(out, "Mod", [A, B], fmod=0)
    elif bop == "remainder":
        (q,) = e.node("Div", [A, B])
        (q,) = e.node("Floor", [q])
        (q,) = e.node("Mul", [q, B])
        e.define(out, "Sub", [A, q])
    elif bop == "fmod":
        e.define(out, "Mod", [A, B], fmod=1)
    elif bop in ("bitwise_and", "bitwise_or", "bitwise_xor") and dt == np.bool_:
        e.define(out, {"bitwise_and": "And", "bitwise_or": "Or", "bitwise_xor": "Xor"}[bop],
                 [A, B])
    elif bop in ("bitwise_and", "bitwise_or", "bitwise_xor") and e.opset >= 18:
        e.define(out, {"bitwise_and": "BitwiseAnd", "bitwise_or": "BitwiseOr",
                       "bitwise_xor": "BitwiseXor"}[bop], [A, B])
    else:
        _unsupported(f"binary {bop} ({dt})", n, e.opset)


def _reduce_node(e, onnx_op, x, axes, keep, out=None, **kw):
    keepdims = int(bool(keep))
    if onnx_op == "ReduceSum" or e.opset >= 18:
        ins = [x, e.ints(axes)]
        if out is not None:
            return e.define(out, onnx_op, ins, keepdims=keepdims)
        return e.node(onnx_op, ins, keepdims=keepdims)[0]
    if out is not None:
        return e.define(out, onnx_op, [x], axes=list(axes), keepdims=keepdims)
    return e.node(onnx_op, [x], axes=list(axes), keepdims=keepdims)[0]


def _lower_reduce(e, n, rop, xv, axes, keep, out):
    x = e.name(xv)
    dt = np.dtype(e.g.values[xv].dtype)
    axes = [int(a) for a in axes]
    if not axes:
        e.alias(out, x)
        return
    if rop in ("all", "any"):
        (c,) = e.node("Cast", [x], to=_onnx_dtype(np.int32))
        r = _reduce_node(e, "ReduceMin" if rop == "all" else "ReduceMax", c, axes, keep)
        e.define(out, "Cast", [r], to=_onnx_dtype(np.bool_))
        return
    if dt == np.bool_:
        (x,) = e.node("Cast", [x], to=_onnx_dtype(e.g.values[out].dtype))
    _reduce_node(e, REDUCE[rop], x, axes, keep, out=out)


def _lower_attention(e, n, args, kw):
    from ..jit.graph import Ref
    q, k, v, mask, causal, scale = args
    V = e.g.values
    dt = np.dtype(V[q.v].dtype)
    L, S = V[q.v].shape[1], V[k.v].shape[1]
    (kt,) = e.node("Transpose", [e.name(k.v)], perm=[0, 2, 1])
    (s,) = e.node("MatMul", [e.name(q.v), kt])
    (s,) = e.node("Mul", [s, e.scalar(scale, dt)])
    if isinstance(mask, Ref):
        (s,) = e.node("Add", [s, e.name(mask.v)])
    if causal:
        m = np.where(np.triu(np.ones((L, S), dtype=bool), 1), -np.inf, 0).astype(dt)
        (s,) = e.node("Add", [s, e.const(m, "causal_mask")])
    (p,) = e.node("Softmax", [s], axis=-1)
    e.define(n.outs[0], "MatMul", [p, e.name(v.v)])
    if len(n.outs) > 1 and e.used(n.outs[1]):
        e.define(n.outs[1], "ReduceLogSumExp", [s], axes=[-1], keepdims=0) if e.opset < 18 \
            else e.define(n.outs[1], "ReduceLogSumExp", [s, e.ints([-1])], keepdims=0)


# -- patterns --------------------------------------------------------------------------------
def _emit_region(e: _Emitter, r: _Region) -> bool:
    """Write a recognised pattern as native ONNX ops; False: not applicable here (its
    primitives are written instead)."""
    V = e.g.values
    ids, a, out = r.ids, r.args, r.out
    if r.kind == "linear":
        x, w = ids.get("input"), ids.get("weight")
        b = ids.get("bias") if a.get("bias") is not None else None
        if x is None or w is None or len(V[w].shape) != 2 or \
                (b is not None and len(V[b].shape) != 1):
            return False
        if len(V[x].shape) == 2:
            ins = [e.name(x), e.name(w)] + ([e.name(b)] if b is not None else [])
            e.define(out, "Gemm", ins, alpha=1.0, beta=1.0, transB=1)
            return True
        wt = _transposed(e, w)
        if b is None:
            e.define(out, "MatMul", [e.name(x), wt])
        else:
            (mm,) = e.node("MatMul", [e.name(x), wt])
            e.define(out, "Add", [mm, e.name(b)])
        return True
    if r.kind == "conv2d":
        x, w = ids.get("input"), ids.get("weight")
        b = ids.get("bias") if a.get("bias") is not None else None
        pad = a.get("padding", 0)
        if x is None or w is None or len(V[x].shape) != 4:
            return False
        kh, kw = V[w].shape[2], V[w].shape[3]
        st, dl = _pair(a.get("stride", 1)), _pair(a.get("dilation", 1))
        if isinstance(pad, str):
            if pad == "valid":
                pad = (0, 0)
            else:  # 'same' with stride 1: symmetric only
                tot = (dl[0] * (kh - 1), dl[1] * (kw - 1))
                if tot[0] % 2 or tot[1] % 2:
                    return False
                pad = (tot[0] // 2, tot[1] // 2)
        pad = _pair(pad)
        ins = [e.name(x), e.name(w)] + ([e.name(b)] if b is not None else [])
        e.define(out, "Conv", ins, kernel_shape=[kh, kw], strides=list(st),
                 pads=[pad[0], pad[1], pad[0], pad[1]], dilations=list(dl),
                 group=int(a.get("groups", 1)))
        return True
    if r.kind == "batch_norm":
        if a.get("training"):
            return False
        x, m, vr = ids.get("input"), ids.get("running_mean"), ids.get("running_var")
        if x is None or m is None or vr is None:
            return False
        c = V[x].shape[1]
        dt = np.dtype(V[x].dtype)
        sc = e.name(ids["weight"]) if a.get("weight") is not None and "weight" in ids \
            else e.const(np.ones(c, dt), "bn_scale")
        bi = e.name(ids["bias"]) if a.get("bias") is not None and "bias" in ids \
            else e.const(np.zeros(c, dt), "bn_bias")
        e.define(out, "BatchNormalization", [e.name(x), sc, bi, e.name(m), e.name(vr)],
                 epsilon=float(a.get("eps", 1e-5)))
        return True
    if r.kind == "layer_norm":
        if e.opset < 17:
            return False
        x = ids.get("input")
        if x is None:
            return False
        ns = a.get("normalized_shape")
        k = 1 if isinstance(ns, int) else len(tuple(ns))
        dt = np.dtype(V[x].dtype)
        sc = e.name(ids["weight"]) if a.get("weight") is not None and "weight" in ids \
            else e.const(np.ones(V[x].shape[-k:], dt), "ln_scale")
        ins = [e.name(x), sc]
        if a.get("bias") is not None and "bias" in ids:
            ins.append(e.name(ids["bias"]))
        e.define(out, "LayerNormalization", ins, axis=-k, epsilon=float(a.get("eps", 1e-5)))
        return True
    if r.kind == "gelu":
        x = ids.get("input")
        approx = a.get("approximate", "none")
        if x is None:
            return False
        if e.opset >= 20:
            e.define(out, "Gelu", [e.name(x)], approximate=approx)
            return True
        if approx != "none":
            return False
        dt = np.dtype(V[x].dtype)
        (d,) = e.node("Div", [e.name(x), e.scalar(math.sqrt(2.0), dt)])
        (f,) = e.node("Erf", [d])
        (f,) = e.node("Add", [f, e.scalar(1.0, dt)])
        (f,) = e.node("Mul", [e.name(x), f])
        e.define(out, "Mul", [f, e.scalar(0.5, dt)])
        return True
    if r.kind == "embedding":
        x, w = ids.get("input"), ids.get("weight")
        if x is None or w is None or a.get("max_norm") is not None:
            return False
        e.define(out, "Gather", [e.name(w), e.name(x)], axis=0)
        return True
    if r.kind == "rnn_run":
        return _emit_lstm(e, r)
    return False


def _array_of(e: _Emitter, vid) -> Optional[np.ndarray]:
    """The value of a parameter / constant (None for a computed value)."""
    if vid is None:
        return None
    g = e.g
    v = g.values[vid]
    if vid in g.consts:
        return _host(g.consts[vid], g.devices.get(vid, "cpu"))
    if v.kind == "state":
        return _host(g._slots[v.name].read(), g.devices[vid])
    return None


# torch's gate order (i, f, g, o) -> ONNX's (i, o, f, c)
_LSTM_ORDER = (0, 3, 1, 2)


def _emit_lstm(e: _Emitter, r: _Region) -> bool:
    """One direction of one nn.LSTM layer (``RNNBase._run``) -> one ONNX ``LSTM`` node, with
    the weights reordered to ONNX's gate order (what torch.onnx.export does)."""
    a, ids = r.args, r.ids
    mod = a.get("self")
    if getattr(mod, "mode", None) != "LSTM" or len(r.outs) != 3:
        return False
    x, h0, c0 = ids.get("x"), ids.get("h0"), ids.get("c0")
    w_ih, w_hh = _array_of(e, ids.get("weights.0")), _array_of(e, ids.get("weights.1"))
    if x is None or h0 is None or c0 is None or w_ih is None or w_hh is None:
        return False
    weights = a.get("weights")
    has_bias = weights[2] is not None and weights[3] is not None
    b_ih = _array_of(e, ids.get("weights.2")) if has_bias else None
    b_hh = _array_of(e, ids.get("weights.3")) if has_bias else None
    if has_bias and (b_ih is None or b_hh is None):
        return False
    H = w_hh.shape[1]

    def reorder(w):
        return np.concatenate([w[k * H:(k + 1) * H] for k in _LSTM_ORDER], 0)
    wname = e.state_names.get(ids["weights.0"], "lstm.weight_ih")  # lstm.weight_ih_l0
    W = e.const(reorder(w_ih)[None], wname.replace("weight_ih", "W"))
    R = e.const(reorder(w_hh)[None], wname.replace("weight_ih", "R"))
    ins = [e.name(x), W, R]
    if has_bias:
        ins.append(e.const(np.concatenate([reorder(b_ih), reorder(b_hh)])[None],
                           wname.replace("weight_ih", "B")))
    else:
        ins.append("")
    (ih,) = e.node("Unsqueeze", [e.name(h0), e.ints([0])])
    (ic,) = e.node("Unsqueeze", [e.name(c0), e.ints([0])])
    ins += ["", ih, ic]
    Y, Yh, Yc = e.node("LSTM", ins, n_out=3, hidden_size=int(H),
                       direction="reverse" if a.get("reverse") else "forward")
    out, h, c = r.outs
    e.define(out, "Squeeze", [Y, e.ints([1])])
    e.define(h, "Squeeze", [Yh, e.ints([0])])
    e.define(c, "Squeeze", [Yc, e.ints([0])])
    return True


def _pair(v):
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(x) for x in v)


def _transposed(e: _Emitter, w: int) -> str:
    """``weight.T`` for MatMul: a transposed initializer (torch folds it so), or a
    Transpose node when the weight is computed."""
    g = e.g
    v = g.values[w]
    if w in g.consts or v.kind == "state":
        name = (f"const_{w}" if w in g.consts else e.state_names[w]) + ".T"
        if name not in e.inits:
            arr = _host(g.consts[w], g.devices.get(w, "cpu")) if w in g.consts else \
                _host(g._slots[v.name].read(), g.devices[w])
            e.inits[name] = e.onnx.numpy_helper.from_array(_c(arr.T), name)
        return name
    (t,) = e.node("Transpose", [e.name(w)], perm=[1, 0])
    return t


# -- the entry point -------------------------------------------------------------------------
def export(model_or_fn, args, f, input_names: Optional[Sequence[str]] = None,
           output_names: Optional[Sequence[str]] = None,
           dynamic_axes: Optional[Dict[str, Any]] = None, opset_version: int = 17,
           verbose: bool = False):
    """Export a model (or a function of tensors) to an ONNX file, as ``torch.onnx.export``
    (the TorchScript exporter, ``dynamo=False``) does.

    ``args``: a tensor or a tuple of tensors, the example inputs the model is traced with.
    ``f``: a path or a binary file object.  ``input_names`` / ``output_names``: the graph's
    input and output names (default ``input``/``input_1``..., ``output``/...).
    ``dynamic_axes``: ``{name: {axis: "dim_name"}}`` or ``{name: [axis, ...]}``: those dims
    are symbolic in the file.  Parameters and buffers become initializers.  Returns the
    ``onnx.ModelProto`` that was written."""
    try:
        import onnx
    except ImportError:
        raise ImportError("minitorch.onnx.export needs the onnx package: pip install "
                          "'minitorch[onnx]'") from None
    from ..nn import Module
    from ..tensor import Tensor
    if not 15 <= int(opset_version) <= 20:
        raise ValueError(f"minitorch.onnx.export supports opset versions 15 to 20, got "
                         f"{opset_version}")
    opset = int(opset_version)
    if isinstance(args, Tensor):
        args = (args,)
    args = tuple(args)
    if not args or not all(isinstance(t, Tensor) for t in args):
        raise TypeError("minitorch.onnx.export: args must be a tensor or a tuple of tensors")
    # fresh contiguous copies: the example inputs and the re-traced ones (dynamic axes) then
    # take the same path through the model, whatever views the caller passed
    args = tuple(_fresh(t, np.asarray(t.detach().cpu().numpy())) for t in args)
    n_in = len(args)
    input_names = list(input_names) if input_names is not None else (
        ["input"] if n_in == 1 else [f"input_{i}" for i in range(n_in)])
    if len(input_names) != n_in:
        raise ValueError(f"input_names has {len(input_names)} names for {n_in} inputs")
    was_training = isinstance(model_or_fn, Module) and model_or_fn.training
    if was_training:
        model_or_fn.eval()
    try:
        args = _no_size_one_dynamic_dims(args, input_names, dynamic_axes)
        g, regions = _trace(model_or_fn, args, True)
        n_out = len(g.outputs)
        output_names = list(output_names) if output_names is not None else (
            ["output"] if n_out == 1 else [f"output_{i}" for i in range(n_out)])
        if len(output_names) != n_out:
            raise ValueError(f"output_names has {len(output_names)} names for the model's "
                             f"{n_out} outputs")
        dyn = _parse_dynamic_axes(dynamic_axes, input_names, output_names)
        sizes, variants = _bumped_traces(model_or_fn, args, input_names, dyn)
    finally:
        if was_training:
            model_or_fn.train()
    node_args = [(n.args, n.kwargs) for n in g.nodes]
    sym_consts: Dict[int, tuple] = {}
    if variants:
        node_args = _unified_args(g, variants, sizes)
        sym_consts = _unified_consts(g, variants, sizes)
    # names of the parameters: the state_dict keys (torch names its initializers so)
    prefix = type(model_or_fn).__name__.lower() + "." if isinstance(model_or_fn, Module) \
        else ""
    state_names = {}
    for name, v in g.state:
        nm = name[len(prefix):] if prefix and name.startswith(prefix) else name
        state_names[v.id] = nm
    e = _Emitter(onnx, g, opset, state_names)
    e.sym_consts = sym_consts
    # graph inputs (with symbolic dims)
    graph_inputs = []
    for i, (v, nm) in enumerate(zip(g.inputs, input_names)):
        e.names[v.id] = nm
        dims = list(v.shape)
        for axis, sym in dyn.get(nm, {}).items():
            dims[axis] = sym
            e.sym_src.setdefault(sym, (nm, axis))
        graph_inputs.append(onnx.helper.make_tensor_value_info(nm, _onnx_dtype(v.dtype), dims))
    outs = g.outputs
    for v, nm in zip(outs, output_names):
        if v.id not in e.out_names and v.id not in {x.id for x in g.inputs}:
            e.out_names[v.id] = nm
    uses: Dict[int, int] = {}
    from ..jit.graph import node_refs
    for n in g.nodes:
        for r in node_refs(n):
            uses[r] = uses.get(r, 0) + 1
    for v in outs:
        uses[v.id] = uses.get(v.id, 0) + 1
    e.used = lambda vid: uses.get(vid, 0) > 0
    # regions that can stand for their nodes
    first: Dict[int, list] = {}
    skip = set()
    for r in _valid_regions(g, regions):
        first.setdefault(id(r.nodes[0]), []).append(r)
    for k, n in enumerate(g.nodes):
        if id(n) in skip:
            continue
        e.src = n.src
        done = False
        for r in sorted(first.get(id(n), ()), key=lambda r: -len(r.nodes)):  # outer first
            if _emit_region(e, r):
                skip.update(id(x) for x in r.nodes)
                done = True
                break
        if done:
            continue
        if n.op == "check" or not n.outs:
            continue  # validations (ONNX Runtime checks indices itself); a failed reshape
        if not any(e.used(o) for o in n.outs) and n.op not in ("max_pool2d",):
            continue  # dead
        a, kw = node_args[k]
        _lower(e, n, a, kw)
    # outputs: their names (an output that is an input or repeats another gets an Identity)
    graph_outputs = []
    seen = set()
    for v, nm in zip(outs, output_names):
        name = e.name(v.id)
        if name != nm or name in seen:
            e.src = ""
            e.node("Identity", [name], outs=[nm])
        seen.add(nm)
        dims = _output_dims(v, variants, sizes, dyn.get(nm, {}), g)
        graph_outputs.append(onnx.helper.make_tensor_value_info(nm, _onnx_dtype(v.dtype), dims))
    nodes, inits = _live(e.nodes, e.inits, [o.name for o in graph_outputs])
    graph = onnx.helper.make_graph(nodes, _graph_name(model_or_fn), graph_inputs,
                                   graph_outputs, initializer=inits)
    model = onnx.helper.make_model(graph, producer_name="minitorch",
                                   opset_imports=[onnx.helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as err:
        raise OnnxExporterError(f"minitorch.onnx.export: the ONNX model fails "
                                f"onnx.checker.check_model (nothing was written): {err}") \
            from None
    data = model.SerializeToString()
    _write(f, data)
    if verbose:
        print(onnx.helper.printable_graph(model.graph))
    return model


def _live(nodes, inits, outputs):
    """The nodes the outputs need (a result the model computes but never returns -- an
    LSTM's final state, say -- is dropped), and the initializers those nodes read."""
    need = set(outputs)
    keep = []
    for nd in reversed(nodes):
        if any(o in need for o in nd.output):
            keep.append(nd)
            need.update(i for i in nd.input if i)
    keep.reverse()
    return keep, [t for name, t in inits.items() if name in need]


def _graph_name(m) -> str:
    name = getattr(m, "__name__", None)
    return name if isinstance(name, str) else type(m).__name__


def _write(f, data: bytes) -> None:
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _parse_dynamic_axes(dynamic_axes, input_names, output_names):
    dyn: Dict[str, Dict[int, str]] = {}
    if not dynamic_axes:
        return dyn
    for key, axes in dynamic_axes.items():
        if key not in input_names and key not in output_names:
            warnings.warn(f"Provided key {key} for dynamic axes is not a valid input/output "
                          f"name")
            continue
        if isinstance(axes, dict):
            dyn[key] = {int(a): str(s) for a, s in axes.items()}
        else:
            dyn[key] = {int(a): f"{key}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
    return dyn


def _bumped_traces(fn, args, input_names, dyn):
    """One more trace per symbolic input dimension, that dimension one larger."""
    syms: Dict[str, List[Tuple[int, int]]] = {}
    for i, nm in enumerate(input_names):
        for axis, sym in dyn.get(nm, {}).items():
            if not -args[i].ndim <= axis < args[i].ndim:
                raise ValueError(f"dynamic_axes: input {nm!r} has {args[i].ndim} dims, no "
                                 f"axis {axis}")
            syms.setdefault(sym, []).append((i, axis % args[i].ndim))
    sizes, variants = [], []
    for sym, where in syms.items():
        s0 = {args[i].shape[a] for i, a in where}
        if len(s0) != 1:
            raise ValueError(f"dynamic_axes: the dims named {sym!r} have different sizes "
                             f"{sorted(s0)} in the example inputs")
        s0 = s0.pop()
        s1 = s0 + 1 if s0 >= 2 else s0 + 2
        new = list(args)
        for i, a in where:
            arr = np.asarray(args[i].detach().cpu().numpy())
            new[i] = _fresh(args[i], np.take(arr, np.arange(s1) % s0, axis=a))
        gv, _ = _trace(fn, new, False)
        sizes.append((sym, s0, s1))
        variants.append(gv)
    return sizes, variants


def _no_size_one_dynamic_dims(args, input_names, dynamic_axes):
    """A dynamic dim of size 1 traces differently (a reshape that is a view at size 1 needs a
    copy at every other size; broadcasting): such inputs are traced at size 2 instead."""
    if not dynamic_axes:
        return args
    out = list(args)
    for i, nm in enumerate(input_names):
        axes = dynamic_axes.get(nm)
        if not axes:
            continue
        for a in (axes.keys() if isinstance(axes, dict) else axes):
            a = int(a)
            if -out[i].ndim <= a < out[i].ndim and out[i].shape[a] == 1:
                arr = np.asarray(out[i].numpy())
                out[i] = _fresh(out[i], np.concatenate([arr, arr], axis=a))
    return tuple(out)


def _fresh(t, arr):
    from ..creation import tensor
    return tensor(_c(arr), dtype=t.dtype, device=t.device)


def _unified_args(g, variants, sizes):
    out = []
    for gv, (sym, s0, s1) in zip(variants, sizes):
        k = next((k for k, (a, b) in enumerate(zip(g.nodes, gv.nodes)) if a.op != b.op),
                 min(len(g.nodes), len(gv.nodes)))
        if k < max(len(g.nodes), len(gv.nodes)):
            n = g.nodes[k] if k < len(g.nodes) else gv.nodes[k]
            raise OnnxExporterError(
                f"minitorch.onnx.export: the traced graph changes when dynamic axis {sym!r} "
                f"changes size ({s0} -> {s1}) at node {k} ({n.op} at {n.src}): the model's "
                f"structure depends on that size, so it cannot be dynamic")
    for k, n in enumerate(g.nodes):
        others = []
        for gv, (sym, s0, s1) in zip(variants, sizes):
            if gv.nodes[k].op != n.op:
                raise OnnxExporterError(
                    f"minitorch.onnx.export: the traced graph changes when dynamic axis "
                    f"{sym!r} changes size ({s0} -> {s1}) at node {k} ({n.op} at {n.src}): "
                    f"the model's structure depends on that size, so it cannot be dynamic")
            others.append(gv.nodes[k])
        if n.op == "check":  # validations are not exported
            out.append((n.args, n.kwargs))
            continue
        try:
            a = _unify(n.args, [o.args for o in others], sizes, f"{n.op} at {n.src}")
            kw = {key: _unify(v, [o.kwargs.get(key) for o in others], sizes,
                              f"{n.op} at {n.src}") for key, v in n.kwargs.items()}
        except _Mismatch as m:
            raise OnnxExporterError(f"minitorch.onnx.export: cannot make the dynamic axes "
                                    f"symbolic: {m}") from None
        out.append((a, kw))
    return out


def _unified_consts(g, variants, sizes):
    """Constants (arrays computed in Python while tracing) that differ between the traces:
    an ``arange`` whose length follows dynamic axes becomes a symbolic Range; anything else
    cannot be exported with those axes dynamic."""
    from ..jit.graph import node_refs
    out = {}
    for vid, arr in g.consts.items():
        a0 = _host(arr, g.devices.get(vid, "cpu"))
        others = []
        for gv in variants:
            b = gv.consts.get(vid)
            others.append(None if b is None else _host(b, gv.devices.get(vid, "cpu")))
        if all(b is not None and b.shape == a0.shape and np.array_equal(b, a0, equal_nan=True)
               for b in others):
            continue
        user = next((n for n in g.nodes if vid in node_refs(n)), None)
        where = f"{user.op} at {user.src}" if user is not None else f"constant %{vid}"
        spec = None
        if a0.ndim == 1 and a0.size >= 2 and all(b is not None and b.ndim == 1 for b in others):
            start, step = a0[0].item(), (a0[1] - a0[0]).item()
            if step != 0 and all(np.array_equal(x, (start + step * np.arange(x.size))
                                                .astype(x.dtype)) for x in [a0] + others):
                try:
                    n = _unify(int(a0.size), [int(b.size) for b in others], sizes, where)
                except _Mismatch:
                    n = None
                if isinstance(n, SymInt):
                    spec = (start, step, n, a0.dtype)
        if spec is None:
            raise OnnxExporterError(
                f"minitorch.onnx.export: a constant computed in Python ({where}, "
                f"{a0.dtype}{list(a0.shape)}) changes with the dynamic axes; export with those "
                f"axes static")
        out[vid] = spec
    return out


def _output_dims(v, variants, sizes, named, g):
    dims: List[Any] = list(v.shape)
    if variants:
        others = [gv.values[v.id].shape if v.id in gv.values else v.shape for gv in variants]
        for i, d0 in enumerate(v.shape):
            try:
                d = _unify(int(d0), [int(o[i]) for o in others], sizes, "output")
            except _Mismatch:
                d = None
            if isinstance(d, SymInt):
                dims[i] = repr(d)
    for axis, nm in named.items():
        dims[axis] = nm
    return dims


def _valid_regions(g, regions):
    """Regions whose internal values are used only inside them (their results aside)."""
    from ..jit.graph import _walk_refs, node_refs
    if not regions:
        return []
    consumers: Dict[int, list] = {}
    for n in g.nodes:
        for ref in node_refs(n):
            consumers.setdefault(ref, []).append(id(n))
    outs = set()
    _walk_refs(g.output_spec, lambda r: outs.add(r.v))
    good = []
    for r in regions:
        if not r.nodes or len(set(r.outs)) != len(r.outs):
            continue
        members = {id(n) for n in r.nodes}
        made = {o for n in r.nodes for o in n.outs}
        results = set(r.outs)
        if not results <= made:
            continue
        inner = made - results
        if inner & outs or any(c not in members for v in inner for c in consumers.get(v, ())):
            continue
        good.append(r)
    return good
