"""ember's torchvision: datasets and transforms for images.

Example:
    >>> from ember.vision import datasets, transforms
    >>> train, _ = datasets.mnist_sample(transform=transforms.ToTensor())
    >>> tuple(train[0][0].shape)
    (1, 28, 28)
"""

from . import datasets, transforms

__all__ = ["datasets", "transforms"]
