"""Activation checkpointing, as PyTorch's ``torch.utils.checkpoint``: keep a segment's inputs, drop
its intermediate activations, and run the segment's forward again during backward to get them
back. Gradients are the same as without checkpointing; with ``preserve_rng_state`` (the default)
the generator state is replayed, so dropout inside the segment draws the same mask again.

The two variants PyTorch has:

* ``use_reentrant=True`` (what ``None`` means, with PyTorch's warning): the forward runs without
  recording; backward reruns it and calls ``ember.autograd.backward`` on the rerun, accumulating
  straight into the ``.grad`` of the parameters the segment uses. Gradients flow only when an input
  tensor requires grad, and keyword arguments are refused, as in PyTorch.
* ``use_reentrant=False``: the forward is recorded once to find the tensors requiring grad that the
  segment reads (its parameters), then that graph and its activations are dropped; backward reruns
  the segment and differentiates it with ``ember.autograd.grad``, so parameters get gradients even
  when no input requires grad, and ``autograd.grad`` and double backward work through it. The peak
  memory is one segment's activations (PyTorch's saved-tensor hooks free them one by one).

Selective activation checkpointing (``context_fn=partial(create_selective_checkpoint_contexts,
policy_fn)``) keeps the outputs of the kernels the policy says to save, so the rerun takes them from
the cache instead of computing them again; see :func:`create_selective_checkpoint_contexts`.

Example:
    >>> import ember
    >>> from ember.utils.checkpoint import checkpoint
    >>> lin = ember.nn.Linear(3, 3)
    >>> x = ember.randn(2, 3, requires_grad=True)
    >>> checkpoint(lambda t: lin(t).relu(), x, use_reentrant=False).sum().backward()
    >>> x.grad.shape, lin.weight.grad.shape
    (ember.Size([2, 3]), ember.Size([3, 3]))
"""

from __future__ import annotations

import contextlib
import enum
import functools
import sys
import threading
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ember import random as _random
from ember.autograd import engine as _engine
from ember.autograd.function import _FREED_MSG, AccumulateGrad, Function
from ember.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ember.utils._pytree import tree_flatten, tree_unflatten

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction", "check_backward_validity",
           "detach_variable", "get_device_states", "set_device_states", "noop_context_fn", "set_checkpoint_early_stop",
           "DefaultDeviceType", "set_checkpoint_debug_enabled", "CheckpointPolicy", "SelectiveCheckpointContext",
           "create_selective_checkpoint_contexts"]

_DEFAULT_DETERMINISM_MODE = "default"
_ALLOWED_DETERMINISM_CHECKS = ("default", "none")
_checkpoint_debug_enabled: bool | None = None
_enable_checkpoint_early_stop: bool | None = None


class CheckpointError(RuntimeError):
    """A recomputation that does not match the forward (PyTorch's ``torch.utils.checkpoint.CheckpointError``).
    Not ``ember.CheckpointError``, which is about checkpoint *files* (``ember.load``), as in PyTorch
    where the two are unrelated."""


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled: bool | None) -> Iterator[None]:
    """Override every checkpoint's ``debug`` flag inside the block (``None`` defers to the call's).

    Example:
        >>> with set_checkpoint_debug_enabled(False):
        ...     pass
    """
    global _checkpoint_debug_enabled
    prev = _checkpoint_debug_enabled
    _checkpoint_debug_enabled = enabled
    try:
        yield
    finally:
        _checkpoint_debug_enabled = prev


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool) -> Iterator[None]:
    """Override every non-reentrant checkpoint's ``early_stop`` inside the block. Ember's rerun always
    runs the whole segment (PyTorch stops once the saved tensors it needs are back): the gradients
    are the same either way, so the flag is kept for compatibility only.

    Example:
        >>> with set_checkpoint_early_stop(False):
        ...     pass
    """
    global _enable_checkpoint_early_stop
    prev = _enable_checkpoint_early_stop
    _enable_checkpoint_early_stop = enable
    try:
        yield
    finally:
        _enable_checkpoint_early_stop = prev


def detach_variable(inputs: tuple[Any, ...]) -> tuple[Any, ...]:
    """Each tensor of the tuple detached, keeping its ``requires_grad``; other values as they are.

    Example:
        >>> import ember
        >>> x = ember.ones(2, requires_grad=True)
        >>> y, n = detach_variable((x * 2, 3))
        >>> y.requires_grad, y.grad_fn is None, n
        (True, True, 3)
    """
    from ember.tensor import Tensor

    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}")
    out = []
    for inp in inputs:
        if not isinstance(inp, Tensor):
            out.append(inp)
            continue
        x = inp.detach()
        x.requires_grad = inp.requires_grad
        out.append(x)
    return tuple(out)


def check_backward_validity(inputs: Iterable[Any]) -> None:
    """Warn (as PyTorch) when no tensor of ``inputs`` requires grad: the checkpoint gets no gradients."""
    from ember.tensor import Tensor

    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)


class DefaultDeviceType:
    """The device type whose generator states a checkpoint stashes when no input is on a device
    (PyTorch's default is the current accelerator, else ``"cpu"``).

    Example:
        >>> DefaultDeviceType.set_device_type("cpu")
        >>> DefaultDeviceType.get_device_type()
        'cpu'
    """

    _default_device_type: str | None = None

    @staticmethod
    def set_device_type(device: str = "cuda") -> None:
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type() -> str:
        if not DefaultDeviceType._default_device_type:
            from ember import accelerator

            acc = accelerator.current_accelerator(True)
            DefaultDeviceType._default_device_type = acc.type if acc is not None else "cpu"
        return DefaultDeviceType._default_device_type


def get_device_states(*args: Any) -> tuple[list[int], list[Any]]:
    """``(device indices, generator states)`` for the tensors of ``args`` (nested) not on the CPU.
    One generator serves every device in ember, so each state is that generator's.

    Example:
        >>> import ember
        >>> get_device_states(ember.ones(1))
        ([], [])
    """
    from ember.tensor import Tensor

    ids = [a.get_device() for a in tree_flatten(args)[0]
           if isinstance(a, Tensor) and a.device.type not in ("cpu", "meta")]
    return ids, [_random.get_rng_state() for _ in ids]


def set_device_states(devices: list[int], states: list[Any], *, device_type: str | None = None) -> None:
    """Put back the generator states that :func:`get_device_states` returned."""
    if device_type is None:
        device_type = DefaultDeviceType.get_device_type()
    if device_type == "meta":
        return
    for _, state in zip(devices, states):
        _random.set_rng_state(state)


def noop_context_fn() -> tuple[contextlib.AbstractContextManager, contextlib.AbstractContextManager]:
    """The default ``context_fn``: two do-nothing context managers (forward, recompute)."""
    return contextlib.nullcontext(), contextlib.nullcontext()


class _Recompute:
    """What backward needs to run the segment again: the function, the arguments with their tensor
    positions, and the generator state the forward started from."""

    def __init__(self, function: Callable, args: tuple, kwargs: dict, preserve: bool) -> None:
        from ember.tensor import Tensor

        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.rng_state = _random.get_rng_state() if preserve else None
        self.recompute_context: Any = contextlib.nullcontext()  # context_fn's second context manager
        self.values: Any = None  # the non-reentrant forward's outputs, already computed
        self.flatten = False  # non-reentrant: outputs may be any pytree (dicts, nested tuples)

    def detached_inputs(self, tensors: tuple) -> list:
        """The arguments for the rerun: each tensor a fresh leaf, requiring grad as the original does."""
        args = list(self.args)
        for pos, t in zip(self.tensor_pos, tensors):
            leaf = t.detach()
            leaf.requires_grad_(t.requires_grad)
            args[pos] = leaf
        return args

    def aliased_inputs(self, tensors: tuple) -> list:
        """The arguments for a rerun that is itself differentiated: aliases on the inputs' graph."""
        args = list(self.args)
        for pos, t in zip(self.tensor_pos, tensors):
            args[pos] = t.view_as(t) if t.requires_grad else t
        return args

    def rerun(self, args: list) -> tuple:
        """The segment's outputs again, recorded, under the forward's generator state."""
        saved = None
        if self.rng_state is not None:
            saved = _random.get_rng_state()
            _random.set_rng_state(self.rng_state)
        try:
            with enable_grad(), self.recompute_context:
                out = self.function(*args, **self.kwargs)
        finally:
            if saved is not None:
                _random.set_rng_state(saved)
        if self.flatten:
            return tuple(tree_flatten(out)[0])
        return out if isinstance(out, tuple) else (out,)


def _differentiable(outputs: tuple, grads: tuple) -> tuple[list, list]:
    from ember.tensor import Tensor

    pairs = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad and g is not None]
    if not pairs:
        raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
    return [o for o, _ in pairs], [g for _, g in pairs]


def _check_not_freed(ctx: Any) -> None:
    """PyTorch frees a checkpoint's saved inputs after a backward without ``retain_graph``: a second
    backward through it raises (the engine marks a released node by ``_saved = None``)."""
    if ctx._saved is None:
        raise RuntimeError(_FREED_MSG)


def _check_reentrant_valid() -> None:
    """PyTorch's reentrant checkpoint refuses ``autograd.grad`` and ``backward(inputs=...)``: its
    inner backward would accumulate into ``.grad`` instead of returning the gradients asked for.
    The engine has no flag for that here, so the nearest engine run that called this backward is
    asked whether it captures gradients (what those two calls do)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code is not _engine._run.__code__:
        frame = frame.f_back
    if frame is not None and frame.f_locals.get("capture") is not None:
        raise RuntimeError("When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or passing "
                           "an `inputs` parameter to .backward(). To resolve this error, you can either set "
                           "use_reentrant=False, or call .backward() without passing the `inputs` argument.")


class _ReentrantCheckpoint(Function):
    @staticmethod
    def forward(ctx: Any, rec: _Recompute, *tensors: Any) -> Any:
        ctx.rec = rec
        ctx.tensors = tensors
        return rec.function(*rec.args, **rec.kwargs)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        _check_not_freed(ctx)
        _check_reentrant_valid()
        rec = ctx.rec
        args = rec.detached_inputs(ctx.tensors)
        outs, gs = _differentiable(rec.rerun(args), grads)
        with enable_grad():
            _engine.backward(outs, gs)
        return (None, *(args[p].grad for p in rec.tensor_pos))


class _Checkpoint(Function):
    """Inputs: the segment's tensor arguments, then the tensors requiring grad it reads."""

    @staticmethod
    def forward(ctx: Any, rec: _Recompute, *tensors: Any) -> Any:
        ctx.rec = rec
        ctx.tensors = tensors
        values, rec.values = rec.values, None
        return values

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        _check_not_freed(ctx)
        rec = ctx.rec
        n_args = len(rec.tensor_pos)
        create_graph = is_grad_enabled()
        # For a double backward the rerun must stay on the inputs' graph (aliases of them); otherwise
        # fresh leaves keep the rerun's backward from walking into the graph before the segment.
        args = rec.aliased_inputs(ctx.tensors[:n_args]) if create_graph else rec.detached_inputs(ctx.tensors[:n_args])
        outs, gs = _differentiable(rec.rerun(args), grads)
        wrt = [args[p] for p in rec.tensor_pos] + list(ctx.tensors[n_args:])
        needs = ctx.needs_input_grad[1:]
        chosen = [i for i, t in enumerate(wrt) if needs[i] and t.requires_grad]
        found = _engine.grad(outs, [wrt[i] for i in chosen], gs, create_graph=create_graph, allow_unused=True) \
            if chosen else ()
        result: list = [None] * len(wrt)
        for i, g in zip(chosen, found):
            result[i] = g
        return (None, *result)


class CheckpointFunction(Function):
    """PyTorch's reentrant checkpoint as an autograd Function: ``CheckpointFunction.apply(function,
    preserve_rng_state, *args)`` runs ``function`` without recording, and its backward reruns it with
    grad enabled and backpropagates through the rerun into the inputs (and parameters' ``.grad``).

    Example:
        >>> import ember
        >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> CheckpointFunction.apply(lambda t: (t * t).sum(), True, x).backward()
        >>> x.grad
        tensor([2., 4.])
    """

    @staticmethod
    def forward(ctx: Any, run_function: Callable, preserve_rng_state: bool, *args: Any) -> Any:
        from ember.tensor import Tensor

        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.preserve_rng_state = preserve_rng_state
        if preserve_rng_state:
            ctx.fwd_rng_state = _random.get_rng_state()
        ctx.inputs, ctx.tensor_indices, tensors = [], [], []
        for i, arg in enumerate(args):
            if isinstance(arg, Tensor):
                tensors.append(arg)
                ctx.tensor_indices.append(i)
                ctx.inputs.append(None)
            else:
                ctx.inputs.append(arg)
        ctx.save_for_backward(*tensors)
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        from ember.tensor import Tensor

        _check_reentrant_valid()
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        with _random.fork_rng(enabled=ctx.preserve_rng_state):
            if ctx.preserve_rng_state:
                _random.set_rng_state(ctx.fwd_rng_state)
            detached = detach_variable(tuple(inputs))
            with enable_grad():
                outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        outs, gs = _differentiable(tuple(outputs), grads)
        _engine.backward(outs, gs)
        return (None, None, *(t.grad if isinstance(t, Tensor) else None for t in detached))


# ------------------------------------------------------------------ selective activation checkpointing


class CheckpointPolicy(enum.Enum):
    """What selective checkpointing does with an op's output: ``*_SAVE`` keeps it from the forward
    (the rerun takes it from the cache), ``*_RECOMPUTE`` computes it again. ``MUST_*`` and
    ``PREFER_*`` act the same in eager mode; ``*_CPU_OFFLOAD`` saves, as ``*_SAVE``, here."""

    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


_SAVING = (CheckpointPolicy.MUST_SAVE, CheckpointPolicy.PREFER_SAVE, CheckpointPolicy.MUST_CPU_OFFLOAD,
           CheckpointPolicy.PREFER_CPU_OFFLOAD)


def _policy_from_bool(b: bool) -> CheckpointPolicy:
    return CheckpointPolicy.MUST_SAVE if b else CheckpointPolicy.PREFER_RECOMPUTE


class SelectiveCheckpointContext:
    """What a policy function gets first: ``is_recompute`` (always False: as in PyTorch 2.13 the
    policy runs in the forward only) and ``op_output`` (the kernel's result)."""

    def __init__(self, *, is_recompute: bool, op_output: Any = None) -> None:
        self.is_recompute = is_recompute
        self.op_output = op_output


class _KernelOp:
    """The ``op`` a policy function receives: one ember kernel (``op.name``, e.g. ``"matmul"``).
    It compares equal to its name, so ``op == "matmul"`` and ``op in ["matmul", "conv2d"]`` work;
    ember has no ``torch.ops.aten`` overloads to compare with."""

    __slots__ = ("name",)
    _interned: dict = {}

    def __new__(cls, name: str) -> _KernelOp:
        op = cls._interned.get(name)
        if op is None:
            op = cls._interned[name] = object.__new__(cls)
            op.name = name
        return op

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, str) and other == self.name)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"ember.kernels.{self.name}"


# Kernels that return views, write into arguments, describe layouts or move data always run and are
# never counted (PyTorch's SAC_IGNORED_OPS): a cached one would alias or skip a side effect.
@functools.cache
def _never_cached() -> frozenset:
    from ember.kernels import NATIVE_ONLY

    return frozenset(NATIVE_ONLY) | {"clone"}


_RECOMPUTE = object()
_CONSUMED = object()
_SAC_MISMATCH_MSG = ("This can happen if the operations in the checkpointed region are nondeterministic or depend on "
                     "global state that changed between forward and backward.")


class _SACThread(threading.local):
    mode: Any = None  # the _CachingMode or _CachedMode this thread runs under
    depth = 0  # > 0 inside a kernel: kernels it calls (composites) belong to it


_sac_thread = _SACThread()
_sac_lock = threading.Lock()
_sac_users = 0
_sac_restore: Callable[[], None] | None = None


def _wrap_built_tables() -> Callable[[], None]:
    """Wrap the kernel tables built so far (``dispatch.wrap_kernels`` would build every device
    type's table, seconds for OpenCL): the tensors of a region already hold theirs."""
    from ember import dispatch

    wrapped = []
    for tbl in list(dispatch._tables.values()):
        for name, fn in list(tbl.items()):
            tbl[name] = _sac_wrap(tbl, name, fn)
            wrapped.append((tbl, name, fn))

    def restore() -> None:
        for tbl, name, fn in reversed(wrapped):
            tbl[name] = fn

    return restore


def _sac_wrap(tbl: Any, name: str, fn: Callable) -> Callable:
    if name in _never_cached():
        return fn
    op = _KernelOp(name)

    def kernel(*args: Any, **kwargs: Any) -> Any:
        state = _sac_thread
        mode = state.mode
        if mode is None or state.depth:
            return fn(*args, **kwargs)
        state.depth += 1
        try:
            return mode.run(tbl, op, fn, args, kwargs)
        finally:
            state.depth -= 1

    return kernel


class _SACMode:
    """Entering watches every kernel this thread runs (the kernel tables are wrapped while any SAC
    region is active, and put back after: no cost outside one)."""

    def __init__(self, storage: dict) -> None:
        self.storage = storage
        self.counter: dict = defaultdict(int)
        self._prev: list = []

    def __enter__(self) -> _SACMode:
        global _sac_users, _sac_restore
        with _sac_lock:
            if _sac_users == 0:
                _sac_restore = _wrap_built_tables()
            _sac_users += 1
        self._prev.append(_sac_thread.mode)
        _sac_thread.mode = self
        return self

    def __exit__(self, *exc: Any) -> None:
        global _sac_users, _sac_restore
        _sac_thread.mode = self._prev.pop()
        with _sac_lock:
            _sac_users -= 1
            if _sac_users == 0 and _sac_restore is not None:
                _sac_restore()
                _sac_restore = None

    def _index(self, op: _KernelOp) -> int:
        idx = self.counter[op.name]
        self.counter[op.name] = idx + 1
        return idx


def _clone_out(tbl: Any, out: Any) -> Any:
    """A private copy of a kernel's output(s): later in-place writes in the forward cannot reach it."""
    if isinstance(out, (tuple, list)):
        return type(out)(_clone_out(tbl, o) for o in out)
    return tbl["clone"](out) if hasattr(out, "shape") else out


class _CachingMode(_SACMode):
    """The forward's context: runs each kernel, asks the policy, keeps the outputs it says to save."""

    def __init__(self, policy_fn: Callable, storage: dict) -> None:
        super().__init__(storage)
        self.policy_fn = policy_fn

    def run(self, tbl: Any, op: _KernelOp, fn: Callable, args: tuple, kwargs: dict) -> Any:
        out = fn(*args, **kwargs)
        idx = self._index(op)
        policy = self.policy_fn(SelectiveCheckpointContext(is_recompute=False, op_output=out), op, *args, **kwargs)
        if isinstance(policy, bool):
            policy = _policy_from_bool(policy)
        self.storage[op.name][idx] = _clone_out(tbl, out) if policy in _SAVING else _RECOMPUTE
        return out


class _CachedMode(_SACMode):
    """The recompute's context: a saved kernel output comes from the cache (once), the rest run."""

    def __enter__(self) -> _SACMode:
        self.counter.clear()  # a second backward (retain_graph) then finds the entries consumed
        return super().__enter__()

    def run(self, tbl: Any, op: _KernelOp, fn: Callable, args: tuple, kwargs: dict) -> Any:
        idx = self._index(op)
        entries = self.storage.get(op.name)
        if entries is None:
            raise RuntimeError(f"{op} encountered during backward but not found in storage. {_SAC_MISMATCH_MSG}")
        entry = entries.get(idx)
        if entry is None:
            raise RuntimeError(f"{op} invocation index {idx} encountered during backward but not found in storage. "
                               f"{_SAC_MISMATCH_MSG}")
        if entry is _CONSUMED:
            raise RuntimeError("Trying to backward an extra time. You are only allowed to backward once on any region "
                               "computed under selective activation checkpoint.")
        if entry is _RECOMPUTE:
            return fn(*args, **kwargs)
        entries[idx] = _CONSUMED
        return entry


def create_selective_checkpoint_contexts(policy_fn_or_list: Callable | list,
                                         allow_cache_entry_mutation: bool = False) -> tuple[_SACMode, _SACMode]:
    """The ``(forward, recompute)`` context pair for ``checkpoint(..., use_reentrant=False,
    context_fn=partial(create_selective_checkpoint_contexts, policy_fn))``: in the forward every
    kernel's output is offered to ``policy_fn(ctx, op, *args, **kwargs)``; those it answers
    ``CheckpointPolicy.MUST_SAVE``/``PREFER_SAVE`` (or True) are kept, and the rerun in backward takes
    them from there instead of running the kernel again. A list of ops means MUST_SAVE for those and
    PREFER_RECOMPUTE for the rest.

    Ember differs from PyTorch in what an op is: a kernel of ``ember.kernels.KERNELS``, which compares
    equal to its name (``"matmul"`` where PyTorch has ``torch.ops.aten.mm.default``), and ``args`` are
    the kernel's backend arrays, not Tensors. The cached outputs are copies, so an in-place op later in
    the forward cannot change them (``allow_cache_entry_mutation`` is accepted, and moot).

    Example:
        >>> import functools, ember
        >>> from ember.utils.checkpoint import checkpoint
        >>> policy = lambda ctx, op, *args, **kwargs: (CheckpointPolicy.MUST_SAVE if op == "matmul"
        ...                                            else CheckpointPolicy.PREFER_RECOMPUTE)
        >>> x = ember.ones(2, 2, requires_grad=True)
        >>> ctx_fn = functools.partial(create_selective_checkpoint_contexts, policy)
        >>> checkpoint(lambda t: (t @ t).sin().sum(), x, use_reentrant=False, context_fn=ctx_fn).backward()
        >>> x.grad.shape
        ember.Size([2, 2])
    """
    if isinstance(policy_fn_or_list, list):
        from ember.kernels import KERNELS

        for op in policy_fn_or_list:
            name = op.name if isinstance(op, _KernelOp) else op
            if not isinstance(name, str) or name not in KERNELS:
                raise ValueError(f"Expected op in `op_list` to be an OpOverload but got: {op} of type {type(op)}. "
                                 "In ember an op is a kernel name of ember.kernels.KERNELS, such as 'matmul'.")
        ops = list(policy_fn_or_list)

        def policy_fn(ctx: Any, op: Any, *args: Any, **kwargs: Any) -> CheckpointPolicy:
            return CheckpointPolicy.MUST_SAVE if op in ops else CheckpointPolicy.PREFER_RECOMPUTE
    elif callable(policy_fn_or_list):
        policy_fn = policy_fn_or_list
    else:
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    storage: dict = defaultdict(dict)
    return _CachingMode(policy_fn, storage), _CachedMode(storage)


def _leaves_read(outputs: tuple, inputs: list) -> list:
    """The leaf tensors requiring grad that ``outputs`` were computed from, other than ``inputs``."""
    from ember.tensor import Tensor

    skip = {id(t) for t in inputs}
    found: dict[int, Any] = {}
    seen: set = set()
    stack = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
    for o in outputs:
        if isinstance(o, Tensor) and o.requires_grad and o.grad_fn is None and id(o) not in skip:
            found[id(o)] = o
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, AccumulateGrad):
            if id(node.variable) not in skip:
                found.setdefault(id(node.variable), node.variable)
            continue
        stack.extend(e[0] for e in node._edges if e[0] is not None and e[0] not in seen)
    return list(found.values())


def _checkpoint_non_reentrant(rec: _Recompute, context_fn: Callable) -> Any:
    from ember.tensor import Tensor

    originals = [rec.args[p] for p in rec.tensor_pos]
    forward_context, rec.recompute_context = context_fn()
    if not is_grad_enabled():
        return rec.function(*rec.args, **rec.kwargs)
    args = rec.detached_inputs(tuple(originals))
    completed = False
    with forward_context:
        result = rec.function(*args, **rec.kwargs)
        completed = True
    if not completed:  # the context swallowed the forward's exception: there is nothing to return
        raise RuntimeError("torch.utils.checkpoint: the forward context provided by context_fn suppressed an exception "
                           "raised during the checkpointed forward. This is not supported because checkpoint cannot "
                           "return a value for a failed forward.")
    outs, spec = tree_flatten(result)
    del result
    leaves = _leaves_read(outs, [args[p] for p in rec.tensor_pos])
    rec.values = tuple(o.detach() if isinstance(o, Tensor) else o for o in outs)
    rec.flatten = True
    del outs  # the recorded graph and its activations go now; backward reruns the segment
    return tree_unflatten(list(_Checkpoint.apply(rec, *originals, *leaves)), spec)


def checkpoint(function: Callable[..., Any], *args: Any, use_reentrant: bool | None = None,
               context_fn: Callable[[], tuple[Any, Any]] = noop_context_fn,
               determinism_check: str = "default", debug: bool = False, early_stop: bool = True,
               **kwargs: Any) -> Any:
    """``torch.utils.checkpoint.checkpoint``: ``function(*args, **kwargs)`` without keeping its
    activations; backward runs it again. ``preserve_rng_state=True`` (a keyword, as in PyTorch)
    replays the generator so random ops (dropout) match. ``use_reentrant=None`` warns as PyTorch
    2.13 does and means True. ``context_fn`` (``use_reentrant=False`` only) returns the two context
    managers the forward and the rerun run under (selective checkpointing:
    :func:`create_selective_checkpoint_contexts`). ``debug`` (also ``use_reentrant=False`` only),
    ``determinism_check`` ("default" or "none") and ``early_stop`` are checked as PyTorch does and
    change nothing here.

    Example:
        >>> import ember
        >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> checkpoint(lambda t: (t * t).sum(), x, use_reentrant=True).backward()
        >>> x.grad
        tensor([2., 4.])
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in PyTorch "
            "2.9, calling checkpoint without use_reentrant will raise an exception. use_reentrant=False is "
            "recommended, but if you need to preserve the current default behavior, you can pass use_reentrant=True. "
            "Refer to docs for more details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        rec = _Recompute(function, args, {}, preserve)
        if not any(args[p].requires_grad for p in rec.tensor_pos):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
        return _ReentrantCheckpoint.apply(rec, *(args[p] for p in rec.tensor_pos))
    if _checkpoint_debug_enabled if _checkpoint_debug_enabled is not None else debug:
        if context_fn is not noop_context_fn:
            raise ValueError("debug=True is incompatible with non-default context_fn")
    if determinism_check not in _ALLOWED_DETERMINISM_CHECKS:
        raise ValueError(f"determinism_check should be one of {list(_ALLOWED_DETERMINISM_CHECKS)}, but got "
                         f"{determinism_check}")
    return _checkpoint_non_reentrant(_Recompute(function, args, kwargs, preserve), context_fn)


def checkpoint_sequential(functions: Any, segments: int, input: Any, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Any:
    """``torch.utils.checkpoint.checkpoint_sequential``: run ``functions`` (a list of callables or an
    ``nn.Sequential``) in ``segments`` chunks, checkpointing every chunk but the last.

    Example:
        >>> import ember
        >>> model = ember.nn.Sequential(ember.nn.Linear(4, 4), ember.nn.ReLU(), ember.nn.Linear(4, 1))
        >>> checkpoint_sequential(model, 2, ember.randn(3, 4), use_reentrant=False).shape
        ember.Size([3, 1])
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed explicitly. "
            "In version 2.9 we will raise an exception if use_reentrant is not passed. use_reentrant=False is "
            "recommended, but if you need to preserve the current default behavior, you can pass use_reentrant=True. "
            "Refer to docs for more details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    from ember.nn import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())

    def run(start: int, end: int) -> Callable[[Any], Any]:
        def forward(x: Any) -> Any:
            for j in range(start, end + 1):
                x = functions[j](x)
            return x

        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
