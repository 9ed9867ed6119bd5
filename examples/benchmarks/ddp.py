"""DistributedDataParallel: step time on 1 vs N processes, and how much of the gradient
all-reduce hides behind backward.

    python examples/benchmarks/ddp.py                   # 1 and 2 processes
    python examples/benchmarks/ddp.py --nprocs 1 2 --rounds 30 --json ddp.json

Run directly, it starts itself through ``python -m minitorch.distributed.run`` once per
process count (one BLAS thread per process).  Each rank trains an MLP (``--hidden`` wide,
``--layers`` deep, ``--batch`` images per rank: weak scaling, the global batch grows with
the ranks) with SGD, and each round times, interleaved (A B C A B C ...):

* **step**: a DDP training step (forward, backward with the bucketed all-reduce launched
  from the gradient hooks, optimizer step);
* **local**: the same step inside ``no_sync()``: no communication at all;
* **comm**: the all-reduces of the same buckets alone, one after the other (blocking).

``wait`` is the time DDP's end-of-backward callback waited for the buckets
(``ddp.comm_stats["exposed_s"]``); ``hidden = 1 - wait / comm`` (clamped to 0..1) is the
share of the all-reduce that ran behind backward.  ``step - local`` is DDP's whole cost
(waiting, plus copying gradients in and out of the buckets, plus the CPU the transfers
take from compute).  Medians over the rounds; the slowest rank's.  With 1 process there is
no communication (the row is plain training without DDP).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import minitorch as torch  # noqa: E402
from minitorch import nn  # noqa: E402


def make_model(hidden: int, layers: int) -> nn.Module:
    mods = [nn.Linear(256, hidden), nn.ReLU()]
    for _ in range(layers - 1):
        mods += [nn.Linear(hidden, hidden), nn.ReLU()]
    mods.append(nn.Linear(hidden, 10))
    return nn.Sequential(*mods)


def worker(args) -> None:
    import minitorch.distributed as dist
    dist.init_process_group("mpi", timeout=timedelta(seconds=300))
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    model = make_model(args.hidden, args.layers)
    net = (nn.parallel.DistributedDataParallel(model, bucket_cap_mb=args.bucket_cap_mb)
           if world > 1 else model)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    rs = np.random.RandomState(rank)
    x = torch.tensor(rs.standard_normal((args.batch, 256)).astype(np.float32))
    y = torch.tensor(rs.randint(0, 10, args.batch))
    loss_fn = nn.CrossEntropyLoss()

    def step(sync=True):
        opt.zero_grad()
        if sync or world == 1:
            loss_fn(net(x), y).backward()
        else:
            with net.no_sync():
                loss_fn(net(x), y).backward()
        opt.step()

    bufs = [b.buffer.copy() for b in net._buckets] if world > 1 else []

    def comm():
        for b in bufs:
            dist.all_reduce(torch.from_numpy(b))

    def timed(fn, *a):
        if world > 1:
            dist.barrier()
        t0 = time.perf_counter()
        fn(*a)
        return time.perf_counter() - t0

    for _ in range(3):  # warm up
        step()
        if world > 1:
            step(False)
            comm()
    rows = {"step": [], "local": [], "comm": [], "wait": []}
    for _ in range(args.rounds):
        rows["step"].append(timed(step))
        if world > 1:
            rows["wait"].append(net.comm_stats["exposed_s"])
            rows["local"].append(timed(step, False))
            rows["comm"].append(timed(comm))
    med = {k: statistics.median(v) if v else 0.0 for k, v in rows.items()}
    # every rank's medians: the slowest rank sets the pace
    everyone = [None] * world
    if world > 1:
        dist.all_gather_object(everyone, med)
    else:
        everyone = [med]
    if rank == 0:
        res = {k: max(m[k] for m in everyone) for k in med}
        res.update(world=world, batch=args.batch,
                   params=sum(p.numel() for p in model.parameters()),
                   buckets=len(bufs), bucket_mb=[round(b.nbytes / 2 ** 20, 2) for b in bufs])
        Path(args.result).write_text(json.dumps(res))
    if world > 1:
        dist.destroy_process_group()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nprocs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--batch", type=int, default=64, help="images per rank")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--bucket-cap-mb", type=float, default=25.0)
    p.add_argument("--json", default=None)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    results = []
    for n in args.nprocs:
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.json")
            cmd = [sys.executable, "-m", "minitorch.distributed.run", "--nproc-per-node",
                   str(n), __file__, "--worker", "--result", out, "--hidden", str(args.hidden),
                   "--layers", str(args.layers), "--batch", str(args.batch),
                   "--rounds", str(args.rounds), "--bucket-cap-mb", str(args.bucket_cap_mb)]
            env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
                       PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
            subprocess.run(cmd, check=True, env=env, timeout=1200)
            results.append(json.loads(Path(out).read_text()))
    base = results[0]
    print(f"MLP 256-{args.hidden}x{args.layers}-10, {base['params']:,} parameters "
          f"({base['params'] * 4 / 2 ** 20:.1f} MB of float32 gradients), {args.batch} images "
          f"per rank, bucket_cap_mb={args.bucket_cap_mb:g} ({results[-1]['buckets']} buckets), "
          f"median of {args.rounds} rounds")
    print("| processes | step (ms) | no_sync step (ms) | all-reduce alone (ms) | "
          "step - no_sync (ms) | wait after backward (ms) | hidden behind backward | "
          "images/s | scaling |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        ips = r["world"] * r["batch"] / r["step"]
        scale = ips / (base["world"] * base["batch"] / base["step"])
        r.update(images_per_s=ips, scaling=scale)
        if r["world"] == 1:
            print(f"| 1 | {1e3 * r['step']:.1f} | - | - | - | - | - | {ips:,.0f} | 1.00x |")
            continue
        exposed = max(0.0, r["step"] - r["local"])
        # the share of the all-reduce that had finished when backward did
        hidden = min(1.0, max(0.0, 1 - r["wait"] / r["comm"])) if r["comm"] else 0.0
        r.update(exposed=exposed, hidden=hidden)
        print(f"| {r['world']} | {1e3 * r['step']:.1f} | {1e3 * r['local']:.1f} | "
              f"{1e3 * r['comm']:.1f} | {1e3 * exposed:.1f} | {1e3 * r['wait']:.1f} | "
              f"{100 * hidden:.0f}% | {ips:,.0f} | {scale:.2f}x |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
