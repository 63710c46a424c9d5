"""``DistributedDataParallel``: one model replica per process, gradients averaged over the ranks.

As PyTorch's: at wrap time every rank checks that the parameters have the same shapes and copies
rank 0's parameters and buffers. Gradients are averaged in buckets (about ``bucket_cap_mb`` each,
the first 1 MB, parameters in reverse registration order, roughly the order backward reaches
them): a hook runs after each parameter's gradient is accumulated (``register_post_accumulate_grad_hook``)
and, once a bucket's parameters are all ready, starts its non-blocking all-reduce while backward
goes on. Buckets start in index order on every rank (MPI matches collectives by order). When the
last bucket has started, the hook waits for all of them and writes the averages into ``.grad``,
so ``loss.backward()`` returns with averaged gradients.

``no_sync()`` skips the averaging (gradients accumulate locally; the next synchronised backward
averages the sum). ``find_unused_parameters=True`` walks the autograd graph of each forward's
output and marks the parameters it does not reach as ready; a parameter no rank used keeps
``grad`` None. ``broadcast_buffers`` copies rank 0's buffers before each forward.

Example (in each process started by ``python -m ember.distributed.run``)::

    >>> import ember.distributed as dist
    >>> dist.init_process_group("gloo")
    >>> model = ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(4, 2))
    >>> model(ember.randn(8, 4)).sum().backward()   # .grad is now the mean over the ranks
    >>> model.module.bias.grad
    tensor([8., 8.])
    >>> dist.destroy_process_group()
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ember.nn.modules.module import Module
from ember.tensor import Tensor

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1 << 20  # PyTorch's first bucket: small, so communication starts early


def _host(t: Tensor) -> np.ndarray:
    """A tensor's values as a flat host array (no copy for a contiguous CPU tensor)."""
    data = t._data if t.device.type == "cpu" else t._kt["to_host"](t._data)
    return np.ascontiguousarray(data).reshape(-1)


def _write(t: Tensor, values: np.ndarray) -> None:
    """Write ``values`` (flat, host) into ``t`` in place, outside autograd."""
    from ember.autograd.grad_mode import no_grad
    from ember.functions.creation import from_numpy

    values = values.astype(t._data.dtype if t.device.type == "cpu" else values.dtype, copy=False)
    with no_grad():
        if t.device.type == "cpu" and t._data.flags.writeable:
            np.copyto(t._data, values.reshape(t._data.shape))
            t._bump_version()
        else:
            t.copy_(from_numpy(np.ascontiguousarray(values).reshape(tuple(t.shape))).to(t.dtype))


class _Bucket:
    def __init__(self, params: list[Tensor]) -> None:
        self.params = params
        self.pending = len(params)
        self.req: Any = None
        self.buf: np.ndarray | None = None


def _output_tensors(obj: Any) -> Iterator[Tensor]:
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _output_tensors(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _output_tensors(o)


def _reached_leaves(outputs: Any) -> set[int]:
    """ids of the leaf tensors the autograd graph of ``outputs`` reaches."""
    from ember.autograd.function import AccumulateGrad

    seen, found = set(), set()
    stack = [t.grad_fn for t in _output_tensors(outputs) if t.grad_fn is not None]
    for t in _output_tensors(outputs):
        if t.grad_fn is None and t.requires_grad:
            found.add(id(t))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            found.add(id(node.variable))
            continue
        for edge in node._edges:  # (every input, as the engine walks them)
            if edge is not None and edge[0] is not None:
                stack.append(edge[0])
    return found


class DistributedDataParallel(Module):
    """Wraps ``module`` so that backward averages its gradients over the process group's ranks."""

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group: Any = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False, **_kw: Any) -> None:
        super().__init__()
        from ember.distributed import distributed_c10d as c10d

        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        pg = c10d._group(process_group)
        if pg is None:
            raise RuntimeError("DistributedDataParallel: this rank is not part of process_group")
        self.__dict__["process_group"] = pg  # not a submodule nor state
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self.__dict__["_params"] = params
        state = list(module.parameters()) + list(module.buffers())
        c10d._check_same(pg, "DistributedDataParallel (parameter shapes)",
                         ";".join(c10d._desc(t) for t in state))
        self._broadcast(state)
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * (1 << 20))
        self.__dict__["_buckets"] = self._make_buckets(params, cap)
        self.__dict__["_where"] = {id(p): (b, p) for b in self._buckets for p in b.params}
        self.__dict__["_hooks"] = [p.register_post_accumulate_grad_hook(self._on_grad) for p in params]
        self._reset()

    # ---- setup -----------------------------------------------------------------------------------
    @staticmethod
    def _make_buckets(params: list[Tensor], cap: int) -> list[_Bucket]:
        buckets, cur, size, limit = [], [], 0, min(cap, _FIRST_BUCKET_BYTES)
        key = None
        for p in reversed(params):
            k = (p.dtype, p.device)
            nbytes = p.numel() * p.element_size()
            if cur and (size + nbytes > limit or k != key):
                buckets.append(_Bucket(cur))
                cur, size, limit = [], 0, cap
            cur.append(p)
            size += nbytes
            key = k
        if cur:
            buckets.append(_Bucket(cur))
        return buckets

    def _broadcast(self, tensors: list[Tensor]) -> None:
        """Rank 0's values into every rank's tensors: one broadcast of all their bytes."""
        pg = self.process_group
        if pg.size() == 1 or not tensors:
            return
        from ember.distributed import distributed_c10d as c10d

        hosts = [_host(t) for t in tensors]
        flat = np.concatenate([h.view(np.uint8) for h in hosts])
        c10d._wait(pg, pg.comm.Ibcast(flat, root=0), "DistributedDataParallel (broadcast)")
        if pg.rank() != 0:
            off = 0
            for t, h in zip(tensors, hosts):
                _write(t, flat[off: off + h.nbytes].view(h.dtype))
                off += h.nbytes

    def _reset(self) -> None:
        for b in self._buckets:
            b.pending, b.req, b.buf = len(b.params), None, None
        self.__dict__["_next"] = 0  # the next bucket to start (buckets start in order on every rank)
        self.__dict__["_ready"] = set()
        self.__dict__["_used"] = None

    # ---- forward / backward ----------------------------------------------------------------------------
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        from ember.autograd.grad_mode import is_grad_enabled

        if self._ready and not self.find_unused_parameters:
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one. This error "
                "indicates that your module has parameters that were not used in producing loss. You can enable "
                "unused parameter detection by passing the keyword argument `find_unused_parameters=True` to "
                "`torch.nn.parallel.DistributedDataParallel`.")
        self._reset()
        if self.broadcast_buffers and self.require_forward_param_sync:
            self._broadcast(list(self.module.buffers()))
        out = self.module(*inputs, **kwargs)
        if self.find_unused_parameters and self.require_backward_grad_sync and is_grad_enabled():
            reached = _reached_leaves(out)
            self.__dict__["_used"] = {id(p) for p in self._params if id(p) in reached}
            for p in self._params:
                if id(p) not in reached:
                    self._mark_ready(p)
        return out

    def _on_grad(self, p: Tensor) -> None:
        if not self.require_backward_grad_sync or id(p) in self._ready:
            return
        self._mark_ready(p)

    def _mark_ready(self, p: Tensor) -> None:
        bucket, _ = self._where[id(p)]
        self._ready.add(id(p))
        bucket.pending -= 1
        for b in self._buckets[: self._next]:  # let MPI progress the buckets in flight
            if b.req is not None:
                b.req.Test()
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            self._start(self._buckets[self._next])
            self.__dict__["_next"] = self._next + 1
        if self._next == len(self._buckets):
            self._finish()

    def _start(self, b: _Bucket) -> None:
        from ember.distributed import _mpi
        from ember.distributed.distributed_c10d import _reducible

        parts = []
        for p in b.params:
            used = p.grad is not None and (self._used is None or id(p) in self._used)
            parts.append(_host(p.grad) if used else np.zeros(p.numel(), _host_dtype(p)))
        flat = _reducible(np.concatenate(parts))
        if self.find_unused_parameters:  # one more value per parameter: how many ranks used it
            used = [1.0 if (p.grad is not None and id(p) in (self._used or ())) else 0.0 for p in b.params]
            flat = np.concatenate([flat, np.asarray(used, flat.dtype)])
        b.buf = flat
        b.req = self.process_group.comm.Iallreduce(_mpi.MPI().IN_PLACE, flat, op=_mpi.MPI().SUM)

    def _finish(self) -> None:
        from ember.distributed import distributed_c10d as c10d

        pg = self.process_group
        for b in self._buckets:
            if b.req is not None:
                c10d._wait(pg, b.req, "DistributedDataParallel (gradient all-reduce)")
            b.req = None
            flat = b.buf
            counts = flat[-len(b.params):] if self.find_unused_parameters else None
            off = 0
            for i, p in enumerate(b.params):
                n = p.numel()
                if counts is None or counts[i] > 0:
                    avg = flat[off: off + n] / pg.size()
                    if p.grad is None:
                        from ember.functions.creation import zeros_like

                        p.grad = zeros_like(p.detach())
                    _write(p.grad, avg)
                off += n
        self._reset()

    # ---- PyTorch's other knobs ----------------------------------------------------------------------
    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Within it, backward accumulates gradients locally (no communication)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def join(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - uneven inputs are not supported
        raise NotImplementedError("DistributedDataParallel.join (uneven inputs) is not supported in ember")

    def _set_static_graph(self) -> None:
        self.static_graph = True


def _host_dtype(p: Tensor) -> np.dtype:
    return p._data.dtype if p.device.type == "cpu" else _host(p.detach()).dtype
