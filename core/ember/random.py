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

import contextlib
import operator
import os

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "fork_rng", "mix64"]

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
    """A seed plus a counter offset, made for one device as PyTorch's are (``device`` is a
    :class:`ember.device`); the counter stream itself is the same on every backend.

    The state (:meth:`get_state`) is a uint8 tensor of 16 bytes: the seed and the offset, each
    little-endian.
    """

    def __init__(self, device: object = "cpu") -> None:
        self.device = _generator_device(device)
        self._seed = 67280421310721  # PyTorch's default seed
        self._key = mix64(self._seed)
        self._offset = 0

    def manual_seed(self, seed: int, /) -> Generator:
        self._set_seed(_seed_value(seed))
        return self

    def _set_seed(self, seed: int) -> None:
        self._seed = seed
        self._key = mix64(seed)
        self._offset = 0

    def seed(self) -> int:
        s = int.from_bytes(os.urandom(8), "little")
        self._set_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        from ember.dtypes import uint8
        from ember.functions.creation import tensor

        raw = self._seed.to_bytes(8, "little") + (self._offset & _MASK).to_bytes(8, "little")
        return tensor(list(raw), dtype=uint8)

    def set_state(self, new_state, /) -> Generator:
        from ember.dtypes import uint8
        from ember.tensor import Tensor

        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        from ember.dtypes import int64

        if new_state.dtype is int64 and new_state.shape == (2,) and new_state.device.type == "cpu":
            # the state of ember before 2026-12-07 (``ember train`` checkpoints keep it): [seed, offset]
            seed, offset = (int(v) for v in new_state.tolist())
            self._set_seed(seed % (1 << 64))
            self._offset = offset
            return self
        if new_state.dtype is not uint8 or new_state.device.type != "cpu":
            raise TypeError("RNG state must be a torch.ByteTensor")
        if not new_state.is_contiguous():
            raise RuntimeError("RNG state must be contiguous")
        if new_state.numel() != _STATE_BYTES:
            raise RuntimeError(f"Expected a GeneratorState of size {_STATE_BYTES} but found the input RNG "
                               f"state size to be {new_state.numel()}")
        raw = bytes(new_state.reshape(-1).tolist())
        self._set_seed(int.from_bytes(raw[:8], "little"))
        self._offset = int.from_bytes(raw[8:], "little")
        return self

    def clone_state(self) -> Generator:
        """A new generator on the same device in this one's state."""
        g = Generator(self.device)
        g._seed, g._key, g._offset = self._seed, self._key, self._offset
        return g

    def graphsafe_get_state(self) -> Generator:
        raise NotImplementedError("graphsafe_get_state is not supported in this Generator")

    def graphsafe_set_state(self, state: Generator, /) -> Generator:
        raise NotImplementedError("graphsafe_set_state is not supported in this Generator")

    def get_offset(self) -> int:
        if self.device.type == "cpu":
            raise RuntimeError("CPU Generator does not use offset")
        return self._offset

    def set_offset(self, offset: int, /) -> Generator:
        if self.device.type == "cpu":
            raise RuntimeError("CPU Generator does not use offset")
        self._offset = operator.index(offset)
        return self

    def _take(self, count: int) -> tuple[int, int]:
        """Reserve ``count`` counters; return (key, first offset)."""
        off = self._offset
        self._offset = off + count
        return self._key, off


_STATE_BYTES = 16


def _generator_device(device: object):
    from ember.device import device as _device

    if isinstance(device, bool) or not isinstance(device, (str, int, _device)):
        raise TypeError(f"Generator(): argument 'device' must be torch.device, not {type(device).__name__}")
    if isinstance(device, int):
        raise RuntimeError("Cannot access accelerator device when none is available.")
    dev = device if isinstance(device, _device) else _device(device)
    if dev.type not in ("cpu", "cuda", "opencl"):
        raise RuntimeError(f"{dev.type.upper()} device type not an accelerator.")
    return dev


def _seed_value(seed: object) -> int:
    """PyTorch's seed rules: an int in [-2**63, 2**64), negatives wrapped to 2**64 + seed."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        if isinstance(seed, (float, str, bool)) or type(seed).__name__ == "Tensor":
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        raise TypeError("an integer is required")
    if not -(1 << 63) <= seed < (1 << 64):
        raise ValueError("Overflow when unpacking long long")
    return seed & _MASK


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (every device shares it). As PyTorch, ``seed`` goes through
    ``int()`` first, so ``2.0`` and ``"3"`` are accepted here though ``Generator.manual_seed``
    refuses them."""
    return default_generator.manual_seed(int(seed))


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng", _devices_kw: str = "devices",
             device_type: str | None = None):
    """Restore the random state on exit. One generator serves every device here, so forking it
    forks them all; ``devices`` and ``device_type`` are accepted for PyTorch compatibility."""
    if not enabled:
        yield
        return
    state = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(state)
