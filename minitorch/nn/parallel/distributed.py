"""``DistributedDataParallel``: the same model on every rank, gradients averaged across ranks.

What happens, as in PyTorch's DDP (torch/nn/parallel/distributed.py + the C++ Reducer):

1. **Construction.**  Every rank checks that all ranks hold the same parameter shapes, then
   rank 0's parameters and buffers are broadcast, so every replica starts equal.
2. **Buckets.**  The parameters that require grad are grouped, in *reverse* order (the order
   backward produces their gradients, roughly), into buckets of at most ``bucket_cap_mb``
   (25 MB; the first bucket 1 MB so communication starts early), one dtype/device each.
3. **Backward.**  A ``register_post_accumulate_grad_hook`` on every parameter marks it ready
   once its ``.grad`` is accumulated.  When every parameter of a bucket is ready (and every
   earlier bucket has been launched, so all ranks start collectives in one order), its
   gradients are copied into the bucket's flat buffer, divided by the world size and an
   all-reduce (SUM) is *started*, nonblocking: the rest of backward runs while it travels.
   When the last bucket is launched, a callback is queued on the autograd engine; at the end
   of ``backward()`` it waits for every bucket and writes the averaged gradients back to
   ``.grad``.  So after ``loss.backward()`` every rank holds the same, averaged gradients,
   and ``optimizer.step()`` keeps the replicas equal.
4. ``no_sync()``: forward/backward inside it only accumulate local gradients; the next
   synchronised backward all-reduces the accumulated sums.
5. ``find_unused_parameters``: without it, a parameter that gets no gradient leaves its
   bucket unfinished and the next forward raises PyTorch's "Expected to have finished
   reduction in the prior iteration" error (naming the parameters).  With it, forward walks
   the autograd graph from the outputs and the parameters it cannot reach are marked ready
   (they contribute zeros); a parameter unused on *every* rank keeps ``.grad`` untouched.

Not done (documented in docs/distributed.md): bucket rebuilding from the observed gradient
order after the first step, ``static_graph``, ``gradient_as_bucket_view`` (accepted, no
effect), comm hooks, ``join()``.
"""
from __future__ import annotations

import contextlib
import time
from typing import List, Optional

import numpy as np

from ..module import Module

_FIRST_BUCKET_BYTES = 1024 * 1024  # dist._DEFAULT_FIRST_BUCKET_BYTES


def _find_tensors(obj) -> list:
    """The tensors in a (nested) forward output: tensor, list/tuple, dict, dataclass-ish."""
    from ...tensor import Tensor
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _find_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _find_tensors(o)]
    return []


def _reachable_leaves(outputs) -> set:
    """ids of the leaf tensors the autograd graph of ``outputs`` reaches."""
    from ...autograd.function import AccumulateGrad
    seen, found = set(), set()
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    for t in outputs:
        if t.grad_fn is None and t.requires_grad:
            found.add(id(t))
    while stack:
        n = stack.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        if isinstance(n, AccumulateGrad):
            found.add(id(n.variable))
            continue
        for nxt, _ in n.next_functions:
            if nxt is not None and nxt not in seen:
                stack.append(nxt)
    return found


def _host_dtype(npdt) -> np.dtype:
    npdt = np.dtype(npdt)
    return np.dtype(np.float32) if npdt.itemsize == 2 and npdt.kind not in "iu" else npdt


class _Bucket:
    __slots__ = ("index", "params", "offsets", "buffer", "pending", "work")

    def __init__(self, index, params, offsets, buffer):
        self.index, self.params, self.offsets, self.buffer = index, params, offsets, buffer
        self.pending = len(params)
        self.work = None


class DistributedDataParallel(Module):
    """Data parallelism across processes: wrap the model, train as usual; gradients are
    averaged across ranks during ``backward()`` (see the module docstring)."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: Optional[float] = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, delay_all_reduce_named_params=None,
                 param_to_hook_all_reduce=None, mixed_precision=None, device_mesh=None,
                 skip_all_reduce_unused_params: bool = False, bucket_cap_mb_list=None,
                 batched_grad_copy: bool = False, forward_sync_buffers=None):
        super().__init__()
        from ... import distributed as dist
        if process_group is not None and process_group is not dist.GroupMember.WORLD:
            raise ValueError("minitorch.distributed has only the default group: pass "
                             "process_group=None")
        pg = dist._default_pg()
        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb)
                                    * 1024 * 1024)
        object.__setattr__(self, "_pg", pg)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        object.__setattr__(self, "_params", [p for _, p in named])
        self._param_names = [n for n, _ in named]
        self._verify_same_model()
        if init_sync:
            self._sync_params_and_buffers()
        self._build_buckets()
        self._hooks = [p.register_post_accumulate_grad_hook(self._make_hook(i))
                       for i, p in enumerate(self._params)]
        self._expect_hooks = False
        self._require_finalize = False
        self._unused: List[int] = []
        self._marked_unused = False
        self._ready = [False] * len(self._params)
        self._next_bucket = 0
        self._used_work = None
        self._used_buf = None
        self.comm_stats = {}  # last step: buckets, launch/finish times, exposed wait (s)

    # -- construction ---------------------------------------------------------------------
    def _verify_same_model(self) -> None:
        from ... import distributed as dist
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in
                zip(self._param_names, self._params)]
        everyone = [None] * self._pg.size
        dist.all_gather_object(everyone, mine)
        for r, theirs in enumerate(everyone):
            if theirs == mine:
                continue
            if len(theirs) != len(mine):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank "
                                   f"{self._pg.rank} has {len(mine)} params, while rank {r} "
                                   f"has inconsistent {len(theirs)} params.")
            for (n, s, d), (n2, s2, d2) in zip(mine, theirs):
                if (s, d) != (s2, d2):
                    raise RuntimeError(f"DDP expects same model across all ranks, but rank "
                                       f"{self._pg.rank}'s parameter {n} has shape {list(s)} "
                                       f"and dtype {d}, while rank {r}'s {n2} has shape "
                                       f"{list(s2)} and dtype {d2}.")

    def _sync_params_and_buffers(self) -> None:
        from ... import distributed as dist
        from ...autograd.grad_mode import no_grad
        with no_grad():
            for t in list(self.module.parameters()) + list(self.module.buffers()):
                dist.broadcast(t, 0)

    def _sync_buffers(self) -> None:
        from ... import distributed as dist
        from ...autograd.grad_mode import no_grad
        with no_grad():
            for b in self.module.buffers():
                dist.broadcast(b, 0)

    def _build_buckets(self) -> None:
        buckets: List[_Bucket] = []
        open_: dict = {}   # (dtype, device) -> [indices, bytes, limit index]
        closed: list = []
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            key = (str(p.dtype), str(p.device))
            cur = open_.get(key)
            if cur is None:
                cur = open_[key] = [[], 0, 0]
            cur[0].append(i)
            cur[1] += p.numel() * p.element_size()
            limit = (min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap) if cur[2] == 0
                     else self.bucket_bytes_cap)
            if cur[1] >= limit:
                closed.append((cur[0], key))
                open_[key] = [[], 0, cur[2] + 1]
        for key, cur in open_.items():
            if cur[0]:
                closed.append((cur[0], key))
        # launch order: the bucket whose parameters come last in the model goes first
        closed.sort(key=lambda c: -max(c[0]))
        self._bucket_of = [0] * len(self._params)
        for b, (idx, _) in enumerate(closed):
            offsets, n = [], 0
            for i in idx:
                offsets.append(n)
                n += self._params[i].numel()
                self._bucket_of[i] = b
            dt = _host_dtype(np.asarray(self._params[idx[0]]._device._be.to_numpy(
                self._params[idx[0]]._data)).dtype)
            buckets.append(_Bucket(b, idx, offsets, np.zeros(n, dt)))
        object.__setattr__(self, "_buckets", buckets)

    @property
    def bucket_sizes(self) -> List[int]:
        """Number of elements of each bucket, in launch order (for tests and docs)."""
        return [int(b.buffer.size) for b in self._buckets]

    # -- forward --------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        from ...autograd.grad_mode import is_grad_enabled
        sync = is_grad_enabled() and self.require_backward_grad_sync
        if sync and self._require_finalize:
            self._raise_unfinished()
        if (self.require_forward_param_sync and self.broadcast_buffers
                and any(True for _ in self.module.buffers())):
            self._sync_buffers()
        out = self.module(*inputs, **kwargs)
        if sync:
            self.require_forward_param_sync = True
            self._prepare_for_backward(out)
        else:
            self.require_forward_param_sync = False
            self._expect_hooks = False
        return out

    def _prepare_for_backward(self, out) -> None:
        self._expect_hooks = True
        self._ready = [False] * len(self._params)
        for b in self._buckets:
            b.pending = len(b.params)
            b.work = None
        self._next_bucket = 0
        self._marked_unused = False
        self._used_work = None
        self._unused = []
        if self.find_unused_parameters:
            reach = _reachable_leaves(_find_tensors(out))
            self._unused = [i for i, p in enumerate(self._params) if id(p) not in reach]
        self.comm_stats = {"launch": [], "done": [], "exposed_s": 0.0}

    def _raise_unfinished(self):
        missing = [i for i, r in enumerate(self._ready) if not r]
        names = ", ".join(self._param_names[i] for i in missing)
        rank = self._pg.rank
        raise RuntimeError(
            "Expected to have finished reduction in the prior iteration before starting a new "
            "one. This error indicates that your module has parameters that were not used in "
            "producing loss. You can enable unused parameter detection by passing the keyword "
            "argument `find_unused_parameters=True` to "
            "`torch.nn.parallel.DistributedDataParallel`, and by \nmaking sure all `forward` "
            "function outputs participate in calculating loss. \nIf you already have done the "
            "above, then the distributed data parallel module wasn't able to locate the output "
            "tensors in the return value of your module's `forward` function. Please include "
            "the loss function and the structure of the return value of `forward` of your "
            "module when reporting this issue (e.g. list, dict, iterable).\nParameter indices "
            f"which did not receive grad for rank {rank}: {' '.join(map(str, missing))}\n"
            f"Parameters which did not receive grad for rank {rank}: {names}")

    # -- backward: hooks, buckets, the final wait -------------------------------------------
    def _make_hook(self, i: int):
        def hook(param, i=i, self=self):
            if not self._expect_hooks:
                return
            if not self._marked_unused:
                self._marked_unused = True
                for u in self._unused:
                    self._mark_ready(u)
            self._mark_ready(i)
            self._pg._progress()  # let the buckets in flight move on (no progress thread)
        return hook

    def _mark_ready(self, i: int) -> None:
        if self._ready[i]:
            raise RuntimeError(
                "Expected to mark a variable ready only once. This error is caused by one of "
                "the following reasons: 1) Use of a module parameter outside the `forward` "
                "function. 2) Reused parameters in multiple reentrant backward passes or "
                f"calling backward twice per forward. Parameter at index {i} "
                f"({self._param_names[i]}) has been marked as ready twice.")
        self._ready[i] = True
        self._require_finalize = True
        b = self._buckets[self._bucket_of[i]]
        b.pending -= 1
        if b.pending == 0:
            self._launch_ready()

    def _launch_ready(self) -> None:
        bs = self._buckets
        while self._next_bucket < len(bs) and bs[self._next_bucket].pending == 0:
            self._launch(bs[self._next_bucket])
            self._next_bucket += 1
        if self._next_bucket == len(bs):
            if self.find_unused_parameters:
                used = np.ones(len(self._params), np.int32)
                used[self._unused] = 0
                self._used_buf = used
                self._used_work = self._pg.all_reduce_host(
                    used, "MAX", ("ALLREDUCE", tuple(used.shape), "int32", "DDP used params"))
            from ...autograd.engine import queue_callback
            queue_callback(self._finalize)

    def _launch(self, b: _Bucket) -> None:
        buf = b.buffer
        inv = 1.0 / self._pg.size
        for i, off in zip(b.params, b.offsets):
            p = self._params[i]
            n = p.numel()
            g = p._grad
            if g is None:
                buf[off:off + n] = 0
            else:
                np.multiply(np.asarray(g._device._be.to_numpy(g._data)).reshape(-1), inv,
                            out=buf[off:off + n], casting="unsafe")
        fp = ("ALLREDUCE", tuple(buf.shape), str(buf.dtype), f"DDP bucket {b.index}")
        b.work = self._pg.all_reduce_host(buf, "SUM", fp)
        self.comm_stats["launch"].append(time.perf_counter())

    def _finalize(self) -> None:
        t0 = time.perf_counter()
        self.comm_stats["finalize_start"] = t0
        for b in self._buckets:
            b.work.wait()
        if self._used_work is not None:
            self._used_work.wait()
        self.comm_stats["exposed_s"] = time.perf_counter() - t0
        self.comm_stats["buckets"] = len(self._buckets)
        globally_used = self._used_buf
        from ...tensor import _make
        for b in self._buckets:
            for i, off in zip(b.params, b.offsets):
                p = self._params[i]
                n = p.numel()
                g = p._grad
                be = p._device._be
                if g is None:
                    if globally_used is not None and not globally_used[i]:
                        continue  # unused on every rank: .grad stays None, as in PyTorch
                    src = b.buffer[off:off + n].reshape(p._data.shape)
                    dt = np.asarray(be.to_numpy(p._data)).dtype
                    p._grad = _make(be.from_numpy(np.ascontiguousarray(src.astype(dt))),
                                    p._device, False, None, 0, None)
                    continue
                src = b.buffer[off:off + n].reshape(g._data.shape)
                if isinstance(g._data, np.ndarray):
                    np.copyto(g._data, src, casting="unsafe")
                else:
                    dt = np.asarray(be.to_numpy(g._data)).dtype
                    be.copy_(g._data, be.from_numpy(np.ascontiguousarray(src.astype(dt))))
        self._expect_hooks = False
        self._require_finalize = False

    @contextlib.contextmanager
    def no_sync(self):
        """Inside: backward accumulates local gradients only (no communication); the first
        backward after it all-reduces the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def __getstate__(self):
        raise TypeError("DistributedDataParallel cannot be pickled; save .module (or its "
                        "state_dict) instead")

    def extra_repr(self) -> str:
        return ""
