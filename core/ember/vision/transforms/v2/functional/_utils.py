"""The kernel registry behind v2's functionals: one kernel per input type (PIL image, plain tensor,
each tv_tensor), found along the input type's MRO."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ember import Tensor
from ember.vision import tv_tensors

_KERNEL_REGISTRY: dict[Callable, dict[type, Callable]] = {}


def is_pure_tensor(inpt: Any) -> bool:
    """True for an ember Tensor that is not a tv_tensor."""
    return isinstance(inpt, Tensor) and not isinstance(inpt, tv_tensors.TVTensor)


def _kernel_tv_tensor_wrapper(kernel: Callable) -> Callable:
    @functools.wraps(kernel)
    def wrapper(inpt: Any, *args: Any, **kwargs: Any) -> Any:
        # the kernel sees a plain tensor (ops on tv_tensors return plain tensors anyway), the result is
        # re-wrapped with the input's type
        output = kernel(inpt.as_subclass(Tensor), *args, **kwargs)
        return tv_tensors.wrap(output, like=inpt)

    return wrapper


def _register(functional: Callable, *input_types: type, tv_tensor_wrapper: bool = True) -> Callable:
    registry = _KERNEL_REGISTRY.setdefault(functional, {})

    def decorator(kernel: Callable) -> Callable:
        for t in input_types:
            if t in registry:
                raise ValueError(f"Functional {functional} already has a kernel registered for type {t}.")
            wrap = tv_tensor_wrapper and isinstance(t, type) and issubclass(t, tv_tensors.TVTensor)
            registry[t] = _kernel_tv_tensor_wrapper(kernel) if wrap else kernel
        return kernel

    return decorator


def register_kernel(functional: Callable, tv_tensor_cls: type) -> Callable:
    """Decorator registering ``kernel`` as ``functional``'s kernel for a tv_tensor class (it receives the
    tv_tensor and must return the wrapped output itself)."""
    if not (isinstance(tv_tensor_cls, type) and issubclass(tv_tensor_cls, tv_tensors.TVTensor)):
        raise ValueError(f"Kernels can only be registered for subclasses of ember.vision.tv_tensors.TVTensor, "
                         f"but got {tv_tensor_cls}.")
    return _register(functional, tv_tensor_cls, tv_tensor_wrapper=False)


def _get_kernel(functional: Callable, input_type: type, *, allow_passthrough: bool = False) -> Callable:
    registry = _KERNEL_REGISTRY.get(functional)
    if not registry:
        raise ValueError(f"No kernel registered for functional {functional.__name__}.")
    for cls in input_type.__mro__:
        if cls in registry:
            return registry[cls]
        if cls is tv_tensors.TVTensor:
            break  # a tv_tensor type with no kernel of its own is not an image
    if allow_passthrough:
        return lambda inpt, *args, **kwargs: inpt
    raise TypeError(f"Functional F.{functional.__name__} supports inputs of type {list(registry)}, "
                    f"but got {input_type} instead.")


def _dispatch(functional: Callable, inpt: Any, *args: Any, **kwargs: Any) -> Any:
    return _get_kernel(functional, type(inpt))(inpt, *args, **kwargs)
