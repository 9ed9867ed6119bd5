"""minitorch: a deep-learning framework written from scratch to show how PyTorch works
inside.  ``import minitorch as torch`` runs the supported subset of PyTorch code."""
from __future__ import annotations

from . import _dtype
from ._dtype import (dtype, float32, float64, int32, int64, bool, float, double, long, int,  # noqa: A004
                     get_default_dtype, set_default_dtype, promote_types)
from ._dtype import float16, half, bfloat16, finfo, iinfo  # noqa: F401  (issue 18)
from . import amp  # noqa: F401  (issue 18: autocast, GradScaler; minitorch.cpu.amp below)
from .amp import (autocast, is_autocast_enabled, get_autocast_dtype,  # noqa: F401
                  set_autocast_enabled, is_autocast_available)
from .amp._aliases import cpu as cpu  # noqa: F401,E402  (torch.cpu.amp.autocast)


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A tensor viewing the memory of a DLPack producer (NumPy, PyTorch, CuPy, JAX ...)."""
    from .utils.dlpack import from_dlpack as _from_dlpack
    return _from_dlpack(ext_tensor, device=device, copy=copy)
from .device import device, is_available as _is_available
from .tensor import Tensor, Size
from .creation import *  # noqa: F401,F403
from .creation import tensor, as_tensor, from_numpy  # noqa: F401
from .random import Generator, manual_seed, seed, initial_seed, get_rng_state, set_rng_state  # noqa: F401
from .random import default_generator  # noqa: F401
from . import autograd
from .autograd import (no_grad, enable_grad, set_grad_enabled, inference_mode,  # noqa: F401
                       is_grad_enabled, is_anomaly_enabled)
from ._repr import set_printoptions  # noqa: F401
from .ops import elementwise as _E, reduce as _R, shape as _S, index as _I, linalg as _L
from . import cuda  # noqa: F401

__version__ = "0.1.0"

# functional forms of Tensor methods: minitorch.exp(x) is Tensor.exp(x)
_METHOD_FUNCTIONS = (
    "add sub subtract mul multiply div divide true_divide pow floor_divide remainder fmod maximum "
    "minimum eq ne lt le gt ge greater less logical_not logical_and logical_or logical_xor "
    "bitwise_and bitwise_or bitwise_xor bitwise_not neg negative exp log log1p log2 log10 exp2 "
    "expm1 sqrt rsqrt abs absolute sign sin cos tan tanh sigmoid relu floor ceil round square "
    "reciprocal isnan isinf isfinite nan_to_num clamp clip sum mean prod max min amax amin argmax argmin "
    "var std logsumexp all any count_nonzero reshape flatten unflatten ravel squeeze unsqueeze "
    "transpose swapaxes permute t expand_as broadcast_to flip split chunk narrow unbind movedim "
    "tile gather scatter_add index_select masked_fill tril triu nonzero argwhere take matmul mm "
    "bmm mv dot outer clone softmax log_softmax erf allclose isclose equal norm "
    "masked_select diag diagonal cumsum cumprod trace bincount").split()
from ._pytorch_names import function_form as _function_form  # noqa: E402
for _name in _METHOD_FUNCTIONS:  # first parameter renamed self -> input (torch.exp(input=x))
    globals()[_name] = _function_form(_name, getattr(Tensor, _name))
del _name

where = _E.where
from .ops.sorting import sort, argsort, topk  # noqa: E402,F401
from .ops.roll import roll  # noqa: E402,F401
from ._legacy import FloatTensor, DoubleTensor, LongTensor, IntTensor, BoolTensor  # noqa: E402,F401
from . import backends  # noqa: E402,F401
from . import return_types  # noqa: E402,F401
from .ops.einsum import einsum  # noqa: E402,F401
cat = _S.cat
concat = _S.cat
concatenate = _S.cat
stack = _S.stack
hstack = _S.hstack
vstack = _S.vstack
broadcast_tensors = _S.broadcast_tensors
broadcast_shapes = lambda *shapes: __import__("functools").reduce(  # noqa: E731
    _E.broadcast_shapes, [tuple(s) for s in shapes], ())


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input: Tensor):
    return input.numel()


def result_type(tensor, other) -> dtype:
    return _dtype.result_type(tensor, other)


def is_floating_point(input: Tensor):
    return input.is_floating_point()


promote_types = _function_form("promote_types", _dtype.promote_types)  # (type1, type2)


def save(*args, **kwargs):  # provided by the training work (safetensors, no pickle)
    from .serialization import save as _save
    return _save(*args, **kwargs)


def load(*args, **kwargs):
    from .serialization import load as _load
    return _load(*args, **kwargs)


def __getattr__(name):
    # heavier optional parts load on first use: `minitorch.viz` imports graphviz
    if name in ("compile", "jit", "compiler"):
        import importlib
        importlib.import_module("minitorch.compiler")  # registers the "inductor" backend
        if name == "compile":
            from .jit import compile as _compile
            return _compile
        return importlib.import_module(f"minitorch.{name}")
    if name in ("viz", "nn", "optim", "utils", "datasets", "jit", "compiler", "onnx",
                "serialization", "distributed"):
        import importlib
        return importlib.import_module(f"minitorch.{name}")
    raise AttributeError(f"module 'minitorch' has no attribute '{name}'")
