"""Lazy modules: layers whose input size is inferred from the first batch (``nn.LazyLinear`` & co).

As in PyTorch, a lazy module holds ``UninitializedParameter``/``UninitializedBuffer`` placeholders
until its first forward, where a pre-hook reads the input's feature size, materialises the
placeholders, runs the regular ``reset_parameters`` and turns the module into its regular class
(``LazyLinear`` becomes ``Linear``). Loading a state_dict into a lazy module materialises the
placeholders with the checkpoint's shapes.

Example:
    >>> import ember
    >>> from ember import nn
    >>> layer = nn.LazyLinear(4)
    >>> layer(ember.randn(2, 7)).shape, type(layer).__name__, layer.in_features
    (ember.Size([2, 4]), 'Linear', 7)
"""

from __future__ import annotations

from typing import Any

from ember import dtypes as _dt
from ember.autograd.grad_mode import no_grad
from ember.functions import creation as _c
from ember.nn.modules.conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ember.nn.modules.linear import Linear
from ember.nn.modules.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
)
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["LazyModuleMixin", "UninitializedParameter", "UninitializedBuffer", "LazyLinear", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]


class _Uninitialized:
    """What both placeholders share: no shape until ``materialize(shape)`` gives them storage and
    turns them into their regular class (``cls_to_become``; the layouts match, so the class can change)."""

    __slots__ = ()
    cls_to_become: type

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Give the placeholder real (uninitialised) storage of ``shape`` and make it regular."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.data = _c.empty(*shape, device=device or self.device, dtype=dtype or self.dtype)
        self.__class__ = self.cls_to_become

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo: dict) -> Any:
        # PyTorch's error for any use of a placeholder (copy.deepcopy of a lazy module before its
        # first forward included)
        raise ValueError(f"Attempted to use an uninitialized parameter in {Tensor.__deepcopy__}. This error "
                         "happens when you are using a `LazyModule` or explicitly manipulating "
                         f"`torch.nn.parameter.{type(self).__name__}` objects. When using LazyModules Call `forward` "
                         "with a dummy batch to initialize the parameters before calling torch functions")


class UninitializedParameter(_Uninitialized, Parameter):
    """A parameter with no shape yet; ``materialize(shape)`` turns it into a regular ``Parameter``."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> UninitializedParameter:
        return cls._from_tensor(_c.empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        pass

    def __reduce_ex__(self, protocol: int) -> Any:
        return UninitializedParameter, (self._requires_grad,)


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer with no shape yet; ``materialize(shape)`` turns it into a regular tensor."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> UninitializedBuffer:
        t = _c.empty(0, device=device, dtype=dtype)
        b = object.__new__(cls)
        from ember.nn.parameter import _SLOTS

        for name in _SLOTS:
            object.__setattr__(b, name, getattr(t, name))
        return b

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> None:
        pass


def is_lazy(t: Any) -> bool:
    return isinstance(t, (UninitializedParameter, UninitializedBuffer))


class LazyModuleMixin:
    """Infers a module's parameter shapes from its first input (see the module docstring)."""

    cls_to_become: type | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy_hook = self.register_forward_pre_hook(_infer_parameters)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)

    def has_uninitialized_params(self) -> bool:
        return any(is_lazy(t) for t in (*self._parameters.values(), *self._buffers.values()))

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def _lazy_load_hook(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool, missing_keys: list,
                        unexpected_keys: list, error_msgs: list) -> None:
        """A checkpoint gives the placeholders their shapes (PyTorch's _lazy_load_hook)."""
        for name, t in (*self._parameters.items(), *self._buffers.items()):
            key = prefix + name
            if key in state_dict and is_lazy(t):
                incoming = state_dict[key]
                if not is_lazy(incoming):
                    with no_grad():
                        t.materialize(incoming.shape)

    def _after_materialised(self) -> None:
        # both hooks go, as PyTorch removes them: the load hook is a bound method of the lazy class,
        # which the module is no longer (pickle and deepcopy would look it up on the new class)
        self._lazy_hook.remove()
        self._load_hook.remove()
        del self._lazy_hook, self._load_hook
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become


def _infer_parameters(module: Any, args: tuple) -> None:
    module.initialize_parameters(*args)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {type(module).__name__} has not been fully initialized")
    module._after_materialised()


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last dimension of its first input."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, 0, False)
        self.out_features = out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any) -> None:
        if not self.has_uninitialized_params():  # materialised by a state_dict: read the size back
            self.in_features = self.weight.shape[1]
        else:
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()


class _LazyConvMixin(LazyModuleMixin):
    _transposed = False

    def _lazy_init(self, out_channels: int, bias: bool, device: Any, dtype: Any) -> None:
        self.out_channels = out_channels
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any) -> None:
        if not self.has_uninitialized_params():
            return
        if input.dim() not in (self._nd + 1, self._nd + 2):
            raise RuntimeError(f"Expected {self._nd + 1}D (unbatched) or {self._nd + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {input.shape}")
        self.in_channels = input.shape[0] if input.dim() == self._nd + 1 else input.shape[1]
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        with no_grad():
            if self._transposed:
                self.weight.materialize((self.in_channels, self.out_channels // self.groups, *self.kernel_size))
            else:
                self.weight.materialize((self.out_channels, self.in_channels // self.groups, *self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()


def _lazy_conv(base: type, transposed: bool) -> type:
    """``Lazy<base>``: the base conv built with 0 channels, its weight a placeholder until the first input."""

    def __init__(self: Any, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 *rest: Any, **kwargs: Any) -> None:
        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        names = (["output_padding", "groups", "bias", "dilation", "padding_mode"] if transposed
                 else ["dilation", "groups", "bias", "padding_mode"])
        options = dict(zip(names, rest, strict=False), **kwargs)
        bias = options.pop("bias", True)
        LazyModuleMixin.__init__(self, 0, 0, kernel_size, stride, padding, bias=False, **options)
        self._lazy_init(out_channels, bias, device, dtype)

    name = f"Lazy{base.__name__}"
    cls = type(name, (_LazyConvMixin, base), {"__init__": __init__, "cls_to_become": base, "_transposed": transposed,
                                               "__module__": __name__, "__qualname__": name,
                                               "__doc__": f"``{base.__name__}`` whose ``in_channels`` comes from "
                                                          "its first input."})
    return cls


LazyConv1d = _lazy_conv(Conv1d, False)
LazyConv2d = _lazy_conv(Conv2d, False)
LazyConv3d = _lazy_conv(Conv3d, False)
LazyConvTranspose1d = _lazy_conv(ConvTranspose1d, True)
LazyConvTranspose2d = _lazy_conv(ConvTranspose2d, True)
LazyConvTranspose3d = _lazy_conv(ConvTranspose3d, True)


class _LazyNormMixin(LazyModuleMixin):
    def _lazy_init(self, affine: bool, track_running_stats: bool, device: Any, dtype: Any, bias: bool) -> None:
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any) -> None:
        if not self.has_uninitialized_params():
            return
        self.num_features = input.shape[1]  # PyTorch's rule, unbatched inputs included
        with no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                t = getattr(self, name, None)
                if is_lazy(t):
                    t.materialize((self.num_features,))
            self.reset_parameters()


def _lazy_norm(base: type) -> type:
    # PyTorch's lazy norms all default to affine=True, track_running_stats=True (instance norms too)
    def __init__(self: Any, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        LazyModuleMixin.__init__(self, 0, eps, momentum, False, False)
        self.affine, self.track_running_stats = affine, track_running_stats
        if track_running_stats:
            self.num_batches_tracked = _c.tensor(0, dtype=_dt.int64, device=device)
        self._lazy_init(affine, track_running_stats, device, dtype, bias)

    name = f"Lazy{base.__name__}"
    # Built on base's parent (_BatchNorm, _InstanceNorm) with base's own methods, as PyTorch's: a lazy
    # norm is not an instance of BatchNorm2d until it has materialised and become one.
    own = {k: v for k, v in vars(base).items() if not k.startswith("__")}
    return type(name, (_LazyNormMixin, base.__bases__[0]),
                {**own, "__init__": __init__, "cls_to_become": base, "__module__": __name__, "__qualname__": name,
                 "__doc__": f"``{base.__name__}`` whose ``num_features`` comes from its first input."})


LazyBatchNorm1d = _lazy_norm(BatchNorm1d)
LazyBatchNorm2d = _lazy_norm(BatchNorm2d)
LazyBatchNorm3d = _lazy_norm(BatchNorm3d)
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d)
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d)
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d)
