"""``minitorch.distributed``: collectives between processes, with ``torch.distributed``'s names.

    import minitorch.distributed as dist
    dist.init_process_group("mpi", timeout=timedelta(seconds=60))
    dist.all_reduce(t, op=dist.ReduceOp.SUM)        # in place, on every rank
    dist.get_rank(), dist.get_world_size()

Start the processes with the launcher (``python -m minitorch.distributed.run --nproc-per-node
2 train.py``) or with MPI's own (``mpiexec -n 2 python train.py``).  Backends:

* ``"mpi"`` (_mpi.py): mpi4py over any MPI library (the ``mpich`` wheel from PyPI needs no
  system MPI).  Every collective has a timeout and checks that all ranks run the same
  collective on the same shapes/dtypes (see _mpi.py for how).
* ``"nccl"`` (_nccl.py): CuPy's NCCL bindings for ``cuda`` tensors, bootstrapped over MPI.
  Thin and **untested** (no GPU was available when it was written).

Only the default (world) group exists: ``group=`` accepts None or ``group.WORLD``.
See docs/distributed.md.
"""
from __future__ import annotations

import enum
import os
from datetime import timedelta
from typing import List, Optional

from ._mpi import DistBackendError, DistError

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "is_mpi_available", "is_nccl_available", "get_rank", "get_world_size",
           "get_backend", "ReduceOp", "all_reduce", "broadcast", "all_gather",
           "all_gather_into_tensor", "reduce_scatter", "reduce_scatter_tensor", "barrier",
           "all_gather_object", "Work", "DistError", "DistBackendError", "default_pg_timeout",
           "group", "GroupMember", "Backend"]

default_pg_timeout = timedelta(minutes=30)  # PyTorch's default for non-NCCL backends


class RedOpType(enum.Enum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


class ReduceOp:
    """``ReduceOp.SUM``, ``AVG``, ``PRODUCT``, ``MIN``, ``MAX``, ``BAND``, ``BOR``, ``BXOR``."""
    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR


class Backend(str):
    """Backend names, as ``torch.distributed.Backend``."""
    MPI = "mpi"
    NCCL = "nccl"
    GLOO = "gloo"

    def __new__(cls, name: str):
        return str.__new__(cls, name.lower())


class GroupMember:
    WORLD = object()  # the default group (the only one here)
    NON_GROUP_MEMBER = -100


class group:  # noqa: N801 - PyTorch's name
    WORLD = GroupMember.WORLD


from ._mpi import _Work as Work  # noqa: E402

_pg = None  # the default process group (a backend object)


def is_available() -> bool:
    return True


def is_mpi_available() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_nccl_available() -> bool:
    try:
        from cupy.cuda import nccl  # noqa: F401
    except Exception:  # noqa: BLE001 - cupy missing or broken
        return False
    return True


def is_initialized() -> bool:
    return _pg is not None


def _default_pg():
    if _pg is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    return _pg


def _check_group(group) -> None:
    if group is not None and group is not GroupMember.WORLD:
        raise ValueError("minitorch.distributed has only the default group: pass group=None")


def init_process_group(backend: Optional[str] = None, init_method: Optional[str] = None,
                       timeout: Optional[timedelta] = None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Join the default process group.  ``backend`` is ``"mpi"`` (default) or ``"nccl"``;
    the ranks and world size come from MPI (``world_size``/``rank``, when given, must agree
    with it).  ``timeout`` bounds every collective (default 30 minutes, as PyTorch's);
    ``init_method``/``store`` are accepted for compatibility and unused: MPI does the
    rendezvous."""
    global _pg
    if _pg is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = "mpi" if backend is None else str(backend).lower()
    if name in ("cpu:mpi", "mpi"):
        name = "mpi"
    if timeout is None:
        timeout = default_pg_timeout
    if not isinstance(timeout, timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got "
                        f"{type(timeout).__name__}")
    secs = timeout.total_seconds()
    if name == "mpi":
        from ._mpi import ProcessGroupMPI
        pg = ProcessGroupMPI(secs)
    elif name == "nccl":
        from ._nccl import ProcessGroupNCCL
        pg = ProcessGroupNCCL(secs)
    else:
        raise ValueError(f"Invalid backend: '{backend}'. minitorch.distributed supports 'mpi' "
                         "(CPU, mpi4py) and 'nccl' (cuda, CuPy)")
    if world_size not in (-1, None) and world_size != pg.size:
        raise ValueError(f"world_size={world_size} but MPI started {pg.size} processes")
    if rank not in (-1, None) and rank != pg.rank:
        raise ValueError(f"rank={rank} but this process is MPI rank {pg.rank}")
    _pg = pg
    # as torchrun does, so code that reads the environment finds them
    os.environ.setdefault("RANK", str(pg.rank))
    os.environ.setdefault("WORLD_SIZE", str(pg.size))


def destroy_process_group(group=None) -> None:
    """Leave the default group: peers still waiting on this rank get an error naming it."""
    global _pg
    _check_group(group)
    if _pg is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    _pg.shutdown()
    _pg = None


def get_rank(group=None) -> int:
    _check_group(group)
    return _default_pg().rank


def get_world_size(group=None) -> int:
    _check_group(group)
    return _default_pg().size


def get_backend(group=None) -> str:
    _check_group(group)
    return Backend(_default_pg().backend_name)


# -- argument checks ---------------------------------------------------------------------
def _tensor(t, what: str):
    from ..tensor import Tensor
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: expected a Tensor, got {type(t).__name__}")
    return t


def _fp(op_type: str, t, extra=None) -> tuple:
    return (op_type, tuple(t._data.shape), str(t.dtype).replace("minitorch.", ""), extra)


def _op_name(op) -> str:
    if isinstance(op, RedOpType):
        return op.name
    if isinstance(op, str) and op.upper() in RedOpType.__members__:
        return op.upper()
    raise ValueError(f"Invalid reduce op: {op!r}; use dist.ReduceOp.SUM/AVG/PRODUCT/MIN/MAX")


def _check_op(op: str, t) -> None:
    if op == "AVG" and not t.dtype.is_floating_point:
        raise ValueError(f"ReduceOp.AVG needs a floating point tensor, got {t.dtype}")
    if op in ("BAND", "BOR", "BXOR") and t.dtype.is_floating_point:
        raise ValueError(f"ReduceOp.{op} needs an integer tensor, got {t.dtype}")


def _finish(work, async_op: bool, tensors=()):
    if async_op:
        return work
    work.wait()
    return None


def _bump(*ts) -> None:
    from ..ops.inplace import _bump as bump
    for t in ts:
        bump(t)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across all ranks, in place on every rank."""
    _check_group(group)
    _tensor(tensor, "all_reduce")
    name = _op_name(op)
    _check_op(name, tensor)
    pg = _default_pg()
    work = pg.all_reduce(tensor, name, _fp("ALLREDUCE", tensor, f"ReduceOp={name}"))
    _bump(tensor)
    return _finish(work, async_op)


def broadcast(tensor, src: int = 0, group=None, async_op: bool = False, group_src=None):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank."""
    _check_group(group)
    _tensor(tensor, "broadcast")
    pg = _default_pg()
    if group_src is not None:
        src = group_src
    if not 0 <= src < pg.size:
        raise ValueError(f"Invalid src rank {src}: the world size is {pg.size}")
    work = pg.broadcast(tensor, src, _fp("BROADCAST", tensor, f"Root={src}"))
    _bump(tensor)
    return _finish(work, async_op)


def _check_list(fn: str, what: str, tensors, ref, ref_name: str, size: int) -> None:
    """``tensors`` must be a list of ``size`` tensors shaped and typed like ``ref``."""
    if not isinstance(tensors, (list, tuple)) or len(tensors) != size:
        n = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors)
        raise ValueError(f"{fn}: {what} must be a list of world_size={size} tensors, got {n}")
    for i, t in enumerate(tensors):
        _tensor(t, f"{fn}: {what}[{i}]")
        if t.shape != ref.shape or t.dtype != ref.dtype:
            raise ValueError(f"{fn}: {what}[{i}] has shape {list(t.shape)} and dtype {t.dtype}, "
                             f"but {ref_name} has shape {list(ref.shape)} and dtype {ref.dtype}")


def all_gather(tensor_list: List, tensor, group=None, async_op: bool = False):
    """Fill ``tensor_list[r]`` with rank r's ``tensor``, on every rank."""
    _check_group(group)
    _tensor(tensor, "all_gather")
    pg = _default_pg()
    _check_list("all_gather", "tensor_list", tensor_list, tensor, "the input tensor", pg.size)
    work = pg.all_gather(list(tensor_list), tensor, _fp("ALLGATHER", tensor))
    _bump(*tensor_list)
    return _finish(work, async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """``output_tensor`` (world_size * input's first dim, or [world_size, *input.shape])
    gets every rank's ``input_tensor``, concatenated in rank order."""
    _tensor(output_tensor, "all_gather_into_tensor")
    _tensor(input_tensor, "all_gather_into_tensor")
    n = _default_pg().size
    shape = tuple(input_tensor.shape)
    ok = tuple(output_tensor.shape) in ((n,) + shape,
                                        ((shape[0] * n,) + shape[1:]) if shape else None)
    if not ok or not output_tensor.is_contiguous():
        raise ValueError(f"all_gather_into_tensor: output shape {list(output_tensor.shape)} must "
                         f"be the input shape {list(shape)} with the first dim times world_size "
                         f"{n} (contiguous)")
    parts = list(output_tensor.view((n,) + shape).unbind(0))
    return all_gather(parts, input_tensor, group, async_op)


def reduce_scatter(output, input_list: List, op=ReduceOp.SUM, group=None,
                   async_op: bool = False):
    """Reduce ``input_list[r]`` across ranks into rank r's ``output``."""
    _check_group(group)
    _tensor(output, "reduce_scatter")
    pg = _default_pg()
    _check_list("reduce_scatter", "input_list", input_list, output, "the output", pg.size)
    name = _op_name(op)
    _check_op(name, output)
    work = pg.reduce_scatter(output, list(input_list), name,
                             _fp("REDUCE_SCATTER", output, f"ReduceOp={name}"))
    _bump(output)
    return _finish(work, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """``input`` (world_size times ``output``'s first dim) split in rank order, reduced."""
    _tensor(output, "reduce_scatter_tensor")
    _tensor(input, "reduce_scatter_tensor")
    n = _default_pg().size
    shape = tuple(output.shape)
    if tuple(input.shape) not in ((n,) + shape, ((shape[0] * n,) + shape[1:]) if shape else None):
        raise ValueError(f"reduce_scatter_tensor: input shape {list(input.shape)} must be the "
                         f"output shape {list(shape)} with the first dim times world_size {n}")
    return reduce_scatter(output, list(input.reshape((n,) + shape).unbind(0)), op, group,
                          async_op)


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    """Wait until every rank has entered the barrier (or the timeout: the group's, or
    ``timeout`` when given)."""
    _check_group(group)
    work = _default_pg().barrier(("BARRIER", None, None, None))
    if async_op:
        return work
    work.wait(timeout)
    return None


def all_gather_object(object_list: list, obj, group=None) -> None:
    """``object_list[r]`` = rank r's (picklable) ``obj``."""
    _check_group(group)
    pg = _default_pg()
    if len(object_list) != pg.size:
        raise ValueError(f"all_gather_object: object_list must have world_size={pg.size} "
                         f"entries, got {len(object_list)}")
    work = pg.all_gather_object(obj, ("ALLGATHER_OBJECT", None, None, None))
    work.wait()
    for r in range(pg.size):
        object_list[r] = work.peer_payloads[r]
