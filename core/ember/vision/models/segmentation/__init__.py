"""torchvision's semantic segmentation models: FCN, DeepLabV3 and Lite R-ASPP, with their weights enums
(COCO-trained, Pascal VOC's 21 categories; files load from torch.hub's cache).

Each builder registers itself under this module: ``models.list_models(module=models.segmentation)``.

Example:
    >>> import ember
    >>> from ember.vision.models import segmentation
    >>> m = segmentation.fcn_resnet50(weights_backbone=None, num_classes=2).eval()
    >>> tuple(m(ember.zeros(1, 3, 16, 16))["out"].shape)
    (1, 2, 16, 16)
"""

from __future__ import annotations

from .deeplabv3 import *  # noqa: F403
from .deeplabv3 import __all__ as _deeplabv3_all
from .fcn import *  # noqa: F403
from .fcn import __all__ as _fcn_all
from .lraspp import *  # noqa: F403
from .lraspp import __all__ as _lraspp_all

__all__ = [*_deeplabv3_all, *_fcn_all, *_lraspp_all]
