"""Gradient checks against central finite differences, as ``torch.autograd.gradcheck``.

Example:
    >>> import ember
    >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    >>> ember.autograd.gradcheck(lambda t: (t.sin() * t).sum(), (x,))
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree."""


def _as_tuple(x):
    from ember.tensor import Tensor

    return (x,) if isinstance(x, Tensor) else tuple(x)


def _flat_outputs(fn, inputs):
    from ember.functions.shape import cat

    outs = [o for o in _as_tuple(fn(*inputs)) if o is not None and o.dtype.is_floating_point]
    return cat([o.reshape(-1) for o in outs]) if outs else None


def numerical_jacobian(fn: Callable, inputs: Sequence, eps: float = 1e-6) -> list:
    """One (n_out, n_in) jacobian per differentiable input, by central differences."""
    from ember.autograd.grad_mode import no_grad
    from ember.functions.shape import stack

    jacobians = []
    with no_grad():
        for x in inputs:
            if not getattr(x, "requires_grad", False):
                continue
            cols = []
            flat = x.data.reshape(-1)
            for i in range(flat.numel()):
                orig = flat[i].item()
                flat[i] = orig + eps
                plus = _flat_outputs(fn, inputs)
                flat[i] = orig - eps
                minus = _flat_outputs(fn, inputs)
                flat[i] = orig
                cols.append((plus - minus) / (2 * eps))
            jacobians.append(stack(cols, dim=1) if cols else None)
    return jacobians


def analytical_jacobian(fn: Callable, inputs: Sequence) -> list:
    from ember.autograd.engine import grad
    from ember.functions.creation import zeros, zeros_like
    from ember.functions.shape import stack

    diff_inputs = [x for x in inputs if getattr(x, "requires_grad", False)]
    out = _flat_outputs(fn, inputs)
    rows: list[list] = [[] for _ in diff_inputs]
    for j in range(out.numel()):
        onehot = zeros(out.numel(), dtype=out.dtype, device=out.device)
        onehot[j] = 1.0
        out = _flat_outputs(fn, inputs)
        gs = grad(out, diff_inputs, onehot, allow_unused=True)
        for r, g, x in zip(rows, gs, diff_inputs):
            r.append((g if g is not None else zeros_like(x)).reshape(-1))
    return [stack(r, dim=0) if r else None for r in rows]


def forward_jacobian(fn: Callable, inputs: Sequence) -> list:
    """One (n_out, n_in) jacobian per differentiable input, column by column with forward-mode AD
    (``ember.autograd.forward_ad``), for ``gradcheck(..., check_forward_ad=True)``."""
    from ember.autograd import forward_ad as fwAD
    from ember.functions.creation import zeros, zeros_like
    from ember.functions.shape import cat, stack

    jacobians = []
    for k, x in enumerate(inputs):
        if not getattr(x, "requires_grad", False):
            continue
        cols = []
        for i in range(x.numel()):
            v = zeros(x.numel(), dtype=x.dtype, device=x.device)
            v[i] = 1.0
            with fwAD.dual_level():
                args = list(inputs)
                args[k] = fwAD.make_dual(x, v.reshape(x.shape))
                outs = [o for o in _as_tuple(fn(*args)) if o is not None and o.dtype.is_floating_point]
                ts = [fwAD.unpack_dual(o).tangent for o in outs]
                cols.append(cat([(zeros_like(o) if t is None else t.detach()).reshape(-1)
                                 for o, t in zip(outs, ts)]))
        jacobians.append(stack(cols, dim=1) if cols else None)
    return jacobians


def gradcheck(fn: Callable, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, check_forward_ad: bool = False, check_backward_ad: bool = True,
              **_ignored) -> bool:
    """True when autograd's jacobian matches finite differences for every input (use float64);
    ``check_forward_ad`` also checks forward-mode AD's, ``check_backward_ad=False`` skips reverse mode."""
    inputs = _as_tuple(inputs)
    numerical = numerical_jacobian(fn, inputs, eps)
    checks = ([analytical_jacobian(fn, inputs)] if check_backward_ad else []) + (
        [forward_jacobian(fn, inputs)] if check_forward_ad else [])
    return all(_compare(numerical, found, atol, rtol, raise_exception) for found in checks)


def _compare(numerical: list, analytical: list, atol: float, rtol: float, raise_exception: bool) -> bool:
    for k, (n, a) in enumerate(zip(numerical, analytical)):
        if n is None:
            continue
        bad = ((a - n).abs() > atol + rtol * n.abs())
        if bool(bad.any()):
            if raise_exception:
                raise GradcheckError(f"Jacobian mismatch for output 0 with respect to input {k},\n"
                                     f"numerical:{n}\nanalytical:{a}\n")
            return False
    return True


def gradgradcheck(fn: Callable, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """Check second derivatives: gradcheck of the vector-Jacobian product of ``fn``."""
    from ember.autograd.engine import grad
    from ember.functions.creation import randn_like

    inputs = _as_tuple(inputs)
    outs = _as_tuple(fn(*inputs))
    if grad_outputs is None:
        grad_outputs = tuple(randn_like(o).requires_grad_() for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    diff = [x for x in inputs if getattr(x, "requires_grad", False)]

    def vjp(*args):
        from ember.autograd.grad_mode import enable_grad

        xs, gos = args[: len(inputs)], args[len(inputs):]
        # The numerical pass runs under no_grad; the first derivative still needs a graph.
        with enable_grad():
            ys = _as_tuple(fn(*xs))
            d = [x for x in xs if getattr(x, "requires_grad", False)]
            return grad(ys, d, gos, create_graph=True, allow_unused=True)

    del diff
    return gradcheck(vjp, inputs + grad_outputs, eps, atol, rtol, raise_exception)
