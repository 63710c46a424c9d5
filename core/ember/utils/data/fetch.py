"""Fetchers turn one sampler output (an index, or a batch of indices) into a collated batch;
the same code runs in the main process and in workers.

Example:
    >>> f = create_fetcher(MAP, [10, 20, 30], True, list, False)
    >>> f.fetch([2, 0])
    [30, 10]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["MAP", "ITERABLE", "create_fetcher"]

MAP = 0
ITERABLE = 1


class _MapFetcher:
    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable, drop_last: bool) -> None:
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index: Any) -> Any:
        if self.auto_collation:
            getitems = getattr(self.dataset, "__getitems__", None)
            data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


class _IterableFetcher:
    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable, drop_last: bool) -> None:
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.dataset_iter = iter(dataset)
        self.ended = False

    def fetch(self, index: Any) -> Any:
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
            if not data or (self.drop_last and len(data) < len(index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
        return self.collate_fn(data)


def create_fetcher(kind: int, dataset: Any, auto_collation: bool, collate_fn: Callable,
                   drop_last: bool) -> _MapFetcher | _IterableFetcher:
    """A fetcher for a map-style (``MAP``) or iterable (``ITERABLE``) dataset."""
    cls = _MapFetcher if kind == MAP else _IterableFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)
