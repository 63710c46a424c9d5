"""Samplers: iterables of dataset indices (or of index batches) that drive a DataLoader.

All randomness is drawn from ember generators, so ``ember.manual_seed`` (or an explicit
``generator``) makes every order reproducible.

Example:
    >>> import ember
    >>> from ember.utils.data import BatchSampler, SequentialSampler
    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

import ember

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _draw_seed(generator: Any) -> int:
    """A seed drawn from ``generator`` (the global stream when None); PyTorch draws it with
    ``random_(generator=...)``, whose TypeError a generator of the wrong type gets here too."""
    # PyTorch's own draw (one 0-d int64 ``random_()``, [0, 2**63)): a program that replays or counts
    # the draws of the global stream sees the same calls on ember; a wrong generator type raises here.
    return int(ember.empty((), dtype=ember.int64).random_(generator=generator).item())


def _fresh_generator(generator: Any) -> Any:
    """The given generator, or a new one seeded from the global stream (as PyTorch does)."""
    if generator is not None:
        return generator
    seed = _draw_seed(None)
    g = ember.Generator()
    g.manual_seed(seed)
    return g


def _uniform(n: int, generator: Any) -> np.ndarray:
    """``n`` uniform [0, 1) doubles from an ember generator, on the host."""
    try:
        u = ember.rand(n, generator=generator, dtype=ember.float64)
    except (TypeError, RuntimeError):  # a backend without float64
        u = ember.rand(n, generator=generator)
    return np.asarray(u.numpy(), dtype=np.float64)


T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class: subclasses define ``__iter__`` (and ``__len__`` where it is known). Generic as
    PyTorch's (``class MySampler(Sampler[int])``).

    Example:
        >>> class Evens(Sampler):
        ...     def __iter__(self): return iter([0, 2, 4])
        ...     def __len__(self): return 3
        >>> list(Evens())
        [0, 2, 4]
    """

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """Indices ``0 .. len(data_source) - 1`` in order.

    Example:
        >>> list(SequentialSampler("abc"))
        [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """A random permutation, or ``num_samples`` draws with replacement.

    Example:
        >>> import ember
        >>> sorted(RandomSampler(range(4), generator=ember.Generator().manual_seed(0)))
        [0, 1, 2, 3]
    """

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        gen = _fresh_generator(self.generator)
        if self.replacement:
            # Draw in chunks of 32 like PyTorch so long streams do not allocate all at once.
            for _ in range(self.num_samples // 32):
                yield from ember.randint(0, n, (32,), generator=gen).tolist()
            rest = self.num_samples % 32
            if rest:
                yield from ember.randint(0, n, (rest,), generator=gen).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from ember.randperm(n, generator=gen).tolist()
            yield from ember.randperm(n, generator=gen).tolist()[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices in a random order.

    Example:
        >>> import ember
        >>> sorted(SubsetRandomSampler([5, 7, 9], generator=ember.Generator().manual_seed(0)))
        [5, 7, 9]
    """

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        if len(self.indices) == 0:
            return
        gen = ember.random.default_generator if self.generator is None else self.generator
        for i in ember.randperm(len(self.indices), generator=gen).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """Indices ``0 .. len(weights) - 1`` drawn with probability proportional to ``weights``.

    Without replacement it draws successively without putting back (like ``multinomial``),
    using exponential keys ``-log(u) / w`` whose smallest ``num_samples`` give exactly that
    distribution (Efraimidis-Spirakis).

    Example:
        >>> import ember
        >>> list(WeightedRandomSampler([0.0, 1.0, 0.0], 3, generator=ember.Generator().manual_seed(0)))
        [1, 1, 1]
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        # PyTorch's conversion (``as_tensor(weights, dtype=double)``), so a bad sequence raises its TypeError.
        weights_tensor = ember.as_tensor(weights, dtype=ember.float64 if _has_float64() else ember.float32)
        if weights_tensor.dim() != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(weights_tensor.shape)}")
        # Invalid weights are reported when iterating (PyTorch checks them in ``multinomial``).
        self.weights = weights_tensor
        self._w = np.asarray(weights_tensor.detach().cpu().numpy(), dtype=np.float64)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _check_weights(self) -> None:
        """``multinomial``'s checks and messages, in PyTorch's order (PyTorch's sampler draws with it)."""
        from ember.functions.sampling import _check_multinomial

        _check_multinomial(ember.as_tensor(self._w, dtype=ember.float64 if _has_float64() else ember.float32),
                           self.num_samples, self.replacement, None)

    def __iter__(self) -> Iterator[int]:
        self._check_weights()
        gen = ember.random.default_generator if self.generator is None else self.generator
        u = _uniform(self.num_samples if self.replacement else len(self._w), gen)
        if self.replacement:
            cdf = np.cumsum(self._w)
            # side='right' skips zero-weight categories (their cdf equals the previous one).
            idx = np.searchsorted(cdf, u * cdf[-1], side="right")
            idx = np.minimum(idx, len(self._w) - 1)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                keys = -np.log1p(-u) / self._w  # 1 - u lies in (0, 1], so log is finite
            idx = np.argsort(keys, kind="stable")[: self.num_samples]
        yield from (int(i) for i in idx)

    def __len__(self) -> int:
        return self.num_samples


def _has_float64() -> bool:
    try:
        ember.zeros(1, dtype=ember.float64)
        return True
    except Exception:  # noqa: BLE001 - any backend refusal means "no"
        return False


class BatchSampler(Sampler[list[int]]):
    """Groups another sampler's indices into lists of ``batch_size``.

    Example:
        >>> list(BatchSampler(range(5), batch_size=2, drop_last=True))
        [[0, 1], [2, 3]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size
