"""``ember.autocast``: run chosen ops in a lower-precision dtype, as ``torch.autocast``.

Inside ``with ember.autocast("cpu"):`` the ops of PyTorch's lists (:mod:`ember.amp._lists`) cast
their floating inputs first: matmul, linear and convolutions to the autocast dtype (bfloat16 on
cpu, float16 elsewhere, unless ``dtype=`` says otherwise); losses and other ops sensitive to
precision to float32; ``cat``/``stack`` to the widest input dtype. Other ops run in the dtype of
their inputs. The casts are ordinary differentiable ``Tensor.to`` calls, so gradients flow back in
the parameters' own dtype.

How it is hooked: only the listed ops are wrapped, once, at import (the registry ops through
``ember._ops.registry.wrap_ops`` before Tensor methods are bound, the ``F.``/``linalg.`` functions by
:func:`install`): an op that no list names costs nothing, and a listed op checks one thread-local
flag while autocast is off.
The state is per thread and per device type, as in PyTorch.

Example:
    >>> import ember
    >>> a, b = ember.ones(2, 3), ember.ones(3, 2)
    >>> with ember.autocast("cpu"):
    ...     c = a @ b
    ...     d = c.float() + 1
    >>> c.dtype, d.dtype, (a @ b).dtype
    (ember.bfloat16, ember.float32, ember.float32)
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from ember import dtypes as _dt
from ember.amp import _lists
from ember.device import check_device_type

__all__ = ["autocast", "is_autocast_enabled", "get_autocast_dtype", "set_autocast_enabled", "set_autocast_dtype",
           "is_autocast_available", "is_autocast_cache_enabled", "set_autocast_cache_enabled",
           "clear_autocast_cache", "autocast_increment_nesting", "autocast_decrement_nesting", "custom_fwd",
           "custom_bwd", "install", "hooked", "registry_op_names"]

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    # Class attributes are the defaults every new thread sees (PyTorch's autocast state is per thread).
    on = False  # any device type enabled: the one flag a wrapped op checks
    enabled: dict

    def __init__(self) -> None:
        self.enabled = {}
        self.dtypes = {}
        self.cache_enabled = True
        self.depth = 0
        self.cache = {}


_STATE = _State()


def _check_type(device_type: str) -> None:
    """PyTorch's error for a name that is no device type (checked where arguments are parsed)."""
    check_device_type(device_type)


def _default_dtype(device_type: str) -> _dt.dtype:
    # PyTorch's defaults: bfloat16 on cpu, hpu, xla and maia, float16 elsewhere
    return _dt.bfloat16 if device_type.partition(":")[0] in ("cpu", "hpu", "xla", "maia") else _dt.float16


# The device types PyTorch has autocast kernels for (``torch._C._is_autocast_available``), whether or
# not such a device is present here: ``autocast("mps")`` is accepted (and disabled with a warning
# when ember has no such backend), ``autocast("meta")`` is PyTorch's "unsupported" error.
_TORCH_AUTOCAST_TYPES = frozenset(("cpu", "cuda", "xpu", "ipu", "hpu", "xla", "mps", "mtia", "maia", "privateuseone"))


def is_autocast_available(device_type: str) -> bool:
    """True when autocast can be entered for ``device_type``: a registered ember device type (autocast
    works for all of them) or one PyTorch has autocast kernels for."""
    from ember import plugins

    _check_type(device_type)
    name = device_type.partition(":")[0]  # "cuda:0" is accepted as its type, as PyTorch does
    return name in _TORCH_AUTOCAST_TYPES or name in plugins.device_types()


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` in this thread (``"cuda"`` when omitted, as PyTorch)."""
    if device_type is not None and not is_autocast_available(device_type):
        raise RuntimeError("unknown device type for autocast in get_autocast_dispatch_key_from_device_type")
    return bool(_STATE.enabled.get(device_type or "cuda", False))


def get_autocast_dtype(device_type: str) -> _dt.dtype:
    """The dtype autocast casts to on ``device_type`` (bfloat16 on cpu, float16 elsewhere by default)."""
    if not is_autocast_available(device_type):  # (which checks the name first)
        raise RuntimeError("unsupported scalarType")
    return _STATE.dtypes.get(device_type) or _default_dtype(device_type)


def set_autocast_enabled(device_type: str, enabled: bool) -> None:
    if device_type not in _STATE.enabled and not is_autocast_available(device_type):
        raise RuntimeError("unknown device type for autocast in get_autocast_dispatch_key_from_device_type")
    if not isinstance(enabled, bool):
        raise TypeError(f"set_autocast_enabled(): argument 'enabled' (position 2) must be bool, not "
                        f"{type(enabled).__name__}")
    _STATE.enabled[device_type] = enabled
    _STATE.on = any(_STATE.enabled.values())


def set_autocast_dtype(device_type: str, dtype: _dt.dtype) -> None:
    if not isinstance(dtype, _dt.dtype):
        raise TypeError(f"set_autocast_dtype(): argument 'dtype' (position 2) must be torch.dtype, not "
                        f"{type(dtype).__name__}")
    _STATE.dtypes[device_type] = dtype


def is_autocast_cache_enabled() -> bool:
    return _STATE.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    _STATE.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    _STATE.cache.clear()


def autocast_increment_nesting() -> int:
    """One more ``autocast`` level entered in this thread; returns the new depth."""
    _STATE.depth += 1
    return _STATE.depth


def autocast_decrement_nesting() -> int:
    """One ``autocast`` level left in this thread; returns the new depth (negative if unbalanced, as PyTorch)."""
    _STATE.depth -= 1
    return _STATE.depth


def _supported(device_type: str, dtype: _dt.dtype) -> str:
    """'' when autocast can use ``dtype`` on ``device_type``, else PyTorch's warning text."""
    if device_type == "cpu":
        if dtype not in (_dt.bfloat16, _dt.float16):
            return ("In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                    "CPU Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.")
        return ""
    from ember import dispatch

    try:
        backend = dispatch.table(device_type).backend
        available = backend.is_available()
    except Exception:  # noqa: BLE001 - an unknown or broken device type: autocast is simply off
        available = False
    if not available:
        if device_type == "cuda":
            return "CUDA is not available or torch_xla is imported. Disabling autocast."
        return f"User provided device_type of '{device_type}', but {device_type} is not available. Disabling"
    if dtype not in (_dt.bfloat16, _dt.float16) or dtype not in backend.supported_dtypes(0):
        return (f"In {device_type} autocast, but the target dtype {dtype} is not supported on this device. "
                "Disabling autocast.")
    return ""


class autocast:  # noqa: N801 - PyTorch's name
    """Context manager and decorator: ops of PyTorch's autocast lists run in ``dtype``.

    ``device_type`` is the device type whose tensors are cast ("cpu", "cuda", "opencl", or a
    third-party type); ``dtype`` defaults to bfloat16 on cpu and float16 elsewhere; ``enabled=False``
    switches autocast off inside the block (nesting restores the outer state on exit);
    ``cache_enabled`` keeps the cast of a parameter for reuse within the outermost block.

    >>> import ember
    >>> @ember.autocast("cpu", dtype=ember.bfloat16)
    ... def f(x, w):
    ...     return ember.nn.functional.linear(x, w)
    >>> f(ember.ones(2, 3), ember.ones(4, 3)).dtype
    ember.bfloat16
    """

    def __init__(self, device_type: str, dtype: _dt.dtype | None = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = device_type
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        if not is_autocast_available(device_type):  # also PyTorch's error for a name that is no device type
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else cache_enabled
        if enabled:
            why = _supported(device_type, self.fast_dtype)
            if why:
                warnings.warn(why, UserWarning, stacklevel=2)
                enabled = False
        self._enabled = enabled

    def __enter__(self) -> autocast:
        st = _STATE
        self._prev = (st.enabled.get(self.device, False), st.dtypes.get(self.device), st.cache_enabled)
        if not isinstance(self.fast_dtype, _dt.dtype):  # checked before any state changes
            set_autocast_dtype(self.device, self.fast_dtype)
        set_autocast_enabled(self.device, self._enabled)  # first: a non-bool ``enabled`` changes nothing
        st.dtypes[self.device] = self.fast_dtype
        st.cache_enabled = self._cache_enabled
        st.depth += 1
        return self

    def __exit__(self, *exc: object) -> bool:
        st = _STATE
        st.depth -= 1
        if st.depth == 0:
            st.cache.clear()  # the cast parameters live as long as the outermost block, as in PyTorch
        enabled, dtype, st.cache_enabled = self._prev
        if dtype is None:
            st.dtypes.pop(self.device, None)
        else:
            st.dtypes[self.device] = dtype
        set_autocast_enabled(self.device, enabled)
        return False  # exceptions propagate (PyTorch returns False too)

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def decorated(*args: Any, **kwargs: Any) -> Any:
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)

        return decorated  # type: ignore[return-value]


# ---- custom autograd Functions -----------------------------------------------------------------
def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs: _dt.dtype | None = None) -> Any:
    """Decorate a custom ``Function.forward``: with ``cast_inputs``, its floating inputs on
    ``device_type`` are cast to that dtype and it runs with autocast off (when autocast is on);
    without, it runs in the caller's autocast state, which :func:`custom_bwd` then restores."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args: Any, **kwargs: Any) -> Any:
        from ember.tensor import Tensor

        ctx = args[0]
        ctx._dtype = get_autocast_dtype(device_type)
        # PyTorch's engine casts each returned gradient to its input's dtype; ember's does not, so
        # the input dtypes are kept here for custom_bwd (cast_inputs makes them differ).
        ctx._amp_input_dtypes = tuple(a._dtype if isinstance(a, Tensor) else None for a in args[1:])
        if cast_inputs is None:
            ctx._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        on = is_autocast_enabled(device_type)
        ctx._fwd_used_autocast = False
        if not on:
            return fwd(*args, **kwargs)
        with autocast(device_type, enabled=False):
            return fwd(*_cast_all(args, device_type, cast_inputs), **_cast_all(kwargs, device_type, cast_inputs))

    return decorate_fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Any:
    """Decorate a custom ``Function.backward``: it runs in the autocast state of its forward."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args: Any, **kwargs: Any) -> Any:
        ctx = args[0]
        with autocast(device_type, enabled=ctx._fwd_used_autocast, dtype=ctx._dtype):
            grads = bwd(*args, **kwargs)
        return _grads_as_inputs(grads, getattr(ctx, "_amp_input_dtypes", ()))

    return decorate_bwd


def _grads_as_inputs(grads: Any, dtypes: tuple) -> Any:
    """Each floating gradient in the dtype of the input it belongs to."""
    single = not isinstance(grads, tuple)
    out = tuple(g.to(d) if d is not None and g is not None and d.is_floating_point and g.dtype is not d else g
                for g, d in zip((grads,) if single else grads, dtypes))
    out += ((grads,) if single else grads)[len(out):]
    return out[0] if single else out


def _cast_all(value: Any, device_type: str, dtype: _dt.dtype) -> Any:
    """``torch.amp.autocast_mode._cast``: floating tensors of ``device_type`` (not float64) to ``dtype``,
    through containers."""
    from ember.tensor import Tensor

    if isinstance(value, Tensor):
        ok = value._dtype.is_floating_point and value._device.type == device_type and value._dtype is not _dt.float64
        return value.to(dtype) if ok else value
    if isinstance(value, dict):
        return {_cast_all(k, device_type, dtype): _cast_all(v, device_type, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_all(v, device_type, dtype) for v in value)
    return value


# ---- the cast hook ---------------------------------------------------------------------------
def _eligible(t: Any, device_type: str) -> bool:
    from ember.tensor import Tensor

    return isinstance(t, Tensor) and t._dtype.is_floating_point and t._device.type == device_type


def _cast(t: Any, dtype: _dt.dtype, device_type: str) -> Any:
    from ember.tensor import Tensor

    if isinstance(t, (list, tuple)) and t and isinstance(t[0], Tensor):
        return type(t)(_cast(x, dtype, device_type) for x in t)
    if not _eligible(t, device_type) or t._dtype is dtype or t._dtype is _dt.float64:
        return t
    st = _STATE
    # Parameters (leaves that require grad) are cast once per outermost block and reused.
    cacheable = st.cache_enabled and t.grad_fn is None and t._requires_grad and dtype is not _dt.float32
    if cacheable:
        hit = st.cache.get((id(t), dtype))
        if hit is not None and hit[0] is t:
            return hit[1]
    out = t.to(dtype)
    if cacheable:
        st.cache[(id(t), dtype)] = (t, out)
    return out


def _device_of(args: tuple, kwargs: dict) -> str | None:
    from ember.tensor import Tensor

    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            return a._device.type
        if isinstance(a, (list, tuple)) and a and isinstance(a[0], Tensor):
            return a[0]._device.type
    return None


def _widest(args: tuple, kwargs: dict, device_type: str) -> _dt.dtype:
    """PyTorch's ``promote_type``: from the autocast dtype, widened to float32 by a float32 input;
    float64 inputs are ignored (and left as they are by the cast), two 16-bit dtypes are an error."""
    out = get_autocast_dtype(device_type)
    for a in (*args, *kwargs.values()):
        for t in (a if isinstance(a, (list, tuple)) else (a,)):
            if _eligible(t, device_type) and t._dtype is not _dt.float64:
                out = _prioritize(out, t._dtype)
    return out


def _prioritize(current: _dt.dtype, nxt: _dt.dtype) -> _dt.dtype:
    # at::autocast::prioritize: float32 wins over the 16-bit dtype; two different 16-bit dtypes are an error.
    if current is _dt.float32 or nxt is _dt.float32:
        return _dt.float32
    if current is nxt:
        return current
    raise RuntimeError("Unexpected floating ScalarType in at::autocast::prioritize")


def _pad_fp32(args: tuple, kwargs: dict) -> bool:
    """Whether ``F.pad(input, pad, mode)`` is one of the paddings of PyTorch's CPU fp32 list:
    reflection_pad1d/2d and replication_pad1d/2d/3d (not reflection_pad3d, constant or circular)."""
    mode = args[2] if len(args) > 2 else kwargs.get("mode", "constant")
    pad = args[1] if len(args) > 1 else kwargs.get("pad", ())
    k = len(pad) // 2
    return (mode == "reflect" and k in (1, 2)) or (mode == "replicate" and k in (1, 2, 3))


_POLICIES: dict[str, dict[str, str]] = {}  # device kind ("cpu"/"accelerator") -> {name: policy}


# PyTorch's error for an op of the accelerators' banned list (aten/src/ATen/autocast_mode.cpp)
_BANNED = ("torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
           "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
           "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits\n"
           "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
           "safe to autocast.")


def _interp_fp32(args: tuple, kwargs: dict) -> bool:
    """Whether ``F.interpolate`` runs one of the ``upsample_*`` kernels of PyTorch's CUDA fp32 list
    (every mode but "area", which is adaptive average pooling)."""
    mode = args[3] if len(args) > 3 else kwargs.get("mode", "nearest")
    return mode != "area"


def _policy(device_type: str, name: str) -> str | None:
    kind = "cpu" if device_type == "cpu" else "accelerator"
    table = _POLICIES.get(kind)
    if table is None:
        table = _POLICIES[kind] = {n: p for p, names in _lists.lists(device_type).items() for n in names}
    return table.get(name)


def _run(name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
    device_type = _device_of(args, kwargs)
    if device_type is None or not _STATE.enabled.get(device_type):
        return fn(*args, **kwargs)
    policy = _policy(device_type, name)
    if kwargs.get("out") is not None:  # PyTorch lists no out= overload: it runs in its inputs' dtypes
        policy = "native"
    target: _dt.dtype | None = None  # None: no cast (``native``: the body still runs with autocast off)
    if policy == "lower":
        target = get_autocast_dtype(device_type)
    elif policy == "fp32" or (policy == "fp32_opt" and kwargs.get("dtype") is None) or \
            (policy == "fp32_pad" and _pad_fp32(args, kwargs)) or \
            (policy == "fp32_interp" and _interp_fp32(args, kwargs)):
        target = _dt.float32
    elif policy == "promote":
        target = _widest(args, kwargs, device_type)
    elif policy == "banned":
        raise RuntimeError(_BANNED)
    elif policy != "native":
        return fn(*args, **kwargs)
    if target is not None:
        args = tuple(_cast(a, target, device_type) for a in args)
        kwargs = {k: _cast(v, target, device_type) for k, v in kwargs.items()}
    # The op's own body runs with autocast off for this device type, as PyTorch's redispatch does.
    _STATE.enabled[device_type] = False
    try:
        return fn(*args, **kwargs)
    finally:
        set_autocast_enabled(device_type, True)  # also re-arms the flag a nested block may have cleared


def hooked(name: str, fn: Callable) -> Callable:
    """``fn`` with the autocast cast of op ``name`` in front (one flag test while autocast is off)."""
    state = _STATE
    name = _ALIASES.get(name, name)

    @functools.wraps(fn)
    def op(*args: Any, **kwargs: Any) -> Any:
        if not state.on:  # the whole cost while autocast is off
            return fn(*args, **kwargs)
        return _run(name, fn, args, kwargs)

    op.__autocast_wrapped__ = fn  # type: ignore[attr-defined]
    return op


def _listed() -> set[str]:
    return {n for table in (_lists.CPU, _lists.ACCELERATOR) for group in table.values() for n in group}


# registry op -> the listed ``F.<name>`` whose very function it is (filled by registry_op_names)
_ALIASES: dict[str, str] = {}


def registry_op_names() -> list[str]:
    """The listed names that are registry ops (``ember.<name>``, ``Tensor.<name>``): wrapped by
    ``ember._ops.registry.wrap_ops`` before binding, so exports and methods are the declared ones.

    Also the registry ops declared with the function of a listed ``F.<name>`` (``ember.conv2d``,
    ``ember.prelu``, ``ember.layer_norm``...): PyTorch's ``torch.conv2d`` and ``F.conv2d`` are one aten
    op with one policy, so ember's two entry points get the one ``F.`` name's policy."""
    import sys

    from ember._ops.registry import OPS

    listed = _listed()
    functional = sys.modules.get("ember.nn.functional")
    for n, d in OPS.items():
        if f"F.{n}" in listed and n not in listed and functional is not None and \
                getattr(functional, n, None) is d.fn:
            _ALIASES[n] = f"F.{n}"
    return sorted({n for n in listed if "." not in n} | set(_ALIASES))


def install() -> None:
    """Wrap the listed functions of ``ember.nn.functional``, ``ember.linalg`` and ``ember.fft`` (once; at
    the end of ``import ember``; the registry ops were wrapped before binding)."""
    from ember import fft as _fft
    from ember import linalg as _linalg
    from ember.nn import functional as _F

    modules = {"F": _F, "linalg": _linalg, "fft": _fft}
    for full in sorted(_listed()):
        prefix, _, attr = full.partition(".")
        if attr:
            _wrap_attr(modules[prefix], attr, full)


def _wrap_attr(module: Any, attr: str, name: str) -> None:
    fn = getattr(module, attr, None)
    if fn is not None and callable(fn) and not hasattr(fn, "__autocast_wrapped__"):
        setattr(module, attr, hooked(name, fn))
