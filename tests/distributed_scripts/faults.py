"""Run by tests/test_distributed.py on 2 processes: rank 1 fails in the way named by argv[1]
("raise": an exception; "kill": SIGKILL; "exit": leaves early), rank 0 then enters an
all_reduce and must fail within the 3 s timeout with an error naming rank 1."""
import os
import signal
import sys
import time
from datetime import timedelta

import minitorch as torch
import minitorch.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=timedelta(seconds=3))
rank = dist.get_rank()
# everyone is up (a loaded machine may start the ranks seconds apart: wait longer here)
dist.all_reduce(torch.ones(2), async_op=True).wait(timeout=timedelta(seconds=60))
if rank == 1:
    if mode == "raise":
        raise ValueError("boom on rank 1")
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "exit":
        sys.exit(0)
t0 = time.monotonic()
try:
    dist.all_reduce(torch.ones(2))
except RuntimeError as e:
    print(f"RANK0-ERROR after {time.monotonic() - t0:.2f}s: {type(e).__name__}: {e}",
          flush=True)
    sys.exit(3)
print("RANK0-NO-ERROR", flush=True)
