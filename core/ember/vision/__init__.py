"""ember's torchvision: datasets, transforms, models and image utilities.

Example:
    >>> from ember.vision import datasets, transforms
    >>> train, _ = datasets.mnist_sample(transform=transforms.ToTensor())
    >>> tuple(train[0][0].shape)
    (1, 28, 28)
"""

from . import datasets, io, models, ops, transforms, tv_tensors, utils

__all__ = ["datasets", "io", "models", "ops", "transforms", "tv_tensors", "utils"]
