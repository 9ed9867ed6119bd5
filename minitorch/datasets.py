"""Small dataset helpers: the bundled 8x8 digits, an IDX (MNIST-format) reader and ``MNIST``.

Nothing here downloads: the digits ship with the repository (``examples/data/digits.npz``)
and MNIST files must already be on disk.  Files are read with NumPy only (``np.load`` with
``allow_pickle=False``; IDX files are parsed by hand), so no file can run code.
"""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path
from typing import Callable, Optional, Tuple, Union

import numpy as np

from .tensor import Tensor
from .utils.data import Dataset

__all__ = ["load_digits", "read_idx", "MNIST", "DIGITS_PATH"]

DIGITS_PATH = Path(__file__).resolve().parent.parent / "examples" / "data" / "digits.npz"

PathLike = Union[str, "os.PathLike[str]"]


def load_digits(path: Optional[PathLike] = None) -> Tuple[Tensor, Tensor]:
    """The UCI hand-written digits as scikit-learn ships them (1797 8x8 images).

    Returns ``(images, labels)``: images float32 ``[1797, 8, 8]`` with pixel counts
    0..16 (unscaled, as ``sklearn.datasets.load_digits().images``), labels int64 ``[1797]``.
    ``path`` defaults to ``examples/data/digits.npz`` in the repository.
    """
    from .creation import from_numpy
    p = Path(path) if path is not None else DIGITS_PATH
    if not p.is_file():
        raise FileNotFoundError(2, "load_digits: the digits file is missing (it ships with the "
                                   "minitorch repository as examples/data/digits.npz; pass "
                                   "path= to point elsewhere)", str(p))
    with np.load(p, allow_pickle=False) as z:
        missing = {"images", "labels"} - set(z.files)
        if missing:
            raise ValueError(f"load_digits: '{p}' lacks the arrays {sorted(missing)}")
        images, labels = z["images"], z["labels"]
    if images.ndim != 3 or images.shape[1:] != (8, 8) or labels.shape != images.shape[:1]:
        raise ValueError(f"load_digits: '{p}' holds images {images.shape} and labels "
                         f"{labels.shape}; expected [N, 8, 8] and [N]")
    return (from_numpy(images.astype(np.float32)), from_numpy(labels.astype(np.int64)))


# ------------------------------------------------------------------------------------------
# IDX files (http://yann.lecun.com/exdb/mnist/ describes the format)
# ------------------------------------------------------------------------------------------
# magic: two zero bytes, a type code, the number of dimensions; then one big-endian uint32
# per dimension; then the data, big-endian, row-major.
_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22


def _read_exactly(fh, n: int) -> bytes:
    """Up to ``n`` bytes, read in chunks (a lying header cannot make us allocate ``n``)."""
    parts, got = [], 0
    while got < n:
        b = fh.read(min(_CHUNK, n - got))
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not: detected from the gzip magic bytes) into a
    native-endian NumPy array of the stored type (uint8, int8, int16, int32, float32,
    float64) and shape.  A bad magic number, truncated data or trailing bytes raise a
    ValueError that says which."""
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(2, "read_idx: no such file", p)

    def bad(why: str) -> ValueError:
        return ValueError(f"read_idx: '{p}' is not a valid IDX file: {why}")

    with open(p, "rb") as raw:
        gz = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        fh = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
        try:
            return _parse_idx(fh, bad)
        except (EOFError, OSError, gzip.BadGzipFile) as e:  # corrupt / truncated gzip stream
            raise bad(f"the gzip stream is damaged ({e})") from None
        finally:
            if gz:
                fh.close()


def _parse_idx(fh, bad) -> np.ndarray:
    magic = _read_exactly(fh, 4)
    if len(magic) < 4:
        raise bad(f"it is {len(magic)} bytes long, shorter than the 4-byte magic number")
    if magic[0] != 0 or magic[1] != 0:
        raise bad(f"the magic number {magic.hex()} does not start with two zero bytes")
    code, ndim = magic[2], magic[3]
    if code not in _IDX_TYPES:
        raise bad(f"unknown data type code 0x{code:02X} in the magic number (expected one of "
                  + ", ".join(f"0x{c:02X}" for c in _IDX_TYPES) + ")")
    dims_raw = _read_exactly(fh, 4 * ndim)
    if len(dims_raw) < 4 * ndim:
        raise bad(f"the header announces {ndim} dimensions but is truncated")
    shape = struct.unpack(f">{ndim}I", dims_raw)
    dt = _IDX_TYPES[code]
    count = 1
    for d in shape:
        count *= d
    nbytes = count * dt.itemsize
    data = _read_exactly(fh, nbytes)
    if len(data) < nbytes:
        raise bad(f"shape {list(shape)} of {dt.newbyteorder('=').name} needs {nbytes} bytes of "
                  f"data but only {len(data)} are there (truncated?)")
    if fh.read(1):
        raise bad(f"there are bytes after the {nbytes} bytes of data that shape {list(shape)} "
                  "needs (wrong sizes in the header?)")
    return np.frombuffer(data, dtype=dt).reshape(shape).astype(dt.newbyteorder("="))


# ------------------------------------------------------------------------------------------
# MNIST
# ------------------------------------------------------------------------------------------

class MNIST(Dataset):
    """MNIST from IDX files already on disk, like ``torchvision.datasets.MNIST`` without the
    download.

    Looks in ``root`` and in ``root/MNIST/raw`` (torchvision's layout) for
    ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte`` (``train=True``) or
    ``t10k-images-idx3-ubyte`` / ``t10k-labels-idx1-ubyte``, each optionally ``.gz``.
    ``ds[i]`` is ``(image, label)``: image a float32 tensor ``[1, 28, 28]`` scaled to 0..1,
    label an ``int``; ``transform`` / ``target_transform`` are applied to them.
    ``ds.data`` (uint8 ``[N, 28, 28]``) and ``ds.targets`` (int64 ``[N]``) are NumPy arrays.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: PathLike, train: bool = True,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, download: bool = False):
        if download:
            raise RuntimeError("MNIST: minitorch does not download datasets; put the IDX files "
                               f"in {os.fspath(root)!r} yourself")
        self.root = os.fspath(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if train else "t10k"
        images_path = self._find(f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        labels_path = self._find(f"{prefix}-labels-idx1-ubyte", f"{prefix}-images-idx3-ubyte")
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.dtype != np.uint8 or images.ndim != 3:
            raise ValueError(f"MNIST: '{images_path}' holds {images.dtype} data of shape "
                             f"{list(images.shape)}; expected uint8 [N, H, W]")
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise ValueError(f"MNIST: '{labels_path}' holds {labels.dtype} data of shape "
                             f"{list(labels.shape)}; expected uint8 [N]")
        if len(images) != len(labels):
            raise ValueError(f"MNIST: {len(images)} images but {len(labels)} labels "
                             f"('{images_path}', '{labels_path}')")
        self.data = images
        self.targets = labels.astype(np.int64)

    def _find(self, base: str, other: str) -> str:
        dirs = [self.root, os.path.join(self.root, "MNIST", "raw")]
        for d in dirs:
            for name in (base, base + ".gz"):
                p = os.path.join(d, name)
                if os.path.isfile(p):
                    return p
        split = "train" if self.train else "test"
        raise FileNotFoundError(
            2, f"MNIST ({split} split): '{base}' not found. Expected these files (each may end "
               f"in .gz): {base}, {other}, in {dirs[0]!r} or {dirs[1]!r}. minitorch does not "
               "download; copy the MNIST IDX files there", os.path.join(self.root, base))

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        from .creation import from_numpy
        n = len(self.data)
        i = int(index)
        if not -n <= i < n:
            raise IndexError(f"index {index} is out of range for MNIST with {n} samples")
        image = from_numpy((self.data[i].astype(np.float32) / np.float32(255.0))[None])
        label = int(self.targets[i])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __repr__(self) -> str:
        return (f"Dataset MNIST\n    Number of datapoints: {len(self)}\n    Root location: "
                f"{self.root}\n    Split: {'Train' if self.train else 'Test'}")
