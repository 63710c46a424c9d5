"""``ember.utils.benchmark``: PyTorch's ``Timer`` and ``Measurement`` for timing snippets.

``Timer(stmt, setup, globals=...)`` compiles the statement once; ``timeit(n)`` runs it ``n`` times
and returns one :class:`Measurement`; ``blocked_autorange`` repeats blocks until ``min_run_time``
seconds have run; ``adaptive_autorange`` stops once the spread (IQR / median) is below
``threshold``. Time is wall-clock (``timeit.default_timer``). Device work is synchronised around
each block so an asynchronous backend is timed whole. Not provided: ``Compare``, ``Fuzzer`` and
``collect_callgrind``.

Example:
    >>> from ember.utils.benchmark import Timer
    >>> m = Timer("x * 2", setup="x = 3").timeit(100)
    >>> m.number_per_run, len(m.times), m.mean > 0
    (100, 1, True)
"""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable
from typing import Any

__all__ = ["Measurement", "Timer"]

_UNITS = ((1e-9, "ns"), (1e-6, "us"), (1e-3, "ms"), (1.0, "s"))


def select_unit(t: float) -> tuple[str, float]:
    """The unit (ns, us, ms, s) in which ``t`` seconds reads best, and its size in seconds."""
    size, unit = _UNITS[0]
    for s, u in _UNITS:
        if t >= s:
            size, unit = s, u
    return unit, size


class Measurement:
    """Times of repeated runs of one statement: ``raw_times`` per block of ``number_per_run`` runs,
    ``times`` per run."""

    def __init__(self, number_per_run: int, raw_times: list[float], stmt: str, label: str | None = None,
                 sub_label: str | None = None, description: str | None = None, num_threads: int = 1) -> None:
        self.number_per_run = number_per_run
        self.raw_times = list(raw_times)
        self.stmt, self.label, self.sub_label, self.description = stmt, label, sub_label, description
        self.num_threads = num_threads

    @property
    def times(self) -> list[float]:
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def _quantile(self, q: float) -> float:
        ts = sorted(self.times)
        pos = q * (len(ts) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(ts) - 1)
        return ts[lo] + (ts[hi] - ts[lo]) * (pos - lo)

    @property
    def iqr(self) -> float:
        return self._quantile(0.75) - self._quantile(0.25)

    @property
    def has_warnings(self) -> bool:
        return len(self.times) >= 4 and self.iqr / self.median > 0.1

    @property
    def title(self) -> str:
        if self.label is not None:
            return self.label + (f": {self.sub_label}" if self.sub_label else "")
        return self.stmt

    def __repr__(self) -> str:
        lines = [f"<{type(self).__module__}.{type(self).__name__} object at {hex(id(self))}>", self.title]
        if self.label is not None and self.description:
            lines.append(self.description)
        n = len(self.times)
        unit, size = select_unit(self.median)
        threads = f"{self.num_threads} thread{'s' if self.num_threads > 1 else ''}"
        if n == 1:
            lines += [f"  {self.median / size:.2f} {unit}", f"  1 measurement, {self.number_per_run} runs , {threads}"]
        else:
            lines += [f"  Median: {self.median / size:.2f} {unit}",
                      f"  IQR:    {self.iqr / size:.2f} ({self._quantile(0.25) / size:.2f} to "
                      f"{self._quantile(0.75) / size:.2f})",
                      f"  {n} measurements, {self.number_per_run} runs per measurement, {threads}"]
        if self.has_warnings:
            lines += [f"  WARNING: Interquartile range is {100 * self.iqr / self.median:.1f}% of the median "
                      "measurement.", "           This suggests significant environmental influence."]
        return "\n".join(lines)


def _synchronize() -> None:
    from ember import accelerator

    if accelerator.is_available():
        accelerator.synchronize()


class Timer:
    """Times ``stmt`` (a string run with ``setup`` and ``globals``, or a callable)."""

    def __init__(self, stmt: str | Callable = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = timeit.default_timer, globals: dict | None = None,
                 label: str | None = None, sub_label: str | None = None, description: str | None = None,
                 env: str | None = None, num_threads: int = 1, language: Any = None) -> None:
        if not isinstance(stmt, str) and not callable(stmt):
            raise ValueError("Currently only a string or a callable stmt is supported")
        self._stmt = stmt if isinstance(stmt, str) else getattr(stmt, "__name__", repr(stmt))
        setup = f"{global_setup}\n{setup}" if global_setup else setup
        self._timer = timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=dict(globals or {}))
        self._label, self._sub_label, self._description = label, sub_label, description
        self._num_threads = num_threads

    def _run(self, number: int) -> float:
        _synchronize()
        t = self._timer.timeit(number)
        _synchronize()
        return t

    def _measurement(self, number: int, raw: list[float]) -> Measurement:
        return Measurement(number, raw, self._stmt, self._label, self._sub_label, self._description,
                           self._num_threads)

    def timeit(self, number: int = 1000000) -> Measurement:
        """Run the statement ``number`` times (after ``max(number // 100, 2)`` warm-up runs, as PyTorch)."""
        self._run(max(number // 100, 2))
        return self._measurement(number, [self._run(number)])

    def _block_size(self) -> int:
        number = 1
        while True:
            if self._run(number) >= 0.001 or number >= 1 << 20:
                return number
            number *= 10

    def blocked_autorange(self, callback: Callable | None = None, min_run_time: float = 0.2) -> Measurement:
        """Blocks of runs (each about a millisecond or more) until ``min_run_time`` seconds have run."""
        number = self._block_size()
        raw, total = [], 0.0
        while total < min_run_time or not raw:
            t = self._run(number)
            raw.append(t)
            total += t
            if callback is not None:
                callback(number, t)
        return self._measurement(number, raw)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01, max_run_time: float = 10.0,
                           callback: Callable | None = None) -> Measurement:
        """Blocks until the IQR is below ``threshold`` of the median (and ``min_run_time`` has run), or
        ``max_run_time`` has."""
        number = self._block_size()
        raw, total = [], 0.0
        while True:
            t = self._run(number)
            raw.append(t)
            total += t
            if callback is not None:
                callback(number, t)
            m = self._measurement(number, raw)
            if total >= max_run_time or (len(raw) > 3 and total >= min_run_time and m.iqr / m.median <= threshold):
                return m
