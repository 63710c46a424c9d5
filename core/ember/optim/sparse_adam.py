"""SparseAdam: PyTorch's constructor and checks; ``step`` refuses dense gradients, as PyTorch does.

ember has no sparse tensors, so every gradient is dense and ``step`` raises PyTorch's own
error (``nn.Embedding(sparse=True)`` is where PyTorch produces the sparse gradients this
optimizer needs). Use ``Adam`` instead; the class exists so code that builds a SparseAdam for
parameters that never get a gradient, or checks its arguments, runs unchanged.

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.SparseAdam([w])
    >>> w.sum().backward()
    >>> opt.step()
    Traceback (most recent call last):
    ...
    RuntimeError: SparseAdam does not support dense gradients, please consider Adam instead
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ember.optim.optimizer import Optimizer, check_hparam, check_lr, run_closure

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
        complex_params = [[i, j] for i, group in enumerate(self.param_groups)
                          for j, p in enumerate(group["params"]) if p.is_complex()]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not support complex "
                             "parameters")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Raises for any gradient (ember's gradients are all dense); a no-op when none is set."""
        loss = run_closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None and not getattr(p.grad, "is_sparse", False):
                    raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
        return loss
