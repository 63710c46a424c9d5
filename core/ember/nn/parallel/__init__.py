"""``ember.nn.parallel``: ``DataParallel`` and ``data_parallel`` over the devices of one type.

As PyTorch's: the module is replicated to each device (the replicas' parameters are differentiable
copies of the module's, so the gradients reach the module's own parameters), the batch is split along
``dim`` (tensors inside tuples, lists and dicts too; anything else is passed to every replica), each
replica runs its part, and the outputs are concatenated on ``output_device`` (``-1``: the CPU). With
one device the module runs the whole batch itself. The replicas are called one after another from
this thread (PyTorch uses a thread per device); devices overlap only as far as their backend queues
work asynchronously.

The device type is the one of the module's parameters, or the one named in ``device_ids``; a module
on the CPU with no device named runs as it is, as ``torch.nn.DataParallel`` does without a GPU.
``DistributedDataParallel`` (one process per replica, over ``ember.distributed``) is in
``ember.nn.parallel.distributed``.

Example:
    >>> import ember
    >>> net = ember.nn.DataParallel(ember.nn.Linear(3, 2))
    >>> net(ember.ones(4, 3)).shape
    ember.Size([4, 2])
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from ember import dispatch, plugins
from ember.device import device as _device_cls
from ember.nn.modules.module import Module
from ember.nn.parallel.distributed import DistributedDataParallel
from ember.tensor import Tensor

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel", "replicate", "scatter", "scatter_kwargs",
           "gather", "parallel_apply"]


def _index(d: Any) -> int:
    if isinstance(d, int) and not isinstance(d, bool):
        return d
    dev = _device_cls(d) if isinstance(d, str) else d
    if not isinstance(dev, _device_cls):
        raise ValueError(f"Expected a torch.device with a specified index or an integer, but got:{d}")
    return 0 if dev.index is None else dev.index


def _device(kind: str, index: int) -> _device_cls:
    return dispatch.canonical_device(_device_cls(kind, index)) if index >= 0 else dispatch.canonical_device("cpu")


def _device_type(module: Module, device_ids: Sequence[Any] | None) -> str | None:
    for d in device_ids or ():
        if isinstance(d, (str, _device_cls)):
            return _device_cls(d).type if isinstance(d, str) else d.type
    for t in itertools.chain(module.parameters(), module.buffers()):
        return t.device.type if t.device.type != "cpu" or device_ids is not None else None
    return None if device_ids is None else "cpu"


def _check_ids(kind: str, ids: list[int]) -> None:
    count = plugins.backend(kind).device_count() if plugins.backend(kind) is not None else 0
    for i in ids:
        if not 0 <= i < count:
            raise AssertionError(f"Invalid device id {i}: the {kind} backend has {count} device(s)")


# ---- scatter / gather ----------------------------------------------------------------------------
def _scatter_one(obj: Any, devices: list[_device_cls], dim: int) -> list:
    if isinstance(obj, Tensor):
        parts = obj.chunk(len(devices), dim)
        return [p.to(d) for p, d in zip(parts, devices)]
    if isinstance(obj, tuple) and obj:
        return [type(obj)(*p) if hasattr(obj, "_fields") else tuple(p)
                for p in zip(*(_scatter_one(o, devices, dim) for o in obj))]
    if isinstance(obj, list) and obj:
        return [list(p) for p in zip(*(_scatter_one(o, devices, dim) for o in obj))]
    if isinstance(obj, dict) and obj:
        return [type(obj)(zip(obj.keys(), p)) for p in zip(*(_scatter_one(v, devices, dim) for v in obj.values()))]
    return [obj for _ in devices]


def scatter(inputs: Any, target_gpus: Sequence[Any], dim: int = 0, *, device_type: str | None = None) -> list:
    """Split the tensors in ``inputs`` into chunks along ``dim``, one per device (fewer for a short batch)."""
    kind = device_type or "cpu"
    return _scatter_one(inputs, [_device(kind, _index(g)) for g in target_gpus], dim)


def scatter_kwargs(inputs: tuple, kwargs: dict | None, target_gpus: Sequence[Any], dim: int = 0, *,
                   device_type: str | None = None) -> tuple[tuple, tuple]:
    """``scatter`` for positional and keyword arguments; the shorter list is padded as in PyTorch."""
    scattered = scatter(inputs, target_gpus, dim, device_type=device_type) if inputs else []
    kw = scatter(kwargs, target_gpus, dim, device_type=device_type) if kwargs else []
    if len(scattered) < len(kw):
        scattered.extend(() for _ in range(len(kw) - len(scattered)))
    elif len(kw) < len(scattered):
        kw.extend({} for _ in range(len(scattered) - len(kw)))
    return tuple(scattered), tuple(kw)


def gather(outputs: list, target_device: Any, dim: int = 0, *, device_type: str | None = None) -> Any:
    """Concatenate the replicas' outputs along ``dim`` on ``target_device`` (tuples, lists, dicts too)."""
    from ember.functions.shape import cat

    first = outputs[0]
    if isinstance(first, Tensor):
        kind = device_type or first.device.type
        dev = _device(kind, _index(target_device))
        if first.dim() == 0:  # PyTorch unsqueezes scalars into a vector, one element per replica
            return cat([o.to(dev).reshape(1) for o in outputs], 0)
        return cat([o.to(dev) for o in outputs], dim)
    if first is None:
        return None
    if isinstance(first, dict):
        return type(first)((k, gather([o[k] for o in outputs], target_device, dim, device_type=device_type))
                           for k in first)
    if isinstance(first, (tuple, list)):
        parts = [gather(list(p), target_device, dim, device_type=device_type) for p in zip(*outputs)]
        return type(first)(*parts) if hasattr(first, "_fields") else type(first)(parts)
    return outputs


# ---- replicate / apply ---------------------------------------------------------------------------
def _replicate_one(module: Module, dev: _device_cls, memo: dict[int, Module]) -> Module:
    if id(module) in memo:
        return memo[id(module)]
    replica = object.__new__(type(module))
    replica.__dict__ = module.__dict__.copy()
    memo[id(module)] = replica
    d = replica.__dict__
    # parameters become differentiable copies (no copy on the module's own device): gradients flow back
    d["_parameters"] = OrderedDict((k, None if p is None else p.to(dev)) for k, p in module._parameters.items())
    d["_buffers"] = OrderedDict((k, None if b is None else b.to(dev)) for k, b in module._buffers.items())
    d["_modules"] = OrderedDict((k, None if m is None else _replicate_one(m, dev, memo))
                                for k, m in module._modules.items())
    return replica


def replicate(network: Module, devices: Sequence[Any], detach: bool = False, *,
              device_type: str | None = None) -> list[Module]:
    """One replica of ``network`` per device, sharing its parameters through differentiable copies."""
    kind = device_type or next((p.device.type for p in network.parameters()), "cpu")
    out = []
    for g in devices:
        replica = _replicate_one(network, _device(kind, _index(g)), {})
        if detach:
            for m in _modules_of(replica):
                m.__dict__["_parameters"] = OrderedDict((k, None if p is None else p.detach())
                                                        for k, p in m._parameters.items())
        out.append(replica)
    return out


def _modules_of(m: Module) -> list[Module]:
    seen, stack, out = set(), [m], []
    while stack:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        out.append(cur)
        stack.extend(c for c in cur._modules.values() if c is not None)
    return out


def parallel_apply(modules: Sequence[Module], inputs: Sequence[Any], kwargs_tup: Sequence[dict] | None = None,
                   devices: Sequence[Any] | None = None) -> list:
    """Run ``modules[i](*inputs[i], **kwargs_tup[i])`` for each i and return the outputs in order."""
    if len(modules) != len(inputs):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the number of inputs {len(inputs)}")
    kwargs_tup = kwargs_tup if kwargs_tup is not None else ({},) * len(modules)
    outputs = []
    for m, inp, kw in zip(modules, inputs, kwargs_tup):
        inp = inp if isinstance(inp, (list, tuple)) else (inp,)
        outputs.append(m(*inp, **kw))
    return outputs


# ---- the module and the function ------------------------------------------------------------------
def _check_placement(module: Module, src: _device_cls) -> None:
    for t in itertools.chain(module.parameters(), module.buffers()):
        if t.device != src:
            raise RuntimeError("module must have its parameters and buffers "
                               f"on device {src} (device_ids[0]) but found one of them on device: {t.device}")


def _run(module: Module, inputs: tuple, kwargs: dict | None, kind: str, ids: list[int], output: int,
         dim: int) -> Any:
    inputs, module_kwargs = scatter_kwargs(inputs, kwargs, ids, dim, device_type=kind)
    if not inputs and not module_kwargs:
        inputs, module_kwargs = ((),), ({},)
    if len(ids) == 1:
        return module(*inputs[0], **module_kwargs[0])
    used = ids[: len(inputs)]
    replicas = replicate(module, used, device_type=kind)
    outputs = parallel_apply(replicas, inputs, module_kwargs, used)
    return gather(outputs, output, dim, device_type=kind)


class DataParallel(Module):
    """Runs ``module`` on chunks of the batch, one per device of one type, and gathers the outputs."""

    def __init__(self, module: Module, device_ids: Sequence[Any] | None = None, output_device: Any = None,
                 dim: int = 0) -> None:
        super().__init__()
        kind = _device_type(module, device_ids)
        self.module = module
        self.dim = dim
        if kind is None:  # a CPU module and no device named: run as is, as PyTorch does without a GPU
            self.device_ids: list[int] = []
            return
        if device_ids is None:
            device_ids = list(range(plugins.backend(kind).device_count()))
        if not device_ids:
            raise RuntimeError("no available devices were found")
        self.device_type = kind
        self.device_ids = [_index(d) for d in device_ids]
        _check_ids(kind, self.device_ids)
        self.output_device = _index(device_ids[0] if output_device is None else output_device)
        self.src_device_obj = _device(kind, self.device_ids[0])
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        _check_placement(self.module, self.src_device_obj)
        return _run(self.module, inputs, kwargs, self.device_type, self.device_ids, self.output_device, self.dim)

    def replicate(self, module: Module, device_ids: Sequence[Any]) -> list[Module]:
        return replicate(module, device_ids, device_type=self.device_type)

    def scatter(self, inputs: tuple, kwargs: dict | None, device_ids: Sequence[Any]) -> tuple[tuple, tuple]:
        return scatter_kwargs(inputs, kwargs, device_ids, self.dim, device_type=self.device_type)

    def parallel_apply(self, replicas: Sequence[Module], inputs: Sequence[Any], kwargs: Sequence[dict]) -> list:
        return parallel_apply(replicas, inputs, kwargs, self.device_ids[: len(replicas)])

    def gather(self, outputs: list, output_device: Any) -> Any:
        return gather(outputs, output_device, self.dim, device_type=self.device_type)


def data_parallel(module: Module, inputs: Any, device_ids: Sequence[Any] | None = None, output_device: Any = None,
                  dim: int = 0, module_kwargs: dict | None = None) -> Any:
    """The functional form of :class:`DataParallel` (the module must sit on ``device_ids[0]``)."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    kind = _device_type(module, device_ids) or "cpu"
    if device_ids is None:
        device_ids = list(range(plugins.backend(kind).device_count()))
    if not device_ids:
        raise RuntimeError("no available devices were found")
    ids = [_index(d) for d in device_ids]
    _check_ids(kind, ids)
    output = _index(ids[0] if output_device is None else output_device)
    _check_placement(module, _device(kind, ids[0]))
    return _run(module, inputs, module_kwargs, kind, ids, output, dim)
