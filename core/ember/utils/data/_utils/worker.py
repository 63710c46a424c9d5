"""``torch.utils.data._utils.worker``: ``get_worker_info`` and ``WorkerInfo`` (see ``ember.utils.data.worker``).

Example:
    >>> from ember.utils.data._utils.worker import get_worker_info
    >>> get_worker_info() is None
    True
"""

from ember.utils.data.worker import WorkerInfo, get_worker_info

__all__ = ["WorkerInfo", "get_worker_info"]
