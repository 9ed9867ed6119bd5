"""The ``"mpi"`` backend: collectives through mpi4py, with a timeout on every one of them.

MPI's own collectives block forever when a peer is dead, and silently corrupt memory (or
hang) when ranks disagree on the shape of a buffer.  So every collective runs in two phases,
both nonblocking and polled with ``Test`` against a deadline:

1. **Header.**  Each rank sends every peer a small pickled header -- ``(kind, sequence
   number, fingerprint, payload)`` where the fingerprint is (op type, shape, dtype, reduce op
   or root) -- and receives theirs.  A missing header at the deadline names the rank that did
   not join; a header that differs from ours raises, on every rank, an error naming both
   ranks' fingerprints; a *notice* instead of a header (a peer that raised, exited or called
   ``destroy_process_group``) names that rank and what happened to it.
2. **Payload.**  Only when all headers agree does the rank start the MPI collective itself
   (``Iallreduce``, ``Ibcast``, ``Iallgather``, ``Ireduce_scatter_block``), again polled until
   the deadline.  Payloads are launched strictly in sequence order on every rank (MPI needs
   the same collective order everywhere), so several asynchronous works (DDP's buckets) can
   be in flight at once.

The header costs one small point-to-point message per peer and collective: fine for the few
collectives per step of data-parallel training, and what buys the clear errors.  Tensors of
any device are staged through host memory (a ``cpu`` tensor that is contiguous is reduced in
place); 16-bit floats are reduced in float32 (MPI has no bfloat16) and rounded back once.
"""
from __future__ import annotations

import atexit
import os
import sys
import time
import traceback
from typing import Callable, List, Optional

import numpy as np

HDR_TAG = 7001  # headers and notices (pickled point-to-point messages)
# after the launcher reports a dead process, a collective still unfinished this much later
# fails (a peer that merely exited after finishing it lets it complete in time)
_DEATH_GRACE_S = 1.0
_exit_status = None  # set by _bootstrap.py once the script has ended: the exit status


class DistError(RuntimeError):
    """Base error of minitorch.distributed (PyTorch's ``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """A collective failed in the backend: timeout, dead peer (``DistBackendError``)."""


def _poll_sleep(i: int) -> None:
    # spin a little (latency of small collectives), then back off to 1 ms: two ranks
    # sharing two cores must not steal each other's CPU while one waits
    if i < 50:
        return
    time.sleep(min(1e-3, 1e-5 * (i - 49)))


class _Work:
    """One collective in flight (``torch.distributed.Work``): ``wait()`` blocks until it is
    done (raising on timeout, mismatch or a failed peer); ``is_completed()`` polls."""

    def __init__(self, pg: "ProcessGroupMPI", seq: int, name: str, fingerprint: tuple,
                 launch: Optional[Callable[[], list]], finish: Optional[Callable[[], None]],
                 payload=None):
        self.pg, self.seq, self.name, self.fingerprint = pg, seq, name, fingerprint
        self._launch, self._finish = launch, finish
        self.state = "header"
        self.reqs: list = []
        self.start = time.monotonic()
        self.deadline = self.start + pg.timeout
        self.peer_payloads = {pg.rank: payload}  # all_gather_object: the objects, by rank
        self.error: Optional[BaseException] = None
        self.launched_at = None   # monotonic times, for the DDP overlap statistics
        self.done_at = None

    # -- progress -------------------------------------------------------------------------
    def describe(self) -> str:
        op, shape, dtype, extra = self.fingerprint
        s = f"SequenceNumber={self.seq}, OpType={op}"
        if shape is not None:
            s += f", TensorShape={list(shape)}, TensorDtypes={dtype}"
        if extra is not None:
            s += f", {extra}"
        return f"CollectiveFingerPrint({s})"

    def _advance(self, background: bool = False) -> bool:
        """One non-blocking step; True once done.  Raises on a mismatch or a failed peer.
        ``background`` (the progress thread): move the transfer on, but leave writing the
        result (``finish``) to the caller's thread."""
        pg = self.pg
        if self.state == "header":
            pg._pump()
            missing = [p for p in pg.peers if self.seq not in pg.inbox[p]]
            for p in missing:
                if p in pg.left:
                    kind, text = pg.left[p]
                    what = (f"exited with an error: {text}" if kind == "fail" else
                            "left the process group (exited or called destroy_process_group)"
                            " without joining it")
                    raise DistBackendError(
                        f"[Rank {pg.rank}] collective {self.name} ({self.describe()}) failed: "
                        f"rank {p} {what}")
            if missing:
                return False
            for p in pg.peers:
                _, _, fp, payload = pg.inbox[p].pop(self.seq)
                if fp != self.fingerprint:
                    other = _Work.__new__(_Work)
                    other.seq, other.fingerprint = self.seq, fp
                    lo, hi = sorted([(pg.rank, self.describe()), (p, other.describe())])
                    raise RuntimeError(
                        "Detected mismatch between collectives on ranks. "
                        f"Rank {lo[0]} is running collective: {lo[1]}, but Rank {hi[0]} is "
                        f"running collective: {hi[1]}.")
                self.peer_payloads[p] = payload
            self.launched_at = time.monotonic()
            self.reqs = self._launch() if self._launch is not None else []
            self.state = "payload"
        if self.state == "payload":
            if self.reqs and not all(r.Test() for r in self.reqs):
                return False
            if self.done_at is None:
                self.done_at = time.monotonic()
            if background:
                return False
            if self._finish is not None:
                self._finish()
            self.state = "done"
        return self.state == "done"

    def is_completed(self) -> bool:
        if self.state == "done":
            return True
        if self.error is not None:
            raise self.error
        self.pg._progress()
        if self.error is not None:
            raise self.error
        return self.state == "done"

    def is_success(self) -> bool:
        return self.state == "done"

    def exception(self):
        return self.error

    def wait(self, timeout=None) -> bool:
        """Block until done; raise on timeout (``init_process_group(timeout=)`` counted from
        the start of the collective, or ``timeout`` from now when given: a timedelta or
        seconds), mismatch or failed peer."""
        if self.state == "done":
            return True
        deadline = self.deadline
        if timeout is not None:  # as WorkNCCL::wait(timeout): replaces the group's timeout
            secs = timeout.total_seconds() if hasattr(timeout, "total_seconds") else timeout
            deadline = time.monotonic() + float(secs)
        i = 0
        pg = self.pg
        while True:
            if self.error is not None:
                raise self.error
            pg._progress()
            if self.error is not None:
                raise self.error
            if self.state == "done":
                return True
            now = time.monotonic()
            died = pg.peer_died and now > pg.peer_died_at + _DEATH_GRACE_S
            if now > deadline or died:
                err = pg._timeout_error(self, died=died)
                with pg._lock:
                    pg._fail(err)
                raise err
            _poll_sleep(i)
            i += 1


class ProcessGroupMPI:
    """The world communicator of ``mpi4py`` (duplicated, so user MPI traffic cannot mix with
    ours), with the header protocol above."""

    backend_name = "mpi"

    def __init__(self, timeout_s: float):
        try:
            from mpi4py import MPI
        except ImportError as e:  # pragma: no cover - tests skip without mpi4py
            raise RuntimeError("the 'mpi' backend needs mpi4py and an MPI library: "
                               "pip install 'minitorch[distributed]' (mpi4py + mpich)") from e
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.peers = [p for p in range(self.size) if p != self.rank]
        self.timeout = float(timeout_s)
        self.seq = 0
        self.inbox = {p: {} for p in self.peers}   # peer -> {seq: header}
        self.left = {}                             # peer -> (kind, text) of its notice
        self.pending: List[_Work] = []             # works not done, in sequence order
        self.sends: list = []                      # outstanding isend requests
        self.broken: Optional[BaseException] = None
        self.closed = False
        self._status = MPI.Status()
        self._prev_excepthook = sys.excepthook
        sys.excepthook = self._excepthook
        atexit.register(self._atexit)
        self.peer_died = False
        self.peer_died_at = 0.0
        self._usr1 = None
        self._catch_failure_signal()
        import threading
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = False
        self._thread = None
        self._start_progress_thread()

    def _catch_failure_signal(self) -> None:
        """MPICH's launcher (hydra, with -disable-auto-cleanup) tells the survivors that a
        process died with SIGUSR1, whose default action would kill them before they can
        report anything: note it instead, and say so in the timeout error."""
        import signal
        import threading
        if ("PMI_RANK" not in os.environ
                or threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGUSR1) not in (signal.SIG_DFL, None)):
            return  # not hydra, or the program handles SIGUSR1 itself

        def on_usr1(signum, frame, self=self):
            if not self.peer_died:
                self.peer_died_at = time.monotonic()
            self.peer_died = True
        signal.signal(signal.SIGUSR1, on_usr1)
        self._usr1 = on_usr1

    # -- messages ---------------------------------------------------------------------------
    def _send_all(self, msg) -> None:
        for p in self.peers:
            self.sends.append(self.comm.isend(msg, dest=p, tag=HDR_TAG))
        if len(self.sends) > 64:
            self.sends = [r for r in self.sends if not r.Test()]

    def _pump(self) -> None:
        """Receive every header/notice that has arrived."""
        st = self._status
        comm = self.comm
        while comm.iprobe(source=self.MPI.ANY_SOURCE, tag=HDR_TAG, status=st):
            src = st.Get_source()
            msg = comm.recv(source=src, tag=HDR_TAG)
            if msg[0] == "op":
                self.inbox[src][msg[1]] = msg
            else:
                self.left[src] = (msg[0], msg[1])

    def _notify(self, kind: str, text: str, wait_s: float = 0.5) -> None:
        """Tell every peer that this rank is leaving (``kind`` "fail" or "exit")."""
        if self.closed or not self.peers:
            return
        self.closed = True
        try:
            with self._lock:
                self._send_all((kind, text))
            deadline = time.monotonic() + wait_s
            while self.sends and time.monotonic() < deadline:
                with self._lock:
                    self.sends = [r for r in self.sends if not r.Test()]
                time.sleep(1e-3)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass

    def _excepthook(self, etype, value, tb) -> None:
        text = "".join(traceback.format_exception_only(etype, value)).strip()
        if not self.peer_died:
            self._notify("fail", text)
        self._prev_excepthook(etype, value, tb)

    def _atexit(self) -> None:
        if self._usr1 is not None:
            # hydra (with -disable-auto-cleanup) signals the others whenever a rank exits,
            # even normally; from here on (MPI_Finalize) that would kill this process
            import signal
            signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        self._stop_progress_thread()
        if self.peer_died and not self.closed:
            self._notify("exit", "exited", wait_s=0.1)
        if self.peer_died:
            # a peer has gone: MPI_Finalize (mpi4py's, after this) may wait for it forever
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1 if _exit_status is None else _exit_status)
        self._notify("exit", "exited")

    def shutdown(self) -> None:
        """``destroy_process_group``: tell the peers, stop answering."""
        self._stop_progress_thread()
        self._notify("exit", "destroy_process_group")
        if sys.excepthook == self._excepthook:
            sys.excepthook = self._prev_excepthook

    # -- the work queue ---------------------------------------------------------------------
    def _fail(self, err: BaseException) -> None:
        if self.broken is None:
            self.broken = err
        for w in self.pending:
            if w.error is None:
                w.error = err
        self.pending = []

    def _progress(self, background: bool = False) -> None:
        """Advance the works in sequence order: a work may launch its payload only after
        every earlier one has (so all ranks start MPI collectives in the same order)."""
        with self._lock:
            self._progress_locked(background)

    def _progress_locked(self, background: bool) -> None:
        keep = []
        blocked = False
        for w in self.pending:
            if blocked:
                keep.append(w)
                continue
            try:
                done = w._advance(background)
            except BaseException as e:  # noqa: BLE001 - the work (and every later one) fails
                self._fail(e)
                return
            if not done:
                keep.append(w)
                if w.state == "header":
                    blocked = True
        self.pending = keep

    def _timeout_error(self, w: _Work, died: bool = False) -> DistBackendError:
        waited = time.monotonic() - w.start
        if w.state == "header":
            if not died:
                with self._lock:
                    self._pump()
            missing = [p for p in self.peers if w.seq not in self.inbox[p]]
            who = (f"rank(s) {missing} did not join it (dead, hung, or running other code)"
                   if missing else "an earlier collective did not finish")
        else:
            who = "every rank joined it but the data transfer did not finish (a peer died?)"
            if died:
                who = "every rank joined it but the data transfer did not finish"
        if died:
            return DistBackendError(
                f"[Rank {self.rank}] collective {w.name} ({w.describe()}) failed after "
                f"{waited:.1f} s: the MPI launcher reported that a process of this job died; "
                f"{who}")
        return DistBackendError(
            f"[Rank {self.rank}] collective {w.name} ({w.describe()}) timed out after "
            f"{waited:.1f} s (timeout={self.timeout:g} s): {who}")

    def submit(self, name: str, fingerprint: tuple, launch, finish, payload=None) -> _Work:
        if self.broken is not None:
            raise DistBackendError(f"[Rank {self.rank}] the process group cannot be used after "
                                   f"an earlier collective failed: {self.broken}")
        if self.closed:
            raise RuntimeError("the process group has been destroyed")
        with self._lock:
            self.seq += 1
            w = _Work(self, self.seq, name, fingerprint, launch, finish, payload)
            if self.peers:
                self._send_all(("op", self.seq, fingerprint, payload))
            self.pending.append(w)
            self._progress_locked(False)
        if w.error is not None:
            raise w.error
        if self.pending and self._thread is not None:
            self._wake.set()
        return w

    # -- the progress thread ----------------------------------------------------------------
    def _start_progress_thread(self) -> None:
        """MPI moves a nonblocking collective on only inside MPI calls: without help, an
        all-reduce started by a DDP hook would mostly wait for the next hook or for the
        final wait.  This daemon thread polls the works in flight every 0.2 ms while there
        are any (numpy releases the GIL in the big kernels, so it runs during backward), and
        sleeps otherwise.  Needs MPI_THREAD_MULTIPLE (mpi4py's default); every MPI call of
        this group holds ``_lock``.  MINITORCH_DIST_PROGRESS_THREAD=0 turns it off."""
        import threading
        if (not self.peers or os.environ.get("MINITORCH_DIST_PROGRESS_THREAD", "1") == "0"
                or self.MPI.Query_thread() != self.MPI.THREAD_MULTIPLE):
            return
        self._thread = threading.Thread(target=self._progress_loop, daemon=True,
                                        name="minitorch-dist-progress")
        self._thread.start()

    def _progress_loop(self) -> None:
        while not self._stop and not self.peer_died:
            if not self.pending or self.broken is not None or self.closed:
                self._wake.wait(0.01)
                self._wake.clear()
                continue
            self._progress(background=True)
            time.sleep(2e-4)

    def _stop_progress_thread(self) -> None:
        self._stop = True
        if self._thread is not None:
            self._wake.set()
            self._thread.join(timeout=1.0)

    # -- host staging ---------------------------------------------------------------------
    @staticmethod
    def _host(t, writable: bool):
        """(host array to communicate, write_back(arr) or None).  A contiguous cpu tensor
        of an MPI dtype is used in place; anything else goes through a host copy."""
        a = t._data
        if (isinstance(a, np.ndarray) and a.flags.c_contiguous and a.flags.writeable
                and a.dtype.char in "fdlqihbBHILQ?"):
            return a, None
        h = np.asarray(t._device._be.to_numpy(a))
        if h.dtype.itemsize == 2 and h.dtype.kind not in "iu":  # float16 / bfloat16
            h = h.astype(np.float32)
        else:
            h = np.array(h, copy=True, order="C")
        if not writable:
            return h, None
        be = t._device._be

        def write_back(arr, t=t, be=be):
            src = arr.astype(np.asarray(be.to_numpy(t._data)).dtype).reshape(t._data.shape)
            be.copy_(t._data, be.from_numpy(np.ascontiguousarray(src)))
        return h, write_back

    def mpi_op(self, op):
        M = self.MPI
        return {"SUM": M.SUM, "AVG": M.SUM, "PRODUCT": M.PROD, "MIN": M.MIN, "MAX": M.MAX,
                "BAND": M.BAND, "BOR": M.BOR, "BXOR": M.BXOR}[op]

    # -- collectives (each returns a _Work) -----------------------------------------------
    def all_reduce(self, t, op: str, fp) -> _Work:
        buf, wb = self._host(t, True)
        return self.all_reduce_host(buf, op, fp, wb)

    def all_reduce_host(self, buf: np.ndarray, op: str, fp, wb=None) -> _Work:
        """All-reduce a contiguous host array in place (DDP's buckets); ``wb(buf)`` runs
        when it is done."""
        size = self.size

        def launch():
            return [self.comm.Iallreduce(self.MPI.IN_PLACE, buf, self.mpi_op(op))]

        def finish():
            if op == "AVG":
                np.divide(buf, size, out=buf, casting="unsafe")
            if wb is not None:
                wb(buf)
        return self.submit("all_reduce", fp, launch, finish)

    def broadcast(self, t, src: int, fp) -> _Work:
        buf, wb = self._host(t, True)

        def launch():
            return [self.comm.Ibcast(buf, root=src)]

        def finish():
            if wb is not None and self.rank != src:
                wb(buf)
        return self.submit("broadcast", fp, launch, finish)

    def all_gather(self, outs, t, fp) -> _Work:
        send, _ = self._host(t, False)
        recv = np.empty((self.size,) + send.shape, send.dtype)
        writers = [self._host(o, True) for o in outs]

        def launch():
            return [self.comm.Iallgather(send, recv)]

        def finish():
            for i, (buf, wb) in enumerate(writers):
                if wb is None:
                    buf[...] = recv[i]
                else:
                    wb(recv[i])
        return self.submit("all_gather", fp, launch, finish)

    def reduce_scatter(self, out, ins, op: str, fp) -> _Work:
        hosts = [self._host(x, False)[0] for x in ins]
        send = np.ascontiguousarray(np.stack(hosts))
        buf, wb = self._host(out, True)
        size = self.size

        def launch():
            return [self.comm.Ireduce_scatter_block(send, buf, self.mpi_op(op))]

        def finish():
            if op == "AVG":
                np.divide(buf, size, out=buf, casting="unsafe")
            if wb is not None:
                wb(buf)
        return self.submit("reduce_scatter", fp, launch, finish)

    def barrier(self, fp) -> _Work:
        # every rank's header reaching every other rank proves they all entered it
        return self.submit("barrier", fp, None, None)

    def all_gather_object(self, obj, fp) -> _Work:
        return self.submit("all_gather_object", fp, None, None, payload=obj)
