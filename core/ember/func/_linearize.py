"""``torch.func.linearize``, ``torch.func.functionalize`` and ``torch.func.replace_all_batch_norm_modules_``.

Example:
    >>> import ember
    >>> from ember.func import linearize
    >>> out, jvp_fn = linearize(lambda x: x.sin(), ember.zeros(3))
    >>> jvp_fn(ember.ones(3))
    tensor([1., 1., 1.])
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ember.autograd import engine as _engine
from ember.autograd.grad_mode import enable_grad, no_grad
from ember.utils._pytree import tree_flatten, tree_map_only, tree_unflatten

__all__ = ["linearize", "functionalize", "replace_all_batch_norm_modules_"]


def _tensor_cls() -> type:
    from ember.tensor import Tensor

    return Tensor


def linearize(func: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is the Jacobian of ``func`` at ``primals``
    applied to ``tangents`` (same structure as ``primals``), as ``ember.func.jvp`` would give, without
    running ``func`` again: the graph of one vector-Jacobian product is kept (PyTorch keeps a traced
    graph; both hold the intermediates, which is linearize's memory cost). Tangents of another
    structure, shape, device or dtype raise RuntimeError with PyTorch's messages.

    Example:
        >>> import ember
        >>> out, jvp_fn = linearize(lambda x: x * x, ember.tensor([1.0, 2.0]))
        >>> jvp_fn(ember.tensor([1.0, 1.0]))
        tensor([2., 4.])
    """
    from ember import ones_like, zeros_like

    Tensor = _tensor_cls()
    flat_primals, primals_argspec = tree_flatten(primals)
    for p in flat_primals:
        # PyTorch's check (its jvp's), before func runs: an integer primal has no tangent space
        if isinstance(p, Tensor) and not (p.is_floating_point() or p.is_complex()):
            raise ValueError(f"Expected primal to be floating point or complex, but got: {p.dtype}")
    output = func(*primals)
    _, output_spec = tree_flatten(output)
    shapes = tuple(p.shape for p in flat_primals)
    devices = tuple(p.device for p in flat_primals)
    dtypes = tuple(p.dtype for p in flat_primals)

    with enable_grad():
        inputs = [p.detach().requires_grad_(p.is_floating_point() or p.is_complex()) for p in flat_primals]
        flat_out = tree_flatten(func(*tree_unflatten(inputs, primals_argspec)))[0]
        diff = [o for o in flat_out if isinstance(o, Tensor) and o.requires_grad]
        # the VJP is linear in its cotangent: differentiating it with respect to that cotangent, in
        # the direction of a tangent, gives the JVP (ember's jvp does the same); ones avoid 0/0
        dummies = [ones_like(o).requires_grad_() for o in diff]
        wrt = [x for x in inputs if x.requires_grad]
        vjps = _engine.grad(diff, wrt, dummies, retain_graph=True, create_graph=True, allow_unused=True) \
            if diff and wrt else [None] * len(wrt)
        vjp_of = dict(zip((id(x) for x in wrt), vjps))
    out_meta = [(o.shape, o.dtype, o.device) if isinstance(o, Tensor) else None for o in flat_out]

    def jvp_fn(*tangents: Any) -> Any:
        flat_tangents, tangent_argspec = tree_flatten(tangents)
        if tangent_argspec != primals_argspec:
            raise RuntimeError(f"Expected the tangents {tangent_argspec} to have the same argspec as the primals "
                               f"{primals_argspec}")
        for idx, t in enumerate(flat_tangents):
            if t.shape != shapes[idx]:
                raise RuntimeError(f"tangent:{idx} with shape {t.shape} in flattened pytree doesn't match the shape "
                                   f"{shapes[idx]} of the corresponding primal.")
            if t.device != devices[idx]:
                raise RuntimeError(f"tangent:{idx} with device {t.device} in flattened pytree doesn't match the device "
                                   f"{devices[idx]} of the corresponding primal.")
            if t.dtype != dtypes[idx]:
                raise RuntimeError(f"tangent:{idx} with dtype {t.dtype} in flattened pytree doesn't match the dtype "
                                   f"{dtypes[idx]} of the corresponding primal.")
        used = [(vjp_of.get(id(x)), t) for x, t in zip(inputs, flat_tangents)]
        used = [(g, t) for g, t in used if g is not None and g.requires_grad]
        found: dict[int, Any] = {}
        if used:
            with enable_grad():
                jv = _engine.grad([g for g, _ in used], dummies, [t for _, t in used], retain_graph=True,
                                  allow_unused=True)
            found = {id(o): j for o, j in zip(diff, jv) if j is not None}
        result = []
        for o, meta in zip(flat_out, out_meta):
            if meta is None:
                result.append(o)
                continue
            j = found.get(id(o))
            result.append(zeros_like(o).detach() if j is None else j.detach())
        return tree_unflatten(result, output_spec)

    return output, jvp_fn


_REMOVE_HELP = (
    "     remove='mutations': all inplace and out= operators will be removed from the program, and replaced with their "
    "out-of-place equivalents.\n"
    "     remove='mutations_and_views': In addition to the above, all aliasing operators {view} will be replaced with "
    "their non-aliasing counterparts, {view}_copy.\n")


def functionalize(func: Callable[..., Any], *, remove: str = "mutations") -> Callable[..., Any]:
    """``func`` with its mutations (and, with ``remove="mutations_and_views"``, its aliasing) taken out
    of sight, as ``torch.func.functionalize`` in eager mode: the function runs on private copies of
    the input tensors, an input the function wrote into gets the new values copied back after (as
    PyTorch "fixes up" input mutations), and no output aliases an input. Values, gradients and
    the visible input updates are those of ``func``. PyTorch's reason to functionalize is to hand a
    mutation-free program to a compiler (``make_fx``); ember has no such graph, so nothing else changes.

    Example:
        >>> import ember
        >>> def f(a):
        ...     b = a.view(-1)
        ...     b.add_(1)
        ...     return b
        >>> x = ember.zeros(2, 2)
        >>> out = functionalize(f)(x)
        >>> out.add_(5).tolist(), x.tolist()
        ([6.0, 6.0, 6.0, 6.0], [[1.0, 1.0], [1.0, 1.0]])
    """
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. "
                           "Valid options are:\n" + _REMOVE_HELP)
    Tensor = _tensor_cls()

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        copies: list = []

        def private(t: Any) -> Any:
            c = t.clone()
            copies.append((t, c, c._version[0]))
            return c

        out = func(*tree_map_only(Tensor, private, args), **tree_map_only(Tensor, private, kwargs))
        for original, copy, version in copies:
            if copy._version[0] != version:  # written inside: show the mutation on the input
                if original.requires_grad and original.grad_fn is None:
                    with no_grad():
                        original.copy_(copy)
                else:
                    original.copy_(copy)
        return out  # views of the private copies at most: never of the caller's tensors

    return wrapped


def replace_all_batch_norm_modules_(root: Any) -> Any:
    """Make every BatchNorm module in ``root`` (itself included) stop tracking running statistics, in
    place: ``running_mean``, ``running_var`` and ``num_batches_tracked`` become None and
    ``track_running_stats`` False, so the modules always normalize with batch statistics (what
    ``vmap`` over a model needs). Returns ``root``.

    Example:
        >>> import ember
        >>> net = ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.BatchNorm1d(2))
        >>> bn = replace_all_batch_norm_modules_(net)[1]
        >>> bn.running_mean is None, bn.track_running_stats
        (True, False)
    """
    from ember.nn.modules.normalization import _BatchNorm

    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
