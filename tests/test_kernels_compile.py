"""Every kernel file compiles for real GPUs (sm_80, sm_90), with every template instantiation
the backends launch -- without a GPU.

``nvcc -cubin`` (or, without nvcc, NVRTC from the ``cuda-bindings`` and
``nvidia-cuda-nvrtc-cu12`` wheels) compiles each ``kernels/*.cu`` with the name
expressions that ``backends/kernel/layout.all_kernel_instantiations()`` lists; a compile error
fails the test.  The simulator cannot catch what only the CUDA compiler checks (device-only
intrinsics, register limits, ``__launch_bounds__``), so this is the other half of testing
kernels in CI.

ptxas's resource usage (registers, spill bytes, shared memory per kernel) is collected and
printed at the end of the run (pytest's terminal summary):

    pytest tests/test_kernels_compile.py            # table at the end
    MINITORCH_KERNEL_REPORT=out.md pytest ...       # also write it as markdown

``MINITORCH_KERNEL_COMPILER=nvrtc`` uses NVRTC even where nvcc exists.  Results are cached
by the hash of the generated source, its includes, the compiler and the flags (``~/.cache/minitorch/kernel-check``; ``MINITORCH_CACHE`` moves it), so an unchanged
tree re-checks in a second.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from minitorch.backends.kernel.layout import all_kernel_instantiations
from minitorch.backends.runtime.base import KERNELS_DIR, source_hash

ARCHS = ("sm_80", "sm_90")
INSTANTIATIONS = dict(all_kernel_instantiations())
_RESULTS: dict = {}  # (file, arch) -> [(kernel, regs, spill_st, spill_ld, smem, stack)]


def _nvcc():
    p = shutil.which("nvcc")
    if p:
        return p
    p = "/usr/local/cuda/bin/nvcc"
    return p if os.path.isfile(p) else None


def _nvrtc():
    try:
        try:
            from cuda.bindings import nvrtc  # cuda-bindings >= 12.6
        except ImportError:
            from cuda import nvrtc  # older cuda-python
        err, _, _ = nvrtc.nvrtcVersion()
        if int(err) != 0:
            return None
        return nvrtc
    except Exception:
        return None


_FORCE = os.environ.get("MINITORCH_KERNEL_COMPILER", "")  # "nvrtc": skip nvcc (tests the fallback)
NVCC = None if _FORCE == "nvrtc" else _nvcc()
NVRTC = None if NVCC else _nvrtc()
if NVCC is None and NVRTC is None:
    pytestmark = pytest.mark.skip(
        reason="no CUDA compiler: neither nvcc nor NVRTC (pip install cuda-bindings "
               "nvidia-cuda-nvrtc-cu12) is available")


def _cache_dir() -> str:
    root = os.environ.get("MINITORCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                             "minitorch")
    d = os.path.join(root, "kernel-check")
    os.makedirs(d, exist_ok=True)
    return d


def _compiler_id() -> str:
    if NVCC:
        return subprocess.run([NVCC, "--version"], capture_output=True, text=True).stdout
    err, major, minor = NVRTC.nvrtcVersion()
    return f"nvrtc {major}.{minor}"


def _demangle(names):
    if not names:
        return {}
    tool = shutil.which("c++filt")
    if not tool:
        return {n: n for n in names}
    out = subprocess.run([tool], input="\n".join(names), capture_output=True,
                         text=True).stdout.splitlines()
    return dict(zip(names, out)) if len(out) == len(names) else {n: n for n in names}


def parse_ptxas(log: str):
    """ptxas -v / --resource-usage output -> [(kernel, regs, spill stores, spill loads,
    shared bytes, stack bytes)], kernel names demangled."""
    rows, cur = {}, None
    for line in log.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'", line)
        if m:
            cur = m.group(1)
            rows[cur] = [0, 0, 0, 0, 0]
            continue
        if cur is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill "
                      r"loads", line)
        if m:
            rows[cur][4], rows[cur][1], rows[cur][2] = (int(m.group(1)), int(m.group(2)),
                                                        int(m.group(3)))
        m = re.search(r"Used (\d+) registers", line)
        if m:
            rows[cur][0] = int(m.group(1))
            s = re.search(r"(\d+) bytes smem", line)
            rows[cur][3] = int(s.group(1)) if s else 0
    names = _demangle(list(rows))
    return sorted((names[k].split("(")[0] if "(" in names[k] else names[k], *v)
                  for k, v in rows.items())


def _generated_source(filename: str, names) -> str:
    """The kernel file plus one reference per instantiation: taking a template kernel's
    address in host code makes nvcc instantiate (and compile) it for the device."""
    refs = ",\n    ".join(f"(void*)&{n}" for n in names)
    body = f"static void* minitorch_instantiate[] = {{\n    {refs}\n}};\n" if names else ""
    return f'#include "{filename}"\n{body}'


def _compile_nvcc(filename, names, arch, tmp):
    src = os.path.join(tmp, "check_" + filename)
    with open(src, "w") as f:
        f.write(_generated_source(filename, names))
    cmd = [NVCC, "-cubin", f"-arch={arch}", "-std=c++17", "-I", KERNELS_DIR, "--resource-usage",
           "-Xptxas", "-warn-spills", "-diag-suppress", "177", src, "-o",
           os.path.join(tmp, filename + f".{arch}.cubin")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr, " ".join(cmd)


def _compile_nvrtc(filename, names, arch):
    nv = NVRTC
    with open(os.path.join(KERNELS_DIR, filename), "rb") as f:
        src = f.read()
    err, prog = nv.nvrtcCreateProgram(src, filename.encode(), 0, [], [])
    assert int(err) == 0, err
    for n in names:
        (err,) = nv.nvrtcAddNameExpression(prog, n.encode())
    opts = [f"--gpu-architecture={arch}".encode(), b"-std=c++17",
            f"--include-path={KERNELS_DIR}".encode(), b"--ptxas-options=-v"]
    (err,) = nv.nvrtcCompileProgram(prog, len(opts), opts)
    _, size = nv.nvrtcGetProgramLogSize(prog)
    buf = b" " * size
    nv.nvrtcGetProgramLog(prog, buf)
    log = buf.decode(errors="replace").rstrip("\x00")
    ok = int(err) == 0
    if ok:
        _, n = nv.nvrtcGetCUBINSize(prog)
        ok = n > 0
    nv.nvrtcDestroyProgram(prog)
    return (0 if ok else 1), log, f"nvrtc {filename} {' '.join(o.decode() for o in opts)}"


def check(filename: str, arch: str):
    """Compile (or fetch from the cache) one file for one arch: ``(rows, None)`` with the
    usage rows, or ``(None, message)`` if it does not compile."""
    names = tuple(INSTANTIATIONS.get(filename, ()))
    path = os.path.join(KERNELS_DIR, filename)
    key = hashlib.sha256(json.dumps([source_hash(path, (KERNELS_DIR,)), names, arch,
                                     _compiler_id(), "v1"]).encode()).hexdigest()[:32]
    cached = os.path.join(_cache_dir(), key + ".json")
    if os.path.isfile(cached) and not os.environ.get("MINITORCH_NO_KERNEL_CACHE"):
        with open(cached) as f:
            return [tuple(r) for r in json.load(f)], None
    if NVCC:
        with tempfile.TemporaryDirectory() as tmp:
            rc, log, cmd = _compile_nvcc(filename, names, arch, tmp)
    else:
        rc, log, cmd = _compile_nvrtc(filename, names, arch)
    if rc != 0:
        return None, f"kernels/{filename} does not compile for {arch}:\n{log}\n(command: {cmd})"
    rows = parse_ptxas(log)
    with open(cached, "w") as f:
        json.dump(rows, f)
    return rows, None


KERNEL_FILES = sorted(f for f in os.listdir(KERNELS_DIR) if f.endswith(".cu"))


def test_every_kernel_file_is_checked():
    # a new .cu file is compiled even if no backend lists instantiations for it (its
    # extern "C" kernels compile anyway); a listed file that does not exist is a typo
    missing = sorted(set(INSTANTIATIONS) - set(KERNEL_FILES))
    assert not missing, f"instantiations listed for files that do not exist: {missing}"


@pytest.fixture(scope="module")
def compiled(request):
    """Every (file, arch) compiled concurrently (nvcc is single-threaded), once per module;
    the table is registered for the terminal summary."""
    from concurrent.futures import ThreadPoolExecutor
    alone = all(item.module is request.module for item in request.session.items)
    full = alone or request.config.getoption("verbose") > 0
    request.config.pluginmanager.register(_Report(full), "minitorch-kernel-report")
    jobs = [(f, a) for f in KERNEL_FILES for a in ARCHS]
    # biggest files first, so the pool is not left waiting on one long compile at the end
    jobs.sort(key=lambda j: -len(INSTANTIATIONS.get(j[0], ())))
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(jobs, pool.map(lambda j: check(*j), jobs)))


class _Report:
    """Prints the collected resource usage at the end of the run: every kernel when this
    module runs alone (or with -v), else one line per file plus any kernel that spills or
    uses more than 64 registers."""

    def __init__(self, full: bool):
        self.full = full

    def pytest_terminal_summary(self, terminalreporter):
        if not _RESULTS:
            return
        text = usage_table(_RESULTS)
        terminalreporter.write_sep("=", "kernel resource usage (ptxas)")
        terminalreporter.write_line(text if self.full else summary(_RESULTS))
        out = os.environ.get("MINITORCH_KERNEL_REPORT")
        if out:
            with open(out, "w") as f:
                f.write(text + "\n")


def summary(results) -> str:
    lines = []
    for (fname, arch), rows in sorted(results.items()):
        lines.append(f"{fname} [{arch}]: {len(rows)} kernels, max "
                     f"{max((r[1] for r in rows), default=0)} registers, "
                     f"{sum(r[2] + r[3] for r in rows)} spill bytes")
        for name, regs, sst, sld, smem, _ in rows:
            if sst or sld or regs > 64:
                lines.append(f"    {name}: {regs} registers, spill {sst}+{sld} B, smem {smem} B")
    return "\n".join(lines)


def usage_table(results) -> str:
    """Markdown: one row per kernel instantiation, columns per arch."""
    by_kernel: dict = {}
    for (fname, arch), rows in results.items():
        for name, regs, sst, sld, smem, stack in rows:
            by_kernel.setdefault((fname, name), {})[arch] = (regs, sst, sld, smem)
    lines = ["| file | kernel | " + " | ".join(f"{a} regs / spill st+ld B / smem B"
                                               for a in ARCHS) + " |",
             "|---|---|" + "---|" * len(ARCHS)]
    for (fname, name), per in sorted(by_kernel.items()):
        cells = []
        for a in ARCHS:
            v = per.get(a)
            cells.append("-" if v is None else f"{v[0]} / {v[1]}+{v[2]} / {v[3]}")
        lines.append(f"| {fname} | `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("filename", KERNEL_FILES)
def test_kernel_file_compiles(filename, arch, compiled):
    rows, error = compiled[(filename, arch)]
    if error:
        pytest.fail(error, pytrace=False)
    _RESULTS[(filename, arch)] = rows
    names = INSTANTIATIONS.get(filename, ())
    # every requested instantiation really became a kernel
    assert len(rows) >= len(names), (
        f"{filename} {arch}: {len(names)} instantiations requested, {len(rows)} kernels built")
    print(f"\n{filename} [{arch}]: {len(rows)} kernels, max {max((r[1] for r in rows), default=0)} "
          f"registers, {sum(r[2] + r[3] for r in rows)} spill bytes")
