"""Issue #19: complete PyTorch programs run under PyTorch and under minitorch-as-torch.

Each ``tests/programs/*.py`` is a plain script that does ``import torch`` and prints numbers
(losses, accuracies, sampled tokens).  It runs twice, in subprocesses: with the real torch,
and through ``tests/programs/_as_torch.py``, which maps ``torch`` and every ``torch.*``
module to ``minitorch``.  The two stdouts are compared line by line: the text of a line must
be identical; the numbers in it (parsed with a regex) must agree, integers exactly and the
others to a relative tolerance (1e-4 unless the program's header says ``# compare:
rtol=...``).  The programs never print anything drawn from torch's random generator (the
streams differ): data and weights come from formulas or ``numpy.random.default_rng``.
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
RUNNER = os.path.join(PROGRAMS, "_as_torch.py")
ROOT = os.path.dirname(HERE)

_NAMES = sorted(f[:-3] for f in os.listdir(PROGRAMS)
                if f.endswith(".py") and not f.startswith("_"))

_NUM = re.compile(r"([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?\binf\b|\bnan\b)")


def _popen(argv):
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0",
               PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=PROGRAMS)


def _tolerance(path):
    rtol, atol = 1e-4, 1e-6
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"#\s*compare:\s*(.*)", line)
            if m:
                for part in m.group(1).split(","):
                    k, v = part.split("=")
                    if k.strip() == "rtol":
                        rtol = float(v)
                    elif k.strip() == "atol":
                        atol = float(v)
    return rtol, atol


def _split(line):
    parts = _NUM.split(line)
    return parts[0::2], parts[1::2]  # text pieces, numbers


def _form(tok: str):
    """How a number is written: digits after the point, exponent or not (repr parity)."""
    mant = re.split(r"[eE]", tok)[0]
    return (mant.split(".")[1].__len__() if "." in mant else -1, "e" in tok.lower())


def _same_number(a: str, b: str, rtol: float, atol: float) -> bool:
    fa, fb = _form(a), _form(b)
    if fa != fb and not (fa[0] >= 5 and fb[0] >= 5 and fa[1] == fb[1]):
        return False  # a tensor repr's 4 decimals must match; long float reprs may differ
    if not any(c in a + b for c in ".eEni"):  # integers (counts, token ids, steps): exact
        return int(a) == int(b)
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y or abs(x - y) <= atol + rtol * abs(y)


def compare_outputs(got: str, want: str, rtol: float = 1e-4, atol: float = 1e-6):
    """None when equal under the rules above, else a message naming the first difference."""
    g, w = got.splitlines(), want.splitlines()
    for i, (lg, lw) in enumerate(zip(g, w), 1):
        tg, ng = _split(lg)
        tw, nw = _split(lw)
        ok = tg == tw and len(ng) == len(nw) and all(
            _same_number(a, b, rtol, atol) for a, b in zip(ng, nw))
        if not ok:
            return f"line {i} differs:\n  minitorch: {lg}\n  torch:     {lw}"
    if len(g) != len(w):
        return (f"minitorch printed {len(g)} lines, torch {len(w)}; first extra line: "
                f"{(g + w)[min(len(g), len(w))]!r}")
    return None


def test_compare_outputs_rules():
    # a checker that cannot fail is no checker: it must catch each kind of difference
    assert compare_outputs("loss 0.500001\n", "loss 0.500000\n") is None
    assert compare_outputs("loss 0.50000123\n", "loss 0.5000009\n") is None
    assert compare_outputs("loss 0.51\n", "loss 0.5\n") is not None
    assert compare_outputs("step 10 loss 1.0\n", "step 11 loss 1.0\n") is not None
    assert compare_outputs("sample: hello\n", "sample: hellp\n") is not None
    assert compare_outputs("a\nb\n", "a\n") is not None
    assert compare_outputs("x nan\n", "x nan\n") is None
    assert compare_outputs("tensor([1., 2.])\n", "tensor([1.0000, 2.])\n") is not None


@pytest.fixture(scope="module")
def _outputs(tmp_path_factory):
    """Run all programs under each library: one process per library (one import each),
    the two processes side by side."""
    tmp = tmp_path_factory.mktemp("programs")
    paths = [os.path.join(PROGRAMS, n + ".py") for n in _NAMES]
    procs = {}
    for lib, flag in (("torch", ["--real"]), ("minitorch", [])):
        out = str(tmp / f"{lib}.json")
        procs[lib] = (out, _popen([RUNNER, *flag, "--json", out, *paths]))
    results = {}
    for lib, (out, p) in procs.items():
        _, stderr = p.communicate(timeout=600)
        assert p.returncode == 0, f"the {lib} runner failed:\n{stderr[-3000:]}"
        with open(out, encoding="utf-8") as f:
            for path, r in json.load(f).items():
                results[os.path.basename(path)[:-3], lib] = r
    return results


def test_there_are_a_dozen_programs():
    assert len(_NAMES) >= 12, _NAMES


@pytest.mark.parametrize("name", _NAMES)
def test_program_matches_torch(name, _outputs):
    want, got = _outputs[name, "torch"], _outputs[name, "minitorch"]
    assert want["error"] is None, f"{name} fails under PyTorch:\n{want['error'][-3000:]}"
    assert got["error"] is None, f"{name} fails under minitorch:\n{got['error'][-3000:]}"
    assert want["stdout"].strip(), f"{name} printed nothing"
    rtol, atol = _tolerance(os.path.join(PROGRAMS, name + ".py"))
    # the one deliberate difference: dtypes and classes name their library
    # (minitorch.float32, <class 'minitorch.optim.sgd.SGD'>)
    out = re.sub(r"\bminitorch\.", "torch.", got["stdout"])
    diff = compare_outputs(out, want["stdout"], rtol, atol)
    assert diff is None, f"{name}: {diff}"
