"""SparseAdam: Adam for sparse gradients, as PyTorch's: only the entries a gradient holds move.

The moments and the parameter are updated at the gradient's indices only (its values are taken
as the non-zero ones, whatever they hold, as in PyTorch). The gradient must be a sparse COO tensor
(``p.grad = g.to_sparse()``, as PyTorch's docs suggest); a dense one raises PyTorch's error.

Example:
    >>> import ember
    >>> w = ember.ones(3, requires_grad=True)
    >>> opt = ember.optim.SparseAdam([w], lr=0.1)
    >>> w.grad = ember.tensor([0.0, 2.0, 0.0]).to_sparse()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [1.0, 0.9, 1.0]
    >>> w.grad = ember.ones(3)
    >>> opt.step()
    Traceback (most recent call last):
    ...
    RuntimeError: SparseAdam does not support dense gradients, please consider Adam instead
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from ember.optim.optimizer import Optimizer, check_hparam, check_lr, run_closure
from ember.tensor import Tensor

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """Adam for sparse gradients (the moments are only updated where the gradient is present)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False) -> None:
        check_lr(lr)
        check_hparam(0.0 < lr, f"Invalid learning rate: {lr}")
        check_hparam(0.0 < eps, f"Invalid epsilon value: {eps}")
        check_hparam(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
        check_hparam(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        sparse_params = [[i, j] for i, group in enumerate(self.param_groups)
                         for j, p in enumerate(group["params"]) if p.is_sparse]
        if sparse_params:
            raise ValueError(f"Sparse params at indices {sparse_params}: SparseAdam requires dense parameter tensors")
        complex_params = [[i, j] for i, group in enumerate(self.param_groups)
                          for j, p in enumerate(group["params"]) if p.is_complex()]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not support complex "
                             "parameters")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One masked Adam update of every parameter that has a (sparse) gradient."""
        from ember.functions.creation import zeros_like

        loss = run_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            maximize, eps = group.get("maximize", False), group["eps"]
            lr = group["lr"]
            if isinstance(lr, Tensor) and lr.dim() != 0:
                lr = lr.squeeze()  # (PyTorch's _to_scalar)
            for p in group["params"]:
                if p.grad is None:
                    continue
                if not p.grad.is_sparse:
                    raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0  # a Python int, as PyTorch's SparseAdam keeps it
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                state["step"] += 1
                _update(p, state, lr, beta1, beta2, eps, maximize)
        return loss


def _update(p: Tensor, state: dict, lr: Any, beta1: float, beta2: float, eps: float, maximize: bool) -> None:
    """PyTorch's ``F.sparse_adam`` for one parameter: the gradient's coalesced values against the
    moments' values at its indices; the updates are added at those indices."""
    grad = p.grad.coalesce()  # the update is non-linear: each index once
    values = grad._values()
    if values.numel() == 0:
        return
    if maximize:
        values = values.neg()
    # the entries at the gradient's indices, as a (nnz, *dense_sizes) tensor: advanced indexing by
    # the index rows (a gradient with no sparse dim holds the whole tensor as its one entry)
    key = tuple(grad._indices()) if grad.sparse_dim() else None

    def gather(t: Tensor) -> Tensor:  # a copy (PyTorch's sparse_mask): ``t`` is updated in place next
        return t.unsqueeze(0).clone() if key is None else t[key]

    def add_at(t: Tensor, v: Tensor) -> None:
        if key is None:
            t.add_(v[0])
        else:
            t.index_put_(key, v, accumulate=True)

    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    old_exp_avg = gather(exp_avg)
    exp_avg_update = values.sub(old_exp_avg).mul(1 - beta1)
    add_at(exp_avg, exp_avg_update)
    old_exp_avg_sq = gather(exp_avg_sq)
    exp_avg_sq_update = values.pow(2).sub(old_exp_avg_sq).mul(1 - beta2)
    add_at(exp_avg_sq, exp_avg_sq_update)
    numer = exp_avg_update.add(old_exp_avg)
    denom = exp_avg_sq_update.add(old_exp_avg_sq).sqrt().add(eps)
    step = state["step"]
    step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    add_at(p, -step_size * numer.div(denom))
