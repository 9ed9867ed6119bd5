"""Data-parallel training: the digits MLP of digits_mlp.py on 2 processes with DDP.

    python examples/digits_ddp.py                 # 1 process, then 2, and the speed-up
    python examples/digits_ddp.py --nproc 2 --epochs 5
    python -m minitorch.distributed.run --nproc-per-node 2 examples/digits_ddp.py --worker

Run directly, it starts the training twice through ``python -m minitorch.distributed.run``:
on 1 process (the baseline: plain training, global batch 64), then on ``--nproc``.  Each
process builds the same model (``DistributedDataParallel`` broadcasts rank 0's weights), reads
its share of the training set through a ``DistributedSampler`` (``set_epoch`` every epoch:
a new shuffle, the same on every rank) in batches of 64 / nproc, and after every
``backward()`` holds the gradients averaged over all ranks, so ``optimizer.step()`` keeps the
replicas equal.  Every rank prints its loss each epoch; rank 0 scores the test set and
reports the time.  Then this script prints the speed-up over one process.

The digits MLP is tiny (9,610 parameters, batches of 32 per rank): each step is a few
hundred microseconds of compute, so the per-step all-reduce is a large share of it, and on a
machine with two cores shared with other work, two processes may well be *slower* than one.
Data parallelism pays when a step's compute is large next to the gradient bytes it moves;
examples/benchmarks/ddp.py measures the overlap on a bigger MLP.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_mlp import digits_split, evaluate, make_mlp  # noqa: E402

import minitorch as torch  # noqa: E402
from minitorch import nn, optim  # noqa: E402
from minitorch.utils.data import DataLoader, DistributedSampler  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_BATCH = 64


def train(epochs: int, seed: int, rank: int = 0, world: int = 1, ddp: bool = False,
          quiet: bool = False) -> dict:
    """Train the MLP; with ``ddp`` this process is rank ``rank`` of ``world``."""
    torch.manual_seed(seed + rank)   # dropout differs per rank; the weights are broadcast
    train_set, test_set = digits_split((64,), seed)
    model = make_mlp()
    net = nn.parallel.DistributedDataParallel(model) if ddp else model
    sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=seed)
    loader = DataLoader(train_set, batch_size=GLOBAL_BATCH // world, sampler=sampler)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(net.parameters(), lr=3e-3)
    if ddp:
        import minitorch.distributed as dist
        dist.barrier()                 # start the clock together
    start = time.perf_counter()
    losses = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        total, n = 0.0, 0
        for xb, yb in loader:
            loss = loss_fn(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            n += len(yb)
        losses.append(total / n)
        if not quiet:
            print(f"rank {rank}/{world}: epoch {epoch + 1}/{epochs}  loss {losses[-1]:.4f}",
                  flush=True)
    seconds = time.perf_counter() - start
    _, acc = evaluate(model, DataLoader(test_set, batch_size=360), loss_fn)
    return {"losses": losses, "seconds": seconds, "test_acc": acc,
            "steps": epochs * len(loader)}


def worker(args) -> None:
    import minitorch.distributed as dist
    dist.init_process_group("mpi", timeout=timedelta(seconds=120))
    rank, world = dist.get_rank(), dist.get_world_size()
    res = train(args.epochs, args.seed, rank, world, ddp=world > 1)
    everyone = [None] * world
    dist.all_gather_object(everyone, res["losses"][-1])
    if rank == 0:
        print(f"{world} process(es): {res['steps']} steps of {GLOBAL_BATCH // world} images "
              f"per rank in {res['seconds']:.2f} s; test accuracy {100 * res['test_acc']:.1f}%;"
              f" last-epoch loss per rank {[round(x, 4) for x in everyone]}", flush=True)
        if args.result:
            Path(args.result).write_text(json.dumps(res))
    dist.destroy_process_group()


def launch(nproc: int, epochs: int, seed: int) -> dict:
    """Run ``nproc`` ranks of this script through the launcher; rank 0's result."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "result.json")
        cmd = [sys.executable, "-m", "minitorch.distributed.run", "--nproc-per-node",
               str(nproc), __file__, "--worker", "--epochs", str(epochs), "--seed", str(seed),
               "--result", out]
        # one BLAS thread per process (torchrun's default too): N processes use N cores,
        # and the 1-process run is the 1-core baseline
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        subprocess.run(cmd, check=True, env=env, timeout=600)
        return json.loads(Path(out).read_text())


def main(epochs: int = 3, nproc: int = 2, seed: int = 0) -> dict:
    """1 process, then ``nproc``, each through the launcher; returns both results."""
    one = launch(1, epochs, seed)
    many = launch(nproc, epochs, seed)
    speedup = one["seconds"] / many["seconds"]
    print(f"speed-up of {nproc} processes over 1: {speedup:.2f}x (training time of the same "
          f"{epochs} epochs at global batch {GLOBAL_BATCH}; one BLAS thread per process)")
    return {"one": one, "many": many, "speedup": speedup}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--worker", action="store_true",
                   help="be one rank (the launcher starts the script this way)")
    p.add_argument("--result", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        worker(a)
    else:
        main(a.epochs, a.nproc, a.seed)
