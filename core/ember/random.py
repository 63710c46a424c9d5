"""Random numbers from one counter-based generator, the same on every backend.

A :class:`Generator` is a seed and an offset. Each random op passes ``key = mix64(seed)`` and
the offset to the device's kernel, which computes element i from counter ``offset + i``
(see :mod:`ember.kernels`), then the offset advances. So a seed gives the same numbers on the
CPU, on OpenCL and on CUDA.

Example:
    >>> import ember
    >>> _ = ember.manual_seed(0)
    >>> a = ember.rand(3)
    >>> _ = ember.manual_seed(0)
    >>> bool((a == ember.rand(3)).all())
    True
"""

from __future__ import annotations

import time

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "mix64"]

_MASK = (1 << 64) - 1


def mix64(z: int) -> int:
    """The splitmix64 finaliser (the same arithmetic every backend's kernel uses)."""
    z &= _MASK
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & _MASK
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return z


class Generator:
    """A seed plus a counter offset. ``device`` is accepted for PyTorch compatibility: the same
    stream serves every device."""

    def __init__(self, device: object = "cpu") -> None:
        self.device = device
        self._seed = 67280421310721  # PyTorch's default seed
        self._key = mix64(self._seed)
        self._offset = 0

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        if not -(1 << 63) <= seed < (1 << 64):
            raise RuntimeError(f"Overflow when unpacking long: seed {seed} is out of the 64-bit range")
        self._seed = seed & _MASK
        self._key = mix64(self._seed)
        self._offset = 0
        return self

    def seed(self) -> int:
        s = time.time_ns() & _MASK
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        from ember.dtypes import int64
        from ember.functions.creation import tensor

        return tensor([self._seed - (1 << 64) if self._seed >= 1 << 63 else self._seed, self._offset], dtype=int64)

    def set_state(self, state) -> Generator:
        seed, offset = (int(v) for v in state.tolist())
        self.manual_seed(seed & _MASK)
        self._offset = offset
        return self

    def _take(self, count: int) -> tuple[int, int]:
        """Reserve ``count`` counters; return (key, first offset)."""
        off = self._offset
        self._offset = off + count
        return self._key, off


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (every device shares it)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)
