"""torchvision's model registry: ``register_model``, ``list_models``, ``get_model``, ``get_model_builder``,
``get_model_weights`` and ``get_weight`` (torchvision/models/_api.py).

Each builder registers itself where it is defined, so a new model file needs no central list:

    @register_model()
    def alexnet(*, weights: AlexNet_Weights | None = None, progress: bool = True, **kwargs: Any) -> AlexNet:
        ...

``get_model_weights`` reads the weights enum off the builder's ``weights`` annotation, as torchvision
does (string annotations from ``from __future__ import annotations`` are resolved in the builder's
module); a builder annotated ``weights: Any`` can name its enum with ``register_model(weights=Enum)``.

Example:
    >>> from ember.vision import models
    >>> "resnet18" in models.list_models()
    True
    >>> models.get_model("resnet18", num_classes=10).fc.out_features
    10
    >>> models.get_model_weights("resnet50").DEFAULT
    ResNet50_Weights.IMAGENET1K_V2
    >>> models.get_weight("ResNet50_Weights.IMAGENET1K_V1").meta["num_params"]
    25557032
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import typing
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, TypeVar

from ._weights import WeightsEnum

__all__ = ["BUILTIN_MODELS", "register_model", "list_models", "get_model", "get_model_builder",
           "get_model_weights", "get_weight"]

M = TypeVar("M")

# name -> builder, filled by @register_model() as each model module is imported
BUILTIN_MODELS: dict[str, Callable[..., Any]] = {}
# builder -> weights enum, for builders whose ``weights`` annotation doesn't name it
_WEIGHTS_OF: dict[Callable[..., Any], type[WeightsEnum]] = {}


def register_model(name: str | None = None, *,
                   weights: type[WeightsEnum] | None = None) -> Callable[[Callable[..., M]], Callable[..., M]]:
    """A decorator that lists a model builder under ``name`` (default the function's name).

    ``weights`` (ember only) names the builder's weights enum when its ``weights`` parameter isn't
    annotated with it. Registering a name twice raises ``ValueError``, as torchvision.
    """

    def wrapper(fn: Callable[..., M]) -> Callable[..., M]:
        key = name if name is not None else fn.__name__
        if key in BUILTIN_MODELS:
            raise ValueError(f"An entry is already registered under the name '{key}'.")
        BUILTIN_MODELS[key] = fn
        if weights is not None:
            _WEIGHTS_OF[fn] = weights
        return fn

    return wrapper


def list_models(module: ModuleType | None = None, include: Iterable[str] | str | None = None,
                exclude: Iterable[str] | str | None = None) -> list[str]:
    """The sorted names of the registered models, optionally only those defined directly under
    ``module`` (e.g. ``ember.vision.models``), kept by ``include`` and dropped by ``exclude``
    (fnmatch patterns: shell-style wildcards; several filters act as their union)."""
    all_models = {k for k, v in BUILTIN_MODELS.items()
                  if module is None or v.__module__.rsplit(".", 1)[0] == module.__name__}
    if include:
        models: set[str] = set()
        for pattern in [include] if isinstance(include, str) else include:
            models |= set(fnmatch.filter(all_models, pattern))
    else:
        models = all_models
    if exclude:
        for pattern in [exclude] if isinstance(exclude, str) else exclude:
            models -= set(fnmatch.filter(all_models, pattern))
    return sorted(models)


def get_model_builder(name: str) -> Callable[..., Any]:
    """The builder registered under ``name`` (case-insensitive); ``ValueError`` if there is none."""
    name = name.lower()
    try:
        return BUILTIN_MODELS[name]
    except KeyError:
        raise ValueError(f"Unknown model {name}") from None


def get_model(name: str, **config: Any) -> Any:
    """The model registered under ``name``, built with ``config`` (``weights=``, ``num_classes=``...)."""
    return get_model_builder(name)(**config)


def _enum_in(annotation: Any) -> type[WeightsEnum] | None:
    """The WeightsEnum subclass named by an annotation (``E``, ``E | None``, ``Optional[E]``...)."""
    if isinstance(annotation, type) and issubclass(annotation, WeightsEnum):
        return annotation
    for arg in typing.get_args(annotation):
        found = _enum_in(arg)
        if found is not None:
            return found
    return None


def _enum_from_fn(fn: Callable[..., Any]) -> type[WeightsEnum]:
    if fn in _WEIGHTS_OF:
        return _WEIGHTS_OF[fn]
    sig = inspect.signature(fn)
    if "weights" not in sig.parameters:
        raise ValueError("The method is missing the 'weights' argument.")
    annotation = sig.parameters["weights"].annotation
    if isinstance(annotation, str):  # ``from __future__ import annotations``: resolve in the builder's module
        try:
            annotation = typing.get_type_hints(fn).get("weights", annotation)
        except Exception:  # an unresolvable name: fall through to the error below
            pass
    found = _enum_in(annotation)
    if found is None:
        raise ValueError("The WeightsEnum class for the specific method couldn't be retrieved. Make sure the typing "
                         "info is correct.")
    return found


def get_model_weights(name: Callable[..., Any] | str) -> type[WeightsEnum]:
    """The weights enum of a model builder, given the function or its registered name."""
    return _enum_from_fn(get_model_builder(name) if isinstance(name, str) else name)


def get_weight(name: str) -> WeightsEnum:
    """A weights enum member by its full name, e.g. ``"ResNet50_Weights.IMAGENET1K_V1"``: the enum is
    looked up in ``ember.vision.models`` and its subpackages, as torchvision does."""
    try:
        enum_name, value_name = name.split(".")
    except ValueError:
        raise ValueError(f"Invalid weight name provided: '{name}'.") from None
    base = importlib.import_module(__name__.rsplit(".", 1)[0])
    modules = [base] + [m for _, m in inspect.getmembers(base, inspect.ismodule)
                        if (getattr(m, "__file__", None) or "").endswith("__init__.py")]
    for m in modules:
        candidate = m.__dict__.get(enum_name)
        if isinstance(candidate, type) and issubclass(candidate, WeightsEnum):
            return candidate[value_name]
    raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be retrieved.")
