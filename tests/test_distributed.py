"""minitorch.distributed on MPI, DistributedDataParallel and the launcher, on 2 processes.

Two launches do most of the work (each child runs under a subprocess timeout, so nothing
here can hang): tests/distributed_scripts/worker.py (collectives, DDP, no_sync,
find_unused_parameters, a mismatched collective) through ``python -m
minitorch.distributed.run``, and tests/distributed_scripts/faults.py three times at once
(a rank that raises, is killed, exits early).  The tests compare what the ranks wrote with
NumPy and with single-process training in this process.  Skipped without mpi4py/mpiexec.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minitorch as torch
from minitorch import nn

pytest.importorskip("mpi4py")
from minitorch.distributed.run import find_mpiexec  # noqa: E402

if find_mpiexec() is None:
    pytest.skip("no mpiexec (pip install mpich)", allow_module_level=True)

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "distributed_scripts"
ROOT = HERE.parent
LAUNCH = [sys.executable, "-m", "minitorch.distributed.run", "--nproc-per-node", "2"]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        env.pop(k, None)
    return env


@pytest.fixture(scope="module")
def faults():
    """The three fault runs, started together (they mostly wait)."""
    procs = {m: subprocess.Popen(LAUNCH + [str(SCRIPTS / "faults.py"), m], cwd=ROOT,
                                 env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True) for m in ("raise", "kill", "exit")}
    out = {}
    for m, p in procs.items():
        try:
            text, _ = p.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            p.kill()
            text, _ = p.communicate()
            pytest.fail(f"fault run {m!r} hung:\n{text}")
        out[m] = (p.returncode, text)
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory, faults):
    d = tmp_path_factory.mktemp("dist")
    p = subprocess.run(LAUNCH + [str(SCRIPTS / "worker.py"), str(d)], cwd=ROOT, env=_env(),
                       capture_output=True, text=True, timeout=150)
    assert p.returncode == 0, p.stdout + p.stderr
    res = {r: json.loads((d / f"rank{r}.json").read_text()) for r in range(2)}
    return res, d


def data(seed, shape):
    return np.random.RandomState(seed).standard_normal(shape).astype(np.float32)


# -- launcher -------------------------------------------------------------------------------
def test_launcher_sets_env(run):
    res, _ = run
    for r in range(2):
        env = res[r]["env"]
        assert env["RANK"] == str(r) and env["LOCAL_RANK"] == str(r)
        assert env["WORLD_SIZE"] == "2" and env["LOCAL_WORLD_SIZE"] == "2"
        assert env["MASTER_ADDR"] == "127.0.0.1" and env["MASTER_PORT"] == "29500"
        assert res[r]["rank"] == r and res[r]["world"] == 2
        assert res[r]["initialized"] and res[r]["backend"] == "mpi"


def test_launcher_multi_node_command(capsys):
    from minitorch.distributed import run as launcher
    rc = launcher.main(["--nproc-per-node", "3", "--nnodes", "2", "--hosts", "a,b",
                        "--dry-run", "train.py", "--lr", "1"])
    assert rc == 0
    cmd = capsys.readouterr().out.split()
    assert cmd[cmd.index("-n") + 1] == "6"
    if "-ppn" in cmd:  # MPICH's hydra
        assert cmd[cmd.index("-hosts") + 1] == "a,b" and cmd[cmd.index("-ppn") + 1] == "3"
        assert "-disable-auto-cleanup" in cmd
    assert cmd[-3:] == ["train.py", "--lr", "1"]
    assert "minitorch.distributed._bootstrap" in cmd


def test_launcher_needs_hosts_for_nnodes(capsys):
    from minitorch.distributed import run as launcher
    with pytest.raises(SystemExit):
        launcher.main(["--nnodes", "2", "x.py"])
    assert "--hosts or --hostfile" in capsys.readouterr().err


def test_bootstrap_env_from_openmpi_variables():
    from minitorch.distributed._bootstrap import set_env
    env = {"OMPI_COMM_WORLD_RANK": "5", "OMPI_COMM_WORLD_SIZE": "8",
           "OMPI_COMM_WORLD_LOCAL_RANK": "1", "OMPI_COMM_WORLD_LOCAL_SIZE": "4"}
    set_env(env)
    assert (env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"], env["LOCAL_WORLD_SIZE"],
            env["GROUP_RANK"]) == ("5", "8", "1", "4", "1")


# -- collectives ----------------------------------------------------------------------------
def test_collectives_match_numpy(run):
    res, _ = run
    a = [data(100 + r, (3, 4)).astype(np.float64) for r in range(2)]
    want = {"SUM": a[0] + a[1], "AVG": (a[0] + a[1]) / 2, "MAX": np.maximum(*a),
            "MIN": np.minimum(*a), "PRODUCT": a[0] * a[1]}
    for r in range(2):
        c = res[r]["coll"]
        for op, w in want.items():
            np.testing.assert_allclose(c["all_reduce_" + op], w, rtol=1e-6, err_msg=op)
        assert c["all_reduce_int64"] == (np.arange(6) * 3).tolist()
        np.testing.assert_array_equal(c["broadcast_src1"], data(101, (5,)))
        np.testing.assert_array_equal(c["all_gather"], [data(100 + q, (2, 3)) for q in range(2)])
        np.testing.assert_allclose(c["reduce_scatter"],
                                   data(200 + r, (2, 2)) + data(210 + r, (2, 2)), rtol=1e-6)
        assert c["all_gather_into_tensor"] == [0, 0, 0, 1, 1, 1]
        assert c["async_wait"] is True
        assert c["all_gather_object"] == [{"rank": 0}, {"rank": 1}]
        view = data(100 + r, (4, 4)).astype(np.float64)
        view[:, 1] = data(100, (4, 4))[:, 1] + data(101, (4, 4))[:, 1]
        np.testing.assert_allclose(c["all_reduce_view"], view, rtol=1e-6)
        np.testing.assert_allclose(res[r]["cudasim_avg"], want["AVG"], rtol=1e-6)
        assert res[r]["cudasim_device"].startswith("cudasim")


def test_mismatched_collective_is_reported_on_every_rank(run):
    res, _ = run
    for r in range(2):
        msg = res[r]["mismatch_error"]
        assert msg.startswith("RuntimeError: Detected mismatch between collectives on ranks.")
        assert "Rank 0 is running collective" in msg and "but Rank 1 is running" in msg
        assert "TensorShape=[3]" in msg and "TensorShape=[5]" in msg
        assert "OpType=ALLREDUCE" in msg and "TensorDtypes=float32" in msg
        assert "cannot be used after an earlier collective failed" in res[r]["after_error"]


# -- faults ---------------------------------------------------------------------------------
def _rank0_error(text):
    m = re.search(r"RANK0-ERROR after ([0-9.]+)s: (.*)", text)
    assert m is not None and "RANK0-NO-ERROR" not in text, text
    return float(m.group(1)), m.group(2)


def test_rank_that_raises(faults):
    rc, text = faults["raise"]
    assert rc != 0
    secs, msg = _rank0_error(text)
    assert msg.startswith("DistBackendError: [Rank 0] collective all_reduce")
    assert "rank 1 exited with an error: ValueError: boom on rank 1" in msg
    assert secs < 3.0  # the notice arrives at once: no need to wait for the timeout
    assert "ValueError: boom on rank 1" in text  # rank 1's own traceback
    assert "rank 1: exit with ValueError: boom on rank 1" in text  # the launcher's summary


def test_killed_rank_is_named(faults):
    rc, text = faults["kill"]
    assert rc != 0
    # the launcher always says what became of each rank
    assert "minitorch.distributed.run: the job failed" in text
    assert "rank 1: died without exiting" in text
    if "RANK0-ERROR" in text:
        secs, msg = _rank0_error(text)
        assert "rank(s) [1] did not join it" in msg
        # hydra's SIGUSR1 ends the wait after a 1 s grace; else the 3 s timeout does
        assert ("the MPI launcher reported that a process of this job died" in msg
                or ("timed out after" in msg and "(timeout=3 s)" in msg))
        assert secs < 10
        # (MPI may still kill rank 0 after it has reported)
        assert "rank 0: exit status 3" in text or "rank 0: died without exiting" in text
    else:
        # MPICH sometimes aborts the whole job when a peer dies (before rank 0 can
        # report): then the launcher's summary is the error
        assert "rank 0: died without exiting" in text


def test_rank_that_exits_early(faults):
    rc, text = faults["exit"]
    assert rc != 0
    secs, msg = _rank0_error(text)
    assert "rank 1 left the process group" in msg
    assert secs < 3.0


# -- DDP ------------------------------------------------------------------------------------
def make_model(seed):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4))
    m.register_buffer("scale", torch.full((4,), float(seed)))
    return m


def single_process(steps, opt_cls="SGD", device="cpu"):
    """The reference: one process, the concatenated batch (both ranks' halves)."""
    X, Y = data(1, (20, 16, 8)), data(2, (20, 16, 4))
    model = make_model(0).to(device)
    opt = (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if opt_cls == "SGD"
           else torch.optim.Adam(model.parameters(), lr=1e-2))
    for s in range(steps):
        opt.zero_grad()
        loss = ((model(torch.tensor(X[s], device=device))
                 - torch.tensor(Y[s], device=device)) ** 2).mean()
        loss.backward()
        opt.step()
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def _check_against(d, name, ref, atol=1e-6):
    got = [dict(np.load(d / f"{name}_rank{r}.npz")) for r in range(2)]
    assert set(got[0]) == set(ref)
    for k in ref:
        np.testing.assert_array_equal(got[0][k], got[1][k], err_msg=f"ranks differ on {k}")
        np.testing.assert_allclose(got[0][k], ref[k], rtol=0, atol=atol, err_msg=k)


def test_ddp_20_steps_equal_single_process(run):
    _, d = run
    _check_against(d, "ddp", single_process(20))  # rank 1 started from other weights


def test_ddp_small_buckets_adam(run):
    res, d = run
    _check_against(d, "ddp_small", single_process(20, "Adam"))
    assert res[0]["buckets_default"] == [212]
    sizes = res[0]["buckets_small"]
    assert len(sizes) > 1 and sum(sizes) == 212
    # reverse order, a bucket closes once it reaches the cap (0.0002 MB = 209 bytes):
    # [2.bias + 2.weight] = 4 + 64 elements, then [0.bias + 0.weight] = 16 + 128
    assert sizes == [68, 144]
    assert res[0]["small_stats_last"] == {"n_launch": len(sizes), "buckets": len(sizes)}
    assert res[0]["launched_before_end"] and res[1]["launched_before_end"]


def test_ddp_forward_without_grad_and_backward_twice(run):
    res, _ = run
    for r in range(2):
        assert res[r]["after_no_grad_ok"]
        # as in PyTorch (checked with gloo): the first backward finished the reduction, so
        # the second only accumulates locally, without an error
        assert res[r]["twice_error"] is None


def test_no_sync_accumulation_equals_large_batch(run):
    _, d = run
    _check_against(d, "nosync", single_process(5))


def test_ddp_on_cudasim(run):
    _, d = run
    X, Y = data(1, (20, 16, 8)), data(2, (20, 16, 4))
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4)).to("cudasim")
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    for s in range(3):
        opt.zero_grad()
        ((m(torch.tensor(X[s], device="cudasim"))
          - torch.tensor(Y[s], device="cudasim")) ** 2).mean().backward()
        opt.step()
    _check_against(d, "cudasim", {k: v.detach().cpu().numpy() for k, v in
                                  m.state_dict().items()})


def test_ddp_state_dict_and_module(run):
    res, _ = run
    assert res[0]["module_is_model"]
    assert res[0]["state_dict_keys"] == ["module.scale", "module.0.weight", "module.0.bias",
                                         "module.2.weight", "module.2.bias"]


def test_unused_parameter_without_find_unused_raises(run):
    res, _ = run
    for r in range(2):
        msg = res[r]["unused_error"]
        assert msg.startswith("Expected to have finished reduction in the prior iteration "
                              "before starting a new one.")
        assert "find_unused_parameters=True" in msg
        assert f"Parameter indices which did not receive grad for rank {r}: 4 5" in msg
        assert "never.weight, never.bias" in msg


def test_find_unused_parameters(run):
    res, _ = run
    xs = [data(300 + r, (4, 3)).astype(np.float64) for r in range(2)]
    # d/dW of sum(x W^T + b): every row of W gets x.sum(0); b gets the batch size
    a_w = np.tile((xs[0].sum(0) + xs[1].sum(0)) / 2, (2, 1))
    b_w = np.tile(xs[0].sum(0) / 2, (2, 1))  # used on rank 0 only: rank 1 adds zeros
    for r in range(2):
        g = res[r]["fu_grads"]
        np.testing.assert_allclose(g["a.weight"], a_w, rtol=1e-5)
        np.testing.assert_allclose(g["a.bias"], [4.0, 4.0])
        np.testing.assert_allclose(g["b.weight"], b_w, rtol=1e-5)
        np.testing.assert_allclose(g["b.bias"], [2.0, 2.0])
        assert g["never.weight"] is None and g["never.bias"] is None  # unused everywhere
