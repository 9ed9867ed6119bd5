"""The cudasim simulator itself: CUDA semantics the kernels rely on, checked on small kernels
(tests/shim_kernels/*.cu) so that a failure points at the simulator, not at an op.

Every test here runs without a GPU; all of them are skipped when no C++ compiler exists.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from minitorch.backends.runtime import cudasim as csr
from minitorch.backends.runtime.base import check_launch

pytestmark = pytest.mark.skipif(csr.find_compiler() is None, reason="no C++ compiler")

HERE = os.path.dirname(os.path.abspath(__file__))
KDIR = os.path.join(HERE, "shim_kernels")
ROOT = os.path.dirname(HERE)
TEMPLATES = ("scale<float, 3, true>", "scale<long long,2,false>")


def kfile(name):
    return os.path.join(KDIR, name)


@pytest.fixture(scope="module")
def rt():
    return csr.CudasimRuntime(asan=False, seed=0)


@pytest.fixture(scope="module")
def sync(rt):
    return rt.module(kfile("sync.cu"))


@pytest.fixture(scope="module")
def basic(rt):
    return rt.module(kfile("basic.cu"), name_expressions=TEMPLATES)


# ---- barriers and the shuffled thread order ---------------------------------------------------
def test_missing_syncthreads_gives_a_wrong_answer(sync):
    x = np.random.default_rng(0).random(4 * 256).astype(np.float32)
    want = x.reshape(4, 256)[:, ::-1].ravel()
    y = np.empty_like(x)
    sync.get_function("reverse_sync")(4, 256, (y, x))
    np.testing.assert_array_equal(y, want)
    y[:] = 0
    sync.get_function("reverse_nosync")(4, 256, (y, x))
    assert (y != want).mean() > 0.25  # the race shows up in many elements


def test_shuffled_order_catches_what_index_order_hides(rt, sync):
    # out[t] = s[t-1] without a barrier happens to work when threads run in index order
    x = np.arange(1, 257, dtype=np.float32)
    y = np.empty_like(x)
    f = sync.get_function("shift_nosync")
    old = rt.seed
    try:
        rt.seed = "sequential"
        f(1, 256, (y, x))
        np.testing.assert_array_equal(y[1:], x[:-1])
        rt.seed = 0
        f(1, 256, (y, x))
        assert (y[1:] != x[:-1]).sum() > 50
        first = y.copy()
        f(1, 256, (y, x))
        np.testing.assert_array_equal(y, first)  # a seed gives one reproducible order
        rt.seed = 12345
        f(1, 256, (y, x))
        assert (y != first).any()  # another seed, another order
    finally:
        rt.seed = old


def test_exited_threads_do_not_hold_a_barrier(sync):
    out = np.zeros(40, np.int32)
    sync.get_function("early_exit")(1, 64, (out, np.int32(40)))
    np.testing.assert_array_equal(out, (np.arange(1, 41) % 40) * 10)


def test_syncthreads_count_and_or_and_warp_reduce(sync):
    out = np.zeros(8, np.int32)
    sync.get_function("counts")(1, 100, (out,))
    assert list(out[:5]) == [len(range(0, 100, 3)), 1, 1, sum(range(32)), -5]


def test_deadlock_is_reported(sync):
    with pytest.raises(RuntimeError, match=r"deadlock in block \(0,0,0\).*16 thread\(s\) wait at "
                                           r"__syncthreads.*mask 0xffffffff"):
        sync.get_function("deadlock")(1, 64, (np.zeros(64, np.int32),))


def test_device_assert(sync):
    out = np.zeros(64, np.int32)
    with pytest.raises(RuntimeError, match=r"device-side assert.*sync.cu:\d+.*thread \(3,0,0\)"):
        sync.get_function("asserting")(1, 64, (out, np.int32(3)))
    sync.get_function("asserting")(1, 64, (out, np.int32(-1)))  # the runtime is still usable
    assert out.all()


# ---- shared memory ------------------------------------------------------------------------------
@pytest.mark.parametrize("block", [32, 256, 1024])
def test_dynamic_shared_memory(sync, block):
    n = 3000
    d = np.random.default_rng(1).random(n)
    nb = (n + block - 1) // block
    out = np.empty(nb)
    sync.get_function("block_sum_dyn")(nb, block, (out, d, np.int64(n)), shared_mem=block * 8)
    want = [d[i * block:(i + 1) * block].sum() for i in range(nb)]
    np.testing.assert_allclose(out, want, rtol=1e-12)


# ---- warps ------------------------------------------------------------------------------------
def test_warp_reduction_with_shfl_down(sync):
    x = np.random.default_rng(2).random(512).astype(np.float32)
    out = np.empty(16, np.float32)
    sync.get_function("warp_sum")(4, 128, (out, x))
    np.testing.assert_allclose(out, x.reshape(16, 32).sum(1), rtol=1e-5)


def test_shuffles_and_votes_under_divergence(sync):
    inp = np.random.default_rng(3).integers(0, 100, 64).astype(np.int32)
    out = np.zeros(64 * 8, np.int32)
    sync.get_function("divergent")(1, 64, (out, inp))
    o = out.reshape(64, 8).astype(np.int64) & 0xFFFFFFFF
    for t in range(64):
        w, lane = divmod(t, 32)

        def v(k):
            return int(inp[w * 32 + k])
        half = [k for k in range(32) if k % 2 == lane % 2]
        if lane % 2 == 0:
            assert o[t, 0] == v(lane ^ 2)
        else:  # shfl_up by 2 within the odd lanes; lane 1 has no source and keeps its value
            assert o[t, 0] == (v(lane - 2) if lane >= 2 else v(lane))
            assert o[t, 4] == v(5)
        assert o[t, 1] == sum(1 << k for k in half if v(k) > 40)
        assert o[t, 2] == (lane % 2 == 1)          # lane 7 is odd: only the odd half sees it
        assert o[t, 3] == 1
        assert o[t, 5] == (v(lane + 1) if lane % 8 < 7 else v(lane))  # width 8
        assert o[t, 6] == v(lane ^ 16)
        assert o[t, 7] == sum(1 << k for k in range(32) if k % 3 == lane % 3)


# ---- atomics ------------------------------------------------------------------------------------
def test_atomics_from_many_threads(sync):
    n = 10007
    ic = np.zeros(1, np.int32)
    us = np.zeros(1, np.uint64)
    fs = np.zeros(1, np.float32)
    ds = np.zeros(1)
    im = np.full(1, -1, np.int32)
    lm = np.full(1, 2**40, np.int64)
    cc = np.zeros(1, np.int32)
    hist = np.zeros(10, np.uint32)
    sync.get_function("atomics")((n + 127) // 128, 128,
                                 (ic, us, fs, ds, im, lm, cc, hist, np.int64(n)))
    i = np.arange(n)
    assert ic[0] == n
    assert us[0] == i.sum()
    assert fs[0] == n * 0.5
    assert ds[0] == i.sum()
    assert im[0] == ((i * 7919) % 100003).max()
    assert lm[0] == 1000000 - (n - 1)
    assert cc[0] == 2 * n
    np.testing.assert_array_equal(hist, np.bincount(i % 10))


# ---- grids, templates, arguments ---------------------------------------------------------------
@pytest.mark.parametrize("grid,block", [((3, 5, 7), (8, 4, 2)), ((2, 3), (16, 16)), (7, 64)])
def test_multi_dimensional_grids_and_blocks(basic, grid, block):
    g = tuple(grid) + (1,) * (3 - len(grid)) if isinstance(grid, tuple) else (grid, 1, 1)
    b = tuple(block) + (1,) * (3 - len(block)) if isinstance(block, tuple) else (block, 1, 1)
    nx, ny, nz = g[0] * b[0] - 3, g[1] * b[1], g[2] * b[2]
    out = np.full((nz, ny, nx), -1, np.int32)
    basic.get_function("coords3d")(grid, block, (out, np.int32(nx), np.int32(ny), np.int32(nz)))
    z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    np.testing.assert_array_equal(out, x + 1000 * y + 1000000 * z)


def test_template_instantiation(basic):
    x = np.arange(1000, dtype=np.float32)
    y = np.empty_like(x)
    basic.get_function("scale<float, 3, true>")(4, 256, (y, x, np.int64(1000)))
    np.testing.assert_array_equal(y, -3 * x)
    xi = np.arange(10, dtype=np.int64) + 2**40
    yi = np.empty_like(xi)
    basic.get_function("scale<long long,2,false>")(1, 32, (yi, xi, np.int64(10)))
    np.testing.assert_array_equal(yi, 2 * xi)
    with pytest.raises(RuntimeError, match=r"no kernel 'scale<float,3,true>'.*name_expressions"):
        basic.get_function("scale<float,3,true>")  # spelled differently from the expression


def test_bad_name_expressions(rt):
    with pytest.raises(ValueError, match="names no __global__ function"):
        rt.module(kfile("basic.cu"), name_expressions=("nothere<float>",))
    with pytest.raises(ValueError, match="template kernel; give its template arguments"):
        rt.module(kfile("basic.cu"), name_expressions=("scale",))
    with pytest.raises(RuntimeError, match=r"while instantiating kernel 'scale<float>'"):
        rt.module(kfile("basic.cu"), name_expressions=("scale<float>",))


def test_scalar_argument_types(basic):
    o = np.zeros(7, np.int64)
    basic.get_function("scalars")(1, 1, (o, np.int64(2**40 + 3), np.uint64(2**63 + 5),
                                         np.float64(2.5), np.int32(-5), np.uint32(2**32 - 1),
                                         np.float32(1.5), np.bool_(True)))
    assert list(o) == [2**40 + 3, -(2**63) + 5, 10, -5, 2**32 - 1, 3, 7]
    x = np.arange(8, dtype=np.float32)
    f = basic.get_function("axpb")
    assert f.signature == ("float*", "float*", "float", "float", "long long")
    f(1, 8, (x, x, np.float32(2), np.float32(1), np.int64(8)))  # in place: 2x+1
    np.testing.assert_array_equal(x, 2 * np.arange(8) + 1)
    with pytest.raises(TypeError, match=r"argument 4 .*exact C type.*Python int"):
        f(1, 8, (x, x, np.float32(2), np.float32(1), 8))
    with pytest.raises(TypeError, match=r"argument 2 .*is `float` but got np.float64"):
        f(1, 8, (x, x, np.float64(2), np.float32(1), np.int64(8)))
    with pytest.raises(TypeError, match=r"argument 1 .*is `float\*` but got an array of float64"):
        f(1, 8, (x, x.astype(np.float64), np.float32(2), np.float32(1), np.int64(8)))
    with pytest.raises(TypeError, match=r"takes 5 arguments"):
        f(1, 8, (x, x))


def test_array_views_pass_a_pointer_to_their_first_element(basic):
    base = np.arange(20, dtype=np.float32)
    out = np.zeros(20, np.float32)
    basic.get_function("axpb")(1, 32, (out[5:], base[3:], np.float32(1), np.float32(0),
                                       np.int64(10)))
    np.testing.assert_array_equal(out[5:15], base[3:13])
    assert not out[:5].any() and not out[15:].any()


def test_launch_limits():
    with pytest.raises(ValueError, match="1025 threads"):
        check_launch("k", 1, 1025, 0)
    with pytest.raises(ValueError, match="blockDim.z = 65"):
        check_launch("k", 1, (1, 1, 65), 0)
    with pytest.raises(ValueError, match="gridDim.y = 65536"):
        check_launch("k", (1, 65536), 32, 0)
    with pytest.raises(ValueError, match="dynamic shared memory"):
        check_launch("k", 1, 32, 64 * 1024)
    with pytest.raises(TypeError, match="grid must be"):
        check_launch("k", (1, 2, 3, 4), 32, 0)
    assert check_launch("k", (2, 3), [4], 0) == ((2, 3, 1), (4, 1, 1), 0)


def test_debug_logging(basic, monkeypatch, capsys):
    monkeypatch.setenv("MINITORCH_DEBUG", "1")
    x = np.zeros(4, np.float32)
    basic.get_function("axpb")((1, 1), 4, (x, x, np.float32(1), np.float32(1), np.int64(4)))
    err = capsys.readouterr().err
    assert "cudasim launch tests/shim_kernels/basic.cu:axpb grid=(1, 1, 1) block=(4, 1, 1) " \
           "shared_mem=0" in err and " ms" in err


# ---- compiling and caching ----------------------------------------------------------------------
def test_compile_error_names_file_and_line(rt):
    with pytest.raises(RuntimeError) as e:
        rt.module(kfile("broken.cu"))
    msg = str(e.value)
    assert msg.startswith("cudasim: failed to compile tests/shim_kernels/broken.cu: ")
    assert "broken.cu:4:" in msg.splitlines()[0] and "undefined_variable" in msg


def test_disk_cache_is_reused(tmp_path, monkeypatch):
    monkeypatch.setattr(csr, "_MODULES", {})
    rt = csr.CudasimRuntime(asan=False, cache_dir=str(tmp_path))
    before = dict(csr.stats)
    m1 = rt.module(kfile("basic.cu"))
    assert csr.stats["compiled"] == before["compiled"] + 1
    assert rt.module(kfile("basic.cu")) is m1  # in-process cache
    monkeypatch.setattr(csr, "_MODULES", {})
    m2 = rt.module(kfile("basic.cu"))           # a fresh process would do the same
    assert csr.stats["compiled"] == before["compiled"] + 1
    assert csr.stats["disk_hits"] == before["disk_hits"] + 1
    assert m2.path == m1.path and os.path.dirname(m1.path) == str(tmp_path)
    x = np.ones(4, np.float32)
    m2.get_function("axpb")(1, 4, (x, x, np.float32(3), np.float32(0), np.int64(4)))
    assert (x == 3).all()


# ---- AddressSanitizer ---------------------------------------------------------------------------
_OOB_SCRIPT = """
import os, sys, numpy as np
from minitorch.backends.runtime.cudasim import CudasimRuntime
rt = CudasimRuntime()
print("asan", rt.asan, flush=True)
m = rt.module(sys.argv[1])
out = np.zeros(100, np.float32)
m.get_function("write_past_end")(2, 64, (out, np.int64(100)))
print("finished", flush=True)
"""


def _libasan():
    cxx = csr.find_compiler()
    try:
        p = subprocess.run([cxx, "-print-file-name=libasan.so"], capture_output=True,
                           text=True).stdout.strip()
    except OSError:
        return None
    return p if p and os.path.isabs(p) and os.path.exists(p) else None


def _run_oob(asan: bool, cache: str):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MINITORCH_CACHE=cache)
    env.pop("MINITORCH_DEBUG", None)
    if asan:
        env.update(MINITORCH_CUDASIM_ASAN="1", LD_PRELOAD=_libasan(),
                   ASAN_OPTIONS="detect_leaks=0")
    else:
        env.pop("MINITORCH_CUDASIM_ASAN", None)
    return subprocess.run([sys.executable, "-c", _OOB_SCRIPT, kfile("sync.cu")], env=env,
                          capture_output=True, text=True, timeout=240)


def test_one_past_the_end_write_runs_silently_without_asan(tmp_path):
    r = _run_oob(False, str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "asan False" in r.stdout and "finished" in r.stdout


@pytest.mark.skipif(_libasan() is None, reason="no libasan for this compiler")
def test_asan_build_catches_one_past_the_end_write(tmp_path):
    r = _run_oob(True, str(tmp_path))
    assert "asan True" in r.stdout, r.stderr
    assert r.returncode != 0 and "finished" not in r.stdout
    assert "heap-buffer-overflow" in r.stderr
    assert "WRITE of size 4" in r.stderr and "sync.cu" in r.stderr


def test_asan_mode_without_preloaded_runtime_says_how():
    if csr._asan_loaded():
        pytest.skip("this process already runs under ASan")
    with pytest.raises(RuntimeError, match="LD_PRELOAD"):
        csr.CudasimRuntime(asan=True)


# ---- the same kernels are valid CUDA --------------------------------------------------------
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
def test_shim_kernels_compile_with_nvcc():
    from minitorch.backends.runtime.cupy import nvcc_check
    ptx = nvcc_check(kfile("basic.cu"), TEMPLATES)
    assert ".entry" in ptx and ptx.count(".entry") == 3 + len(TEMPLATES)
    assert nvcc_check(kfile("sync.cu")).count(".entry") >= 10
    with pytest.raises(RuntimeError, match=r"cuda \(nvcc\): failed to compile "
                                           r"tests/shim_kernels/broken.cu: .*broken.cu\(4\)"):
        nvcc_check(kfile("broken.cu"))


# ---- the cuda runtime, against a stand-in for CuPy (no GPU here) -----------------------------
def test_cupy_runtime_with_a_stub_cupy(monkeypatch):
    import types

    from minitorch.backends.runtime import cupy as cupy_runtime

    calls = []

    class ndarray:
        pass

    class CompileException(Exception):
        def get_message(self):
            return "/k/broken.cu(4): error: identifier \"undefined_variable\" is undefined"

    class RawKernel:
        max_dynamic_shared_size_bytes = 0

        def __init__(self, name):
            self.name = name

        def __call__(self, grid, block, args, shared_mem=0):
            calls.append((self.name, grid, block, args, shared_mem,
                          self.max_dynamic_shared_size_bytes))

    class RawModule:
        def __init__(self, code, options, name_expressions):
            self.code, self.options, self.names = code, options, name_expressions

        def compile(self):
            if "undefined_variable" in self.code:
                raise CompileException("compile failed")

        def get_function(self, name):
            if name not in ("axpb",) + tuple(self.names or ()):
                raise RuntimeError("CUDA_ERROR_NOT_FOUND: named symbol not found")
            return RawKernel(name)

    class Device:
        compute_capability = "90"
        attributes = {"MaxSharedMemoryPerBlockOptin": 232448}

        def __init__(self, i):
            self.i = i

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    cp = types.SimpleNamespace(ndarray=ndarray, RawModule=RawModule, cuda=types.SimpleNamespace(
        Device=Device, runtime=types.SimpleNamespace(deviceSynchronize=lambda: None)))
    monkeypatch.setitem(sys.modules, "cupy", cp)
    monkeypatch.setattr(cupy_runtime, "_MODULES", {})
    rt = cupy_runtime.CupyRuntime(0)
    assert rt.name == "cuda" and rt.xp is cp and rt.arch == "sm_90"
    mod = rt.module(kfile("basic.cu"), name_expressions=TEMPLATES)
    assert rt.module(kfile("basic.cu"), name_expressions=TEMPLATES) is mod
    raw = mod._raw
    assert raw.code.startswith(f'#line 1 "{kfile("basic.cu")}"\n')
    assert "-I" + KDIR in raw.options and "--std=c++17" in raw.options
    assert raw.names == TEMPLATES
    a = ndarray()
    f = mod.get_function("scale<float, 3, true>")
    f((2, 1), 128, (a, a, np.int64(5)))
    f(1, 32, (a, a, np.int64(5)), shared_mem=100000)  # > 48 KiB: opt in first
    assert calls[0][:5] == ("scale<float, 3, true>", (2, 1, 1), (128, 1, 1), (a, a, np.int64(5)),
                            0)
    assert calls[1][4:] == (100000, 100000)
    with pytest.raises(TypeError, match=r"argument 2 of kernel scale.*exact C type"):
        f(1, 32, (a, a, 5))
    with pytest.raises(RuntimeError, match=r"cuda: no kernel 'nope'"):
        mod.get_function("nope")
    with pytest.raises(RuntimeError, match=r"cuda: failed to compile tests/shim_kernels/broken.cu: "
                                           r"/k/broken.cu\(4\): error"):
        rt.module(kfile("broken.cu"))
