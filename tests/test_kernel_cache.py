"""The disk cache of compiled kernels (minitorch/backends/runtime/cache.py) and its use by
cudasim: nothing is loaded unless its manifest vouches for it, every damaged entry is rebuilt,
writes are atomic, and the directory is private.

The cases that would crash a process that trusted the cache (a truncated library is SIGBUS,
changed bytes SIGILL/SIGSEGV) run in a subprocess: a crash fails the test, not pytest."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest

from minitorch.backends.runtime import cache
from minitorch.backends.runtime import cudasim as csr

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASIC = os.path.join(HERE, "shim_kernels", "basic.cu")
needs_cxx = pytest.mark.skipif(csr.find_compiler() is None, reason="no C++ compiler")


# ---- cache.py on its own: a "library" that is just bytes -----------------------------------
class Builder:
    """A build_fn that writes ``b'LIB:' + payload`` and counts its calls."""

    def __init__(self, payload=b"v1"):
        self.payload, self.calls = payload, 0

    def __call__(self, out):
        self.calls += 1
        with open(out, "wb") as f:
            f.write(b"LIB:" + self.payload)


def _build(d, b, **kw):
    return cache.build_cached("source text", ("-O2",), b, name="k", directory=str(d),
                              suffix=".bin", **kw)


def _manifest(d):
    (m,) = [p for p in os.listdir(d) if p.endswith(".json")]
    return os.path.join(d, m)


def test_build_once_then_hit_and_manifest_records_what_was_built(tmp_path):
    b = Builder()
    p = _build(tmp_path, b)
    assert open(p, "rb").read() == b"LIB:v1" and b.calls == 1
    assert _build(tmp_path, b) == p and b.calls == 1            # a hit: not rebuilt
    m = json.load(open(_manifest(tmp_path)))
    data = open(p, "rb").read()
    import hashlib
    assert m["size"] == len(data) and m["sha256"] == hashlib.sha256(data).hexdigest()
    assert m["library"] == os.path.basename(p) and m["flags"] == ["-O2"]
    assert m["source_sha256"] == hashlib.sha256(b"source text").hexdigest()
    assert m["key"] == cache.cache_key("source text", ("-O2",), None, ".bin")
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(p),
                                                   os.path.basename(_manifest(tmp_path))])


def test_key_covers_source_flags_and_compiler():
    cxx = csr.find_compiler()
    k = cache.cache_key("s", ("-O2",), cxx)
    assert k != cache.cache_key("t", ("-O2",), cxx)
    assert k != cache.cache_key("s", ("-O3",), cxx)
    assert k != cache.cache_key("s", ("-O2",), None)
    if cxx:
        assert "(" + os.path.realpath(cxx) in cache.compiler_id(cxx)


def _truncate(p, m):
    with open(p, "r+b") as f:
        f.truncate(3)


def _random_bytes(p, m):
    n = os.path.getsize(p)
    with open(p, "wb") as f:
        f.write(np.random.default_rng(1).bytes(n))


def _empty(p, m):
    open(p, "wb").close()


def _other_file(p, m):
    os.replace(_write(os.path.dirname(p), "other", b"LIB:v2"), p)


def _write(d, name, data):
    q = os.path.join(d, name)
    with open(q, "wb") as f:
        f.write(data)
    return q


def _symlink(p, m):
    q = _write(os.path.dirname(os.path.dirname(p)), "elsewhere.bin", open(p, "rb").read())
    os.unlink(p)
    os.symlink(q, p)


def _writable_by_others(p, m):
    os.chmod(p, 0o666)


def _manifest_garbage(p, m):
    _write(os.path.dirname(m), os.path.basename(m), b"{not json")


def _manifest_for_another_key(p, m):
    rec = json.load(open(m))
    rec["key"] = "0" * 64
    _write(os.path.dirname(m), os.path.basename(m), json.dumps(rec).encode())


def _manifest_escapes_dir(p, m):
    rec = json.load(open(m))
    outside = _write(os.path.dirname(os.path.dirname(p)), "evil.bin", open(p, "rb").read())
    rec["library"] = "../" + os.path.basename(outside)
    _write(os.path.dirname(m), os.path.basename(m), json.dumps(rec).encode())
    os.unlink(p)


def _manifest_lies_about_size(p, m):
    rec = json.load(open(m))
    _random_bytes(p, m)
    rec["size"] = os.path.getsize(p) + 1
    _write(os.path.dirname(m), os.path.basename(m), json.dumps(rec).encode())


def _manifest_missing(p, m):
    os.unlink(m)


CORRUPTIONS = [_truncate, _random_bytes, _empty, _other_file, _symlink, _writable_by_others,
               _manifest_garbage, _manifest_for_another_key, _manifest_escapes_dir,
               _manifest_lies_about_size, _manifest_missing]


@pytest.mark.parametrize("damage", CORRUPTIONS, ids=lambda f: f.__name__.strip("_"))
def test_every_damaged_entry_is_rebuilt(tmp_path, damage):
    d = tmp_path / "c"
    b = Builder()
    p = _build(d, b)
    damage(p, _manifest(d))
    q = _build(d, b)
    assert b.calls == 2, "the damaged entry was trusted"
    assert open(q, "rb").read() == b"LIB:v1" and not os.path.islink(q)
    assert os.path.dirname(q) == str(d)
    assert _build(d, b) == q and b.calls == 2                   # and the new entry is sound


def test_failed_build_leaves_no_entry_and_no_temporary_files(tmp_path):
    def broken(out):
        with open(out, "wb") as f:
            f.write(b"half")
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError, match="compiler crashed"):
        _build(tmp_path, broken)
    assert os.listdir(tmp_path) == []
    with pytest.raises(RuntimeError, match="empty or irregular"):
        _build(tmp_path, lambda out: open(out, "wb").close())
    assert os.listdir(tmp_path) == []


def test_rebuild_replaces_the_entry(tmp_path):
    b = Builder()
    p = _build(tmp_path, b)
    b.payload = b"v2"   # e.g. the caller found that the loaded library is not its build
    q = _build(tmp_path, b, rebuild=True)
    assert b.calls == 2 and q != p and open(q, "rb").read() == b"LIB:v2"
    assert not os.path.exists(p)   # content-addressed names: the stale file is gone
    assert _build(tmp_path, b) == q and b.calls == 2


# ---- the directory ----------------------------------------------------------------------------
def test_cache_dir_is_created_private_under_minitorch_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MINITORCH_CACHE", str(tmp_path / "root"))
    d = cache.cache_dir("cudasim")
    assert d == str(tmp_path / "root" / "cudasim")
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "root").st_mode) == 0o700
    os.chmod(d, 0o755)              # e.g. made by an older version: tightened
    cache.cache_dir("cudasim")
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700


def test_default_cache_dir_is_per_user_not_a_shared_temp_path(tmp_path, monkeypatch):
    monkeypatch.delenv("MINITORCH_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.default_root() == str(tmp_path / ".cache" / "minitorch")
    assert csr._cache_root() == str(tmp_path / ".cache" / "minitorch" / "cudasim")


@pytest.mark.parametrize("mode,who", [(0o777, "group and others"), (0o757, "others"),
                                      (0o775, "group")])
def test_directory_writable_by_others_is_refused(tmp_path, monkeypatch, mode, who):
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, mode)
    monkeypatch.setenv("MINITORCH_CACHE", str(root))
    with pytest.raises(cache.UnsafeCacheDir, match=f"writable by {who}.*chmod 700"):
        cache.cache_dir("cudasim")
    with pytest.raises(cache.UnsafeCacheDir):
        _build(root, Builder())
    assert os.listdir(root) == []


def test_directory_of_another_user_is_refused(tmp_path, monkeypatch):
    d = tmp_path / "theirs"
    d.mkdir(mode=0o700)
    me = os.getuid()
    monkeypatch.setattr(cache.os, "getuid", lambda: me + 1)   # as if someone else owned it
    with pytest.raises(cache.UnsafeCacheDir, match=r"belongs to uid \d+, not to you"):
        cache.ensure_private_dir(str(d))


def test_library_of_another_user_is_not_loaded(tmp_path, monkeypatch):
    b = Builder()
    _build(tmp_path, b)
    real_fstat = os.fstat

    def fstat(fd):  # the library's owner is someone else (the directory's check passes)
        st = real_fstat(fd)
        if stat.S_ISREG(st.st_mode) and st.st_size == len(b"LIB:v1"):
            return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink,
                                   st.st_uid + 1) + tuple(st)[5:])
        return st

    monkeypatch.setattr(cache.os, "fstat", fstat)
    _check = cache._check_entry(str(tmp_path), _manifest(tmp_path),
                                cache.cache_key("source text", ("-O2",), None, ".bin"), ".bin")
    assert _check[1] == "library belongs to another user or is writable by others"


def test_unwritable_home_says_what_to_do(tmp_path, monkeypatch):
    f = tmp_path / "file"
    f.write_text("")
    monkeypatch.setenv("MINITORCH_CACHE", str(f / "sub"))   # a parent that is a file
    with pytest.raises(OSError, match="set MINITORCH_CACHE to a writable directory"):
        cache.cache_dir("cudasim")


# ---- cudasim: damaged libraries, loaded in a subprocess ---------------------------------------
_LOAD = """
import json, sys
import numpy as np
from minitorch.backends.runtime import cudasim as csr
rt = csr.CudasimRuntime(asan=False, cache_dir=sys.argv[1], seed=0)
m = rt.module(sys.argv[2])
x = np.arange(100, dtype=np.float32)
y = np.zeros_like(x)
m.get_function("axpb")(4, 32, (y, x, np.float32(2), np.float32(1), np.int64(100)))
print(json.dumps({"ok": bool((y == 2 * x + 1).all()), "stats": csr.stats, "path": m.path}))
"""


def _load_in_subprocess(cache_dir, kernel=BASIC):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("MINITORCH_DEBUG", None)
    env.pop("MINITORCH_CUDASIM_ASAN", None)
    r = subprocess.run([sys.executable, "-c", _LOAD, str(cache_dir), kernel], env=env,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, (f"the process died (returncode {r.returncode}): a damaged cache "
                               f"entry was loaded\n{r.stdout}\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A cache directory holding a good build of basic.cu, and a foreign cudasim library:
    basic.cu with axpb changed to compute a*x + b + 1 (same kernels, same signature)."""
    if csr.find_compiler() is None:
        pytest.skip("no C++ compiler")
    d = tmp_path_factory.mktemp("pristine")
    info = _load_in_subprocess(d)
    assert info["ok"] and info["stats"]["compiled"] == 1
    src = tmp_path_factory.mktemp("foreign") / "basic.cu"
    src.write_text(open(BASIC).read().replace("y[i] = a * x[i] + b;", "y[i] = a * x[i] + b + 1;"))
    fd = tmp_path_factory.mktemp("foreign_cache")
    subprocess.run([sys.executable, "-c", _LOAD, str(fd), str(src)], capture_output=True,
                   env=dict(os.environ, PYTHONPATH=ROOT), timeout=240)
    (foreign,) = [os.path.join(fd, n) for n in os.listdir(fd) if n.endswith(".so")]
    cxx = csr.find_compiler()
    c = src.parent / "plain.c"
    c.write_text("int plain_function(void) { return 42; }\n")
    plain = str(src.parent / "libplain.so")
    subprocess.run([cxx, "-x", "c", "-shared", "-fPIC", str(c), "-o", plain], check=True)
    return {"dir": str(d), "lib": info["path"], "foreign": foreign, "plain": plain}


def _entry(tmp_path, pristine):
    d = tmp_path / "cache"
    shutil.copytree(pristine["dir"], d)
    lib = d / os.path.basename(pristine["lib"])
    (m,) = [d / n for n in os.listdir(d) if n.endswith(".json")]
    return d, str(lib), str(m)


def _forge_manifest(m, lib):
    """Rewrite the manifest so that it vouches for whatever ``lib`` now holds."""
    import hashlib
    rec = json.load(open(m))
    data = open(lib, "rb").read()
    rec.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    with open(m, "w") as f:
        json.dump(rec, f)


def _cut(lib, pristine):
    with open(lib, "r+b") as f:
        f.truncate(os.path.getsize(lib) // 2)


def _flip(lib, pristine):   # changed bytes in the code
    data = bytearray(open(lib, "rb").read())
    rng = np.random.default_rng(0)
    for i in rng.integers(64, len(data), 200):
        data[i] ^= 0xFF
    with open(lib, "wb") as f:
        f.write(bytes(data))


def _zero(lib, pristine):
    open(lib, "wb").close()


def _noise(lib, pristine):
    with open(lib, "wb") as f:
        f.write(np.random.default_rng(2).bytes(os.path.getsize(lib)))


def _foreign_so(lib, pristine):  # any other valid shared library
    shutil.copyfile(pristine["plain"], lib)


def _foreign_cudasim(lib, pristine):  # a cudasim library whose axpb computes a*x + b + 1
    shutil.copyfile(pristine["foreign"], lib)


LIB_DAMAGE = [_cut, _flip, _zero, _noise, _foreign_so, _foreign_cudasim]


@needs_cxx
@pytest.mark.parametrize("lying_manifest", [False, True], ids=["honest-manifest",
                                                              "lying-manifest"])
@pytest.mark.parametrize("damage", LIB_DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_damaged_cudasim_library_is_rebuilt_and_computes_right(tmp_path, pristine, damage,
                                                               lying_manifest):
    """Each damage, with the manifest left as it was (its size/SHA-256 no longer match) or
    forged to vouch for the damaged file (then the ELF layout check or the build key that
    the library reports must catch it)."""
    if lying_manifest and damage is _flip:
        pytest.skip("a forged manifest for changed code bytes cannot be detected before "
                    "loading; only the directory's permissions stand between it and the process")
    d, lib, m = _entry(tmp_path, pristine)
    damage(lib, pristine)
    if lying_manifest:
        _forge_manifest(m, lib)
    info = _load_in_subprocess(d)
    assert info["ok"], "the kernel computed a wrong result"
    assert info["stats"]["compiled"] == 1 and info["stats"]["rejected"] >= 1, info
    assert os.path.dirname(info["path"]) == str(d)


@needs_cxx
def test_sound_cudasim_entry_is_a_disk_hit(tmp_path, pristine):
    d, lib, m = _entry(tmp_path, pristine)
    info = _load_in_subprocess(d)
    assert info["ok"] and info["path"] == lib
    assert info["stats"]["compiled"] == 0 and info["stats"]["disk_hits"] == 1
    assert info["stats"]["rejected"] == 0


@needs_cxx
def test_manifest_of_another_entry_is_not_trusted(tmp_path, pristine):
    """A manifest and library copied over from another build (another kernel source): the
    pair is consistent, but the key names another build."""
    d, lib, m = _entry(tmp_path, pristine)
    fdir = os.path.dirname(pristine["foreign"])
    (fm,) = [os.path.join(fdir, n) for n in os.listdir(fdir) if n.endswith(".json")]
    shutil.copyfile(pristine["foreign"], os.path.join(d, os.path.basename(pristine["foreign"])))
    shutil.copyfile(fm, m)
    info = _load_in_subprocess(d)
    assert info["ok"] and info["stats"]["compiled"] == 1 and info["stats"]["rejected"] == 1


@needs_cxx
def test_cudasim_writes_no_temporary_files_outside_its_cache(tmp_path, pristine):
    d, lib, m = _entry(tmp_path, pristine)
    os.unlink(m)
    env_tmp = tmp_path / "tmpdir"
    env_tmp.mkdir()
    old = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(env_tmp)
    try:
        info = _load_in_subprocess(d)
    finally:
        if old is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = old
    assert info["ok"] and info["stats"]["compiled"] == 1
    assert os.listdir(env_tmp) == []
    assert not [n for n in os.listdir(d) if n.startswith(".")]   # the build dir is gone


@needs_cxx
def test_cudasim_cache_dir_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("MINITORCH_CACHE", str(tmp_path / "mc"))
    monkeypatch.setattr(csr, "_MODULES", {})
    m = csr.CudasimRuntime(asan=False).module(BASIC)
    assert os.path.dirname(m.path) == str(tmp_path / "mc" / "cudasim")
    assert stat.S_IMODE(os.stat(tmp_path / "mc" / "cudasim").st_mode) == 0o700
    monkeypatch.setattr(csr, "_MODULES", {})
    os.chmod(tmp_path / "mc", 0o777)
    with pytest.raises(cache.UnsafeCacheDir, match="refusing to use"):
        csr.CudasimRuntime(asan=False).module(BASIC)
