"""``Optimizer``: the base class of every optimizer, with PyTorch's param groups and state dicts.

Subclasses implement ``step``. Updates run on the parameters' own device through the backend's
kernel table (``p._kt``), so an optimizer works on every backend with no CPU fallback; the
parameter is written in place (its storage, views and version counter stay valid).

Example:
    >>> import ember
    >>> w = ember.zeros(3, requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=0.1)
    >>> (w - 1).pow(2).sum().backward()
    >>> opt.step()
    >>> w.tolist()
    [0.2..., 0.2..., 0.2...]
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from itertools import chain
from typing import Any

from ember import _device_checks as _checks
from ember import dtypes as _dt
from ember.autograd.grad_mode import STATE, enable_grad
from ember.multiprocessing import reductions as _shm
from ember.nn.modules.module import RemovableHandle
from ember.tensor import Tensor

__all__ = ["Optimizer", "register_optimizer_step_post_hook", "register_optimizer_step_pre_hook", "required"]


class _RequiredParameter:
    """Singleton marking a hyper-parameter with no default (``lr`` of old SGD, say)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


# Hooks every optimizer runs around its step (``register_optimizer_step_pre_hook``): the global
# pre-hooks run before an optimizer's own, the global post-hooks after its own, as in PyTorch.
_global_optimizer_pre_hooks: OrderedDict = OrderedDict()
_global_optimizer_post_hooks: OrderedDict = OrderedDict()


def _register(hooks: OrderedDict, hook: Callable, prepend: bool = False) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs)`` to run before every optimizer's ``step``; it may
    return new ``(args, kwargs)``."""
    return _register(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs)`` to run after every optimizer's ``step``."""
    return _register(_global_optimizer_post_hooks, hook)


def _wrap_step(step: Callable) -> Callable:
    """Run step pre/post hooks and mark the optimizer as stepped (for LR scheduler warnings)."""

    @functools.wraps(step)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        self: Optimizer = args[0]  # the hooks see ``args`` with the optimizer first, as PyTorch's
        for hook in (*_global_optimizer_pre_hooks.values(), *self._step_pre_hooks.values()):
            res = hook(self, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), but got {res}.")
                args, kwargs = res
        _check_capturable(self)
        prev = STATE.enabled
        STATE.enabled = False  # updates are never recorded (the closure re-enables grad itself)
        try:
            out = step(*args, **kwargs)
        finally:
            STATE.enabled = prev
        self._opt_called = True
        self._step_count += 1
        for hook in (*self._step_post_hooks.values(), *_global_optimizer_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    wrapper._ember_wrapped = True  # type: ignore[attr-defined]
    return wrapper


_HOOK_DICTS = ("_step_pre_hooks", "_step_post_hooks", "_state_dict_pre_hooks", "_state_dict_post_hooks",
               "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks")


def _check_capturable(opt: Optimizer) -> None:
    """PyTorch's ``capturable=True`` refuses parameters on the cpu (it is for CUDA graphs); a group
    asking for it with a cpu parameter that has a gradient fails its step, with PyTorch's message.
    Other devices accept it (the step is the same: ember keeps the count on the device only
    while compiling)."""
    if _checks.compiling():
        return
    for group in opt.param_groups:
        if group.get("capturable") and any(p.grad is not None and p._device.type == "cpu" for p in group["params"]):
            devices = ["cuda", "xpu", "hpu", "privateuseone"] + (["xla"] if opt._capturable_xla else [])
            raise AssertionError(f"If capturable=True, {opt._capturable_what} must be on supported devices: "
                                 f"{devices}.")


class Optimizer:
    """Base class: holds ``param_groups`` (dicts with ``'params'`` plus hyper-parameters) and ``state``.

    Args:
        params: an iterable of tensors, or of dicts each defining a parameter group.
        defaults: hyper-parameter defaults, used for groups that don't set them.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_ember_wrapped", False):
            cls.step = _wrap_step(step)

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        for name in _HOOK_DICTS:
            setattr(self, name, OrderedDict())
        self._opt_called = False
        self._step_count = 0
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {_typename(params)}")
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ---- pickling / repr ------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    # The wording of PyTorch's refusal of ``capturable=True`` on the cpu (see ``_check_capturable``).
    _capturable_what = "params and state_steps"
    _capturable_xla = True

    # Options added to a PyTorch optimizer after its first release, with the value an older saved
    # optimizer meant: ``__setstate__`` fills them in (as each PyTorch optimizer's own does).
    _late_options: tuple[tuple[str, Any], ...] = ()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in _HOOK_DICTS:
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self.__dict__.setdefault("_opt_called", False)
        self.__dict__.setdefault("_step_count", 0)
        if self._late_options:
            for group in self.param_groups:
                for key, value in self._late_options:
                    group.setdefault(key, value)
            for s in self.state.values():
                if isinstance(s, dict):
                    ensure_step_tensor(s)

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += "\n"
            text += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        text += ")"
        return text

    # ---- param groups ---------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own hyper-parameters) to optimize."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)
        # named parameters (``model.named_parameters()``): ``(name, tensor)`` pairs
        names = [p[0] for p in param_group["params"] if isinstance(p, tuple)]
        param_group["params"] = [p[1] if isinstance(p, tuple) else p for p in param_group["params"]]
        if names:
            if len(names) != len(param_group["params"]):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(param)}")
            if not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- gradients --------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to ``None`` by default, as PyTorch)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        raise NotImplementedError

    # ---- hooks --------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs before each ``step``; it may return new (args, kwargs)."""
        return _register(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs after each ``step``."""
        return _register(self._step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer)`` runs before ``state_dict()`` builds its dict."""
        return _register(self._state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` runs on ``state_dict()``'s result; a dict it returns replaces it."""
        return _register(self._state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` runs first in ``load_state_dict`` (on a shallow copy of the
        dict); a dict it returns is loaded instead."""
        return _register(self._load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer)`` runs after ``load_state_dict`` has loaded."""
        return _register(self._load_state_dict_post_hooks, hook, prepend)

    # ---- state dicts --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {int: {...}}, 'param_groups': [{..., 'params': [int, ...]}]}`` (PyTorch's layout).

        Parameters are replaced by their position across all groups; the state tensors are
        referenced, not copied (as in PyTorch).
        """
        for hook in tuple(self._state_dict_pre_hooks.values()):
            hook(self)
        mapping: dict[int, int] = {}
        start = 0

        def pack(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            # one update from the whole group: a parameter listed twice in it maps to its last
            # position, one already seen in an earlier group keeps that one (as PyTorch's)
            mapping.update({id(p): i for i, p in enumerate(group["params"], start) if id(p) not in mapping})
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        state_dict = {"state": state, "param_groups": groups}
        for hook in tuple(self._state_dict_post_hooks.values()):
            res = hook(self, state_dict)
            if res is not None:
                state_dict = res
        return state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()`` (from this framework or PyTorch); state tensors move to each
        parameter's device, and to its dtype when the parameter is floating point. ``step`` counters
        stay as saved, except in a ``capturable`` or ``fused`` group (float32 on the parameter's
        device), as PyTorch loads them."""
        # no up-front shape check: a dict without 'param_groups' or 'state' fails on its lookup
        # (KeyError, TypeError for a list), where PyTorch's does
        state_dict = state_dict.copy()
        for hook in tuple(self._load_state_dict_pre_hooks.values()):
            res = hook(self, state_dict)
            if res is not None:
                state_dict = res
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param: Tensor, value: Any, on_device_step: bool, key: Any = None) -> Any:
            if isinstance(value, Tensor):
                if key == "step":
                    return value.to(dtype=_dt.float32, device=param.device) if on_device_step else value
                if param.is_floating_point():
                    return value.to(dtype=param.dtype, device=param.device)
                return value.to(device=param.device)
            if isinstance(value, dict):
                return {k: cast(param, v, on_device_step, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v, on_device_step) for v in value)
            return value

        def on_device_step(param_id: Any) -> bool:
            """The saved group holding ``param_id`` is capturable or fused (PyTorch reads the saved flags)."""
            for g in state_dict["param_groups"]:
                if param_id in g["params"]:
                    return bool(g.get("fused", False) or g.get("capturable", False))
            return False

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v, on_device_step(k))
            else:
                state[k] = v

        for group, new_group in zip(groups, saved_groups):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})
        for hook in tuple(self._load_state_dict_post_hooks.values()):
            hook(self)


def _typename(obj: Any) -> str:
    if isinstance(obj, Tensor):
        return f"ember.{obj._type_name().rsplit('.', 1)[-1]}"
    return f"{type(obj).__module__}.{type(obj).__qualname__}" if type(obj).__module__ != "builtins" \
        else type(obj).__qualname__


# ---- helpers shared by the optimizers --------------------------------------------------------
def run_closure(closure: Callable[[], Any] | None) -> Any:
    """The loss from ``step(closure)``'s closure, evaluated with grad enabled (None without one).

    ``step`` itself runs with grad disabled (see ``_wrap_step``), so the closure turns it back on
    to rebuild the graph and call ``backward``, as in PyTorch.
    """
    if closure is None:
        return None
    with enable_grad():
        return closure()


def new_step() -> Tensor:
    """A fresh ``state['step']``: a float32 0-d CPU tensor, as PyTorch stores it."""
    from ember.functions.creation import tensor

    return tensor(0.0, dtype=_dt.float32)


def incr_step(st: Tensor) -> float:
    """``state['step'] += 1`` and return the new value as a Python float (one host read)."""
    kt = st._kt
    v = float(kt["to_host"](st._data)) + 1.0
    kt["copy_"](st._data, v)
    st._version[0] += 1
    return v


def ensure_step_tensor(state: dict) -> None:
    """Old state dicts stored ``step`` as a number: make it a tensor (as PyTorch's __setstate__)."""
    s = state.get("step")
    if s is not None and not isinstance(s, Tensor):
        from ember.functions.creation import tensor

        state["step"] = tensor(float(s), dtype=_dt.float32)


def zeros_state(p: Tensor, value: float = 0.0) -> Tensor:
    """A state buffer shaped, typed and placed like ``p``, filled with ``value``.

    A complex parameter steps as two independent reals (see ``as_real``), so its buffer holds
    ``value`` in both parts (PyTorch's ``full_like(p, complex(value, value))``).
    """
    if value and p._dtype.is_complex:
        value = complex(value, value)
    return p._new(p._kt["full"](tuple(p._data.shape), value, p._dtype, p._device.index))


def grad_array(p: Tensor, maximize: bool) -> Any:
    """``p.grad``'s backend array (negated when maximizing), in ``p``'s dtype."""
    g = p.grad
    if g._device != p._device:
        raise RuntimeError(f"Expected the gradient of a parameter on {p._device} to be on the same device, "
                           f"but it is on {g._device}")
    d = g._data
    if g._dtype is not p._dtype:
        d = p._kt["astype"](d, p._dtype)
    return p._kt["neg"](d) if maximize else d


def write_param(p: Tensor, data: Any) -> None:
    """Write ``data`` into the parameter's storage in place (views and references stay valid)."""
    p._kt["copy_"](p._data, data)
    p._version[0] += 1


def set_buffer(buf: Tensor, data: Any) -> None:
    """Replace an optimizer-owned state buffer's contents.

    State buffers belong to the optimizer, so rebinding the tensor's array (instead of copying
    into it) saves one full pass over memory per buffer per step; every holder of the Tensor
    object sees the new values. A buffer in shared memory (``share_memory_``, Hogwild) is
    written in place instead: other processes see that memory, not this tensor object.
    """
    if _shm.any_shared() and buf.is_shared():
        buf._kt["copy_"](buf._data, data)
    else:
        buf._data = data
    buf._version[0] += 1


def check_hparam(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def check_lr(lr: Any) -> None:
    """A learning rate given as a Tensor must hold one element (PyTorch's first check)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")


def check_fused(fused: bool | None, foreach: bool | None, differentiable: bool = False) -> None:
    """``fused`` and ``foreach`` pick two implementations: asking for both fails, as in PyTorch; so
    does ``fused`` with ``differentiable`` (checked first, as PyTorch's constructors do). Then
    ember's own refusal of ``differentiable=True`` (its updates run outside autograd)."""
    if fused and differentiable:
        raise RuntimeError("`fused` does not support `differentiable`")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if differentiable:
        raise NotImplementedError("differentiable=True is not supported by ember's optimizers")


# what PyTorch's message names as the devices with fused optimizer kernels (every ember device runs
# the update a ``fused=True`` group asks for: the flag picks no other code here)
_FUSED_DEVICES = ["mps", "cuda", "xpu", "hpu", "cpu", "mtia", "privateuseone"]


def check_fused_param(p: Tensor) -> None:
    """PyTorch's ``_device_dtype_check_for_fused``: a ``fused=True`` group's parameter must be floating
    point (a complex one fails its first step; SGD and Adagrad check their first parameter, Adam each)."""
    if not p.is_floating_point():
        raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of supported "
                           f"devices: {_FUSED_DEVICES} but {p.dtype} and {p.device.type}")


def check_first_fused(opt: Optimizer, group: dict) -> None:
    """PyTorch's SGD and Adagrad check ``fused=True`` on the first parameter with a gradient that a
    fused group steps, once per optimizer (``_need_device_dtype_check_for_fused``)."""
    for p in group["params"]:
        if p.grad is not None:
            check_fused_param(p)
            opt._need_fused_check = False
            return


# ---- tensor-level helpers (the optimizers written with Tensor ops; step runs with grad off) ----
def grad_tensor(p: Tensor, maximize: bool) -> Tensor:
    """``p.grad`` as a Tensor in ``p``'s dtype (negated when maximizing); same device checks as ``grad_array``."""
    return p._new(grad_array(p, maximize))


def decayed_grad(p: Tensor, g: Tensor, lr: float, weight_decay: float, decoupled: bool) -> Tensor:
    """Weight decay as NAdam and RAdam apply it: decoupled (AdamW's) shrinks ``p`` in place by
    ``1 - lr * weight_decay``, otherwise ``weight_decay * p`` is added to the gradient (returned)."""
    if weight_decay != 0:
        if decoupled:
            p.mul_(1 - lr * weight_decay)
        else:
            g = g.add(p, alpha=weight_decay)
    return g


def scalar_state(value: float) -> Tensor:
    """A float32 0-d CPU state scalar (``mu_product``, ``eta``, ``mu``...), as PyTorch keeps them."""
    from ember.functions.creation import tensor

    return tensor(float(value), dtype=_dt.float32)


def set_scalar(st: Tensor, value: float) -> float:
    """Write ``value`` into a 0-d state tensor; returns it as stored (rounded to the tensor's dtype)."""
    kt = st._kt
    kt["copy_"](st._data, float(value))
    st._version[0] += 1
    return float(kt["to_host"](st._data))


def scalar_value(st: Tensor | float) -> float:
    """A state scalar's value as a Python float (one host read for a tensor)."""
    return float(st._kt["to_host"](st._data)) if isinstance(st, Tensor) else float(st)


class as_real:  # noqa: N801 - used as a context manager, like PyTorch's private helper
    """Run one parameter's update on real views of a complex parameter, as PyTorch's optimizers do
    (``torch.view_as_real`` of the parameter, its gradient and its state buffers).

    ``with as_real(p, state) as (q, st):`` yields ``(p, state)`` unchanged for a real parameter. For
    a complex one, ``q`` is a real ``(..., 2)`` copy of ``p`` whose ``.grad`` is the gradient's
    real view, and ``st`` the state with every complex buffer replaced by a real copy; on exit the
    new values are written back into ``p`` and into the complex buffers (same tensor objects, so
    ``state_dict()`` still shows them complex, as PyTorch's). State buffers are created on the
    complex parameter first (``zeros_like``/``full_like`` of it), so a buffer filled with a number
    holds it in the real part only, as in PyTorch.
    """

    def __init__(self, p: Tensor, state: dict) -> None:
        self.p, self.state = p, state
        self.real = not p.is_complex()

    def __enter__(self) -> tuple[Tensor, dict]:
        if self.real:
            return self.p, self.state
        from ember.functions.complex_ops import view_as_real

        p = self.p
        q = view_as_real(p.detach()).clone()
        if p.grad is not None:
            q.grad = view_as_real(p.grad.detach()).clone()
        self.q = q
        self.rstate = {k: (view_as_real(v.detach()).clone() if isinstance(v, Tensor) and v.is_complex() else v)
                       for k, v in self.state.items()}
        return q, self.rstate

    def __exit__(self, *exc: Any) -> None:
        if self.real or exc[0] is not None:
            return
        from ember.functions.complex_ops import view_as_complex

        write_param(self.p, view_as_complex(self.q)._data)
        for k, v in self.rstate.items():
            old = self.state.get(k)
            if isinstance(old, Tensor) and old.is_complex():
                old._kt["copy_"](old._data, view_as_complex(v.contiguous())._data)
                old._version[0] += 1
            else:
                self.state[k] = v
