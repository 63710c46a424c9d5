"""``vmap`` by a loop: the function runs once per batch slice and the results are stacked.

There are no batched tensors in ember, so this is not a speed-up: it gives PyTorch's results (and
its argument checks and errors) for code written against ``torch.func.vmap``. Consequences of the
loop: ``randomness="different"`` is what a loop does anyway, ``"same"`` replays the generator state
for every slice, ``"error"`` raises when a slice drew random numbers; ``.item()`` and data-dependent
Python control flow inside the function work (PyTorch rejects them); ``out_dims=None`` rejects an
output that differs between slices (PyTorch's "BatchedTensor" error) and returns the first slice's
otherwise; an in-place write into an unmapped input raises (a loop would repeat it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ember.autograd import function as _function
from ember.utils._pytree import _children, tree_flatten, tree_unflatten

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")


def _name(func: Callable) -> str:
    return getattr(func, "__name__", repr(func))


def _is_dim(x: Any) -> bool:
    return x is None or (isinstance(x, int) and not isinstance(x, bool))


def _broadcast(prefix: Any, tree: Any, on_mismatch: Callable[[], Exception], on_bad_leaf: Callable[[Any], Exception]
               ) -> list:
    """One entry of ``prefix`` (an int/None, or a container matching ``tree``'s) per leaf of ``tree``."""
    if _is_dim(prefix):
        return [prefix] * len(tree_flatten(tree)[0])
    pre, sub = _children(prefix), _children(tree)
    if pre is None:
        raise on_bad_leaf(prefix)
    if sub is None or pre[0] is not sub[0] or pre[1] != sub[1] or len(pre[2]) != len(sub[2]):
        raise on_mismatch()
    out: list = []
    for p, t in zip(pre[2], sub[2]):
        out.extend(_broadcast(p, t, on_mismatch, on_bad_leaf))
    return out


def _structure(tree: Any) -> str:
    from ember.func._autodiff import _spec_repr

    return _spec_repr(tree_flatten(tree)[1])


def _flat_in_dims(func: Callable, in_dims: Any, args: tuple) -> list:
    head = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>)"
    if not (_is_dim(in_dims) and in_dims is not None) and not isinstance(in_dims, tuple):
        raise ValueError(f"{head}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
                         f"structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you "
                         "are trying to vmap over a function with no inputs. The latter is unsupported.")
    return _broadcast(
        in_dims, args,
        lambda: ValueError(f"{head}: in_dims is not compatible with the structure of `inputs`. in_dims has "
                           f"structure {_structure(in_dims)} but inputs has structure {_structure(args)}."),
        lambda leaf: ValueError(f"{head}: Got in_dim={leaf} for an input but in_dim must be either an integer "
                                "dimension or None."))


def _batch_size(func: Callable, in_dims: Any, flat_args: list, flat_dims: list) -> int:
    from ember.tensor import Tensor

    head = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>)"
    sizes = []
    for arg, d in zip(flat_args, flat_dims):
        if d is None:
            continue
        if not isinstance(arg, Tensor):
            raise ValueError(f"{head}: Got in_dim={d} for an input but the input is of type {type(arg)}. We cannot "
                             "vmap over non-Tensor arguments, please use None as the respective in_dim")
        n = arg.dim()
        if not -n <= d < n:
            raise ValueError(f"{head}: Got in_dim={d} for some input, but that input is a Tensor of dimensionality "
                             f"{n} so expected in_dim to satisfy -{n} <= in_dim < {n}.")
        sizes.append(arg.shape[d])
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return sizes[0]


def _slices(flat_args: list, flat_dims: list, size: int) -> list[list]:
    """The inputs of each call: batched tensors indexed along their dim. Size 0 gives one call on
    zeros of a slice's shape, made by summing the empty dim so they stay on the input's graph."""
    if size == 0:
        return [[a if d is None else a.sum(d).to(a.dtype) for a, d in zip(flat_args, flat_dims)]]
    return [[a if d is None else a.select(d, b) for a, d in zip(flat_args, flat_dims)] for b in range(size)]


class _Randomness:
    """What ``randomness=`` means for a loop over the default generator."""

    def __init__(self, mode: str) -> None:
        from ember.random import default_generator

        self.mode = mode
        self.gen = default_generator
        self.start = self.gen.get_state()

    def before(self) -> None:
        if self.mode == "same":
            self.gen.set_state(self.start)
        elif self.mode == "error":
            self._mark = (self.gen.initial_seed(), self.gen._offset)

    def after(self) -> None:
        if self.mode == "error" and (self.gen.initial_seed(), self.gen._offset) != self._mark:
            raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use the "
                               "'same' or 'different' randomness flags on vmap or perform the randomness operation "
                               "out of vmap")


def _flat_out_dims(func: Callable, out_dims: Any, out: Any) -> list:
    from ember.tensor import Tensor

    head = f"vmap({_name(func)}, ..., out_dims={out_dims})"
    bad = ValueError(f"{head}: `out_dims` must be an int, None or a python collection of ints representing where in "
                     "the outputs the vmapped dimension should appear.")
    if not _is_dim(out_dims) and _children(out_dims) is None:
        raise bad

    def incompatible() -> ValueError:
        return ValueError(f"{head}(<inputs>): out_dims is not compatible with the structure of `outputs`. out_dims "
                          f"has structure {_structure(out_dims)} but outputs has structure {_structure(out)}.")

    if isinstance(out, Tensor):  # PyTorch's special case: a lone tensor also takes a 1-tuple
        if _is_dim(out_dims):
            return [out_dims]
        if isinstance(out_dims, tuple) and len(out_dims) == 1:
            if not _is_dim(out_dims[0]):
                raise bad
            return list(out_dims)
        raise incompatible()
    return _broadcast(out_dims, out, incompatible, lambda leaf: bad)


def _varies(column: list) -> bool:
    """Whether an output differs between batch elements: what PyTorch calls a BatchedTensor, as far
    as a loop can tell (the same tensor every time, or equal values, count as unbatched)."""
    import ember

    first = column[0]
    for other in column[1:]:
        if other is first:
            continue
        if other.shape != first.shape or other.dtype != first.dtype or not ember.equal(other, first):
            return True
    return False


def _unmapped_versions(flat_args: list, flat_dims: list) -> list:
    """The version counters of the tensor inputs that are not mapped (in_dim None)."""
    from ember.tensor import Tensor

    return [(a, a._version[0]) for a, d in zip(flat_args, flat_dims) if d is None and isinstance(a, Tensor)]


def _check_unmapped_writes(func: Callable, versions: list) -> None:
    """PyTorch writes into an unmapped input once (or raises when a mapped value flows in); a loop
    would write once per batch element, so ember raises instead of giving a different result."""
    for a, version in versions:
        if a._version[0] != version:
            raise RuntimeError(f"vmap({_name(func)}, ...): ember's vmap runs `{_name(func)}` once per batch element "
                               "and cannot write in place into an input that is not mapped (in_dim=None): PyTorch "
                               "writes it once, or raises 'vmap: inplace arithmetic(self, *extra_args) is not "
                               "possible' when a mapped Tensor is written into it. Clone the input inside the "
                               "function, or map it.")


def _combine(func: Callable, results: list, out_dims: Any, size: int) -> Any:
    import ember
    from ember.tensor import Tensor

    flat_first, spec = tree_flatten(results[0])
    dims = _flat_out_dims(func, out_dims, results[0])
    columns = [tree_flatten(r)[0] for r in results]
    combined = []
    for i, (first, d) in enumerate(zip(flat_first, dims)):
        if d is None:
            if isinstance(first, Tensor) and _varies([c[i] for c in columns]):
                raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` can not return a BatchedTensor when "
                                 "out_dim is None")
            combined.append(first)
            continue
        if not isinstance(first, Tensor):
            raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return Tensors, got type "
                             f"{type(first)}. Did you mean to set out_dims= to None for output?")
        stacked = ember.stack([c[i] for c in columns], dim=d)
        combined.append(stacked.narrow(d, 0, 0) if size == 0 else stacked)
    return tree_unflatten(combined, spec)


def vmap(func: Callable[..., Any], in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable[..., Any]:
    """``torch.func.vmap``: map ``func`` over a dimension of its inputs.

    ``in_dims`` is an int, or a (nested) tuple matching the positional arguments with an int or None
    (not mapped) per input; ``out_dims`` likewise for the outputs. Inputs and outputs may be pytrees
    (tuples, lists, dicts). Keyword arguments are not mapped. ember runs ``func`` once per slice
    and stacks the results (see the module doc): same values as PyTorch, no batching speed-up.

    Example:
        >>> import ember
        >>> x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> ember.func.vmap(ember.dot)(x, x)
        tensor([ 5., 25.])
        >>> ember.func.vmap(lambda row, s: row * s, in_dims=(1, None))(x, 10.0)
        tensor([[10., 30.],
                [20., 40.]])
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        flat_dims = _flat_in_dims(func, in_dims, args)
        flat_args, args_spec = tree_flatten(args)
        size = _batch_size(func, in_dims, flat_args, flat_dims)
        rng = _Randomness(randomness)
        versions = _unmapped_versions(flat_args, flat_dims)
        results = []
        _function._VMAP_DEPTH[0] += 1  # custom Functions check their vmap support (Function.apply)
        try:
            for call_args in _slices(flat_args, flat_dims, size):
                rng.before()
                results.append(func(*tree_unflatten(call_args, args_spec), **kwargs))
                rng.after()
                _check_unmapped_writes(func, versions)
        finally:
            _function._VMAP_DEPTH[0] -= 1
        return _combine(func, results, out_dims, size)

    return wrapped
