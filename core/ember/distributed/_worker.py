"""What ``ember.distributed.run`` starts in each MPI process: torchrun's environment, then the script.

Started by path, not with ``-m``: the supervising process (see ``_supervise``) then stays a small
Python that never imports ember.

RANK/LOCAL_RANK/GROUP_RANK come from the MPI launcher's own variables (MPICH/Hydra, Open MPI,
Slurm). An uncaught error is written to the launcher's error folder, announced to the other ranks
(so they fail naming this rank instead of waiting), and ends the process without MPI_Finalize,
which makes mpiexec stop the whole job.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import time
import traceback

_RANK = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID")
_LOCAL = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")


def _first(names: tuple, default: str | None = None) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n, "") != ""), default)


def set_env() -> None:
    rank = int(_first(_RANK, "0"))
    local_ws = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    local = int(_first(_LOCAL, str(rank % local_ws)))
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(local), "GROUP_RANK": str(rank // local_ws),
                       "ROLE_RANK": str(rank), "ROLE_WORLD_SIZE": os.environ.get("WORLD_SIZE", "1")})


def _report(exc: BaseException) -> None:
    from ember.distributed import _mpi

    from_peer = bool(getattr(exc, "_ember_from_peer", False))
    error = f"{type(exc).__name__}: {exc}"
    traceback.print_exception(type(exc), exc, exc.__traceback__)
    folder = os.environ.get("EMBER_DIST_ERROR_DIR")
    if folder:
        rec = {"rank": int(os.environ["RANK"]), "local_rank": int(os.environ["LOCAL_RANK"]), "error": error,
               "traceback": traceback.format_exc(), "time": time.time(), "from_peer": from_peer}
        try:
            with open(os.path.join(folder, f"rank{rec['rank']}.json"), "w") as f:
                json.dump(rec, f)
        except OSError:
            pass
    if not from_peer:
        _mpi.send_abort_notices(error)


def _die_with_parent() -> None:
    """In the child, before exec: be killed when the supervisor dies (mpiexec may SIGKILL it)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _supervise() -> None:
    """Run this rank as a child process and report how it ended: a signal (SIGKILL) leaves no
    traceback, so the supervisor writes the error record, waits a moment (the other ranks, which
    watch their local peers' processes, fail naming this rank) and exits non-zero, which makes
    mpiexec stop the job. The child inherits the MPI launcher's connection (PMI_FD)."""
    import signal
    import subprocess

    env = {**os.environ, "EMBER_DIST_CHILD": "1"}
    child = subprocess.Popen([sys.executable, "-u", os.path.abspath(__file__), *sys.argv[1:]], env=env,
                             close_fds=False, preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda signum, _f: child.send_signal(signum))
    rc = child.wait()
    if rc > 0:
        os._exit(rc)  # the child has reported its error
    if rc == 0:
        return
    name = signal.Signals(-rc).name
    folder = os.environ.get("EMBER_DIST_ERROR_DIR")
    if folder:
        rank = int(os.environ["RANK"])
        rec = {"rank": rank, "local_rank": int(os.environ["LOCAL_RANK"]), "error": f"killed by {name}",
               "traceback": "", "time": time.time(), "from_peer": False}
        try:  # on another node than the launcher's the folder does not exist: the report is mpiexec's
            with open(os.path.join(folder, f"rank{rank}.json"), "w") as f:
                json.dump(rec, f)
        except OSError:
            pass
    sys.stderr.write(f"ember.distributed: rank {os.environ['RANK']} (pid {child.pid}) was killed by {name}\n")
    time.sleep(2.0)  # bounded: long enough for a loaded machine's ranks to notice, then mpiexec ends the job
    os._exit(128 - rc)


def main() -> None:
    # started by path (so the supervisor does not import ember): this folder is not the user's path
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    set_env()
    if sys.argv[1:2] == ["--exec"]:  # --no-python: the program itself, with torchrun's environment
        os.execvp(sys.argv[2], sys.argv[2:])
    if os.environ.get("EMBER_DIST_CHILD") != "1":
        _supervise()
        return
    argv = sys.argv[1:]
    as_module = argv[:1] == ["-m"]
    if as_module:
        argv = argv[1:]
    sys.argv = argv
    code = 0
    try:
        if as_module:
            sys.path.insert(0, os.getcwd())  # as python -m
            runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as e:
        if e.code in (None, 0):
            return
        code = e.code if isinstance(e.code, int) else 1
        _report(RuntimeError(f"exited with {e.code}"))
    except BaseException as e:  # noqa: BLE001 - every failure ends the job
        code = 1
        _report(e)
    if code:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # without MPI_Finalize: mpiexec then stops the other ranks


if __name__ == "__main__":
    main()
