"""The ops behind Tensor methods and ``minitorch.*`` functions.

``install(Tensor)`` attaches them as methods (called once from tensor.py), so that every
method is the op function itself: no wrapper frame on the hot path.
"""
from __future__ import annotations


def install(Tensor) -> None:  # noqa: C901 - a flat table is the clearest form
    from . import elementwise as E, reduce as R, shape as S, index as I, linalg as L
    from . import inplace as P
    from . import misc as M
    from .misc import clone, contiguous, new_factories, random_inplace
    from ..autograd.function import _state

    reflected = E.reflected_fn

    methods = {
        # arithmetic operators (fast paths live in elementwise._binary_fn)
        "__add__": E.binary_add, "__radd__": E.binary_add, "__sub__": E.binary_sub,
        "__rsub__": reflected(E.Sub),
        "__mul__": E.binary_mul, "__rmul__": E.binary_mul, "__truediv__": E.binary_div,
        "__rtruediv__": reflected(E.Div), "__pow__": E.pow, "__rpow__": reflected(E.Pow),
        "__floordiv__": E.floor_divide, "__rfloordiv__": reflected(E.FloorDivide),
        "__mod__": E.remainder, "__rmod__": reflected(E.Remainder),
        "__matmul__": L.matmul, "__rmatmul__": L.rmatmul,
        "__neg__": E.neg, "__pos__": lambda self: self, "__abs__": E.abs,
        "__invert__": E.invert,
        "__and__": E.bitwise_and, "__or__": E.bitwise_or, "__xor__": E.bitwise_xor,
        "__rand__": E.bitwise_and, "__ror__": E.bitwise_or, "__rxor__": E.bitwise_xor,
        "__eq__": E.eq, "__ne__": E.ne, "__lt__": E.lt, "__le__": E.le, "__gt__": E.gt,
        "__ge__": E.ge,
        "__getitem__": I.getitem, "__setitem__": I.setitem,
        # elementwise
        "add": E.add, "sub": E.sub, "subtract": E.sub, "mul": E.binary_mul,
        "multiply": E.binary_mul,
        "div": E.div, "divide": E.div, "true_divide": E.binary_div, "pow": E.pow,
        "floor_divide": E.floor_divide, "remainder": E.remainder, "fmod": E.fmod,
        "maximum": E.maximum, "minimum": E.minimum, "eq": E.eq, "ne": E.ne, "lt": E.lt,
        "le": E.le, "gt": E.gt, "ge": E.ge, "greater": E.gt, "less": E.lt,
        "logical_not": E.logical_not, "logical_and": E.logical_and,
        "logical_or": E.logical_or, "logical_xor": E.logical_xor,
        "bitwise_and": E.bitwise_and, "bitwise_or": E.bitwise_or, "bitwise_xor": E.bitwise_xor,
        "bitwise_not": E.bitwise_not,
        "neg": E.neg, "negative": E.neg, "exp": E.exp, "log": E.log, "log1p": E.log1p,
        "sqrt": E.sqrt, "rsqrt": E.rsqrt, "abs": E.abs, "absolute": E.abs, "sign": E.sign,
        "sin": E.sin, "cos": E.cos, "tanh": E.tanh, "sigmoid": E.sigmoid, "relu": E.relu,
        "floor": E.floor, "ceil": E.ceil, "round": E.round, "square": E.square,
        "isnan": E.isnan, "isinf": E.isinf, "isfinite": E.isfinite,
        "nan_to_num": E.nan_to_num,
        "clamp": E.clamp, "clip": E.clamp, "where": lambda self, cond, other: E.where(
            cond, self, other),
        "exp2": lambda self: 2.0 ** self, "log2": lambda self: E.log_base(self, 0.6931471805599453),
        "log10": lambda self: E.log_base(self, 2.302585092994046),
        "reciprocal": lambda self: 1.0 / self, "expm1": E.expm1,
        "tan": E.tan,
        # reductions
        "sum": R.sum, "mean": R.mean, "prod": R.prod, "max": R.max, "min": R.min,
        "amax": R.amax, "amin": R.amin, "argmax": R.argmax, "argmin": R.argmin, "var": R.var,
        "std": R.std, "logsumexp": R.logsumexp, "all": R.all, "any": R.any,
        "count_nonzero": R.count_nonzero,
        # shapes and views
        "reshape": S.reshape, "view": S.view, "view_as": lambda self, o: S.view(self, o.shape),
        "reshape_as": lambda self, o: S.reshape(self, o.shape),
        "flatten": S.flatten, "unflatten": S.unflatten, "ravel": S.ravel,
        "squeeze": S.squeeze, "unsqueeze": S.unsqueeze, "transpose": S.transpose,
        "swapaxes": S.swapaxes, "permute": S.permute, "t": S.t, "expand": S.expand,
        "expand_as": S.expand_as, "broadcast_to": S.broadcast_to, "repeat": S.repeat,
        "tile": S.tile, "flip": S.flip, "split": S.split, "chunk": S.chunk, "narrow": S.narrow,
        "unbind": S.unbind, "movedim": S.movedim,
        # indexing
        "gather": I.gather, "scatter_add": I.scatter_add, "index_select": I.index_select,
        "masked_fill": I.masked_fill, "tril": I.tril, "triu": I.triu, "nonzero": I.nonzero,
        "argwhere": I.argwhere, "take": I.take,
        # linear algebra
        "matmul": L.matmul, "mm": L.mm, "bmm": L.bmm, "mv": L.mv, "dot": L.dot,
        "outer": L.outer,
        # copies
        "clone": clone, "contiguous": contiguous,
        # composites
        "softmax": M.softmax, "log_softmax": M.log_softmax, "erf": M.erf,
        "type_as": M.type_as, "allclose": M.allclose, "isclose": M.isclose, "equal": M.equal,
        "norm": M.norm, "masked_select": M.masked_select,
        # in place
        "zero_": P.zero_, "fill_": P.fill_, "copy_": P.copy_,
        "uniform_": random_inplace("uniform"), "normal_": random_inplace("normal"),
        "bernoulli_": random_inplace("bernoulli"),
    }
    from .sorting import sort, argsort, topk
    from .roll import roll
    from .diag import diag, diagonal
    from .cumulative import cumsum, cumprod
    from .einsum import trace
    from .bincount import bincount
    methods.update(sort=sort, argsort=argsort, topk=topk, roll=roll, diag=diag,
                   diagonal=diagonal, cumsum=cumsum, cumprod=cumprod, trace=trace,
                   bincount=bincount)
    for name, fn in methods.items():
        if fn is not None:
            setattr(Tensor, name, fn)
    from .._pytorch_names import apply_method_names
    apply_method_names(Tensor)  # PyTorch's parameter names (x.matmul(other=...)), no wrapper
    for name in ("T", "mT"):
        setattr(Tensor, name, property(getattr(S, name)))
    for name, fn in new_factories().items():
        setattr(Tensor, name, fn)

    # in-place twins: add_ sub_ mul_ div_ pow_ clamp_ ... and the augmented operators
    for name in ("add", "sub", "mul", "div", "pow", "clamp", "clip", "neg", "exp", "log",
                 "sqrt", "abs", "sigmoid", "tanh", "relu", "masked_fill", "floor", "ceil",
                 "round", "sign", "sin", "cos", "rsqrt", "log1p", "expm1", "remainder", "fmod",
                 "floor_divide", "maximum", "minimum", "square", "reciprocal", "scatter_add",
                 "tril", "triu", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
                 "bitwise_not", "nan_to_num"):
        setattr(Tensor, name + "_", P.inplace(getattr(Tensor, name)))
    for op in ("add", "sub", "mul", "div"):  # no-temporary path for updates
        setattr(Tensor, op + "_", P.binary_inplace(op, getattr(Tensor, op + "_")))
    for op, name in (("add", "__iadd__"), ("sub", "__isub__"), ("mul", "__imul__"),
                     ("div", "__itruediv__"), ("pow", "__ipow__"),
                     ("floor_divide", "__ifloordiv__"), ("remainder", "__imod__"),
                     ("bitwise_and", "__iand__"), ("bitwise_or", "__ior__"),
                     ("bitwise_xor", "__ixor__")):
        setattr(Tensor, name, getattr(Tensor, op + "_"))
    Tensor.__imatmul__ = None
    del _state
