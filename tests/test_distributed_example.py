"""examples/digits_ddp.py in a short mode: 2 processes, 2 epochs; every rank prints its
loss, the loss falls, rank 0 scores the test set.  Skipped without mpi4py/mpiexec."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mpi4py")
from minitorch.distributed.run import find_mpiexec  # noqa: E402

if find_mpiexec() is None:
    pytest.skip("no mpiexec (pip install mpich)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]


def test_digits_ddp_two_processes(tmp_path):
    out = tmp_path / "r.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(k, None)
    p = subprocess.run([sys.executable, "-m", "minitorch.distributed.run", "--nproc-per-node",
                        "2", str(ROOT / "examples" / "digits_ddp.py"), "--worker", "--epochs",
                        "2", "--result", str(out)], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    for r in range(2):
        losses = [float(x) for x in re.findall(rf"rank {r}/2: epoch \d/2  loss ([0-9.]+)",
                                                p.stdout)]
        assert len(losses) == 2 and losses[1] < losses[0], p.stdout
    res = json.loads(out.read_text())
    assert res["steps"] == 2 * 23  # 1437 images, 719 per rank, batches of 32
    assert res["test_acc"] > 0.8
    assert "2 process(es): 46 steps of 32 images per rank" in p.stdout
