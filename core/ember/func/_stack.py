"""``stack_module_state``: the parameters and buffers of same-class modules stacked for ``vmap``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["stack_module_state"]


def _stacked_leaf(tensors: tuple, name: str) -> Any:
    import ember

    all_grad = all(t.requires_grad for t in tensors)
    if not all_grad and any(t.requires_grad for t in tensors):
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    out = ember.stack(tensors)
    # a new leaf, unrelated to the models' own parameters (an optimizer can take it directly)
    return out.detach().requires_grad_() if all_grad else out


def stack_module_state(models: Sequence[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stack the parameters and buffers of ``M`` modules of one class, by state-dict name, into two
    dicts of tensors with a leading dim of size ``M`` (PyTorch's ``torch.func.stack_module_state``).

    Example:
        >>> import ember
        >>> from ember.func import stack_module_state
        >>> params, buffers = stack_module_state([ember.nn.Linear(3, 2) for _ in range(4)])
        >>> params["weight"].shape, params["weight"].is_leaf, buffers
        (ember.Size([4, 2, 3]), True, {})
    """
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    cls = type(models[0])
    if not all(type(m) is cls for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    params = {k: _stacked_leaf(tuple(p[k] for p in all_params), k) for k in all_params[0]}
    all_buffers = [dict(m.named_buffers()) for m in models]
    buffers = {k: _stacked_leaf(tuple(b[k] for b in all_buffers), k) for k in all_buffers[0]}
    return params, buffers
