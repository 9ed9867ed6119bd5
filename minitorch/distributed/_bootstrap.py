"""What each process runs under ``mpiexec`` when started by ``minitorch.distributed.run``:
set torchrun's environment variables from the MPI launcher's, then run the user's script
(or ``-m module``) as ``__main__``.

    RANK, WORLD_SIZE              from PMI_RANK/PMI_SIZE (MPICH's hydra), OMPI_COMM_WORLD_*
                                  (Open MPI) or PMIX_RANK
    LOCAL_RANK, LOCAL_WORLD_SIZE  from MPI_LOCALRANKID/MPI_LOCALNRANKS (hydra) or
                                  OMPI_COMM_WORLD_LOCAL_RANK/_SIZE (Open MPI)
    GROUP_RANK (= NODE_RANK)      RANK // LOCAL_WORLD_SIZE
MASTER_ADDR/MASTER_PORT are set by the launcher (MPI does the rendezvous; they are there for
code that reads them).
"""
from __future__ import annotations

import os
import runpy
import sys

_SOURCES = {
    "RANK": ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"),
    "WORLD_SIZE": ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"),
    "LOCAL_RANK": ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"),
    "LOCAL_WORLD_SIZE": ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE"),
}


def set_env(env=os.environ) -> dict:
    """Fill RANK/WORLD_SIZE/LOCAL_RANK/LOCAL_WORLD_SIZE/GROUP_RANK from the MPI launcher's
    variables; returns what was set."""
    out = {}
    for name, sources in _SOURCES.items():
        for s in sources:
            if s in env:
                out[name] = env[s]
                break
    if "RANK" in out and "WORLD_SIZE" in out:
        out.setdefault("LOCAL_RANK", out["RANK"])
        out.setdefault("LOCAL_WORLD_SIZE", out["WORLD_SIZE"])
        out["GROUP_RANK"] = str(int(out["RANK"]) // max(1, int(out["LOCAL_WORLD_SIZE"])))
        out["NODE_RANK"] = out["GROUP_RANK"]
    env.update(out)
    return out


def _record(what: str) -> None:
    """With MINITORCH_RUN_DIR set (by the launcher): note this rank's start / end there, so
    that the launcher can say which rank died when MPI kills the job."""
    d = os.environ.get("MINITORCH_RUN_DIR")
    if not d or "RANK" not in os.environ:
        return
    try:
        with open(os.path.join(d, f"rank{os.environ['RANK']}.{what[:5]}"), "w") as f:
            f.write(what)
    except OSError:
        pass


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    set_env()
    if not argv:
        raise SystemExit("usage: python -m minitorch.distributed._bootstrap [-m module | "
                         "script.py] args...")
    _record(f"start pid {os.getpid()}")
    try:
        _run(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        _record(f"exit status {code}")
        _set_exit_status(code)
        raise
    except BaseException as e:
        _record(f"exit with {type(e).__name__}: {e}")
        _set_exit_status(1)
        raise
    _record("exit status 0")
    _set_exit_status(0)


def _set_exit_status(code: int) -> None:
    """Tell the MPI process group how this process ends (it may have to leave through
    os._exit, skipping MPI_Finalize, when a peer has died)."""
    m = sys.modules.get("minitorch.distributed._mpi")
    if m is not None:
        m._exit_status = code


def _run(argv) -> None:
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        script = argv[0]
        sys.argv = argv
        sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
        runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
