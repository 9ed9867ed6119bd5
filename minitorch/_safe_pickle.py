"""Pickled checkpoints (``minitorch.save(model)``) and the allow-list that guards loading them.

Objects that the safetensors structure format cannot describe (an ``nn.Module``, an
optimizer, a dict holding an ``argparse.Namespace`` ...) are pickled, as ``torch.save`` does.
Tensors never go into the pickle stream: the pickler replaces each one by a *persistent id*
(``("tensor", name, requires_grad, is_parameter, device)``) and stores its bytes as an
ordinary safetensors entry, so the file is still a safetensors file whose metadata holds the
pickle (base64) under ``minitorch.pickle``.  dtypes, devices and ``Size`` are persistent ids
too, so no minitorch class needs to be importable by name to rebuild them.

Loading follows PyTorch 2.6's rule:

* ``weights_only=False``: an ordinary unpickler.  It imports and calls whatever the file
  names, so only for files from a trusted source.
* ``weights_only=True`` (the default): a restricted unpickler whose ``find_class`` -- the one
  place where unpickling turns a name into a callable -- answers only from an allow-list
  (a few builtins, as PyTorch's, plus what ``add_safe_globals`` / ``safe_globals`` added) and
  returns the allow-listed object itself, never importing anything.  Any other global raises
  ``pickle.UnpicklingError`` that names it and says how to proceed.
"""
from __future__ import annotations

import base64
import codecs
import collections
import contextlib
import io
import pickle
import pickletools
from typing import Any, Callable, Dict, List, Tuple, Union

from . import _dtype as D
from .tensor import Size, Tensor

__all__ = ["add_safe_globals", "safe_globals", "get_safe_globals", "clear_safe_globals",
           "get_unsafe_globals_in_checkpoint"]

PICKLE_KEY = "minitorch.pickle"

# what weights_only=True accepts without being asked (PyTorch's default list, less its own
# tensor/storage rebuild functions, which minitorch replaces by persistent ids)
_DEFAULT_ALLOWED: Dict[str, Any] = {
    "collections.OrderedDict": collections.OrderedDict,
    "collections.Counter": collections.Counter,
    "builtins.set": set,
    "builtins.complex": complex,
    "builtins.bytearray": bytearray,
    "_codecs.encode": codecs.encode,  # bytes, as pickle protocol 2 writes them
}

SafeGlobal = Union[Callable, Tuple[Callable, str]]
_SAFE_GLOBALS: List[SafeGlobal] = []  # added by the user, in order


def _qualname(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _check_entries(entries) -> list:
    if not isinstance(entries, (list, tuple, set)):
        raise TypeError(f"safe_globals must be a list of classes/functions or (obj, "
                        f"'module.name') tuples, got {type(entries).__name__}")
    out = []
    for e in entries:
        if isinstance(e, tuple):
            if len(e) != 2 or not isinstance(e[1], str):
                raise TypeError(f"a safe global given as a tuple must be (obj, 'module.name'), "
                                f"got {e!r}")
        elif not (hasattr(e, "__module__") and hasattr(e, "__qualname__")):
            raise TypeError(f"safe global {e!r} has no __module__/__qualname__; pass it as "
                            f"(obj, 'module.name')")
        out.append(e)
    return out


def add_safe_globals(safe_globals: List[SafeGlobal]) -> None:
    """Allow ``minitorch.load(..., weights_only=True)`` to rebuild these classes/functions.
    An entry is the object itself (looked up as ``obj.__module__ + '.' + obj.__qualname__``)
    or ``(obj, 'module.name')`` for an object pickled under another name."""
    for e in _check_entries(safe_globals):
        if e not in _SAFE_GLOBALS:
            _SAFE_GLOBALS.append(e)


def get_safe_globals() -> List[SafeGlobal]:
    """The user-added allow-list (not the builtin defaults), as PyTorch returns it."""
    return list(_SAFE_GLOBALS)


def clear_safe_globals() -> None:
    """Forget every global added with :func:`add_safe_globals`."""
    _SAFE_GLOBALS.clear()


class safe_globals(contextlib.ContextDecorator):
    """``with minitorch.serialization.safe_globals([Net]):`` allow-lists ``Net`` inside the
    block only; the previous list is restored on exit."""

    def __init__(self, safe_globals: List[SafeGlobal]):
        self.safe_globals = _check_entries(safe_globals)
        self._saved: List[list] = []

    def __enter__(self):
        self._saved.append(list(_SAFE_GLOBALS))
        add_safe_globals(self.safe_globals)
        return self

    def __exit__(self, *exc):
        _SAFE_GLOBALS[:] = self._saved.pop()
        return False


def _allowed() -> Dict[str, Any]:
    out = dict(_DEFAULT_ALLOWED)
    for e in _SAFE_GLOBALS:
        if isinstance(e, tuple):
            out[e[1]] = e[0]
        else:
            out[_qualname(e)] = e
    return out


def weights_only_message(name: str) -> str:
    """PyTorch 2.6's text, for minitorch's names."""
    return (
        "Weights only load failed. This file can still be loaded, to do so you have two "
        "options, do those steps only if you trust the source of the checkpoint. \n"
        "\t(1) As in PyTorch 2.6, the default value of the `weights_only` argument in "
        "`minitorch.load` is `True`. Re-running `minitorch.load` with `weights_only` set to "
        "`False` will likely succeed, but it can result in arbitrary code execution. Do it "
        "only if you got the file from a trusted source.\n"
        "\t(2) Alternatively, to load with `weights_only=True` please check the recommended "
        "steps in the following error message.\n"
        f"\tWeightsUnpickler error: Unsupported global: GLOBAL {name} was not an allowed "
        f"global by default. Please use `minitorch.serialization.add_safe_globals([{name}])` "
        f"or the `minitorch.serialization.safe_globals([{name}])` context manager to "
        "allowlist this global if you trust this class/function.")


# ------------------------------------------------------------------------------------------
# save
# ------------------------------------------------------------------------------------------

class _Pickler(pickle.Pickler):
    """Tensors, dtypes, devices and Sizes leave the stream as persistent ids."""

    def __init__(self, file, protocol, encoder):
        super().__init__(file, protocol)
        self.encoder = encoder          # serialization._Encoder: collects the arrays
        self.ids: Dict[int, tuple] = {}  # id(tensor) -> its pid (shared tensors stay shared)
        self.keep: list = []             # hold the tensors so their ids stay unique

    def persistent_id(self, obj):
        if isinstance(obj, Tensor):
            pid = self.ids.get(id(obj))
            if pid is None:
                node = self.encoder.tensor(obj, ("data", str(len(self.ids))))
                pid = ("tensor", node["tensor"], bool(node.get("requires_grad")),
                       bool(node.get("parameter")), node.get("device", "cpu"))
                self.ids[id(obj)] = pid
                self.keep.append(obj)
            return pid
        if isinstance(obj, D.dtype):
            return ("dtype", obj.name)
        if isinstance(obj, Size):
            return ("size", tuple(int(s) for s in obj))
        from .device import device as _device
        if isinstance(obj, _device):
            return ("device", str(obj))
        return None


def dumps(obj, protocol, encoder) -> str:
    """The pickle of ``obj`` (tensors moved into ``encoder.arrays``), base64 for metadata."""
    buf = io.BytesIO()
    _Pickler(buf, protocol if protocol is not None else 4, encoder).dump(obj)
    return base64.b64encode(buf.getvalue()).decode("ascii")


# ------------------------------------------------------------------------------------------
# load
# ------------------------------------------------------------------------------------------

class _Loader:
    """``persistent_load`` shared by both unpicklers: rebuilds (and caches) the tensors."""

    def __init__(self, make_tensor: Callable, err):
        self.make_tensor, self.err = make_tensor, err
        self.cache: Dict[str, Tensor] = {}

    def __call__(self, pid):
        if not isinstance(pid, tuple) or not pid or not isinstance(pid[0], str):
            raise pickle.UnpicklingError(f"unknown persistent id {str(pid)[:80]}")
        tag = pid[0]
        if tag == "tensor" and len(pid) == 5:
            _, name, rg, param, dev = pid
            if not (isinstance(name, str) and isinstance(rg, bool) and isinstance(param, bool)
                    and isinstance(dev, str)):
                raise pickle.UnpicklingError(f"malformed tensor id {str(pid)[:80]}")
            t = self.cache.get(name)
            if t is None:
                t = self.cache[name] = self.make_tensor(name, rg, param, dev)
            return t
        if tag == "dtype" and len(pid) == 2:
            d = D._BY_NAME.get(pid[1]) if isinstance(pid[1], str) else None
            if d is None:
                raise pickle.UnpicklingError(f"unknown dtype {pid[1]!r}")
            return d
        if tag == "size" and len(pid) == 2 and isinstance(pid[1], tuple) and all(
                isinstance(s, int) and not isinstance(s, bool) for s in pid[1]):
            return Size(pid[1])
        if tag == "device" and len(pid) == 2 and isinstance(pid[1], str):
            from .device import device as _device
            return _device(pid[1])
        raise pickle.UnpicklingError(f"unknown persistent id {str(pid)[:80]}")


class _FullUnpickler(pickle.Unpickler):
    def __init__(self, file, loader):
        super().__init__(file)
        self._loader = loader

    def persistent_load(self, pid):
        return self._loader(pid)


class _WeightsOnlyUnpickler(pickle._Unpickler):
    """The restricted unpickler.  It is the pure-Python one (the payload is small: tensors
    are out of band) so that BUILD can be checked too: BUILD sets attributes on the object
    on top of the stack, and applied to a persistent object (the shared ``float32``
    singleton, a tensor) it would rewrite minitorch's own state.  Only instances of
    allow-listed classes may be built."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, loader):
        super().__init__(file)
        self._loader = loader
        self._allowed = _allowed()
        self._buildable = tuple(v for v in self._allowed.values() if isinstance(v, type))

    def persistent_load(self, pid):
        return self._loader(pid)

    def find_class(self, module, name):
        key = f"{module}.{name}"
        obj = self._allowed.get(key)
        if obj is None:
            raise pickle.UnpicklingError(weights_only_message(key))
        return obj

    def load_build(self):
        from .device import device as _device
        inst = self.stack[-2] if len(self.stack) >= 2 else None  # [..., inst, state]
        if isinstance(inst, (Tensor, D.dtype, Size, _device)) or not isinstance(
                inst, self._buildable):
            raise pickle.UnpicklingError(
                f"Weights only load failed: the file sets the state (BUILD) of a "
                f"{type(inst).__name__} object, which only allow-listed classes may have")
        pickle._Unpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = load_build


def loads(payload: str, make_tensor: Callable, weights_only: bool, err):
    """Unpickle the base64 ``payload``; ``make_tensor(name, requires_grad, is_parameter,
    saved_device)`` rebuilds the tensor entries."""
    try:
        raw = base64.b64decode(payload.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as e:
        raise err(f"{PICKLE_KEY} is not valid base64 ({e})") from None
    cls = _WeightsOnlyUnpickler if weights_only else _FullUnpickler
    return cls(io.BytesIO(raw), _Loader(make_tensor, err)).load()


def globals_in(raw: bytes) -> List[str]:
    """Every ``module.name`` a pickle stream looks up, in order, without running it."""
    found: List[str] = []
    strings: List[str] = []  # the strings pushed so far (STACK_GLOBAL takes the last two)
    memo: Dict[int, Any] = {}
    last = None              # what the previous opcode pushed, when it was a string
    for op, arg, _pos in pickletools.genops(raw):
        name, pushed = op.name, None
        if name in ("GLOBAL", "INST"):
            found.append(arg.replace(" ", ".", 1) if isinstance(arg, str) else str(arg))
        elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
            pushed = arg
        elif name == "MEMOIZE":
            memo[len(memo)] = pushed = last
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(arg)] = pushed = last
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            pushed = memo.get(int(arg))
        elif name == "STACK_GLOBAL" and len(strings) >= 2:
            found.append(f"{strings[-2]}.{strings[-1]}")
        if isinstance(pushed, str) and name not in ("MEMOIZE", "BINPUT", "LONG_BINPUT", "PUT"):
            strings.append(pushed)
        last = pushed if isinstance(pushed, str) else None
    seen, out = set(), []
    for g in found:
        if g not in seen:
            seen.add(g)
            out.append(g)
    return out


def get_unsafe_globals_in_checkpoint(f) -> List[str]:
    """The ``module.name`` globals a checkpoint needs that ``weights_only=True`` would refuse
    now (empty for a safetensors checkpoint without a pickle), read without unpickling."""
    from .serialization import _pickle_payload
    payload = _pickle_payload(f)
    if payload is None:
        return []
    allowed = _allowed()
    return [g for g in globals_in(base64.b64decode(payload)) if g not in allowed]
