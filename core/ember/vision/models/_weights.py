"""What the model builders do with ``weights=``/``pretrained=``: nothing can be downloaded here.

torchvision's builders fetch ImageNet weights from download.pytorch.org. ember does not: a builder
given weights raises an error that says how to load a torchvision weight file that is already on
disk (the key names and shapes are torchvision's, so the file loads as it is).
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_no_weights"]


def check_no_weights(builder: str, weights: Any, kwargs: dict[str, Any]) -> None:
    """Raise ``RuntimeError`` unless no pretrained weights were asked for; drops ``progress``."""
    kwargs.pop("progress", None)
    pretrained = kwargs.pop("pretrained", False)
    if weights is None and not pretrained:
        return
    asked = f"weights={weights!r}" if weights is not None else "pretrained=True"
    raise RuntimeError(
        f"ember.vision.models.{builder}({asked}): pretrained weights can't be downloaded here. "
        f"Build the model with weights=None and load a torchvision weight file you already have "
        f"(its state_dict keys and shapes are torchvision's): "
        f"model = {builder}(); model.load_state_dict(ember.load('path/to/{builder}.pth'))")


def weights_enum_error(name: str) -> AttributeError:
    """The error for ``models.ResNet18_Weights`` and the like: ember ships no weight enums."""
    return AttributeError(
        f"ember.vision.models has no {name}: pretrained weights can't be downloaded here. Build the "
        f"model with weights=None and load a torchvision weight file: "
        f"model.load_state_dict(ember.load('path/to/file.pth'))")
