"""``ember.nn.utils.prune``: PyTorch's pruning utilities.

Pruning ``module.<name>`` re-parametrises it: the original tensor becomes the parameter
``<name>_orig``, a 0/1 mask (same dtype as the tensor) becomes the buffer ``<name>_mask``, and a
forward pre-hook (the pruning method object itself) recomputes ``module.<name> = <name>_orig *
<name>_mask`` before every forward. Pruning the same tensor again combines the masks through a
:class:`PruningContainer`: the new method only sees the part of the tensor still unpruned (the
entries equal to 1 for unstructured methods, the channels not entirely zero for structured ones).
:func:`remove` makes the pruning permanent (``<name>`` becomes a parameter holding the pruned
values again). ``state_dict`` therefore holds ``<name>_orig`` and ``<name>_mask``, as in PyTorch.

Same semantics as ``torch.nn.utils.prune``: amounts (an int count, or a float fraction rounded
with Python's ``round``), validation errors (types and messages), importance scores, the
``topk``/``kthvalue`` selection. Differences: the random methods draw from ember's generator, so
for one seed their masks differ from PyTorch's (their amounts are the same); where several entries
tie for the smallest magnitude, which of them ``topk`` prunes may differ from PyTorch (PyTorch
documents no order either).

Example:
    >>> import ember
    >>> from ember import nn
    >>> from ember.nn.utils import prune
    >>> m = nn.Linear(2, 2)
    >>> with ember.no_grad():
    ...     _ = m.weight.copy_(ember.tensor([[0.1, -2.0], [3.0, -0.2]]))
    >>> _ = prune.l1_unstructured(m, "weight", amount=0.5)
    >>> m.weight_mask
    tensor([[0., 1.],
            [1., 0.]])
    >>> sorted(m.state_dict())
    ['bias', 'weight_mask', 'weight_orig']
    >>> _ = prune.remove(m, "weight")
    >>> prune.is_pruned(m)
    False
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

import ember

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured",
           "l1_unstructured", "random_structured", "ln_structured", "global_unstructured", "custom_from_mask",
           "remove", "is_pruned"]


class BasePruningMethod(ABC):
    """Base of the pruning methods: subclasses define ``compute_mask`` (and ``PRUNING_TYPE``:
    ``"unstructured"``, ``"structured"`` or ``"global"``). An instance is the forward pre-hook that
    keeps ``module.<name>`` equal to ``<name>_orig * <name>_mask``."""

    _tensor_name: str

    def __call__(self, module: Any, inputs: Any) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Any, default_mask: Any) -> Any:
        """The new mask for ``t``, given the mask already applied (``default_mask``)."""

    def apply_mask(self, module: Any) -> Any:
        """``<name>_orig`` times ``<name>_mask`` (the mask cast to the tensor's dtype)."""
        if getattr(self, "_tensor_name", None) is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Any, name: str, *args: Any, importance_scores: Any = None, **kwargs: Any) -> Any:
        """Prune ``module.<name>`` with a new ``cls(*args, **kwargs)`` (combined with any pruning
        already there) and return the method now attached to the module."""
        method = _composite_method(cls, module, name, *args, **kwargs)
        orig = getattr(module, name)
        if importance_scores is not None:
            if importance_scores.shape != orig.shape:
                raise AssertionError(f"importance_scores should have the same shape as parameter {name} of {module}, "
                                     f"got {importance_scores.shape} vs {orig.shape}")
        else:
            importance_scores = orig
        first = not isinstance(method, PruningContainer)
        if first:  # the tensor moves to ``<name>_orig``; ``<name>`` becomes a plain attribute
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = ember.ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone(memory_format=ember.contiguous_format)
        try:
            mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if first:  # roll back: the module is left as it was
                module.register_parameter(name, getattr(module, name + "_orig"))
                del module._parameters[name + "_orig"]
            raise
        return method

    def prune(self, t: Any, default_mask: Any = None, importance_scores: Any = None) -> Any:
        """``t`` times the mask this method computes for it (the module is not touched)."""
        if importance_scores is not None:
            if importance_scores.shape != t.shape:
                raise AssertionError("importance_scores should have the same shape as tensor t, "
                                     f"got {importance_scores.shape} vs {t.shape}")
        else:
            importance_scores = t
        default_mask = default_mask if default_mask is not None else ember.ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module: Any) -> None:
        """Make the pruning permanent: ``<name>`` becomes a parameter again, holding the pruned
        values; ``<name>_orig`` and ``<name>_mask`` go away (the hook is removed by :func:`remove`)."""
        if getattr(self, "_tensor_name", None) is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be removed")
        weight = self.apply_mask(module)
        if hasattr(module, self._tensor_name):
            delattr(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.data
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


def _composite_method(cls: type, module: Any, name: str, *args: Any, **kwargs: Any) -> BasePruningMethod:
    """The new method, joined (in a PruningContainer) with the one already pruning ``name``, whose
    hook is taken off the module (``apply`` registers the result again)."""
    old = [(k, hook) for k, hook in module._forward_pre_hooks.items()
           if isinstance(hook, BasePruningMethod) and hook._tensor_name == name]
    if len(old) > 1:
        raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} of module {module}. "
                             "Use a PruningContainer.")
    for k, _ in old:
        del module._forward_pre_hooks[k]
    method = cls(*args, **kwargs)
    method._tensor_name = name
    if not old:
        return method
    old_method = old[0][1]
    if isinstance(old_method, PruningContainer):
        old_method.add_pruning_method(method)
        return old_method
    container = PruningContainer(old_method)
    container.add_pruning_method(method)
    return container


class PruningContainer(BasePruningMethod):
    """The sequence of pruning methods applied to one tensor; its mask is the last method's,
    computed on what the earlier ones left unpruned."""

    def __init__(self, *args: Any) -> None:
        self._pruning_methods: tuple = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method: Any) -> None:
        """Append ``method`` (it must prune the same tensor)."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and getattr(self, "_tensor_name", None) != method._tensor_name:
            raise ValueError("Can only add pruning methods acting on "
                             f"the parameter named '{getattr(self, '_tensor_name', None)}' to PruningContainer "
                             f"{self}. Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx: Any) -> Any:
        return self._pruning_methods[idx]

    def compute_mask(self, t: Any, default_mask: Any) -> Any:
        """The last method's mask, computed on the slice of ``t`` that ``default_mask`` leaves."""
        method = self._pruning_methods[-1]
        new_mask = default_mask.to(dtype=t.dtype)
        slc = _unpruned_slice(method, t, default_mask)
        partial = method.compute_mask(t[slc], default_mask=default_mask[slc])
        new_mask[slc] = partial.to(dtype=new_mask.dtype)
        return new_mask


def _unpruned_slice(method: Any, t: Any, mask: Any) -> Any:
    """Where ``method`` may still prune: the entries equal to 1 (unstructured), the channels along
    ``method.dim`` not entirely zero (structured), everything (global)."""
    kind = method.PRUNING_TYPE
    if kind == "unstructured":
        return mask == 1
    if kind == "structured":
        if not hasattr(method, "dim"):
            raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have the attribute `dim` '
                                 "defined.")
        n_dims = t.dim()
        dim = method.dim + n_dims if method.dim < 0 else method.dim
        if dim < 0:
            raise IndexError(f"Index is out of bounds for tensor with dimensions {n_dims}")
        keep = mask.sum(dim=[d for d in range(n_dims) if d != dim]) != 0
        slc: list = [slice(None)] * n_dims
        slc[dim] = keep
        return tuple(slc)
    if kind == "global":
        return tuple([slice(None)] * len(t.shape))
    raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (still re-parametrises the tensor)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Any, default_mask: Any) -> Any:
        return default_mask

    @classmethod
    def apply(cls, module: Any, name: str) -> Any:  # type: ignore[override]
        return super().apply(module, name)


class _Unstructured(BasePruningMethod):
    """Prunes ``amount`` entries (a count, or a fraction of them): the ``k`` that ``_chosen`` picks."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: int | float) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def _chosen(self, t: Any, k: int) -> Any:
        raise NotImplementedError

    def compute_mask(self, t: Any, default_mask: Any) -> Any:
        size = t.nelement()
        k = _compute_nparams_toprune(self.amount, size)
        _validate_pruning_amount(k, size)
        mask = default_mask.clone(memory_format=ember.contiguous_format)
        if k != 0:
            mask.view(-1)[self._chosen(t, k)] = 0
        return mask


class RandomUnstructured(_Unstructured):
    """Prunes ``amount`` entries (a count, or a fraction of them) chosen at random."""

    def _chosen(self, t: Any, k: int) -> Any:
        return ember.topk(ember.rand_like(t).view(-1), k=k).indices

    @classmethod
    def apply(cls, module: Any, name: str, amount: int | float) -> Any:  # type: ignore[override]
        return super().apply(module, name, amount=amount)


class L1Unstructured(_Unstructured):
    """Prunes the ``amount`` entries of smallest absolute value (of ``importance_scores`` if given)."""

    def _chosen(self, t: Any, k: int) -> Any:
        return ember.topk(ember.abs(t).view(-1), k=k, largest=False).indices

    @classmethod
    def apply(cls, module: Any, name: str, amount: int | float,  # type: ignore[override]
              importance_scores: Any = None) -> Any:
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


def _structured_count(t: Any, amount: int | float, dim: int) -> tuple[int, int]:
    """The channels along ``dim`` and how many of them ``amount`` prunes, after the checks."""
    _validate_structured_pruning(t)
    _validate_pruning_dim(t, dim)
    size = t.shape[dim]
    k = _compute_nparams_toprune(amount, size)
    _validate_pruning_amount(k, size)
    return size, k


def _channel_mask(t: Any, dim: int, kept: Any, default_mask: Any) -> Any:
    """1 on the channels ``kept`` (indices or a boolean mask) along ``dim``, 0 elsewhere, times the
    mask already in place: the structured methods' new mask."""
    mask = ember.zeros_like(t)
    slc: list = [slice(None)] * len(t.shape)
    slc[dim] = kept
    mask[tuple(slc)] = 1
    mask *= default_mask.to(dtype=mask.dtype)
    return mask


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim``, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: int | float, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t: Any, default_mask: Any) -> Any:
        size, k = _structured_count(t, self.amount, self.dim)
        if k == 0:
            return default_mask
        prob = ember.rand(size)
        threshold = ember.kthvalue(prob, k=k).values
        return _channel_mask(t, self.dim, (prob > threshold).to(t.device), default_mask)

    @classmethod
    def apply(cls, module: Any, name: str, amount: int | float, dim: int = -1) -> Any:  # type: ignore[override]
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest L``n`` norm."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: int | float, n: Any, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t: Any, default_mask: Any) -> Any:
        size, k = _structured_count(t, self.amount, self.dim)
        norm = _compute_norm(t, self.n, self.dim)
        keep = ember.topk(norm, k=size - k, largest=True)
        if k == 0:
            return default_mask
        return _channel_mask(t, self.dim, keep.indices, default_mask)

    @classmethod
    def apply(cls, module: Any, name: str, amount: int | float, n: Any, dim: int,  # type: ignore[override]
              importance_scores: Any = None) -> Any:
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is 0."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Any) -> None:
        self.mask = mask

    def compute_mask(self, t: Any, default_mask: Any) -> Any:
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"default_mask shape {default_mask.shape} must match "
                                 f"self.mask shape {self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module: Any, name: str, mask: Any) -> Any:  # type: ignore[override]
        return super().apply(module, name, mask=mask)


def identity(module: Any, name: str) -> Any:
    """Re-parametrise ``module.<name>`` with an all-ones mask; returns ``module``.

    Example:
        >>> from ember import nn
        >>> from ember.nn.utils import prune
        >>> m = prune.identity(nn.Linear(2, 3), "bias")
        >>> m.bias_mask
        tensor([1., 1., 1.])
    """
    Identity.apply(module, name)
    return module


def random_unstructured(module: Any, name: str, amount: int | float) -> Any:
    """Prune ``amount`` random entries of ``module.<name>``; returns ``module``.

    Example:
        >>> from ember import nn
        >>> from ember.nn.utils import prune
        >>> m = prune.random_unstructured(nn.Linear(4, 5), "weight", amount=0.25)
        >>> int((m.weight_mask == 0).sum())
        5
    """
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Any, name: str, amount: int | float, importance_scores: Any = None) -> Any:
    """Prune the ``amount`` entries of ``module.<name>`` of smallest magnitude; returns ``module``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> from ember.nn.utils import prune
        >>> m = nn.Linear(3, 1)
        >>> with ember.no_grad():
        ...     _ = m.weight.copy_(ember.tensor([[1.0, -0.1, 2.0]]))
        >>> prune.l1_unstructured(m, "weight", amount=1).weight
        tensor([[1., -0., 2.]], grad_fn=<MulBackward0>)
    """
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Any, name: str, amount: int | float, dim: int) -> Any:
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim``; returns ``module``.

    Example:
        >>> from ember import nn
        >>> from ember.nn.utils import prune
        >>> m = prune.random_structured(nn.Linear(3, 4), "weight", amount=2, dim=0)
        >>> int((m.weight_mask.sum(1) == 0).sum())
        2
    """
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Any, name: str, amount: int | float, n: Any, dim: int, importance_scores: Any = None) -> Any:
    """Prune the ``amount`` channels of ``module.<name>`` along ``dim`` of smallest L``n`` norm;
    returns ``module``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> from ember.nn.utils import prune
        >>> m = nn.Linear(2, 3)
        >>> with ember.no_grad():
        ...     _ = m.weight.copy_(ember.tensor([[1.0, 1.0], [0.1, 0.0], [3.0, 0.0]]))
        >>> prune.ln_structured(m, "weight", amount=1, n=2, dim=0).weight_mask
        tensor([[1., 1.],
                [0., 0.],
                [1., 1.]])
    """
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters: Iterable, pruning_method: type, importance_scores: dict | None = None,
                        **kwargs: Any) -> None:
    """Prune the ``(module, name)`` tensors of ``parameters`` together, as one flattened vector,
    with the unstructured ``pruning_method`` (``prune.L1Unstructured``, say, with ``amount=``).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> from ember.nn.utils import prune
        >>> a, b = nn.Linear(2, 1, bias=False), nn.Linear(2, 1, bias=False)
        >>> with ember.no_grad():
        ...     _ = a.weight.copy_(ember.tensor([[1.0, 0.1]]))
        ...     _ = b.weight.copy_(ember.tensor([[0.2, 3.0]]))
        >>> prune.global_unstructured([(a, "weight"), (b, "weight")], prune.L1Unstructured, amount=2)
        >>> a.weight_mask, b.weight_mask
        (tensor([[1., 0.]]), tensor([[0., 1.]]))
    """
    from ember.nn.utils.convert_parameters import parameters_to_vector

    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    parameters = list(parameters)  # walked three times (a generator too)
    scores = parameters_to_vector([importance_scores.get((m, n), getattr(m, n)) for m, n in parameters])
    default_mask = parameters_to_vector([getattr(m, n + "_mask", ember.ones_like(getattr(m, n)))
                                         for m, n in parameters])
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"{pruning_method} of type {method.PRUNING_TYPE}")
    container.add_pruning_method(method)
    final_mask = container.compute_mask(scores, default_mask)
    start = 0
    for module, name in parameters:
        param = getattr(module, name)
        n = param.numel()
        custom_from_mask(module, name, mask=final_mask[start:start + n].view_as(param))
        start += n


def custom_from_mask(module: Any, name: str, mask: Any) -> Any:
    """Prune ``module.<name>`` where ``mask`` is 0; returns ``module``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> from ember.nn.utils import prune
        >>> m = prune.custom_from_mask(nn.Linear(2, 3), "bias", ember.tensor([0.0, 1.0, 0.0]))
        >>> m.bias_mask
        tensor([0., 1., 0.])
    """
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module: Any, name: str) -> Any:
    """Make the pruning of ``module.<name>`` permanent; returns ``module``.

    Example:
        >>> from ember import nn
        >>> from ember.nn.utils import prune
        >>> m = prune.remove(prune.identity(nn.Linear(2, 3), "bias"), "bias")
        >>> sorted(m.state_dict())
        ['bias', 'weight']
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")


def is_pruned(module: Any) -> bool:
    """Whether ``module`` or one of its submodules carries a pruning hook.

    Example:
        >>> from ember import nn
        >>> from ember.nn.utils import prune
        >>> m = nn.Sequential(nn.Linear(2, 2))
        >>> prune.is_pruned(m), prune.is_pruned(prune.identity(m[0], "weight") and m)
        (False, True)
    """
    return any(isinstance(hook, BasePruningMethod)
               for _, sub in module.named_modules() for hook in sub._forward_pre_hooks.values())


def _validate_pruning_amount_init(amount: Any) -> None:
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _validate_pruning_amount(amount: Any, tensor_size: int) -> None:
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={tensor_size}")


def _validate_structured_pruning(t: Any) -> None:
    shape = t.shape
    if len(shape) <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. Found tensor of shape "
                         f"{shape} with {len(shape)} dims")


def _compute_nparams_toprune(amount: Any, tensor_size: int) -> int:
    if isinstance(amount, numbers.Integral):
        return amount
    return round(amount * tensor_size)


def _validate_pruning_dim(t: Any, dim: int) -> None:
    if dim >= t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")


def _compute_norm(t: Any, n: Any, dim: int) -> Any:
    """The L``n`` norm of each channel of ``t`` along ``dim``."""
    dims = list(range(t.dim()))
    dims.remove(dims[dim] if dim < 0 else dim)
    return ember.norm(t, p=n, dim=dims)
