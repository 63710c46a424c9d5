"""Weight normalization (https://arxiv.org/abs/1602.07868), the hook-based form PyTorch deprecates.

``weight_norm(m)`` replaces ``m.weight`` by parameters ``weight_g`` (magnitude) and ``weight_v``
(direction) and recomputes ``m.weight = g * v / ||v||`` in a forward pre-hook, with PyTorch's
state_dict keys. Prefer :func:`ember.nn.utils.parametrizations.weight_norm`.

    >>> import warnings
    >>> from ember import nn
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", FutureWarning)
    ...     m = nn.utils.weight_norm(nn.Linear(20, 40))
    >>> tuple(m.weight_g.shape), tuple(m.weight_v.shape)
    ((40, 1), (40, 20))
"""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["WeightNorm", "remove_weight_norm", "weight_norm"]


def _norm_except_dim(v: Tensor, pow: float, dim: int) -> Tensor:
    """``torch.norm_except_dim``: the ``pow``-norm over every dim but ``dim`` (kept as size 1);
    ``dim=-1`` means the norm of the whole tensor (a 0-d result), as in PyTorch."""
    if dim == -1:
        return v.norm(pow)
    if dim == 0:
        out_shape = (v.shape[0],) + (1,) * (v.dim() - 1)
        return v.reshape(v.shape[0], -1).norm(pow, 1).reshape(out_shape)
    if dim == v.dim() - 1:
        out_shape = (1,) * (v.dim() - 1) + (v.shape[-1],)
        return v.reshape(-1, v.shape[-1]).norm(pow, 0).reshape(out_shape)
    return _norm_except_dim(v.transpose(0, dim), pow, 0).transpose(0, dim)


def _weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """``torch._weight_norm``: ``v * (g / norm_except_dim(v, 2, dim))`` (a composite; autograd
    differentiates it, where PyTorch has a fused kernel with the same gradients)."""
    if v.device != g.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{v.device} and {g.device}!")
    return v * (g / _norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook behind :func:`weight_norm` (recomputes ``name`` from ``name_g``/``name_v``)."""

    name: str
    dim: int

    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Any:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> WeightNorm:
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        # g and v replace the parameter; the plain attribute ``name`` is refreshed before each forward
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, 2, fn.dim).data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


T_module = TypeVar("T_module", bound=Module)


def weight_norm(module: T_module, name: str = "weight", dim: int | None = 0) -> T_module:
    """Split ``module.<name>`` into ``<name>_g`` and ``<name>_v`` (deprecated; warns ``FutureWarning``).

    ``dim`` is the dimension kept by the norm (``None``: the norm of the whole tensor).

    >>> import warnings
    >>> from ember import nn
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", FutureWarning)
    ...     m = nn.utils.weight_norm(nn.Linear(3, 2))
    >>> sorted(m.state_dict())
    ['bias', 'weight_g', 'weight_v']
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: T_module, name: str = "weight") -> T_module:
    """Fold ``<name>_g``/``<name>_v`` back into one parameter ``<name>``.

    >>> import warnings
    >>> from ember import nn
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", FutureWarning)
    ...     m = nn.utils.remove_weight_norm(nn.utils.weight_norm(nn.Linear(3, 2)))
    >>> sorted(m.state_dict())
    ['bias', 'weight']
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
