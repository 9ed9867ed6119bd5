"""Run by tests/test_distributed.py on 2 processes (through minitorch.distributed.run):
collectives, DDP training, no_sync, find_unused_parameters and a mismatched collective.
Each rank writes what it saw to OUTDIR/rank<r>.json and its parameters to .npz files; the
test compares them with NumPy and with single-process training in the test process."""
import json
import os
import sys
from datetime import timedelta

import numpy as np

import minitorch as torch
import minitorch.distributed as dist
from minitorch import nn

out_dir = sys.argv[1]
res = {"env": {k: os.environ.get(k) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK",
                                               "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                                               "MASTER_PORT")}}
dist.init_process_group("mpi", timeout=timedelta(seconds=20))
rank, world = dist.get_rank(), dist.get_world_size()
res["rank"], res["world"] = rank, world
res["initialized"] = dist.is_initialized()
res["backend"] = dist.get_backend()


def data(seed, shape):  # the same on every rank, and in the test process
    return np.random.RandomState(seed).standard_normal(shape).astype(np.float32)


# -- collectives: each rank contributes data(100 + rank) ----------------------------------
coll = {}
for opname in ("SUM", "AVG", "MAX", "MIN", "PRODUCT"):
    t = torch.tensor(data(100 + rank, (3, 4)))
    dist.all_reduce(t, op=getattr(dist.ReduceOp, opname))
    coll["all_reduce_" + opname] = t.tolist()
ti = torch.tensor((np.arange(6) * (rank + 1)).astype(np.int64))
dist.all_reduce(ti)
coll["all_reduce_int64"] = ti.tolist()
t = torch.tensor(data(100 + rank, (5,)))
dist.broadcast(t, src=1)
coll["broadcast_src1"] = t.tolist()
outs = [torch.zeros(2, 3) for _ in range(world)]
dist.all_gather(outs, torch.tensor(data(100 + rank, (2, 3))))
coll["all_gather"] = [o.tolist() for o in outs]
o = torch.zeros(2, 2)
dist.reduce_scatter(o, [torch.tensor(data(200 + 10 * rank + i, (2, 2))) for i in range(world)])
coll["reduce_scatter"] = o.tolist()
big = torch.zeros(world * 3)
dist.all_gather_into_tensor(big, torch.full((3,), float(rank)))
coll["all_gather_into_tensor"] = big.tolist()
w = dist.all_reduce(torch.ones(4), async_op=True)
coll["async_wait"] = bool(w.wait())
dist.barrier()
objs = [None] * world
dist.all_gather_object(objs, {"rank": rank})
coll["all_gather_object"] = objs
# a view that is not contiguous is reduced through a copy and written back
base = torch.tensor(data(100 + rank, (4, 4)))
dist.all_reduce(base[:, 1])
coll["all_reduce_view"] = base.tolist()
res["coll"] = coll


# -- DDP ----------------------------------------------------------------------------------
def make_model(seed):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4))
    m.register_buffer("scale", torch.full((4,), float(seed)))
    return m


X, Y = data(1, (20, 16, 8)), data(2, (20, 16, 4))  # 20 steps, global batch 16
half = 16 // world


def train(cap_mb, n_micro=1, steps=20, opt_cls="SGD"):
    model = make_model(0 if rank == 0 else 123)  # DDP must broadcast rank 0's weights
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=cap_mb)
    opt = (torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9) if opt_cls == "SGD"
           else torch.optim.Adam(ddp.parameters(), lr=1e-2))
    stats = []
    for s in range(steps):
        x = torch.tensor(X[s, rank * half:(rank + 1) * half])
        y = torch.tensor(Y[s, rank * half:(rank + 1) * half])
        opt.zero_grad()
        xs, ys = x.chunk(n_micro), y.chunk(n_micro)
        for k in range(n_micro):
            ctx = ddp.no_sync() if k < n_micro - 1 else _null()
            with ctx:
                loss = ((ddp(xs[k]) - ys[k]) ** 2).mean() / n_micro
                loss.backward()
        stats.append(dict(ddp.comm_stats))
        opt.step()
    return ddp, model, stats


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


ddp, model, stats = train(25)
np.savez(os.path.join(out_dir, f"ddp_rank{rank}.npz"),
         **{k: v.detach().numpy() for k, v in model.state_dict().items()})
res["state_dict_keys"] = list(ddp.state_dict().keys())
res["module_is_model"] = ddp.module is model
res["buckets_default"] = ddp.bucket_sizes
ddp2, model2, stats2 = train(0.0002, opt_cls="Adam")  # 0.0002 MB: several buckets
np.savez(os.path.join(out_dir, f"ddp_small_rank{rank}.npz"),
         **{k: v.detach().numpy() for k, v in model2.state_dict().items()})
res["buckets_small"] = ddp2.bucket_sizes
res["small_stats_last"] = {"n_launch": len(stats2[-1]["launch"]),
                           "buckets": stats2[-1]["buckets"]}
# launched from the hooks during backward, before the end-of-backward callback
res["launched_before_end"] = all(t < st["finalize_start"] for st in stats2
                                 for t in st["launch"])
# forward under no_grad (evaluation) does not expect a backward; training goes on after it
x0, y0 = torch.tensor(X[0, :half]), torch.tensor(Y[0, :half])
with torch.no_grad():
    ddp2(x0)
((ddp2(x0) - y0) ** 2).mean().backward()
res["after_no_grad_ok"] = True
# backward twice per forward: PyTorch's error
loss = ((ddp2(x0) - y0) ** 2).mean()
loss.backward(retain_graph=True)
try:
    loss.backward()
    res["twice_error"] = None
except RuntimeError as e:
    res["twice_error"] = str(e)
ddp3, model3, _ = train(25, n_micro=2, steps=5)
np.savez(os.path.join(out_dir, f"nosync_rank{rank}.npz"),
         **{k: v.detach().numpy() for k, v in model3.state_dict().items()})


# -- find_unused_parameters ---------------------------------------------------------------
class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(3, 2)       # used on rank 0 only
        self.never = nn.Linear(3, 2)   # used on no rank

    def forward(self, x, use_b):
        return self.a(x) + (self.b(x) if use_b else 0)


xs = torch.tensor(data(300 + rank, (4, 3)))
m = TwoHeads()
d = nn.parallel.DistributedDataParallel(m)
d(xs, True).sum().backward()        # every parameter but `never`... which gets no gradient
try:
    d(xs, True)
    res["unused_error"] = None
except RuntimeError as e:
    res["unused_error"] = str(e)
m = TwoHeads()
d = nn.parallel.DistributedDataParallel(m, find_unused_parameters=True)
for _ in range(2):
    m.zero_grad()
    d(xs, rank == 0).sum().backward()
res["fu_grads"] = {n: (None if p.grad is None else p.grad.tolist())
                   for n, p in m.named_parameters()}

# -- cudasim tensors: staged through host memory ------------------------------------------
t = torch.tensor(data(100 + rank, (3, 4)), device="cudasim")
dist.all_reduce(t, op=dist.ReduceOp.AVG)
res["cudasim_avg"] = t.cpu().tolist()
res["cudasim_device"] = str(t.device)
torch.manual_seed(0 if rank == 0 else 9)
mc = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4)).to("cudasim")
dc = nn.parallel.DistributedDataParallel(mc)
oc = torch.optim.SGD(dc.parameters(), lr=0.1)
for s_ in range(3):
    xc = torch.tensor(X[s_, rank * half:(rank + 1) * half], device="cudasim")
    yc = torch.tensor(Y[s_, rank * half:(rank + 1) * half], device="cudasim")
    oc.zero_grad()
    ((dc(xc) - yc) ** 2).mean().backward()
    oc.step()
np.savez(os.path.join(out_dir, f"cudasim_rank{rank}.npz"),
         **{k: v.detach().cpu().numpy() for k, v in mc.state_dict().items()})

# -- a mismatched collective (last: the group is unusable afterwards) -----------------------
try:
    dist.all_reduce(torch.zeros(3 if rank == 0 else 5))
    res["mismatch_error"] = None
except RuntimeError as e:
    res["mismatch_error"] = f"{type(e).__name__}: {e}"
try:
    dist.all_reduce(torch.zeros(2))
    res["after_error"] = None
except RuntimeError as e:
    res["after_error"] = str(e)

with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
    json.dump(res, f)
