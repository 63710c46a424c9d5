"""Process groups and collectives: PyTorch's ``torch.distributed`` API on MPI (and NCCL for CUDA).

Tensors on any device take part: a CPU tensor's own NumPy memory goes to MPI when it is
contiguous (zero copy), other tensors are staged through a host copy and written back. Every
collective first compares a small signature of its arguments (operation, dtype, shape, root)
across the ranks with one 8-byte all-reduce, so a rank with another shape or dtype makes every
rank raise instead of summing garbage. Every wait is bounded (see ``ember.distributed._mpi``).
"""

from __future__ import annotations

import enum
import os
import sys
import zlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import numpy as np

from . import _mpi
from ._mpi import DistBackendError, DistError

__all__ = [
    "Backend", "DistBackendError", "DistError", "GroupMember", "ProcessGroup", "ReduceOp", "Work", "group",
    "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce", "barrier", "broadcast",
    "broadcast_object_list", "destroy_process_group", "gather", "get_backend", "get_global_rank",
    "get_group_rank", "get_process_group_ranks", "get_rank", "get_world_size", "init_process_group",
    "irecv", "is_available", "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
    "is_torchelastic_launched", "isend", "new_group", "recv", "reduce", "reduce_scatter",
    "reduce_scatter_tensor", "scatter", "send", "default_pg_timeout",
]

#: PyTorch's default timeout for a process group's operations.
default_pg_timeout = timedelta(minutes=30)


class ReduceOp(enum.IntEnum):
    """How ``all_reduce``/``reduce``/``reduce_scatter_tensor`` combine the ranks' values (PyTorch's numbering)."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


class Backend(str):
    """A backend's name: ``Backend.MPI``, ``Backend.GLOO`` (run on MPI), ``Backend.NCCL`` (CUDA)."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    MPI = "mpi"
    NCCL = "nccl"

    def __new__(cls, name: str) -> Backend:
        value = str(name).lower()
        if ":" in value:  # PyTorch's per-device form, "cpu:gloo,cuda:nccl": NCCL when CUDA gets it
            parts = dict(p.split(":", 1) for p in value.split(","))
            value = "nccl" if parts.get("cuda") == "nccl" else parts.get("cpu", "gloo")
        if value not in ("gloo", "mpi", "nccl"):
            raise ValueError(f"Invalid backend: '{name}' (ember.distributed has 'mpi', 'gloo' (on MPI) and 'nccl')")
        return super().__new__(cls, value)


def is_available() -> bool:
    """True when mpi4py is installed (``pip install 'ember[distributed]'``)."""
    from importlib.util import find_spec

    return find_spec("mpi4py") is not None


is_mpi_available = is_available
is_gloo_available = is_available  # "gloo" runs on MPI here


def is_nccl_available() -> bool:
    """True when the CUDA backend offers device-native collectives (CuPy with its NCCL bindings)."""
    from ember import plugins

    backend = plugins.backend("cuda")
    return backend is not None and backend.has_collectives()


def is_torchelastic_launched() -> bool:
    """True under ``python -m ember.distributed.run`` (PyTorch's name for the torchrun check)."""
    return os.environ.get("EMBER_DIST_LAUNCHED") == "1"


# ---- process groups -------------------------------------------------------------------------------
class ProcessGroup:
    """A set of ranks with their own MPI communicator (a duplicate, so its messages never mix with others')."""

    def __init__(self, comm: Any, ranks: list[int], backend: str, timeout: float) -> None:
        self.comm = comm
        self.ranks = ranks
        self.backend = backend
        self.timeout = timeout
        self._nccl: Any = None

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return len(self.ranks)

    def name(self) -> str:
        return self.backend.upper()

    def __repr__(self) -> str:
        return f"<ember.distributed.ProcessGroup {self.backend} ranks={self.ranks}>"


class GroupMember:
    """``GroupMember.WORLD`` (the default group) and ``NON_GROUP_MEMBER`` (what ``new_group`` gives outsiders)."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = object()


class _World:
    def __init__(self) -> None:
        self.pg: ProcessGroup | None = None
        self.peers: _mpi.Peers | None = None
        self.prev_hook: Any = None


_W = _World()


class _GroupNamespace:
    @property
    def WORLD(self) -> ProcessGroup | None:  # noqa: N802 - PyTorch's name
        return _W.pg


group = _GroupNamespace()


def _seconds(timeout: Any) -> float:
    if timeout is None:
        return default_pg_timeout.total_seconds()
    return timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)


def _env_int(*names: str) -> int | None:
    for n in names:
        v = os.environ.get(n)
        if v not in (None, ""):
            return int(v)
    return None


def is_initialized() -> bool:
    """Whether ``init_process_group`` has run (and ``destroy_process_group`` not since)."""
    return _W.pg is not None


def _default() -> ProcessGroup:
    if _W.pg is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return _W.pg


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout: Any = None,
                       world_size: int = -1, rank: int = -1, store: Any = None, group_name: str = "",
                       pg_options: Any = None, device_id: Any = None) -> None:
    """Join the default process group: every process started by the MPI launcher calls this once.

    The processes come from ``python -m ember.distributed.run`` (or ``mpiexec``/``srun``), which
    also does the rendezvous, so ``init_method`` "env://" (or none) is the usual choice and
    ``rank``/``world_size``, when given (or set as RANK/WORLD_SIZE), must agree with MPI's.
    ``backend``: "mpi", "gloo" (the same MPI engine; PyTorch's CPU default) or "nccl" (CUDA tensors
    through CuPy's NCCL; others still go through MPI). ``timeout`` bounds every operation.

    Example (a single process is a world of one)::

        >>> import ember, ember.distributed as dist
        >>> dist.init_process_group("gloo")
        >>> t = ember.ones(3); dist.all_reduce(t); t
        tensor([1., 1., 1.])
        >>> dist.destroy_process_group()
    """
    if _W.pg is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None:
        raise ValueError("ember.distributed does its rendezvous through the MPI launcher: store= is not supported")
    if init_method not in (None, "env://") and not str(init_method).startswith(("tcp://", "file://")):
        raise ValueError(f"unsupported init_method {init_method!r}; use 'env://'")
    name = Backend(backend or "gloo")
    if name == Backend.NCCL and not is_nccl_available():
        raise RuntimeError("the nccl backend needs CuPy with NCCL (pip install 'ember[cuda]')")
    mpi = _mpi.MPI()
    world = mpi.COMM_WORLD
    size, me = world.Get_size(), world.Get_rank()
    want_size = world_size if world_size != -1 else _env_int("WORLD_SIZE")
    want_rank = rank if rank != -1 else _env_int("RANK")
    if want_size is not None and want_size != size:
        raise ValueError(f"world_size={want_size} but MPI started {size} process(es): start the processes with "
                         f"'python -m ember.distributed.run --nproc-per-node {want_size} script.py' "
                         "(or mpiexec -n / srun), which does the rendezvous")
    if want_rank is not None and want_rank != me:
        raise ValueError(f"rank={want_rank} but MPI gave this process rank {me}; let the launcher set RANK")
    seconds = _seconds(timeout)
    ranks = list(range(size))
    table = np.zeros((size, 2), np.int64)
    mine = np.array(_mpi.Peers.my_row(), np.int64)
    _mpi.wait(world.Iallgather(mine, table), what="init_process_group", timeout=seconds, peers=None, ranks=ranks)
    peers = _mpi.Peers(table.tolist(), me)
    comm, req = world.Idup()
    _mpi.wait(req, what="init_process_group", timeout=seconds, peers=peers, ranks=ranks)
    pg = ProcessGroup(comm, ranks, str(name), seconds)
    _W.pg, _W.peers = pg, peers
    GroupMember.WORLD = pg
    _W.prev_hook = sys.excepthook
    sys.excepthook = _notify_then(sys.excepthook)
    if name == Backend.NCCL:
        _nccl_for(pg)


def _notify_then(prev: Callable) -> Callable:
    def hook(tp: type, value: BaseException, tb: Any) -> None:
        # an uncaught error: tell the other ranks now, so they fail naming this rank instead of waiting
        if not getattr(value, "_ember_from_peer", False):
            _mpi.send_abort_notices(f"{tp.__name__}: {value}")
        prev(tp, value, tb)

    return hook


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Leave the default group (``group=None``) or free one group made by ``new_group``."""
    pg = group if group is not None else _W.pg
    if pg is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    if pg is group and pg is not _W.pg:
        _free(pg)
        return
    _free(pg)
    for g in _W.__dict__.get("subgroups", []):
        _free(g)
    _W.__dict__["subgroups"] = []
    if _W.prev_hook is not None:
        sys.excepthook = _W.prev_hook
    _W.pg, _W.peers, _W.prev_hook = None, None, None
    GroupMember.WORLD = None


def _free(pg: ProcessGroup) -> None:
    comm, pg.comm = pg.comm, None
    if comm is not None:
        try:
            comm.Free()
        except Exception:  # noqa: BLE001 - freeing after a failure must not raise a second error
            pass


def new_group(ranks: Sequence[int] | None = None, timeout: Any = None, backend: str | None = None,
              pg_options: Any = None, use_local_synchronization: bool = False, group_desc: str | None = None,
              device_id: Any = None) -> Any:
    """A group of some ranks (every rank calls it, as in PyTorch); outsiders get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _default()
    members = sorted(range(world.size()) if ranks is None else {int(r) for r in ranks})
    for r in members:
        if not 0 <= r < world.size():
            raise ValueError(f"Invalid rank {r}: the world has {world.size()} ranks")
    seconds = _seconds(timeout) if timeout is not None else world.timeout
    me = world.rank()
    # agree that every rank is here (timed), then build the communicator among the members
    _wait(world, world.comm.Ibarrier(), "new_group")
    if me not in members:
        return GroupMember.NON_GROUP_MEMBER
    comm = world.comm.Create_group(world.comm.Get_group().Incl(members))
    pg = ProcessGroup(comm, members, str(Backend(backend)) if backend else world.backend, seconds)
    _W.__dict__.setdefault("subgroups", []).append(pg)
    if pg.backend == Backend.NCCL:
        _nccl_for(pg)
    return pg


def _group(g: Any) -> ProcessGroup | None:
    """The group to use, or None when this rank is not in it (the op is then a no-op, as in PyTorch)."""
    if g is None or g is GroupMember.WORLD:
        return _default()
    if g is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(g, ProcessGroup):
        raise TypeError(f"expected a ProcessGroup, got {type(g).__name__}")
    if g.comm is None:
        raise ValueError("the process group has been destroyed")
    return g


def get_rank(group: Any = None) -> int:
    """This process's rank in ``group`` (the world by default); -1 outside the group."""
    pg = _group(group)
    return -1 if pg is None else pg.rank()


def get_world_size(group: Any = None) -> int:
    """The number of ranks in ``group`` (the world by default); -1 outside the group."""
    pg = _group(group)
    return -1 if pg is None else pg.size()


def get_backend(group: Any = None) -> str:
    pg = _group(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return pg.backend


def get_process_group_ranks(group: Any) -> list[int]:
    pg = _group(group)
    return [] if pg is None else list(pg.ranks)


def get_global_rank(group: Any, group_rank: int) -> int:
    pg = _group(group)
    if pg is None or not 0 <= group_rank < pg.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {group}")
    return pg.ranks[group_rank]


def get_group_rank(group: Any, global_rank: int) -> int:
    pg = _group(group)
    if pg is None or global_rank not in pg.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return pg.ranks.index(global_rank)


def _local(pg: ProcessGroup, global_rank: int, what: str) -> int:
    if global_rank not in pg.ranks:
        raise ValueError(f"{what}: rank {global_rank} is not part of the group {pg.ranks}")
    return pg.ranks.index(global_rank)


# ---- waiting, work handles -----------------------------------------------------------------------
def _wait(pg: ProcessGroup, req: Any, what: str, timeout: float | None = None) -> Any:
    try:
        return _mpi.wait(req, what=what, timeout=pg.timeout if timeout is None else timeout,
                         peers=_W.peers, ranks=pg.ranks)
    except DistBackendError as e:
        e._ember_from_peer = True  # the fault is another rank's: this rank does not send abort notices
        raise


class Work:
    """The handle an ``async_op=True`` operation returns: ``wait()``, ``is_completed()``."""

    def __init__(self, pg: ProcessGroup, reqs: list, finish: Callable[[list], Any] | None, what: str) -> None:
        self._pg, self._reqs, self._finish, self._what = pg, reqs, finish, what
        self._done = False
        self._statuses: list = [None] * len(reqs)
        self._exc: BaseException | None = None
        self.result_value: Any = None

    def is_completed(self) -> bool:
        """True once the operation has finished (then its results are in place); never blocks."""
        if self._done:
            return True
        mpi = _mpi.MPI()
        for i, r in enumerate(self._reqs):
            if self._statuses[i] is None:
                st = mpi.Status()
                if not r.Test(st):
                    return False
                self._statuses[i] = st
        self.wait()
        return True

    def is_success(self) -> bool:
        return self._done and self._exc is None

    def exception(self) -> BaseException | None:
        return self._exc

    def wait(self, timeout: Any = None) -> bool:
        """Block until the operation has finished (its results written into the tensors); True."""
        if self._done:
            if self._exc is not None:
                raise self._exc
            return True
        seconds = None if timeout is None else _seconds(timeout)
        try:
            for i, r in enumerate(self._reqs):
                if self._statuses[i] is None:
                    self._statuses[i] = _wait(self._pg, r, self._what, seconds)
            if self._finish is not None:
                self.result_value = self._finish(self._statuses)
        except BaseException as e:
            self._exc = e
            self._done = True
            raise
        self._done = True
        return True

    def result(self) -> Any:
        self.wait()
        return self.result_value


def _run(pg: ProcessGroup, reqs: list, finish: Callable | None, what: str, async_op: bool) -> Work | None:
    work = Work(pg, reqs, finish, what)
    if async_op:
        return work
    work.wait()
    return None


# ---- tensors <-> MPI buffers ---------------------------------------------------------------------
class _Host:
    """A tensor's values as a C-contiguous NumPy array MPI can use; ``done()`` writes results back.

    A contiguous, writable CPU tensor lends its own array (no copy); anything else (another
    device, a non-contiguous view) is copied to the host and, if ``write``, copied back after.
    """

    def __init__(self, t: Any, write: bool) -> None:
        self.t = t
        data = t._data
        if t.device.type == "cpu" and data.flags.c_contiguous and (data.flags.writeable or not write):
            self.arr, self._copy_back = data, False
        else:
            host = data if t.device.type == "cpu" else t._kt["to_host"](data)
            self.arr = np.array(host, order="C") if write else np.ascontiguousarray(host)
            self._copy_back = write
        self.write = write

    def done(self) -> None:
        t = self.t
        if not self.write:
            return
        if not self._copy_back:
            t._bump_version()
            return
        from ember.autograd.grad_mode import no_grad
        from ember.functions.creation import from_numpy

        with no_grad():
            if t.device.type == "cpu":
                np.copyto(t._data, self.arr.reshape(t._data.shape))
                t._bump_version()
            else:
                t.copy_(from_numpy(self.arr.reshape(tuple(t.shape))))


def _bytes(a: np.ndarray) -> np.ndarray:
    """The same memory as bytes: data movement does not care about the dtype (bfloat16 included)."""
    return a.reshape(-1).view(np.uint8)


_NATIVE = {np.dtype(c) for c in ("f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "c8", "c16")}


def _mpi_op(op: ReduceOp, dtype: np.dtype, what: str) -> Any:
    mpi = _mpi.MPI()
    if dtype.kind == "c" and op in (ReduceOp.MIN, ReduceOp.MAX):
        raise ValueError(f"{what}: {op.name} is not defined for complex tensors")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind not in "iub":
        raise ValueError(f"{what}: {op.name} needs integer or bool tensors, got {dtype}")
    if dtype == np.bool_:  # as integers 0/1: a sum is "any", a product "all"
        return {ReduceOp.SUM: mpi.MAX, ReduceOp.AVG: mpi.MAX, ReduceOp.PRODUCT: mpi.MIN, ReduceOp.MIN: mpi.MIN,
                ReduceOp.MAX: mpi.MAX, ReduceOp.BAND: mpi.BAND, ReduceOp.BOR: mpi.BOR, ReduceOp.BXOR: mpi.BXOR}[op]
    return {ReduceOp.SUM: mpi.SUM, ReduceOp.AVG: mpi.SUM, ReduceOp.PRODUCT: mpi.PROD, ReduceOp.MIN: mpi.MIN,
            ReduceOp.MAX: mpi.MAX, ReduceOp.BAND: mpi.BAND, ReduceOp.BOR: mpi.BOR, ReduceOp.BXOR: mpi.BXOR}[op]


def _reducible(a: np.ndarray) -> np.ndarray:
    """``a`` itself when MPI reduces its dtype, else a float32 copy (float16/bfloat16) or uint8 view (bool)."""
    if a.dtype in _NATIVE:
        return a
    if a.dtype == np.bool_:
        return a.view(np.uint8)
    return a.astype(np.float32)


def _finish_reduce(red: np.ndarray, out: np.ndarray, op: ReduceOp, n: int) -> None:
    if op == ReduceOp.AVG and out.dtype != np.bool_:
        if red.dtype.kind in "iu":
            np.floor_divide(red, n, out=red)
        else:
            red /= n
    if not np.shares_memory(red, out):
        out[...] = red.astype(out.dtype).reshape(out.shape)


def _op(op: Any) -> ReduceOp:
    try:
        return ReduceOp(int(op))
    except (TypeError, ValueError):
        raise ValueError(f"unsupported reduce op {op!r}") from None


def _desc(t: Any) -> str:
    return f"{str(t.dtype).replace('ember.', '')}{list(t.shape)}"


def _text(row: np.ndarray) -> str:
    return bytes(row).rstrip(b"\0").decode(errors="replace")


def _check_same(pg: ProcessGroup, what: str, desc: str) -> None:
    """Raise on every rank if the ranks' ``desc`` differ: one 16-byte all-reduce (MAX of h and -h)."""
    if pg.size() == 1:
        return
    mpi = _mpi.MPI()
    h = zlib.crc32(desc.encode())
    sig = np.array([h, -h], np.int64)
    _wait(pg, pg.comm.Iallreduce(mpi.IN_PLACE, sig, op=mpi.MAX), what)
    if sig[0] == -sig[1]:
        return
    row = np.zeros(160, np.uint8)
    enc = desc.encode()[:160]
    row[: len(enc)] = np.frombuffer(enc, np.uint8)
    rows = np.zeros((pg.size(), 160), np.uint8)
    _wait(pg, pg.comm.Iallgather(row, rows), what)
    seen = "; ".join(f"rank {pg.ranks[i]}: {_text(r)}" for i, r in enumerate(rows))
    raise RuntimeError(f"{what}: the ranks' arguments differ (every rank must call the same collective with "
                       f"the same shape and dtype): {seen}")


def _is_cuda(t: Any) -> bool:
    return t.device.type == "cuda"


# ---- collectives -----------------------------------------------------------------------------------
def all_reduce(tensor: Any, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False) -> Work | None:
    """Combine ``tensor`` over the ranks with ``op``; every rank ends with the result, in place.

    Example (in each of 2 processes: rank r holds r + 1)::

        >>> t = ember.tensor([float(dist.get_rank() + 1)])  # doctest: +SKIP
        >>> dist.all_reduce(t)  # doctest: +SKIP
        >>> t  # doctest: +SKIP
        tensor([3.])
    """
    pg = _group(group)
    if pg is None:
        return None
    op = _op(op)
    what = f"all_reduce (rank {get_rank()})"
    _check_same(pg, what, f"all_reduce {op.name} {_desc(tensor)}")
    if pg._nccl is not None and _is_cuda(tensor):
        return _nccl_run(pg, "all_reduce", tensor, op, async_op)
    h = _Host(tensor, write=True)
    red = _reducible(h.arr)
    req = pg.comm.Iallreduce(_mpi.MPI().IN_PLACE, red, op=_mpi_op(op, h.arr.dtype, what))

    def finish(_: list) -> None:
        _finish_reduce(red, h.arr, op, pg.size())
        h.done()

    return _run(pg, [req], finish, what, async_op)


def reduce(tensor: Any, dst: int = 0, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False,
           group_dst: int | None = None) -> Work | None:
    """Combine ``tensor`` over the ranks into rank ``dst``'s tensor (the others' are left as they are)."""
    pg = _group(group)
    if pg is None:
        return None
    op = _op(op)
    root = group_dst if group_dst is not None else _local(pg, dst, "reduce")
    what = f"reduce (rank {get_rank()})"
    _check_same(pg, what, f"reduce {op.name} root={root} {_desc(tensor)}")
    mpi = _mpi.MPI()
    h = _Host(tensor, write=pg.rank() == root)
    red = _reducible(h.arr)
    if pg.rank() == root:
        req = pg.comm.Ireduce(mpi.IN_PLACE, red, op=_mpi_op(op, h.arr.dtype, what), root=root)
    else:
        req = pg.comm.Ireduce(red, None, op=_mpi_op(op, h.arr.dtype, what), root=root)

    def finish(_: list) -> None:
        if pg.rank() == root:
            _finish_reduce(red, h.arr, op, pg.size())
            h.done()

    return _run(pg, [req], finish, what, async_op)


def broadcast(tensor: Any, src: int = 0, group: Any = None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``."""
    pg = _group(group)
    if pg is None:
        return None
    root = group_src if group_src is not None else _local(pg, src, "broadcast")
    what = f"broadcast (rank {get_rank()})"
    _check_same(pg, what, f"broadcast root={root} {_desc(tensor)}")
    if pg._nccl is not None and _is_cuda(tensor):
        return _nccl_run(pg, "broadcast", tensor, root, async_op)
    h = _Host(tensor, write=pg.rank() != root)
    req = pg.comm.Ibcast(_bytes(h.arr), root=root)
    return _run(pg, [req], lambda _: h.done(), what, async_op)


def all_gather_into_tensor(output_tensor: Any, input_tensor: Any, group: Any = None,
                           async_op: bool = False) -> Work | None:
    """Every rank's ``input_tensor`` side by side in ``output_tensor`` (shape ``[world * n, ...]`` or ``[world, n, ...]``)."""
    pg = _group(group)
    if pg is None:
        return None
    what = f"all_gather_into_tensor (rank {get_rank()})"
    if output_tensor.numel() != input_tensor.numel() * pg.size() or output_tensor.dtype != input_tensor.dtype:
        raise ValueError(f"{what}: output tensor must hold world_size ({pg.size()}) inputs of dtype "
                         f"{input_tensor.dtype}, got {_desc(output_tensor)} for input {_desc(input_tensor)}")
    _check_same(pg, what, f"all_gather_into_tensor {_desc(input_tensor)}")
    src = _Host(input_tensor, write=False)
    out = _Host(output_tensor, write=True)
    req = pg.comm.Iallgather(_bytes(src.arr), _bytes(out.arr))
    return _run(pg, [req], lambda _: out.done(), what, async_op)


def all_gather(tensor_list: list, tensor: Any, group: Any = None, async_op: bool = False) -> Work | None:
    """``tensor_list[i]`` gets rank i's ``tensor``."""
    pg = _group(group)
    if pg is None:
        return None
    what = f"all_gather (rank {get_rank()})"
    if len(tensor_list) != pg.size():
        raise ValueError(f"{what}: tensor_list must have world_size ({pg.size()}) tensors, got {len(tensor_list)}")
    _check_same(pg, what, f"all_gather {_desc(tensor)}")
    src = _Host(tensor, write=False)
    buf = np.empty((pg.size(), *src.arr.shape), src.arr.dtype)
    req = pg.comm.Iallgather(_bytes(src.arr), _bytes(buf))
    return _run(pg, [req], lambda _: _scatter_into(tensor_list, buf), what, async_op)


def _scatter_into(tensors: list, buf: np.ndarray) -> None:
    from ember.autograd.grad_mode import no_grad
    from ember.functions.creation import from_numpy

    with no_grad():
        for t, part in zip(tensors, buf):
            t.copy_(from_numpy(np.ascontiguousarray(part)).reshape(tuple(t.shape)))


def reduce_scatter_tensor(output: Any, input: Any, op: Any = ReduceOp.SUM, group: Any = None,
                          async_op: bool = False) -> Work | None:
    """Reduce ``input`` (``world`` equal chunks along dim 0) over the ranks; rank i keeps chunk i in ``output``."""
    pg = _group(group)
    if pg is None:
        return None
    op = _op(op)
    what = f"reduce_scatter_tensor (rank {get_rank()})"
    if input.numel() != output.numel() * pg.size() or output.dtype != input.dtype:
        raise ValueError(f"{what}: input tensor must hold world_size ({pg.size()}) outputs of dtype {output.dtype}, "
                         f"got {_desc(input)} for output {_desc(output)}")
    _check_same(pg, what, f"reduce_scatter_tensor {op.name} {_desc(input)}")
    src = _Host(input, write=False)
    out = _Host(output, write=True)
    send, recv = _reducible(src.arr), _reducible(out.arr)
    req = pg.comm.Ireduce_scatter_block(send, recv, op=_mpi_op(op, src.arr.dtype, what))

    def finish(_: list) -> None:
        _finish_reduce(recv, out.arr, op, pg.size())
        out.done()

    return _run(pg, [req], finish, what, async_op)


def reduce_scatter(output: Any, input_list: list, op: Any = ReduceOp.SUM, group: Any = None,
                   async_op: bool = False) -> Work | None:
    """``reduce_scatter_tensor`` with the input given as a list of ``world`` tensors."""
    from ember.functions.shape import cat

    return reduce_scatter_tensor(output, cat([t.reshape(-1) for t in input_list]), op, group, async_op)


def gather(tensor: Any, gather_list: list | None = None, dst: int = 0, group: Any = None, async_op: bool = False,
           group_dst: int | None = None) -> Work | None:
    """Rank ``dst`` gets every rank's ``tensor`` in ``gather_list`` (the others pass None)."""
    pg = _group(group)
    if pg is None:
        return None
    root = group_dst if group_dst is not None else _local(pg, dst, "gather")
    what = f"gather (rank {get_rank()})"
    mine = pg.rank() == root
    if mine and (gather_list is None or len(gather_list) != pg.size()):
        raise ValueError(f"{what}: the destination rank needs a gather_list of world_size ({pg.size()}) tensors")
    if not mine and gather_list:
        raise ValueError(f"{what}: gather_list must be None or empty on non-destination ranks")
    _check_same(pg, what, f"gather root={root} {_desc(tensor)}")
    src = _Host(tensor, write=False)
    buf = np.empty((pg.size(), *src.arr.shape), src.arr.dtype) if mine else None
    req = pg.comm.Igather(_bytes(src.arr), _bytes(buf) if mine else None, root=root)
    return _run(pg, [req], (lambda _: _scatter_into(gather_list, buf)) if mine else None, what, async_op)


def scatter(tensor: Any, scatter_list: list | None = None, src: int = 0, group: Any = None, async_op: bool = False,
            group_src: int | None = None) -> Work | None:
    """Rank i's ``tensor`` gets ``scatter_list[i]`` of rank ``src`` (the others pass None)."""
    pg = _group(group)
    if pg is None:
        return None
    root = group_src if group_src is not None else _local(pg, src, "scatter")
    what = f"scatter (rank {get_rank()})"
    mine = pg.rank() == root
    if mine and (scatter_list is None or len(scatter_list) != pg.size()):
        raise ValueError(f"{what}: the source rank needs a scatter_list of world_size ({pg.size()}) tensors")
    if not mine and scatter_list:
        raise ValueError(f"{what}: scatter_list must be None or empty on non-source ranks")
    if mine and any(tuple(t.shape) != tuple(tensor.shape) or t.dtype != tensor.dtype for t in scatter_list):
        raise ValueError(f"{what}: every tensor in scatter_list must be {_desc(tensor)}")
    _check_same(pg, what, f"scatter root={root} {_desc(tensor)}")
    out = _Host(tensor, write=True)
    sendbuf = np.stack([_Host(t, write=False).arr for t in scatter_list]) if mine else None
    req = pg.comm.Iscatter(_bytes(sendbuf) if mine else None, _bytes(out.arr), root=root)
    return _run(pg, [req], lambda _: out.done(), what, async_op)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    """Wait until every rank of ``group`` has reached this call (bounded by the group's timeout)."""
    pg = _group(group)
    if pg is None:
        return None
    what = f"barrier (rank {get_rank()})"
    _check_same(pg, what, "barrier")  # a rank in another collective gets an error, not a mixed-up match
    return _run(pg, [pg.comm.Ibarrier()], None, what, async_op)


# ---- point to point --------------------------------------------------------------------------------
def isend(tensor: Any, dst: int | None = None, group: Any = None, tag: int = 0,
          group_dst: int | None = None) -> Work | None:
    """Start sending ``tensor`` to rank ``dst``; returns a work handle."""
    pg = _group(group)
    if pg is None:
        return None
    peer = group_dst if group_dst is not None else _local(pg, dst, "send")
    h = _Host(tensor, write=False)
    req = pg.comm.Isend(_bytes(h.arr), dest=peer, tag=tag)
    return Work(pg, [req], None, f"send to rank {pg.ranks[peer]} (rank {get_rank()})")


def irecv(tensor: Any, src: int | None = None, group: Any = None, tag: int = 0,
          group_src: int | None = None) -> Work | None:
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None); returns a work handle."""
    pg = _group(group)
    if pg is None:
        return None
    mpi = _mpi.MPI()
    peer = group_src if group_src is not None else (mpi.ANY_SOURCE if src is None else _local(pg, src, "recv"))
    h = _Host(tensor, write=True)
    req = pg.comm.Irecv(_bytes(h.arr), source=peer, tag=tag)
    what = f"recv from rank {'any' if src is None and group_src is None else pg.ranks[peer]} (rank {get_rank()})"

    def finish(statuses: list) -> int:
        got = statuses[0].Get_count(mpi.BYTE)
        if got != h.arr.nbytes:
            raise RuntimeError(f"{what}: received {got} bytes but the tensor {_desc(tensor)} has {h.arr.nbytes}")
        h.done()
        return pg.ranks[statuses[0].Get_source()]

    return Work(pg, [req], finish, what)


def send(tensor: Any, dst: int | None = None, group: Any = None, tag: int = 0, group_dst: int | None = None) -> None:
    """Send ``tensor`` to rank ``dst`` (returns when the buffer may be reused)."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor: Any, src: int | None = None, group: Any = None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor`` from rank ``src`` (any when None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    return work.result()


# ---- Python objects ------------------------------------------------------------------------------------
def all_gather_object(object_list: list, obj: Any, group: Any = None) -> None:
    """``object_list[i]`` gets rank i's picklable ``obj``."""
    import pickle

    pg = _group(group)
    if pg is None:
        return
    what = f"all_gather_object (rank {get_rank()})"
    _check_same(pg, what, "all_gather_object")
    data = np.frombuffer(pickle.dumps(obj), np.uint8)
    sizes = np.zeros(pg.size(), np.int64)
    _wait(pg, pg.comm.Iallgather(np.array([data.size], np.int64), sizes), what)
    buf = np.empty(int(sizes.sum()), np.uint8)
    counts = [int(s) for s in sizes]
    _wait(pg, pg.comm.Iallgatherv(data, [buf, counts]), what)
    offs = np.concatenate([[0], np.cumsum(sizes)])
    for i in range(pg.size()):
        object_list[i] = pickle.loads(buf[offs[i]:offs[i + 1]].tobytes())


def broadcast_object_list(object_list: list, src: int = 0, group: Any = None, device: Any = None,
                          group_src: int | None = None) -> None:
    """Every rank's ``object_list`` becomes rank ``src``'s (picklable objects)."""
    import pickle

    pg = _group(group)
    if pg is None:
        return
    root = group_src if group_src is not None else _local(pg, src, "broadcast_object_list")
    what = f"broadcast_object_list (rank {get_rank()})"
    _check_same(pg, what, f"broadcast_object_list root={root}")
    data = np.frombuffer(pickle.dumps(list(object_list)), np.uint8) if pg.rank() == root else None
    size = np.array([0 if data is None else data.size], np.int64)
    _wait(pg, pg.comm.Ibcast(size, root=root), what)
    buf = data.copy() if data is not None else np.empty(int(size[0]), np.uint8)
    _wait(pg, pg.comm.Ibcast(buf, root=root), what)
    object_list[:] = pickle.loads(buf.tobytes())


# ---- NCCL (CUDA tensors) -------------------------------------------------------------------------------
def _nccl_for(pg: ProcessGroup) -> None:
    """The CUDA backend's communicator for ``pg`` (NCCL, its id handed out over MPI)."""
    from ember import plugins

    def share(buf: np.ndarray) -> None:
        _mpi.wait(pg.comm.Ibcast(buf, root=0), what="nccl init", timeout=pg.timeout, peers=None, ranks=pg.ranks)

    pg._nccl = plugins.backend("cuda").collective_communicator(pg.rank(), pg.size(), share)


def _nccl_run(pg: ProcessGroup, name: str, tensor: Any, arg: Any, async_op: bool) -> Work | None:
    pg._nccl.run(name, tensor, arg)
    if async_op:
        work = Work(pg, [], None, name)
        return work
    return None
