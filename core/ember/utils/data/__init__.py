"""Datasets, samplers and the :class:`DataLoader`, with PyTorch's ``torch.utils.data`` API.

Example:
    >>> import ember
    >>> from ember.utils.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(ember.arange(6).float().reshape(3, 2), ember.tensor([0, 1, 0]))
    >>> [tuple(x.shape) for x, _ in DataLoader(ds, batch_size=2)]
    [(2, 2), (1, 2)]
"""

from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .worker import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]


# a submodule not imported yet, by name (``ember.nn.attention`` after ``import ember``, as in PyTorch)
from ember import _lazy_submodules  # noqa: E402

__getattr__ = _lazy_submodules.package_getattr(__name__, __path__[0])
