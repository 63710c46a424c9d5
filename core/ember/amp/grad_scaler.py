"""``ember.amp.GradScaler``: loss scaling for float16 training, as ``torch.amp.GradScaler``.

The scale and the growth tracker are 0-d tensors on the device of the scaled outputs, and the
inf/NaN check of the gradients stays on that device too: one ``isfinite().all()`` per gradient,
stacked per device and dtype, no host round trip. The only host sync is the one PyTorch has,
deciding in :meth:`GradScaler.step` whether to run the optimizer.

Example:
    >>> import ember
    >>> w = ember.nn.Parameter(ember.ones(3))
    >>> opt = ember.optim.SGD([w], lr=0.1)
    >>> scaler = ember.amp.GradScaler("cpu", init_scale=4.0)
    >>> scaler.scale((w * 2).sum()).backward()
    >>> w.grad.tolist()
    [8.0, 8.0, 8.0]
    >>> scaler.step(opt)
    >>> scaler.update()
    >>> [round(v, 4) for v in w.tolist()], scaler.get_scale()
    ([0.8, 0.8, 0.8], 4.0)
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable
from enum import Enum
from typing import Any

from ember import dtypes as _dt

__all__ = ["GradScaler", "OptState"]


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> dict[str, Any]:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _device_unavailable(device: str) -> bool:
    if device == "cpu":
        return False
    from ember import dispatch

    try:
        return not dispatch.table(device).backend.is_available()
    except Exception:  # noqa: BLE001 - an unknown or broken device type
        return True


def _is_fused(optimizer: Any) -> bool:
    """Whether a group of ``optimizer`` uses a fused step (PyTorch's fused Adam/AdamW/SGD/Adagrad
    kernels take the grad scale themselves)."""
    return any(group.get("fused") for group in getattr(optimizer, "param_groups", ()))


def _zero(device: Any) -> Any:
    import ember

    return ember.zeros((), dtype=_dt.float32, device=device)


class GradScaler:
    """Scale a loss, unscale and check its gradients, skip overflowing steps, adapt the scale.

    ``device`` is the device type of the loss ("cpu", "cuda", "opencl"...); the scale starts at
    ``init_scale``, is multiplied by ``backoff_factor`` after a step whose gradients held inf/NaN
    (the step is skipped) and by ``growth_factor`` after ``growth_interval`` clean steps in a row.
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if enabled and _device_unavailable(device):
            name = "torch.cuda.amp.GradScaler" if device == "cuda" else f"GradScaler({device!r})"
            warnings.warn(f"{name} is enabled, but {device.upper() if device == 'cuda' else device} is not "
                          "available.  Disabling.", UserWarning, stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale: Any = None  # made by the first scale(), on the outputs' device
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker: Any = None
            self._per_optimizer_states: dict[int, dict[str, Any]] = defaultdict(_refresh_per_optimizer_state)

    # ---- scaling ----------------------------------------------------------------------------
    def _lazy_init_scale_growth_tracker(self, dev: Any) -> None:
        import ember

        self._scale = ember.full((), self._init_scale, dtype=_dt.float32, device=dev)
        self._growth_tracker = ember.full((), self._init_growth_tracker, dtype=_dt.int32, device=dev)

    def scale(self, outputs: Any) -> Any:
        """``outputs`` (a tensor, or an iterable of them) multiplied by the scale."""
        from ember.tensor import Tensor

        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs.device)
            return outputs * self._scale.to(outputs.device)
        return self._scale_all(outputs)

    def _scale_all(self, value: Any) -> Any:
        from ember.tensor import Tensor

        if isinstance(value, Tensor):
            return self.scale(value)
        if isinstance(value, Iterable):
            # lazy, as PyTorch's: a dict or generator gives a ``map`` over its items, scaled when read
            scaled = map(self._scale_all, value)
            return type(value)(scaled) if isinstance(value, (list, tuple)) else scaled
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _check_scale_growth_tracker(self, funcname: str) -> tuple[Any, Any]:
        fix = "This may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration."
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    # ---- unscaling and the inf check ---------------------------------------------------------
    def _unscale_grads_(self, optimizer: Any, inv_scale: Any, found_inf: Any, allow_fp16: bool) -> dict:
        import ember

        groups: dict = defaultdict(lambda: defaultdict(list))
        with ember.no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    if not allow_fp16 and param.grad.dtype is _dt.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    groups[param.grad.device][param.grad.dtype].append(param.grad)
            per_device: dict = {}
            for dev, per_dtype in groups.items():
                inv = inv_scale.to(dev)
                flags = []
                for grads in per_dtype.values():
                    for g in grads:
                        flags.append(g.isfinite().all())  # stays on the device: no sync per gradient
                        g.mul_(inv)
                bad = ember.logical_not(ember.stack(flags).all()).to(_dt.float32)
                per_device[dev] = ember.maximum(found_inf.to(dev), bad)
        return per_device

    def unscale_(self, optimizer: Any) -> None:
        """Divide the optimizer's gradients by the scale (once per step), recording inf/NaN."""
        import ember

        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # the reciprocal in float64 where the device has it, as PyTorch (float32 division may be inexact)
        try:
            inv_scale = self._scale.double().reciprocal().float()
        except TypeError:
            inv_scale = self._scale.reciprocal()
        found_inf = ember.full((), 0.0, dtype=_dt.float32, device=self._scale.device)
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, found_inf, False)
        state["stage"] = OptState.UNSCALED

    def _maybe_opt_step(self, optimizer: Any, state: dict, *args: Any, **kwargs: Any) -> Any:
        if not sum(v.item() for v in state["found_inf_per_device"].values()):
            return optimizer.step(*args, **kwargs)
        return None

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (unless done) and run ``optimizer.step`` unless the gradients held inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if getattr(optimizer, "_step_supports_amp_scaling", False):
            return self._step_amp_aware(optimizer, state, args, kwargs)
        if state["stage"] is OptState.READY:
            if _is_fused(optimizer):
                self._unscale_fused(optimizer, state)
            else:
                self.unscale_(optimizer)
        if len(state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = self._maybe_opt_step(optimizer, state, *args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def _step_amp_aware(self, optimizer: Any, state: dict, args: tuple, kwargs: dict) -> Any:
        """PyTorch's contract with an optimizer that sets ``_step_supports_amp_scaling``: its ``step``
        reads ``optimizer.grad_scale`` and ``optimizer.found_inf`` (or, the deprecated form, takes a
        ``grad_scaler=`` keyword) and unscales and skips by itself."""
        import inspect

        has_kwarg = "grad_scaler" in inspect.signature(optimizer.step).parameters
        if has_kwarg:
            warnings.warn("GradScaler is going to stop passing itself as a keyword argument to the passed "
                          "optimizer. In the near future GradScaler registers `grad_scale: Tensor` and "
                          "`found_inf: Tensor` to the passed optimizer and let the optimizer use them directly.",
                          FutureWarning, stacklevel=3)
            kwargs = {**kwargs, "grad_scaler": self}
        else:
            if state["stage"] is OptState.READY:
                self._check_inf_per_device(optimizer)
            scale = self._get_scale_async()
            found = [t.to(scale.device) for t in state["found_inf_per_device"].values()]
            optimizer.found_inf = sum(found[1:], found[0]) if found else _zero(scale.device)
            optimizer.grad_scale = (getattr(optimizer, "grad_scale", None) if state["stage"] is OptState.UNSCALED
                                    else scale * getattr(optimizer, "grad_scale", 1))
        retval = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        if not has_kwarg:
            del optimizer.grad_scale
            del optimizer.found_inf
        return retval

    def _unscale_fused(self, optimizer: Any, state: dict) -> None:
        """A ``fused=True`` optimizer: PyTorch's fused kernel takes the scale and unscales in float32,
        so float16 gradients are allowed (no "Attempting to unscale FP16 gradients") and they stay
        scaled when the step is skipped. ember's fused steps take no scale: the check comes first and
        the gradients are unscaled (float32 math, rounded once) only when the step will run."""
        found = self._check_inf_per_device(optimizer)
        if not sum(v.item() for v in found.values()):
            import ember

            try:  # the reciprocal in float64 where the device has it, as in unscale_
                inv_scale = self._scale.double().reciprocal().float()
            except TypeError:
                inv_scale = self._scale.reciprocal()
            with ember.no_grad():
                for group in optimizer.param_groups:
                    for param in group["params"]:
                        if param.grad is not None:
                            param.grad.mul_(inv_scale.to(param.grad.device))

    def _check_inf_per_device(self, optimizer: Any) -> dict:
        """Record which devices' gradients hold inf/NaN, without unscaling them."""
        import ember

        scale, _ = self._check_scale_growth_tracker("_check_inf_per_device")
        dummy_inv_scale = ember.full((), 1.0, dtype=_dt.float32, device=scale.device)
        found_inf = ember.full((), 0.0, dtype=_dt.float32, device=scale.device)
        state = self._per_optimizer_states[id(optimizer)]
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, dummy_inv_scale, found_inf, True)
        return state["found_inf_per_device"]

    def _found_inf_per_device(self, optimizer: Any) -> dict:
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]

    def update(self, new_scale: Any = None) -> None:
        """Back off after an overflow, grow after ``growth_interval`` clean steps (on the device)."""
        import ember

        if not self._enabled:
            return
        scale, tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                          "torch.FloatTensor with requires_grad=False.")
                if new_scale.device.type != self._device or new_scale.numel() != 1 or new_scale.requires_grad:
                    raise AssertionError(reason)
                scale.copy_(new_scale)
        else:
            found = [f.to(scale.device) for st in self._per_optimizer_states.values()
                     for f in st["found_inf_per_device"].values()]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            combined = found[0]
            for f in found[1:]:
                combined = combined + f
            with ember.no_grad():
                self._update_scale(scale, tracker, combined)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _update_scale(self, scale: Any, tracker: Any, found_inf: Any) -> None:
        """``torch._amp_update_scale_`` in ember ops, so the scale never leaves its device."""
        import ember

        overflow = found_inf > 0
        successful = tracker + 1
        grow = ember.logical_and(ember.logical_not(overflow), successful >= self._growth_interval)
        grown = scale * self._growth_factor
        grown = ember.where(grown.isfinite(), grown, scale)  # a scale that would overflow stays put
        new_scale = ember.where(overflow, scale * self._backoff_factor, ember.where(grow, grown, scale))
        reset = ember.logical_or(overflow, grow)
        scale.copy_(new_scale)
        tracker.copy_(ember.where(reset, ember.zeros_like(successful), successful))

    # ---- queries and state -------------------------------------------------------------------
    def _get_scale_async(self) -> Any:
        return self._scale

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        if self._enabled:
            return self._init_scale if self._scale is None else float(self._scale.item())
        return 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            return self._init_growth_tracker if self._growth_tracker is None else int(self._growth_tracker.item())
        return 0

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """scale, growth_factor, backoff_factor, growth_interval and _growth_tracker ({} when disabled)."""
        if self._enabled:
            return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                    "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                    "_growth_tracker": self._get_growth_tracker()}
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError("A GradScaler instance may only be pickled at the beginning "
                                     "of an iteration, or at the end after scaler.update().")
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._enabled and self._per_optimizer_states is None:  # pickled by an older ember
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)
