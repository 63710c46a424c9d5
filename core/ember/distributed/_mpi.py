"""The MPI engine under ``ember.distributed``: communicators, timed waits and failure detection.

MPI has no timeouts, and a blocking MPI call waits forever for a rank that died. So every
operation here is started non-blocking and finished by :func:`wait`, which polls the request and,
while it waits, looks for signs that a peer is gone:

* an *abort notice*: a rank that fails (an uncaught exception, through the launcher's worker or
  the ``sys.excepthook`` set by ``init_process_group``) sends one small message on ``COMM_WORLD``
  with a reserved tag to every other rank, naming itself and its error;
* a peer's process has exited (ranks on the same host compare process ids; this catches SIGKILL);
* the group's timeout has passed.

Each raises :class:`DistBackendError` naming the rank, so no rank hangs on a dead one.
"""

from __future__ import annotations

import os
import pickle
import socket
import time
import zlib
from typing import Any

__all__ = ["DistBackendError", "DistError", "MPI", "abort_notice_tag", "send_abort_notices", "wait", "Peers"]

#: A tag above every tag users pass to send/recv on ember's own communicators (those are dups,
#: so this tag on COMM_WORLD can never match a user message anyway).
abort_notice_tag = 32000
_POLL_PEERS_S = 0.05  # how often a waiting rank looks for dead peers


class DistError(RuntimeError):
    """An error of ``ember.distributed`` (PyTorch's ``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """A collective could not finish: a peer failed, exited or timed out (PyTorch's name)."""


def MPI() -> Any:  # noqa: N802 - the module's name
    """``mpi4py.MPI``, imported on first use (importing it initialises MPI)."""
    try:
        from mpi4py import MPI as mpi
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("ember.distributed needs mpi4py and an MPI library: pip install 'ember[distributed]' "
                           f"(mpi4py and the mpich wheel) ({e})") from None
    return mpi


def _mpi_if_running() -> Any:
    import sys

    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is None or not mpi.Is_initialized() or mpi.Is_finalized():
        return None
    return mpi


class Peers:
    """Where every world rank runs (host hash, pid), to tell a dead local peer from a slow one."""

    def __init__(self, table: Any, me: int) -> None:
        self.me = me
        host = table[me][0]
        self.local = {r: int(pid) for r, (h, pid) in enumerate(table) if h == host and r != me}

    @staticmethod
    def my_row() -> tuple[int, int]:
        return zlib.crc32(socket.gethostname().encode()), os.getpid()

    def dead(self, ranks: Any) -> int | None:
        """The first rank among ``ranks`` whose process is gone."""
        for r in ranks:
            pid = self.local.get(r)
            if pid is not None and not _alive(pid):
                return r
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by the launcher) is dead too
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def check_abort_notices(what: str) -> None:
    """Raise if some rank has sent an abort notice."""
    mpi = _mpi_if_running()
    if mpi is None:
        return
    status = mpi.Status()
    world = mpi.COMM_WORLD
    if world.Iprobe(source=mpi.ANY_SOURCE, tag=abort_notice_tag, status=status):
        buf = bytearray(status.Get_count(mpi.BYTE))
        world.Recv([buf, mpi.BYTE], source=status.Get_source(), tag=abort_notice_tag)
        try:
            note = pickle.loads(bytes(buf))
        except Exception:  # noqa: BLE001 - a garbled notice still names its sender
            note = {"rank": status.Get_source(), "error": "(unreadable notice)"}
        raise DistBackendError(f"{what}: rank {note['rank']} failed: {note['error']}")


def send_abort_notices(error: str, grace_s: float = 1.0) -> None:
    """Tell every other rank that this one fails with ``error`` (best effort, bounded time)."""
    mpi = _mpi_if_running()
    if mpi is None:
        return
    world = mpi.COMM_WORLD
    me, size = world.Get_rank(), world.Get_size()
    payload = pickle.dumps({"rank": me, "error": error[-2000:]})
    reqs = []
    for r in range(size):
        if r != me:
            try:
                reqs.append(world.Isend([payload, mpi.BYTE], dest=r, tag=abort_notice_tag))
            except Exception:  # noqa: BLE001 - a dead peer must not stop the others' notices
                pass
    # stay a moment even when the sends are done: the others then fail with this rank's name before
    # mpiexec, seeing this process end, stops them
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            reqs = [q for q in reqs if not q.Test()]
        except Exception:  # noqa: BLE001
            reqs = []
        time.sleep(0.005)


def wait(req: Any, *, what: str, timeout: float, peers: Peers | None, ranks: Any) -> Any:
    """Finish the MPI request ``req`` or raise :class:`DistBackendError` naming the rank at fault.

    Polls as MPI's own blocking calls do (MPI only moves a message along inside an MPI call, and a
    large all-reduce takes many steps), yielding the core between polls, for up to 20 ms; then sleeps between polls with a growing
    pause (at most 1 ms) so that a long wait does not burn a core. Every 50 ms it looks for abort
    notices, dead local peers and the deadline.
    """
    mpi = MPI()
    status = mpi.Status()
    try:
        if req.Test(status):
            return status
        start = time.monotonic()
        deadline, busy_until, next_check = start + timeout, start + 0.02, start + _POLL_PEERS_S
        pause = 1e-5
        while True:
            if req.Test(status):
                return status
            now = time.monotonic()
            if now >= next_check:
                next_check = now + _POLL_PEERS_S
                check_abort_notices(what)
                if peers is not None:
                    gone = peers.dead(ranks)
                    if gone is not None:
                        raise DistBackendError(f"{what}: rank {gone} exited (its process is gone)")
                if now > deadline:
                    others = ", ".join(str(r) for r in ranks if peers is None or r != peers.me)
                    raise DistBackendError(f"{what}: timed out after {timeout:g} s waiting for the other ranks "
                                           f"({others})")
            if now < busy_until:
                os.sched_yield()  # a peer on the same core gets to run (2 ranks on 2 busy cores)
            else:
                time.sleep(pause)
                pause = min(pause * 2, 1e-3)
    except mpi.Exception as e:
        raise DistBackendError(f"{what}: MPI error: {e}") from None
