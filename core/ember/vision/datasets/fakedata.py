"""FakeData: random images, the same image every time for the same index (as torchvision's).

Example:
    >>> ds = FakeData(size=4, image_size=(3, 8, 8), num_classes=5)
    >>> img, label = ds[2]
    >>> img.size, 0 <= label < 5, ds[2][0].tobytes() == img.tobytes()
    ((8, 8), True, True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember

from ..transforms import functional as F
from .vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` items ``(PIL image, int label)``: item ``i`` is drawn from ember's generator seeded
    with ``i + random_offset``, and the global generator's state is restored afterwards, so the data
    is reproducible and reading it does not disturb the caller's random stream."""

    def __init__(self, size: int = 1000, image_size: tuple[int, int, int] = (3, 224, 224), num_classes: int = 10,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 random_offset: int = 0) -> None:
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if index >= len(self) or index < -len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        index = index % len(self)
        rng_state = ember.get_rng_state()
        try:
            ember.manual_seed(index + self.random_offset)
            img = ember.randn(*self.image_size)
            target: Any = ember.randint(0, self.num_classes, size=(1,), dtype=ember.long)[0]
        finally:
            ember.set_rng_state(rng_state)
        pil = F.to_pil_image(img)  # floats scaled by 255 and truncated to uint8, as torchvision does
        out: Any = self.transform(pil) if self.transform is not None else pil
        if self.target_transform is not None:
            target = self.target_transform(target)
        return out, target.item() if ember.is_tensor(target) else target

    def __len__(self) -> int:
        return self.size
