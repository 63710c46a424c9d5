"""All-to-all, batched point-to-point, the remaining object collectives and subgroup helpers.

PyTorch's ``all_to_all_single``/``all_to_all`` (expert-parallel layers, sequence sharding),
``P2POp``/``batch_isend_irecv`` (pipeline schedules), ``gather_object``/``scatter_object_list``/
``send_object_list``/``recv_object_list``, ``monitored_barrier`` and ``new_subgroups``, on the same
MPI engine as ``distributed_c10d``. The all-to-alls first exchange how many bytes each rank sends
each other rank (one small ``Alltoall``), so split sizes that disagree between a sender and its
receiver raise on both instead of truncating or reading past a buffer.

Example (a world of one: rank 0 sends its only chunk to itself)::

    >>> import ember, ember.distributed as dist
    >>> dist.init_process_group("gloo")
    >>> out = ember.empty(3)
    >>> dist.all_to_all_single(out, ember.tensor([1.0, 2.0, 3.0]))
    >>> out
    tensor([1., 2., 3.])
    >>> dist.destroy_process_group()
"""

from __future__ import annotations

import math
import os
import pickle
import warnings
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import numpy as np

from . import _mpi
from .distributed_c10d import (
    GroupMember,
    ProcessGroup,
    ReduceOp,
    Work,
    _check_same,
    _default,
    _group,
    _Host,
    _local,
    _run,
    _seconds,
    _wait,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    irecv,
    is_mpi_available,
    is_nccl_available,
    isend,
    new_group,
)

__all__ = [
    "P2POp", "all_to_all", "all_to_all_single", "batch_isend_irecv", "gather_object", "get_node_local_rank",
    "is_backend_available", "monitored_barrier", "new_subgroups", "new_subgroups_by_enumeration",
    "recv_object_list", "scatter_object_list", "send_object_list", "supports_complex",
]


def _tensor_check(t: Any, name: str) -> None:
    from ember.tensor import Tensor

    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type torch.Tensor\n"
                        f"             but got {type(t)} instead.")


def _same_dtype(tensors: Sequence[Any]) -> None:
    first = first_dtype = None
    for t in tensors:
        dt = t.dtype.to_real()  # a complex dtype counts as its element type, as in PyTorch's check
        if first is None:
            first, first_dtype = dt, t.dtype
        elif dt != first:
            # PyTorch's wording, run-on "dtypesFound" and double space included
            raise ValueError(f"Invalid usage of tensors with different dtypesFound {first_dtype} and  {t.dtype}")


# ---- all-to-all --------------------------------------------------------------------------------------
def _splits(splits: Sequence[int] | None, rows: int, size: int, what: str, name: str) -> list[int]:
    """Rows per rank along dim 0: ``splits``, or equal parts (PyTorch's checks and wording)."""
    if not splits:
        if rows % size:
            raise RuntimeError(f"{what}: Tensor's dim 0 does not divide equally across group size "
                               f"({name} has {rows} rows for {size} ranks)")
        return [rows // size] * size
    splits = [int(s) for s in splits]
    if len(splits) != size:
        raise RuntimeError(f"{what}: Number of tensor splits not equal to group size ({name}: {len(splits)} "
                           f"splits for {size} ranks)")
    if sum(splits) != rows:
        raise RuntimeError(f"{what}: Split sizes doesn't match total dim 0 size ({name}: {splits} sum to "
                           f"{sum(splits)}, dim 0 is {rows})")
    return splits


def _offsets(counts: list[int]) -> list[int]:
    return [0, *np.cumsum(counts[:-1], dtype=np.int64).tolist()] if counts else []


def _exchange_counts(pg: ProcessGroup, send: list[int], expect: list[int], what: str) -> None:
    """Every rank learns what each rank sends to and expects from each other one, so that all of
    them raise when any pair disagrees: a rank whose own counts match would otherwise go on to the
    exchange and wait there until the timeout for a peer that has already raised."""
    n = pg.size()
    table = np.zeros((n, 2 * n), np.int64)  # row i: rank i's bytes sent to each rank, then expected
    _wait(pg, pg.comm.Iallgather(np.asarray([*send, *expect], np.int64), table), what)
    me = pg.rank()
    bad = [(i, j) for j in range(n) for i in range(n) if table[i, j] != table[j, n + i]]  # i sends j
    if not bad:
        return
    mine = [(i, j) for i, j in bad if j == me]
    i, j = (mine or bad)[0]
    if j == me:
        raise RuntimeError(f"{what}: rank {pg.ranks[i]} sends {int(table[i, j])} bytes but this rank expects "
                           f"{int(table[j, n + i])} from it (the output's split sizes must equal what each rank sends)")
    raise RuntimeError(f"{what}: rank {pg.ranks[i]} sends {int(table[i, j])} bytes but rank {pg.ranks[j]} expects "
                       f"{int(table[j, n + i])} from it (the output's split sizes must equal what each rank sends)")


def _alltoallv(pg: ProcessGroup, sendbuf: np.ndarray, send: list[int], recvbuf: np.ndarray, recv: list[int]) -> Any:
    return pg.comm.Ialltoallv([sendbuf, (send, _offsets(send))], [recvbuf, (recv, _offsets(recv))])


def all_to_all_single(output: Any, input: Any, output_split_sizes: Sequence[int] | None = None,
                      input_split_sizes: Sequence[int] | None = None, group: Any = None,
                      async_op: bool = False) -> Work | None:
    """Split ``input`` along dim 0 (equally, or by ``input_split_sizes``), send part i to rank i, and
    concatenate what each rank sent into ``output`` (split by ``output_split_sizes``).

    Example (2 processes: rank r holds [2r, 2r + 1])::

        >>> out = ember.empty(2)  # doctest: +SKIP
        >>> dist.all_to_all_single(out, ember.arange(2.0) + 2 * dist.get_rank())  # doctest: +SKIP
        >>> out  # rank 0: tensor([0., 2.]), rank 1: tensor([1., 3.])  # doctest: +SKIP
    """
    _tensor_check(output, "output")
    _tensor_check(input, "input")
    _same_dtype([output, input])
    pg = _group(group)
    if pg is None:
        return None
    what = f"all_to_all_single (rank {get_rank()})"
    n = pg.size()
    # a 0-d tensor is one row (PyTorch's world of one passes it through)
    in_rows = _splits(input_split_sizes, int(input.shape[0]) if input.dim() else 1, n, what, "input")
    out_rows = _splits(output_split_sizes, int(output.shape[0]) if output.dim() else 1, n, what, "output")
    src, dst = _Host(input, write=False), _Host(output, write=True)
    in_row = src.arr.itemsize * math.prod(src.arr.shape[1:])
    out_row = dst.arr.itemsize * math.prod(dst.arr.shape[1:])
    send = [r * in_row for r in in_rows]
    recv = [r * out_row for r in out_rows]
    _check_same(pg, what, f"all_to_all_single {input.dtype.to_real()}")
    _exchange_counts(pg, send, recv, what)
    req = _alltoallv(pg, src.arr.reshape(-1).view(np.uint8), send, dst.arr.reshape(-1).view(np.uint8), recv)
    return _run(pg, [req], lambda _: dst.done(), what, async_op)


def all_to_all(output_tensor_list: list, input_tensor_list: list, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Send ``input_tensor_list[i]`` to rank i; ``output_tensor_list[i]`` receives rank i's tensor.

    The tensors may differ in shape (each receiver's ``output_tensor_list[i]`` must hold exactly what
    rank i sends it) but not in dtype.
    """
    for t in output_tensor_list:
        _tensor_check(t, "output_tensor_list")
    for t in input_tensor_list:
        _tensor_check(t, "input_tensor_list")
    _same_dtype([*output_tensor_list, *input_tensor_list])
    pg = _group(group)
    if pg is None:
        return None
    what = f"all_to_all (rank {get_rank()})"
    n = pg.size()
    if len(input_tensor_list) != n or len(output_tensor_list) != n:
        raise RuntimeError(f"{what}: input_tensor_list and output_tensor_list must have world_size ({n}) tensors, "
                           f"got {len(input_tensor_list)} and {len(output_tensor_list)}")
    srcs = [_Host(t, write=False) for t in input_tensor_list]
    dsts = [_Host(t, write=True) for t in output_tensor_list]
    send = [h.arr.nbytes for h in srcs]
    recv = [h.arr.nbytes for h in dsts]
    _check_same(pg, what, f"all_to_all {input_tensor_list[0].dtype.to_real() if n else ''}")
    _exchange_counts(pg, send, recv, what)
    sendbuf = np.concatenate([h.arr.reshape(-1).view(np.uint8) for h in srcs]) if n else np.empty(0, np.uint8)
    recvbuf = np.empty(sum(recv), np.uint8)
    req = _alltoallv(pg, sendbuf, send, recvbuf, recv)

    def finish(_: list) -> None:
        for h, lo, size in zip(dsts, _offsets(recv), recv):
            h.arr.reshape(-1).view(np.uint8)[...] = recvbuf[lo:lo + size]
            h.done()

    return _run(pg, [req], finish, what, async_op)


# ---- batched point to point ---------------------------------------------------------------------------
class P2POp:
    """One send or receive for :func:`batch_isend_irecv`: ``P2POp(dist.isend, tensor, peer)``.

    ``peer`` is a global rank; ``group_peer`` the same rank numbered within ``group``.
    """

    def __new__(cls, op: Callable, tensor: Any, peer: int | None = None, group: Any = None, tag: int = 0,
                group_peer: int | None = None) -> P2POp:
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                             "``torch.distributed.irecv``.")
        _tensor_check(tensor, "tensor")
        return object.__new__(cls)

    def __init__(self, op: Callable, tensor: Any, peer: int | None = None, group: Any = None, tag: int = 0,
                 group_peer: int | None = None) -> None:
        self.op, self.tensor, self.tag = op, tensor, tag
        self.group = _default() if group is None else group
        if (peer is None) == (group_peer is None):
            raise ValueError("P2POp needs exactly one of peer and group_peer")
        if group_peer is None:
            self.peer = int(peer)
            self.group_peer = _local(self.group, self.peer, "P2POp") if isinstance(self.group, ProcessGroup) else -1
        else:
            self.group_peer = int(group_peer)
            self.peer = self.group.ranks[self.group_peer]

    def __repr__(self) -> str:
        me = get_rank(self.group)
        src, dst = (me, self.group_peer) if self.op is isend else (self.group_peer, me)
        name = "0" if self.group is _default() else "/".join(map(str, self.group.ranks))
        return (f"P2POp({self.op.__name__} pg={name}, group_src={src}, group_dst={dst},  "
                f"{self.tensor.shape}, {self.tensor.dtype})")


def batch_isend_irecv(p2p_op_list: list) -> list:
    """Start every send and receive of ``p2p_op_list`` at once; returns their work handles (``wait()``).

    Their order in the list does not matter between different peers (nothing blocks until ``wait``),
    only among several messages to the same peer in the same direction, as in PyTorch.
    """
    if not isinstance(p2p_op_list, list) or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    group = p2p_op_list[0].group
    if not all(p.group is group for p in p2p_op_list):
        raise ValueError("All ops need to use the same group.")
    works = []
    for p in p2p_op_list:
        key = "group_dst" if p.op is isend else "group_src"
        works.append(p.op(p.tensor, group=p.group, tag=p.tag, **{key: p.group_peer}))
    return works


# ---- Python objects ---------------------------------------------------------------------------------------
def _pickled(obj: Any) -> np.ndarray:
    return np.frombuffer(pickle.dumps(obj), np.uint8)


def _root(pg: ProcessGroup, rank: int | None, group_rank: int | None, what: str) -> int:
    if group_rank is not None:
        return int(group_rank)
    return _local(pg, 0 if rank is None else int(rank), what)


def gather_object(obj: Any, object_gather_list: list | None = None, dst: int | None = None, group: Any = None,
                  group_dst: int | None = None) -> None:
    """Rank ``dst`` (default 0) gets every rank's picklable ``obj``: ``object_gather_list[i]`` is rank i's.

    Unpickling runs code from the other ranks' data: use it with processes you trust, as in PyTorch.
    """
    pg = _group(group)
    if pg is None:
        return
    root = _root(pg, dst, group_dst, "gather_object")
    what = f"gather_object (rank {get_rank()})"
    mine = pg.rank() == root
    if mine and not object_gather_list:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    if not mine and object_gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    _check_same(pg, what, f"gather_object root={root}")
    data = _pickled(obj)
    sizes = np.zeros(pg.size(), np.int64)
    _wait(pg, pg.comm.Igather(np.array([data.size], np.int64), sizes if mine else None, root=root), what)
    counts = sizes.tolist()
    buf = np.empty(int(sizes.sum()) if mine else 0, np.uint8)
    _wait(pg, pg.comm.Igatherv(data, [buf, (counts, _offsets(counts))] if mine else None, root=root), what)
    if mine:
        for i, (lo, size) in enumerate(zip(_offsets(counts), counts)):
            object_gather_list[i] = pickle.loads(buf[lo:lo + size].tobytes())


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list: list | None = None,
                        src: int | None = None, group: Any = None, group_src: int | None = None) -> None:
    """Rank i's ``scatter_object_output_list[0]`` becomes ``scatter_object_input_list[i]`` of rank ``src``."""
    pg = _group(group)
    if pg is None:
        return
    root = _root(pg, src, group_src, "scatter_object_list")
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at least 1.")
    what = f"scatter_object_list (rank {get_rank()})"
    mine = pg.rank() == root
    if mine and (scatter_object_input_list is None or len(scatter_object_input_list) != pg.size()):
        got = None if scatter_object_input_list is None else len(scatter_object_input_list)
        raise ValueError(f"{what}: the source rank needs scatter_object_input_list with world_size "
                         f"({pg.size()}) objects, got {got}")
    _check_same(pg, what, f"scatter_object_list root={root}")
    parts = [_pickled(o) for o in scatter_object_input_list] if mine else []
    counts = [p.size for p in parts]
    size = np.zeros(1, np.int64)
    _wait(pg, pg.comm.Iscatter(np.asarray(counts, np.int64) if mine else None, size, root=root), what)
    buf = np.empty(int(size[0]), np.uint8)
    send = [np.concatenate(parts) if parts else np.empty(0, np.uint8), (counts, _offsets(counts))] if mine else None
    _wait(pg, pg.comm.Iscatterv(send, buf, root=root), what)
    scatter_object_output_list[0] = pickle.loads(buf.tobytes())


def send_object_list(object_list: list, dst: int | None = None, group: Any = None, device: Any = None,
                     group_dst: int | None = None, use_batch: bool = False) -> None:
    """Send the picklable objects of ``object_list`` to rank ``dst`` (which calls ``recv_object_list``
    with a list of the same length)."""
    pg = _group(group)
    if pg is None:
        return
    peer = group_dst if group_dst is not None else _local(pg, dst, "send_object_list")
    if pg.rank() == peer:
        raise ValueError("Invalid destination rank: destination rank should not be the same as the rank of the "
                         "current process.")
    what = f"send_object_list to rank {pg.ranks[peer]} (rank {get_rank()})"
    parts = [_pickled(o) for o in object_list]
    sizes = np.array([p.size for p in parts], np.int64)
    _wait(pg, pg.comm.Isend(sizes, dest=peer, tag=0), what)
    _wait(pg, pg.comm.Isend(np.concatenate(parts) if parts else np.empty(0, np.uint8), dest=peer, tag=0), what)


def recv_object_list(object_list: list, src: int | None = None, group: Any = None, device: Any = None,
                     group_src: int | None = None, use_batch: bool = False) -> int:
    """Fill ``object_list`` with the objects rank ``src`` (any rank when None) sent; returns the sender's rank."""
    pg = _group(group)
    if pg is None:
        return -1
    mpi = _mpi.MPI()
    if group_src is not None:
        peer = int(group_src)
    else:
        peer = mpi.ANY_SOURCE if src is None else _local(pg, src, "recv_object_list")
    if peer == pg.rank():
        raise ValueError("Invalid source rank: source rank should not be the same as the rank of the current "
                         "process.")
    what = f"recv_object_list (rank {get_rank()})"
    sizes = np.zeros(len(object_list), np.int64)
    status = _wait(pg, pg.comm.Irecv(sizes, source=peer, tag=0), what)
    sender = status.Get_source() if status is not None and peer == mpi.ANY_SOURCE else peer
    buf = np.empty(int(sizes.sum()), np.uint8)
    _wait(pg, pg.comm.Irecv(buf, source=sender, tag=0), what)
    for i, (lo, size) in enumerate(zip(_offsets(sizes.tolist()), sizes.tolist())):
        object_list[i] = pickle.loads(buf[lo:lo + size].tobytes())
    return pg.ranks[sender]


# ---- barriers, subgroups, queries ----------------------------------------------------------------------
def monitored_barrier(group: Any = GroupMember.WORLD, timeout: Any = None, wait_all_ranks: bool = False) -> None:
    """``barrier`` with its own ``timeout`` (a timedelta): a rank that does not arrive in time makes the
    others raise an error naming it."""
    if isinstance(timeout, float):
        warnings.warn("Please specify timeout arg as a timedelta. Converting current value of "
                      f"{timeout} assuming it represents seconds", stacklevel=2)
        timeout = timedelta(seconds=timeout)
    pg = _group(group)
    if pg is None:
        return
    what = f"monitored_barrier (rank {get_rank()})"
    seconds = pg.timeout if timeout is None else _seconds(timeout)
    _check_same(pg, what, "monitored_barrier")
    _wait(pg, pg.comm.Ibarrier(), what, seconds)


def new_subgroups_by_enumeration(ranks_per_subgroup_list: Sequence[Sequence[int]], timeout: Any = None,
                                 backend: str | None = None, pg_options: Any = None,
                                 group_desc: str | None = None) -> tuple[Any, list]:
    """One group per list of ranks (every rank calls it); returns (this rank's group or None, all groups)."""
    if ranks_per_subgroup_list is None or len(ranks_per_subgroup_list) == 0:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    subgroups, current, seen = [], None, {}
    me = get_rank()
    for ranks in ranks_per_subgroup_list:
        sub = new_group(ranks=ranks, timeout=timeout, backend=backend, pg_options=pg_options, group_desc=group_desc)
        subgroups.append(sub)
        for r in ranks:
            if r in seen:
                raise ValueError(f"Rank {r} has appeared in both subgroup {seen[r]} and {ranks}")
            seen[r] = ranks
            if r == me:
                current = sub
    return current, subgroups


def new_subgroups(group_size: int | None = None, group: Any = None, timeout: Any = None, backend: str | None = None,
                  pg_options: Any = None, group_desc: str | None = None) -> tuple[Any, list]:
    """Consecutive subgroups of ``group_size`` ranks each (the world size must divide evenly)."""
    if group_size is None:
        from ember import cuda

        if not cuda.is_available():
            raise ValueError("Default group size only takes effect when CUDA is available.If your subgroup using a "
                             "backend that does not depend on CUDA,please pass in 'group_size' correctly.")
        group_size = cuda.device_count()
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    world_size = get_world_size(group=group)
    if world_size < group_size:
        raise ValueError(f"The arg 'group_size' ({group_size}) must not exceed the world size ({world_size})")
    if world_size % group_size != 0:
        raise ValueError(f"The world size ({world_size}) must be divisible by 'group_size={group_size}'")
    ranks = get_process_group_ranks(group if group is not None else _default())
    return new_subgroups_by_enumeration([ranks[i:i + group_size] for i in range(0, len(ranks), group_size)],
                                        timeout=timeout, backend=backend, pg_options=pg_options, group_desc=group_desc)


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank on its node: ``LOCAL_RANK`` (set by the launcher), else ``fallback_rank``."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
                       "`get_node_local_rank` to work, assuming you are not running in a multi-device context and "
                       "want the code to run locally instead.")


def is_backend_available(backend: str) -> bool:
    """Whether ``backend`` ("gloo", "mpi", "nccl", or PyTorch's "cpu:gloo,cuda:nccl" form) can be used here."""
    name = str(backend).lower()
    if ":" in name:
        return all(is_backend_available(part.split(":", 1)[1]) for part in name.split(","))
    if name in ("gloo", "mpi"):
        return is_mpi_available()
    if name == "nccl":
        return is_nccl_available()
    return False


def supports_complex(reduceOp: ReduceOp) -> bool:  # noqa: N803 - PyTorch's argument name
    """False for the reductions that need an order (MAX, MIN), PRODUCT and the bitwise ones."""
    return reduceOp not in (ReduceOp.MAX, ReduceOp.MIN, ReduceOp.PRODUCT, ReduceOp.BAND, ReduceOp.BOR,
                            ReduceOp.BXOR)
