"""PyTorch's ``torch.utils.data._utils`` paths, for programs that import the collate registry or the
worker helpers from there (``from torch.utils.data._utils.collate import default_collate_fn_map``).

Example:
    >>> from ember.utils.data._utils.collate import collate, default_collate_fn_map
    >>> collate([1, 2], collate_fn_map=default_collate_fn_map).tolist()
    [1, 2]
"""

from . import collate, worker

__all__ = ["collate", "worker"]
