"""``minitorch.save`` / ``minitorch.load``: checkpoints in the safetensors format.

State dicts and nested containers of tensors and Python values are stored without pickle
(below).  Whole objects that this format cannot describe (``minitorch.save(model)``, an
optimizer, a dict holding a custom class) are pickled, with the tensors still stored as
safetensors entries; ``load`` unpickles them only with ``weights_only=False`` or when every
class they need is allow-listed (``add_safe_globals`` / ``safe_globals``), PyTorch 2.6's rule
(minitorch/_safe_pickle.py).

PyTorch's ``torch.save`` pickles, and unpickling a file can run any code the file names.
A safetensors file is an 8-byte little-endian header length, a JSON header (dtype, shape and
byte range of every tensor, plus a ``__metadata__`` dict of strings) and the raw tensor bytes.
Reading one only parses JSON and copies bytes, so ``load`` never executes anything.

What is stored where:

* Every tensor becomes one safetensors entry.  A flat state dict (``str -> Tensor``) keeps its
  own keys as the entry names, so the file is an ordinary safetensors state dict:
  ``safetensors.torch.load_file`` reads it, and a file written by
  ``safetensors.torch.save_file(model.state_dict(), path)`` loads here as a flat dict.
  Tensors inside nested objects get path-like names (``model/fc1.weight``,
  ``optimizer/state/0/exp_avg``).
* Everything else (dicts and their key types, lists vs tuples, ints, floats, bools, None,
  strings, dtypes, devices, which tensors were Parameters or required grad) is kept as one
  JSON document in the metadata under ``minitorch.structure``; ``load`` rebuilds exactly the
  object that was saved from it.  The node format::

      {"tensor": name, ["requires_grad": true], ["parameter": true], ["device": "cuda:0"]}
      {"ndarray": name}          a NumPy array (comes back as a NumPy array)
      {"dict": [[key, value], ...]}   {"odict": [...]} (collections.OrderedDict)
      {"list": [...]}   {"tuple": [...]}
      {"int": 3}  {"float": 0.5 | "nan" | "inf" | "-inf"}  {"bool": true}  {"str": "s"}
      {"none": null}  {"dtype": "float32"}  {"device": "cuda:0"}

* A file without ``minitorch.structure`` (written by another program) loads as a flat
  ``dict`` of tensors in header order.

Dtypes: minitorch has float32, float64, float16, bfloat16, int64, int32 and bool, stored as
F32, F64, F16, BF16, I64, I32 and BOOL.  Foreign files may hold other types; the ones that
widen exactly are converted with one ``UserWarning`` that names the tensors: I8, U8, I16, U16 ->
int32; U32 -> int64; U64 -> int64 when every value fits.  Anything else (F8 variants,
complex) raises.  Dict subclasses other than OrderedDict are saved as ``dict`` and
list/tuple subclasses (namedtuples) as ``list``/``tuple``; NumPy scalars are saved as the
Python number they hold.
"""
from __future__ import annotations

import collections
import io
import json
import math
import os
import re
import secrets
import stat
import struct
import sys
import time
import warnings
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import _dtype as D
from .tensor import Tensor
from ._safe_pickle import (PICKLE_KEY, add_safe_globals, safe_globals,  # noqa: F401
                           get_safe_globals, clear_safe_globals,
                           get_unsafe_globals_in_checkpoint)
from . import _safe_pickle

__all__ = ["save", "load", "CheckpointError", "add_safe_globals", "safe_globals",
           "get_safe_globals", "clear_safe_globals", "get_unsafe_globals_in_checkpoint"]

STRUCTURE_KEY = "minitorch.structure"
VERSION_KEY = "minitorch.format_version"
FORMAT_VERSION = 1
_MAX_HEADER = 100_000_000  # the limit the safetensors library itself applies

# minitorch dtype -> safetensors dtype name
_ST_NAME = {"float32": "F32", "float64": "F64", "int64": "I64", "int32": "I32", "bool": "BOOL",
            "float16": "F16", "bfloat16": "BF16"}
# safetensors dtype name -> little-endian NumPy dtype as stored in the file
_ST_NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
          "BF16": "<u2", "C64": "<c8"}
_NATIVE = {"F64", "F32", "I64", "I32", "BOOL", "F16", "BF16"}
_WIDEN = {"F16": np.float32, "BF16": np.float32, "I8": np.int32, "U8": np.int32,
          "I16": np.int32, "U16": np.int32, "U32": np.int64, "U64": np.int64}


class CheckpointError(ValueError):
    """The file is not a valid minitorch/safetensors checkpoint (the message says why)."""


# ------------------------------------------------------------------------------------------
# save
# ------------------------------------------------------------------------------------------

def _fmt_path(path: Tuple) -> str:
    return "".join(f"[{p!r}]" for p in path) if path else "the top level"


def _float_node(x: float) -> dict:
    if math.isnan(x):
        return {"float": "nan"}
    if math.isinf(x):
        return {"float": "inf" if x > 0 else "-inf"}
    return {"float": x}


def _scalar_node(x) -> Optional[dict]:
    """The node for a Python (or NumPy) scalar, or None if ``x`` is not one."""
    if x is None:
        return {"none": None}
    if isinstance(x, (bool, np.bool_)):
        return {"bool": bool(x)}
    if isinstance(x, (int, np.integer)):
        return {"int": int(x)}
    if isinstance(x, (float, np.floating)):
        return _float_node(float(x))
    if isinstance(x, str):
        return {"str": x}
    return None


class _Encoder:
    def __init__(self):
        self.arrays: Dict[str, np.ndarray] = {}
        self._active: set = set()  # ids of the containers on the current path (cycle check)

    def _name_for(self, path: Tuple) -> str:
        """The entry name: the path joined by '/' (so a flat state dict keeps its own keys),
        made unique with a '#n' suffix if needed."""
        if not path:
            base = "tensor"
        else:
            base = "/".join(str(p) if isinstance(p, (str, int)) else repr(p) for p in path)
        name, n = base, 1
        while name in self.arrays or name == "__metadata__":
            n += 1
            name = f"{base}#{n}"
        return name

    def key(self, k, path: Tuple) -> dict:
        node = _scalar_node(k)
        if node is not None:
            return node
        if isinstance(k, tuple):
            return {"tuple": [self.key(x, path) for x in k]}
        raise TypeError(f"minitorch.save: cannot save a dict key of type {type(k).__name__} "
                        f"({k!r}) at {_fmt_path(path)}; keys must be str, int, float, bool, "
                        "None or tuples of those")

    def value(self, v, path: Tuple) -> dict:
        if isinstance(v, Tensor):
            return self.tensor(v, path)
        node = _scalar_node(v)
        if node is not None:
            return node
        if isinstance(v, D.dtype):
            return {"dtype": v.name}
        from .device import device as _device
        if isinstance(v, _device):
            return {"device": str(v)}
        if isinstance(v, np.ndarray):
            if v.dtype.kind not in "biuf" or v.dtype.str.lstrip("<>|=") not in (
                    "f8", "f4", "f2", "i8", "i4", "i2", "i1", "u8", "u4", "u2", "u1", "b1"):
                raise TypeError(f"minitorch.save: cannot save a NumPy array of dtype {v.dtype} "
                                f"at {_fmt_path(path)}")
            name = self._name_for(path)
            self.arrays[name] = _contiguous(v)
            return {"ndarray": name}
        if isinstance(v, (dict, list, tuple)):
            if id(v) in self._active:
                raise ValueError(f"minitorch.save: the object contains a reference cycle at "
                                 f"{_fmt_path(path)}")
            self._active.add(id(v))
            try:
                if isinstance(v, dict):
                    tag = "odict" if isinstance(v, collections.OrderedDict) else "dict"
                    items = []
                    for k, x in v.items():
                        items.append([self.key(k, path), self.value(x, path + (k,))])
                    return {tag: items}
                tag = "tuple" if isinstance(v, tuple) else "list"
                return {tag: [self.value(x, path + (i,)) for i, x in enumerate(v)]}
            finally:
                self._active.discard(id(v))
        raise TypeError(f"minitorch.save: cannot save value of type {type(v).__name__} at "
                        f"{_fmt_path(path)}; supported: Tensor, dict, list, tuple, int, float, "
                        "bool, str, None, dtype, device, numpy array (no pickling)")

    def tensor(self, t: Tensor, path: Tuple) -> dict:
        name = self._name_for(path)
        arr = t._device._be.to_numpy(t._data)  # a host copy for non-cpu devices
        self.arrays[name] = _contiguous(np.asarray(arr))
        node: Dict[str, Any] = {"tensor": name}
        if t._requires_grad:
            node["requires_grad"] = True
        if type(t) is not Tensor and _is_parameter(t):
            node["parameter"] = True
        if t._device.type != "cpu":
            node["device"] = str(t._device)
        return node


def _is_parameter(t: Tensor) -> bool:
    try:
        from .nn.parameter import Parameter
    except ImportError:  # nn not importable: nothing can be a Parameter
        return False
    return isinstance(t, Parameter)


def _contiguous(a: np.ndarray) -> np.ndarray:
    # np.ascontiguousarray would turn a 0-d array into 1-d
    return a if a.flags.c_contiguous else a.copy(order="C")


def _is_flat_state_dict(obj) -> bool:
    return isinstance(obj, dict) and all(isinstance(k, str) and isinstance(v, Tensor)
                                         for k, v in obj.items())


def _serialize(obj, pickle_protocol=None) -> bytes:
    import safetensors.numpy
    enc = _Encoder()
    try:
        structure = enc.value(obj, ())
    except (TypeError, ValueError) as e:  # a value the structure format cannot describe
        return _serialize_pickled(obj, pickle_protocol, e)
    metadata = {STRUCTURE_KEY: json.dumps(structure, separators=(",", ":"), allow_nan=False),
                VERSION_KEY: str(FORMAT_VERSION)}
    if _is_flat_state_dict(obj):
        metadata["format"] = "pt"  # same layout and names as a PyTorch state dict
    return safetensors.numpy.save(enc.arrays, metadata=metadata)


def _serialize_pickled(obj, pickle_protocol, why: Exception) -> bytes:
    """``obj`` pickled (tensors as safetensors entries); if pickling fails too, the structure
    encoder's error (which names where the value sits) with pickle's reason."""
    import pickle
    import safetensors.numpy
    enc = _Encoder()
    try:
        payload = _safe_pickle.dumps(obj, pickle_protocol, enc)
    except (pickle.PicklingError, TypeError, AttributeError, ValueError) as e:
        raise type(why)(f"{why}; it cannot be pickled either: {e}") from e
    return safetensors.numpy.save(enc.arrays, metadata={PICKLE_KEY: payload,
                                                        VERSION_KEY: str(FORMAT_VERSION)})


# A save to a path writes a temporary file next to the target and renames it over the target:
# readers see the old file or the new one, never a mix, and a failed save leaves the old file
# intact.  Every call gets its own temporary name (two threads or processes saving to one
# path must not share one), hidden and recognizable: ``.<name>.<pid>-<random>.tmp``.
_TMP_RE = r"\.{name}\.(\d+)-[0-9a-f]{{12}}\.tmp"
_STALE_AFTER_S = 600  # a temporary file this old, of a process that is gone, is debris


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True   # exists (another user's), or we cannot tell: keep its file
    return True


def _remove_stale_temps(directory: str, name: str) -> None:
    """Delete the temporary files that killed saves (SIGKILL, power loss) left for ``name``:
    those of a process that no longer runs and untouched for ``_STALE_AFTER_S`` seconds
    (both, so that a save in flight -- even from another host or PID namespace sharing
    the directory -- is never touched)."""
    pat = re.compile(_TMP_RE.format(name=re.escape(name)))
    prefix = "." + name + "."
    now = time.time()
    try:
        entries = [e for e in os.scandir(directory) if e.name.startswith(prefix)]
    except OSError:
        return
    for e in entries:
        m = pat.fullmatch(e.name)
        if m is None or int(m.group(1)) == os.getpid():
            continue
        try:
            if now - e.stat(follow_symlinks=False).st_mtime < _STALE_AFTER_S \
                    or _pid_alive(int(m.group(1))):
                continue
            os.unlink(e.path)
        except OSError:
            pass


def _write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a unique temporary file in the same directory:
    fsync, then ``os.replace``.  A symlink is followed (the file it points to is replaced, as
    ``open(path, 'wb')`` would write there); an existing file keeps its permission bits; on
    any error, KeyboardInterrupt included, the temporary file is removed and the old file is
    untouched."""
    path = os.path.realpath(path)
    directory, name = os.path.split(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    _remove_stale_temps(directory, name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = os.path.join(directory, f".{name}.{os.getpid()}-{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)  # the umask applies, as for open(path, "wb")
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def save(obj, f, pickle_module=None, pickle_protocol=None,
         _use_new_zipfile_serialization=True) -> None:
    """Write ``obj`` to ``f`` (a path or a binary file object) in the safetensors format.

    A Tensor, a state dict, or nested dicts/lists/tuples of tensors and Python scalars
    (e.g. ``{'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': 3}``) are
    stored without pickle.  Any other object (a whole model, an optimizer, a custom class) is
    pickled with the tensors kept as safetensors entries (``pickle_protocol``, default 4);
    loading it back needs ``weights_only=False`` or allow-listed classes.  An object that
    cannot be pickled either (a lambda) raises a TypeError that names where it sits.

    A path is written atomically (a unique temporary file in the same directory, fsync,
    ``os.replace``): concurrent saves to one path each write a complete file and the last
    rename wins; a save that fails leaves the previous file as it was and no temporary file.
    """
    if pickle_module is not None:
        raise TypeError("minitorch.save pickles only with its own pickler (tensors as "
                        "safetensors entries); pickle_module is not supported")
    data = _serialize(obj, pickle_protocol)
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if os.path.exists(path) and not os.path.isfile(path):  # /dev/null, a FIFO ...
            if os.path.isdir(path):
                raise IsADirectoryError(21, "minitorch.save: is a directory", path)
            with open(path, "wb") as fh:
                fh.write(data)
            return
        _write_atomic(path, data)
    elif hasattr(f, "write"):
        if isinstance(f, io.TextIOBase):
            raise TypeError("minitorch.save: the file must be opened in binary mode ('wb')")
        f.write(data)
    else:
        raise TypeError(f"minitorch.save: expected a path or a binary file object, got "
                        f"{type(f).__name__}")


# ------------------------------------------------------------------------------------------
# load
# ------------------------------------------------------------------------------------------

def _read_bytes(f) -> Tuple[bytes, str]:
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not os.path.exists(path):
            raise FileNotFoundError(2, f"minitorch.load: no such file: '{path}'", path)
        if os.path.isdir(path):
            raise IsADirectoryError(21, f"minitorch.load: '{path}' is a directory, not a "
                                        "checkpoint file", path)
        with open(path, "rb") as fh:
            return fh.read(), f"'{path}'"
    if hasattr(f, "read"):
        data = f.read()
        if isinstance(data, str):
            raise TypeError("minitorch.load: the file must be opened in binary mode ('rb')")
        name = getattr(f, "name", None)
        return bytes(data), (f"'{name}'" if isinstance(name, str) else "the file object")
    raise TypeError(f"minitorch.load: expected a path or a binary file object, got "
                    f"{type(f).__name__}" + (" (wrap bytes in io.BytesIO)"
                                             if isinstance(f, (bytes, bytearray)) else ""))


def _parse_header(data: bytes, err) -> Tuple[dict, dict]:
    """Validate the framing and JSON header ourselves (for the metadata and clear errors)."""
    if len(data) < 8:
        raise err(f"it is {len(data)} bytes long, shorter than the 8-byte header length")
    torch_hint = ("it looks like a PyTorch torch.save() file (a zip/pickle archive), which "
                  "minitorch never unpickles. Convert it once, in PyTorch: "
                  "`safetensors.torch.save_file(torch.load(path), 'model.safetensors')`")
    if data[:4] == b"PK\x03\x04":  # a zip archive can't be a safetensors file
        raise err(torch_hint)
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or 8 + n > len(data):
        if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
            raise err(torch_hint)  # a legacy (non-zip) pickle
    if n > _MAX_HEADER:
        raise err(f"the header claims to be {n} bytes long (limit {_MAX_HEADER})")
    if 8 + n > len(data):
        raise err(f"the header claims {n} bytes but the file has only {len(data) - 8} after "
                  "the length field (truncated?)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise err(f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise err("the header is not a JSON object")
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in meta.items()):
        raise err("__metadata__ must map strings to strings")
    return header, meta


def _to_native(name: str, dt: str, raw, shape, err, converted: List[str],
               widen: bool = True) -> np.ndarray:
    """Raw little-endian bytes of one entry -> a native-endian NumPy array (widened to a
    dtype minitorch has unless ``widen`` is False)."""
    if dt not in _ST_NP or (widen and dt == "C64"):
        raise err(f"tensor '{name}' has dtype {dt}, which minitorch cannot represent")
    npdt = np.dtype(_ST_NP[dt])
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count * npdt.itemsize != len(raw):
        raise err(f"tensor '{name}' has {len(raw)} bytes of data but shape {list(shape)} and "
                  f"dtype {dt} need {count * npdt.itemsize}")
    a = np.frombuffer(raw, dtype=npdt).reshape(shape)
    if dt == "BF16" and widen:  # bfloat16 is a dtype of ours (ml_dtypes): the same bits
        a = a.astype(a.dtype.newbyteorder("=")).view(D.bfloat16.np)
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    if dt in _NATIVE or not widen:
        return a
    if dt == "BF16":  # bfloat16 is the top half of a float32
        out = (a.astype(np.uint32) << 16).view(np.float32)
    elif dt == "U64" and a.size and int(a.max()) > np.iinfo(np.int64).max:
        raise err(f"tensor '{name}' (U64) holds values above the int64 range")
    else:
        out = a.astype(_WIDEN[dt])
    converted.append(f"{name} ({dt} -> {np.dtype(out.dtype).name})")
    return out


class _Decoder:
    """Rebuilds the saved object from the ``minitorch.structure`` JSON, checking every node."""

    def __init__(self, store: "_Entries", map_location, err):
        self.store, self.map_location, self.err = store, map_location, err

    def _one(self, node, path: Tuple) -> Tuple[str, Any]:
        if not isinstance(node, dict) or not node:
            raise self.err(f"malformed {STRUCTURE_KEY} at {_fmt_path(path)}: expected a "
                           f"one-tag object, got {str(node)[:80]}")
        tag = next(iter(node))
        if tag != "tensor" and len(node) != 1:
            raise self.err(f"malformed {STRUCTURE_KEY} at {_fmt_path(path)}: unexpected keys "
                           f"{sorted(node)}")
        return tag, node[tag]

    def key(self, node, path: Tuple):
        tag, v = self._one(node, path)
        if tag == "tuple":
            if not isinstance(v, list):
                raise self.err(f"malformed {STRUCTURE_KEY} at {_fmt_path(path)}: bad tuple key")
            return tuple(self.key(x, path) for x in v)
        if tag in ("int", "float", "bool", "str", "none"):
            return self.value(node, path)
        raise self.err(f"malformed {STRUCTURE_KEY} at {_fmt_path(path)}: a {tag!r} node cannot "
                       "be a dict key")

    def value(self, node, path: Tuple):
        tag, v = self._one(node, path)
        bad = lambda what: self.err(  # noqa: E731
            f"malformed {STRUCTURE_KEY} at {_fmt_path(path)}: {what}")
        if tag == "tensor":
            return self.tensor(node, path)
        if tag == "ndarray":
            if v not in self.store:
                raise bad(f"references tensor {v!r}, which is not in the file")
            return np.array(self.store.raw(v))
        if tag in ("dict", "odict"):
            if not isinstance(v, list):
                raise bad(f"{tag} items must be a list")
            out = {} if tag == "dict" else collections.OrderedDict()
            for item in v:
                if not isinstance(item, list) or len(item) != 2:
                    raise bad("dict items must be [key, value] pairs")
                k = self.key(item[0], path)
                out[k] = self.value(item[1], path + (k,))
            return out
        if tag in ("list", "tuple"):
            if not isinstance(v, list):
                raise bad(f"{tag} items must be a list")
            items = [self.value(x, path + (i,)) for i, x in enumerate(v)]
            return items if tag == "list" else tuple(items)
        if tag == "int":
            if not isinstance(v, int) or isinstance(v, bool):
                raise bad(f"int node holds {v!r}")
            return v
        if tag == "float":
            if isinstance(v, str) and v in ("nan", "inf", "-inf"):
                return float(v)
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise bad(f"float node holds {v!r}")
            return float(v)
        if tag == "bool":
            if not isinstance(v, bool):
                raise bad(f"bool node holds {v!r}")
            return v
        if tag == "str":
            if not isinstance(v, str):
                raise bad(f"str node holds {v!r}")
            return v
        if tag == "none":
            if v is not None:
                raise bad(f"none node holds {v!r}")
            return None
        if tag == "dtype":
            if v not in _ST_NAME:
                raise bad(f"unknown dtype {v!r}")
            return D._BY_NAME[v]
        if tag == "device":
            from .device import device as _device
            try:
                return _device(v)
            except (RuntimeError, TypeError) as e:
                raise bad(f"invalid device {v!r} ({e})") from None
        raise bad(f"unknown node type {tag!r}")

    def tensor(self, node: dict, path: Tuple) -> Tensor:
        name = node["tensor"]
        extra = set(node) - {"tensor", "requires_grad", "parameter", "device"}
        if extra:
            raise self.err(f"malformed {STRUCTURE_KEY} at {_fmt_path(path)}: unexpected keys "
                           f"{sorted(extra)}")
        if name not in self.store:
            raise self.err(f"{STRUCTURE_KEY} at {_fmt_path(path)} references tensor {name!r}, "
                           "which is not in the file")
        saved_dev = node.get("device", "cpu")
        if not isinstance(saved_dev, str):
            raise self.err(f"malformed {STRUCTURE_KEY} at {_fmt_path(path)}: bad device")
        t = _make_tensor(self.store.array(name))
        t = _place(t, saved_dev, self.map_location)
        if node.get("requires_grad") is True:
            if not t.is_floating_point():
                raise self.err(f"tensor '{name}' is marked requires_grad but has dtype "
                               f"{t.dtype}")
            t.requires_grad_(True)
        if node.get("parameter") is True:
            from .nn.parameter import Parameter
            t = Parameter(t.detach(), requires_grad=t.requires_grad)
        return t


def _make_tensor(a: np.ndarray) -> Tensor:
    from .creation import from_numpy
    if not (a.flags.writeable and a.flags.aligned and a.flags.c_contiguous):
        a = np.array(a, copy=True, order="C")  # a private, writable, aligned copy
    return from_numpy(a)


def _place(t: Tensor, saved: str, map_location) -> Tensor:
    """Where a loaded tensor goes: torch.load's map_location rules."""
    from .device import device as _device
    target = saved
    if map_location is None:
        pass
    elif isinstance(map_location, (str, _device)):
        target = map_location
    elif isinstance(map_location, dict):
        target = map_location.get(saved, saved)
    elif callable(map_location):
        out = map_location(t, saved)
        if out is not None:
            if not isinstance(out, Tensor):
                raise TypeError(f"minitorch.load: map_location returned {type(out).__name__}, "
                                "expected a Tensor or None")
            return out
    else:
        raise TypeError(f"minitorch.load: map_location must be a device, a string, a dict or "
                        f"a callable, got {type(map_location).__name__}")
    if str(target) == "cpu":
        return t
    try:
        return t.to(target)
    except RuntimeError as e:
        raise RuntimeError(f"minitorch.load: cannot place a tensor saved on '{saved}' on "
                           f"'{target}': {e}. Pass map_location='cpu' to load it on the CPU."
                           ) from e


def load(f, map_location=None, pickle_module=None, *, weights_only: Optional[bool] = None,
         mmap=None, **kwargs):
    """Read an object written by :func:`save` (or any safetensors file) from a path or a
    binary file object.

    A state dict or nested containers (no pickle) load the same with any ``weights_only``.
    A pickled object (``save(model)``) loads only with ``weights_only=False`` -- which runs
    whatever code the file names, so only for trusted files -- or, with the default
    ``weights_only=True`` (``None`` means True, as in PyTorch 2.6), when every class it
    needs is allow-listed with :func:`add_safe_globals` / :func:`safe_globals`; otherwise
    ``pickle.UnpicklingError`` names the class.  ``map_location`` is a device (``'cpu'``,
    ``minitorch.device('cuda')``), a dict ``{saved_device: device}`` or a callable
    ``fn(tensor, saved_device) -> Tensor | None``; by default tensors go back to the device
    they were saved from.  A file without minitorch structure loads as a flat ``dict`` of
    tensors.  Invalid files raise :class:`CheckpointError` (a ValueError).
    """
    if pickle_module is not None:
        raise TypeError("minitorch.load unpickles only with its own unpicklers; "
                        "pickle_module is not supported")
    if weights_only is None:
        weights_only = True
    if kwargs:
        raise TypeError(f"minitorch.load got unexpected keyword arguments {sorted(kwargs)}")
    data, where = _read_bytes(f)

    def err(why: str) -> CheckpointError:
        return CheckpointError(f"minitorch.load: {where} is not a valid minitorch/safetensors "
                               f"checkpoint: {why}")

    header, meta = _parse_header(data, err)
    import safetensors
    try:
        entries = dict(safetensors.deserialize(data))
    except Exception as e:  # SafetensorError and friends: bad offsets, sizes, dtypes
        raise err(f"{e}") from None
    store = _Entries(entries, [n for n in header if n in entries], err)

    if PICKLE_KEY in meta:
        out = _load_pickled(meta, store, map_location, bool(weights_only), err)
        store.warn(where)
        return out
    structure = meta.get(STRUCTURE_KEY)
    if structure is None:  # a plain safetensors file: a flat dict, in header order
        out = {name: _place(_make_tensor(store.array(name)), "cpu", map_location)
               for name in store.names}
        store.warn(where)
        return out
    version = meta.get(VERSION_KEY, str(FORMAT_VERSION))
    if version != str(FORMAT_VERSION):
        raise err(f"it was written in minitorch checkpoint format {version!r}; this version "
                  f"reads format {FORMAT_VERSION}")
    try:
        tree = json.loads(structure)
    except (ValueError, RecursionError) as e:
        raise err(f"{STRUCTURE_KEY} is not valid JSON ({e})") from None
    try:
        out = _Decoder(store, map_location, err).value(tree, ())
    except RecursionError:
        raise err(f"{STRUCTURE_KEY} is nested too deeply") from None
    store.warn(where)
    return out


def _load_pickled(meta, store, map_location, weights_only: bool, err):
    version = meta.get(VERSION_KEY, str(FORMAT_VERSION))
    if version != str(FORMAT_VERSION):
        raise err(f"it was written in minitorch checkpoint format {version!r}; this version "
                  f"reads format {FORMAT_VERSION}")

    def make_tensor(name: str, requires_grad: bool, parameter: bool, saved_dev: str):
        if name not in store:
            raise err(f"the pickle references tensor {name!r}, which is not in the file")
        t = _place(_make_tensor(store.array(name)), saved_dev, map_location)
        if requires_grad:
            if not t.is_floating_point():
                raise err(f"tensor '{name}' is marked requires_grad but has dtype {t.dtype}")
            t.requires_grad_(True)
        if parameter:
            from .nn.parameter import Parameter
            t = Parameter(t.detach(), requires_grad=t.requires_grad)
        return t

    return _safe_pickle.loads(meta[PICKLE_KEY], make_tensor, weights_only, err)


def _pickle_payload(f) -> Optional[str]:
    """The base64 pickle of a checkpoint (None when it holds no pickle), nothing unpickled."""
    data, where = _read_bytes(f)

    def err(why: str) -> CheckpointError:
        return CheckpointError(f"minitorch.load: {where} is not a valid minitorch/safetensors "
                               f"checkpoint: {why}")
    _header, meta = _parse_header(data, err)
    return meta.get(PICKLE_KEY)


class _Entries:
    """The tensors of a file, converted to NumPy on first use."""

    def __init__(self, entries: dict, names: List[str], err):
        self.entries, self.names, self.err = entries, names, err
        self._cache: Dict[str, np.ndarray] = {}
        self.converted: List[str] = []

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name in self.entries

    def array(self, name: str) -> np.ndarray:
        """The entry as an array of a dtype minitorch has (widening foreign dtypes)."""
        a = self._cache.get(name)
        if a is None:
            info = self.entries[name]
            a = _to_native(name, info["dtype"], info["data"], tuple(info["shape"]), self.err,
                           self.converted)
            self._cache[name] = a
        return a

    def raw(self, name: str) -> np.ndarray:
        """The entry exactly as stored (for NumPy arrays saved as such)."""
        info = self.entries[name]
        dt = info["dtype"]
        if dt not in _ST_NP or dt in ("BF16", "C64"):
            raise self.err(f"array '{name}' has dtype {dt}, which NumPy cannot hold here")
        return _to_native(name, dt, info["data"], tuple(info["shape"]), self.err, [],
                          widen=False)

    def warn(self, where: str) -> None:
        c = self.converted
        if c:
            shown = ", ".join(c[:8]) + (f" and {len(c) - 8} more" if len(c) > 8 else "")
            warnings.warn(f"minitorch.load: {where} holds dtypes minitorch does not have; "
                          f"widened exactly: {shown}", UserWarning, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """The warnings stacklevel of the first caller outside the minitorch package."""
    pkg = os.path.dirname(os.path.abspath(__file__))
    f, level = sys._getframe(1), 1
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(pkg + os.sep):
        f, level = f.f_back, level + 1
    return level
