"""einops on ember tensors: ``rearrange``, ``reduce``, ``repeat``, ``einsum``, ``pack``, ``unpack``.

einops finds a framework by its backends: the subclasses of ``einops._backends.AbstractBackend``
whose ``framework_name`` is in ``sys.modules`` (its documented way to add a framework). This module
defines that subclass for ember (``framework_name = "ember"``), written with ember's ops so
gradients flow and tensors stay on their device (cpu, opencl...).

:func:`install` is what ``import ember`` calls: if einops is already imported the backend is
registered at once; otherwise a finder on ``sys.meta_path`` waits for ``einops._backends`` to be
imported and registers it then. So ``import ember`` never imports einops (nor needs it installed),
and costs one tiny finder until einops shows up.

``einops.layers.torch`` imports the real ``torch`` and builds ``torch.nn.Module`` layers; the
layers here (:class:`Rearrange`, :class:`Reduce`, :class:`EinMix`, ember modules) are what
``backend.layers()`` returns for ember.

Example:
    >>> import ember, ember._einops
    >>> ember._einops.install()
    >>> from einops import rearrange
    >>> rearrange(ember.arange(6).reshape(2, 3), "a b -> b a").shape
    ember.Size([3, 2])
"""

from __future__ import annotations

import importlib.abc
import sys
from typing import Any

__all__ = ["install", "backend_class"]  # and Rearrange, Reduce, EinMix (module __getattr__)

_BACKEND: type | None = None  # a strong reference: einops sees its backends through __subclasses__
_LAYERS: dict[str, type] = {}
_TARGET = "einops._backends"


def install() -> None:
    """Register the ember backend with einops now if einops is imported, else when it is."""
    if _BACKEND is not None:
        return
    if _TARGET in sys.modules:
        backend_class()
        return
    if not any(isinstance(f, _EinopsFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _EinopsFinder())


class _EinopsFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when ``einops._backends`` is imported it lets the other finders find
    it, then has the module's loader register ember's backend once the module has run."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != _TARGET:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # one use
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        backend_class()

    def __getattr__(self, name: str) -> Any:  # get_source, is_package...: the real loader's
        return getattr(self.loader, name)


def backend_class() -> type:
    """The ``AbstractBackend`` subclass for ember (defined, and so registered, on first call)."""
    global _BACKEND
    if _BACKEND is not None:
        return _BACKEND
    from einops._backends import AbstractBackend

    import ember

    class EmberBackend(AbstractBackend):
        framework_name = "ember"

        def __init__(self) -> None:
            self.ember = ember

        def is_appropriate_type(self, tensor: Any) -> bool:
            return isinstance(tensor, ember.Tensor)

        def from_numpy(self, x: Any) -> Any:
            variable = ember.from_numpy(x)
            if self.is_float_type(variable):
                variable.requires_grad = True  # as einops' torch backend: its tests need grad leaves
            return variable

        def to_numpy(self, x: Any) -> Any:
            return x.detach().cpu().numpy()

        def arange(self, start: int, stop: int) -> Any:
            return ember.arange(start, stop, dtype=ember.int64)

        def reduce(self, x: Any, operation: str, reduced_axes: Any) -> Any:
            if operation == "min":
                return x.amin(dim=reduced_axes)
            if operation == "max":
                return x.amax(dim=reduced_axes)
            if operation == "sum":
                return x.sum(dim=reduced_axes)
            if operation == "mean":
                return x.mean(dim=reduced_axes)
            if operation in ("any", "all", "prod"):  # one dim at a time, as in PyTorch
                for i in sorted(reduced_axes)[::-1]:
                    x = getattr(x, operation)(dim=i)
                return x
            raise NotImplementedError("Unknown reduction ", operation)

        def transpose(self, x: Any, axes: Any) -> Any:
            return x.permute(axes)

        def stack_on_zeroth_dimension(self, tensors: list) -> Any:
            return ember.stack(tensors)

        def add_axes(self, x: Any, n_axes: int, pos2len: dict) -> Any:
            repeats = [-1] * n_axes
            for position, length in pos2len.items():
                x = ember.unsqueeze(x, position)
                repeats[position] = length
            return x.expand(repeats)  # a view: repeat's reshape copies only when it must

        def tile(self, x: Any, repeats: Any) -> Any:
            return x.repeat(repeats)

        def concat(self, tensors: list, axis: int) -> Any:
            return ember.cat(tensors, dim=axis)

        def add_axis(self, x: Any, new_position: int) -> Any:
            return ember.unsqueeze(x, new_position)

        def is_float_type(self, x: Any) -> bool:
            return x.dtype in (ember.float16, ember.float32, ember.float64, ember.bfloat16)

        def layers(self) -> Any:
            return sys.modules[__name__]

        def einsum(self, pattern: str, *x: Any) -> Any:
            return ember.einsum(pattern, *x)

    _BACKEND = EmberBackend
    return EmberBackend


def _layers() -> dict[str, type]:
    if _LAYERS:
        return _LAYERS
    backend_class()
    from einops.layers import RearrangeMixin, ReduceMixin
    from einops.layers._einmix import _EinmixMixin

    import ember
    from ember import nn

    class Rearrange(RearrangeMixin, nn.Module):
        """``einops.layers.torch.Rearrange`` as an ember module."""

        def forward(self, input: Any) -> Any:
            return self._apply_recipe(input)

    class Reduce(ReduceMixin, nn.Module):
        """``einops.layers.torch.Reduce`` as an ember module."""

        def forward(self, input: Any) -> Any:
            return self._apply_recipe(input)

    class EinMix(_EinmixMixin, nn.Module):
        """``einops.layers.torch.EinMix`` as an ember module (weights uniform in +-bound, as there)."""

        def _create_parameters(self, weight_shape: Any, weight_bound: float, bias_shape: Any,
                               bias_bound: float) -> None:
            self.weight = nn.Parameter(ember.zeros(weight_shape).uniform_(-weight_bound, weight_bound))
            self.bias = None if bias_shape is None else \
                nn.Parameter(ember.zeros(bias_shape).uniform_(-bias_bound, bias_bound))

        def _create_rearrange_layers(self, pre_reshape_pattern: Any, pre_reshape_lengths: Any,
                                     post_reshape_pattern: Any, post_reshape_lengths: Any) -> None:
            self.pre_rearrange = None if pre_reshape_pattern is None else \
                Rearrange(pre_reshape_pattern, **(pre_reshape_lengths or {}))
            self.post_rearrange = None if post_reshape_pattern is None else \
                Rearrange(post_reshape_pattern, **(post_reshape_lengths or {}))

        def forward(self, input: Any) -> Any:
            if self.pre_rearrange is not None:
                input = self.pre_rearrange(input)
            result = ember.einsum(self.einsum_pattern, input, self.weight)
            if self.bias is not None:
                result = result + self.bias
            if self.post_rearrange is not None:
                result = self.post_rearrange(result)
            return result

    for cls in (Rearrange, Reduce, EinMix):
        cls.__module__ = __name__
        _LAYERS[cls.__name__] = cls
    return _LAYERS


def __getattr__(name: str) -> Any:
    """``Rearrange``, ``Reduce``, ``EinMix``: built on first access (they need einops)."""
    if name in ("Rearrange", "Reduce", "EinMix"):
        return _layers()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
