"""Dataset classes: map-style, iterable, and the combinators PyTorch provides.

Example:
    >>> import ember
    >>> from ember.utils.data import TensorDataset, random_split
    >>> ds = TensorDataset(ember.arange(10))
    >>> a, b = random_split(ds, [0.8, 0.2], generator=ember.Generator().manual_seed(0))
    >>> len(a), len(b)
    (8, 2)
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar
from typing import Iterable as _TypingIterable  # noqa: UP035 - PyTorch's base: IterableDataset[int] is a GenericAlias

import ember

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset",
           "StackDataset", "random_split"]

T_co = TypeVar("T_co", covariant=True)
# StackDataset yields tuples or dicts of its parts' samples
T_stack = TypeVar("T_stack", tuple, dict)


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``).

    Example:
        >>> class Squares(Dataset):
        ...     def __getitem__(self, i): return i * i
        ...     def __len__(self): return 4
        >>> [Squares()[i] for i in range(4)]
        [0, 1, 4, 9]
    """

    def __getitem__(self, index: Any) -> T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset[T_co]) -> ConcatDataset[T_co]:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co], _TypingIterable[T_co]):
    """A dataset that is a stream: subclasses define ``__iter__``.

    With ``num_workers > 0`` every worker gets a copy, so shard the stream with
    :func:`~ember.utils.data.get_worker_info` or each sample is produced once per worker.

    Example:
        >>> class Count(IterableDataset):
        ...     def __iter__(self): return iter(range(3))
        >>> list(Count())
        [0, 1, 2]
    """

    # No __iter__ here: it stays abstract (collections.abc.Iterable's), so a subclass without one cannot
    # be instantiated, as in PyTorch.

    def __add__(self, other: Dataset[T_co]) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


def _size0(t: Any) -> int:
    """``t.size(0)`` as PyTorch calls it: a list raises AttributeError, a NumPy array (whose ``size``
    is an int) TypeError, a 0-d tensor PyTorch's IndexError."""
    size = t.size
    if callable(size) and callable(getattr(t, "dim", None)) and t.dim() == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return size(0)


class TensorDataset(Dataset[tuple]):
    """Samples are the i-th rows of tensors that share their first dimension.

    Example:
        >>> import ember
        >>> ds = TensorDataset(ember.tensor([[1, 2], [3, 4]]), ember.tensor([0, 1]))
        >>> x, y = ds[1]
        >>> x.tolist(), y.item()
        ([3, 4], 1)
    """

    def __init__(self, *tensors: Any) -> None:
        # PyTorch's check (and exception type); no tensors at all is accepted, as there.
        for t in tensors:  # PyTorch's all(tensors[0].size(0) == t.size(0) ...), in its order
            if _size0(tensors[0]) != _size0(t):
                raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example:
        >>> Subset(list(range(10)), [7, 3])[1]
        3
    """

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> T_co:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        # Let a dataset with a batched fast path use it through the subset too.
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset[T_co]):
    """Several map-style datasets end to end.

    Example:
        >>> ds = ConcatDataset([[0, 1], [2, 3, 4]])
        >>> len(ds), ds[2], ds[-1]
        (5, 2, 4)
    """

    @staticmethod
    def cumsum(sequence: Iterable[Any]) -> list[int]:
        out, total = [], 0
        for e in sequence:
            total += len(e)
            out.append(total)
        return out

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    @property
    def cummulative_sizes(self) -> list[int]:
        """PyTorch's deprecated (misspelt) name of ``cumulative_sizes``."""
        warnings.warn("cummulative_sizes attribute is renamed to cumulative_sizes", DeprecationWarning, stacklevel=2)
        return self.cumulative_sizes

    def __getitem__(self, idx: int) -> T_co:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        if dataset_idx >= len(self.datasets):
            raise IndexError("list index out of range")  # PyTorch's self.datasets[dataset_idx]
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class ChainDataset(IterableDataset):
    """Several iterable datasets one after the other.

    Example:
        >>> class Count(IterableDataset):
        ...     def __init__(self, n): self.n = n
        ...     def __iter__(self): return iter(range(self.n))
        >>> list(ChainDataset([Count(2), Count(3)]))
        [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):  # PyTorch's assertion, checked as each part is reached
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


def _split_lengths(n: int, lengths: Sequence[int | float]) -> list[int]:
    """Turn fractions summing to 1 into integer lengths as PyTorch does (remainder round-robin)."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=3)
        return sizes
    return list(lengths)  # as given: a float length reaches randperm, which refuses it as PyTorch's does


def random_split(dataset: Any, lengths: Sequence[int | float], generator: Any = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths or fractions.

    Example:
        >>> import ember
        >>> parts = random_split(range(5), [3, 2], generator=ember.Generator().manual_seed(1))
        >>> sorted(parts[0].indices + parts[1].indices)
        [0, 1, 2, 3, 4]
    """
    sizes = _split_lengths(len(dataset), lengths)
    if sum(sizes) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    gen = ember.random.default_generator if generator is None else generator
    perm = ember.randperm(sum(sizes), generator=gen).tolist()
    out, offset = [], 0
    for size in sizes:
        out.append(Subset(dataset, perm[offset:offset + size]))
        offset += size
    return out


class StackDataset(Dataset[T_stack]):
    """Datasets of equal length read side by side: ``StackDataset(a, b)[i] == (a[i], b[i])`` and
    ``StackDataset(x=a, y=b)[i] == {"x": a[i], "y": b[i]}``.

    >>> from ember.utils.data import StackDataset
    >>> StackDataset([1, 2], "ab")[1], StackDataset(n=[1, 2], c="ab")[0]
    ((2, 'b'), {'n': 1, 'c': 'a'})
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like "
                             "input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        parts = list(args) if args else list(kwargs.values())
        self._length = len(parts[0])
        if any(len(d) != self._length for d in parts):
            raise ValueError("Size mismatch between datasets")
        self.datasets: tuple | dict = args if args else kwargs

    def __getitem__(self, index: int) -> Any:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        """A batch of items, using each part's own ``__getitems__`` when it has one (one call per part)."""
        parts = self.datasets.items() if isinstance(self.datasets, dict) else enumerate(self.datasets)
        columns = {}
        for key, d in parts:
            items = d.__getitems__(indices) if callable(getattr(d, "__getitems__", None)) else [d[i] for i in indices]
            if len(items) != len(indices):
                raise ValueError(f"Nested dataset's output size mismatch. Expected {len(indices)}, got {len(items)}")
            columns[key] = items
        if isinstance(self.datasets, dict):
            return [{k: columns[k][j] for k in columns} for j in range(len(indices))]
        return [tuple(columns[k][j] for k in columns) for j in range(len(indices))]

    def __len__(self) -> int:
        return self._length
