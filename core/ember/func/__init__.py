"""``ember.func``: PyTorch's ``torch.func`` function transforms (grad, vjp, jacrev, jacfwd, hessian, vmap,
functional_call). Issue #14 section 4."""

__all__: list[str] = []
