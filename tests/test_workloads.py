"""examples/benchmarks/workloads.py (issue #12's eager table): every workload builds on
minitorch and PyTorch at tiny sizes, the first losses agree (the script asserts it) and a
couple of timed steps run.  No timing is asserted."""
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples" / "benchmarks"))
import workloads  # noqa: E402
from _workloads import EAGER_NAMES, NAMES, build  # noqa: E402


def test_workloads_quick_runs_every_workload(capsys):
    r = workloads.run(["--quick", "--rounds", "1", "--steps", "1", "--warmup", "0"])
    assert set(r) == set(EAGER_NAMES) | {"geomean"}
    assert all(v > 0 for v in r.values())
    out = capsys.readouterr().out
    assert "geomean ratio" in out and "gpt_sdpa" in out


def test_workloads_only_selects_and_rejects_unknown(capsys):
    r = workloads.run(["--quick", "--only", "cnn", "--rounds", "1", "--steps", "1"])
    assert set(r) == {"cnn", "geomean"}
    with pytest.raises(SystemExit, match="unknown workload 'nope'"):
        workloads.run(["--quick", "--only", "nope"])


def test_compile_variant_api_kept():
    import minitorch
    assert NAMES == ("mlp", "cnn", "lstm", "gpt")
    w = build("cnn", minitorch, quick=True)          # compile.py's CNN keeps its BatchNorm
    assert any(type(mod).__name__ == "BatchNorm2d" for mod in w.model.modules())
    with pytest.raises(ValueError, match="unknown workload"):
        build("gpt_sdpa", minitorch, quick=True)     # eager-only name
