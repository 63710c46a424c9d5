"""Muon (MomentUm Orthogonalized by Newton-schulz; Keller Jordan, 2024) with PyTorch's defaults and checks.

Each 2-D parameter's momentum is orthogonalized by a few quintic Newton-Schulz iterations run in
bfloat16 (as PyTorch's ``torch.optim.Muon``: its values are PyTorch's to the last bfloat16 bit),
then applied with a learning rate adjusted to the matrix's shape. Muon is meant for the weight
matrices of hidden layers; biases, embeddings and other parameters go to a standard optimizer.

Example:
    >>> import ember
    >>> w = ember.eye(2, requires_grad=True)
    >>> opt = ember.optim.Muon([w], lr=0.1, weight_decay=0.0)
    >>> (w * ember.tensor([[1.0, 0.0], [0.0, 2.0]])).sum().backward()
    >>> opt.step()
    >>> [[round(v, 2) for v in row] for row in w.tolist()]
    [[0.89, 0.0], [0.0, 0.93]]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from ember.functions.linalg import addmm
from ember.optim.optimizer import Optimizer, check_hparam, check_lr, run_closure
from ember.tensor import Tensor

__all__ = ["Muon"]

# Keller Jordan's constants (https://kellerjordan.github.io/posts/muon/), PyTorch's defaults
EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5

_ADJUST_LR_FNS = ("original", "match_rms_adamw")


class Muon(Optimizer):
    """``B = lerp(B, g, 1 - momentum)``; ``O = NS(lerp(g, B, momentum) if nesterov else B)``;
    ``p *= 1 - lr * weight_decay``; ``p -= adjust(lr, p.shape) * O``.

    ``NS`` is ``ns_steps`` quintic Newton-Schulz iterations ``X <- a X + (b A + c A^2) X`` with
    ``A = X X^T``, in bfloat16, on the gradient scaled to unit Frobenius norm (at least ``eps``), the
    wide way round (a tall matrix is transposed first). ``adjust_lr_fn``: ``None``/``"original"``
    scales lr by ``sqrt(max(1, rows/cols))``, ``"match_rms_adamw"`` by ``0.2 * sqrt(max(rows, cols))``.

    Args:
        params: 2-D parameters or param groups of them (anything else is refused here, complex ones at ``step``).
        lr: learning rate (a float or a one-element Tensor).
        weight_decay: decoupled weight decay coefficient (multiplied by ``lr``).
        momentum: momentum factor.
        nesterov: orthogonalize the Nesterov look-ahead ``lerp(g, B, momentum)`` instead of ``B``.
        ns_coefficients: ``(a, b, c)`` of the Newton-Schulz polynomial.
        eps: floor of the norm the gradient is divided by.
        ns_steps: Newton-Schulz iterations (fewer than 100).
        adjust_lr_fn: ``None``, ``"original"`` or ``"match_rms_adamw"``.
    """

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = (DEFAULT_A, DEFAULT_B, DEFAULT_C),
                 eps: float = EPS, ns_steps: int = DEFAULT_NS_STEPS, adjust_lr_fn: str | None = None) -> None:
        check_lr(lr)
        check_hparam(0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}")
        check_hparam(0.0 <= momentum, f"momentum should be >= 0 but is: {momentum}")
        check_hparam(0.0 <= weight_decay, f"weight decay should be >= 0 but is: {weight_decay}")
        check_hparam(adjust_lr_fn is None or adjust_lr_fn in _ADJUST_LR_FNS,
                     f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        # (checked once, here: PyTorch's add_param_group does not check a group added later)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{_size_text(p)}")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Muon update of every parameter that has a gradient."""
        loss = run_closure(closure)
        for group in self.param_groups:
            # the whole group is checked (and its buffers made) before any parameter moves
            todo = [p for p in group["params"] if p.grad is not None]
            for p in todo:
                if p.is_complex():
                    raise RuntimeError("Muon does not support complex parameters")
                if p.grad.is_sparse:
                    raise RuntimeError("Muon does not support sparse gradients")
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = p.grad.new_zeros(tuple(p.grad.shape))
            lr = group["lr"]
            if isinstance(lr, Tensor) and lr.dim() != 0:
                lr = lr.squeeze()  # PyTorch's ``_to_scalar``: the arithmetic below stays a float32 tensor's
            for p in todo:
                _update(p, self.state[p]["momentum_buffer"], lr, group)
        return loss


def _size_text(p: Tensor) -> str:
    """``p.size()`` as PyTorch's message prints it (``torch.Size([2, 3, 4])``)."""
    return f"torch.Size({list(p.shape)})"


def _update(p: Tensor, buf: Tensor, lr: Any, group: dict) -> None:
    g = p.grad
    if g.ndim != 2:
        raise ValueError("Param gradient must be a 2D matrix")
    momentum = group["momentum"]
    buf.lerp_(g, 1 - momentum)
    upd = g.lerp(buf, momentum) if group["nesterov"] else buf
    upd = zeropower_via_newtonschulz(upd, group["ns_coefficients"], group["ns_steps"], group["eps"])
    scaled_lr = adjust_lr(lr, group["adjust_lr_fn"], tuple(p.shape))
    p.mul_(1 - lr * group["weight_decay"])
    p.add_(upd, alpha=-scaled_lr)


def zeropower_via_newtonschulz(grad: Tensor, ns_coefficients: tuple[float, float, float], ns_steps: int,
                               eps: float) -> Tensor:
    """An approximate orthogonalization ``U S' V^T`` of ``grad = U S V^T`` (``S'`` roughly in [0.5, 1.5]),
    in bfloat16, with PyTorch's checks and arithmetic (``addmm`` with its ``beta``/``alpha``)."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    tall = grad.size(0) > grad.size(1)
    # (a bfloat16 gradient is ``x`` itself: scaled in place, as PyTorch's is, which moves a
    # non-Nesterov momentum buffer of a bfloat16 parameter too)
    x = grad.bfloat16()
    if tall:
        x = x.T  # iterate on the wide side: the Gram matrix is the smaller one
    x.div_(x.norm().clamp(min=eps))  # spectral norm <= Frobenius norm <= 1
    for _ in range(ns_steps):
        gram = x @ x.T
        poly = addmm(gram, gram, gram, beta=b, alpha=c)  # b A + c A^2
        x = addmm(x, poly, x, beta=a)  # a X + (b A + c A^2) X
    return x.T if tall else x


def adjust_lr(lr: Any, adjust_lr_fn: str | None, param_shape: tuple[int, ...]) -> Any:
    """``lr`` scaled so orthogonalized updates of any rectangular shape have comparable RMS."""
    rows, cols = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:  # (a group edited after construction: PyTorch applies no scaling)
        ratio = 1.0
    return lr * ratio
