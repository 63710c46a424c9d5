"""What ``ember train`` stores so that ``--resume`` continues bit-for-bit.

A checkpoint is a plain dict written atomically by ``ember.save`` (readable with the default
``weights_only=True``): the model, optimizer and scheduler state dicts, the training settings
(``arch``, ``dataset``, ``optimizer_name``...), the position ``(epoch, batches_done)``, the state of
every random generator (ember's default generator, the shuffle generator, Python's ``random`` and
NumPy's global generator) and the shuffle generator's state at the start of the current epoch, from
which :class:`ResumableRandomSampler` replays that epoch's order and skips the samples already seen.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np

import ember
from ember.utils.data import Sampler

__all__ = ["ResumableRandomSampler", "rng_states", "restore_rng_states", "FORMAT"]

#: The ``format`` entry of a checkpoint, checked on ``--resume``.
FORMAT = "ember-train/1"


class ResumableRandomSampler(Sampler):
    """A fresh random permutation each epoch, drawn from ``generator``, that can restart mid-epoch.

    ``epoch_start_state`` is the generator's state just before this epoch's permutation was drawn;
    ``resume_at(state, position)`` makes the next ``__iter__`` redraw that permutation and start at
    ``position``, so the order (and the generator's state after it) is the uninterrupted run's.

    Example:
        >>> g = ember.Generator().manual_seed(0)
        >>> s = ResumableRandomSampler(6, g)
        >>> first = list(s)
        >>> s.resume_at(s.epoch_start_state, 4)
        >>> list(s) == first[4:]
        True
    """

    def __init__(self, size: int, generator: Any) -> None:
        self.size = size
        self.generator = generator
        self.epoch_start_state: Any = None
        self._resume: tuple[Any, int] | None = None

    def resume_at(self, state: Any, position: int) -> None:
        self._resume = (state, position)

    def __iter__(self) -> Iterator[int]:
        start = 0
        if self._resume is not None:
            state, start = self._resume
            self._resume = None
            self.generator.set_state(state)
        self.epoch_start_state = self.generator.get_state()
        yield from ember.randperm(self.size, generator=self.generator).tolist()[start:]

    def __len__(self) -> int:
        return self.size


def rng_states(shuffle: Any) -> dict[str, Any]:
    """Every generator's state as plain data (lists and tensors: no pickle needed to load it)."""
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    return {"ember": ember.get_rng_state(), "shuffle": shuffle.get_state(),
            "python": [version, list(mt), gauss],
            "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]}


def restore_rng_states(states: dict[str, Any], shuffle: Any) -> None:
    """Put back what :func:`rng_states` captured."""
    ember.set_rng_state(states["ember"])
    shuffle.set_state(states["shuffle"])
    version, mt, gauss = states["python"]
    random.setstate((int(version), tuple(int(v) for v in mt), gauss))
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), float(cached)))
