"""``ember.func``: PyTorch's ``torch.func`` function transforms (grad, vjp, jvp, jacrev, jacfwd, hessian,
vmap, functional_call, linearize, functionalize, replace_all_batch_norm_modules_). Issue #14 section 4.

They are built on ember's reverse-mode autograd: ``jvp`` and ``jacfwd`` are computed in reverse mode
(exact values, different cost), and ``vmap`` runs the function once per batch slice. See docs/func.md.

Example:
    >>> import ember
    >>> from ember.func import grad, vmap
    >>> vmap(grad(lambda x: (x ** 2).sum()))(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([[2., 4.],
            [6., 8.]])
"""

from ember.func._autodiff import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp
from ember.func._functional_call import functional_call
from ember.func._linearize import functionalize, linearize, replace_all_batch_norm_modules_
from ember.func._stack import stack_module_state
from ember.func._vmap import vmap

__all__ = ["functional_call", "functionalize", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp",
           "linearize", "replace_all_batch_norm_modules_", "stack_module_state", "vjp", "vmap"]
