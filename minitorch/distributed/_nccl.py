"""The ``"nccl"`` backend: collectives on ``cuda`` tensors through CuPy's NCCL bindings.

**Untested**: it was written on a machine without a GPU, so no line of it has run.  It is
kept thin on purpose: the MPI group (_mpi.py) does everything but move the data -- the
ranks, the rendezvous (rank 0's ``ncclUniqueId`` is sent to the others over MPI), the header
that catches mismatched collectives and failed peers, the timeouts -- and only the payload
runs as an NCCL call on the current CuPy stream.  Its completion is an event polled like an
MPI request, so ``wait()``'s deadline holds for the payload too (a hung NCCL kernel cannot
be cancelled, though: the process then has to be killed).  One GPU per process: rank r
uses ``cuda:LOCAL_RANK`` unless the caller chose a device first.
"""
from __future__ import annotations

import os

import numpy as np

from ._mpi import ProcessGroupMPI

_NCCL_DTYPES = {"float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64", "float16": "NCCL_FLOAT16",
                "int32": "NCCL_INT32", "int64": "NCCL_INT64", "uint8": "NCCL_UINT8",
                "int8": "NCCL_INT8", "bfloat16": "NCCL_BFLOAT16"}
_NCCL_OPS = {"SUM": "NCCL_SUM", "AVG": "NCCL_SUM", "PRODUCT": "NCCL_PROD", "MIN": "NCCL_MIN",
             "MAX": "NCCL_MAX"}


class _EventRequest:
    """An MPI-request look-alike over a CUDA event: ``Test()`` is true once it has run."""

    def __init__(self, cupy):
        self.event = cupy.cuda.Event(disable_timing=True)
        self.event.record()

    def Test(self) -> bool:  # noqa: N802 - MPI's spelling
        return self.event.done


class ProcessGroupNCCL(ProcessGroupMPI):
    backend_name = "nccl"

    def __init__(self, timeout_s: float):
        try:
            import cupy
            from cupy.cuda import nccl
        except Exception as e:  # noqa: BLE001 - ImportError, or CUDA missing underneath
            raise RuntimeError("the 'nccl' backend needs CuPy with NCCL (pip install "
                               "cupy-cuda12x) and a GPU; use backend='mpi' for CPU tensors"
                               ) from e
        super().__init__(timeout_s)
        self.cupy, self.nccl = cupy, nccl
        local = int(os.environ.get("LOCAL_RANK", self.rank))
        if cupy.cuda.runtime.getDeviceCount() > 1:
            cupy.cuda.Device(local % cupy.cuda.runtime.getDeviceCount()).use()
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = self.comm.bcast(uid, root=0)
        self.nccl_comm = nccl.NcclCommunicator(self.size, uid, self.rank)

    # -- helpers ----------------------------------------------------------------------------
    def _buf(self, t):
        if t._device.type != "cuda":
            raise RuntimeError(f"the 'nccl' backend works on cuda tensors, got a tensor on "
                               f"{t._device}; use backend='mpi' for CPU tensors")
        a = t._data
        if not a.flags.c_contiguous:
            raise RuntimeError("the 'nccl' backend needs contiguous tensors: call "
                               ".contiguous() first")
        name = str(t.dtype).replace("minitorch.", "")
        if name not in _NCCL_DTYPES:
            raise RuntimeError(f"the 'nccl' backend does not support {t.dtype}")
        return a, getattr(self.nccl, _NCCL_DTYPES[name])

    def _stream(self):
        return self.cupy.cuda.get_current_stream().ptr

    def _op(self, op: str):
        if op not in _NCCL_OPS:
            raise RuntimeError(f"the 'nccl' backend does not support ReduceOp.{op}")
        return getattr(self.nccl, _NCCL_OPS[op])

    # -- collectives ------------------------------------------------------------------------
    def all_reduce(self, t, op: str, fp):
        a, dt = self._buf(t)
        n = self.size

        def launch():
            self.nccl_comm.allReduce(a.data.ptr, a.data.ptr, a.size, dt, self._op(op),
                                     self._stream())
            if op == "AVG":
                a /= n
            return [_EventRequest(self.cupy)]
        return self.submit("all_reduce", fp, launch, None)

    def all_reduce_host(self, buf: np.ndarray, op: str, fp, wb=None):
        return super().all_reduce_host(buf, op, fp, wb)  # DDP's host buckets: over MPI

    def broadcast(self, t, src: int, fp):
        a, dt = self._buf(t)

        def launch():
            self.nccl_comm.broadcast(a.data.ptr, a.data.ptr, a.size, dt, src, self._stream())
            return [_EventRequest(self.cupy)]
        return self.submit("broadcast", fp, launch, None)

    def all_gather(self, outs, t, fp):
        a, dt = self._buf(t)
        cp = self.cupy
        recv = cp.empty((self.size,) + a.shape, a.dtype)

        def launch():
            self.nccl_comm.allGather(a.data.ptr, recv.data.ptr, a.size, dt, self._stream())
            for i, o in enumerate(outs):
                o._data[...] = recv[i]
            return [_EventRequest(cp)]
        return self.submit("all_gather", fp, launch, None)

    def reduce_scatter(self, out, ins, op: str, fp):
        a, dt = self._buf(out)
        cp = self.cupy
        send = cp.ascontiguousarray(cp.stack([x._data for x in ins]))
        n = self.size

        def launch():
            self.nccl_comm.reduceScatter(send.data.ptr, a.data.ptr, a.size, dt, self._op(op),
                                         self._stream())
            if op == "AVG":
                a /= n
            return [_EventRequest(cp)]
        return self.submit("reduce_scatter", fp, launch, None)
