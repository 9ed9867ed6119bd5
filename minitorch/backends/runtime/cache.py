"""A disk cache of compiled shared libraries that checks what it loads.

``dlopen`` trusts the file it is given: a truncated library kills the process with SIGBUS,
changed bytes give SIGILL or SIGSEGV, and whoever can write the cache directory can run code
in every process that loads from it.  So a library is never loaded on the strength of its
file name alone:

* **Key.** An entry is found by ``cache_key(source, flags, compiler)``: the SHA-256 of the
  text that determines the library (the source, or a digest of it and everything it
  includes), the compile flags and the compiler's identity (path, ``--version``, size, mtime).
* **Manifest.** Beside each library, ``<name>-<key>.json`` records the key, the inputs, and
  the library's file name, size and SHA-256.  ``build_cached`` returns a path only after
  checking all of them against the file (a regular file, not a symlink, owned by the current
  user, not writable by others, with a sane ELF layout); on any mismatch it rebuilds.
* **Content-addressed file names.** A library is stored as ``<name>-<key>-<sha>.so``: two
  different files never share a path, so ``dlopen`` (which returns the library already
  loaded under a path without opening the file again) can never hand back stale code.
* **Atomic writes.** The library is built in a private ``.build-*`` directory inside the
  cache directory, fsynced and ``os.replace``d into place; then the manifest is written the
  same way.  Readers see a complete entry or none; parallel builds of one entry are harmless.
* **A private directory.** ``cache_dir(sub)`` is ``$MINITORCH_CACHE/<sub>`` (default
  ``~/.cache/minitorch/<sub>``), never a shared temporary path.  The root must belong to the
  current user and not be writable by group or others (``UnsafeCacheDir`` otherwise); the
  subdirectory is created, or tightened to, mode 0700.

Usage (what cudasim does; the C++ code generator of ``minitorch/compiler`` can do the same)::

    def build(out_path):                      # compile into exactly this path
        subprocess.run([cxx, "-shared", "-fPIC", "-O2", src_file, "-o", out_path], check=True)

    so = build_cached(source_text, ("-O2", "-fPIC"), build, name="fused_add", compiler=cxx,
                      directory=cache_dir("compiler"))
    lib = ctypes.CDLL(so)

A caller that can should also check, after loading, that the library is the build it asked
for (cudasim compiles the key into the library as ``cudasim_build_key()``) and call
``build_cached(..., rebuild=True)`` when it is not: a manifest can only vouch for the bytes,
and a consistent pair of forged manifest and library is beyond what a hash can detect.
``MINITORCH_DEBUG=1`` logs every build, hit and rejection (with the reason).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
from typing import Callable, Optional, Sequence, Union

from .base import _log, debug_level

__all__ = ["build_cached", "cache_dir", "cache_key", "compiler_id", "ensure_private_dir",
           "default_root", "UnsafeCacheDir", "stats", "FORMAT"]

FORMAT = "minitorch-cache-1"       # bump when the manifest or the layout changes
stats = {"built": 0, "hits": 0, "rejected": 0}
_MAX_MANIFEST = 1 << 16
_STALE_BUILD_S = 3600              # .build-* directories of killed builds older than this go
_ELF = sys.platform.startswith(("linux", "freebsd", "netbsd", "openbsd"))


class UnsafeCacheDir(PermissionError):
    """The cache directory belongs to someone else or others may write it."""


# ---- the directory ------------------------------------------------------------------------
def default_root() -> str:
    """``$MINITORCH_CACHE``, else ``~/.cache/minitorch``."""
    return os.environ.get("MINITORCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                             "minitorch")


def _check_dir(path: str, st) -> None:
    uid = os.getuid()
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeCacheDir(f"minitorch cache: {path} is not a directory")
    if st.st_uid != uid:
        raise UnsafeCacheDir(
            f"minitorch cache: refusing to use {path}: it belongs to uid {st.st_uid}, not to "
            f"you (uid {uid}), so its owner could plant code that minitorch would load; set "
            f"MINITORCH_CACHE to a directory of your own")
    if st.st_mode & 0o022:
        who = {0o022: "group and others", 0o020: "group", 0o002: "others"}[st.st_mode & 0o022]
        raise UnsafeCacheDir(
            f"minitorch cache: refusing to use {path}: it is writable by {who} (mode "
            f"{stat.S_IMODE(st.st_mode):04o}), who could plant code that minitorch would "
            f"load; `chmod 700 {path}` or set MINITORCH_CACHE to a directory of your own")


def ensure_private_dir(path: str, tighten: bool = True) -> str:
    """Create ``path`` (mode 0700; missing parents with the default mode) or check it: a
    directory of the current user that group and others cannot write.  With ``tighten``, an
    existing directory of ours is chmod-ed to 0700 as well.  Returns the absolute path."""
    path = os.path.abspath(path)
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            try:
                os.mkdir(path, 0o700)
            except FileExistsError:
                pass  # a concurrent process made it (checked below like any other)
            st = os.stat(path)
        except OSError as e:
            raise OSError(e.errno, f"minitorch cache: cannot create {path} ({e.strerror}); set "
                                   f"MINITORCH_CACHE to a writable directory of your own") from None
    _check_dir(path, st)
    if tighten and stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def cache_dir(sub: str) -> str:
    """``default_root()/sub``: the root checked (ours, not writable by others), ``sub``
    created or tightened to 0700."""
    root = ensure_private_dir(default_root(), tighten=False)
    return ensure_private_dir(os.path.join(root, sub))


# ---- the key --------------------------------------------------------------------------------
_COMPILER_IDS: dict = {}


def compiler_id(compiler: Optional[str]) -> str:
    """Identity of a compiler for cache keys: resolved path, the first line of
    ``--version``, size and mtime (memoized per process while the binary is unchanged)."""
    if not compiler:
        return ""
    real = os.path.realpath(shutil.which(compiler) or compiler)
    try:
        st = os.stat(real)
    except OSError:
        return real
    memo = (real, st.st_size, st.st_mtime_ns)
    cid = _COMPILER_IDS.get(memo)
    if cid is None:
        try:
            out = subprocess.run([real, "--version"], capture_output=True, text=True,
                                 timeout=60).stdout.strip().splitlines()
            version = out[0] if out else "?"
        except (OSError, subprocess.SubprocessError):
            version = "?"
        cid = f"{version} ({real}, {st.st_size} bytes, mtime {st.st_mtime_ns})"
        _COMPILER_IDS[memo] = cid
    return cid


def _as_bytes(source: Union[str, bytes]) -> bytes:
    return source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")


def cache_key(source: Union[str, bytes], flags: Sequence[str], compiler: Optional[str] = None,
              suffix: str = ".so") -> str:
    """SHA-256 (hex) of the format version, the source, the flags and the compiler."""
    h = hashlib.sha256()
    for part in (FORMAT.encode(), hashlib.sha256(_as_bytes(source)).digest(),
                 json.dumps(list(flags)).encode(), compiler_id(compiler).encode(),
                 suffix.encode()):
        h.update(len(part).to_bytes(8, "little") + part)
    return h.hexdigest()


# ---- verifying an entry -----------------------------------------------------------------------
def _sha256_file(fd: int) -> str:
    h = hashlib.sha256()
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            return h.hexdigest()
        h.update(b)


def _elf_problem(fd: int, size: int) -> Optional[str]:
    """Why an ELF file cannot be complete (its headers point past its end), or None.  Not a
    validation of the code: a check that catches truncation even when a manifest lies."""
    head = os.pread(fd, 64, 0)
    if head[:4] != b"\x7fELF":
        return "not an ELF file"
    if len(head) < 64 or head[4] not in (1, 2) or head[5] not in (1, 2):
        return "truncated ELF header"
    e = "<" if head[5] == 1 else ">"
    if head[4] == 2:
        phoff, shoff = struct.unpack_from(e + "QQ", head, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(e + "HHHH", head, 54)
        ph_fmt, off_idx, filesz_idx = e + "IIQQQQQQ", 2, 5
    else:
        phoff, shoff = struct.unpack_from(e + "II", head, 28)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(e + "HHHH", head, 42)
        ph_fmt, off_idx, filesz_idx = e + "IIIIIIII", 1, 4
    if phoff + phentsize * phnum > size:
        return "program headers past the end of the file"
    if shnum and shoff + shentsize * shnum > size:
        return "section headers past the end of the file"
    need = struct.calcsize(ph_fmt)
    if phnum and phentsize < need:
        return "bad program header size"
    table = os.pread(fd, phentsize * phnum, phoff)
    for i in range(phnum):
        f = struct.unpack_from(ph_fmt, table, i * phentsize)
        if f[0] == 1 and f[off_idx] + f[filesz_idx] > size:  # PT_LOAD
            return "a loadable segment ends past the end of the file"
    return None


_LIB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")  # a plain file name: no directories


def _check_entry(directory: str, manifest_path: str, key: str, suffix: str):
    """(library path, None) if the entry is sound, else (library path or None, reason)."""
    try:
        fd = os.open(manifest_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None, "missing"
    except OSError as e:
        return None, f"manifest unreadable ({e.strerror})"
    try:
        raw = os.read(fd, _MAX_MANIFEST + 1)
    finally:
        os.close(fd)
    try:
        m = json.loads(raw) if len(raw) <= _MAX_MANIFEST else None
    except ValueError:
        m = None
    if not isinstance(m, dict):
        return None, "manifest is not a JSON object of the expected size"
    lib = m.get("library")
    if not (isinstance(lib, str) and _LIB_NAME.fullmatch(lib) and lib.endswith(suffix)):
        return None, f"manifest names no valid library file ({lib!r})"
    path = os.path.join(directory, lib)
    if m.get("format") != FORMAT:
        return path, f"manifest format {m.get('format')!r}, expected {FORMAT!r}"
    if m.get("key") != key:
        return path, "manifest is for another build (key mismatch)"
    size, sha = m.get("size"), m.get("sha256")
    if not (isinstance(size, int) and isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
        return path, "manifest lacks the library's size and SHA-256"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return path, "library missing"
    except OSError as e:
        return path, f"library unreadable or a symlink ({e.strerror})"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return path, "library is not a regular file"
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            return path, "library belongs to another user or is writable by others"
        if st.st_size != size:
            return path, f"library has {st.st_size} bytes, the manifest says {size}"
        if _sha256_file(fd) != sha:
            return path, "library's SHA-256 differs from the manifest's"
        if _ELF and suffix == ".so":
            why = _elf_problem(fd, st.st_size)
            if why:
                return path, why
    finally:
        os.close(fd)
    return path, None


# ---- writing an entry --------------------------------------------------------------------------
def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_file_atomic(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _remove_stale_builds(directory: str) -> None:
    now = time.time()
    try:
        for e in os.scandir(directory):
            if e.name.startswith((".build-", ".tmp-")):
                try:
                    if now - e.stat(follow_symlinks=False).st_mtime > _STALE_BUILD_S:
                        if e.is_dir(follow_symlinks=False):
                            shutil.rmtree(e.path, ignore_errors=True)
                        else:
                            os.unlink(e.path)
                except OSError:
                    pass
    except OSError:
        pass


def _unlink_quiet(path: Optional[str]) -> None:
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


def build_cached(source: Union[str, bytes], flags: Sequence[str],
                 build_fn: Callable[[str], None], *, name: str = "lib",
                 compiler: Optional[str] = None, directory: Optional[str] = None,
                 suffix: str = ".so", rebuild: bool = False,
                 avoid: Sequence[str] = ()) -> str:
    """Path of a verified library for (``source``, ``flags``, ``compiler``), built with
    ``build_fn(out_path)`` when the cache has no sound entry (or ``rebuild`` is true).

    ``source`` is the text that determines the library (or a digest of it and its includes);
    ``build_fn`` must write the library to exactly ``out_path`` (in a private temporary
    directory) or raise.  ``directory`` defaults to ``cache_dir("lib")``.  Rejected entries
    (see the module docstring) are deleted and rebuilt; ``stats`` counts hits, builds and
    rejections.  ``avoid``: paths the new library must not take, because this process has
    loaded something else from them (``dlopen`` would hand back that library again).
    """
    directory = ensure_private_dir(directory) if directory else cache_dir("lib")
    key = cache_key(source, flags, compiler, suffix)
    stem = re.sub(r"[^A-Za-z0-9_]", "_", name)[:64] or "lib"
    manifest = os.path.join(directory, f"{stem}-{key[:24]}.json")
    old, why = _check_entry(directory, manifest, key, suffix)
    if why is None and not rebuild:
        stats["hits"] += 1
        if debug_level():
            _log(f"cache: {name}: loaded {old}")
        return old  # type: ignore[return-value]
    if why != "missing":
        stats["rejected"] += 1
        if debug_level():
            _log(f"cache: {name}: rejected the entry {manifest}: "
                 f"{why or 'rebuild requested'}; rebuilding")
        if old and os.path.basename(old).startswith(f"{stem}-{key[:16]}-"):
            _unlink_quiet(old)   # our entry's file (never one that a forged manifest names)
    _remove_stale_builds(directory)
    tmp = tempfile.mkdtemp(dir=directory, prefix=".build-")
    try:
        out = os.path.join(tmp, stem + suffix)
        build_fn(out)
        try:
            fd = os.open(out, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as e:
            raise RuntimeError(f"cache: building {name} produced no file at {out} "
                               f"({e.strerror})") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
                raise RuntimeError(f"cache: building {name} produced an empty or irregular "
                                   f"file {out}")
            sha = _sha256_file(fd)
            why = _elf_problem(fd, st.st_size) if _ELF and suffix == ".so" else None
            if why:
                raise RuntimeError(f"cache: building {name} produced a broken library "
                                   f"({why}): {out}")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(out, stat.S_IMODE(st.st_mode) & ~0o022)
        lib = f"{stem}-{key[:16]}-{sha[:16]}{suffix}"
        avoid = {os.path.abspath(a) for a in avoid}
        while os.path.join(directory, lib) in avoid:
            lib = f"{stem}-{key[:16]}-{sha[:16]}-{os.urandom(4).hex()}{suffix}"
        final = os.path.join(directory, lib)
        os.replace(out, final)
        record = {"format": FORMAT, "key": key, "name": name, "library": lib,
                  "size": st.st_size, "sha256": sha,
                  "source_sha256": hashlib.sha256(_as_bytes(source)).hexdigest(),
                  "flags": list(flags), "compiler": compiler_id(compiler),
                  "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        _write_file_atomic(manifest, json.dumps(record, indent=1).encode())
        _fsync_dir(directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stats["built"] += 1
    return final
