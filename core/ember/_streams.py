"""Streams and events of a device type (``torch.cuda.Stream``/``Event`` and friends) for backends
that run each device's work on one in-order queue.

ember's backend contract has one queue per device, so every ``Stream`` of a device stands for
that queue: work "on another stream" runs in issue order, a schedule PyTorch's stream semantics
allow (streams only permit overlap, they never require it). What programs do with streams then
holds: a prefetcher's ``with torch.cuda.stream(s): x = x.to(dev, non_blocking=True)`` followed by
``current_stream().wait_stream(s)`` sees ``x`` complete; ``Event(enable_timing=True)`` pairs time
the work between them, because ``record`` waits for the queue before it reads the clock;
``synchronize``/``query`` wait for or report the queue.

Example:
    >>> import ember
    >>> start, end = ember.cpu.Event(enable_timing=True), ember.cpu.Event(enable_timing=True)
    >>> start.record(); _ = ember.ones(256, 256) @ ember.ones(256, 256); end.record()
    >>> end.synchronize(); start.elapsed_time(end) >= 0.0
    True
    >>> s = ember.cpu.Stream()
    >>> with ember.cpu.stream(s):
    ...     ember.cpu.current_stream() == s
    True
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any

__all__ = ["nvtx", "stream_api"]


def stream_api(module: Any) -> dict[str, Any]:
    """The stream and event names of one device module (``ember.cuda``, ``ember.opencl``...)."""
    state = threading.local()  # the current stream per thread and device index, as PyTorch's

    def _sync(index: int | None) -> None:
        if module.device_type == "cpu" or not module.is_available():
            return
        module.synchronize(index)

    def _index(device: Any) -> int:
        if module.device_type == "cpu":
            return 0
        return module._index(device)

    class Stream:
        """A queue of work on one device (``torch.cuda.Stream``): here the device's one queue."""

        def __init__(self, device: Any = None, priority: int = 0, **kwargs: Any) -> None:
            self.device_index = _index(device)
            self.priority = priority

        @property
        def device(self) -> Any:
            from ember.device import device as _device

            return _device(module.device_type, self.device_index)

        @property
        def cuda_stream(self) -> int:
            return 0  # the default stream's handle: all work shares it

        stream_id = cuda_stream

        @staticmethod
        def priority_range() -> tuple[int, int]:
            return (0, 0)

        def query(self) -> bool:
            """True when the work queued so far has finished (it waits for it here)."""
            _sync(self.device_index)
            return True

        def synchronize(self) -> None:
            _sync(self.device_index)

        def wait_event(self, event: Event) -> None:
            """Later work on this stream waits for ``event``: already so, the queue runs in order."""

        def wait_stream(self, stream: Stream) -> None:
            """Later work on this stream waits for ``stream``'s work so far: already so (one queue)."""

        def record_event(self, event: Event | None = None) -> Event:
            event = event if event is not None else Event()
            event.record(self)
            return event

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Stream) and other.device_index == self.device_index

        def __hash__(self) -> int:
            return hash((module.device_type, self.device_index))

        def __repr__(self) -> str:
            return f"<ember.{module.device_type}.Stream device={self.device} {module.device_type}_stream=0x0>"

    class Event:
        """A point in a stream's work (``torch.cuda.Event``); with ``enable_timing``, the time it was
        reached, read after the queue has drained (so ``elapsed_time`` covers the work between two)."""

        def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False,
                     **kwargs: Any) -> None:
            self.enable_timing, self.blocking, self.interprocess = enable_timing, blocking, interprocess
            self._time: float | None = None
            self._index: int | None = None

        def record(self, stream: Stream | None = None) -> None:
            index = stream.device_index if stream is not None else _index(None)
            if module.device_type != "cpu":
                module._require()
            _sync(index)
            self._index = index
            self._time = time.perf_counter()

        def wait(self, stream: Stream | None = None) -> None:
            """Make ``stream`` wait for this event: work is already in order."""

        def query(self) -> bool:
            if self._index is not None:
                _sync(self._index)
            return True

        def synchronize(self) -> None:
            if self._index is not None:
                _sync(self._index)

        def elapsed_time(self, end_event: Event) -> float:
            """Milliseconds from this event to ``end_event`` (both recorded, both with timing)."""
            if not (self.enable_timing and end_event.enable_timing):
                raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
            if self._time is None or end_event._time is None:
                raise RuntimeError("Both events must be recorded before calculating elapsed time.")
            return (end_event._time - self._time) * 1000.0

        def __repr__(self) -> str:
            return f"<ember.{module.device_type}.Event {'recorded' if self._time is not None else 'uninitialized'}>"

    def _current() -> dict:
        if not hasattr(state, "streams"):
            state.streams = {}
        return state.streams

    def current_stream(device: Any = None) -> Stream:
        index = _index(device)
        return _current().get(index) or Stream(index)

    def default_stream(device: Any = None) -> Stream:
        return Stream(_index(device))

    def set_stream(stream: Stream) -> None:
        if stream is not None:
            _current()[stream.device_index] = stream

    class StreamContext:
        """``with StreamContext(s):`` makes ``s`` the current stream of its device (None: no change)."""

        def __init__(self, stream: Stream | None) -> None:
            self.stream = stream
            self._prev: Stream | None = None

        def __enter__(self) -> Stream | None:
            if self.stream is not None:
                self._prev = _current().get(self.stream.device_index)
                set_stream(self.stream)
            return self.stream

        def __exit__(self, *exc: Any) -> None:
            if self.stream is not None:
                if self._prev is None:
                    _current().pop(self.stream.device_index, None)
                else:
                    set_stream(self._prev)

    def stream(stream: Stream | None) -> StreamContext:
        return StreamContext(stream)

    for cls in (Stream, Event, StreamContext):
        cls.__qualname__ = cls.__name__
        cls.__module__ = f"ember.{module.device_type}"
    return {"Stream": Stream, "Event": Event, "StreamContext": StreamContext, "stream": stream,
            "current_stream": current_stream, "default_stream": default_stream, "set_stream": set_stream}


class _Nvtx:
    """``torch.cuda.nvtx``: named ranges, shown by ``ember.profiler`` (there is no NVTX tool to feed)."""

    def __init__(self) -> None:
        self._stack = threading.local()

    def _ranges(self) -> list:
        if not hasattr(self._stack, "ranges"):
            self._stack.ranges = []
        return self._stack.ranges

    def range_push(self, msg: str) -> int:
        from ember.profiler import record_function

        rf = record_function(msg)
        rf.__enter__()
        self._ranges().append(rf)
        return len(self._ranges()) - 1

    def range_pop(self) -> int:
        ranges = self._ranges()
        if not ranges:
            return -1
        ranges.pop().__exit__(None, None, None)
        return len(ranges)

    def mark(self, msg: str) -> None:
        """A point event: nothing records points here."""

    def range_start(self, msg: str) -> int:
        return self.range_push(msg)

    def range_end(self, range_id: int) -> None:
        self.range_pop()

    @contextmanager
    def range(self, msg: str, *args: Any, **kwargs: Any) -> Any:
        self.range_push(msg.format(*args, **kwargs))
        try:
            yield
        finally:
            self.range_pop()


nvtx = _Nvtx()
