"""The in-process parts of issue #15: Tensor.register_post_accumulate_grad_hook and the
engine's queued callbacks (what DDP's buckets hang on), DistributedSampler's partitioning
(against torch's), and the errors of minitorch.distributed before init_process_group.
No MPI here: tests/test_distributed.py starts the processes."""
from __future__ import annotations

import math

import numpy as np
import pytest

import minitorch
from minitorch.autograd.engine import queue_callback
from minitorch.utils.data import DistributedSampler


# -- register_post_accumulate_grad_hook -------------------------------------------------------
def _hook_trace(m, device):
    kw = {} if m is not minitorch else {"device": device}
    a = m.tensor([1.0, 2.0, 3.0], requires_grad=True, **kw)
    seen = []
    h = a.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (a * 3).sum().backward()
    (a * a).sum().backward()      # accumulates: the hook sees the sum
    h.remove()
    (a * 3).sum().backward()      # removed: not called
    return seen, a.grad.tolist()


def test_post_accumulate_grad_hook_matches_torch(device):
    torch = pytest.importorskip("torch")
    assert _hook_trace(minitorch, device) == _hook_trace(torch, device)


def test_post_accumulate_grad_hook_sees_used_twice_once(device):
    a = minitorch.tensor([1.0, 2.0], requires_grad=True, device=device)
    calls = []
    a.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.tolist()))
    (a * 2 + a * a).sum().backward()  # two paths into one leaf: one accumulation
    assert calls == [[4.0, 6.0]]


def test_post_accumulate_grad_hook_errors():
    torch = pytest.importorskip("torch")
    for m in (minitorch, torch):
        a = m.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be "
                                               "registered on non-leaf tensors"):
            (a * 2).register_post_accumulate_grad_hook(lambda t: None)
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that "
                                               "doesn't require gradient"):
            m.ones(2).register_post_accumulate_grad_hook(lambda t: None)


def test_queue_callback_runs_once_after_backward(device):
    a = minitorch.tensor([1.0, 2.0], requires_grad=True, device=device)
    b = minitorch.tensor([3.0], requires_grad=True, device=device)
    order = []

    def on_a(t):
        order.append("a")
        queue_callback(lambda: order.append(("end", a.grad.tolist(), b.grad.tolist())))
    a.register_post_accumulate_grad_hook(on_a)
    b.register_post_accumulate_grad_hook(lambda t: order.append("b"))
    ((a * b).sum()).backward()
    assert order[-1] == ("end", [3.0, 3.0], [3.0]) and sorted(order[:2]) == ["a", "b"]
    ((a * b).sum()).backward()  # callbacks do not leak into the next pass
    assert len([o for o in order if isinstance(o, tuple)]) == 2


def test_queue_callback_outside_backward():
    with pytest.raises(RuntimeError, match="Final callbacks can only be installed during "
                                           "backward pass"):
        queue_callback(lambda: None)


# -- DistributedSampler --------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 5, 10, 11])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_unshuffled_matches_torch(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchDS
    if n == 0 and not drop_last:
        return  # torch divides by zero padding an empty dataset; nothing to compare
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchDS(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (8, 2, False),
                                                  (3, 5, False)])
def test_distributed_sampler_shuffled_partition(n, replicas, drop_last):
    """Every rank draws the same permutation (seed + epoch) and takes its stride of it:
    PyTorch's rules on minitorch's generator."""
    for epoch in (0, 1):
        perm = minitorch.randperm(n, generator=minitorch.Generator().manual_seed(7 + epoch))
        perm = perm.tolist()
        if drop_last:
            total = (n // replicas) * replicas
            padded = perm[:total]
        else:
            total = math.ceil(n / replicas) * replicas
            padded = (perm * math.ceil(total / n))[:total]
        parts = []
        for rank in range(replicas):
            s = DistributedSampler(list(range(n)), replicas, rank, shuffle=True, seed=7,
                                   drop_last=drop_last)
            s.set_epoch(epoch)
            parts.append(list(s))
            assert parts[-1] == padded[rank::replicas]
            assert list(s) == parts[-1]  # the same epoch: the same order
        assert sorted(i for p in parts for i in p) == sorted(padded)
    s = DistributedSampler(list(range(50)), 2, 0, seed=1)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first  # a new epoch, a new order


def test_distributed_sampler_errors():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchDS
    for cls in (DistributedSampler, TorchDS):
        with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval "
                                             r"\[0, 1\]"):
            cls(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedSampler(range(4))


def test_distributed_sampler_in_dataloader():
    from minitorch.utils.data import DataLoader, TensorDataset
    ds = TensorDataset(minitorch.arange(10))
    seen = []
    for rank in range(2):
        dl = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 2, rank,
                                                                     shuffle=False))
        seen.append([x.tolist() for (x,) in dl])
    assert seen == [[[0, 2], [4, 6], [8]], [[1, 3], [5, 7], [9]]]


# -- before init_process_group -------------------------------------------------------------
def test_uninitialized_errors_match_torch():
    torch = pytest.importorskip("torch")
    import torch.distributed as tdist

    import minitorch.distributed as dist
    assert dist.is_available() and not dist.is_initialized()
    for mod in (dist, tdist):
        with pytest.raises(ValueError, match="Default process group has not been "
                                             "initialized, please make sure to call "
                                             "init_process_group"):
            mod.get_rank()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(minitorch.ones(2))
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        minitorch.nn.parallel.DistributedDataParallel(minitorch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="Invalid backend: 'gloo'"):
        dist.init_process_group("gloo")
    with pytest.raises(TypeError, match="Expected timeout argument to be of type "
                                        "datetime.timedelta"):
        dist.init_process_group("mpi", timeout=5)
    assert not dist.is_initialized()


def test_names_like_torch():
    torch = pytest.importorskip("torch")
    import torch.distributed as tdist

    import minitorch.distributed as dist
    for name in ("init_process_group", "destroy_process_group", "get_rank", "get_world_size",
                 "is_initialized", "all_reduce", "broadcast", "all_gather", "reduce_scatter",
                 "barrier", "all_gather_into_tensor", "reduce_scatter_tensor",
                 "all_gather_object", "ReduceOp", "is_mpi_available", "is_nccl_available"):
        assert hasattr(dist, name) and hasattr(tdist, name), name
    for op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX"):
        assert getattr(dist.ReduceOp, op).name == getattr(tdist.ReduceOp, op).name
    assert minitorch.distributed is dist
    assert minitorch.nn.parallel.DistributedDataParallel.__name__ == \
        torch.nn.parallel.DistributedDataParallel.__name__
    assert minitorch.utils.data.DistributedSampler is DistributedSampler
    assert np.isclose(dist.default_pg_timeout.total_seconds(), 1800)


def test_nccl_without_cupy_is_a_clear_error():
    try:
        from cupy.cuda import nccl  # noqa: F401
        pytest.skip("CuPy with NCCL is installed")
    except Exception:  # noqa: BLE001 - the case under test
        pass
    import minitorch.distributed as dist
    assert not dist.is_nccl_available()
    with pytest.raises(RuntimeError, match="the 'nccl' backend needs CuPy with NCCL"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def test_signatures_like_torch():
    """Every parameter of PyTorch's public signature is accepted, in the same order."""
    torch = pytest.importorskip("torch")
    import inspect

    import torch.distributed as tdist

    import minitorch.distributed as dist
    pairs = [(torch.nn.parallel.DistributedDataParallel.__init__,
              minitorch.nn.parallel.DistributedDataParallel.__init__),
             (torch.utils.data.DistributedSampler.__init__, DistributedSampler.__init__)]
    pairs += [(getattr(tdist, n), getattr(dist, n)) for n in (
        "all_reduce", "broadcast", "all_gather", "reduce_scatter", "barrier",
        "all_gather_into_tensor", "reduce_scatter_tensor", "all_gather_object",
        "destroy_process_group", "get_rank", "get_world_size")]
    for theirs, ours in pairs:
        t = [p for p in inspect.signature(theirs).parameters if not p.startswith("_")]
        assert list(inspect.signature(ours).parameters) == t, theirs.__qualname__
    t = [p for p in inspect.signature(tdist.init_process_group).parameters
         if not p.startswith("_")]
    assert list(inspect.signature(dist.init_process_group).parameters) == t
