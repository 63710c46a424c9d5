"""``ember.profiler``: where the time of a step goes, as ``torch.profiler``.

While a :class:`profile` records, every kernel call on every device is timed, by wrapping the
entries of the kernel tables in place for that time only (a kernel table is a plain dict, see
``ember.dispatch``): outside a profile there is no hook and no cost. Events are named
``<device type>::<kernel>`` (``cpu::matmul``, ``opencl::add``), the way PyTorch names ``aten::``
ops; :class:`record_function` adds named ranges around user code, which contain the kernel events
they run. Device kernels are asynchronous: when a device activity (``ProfilerActivity.CUDA`` or
``ProfilerActivity.OPENCL``...) is asked for, each device kernel is waited for before its event
ends, so its time is the device's, at the cost of a synchronisation per kernel.

Results: :meth:`profile.key_averages` (``.table()`` prints PyTorch's table), :meth:`profile.events`,
:meth:`profile.export_chrome_trace` (chrome://tracing or Perfetto), and
:func:`tensorboard_trace_handler` for TensorBoard's profiler plugin; :func:`schedule` and
:meth:`profile.step` profile a window of training steps.

Example:
    >>> import ember
    >>> from ember.profiler import profile, record_function
    >>> with profile(record_shapes=True) as prof:
    ...     with record_function("forward"):
    ...         y = (ember.randn(8, 8) @ ember.randn(8, 8)).relu()
    >>> names = {e.key for e in prof.key_averages()}
    >>> {"forward", "cpu::matmul", "cpu::relu"} <= names
    True
"""

from __future__ import annotations

import enum
import functools
import gzip
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ProfilerActivity", "ProfilerAction", "profile", "record_function", "schedule",
           "tensorboard_trace_handler", "FunctionEvent", "FunctionEventAvg", "EventList"]


class ProfilerActivity(enum.Enum):
    """What to time: host work (``CPU``) and/or device kernels (any of the others)."""

    CPU = "cpu"
    CUDA = "cuda"
    OPENCL = "opencl"
    XPU = "xpu"
    MTIA = "mtia"
    PrivateUse1 = "privateuseone"


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


@dataclass
class FunctionEvent:
    """One timed call: a kernel or a ``record_function`` range (times in microseconds)."""

    name: str
    start_us: float
    end_us: float
    thread: int
    device_type: str = "cpu"
    input_shapes: list = field(default_factory=list)
    self_cpu_time_total: float = 0.0
    parent: FunctionEvent | None = None

    @property
    def cpu_time_total(self) -> float:
        return self.end_us - self.start_us

    @property
    def key(self) -> str:
        return self.name


@dataclass
class FunctionEventAvg:
    """The events of one name (and input shapes, when grouped by them), summed."""

    key: str
    count: int = 0
    cpu_time_total: float = 0.0
    self_cpu_time_total: float = 0.0
    input_shapes: list = field(default_factory=list)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0


def _fmt_time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


class EventList(list):
    """A list of events or averages, with PyTorch's ``table()``."""

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_name_column_width: int = 55,
              header: str | None = None, top_level_events_only: bool = False) -> str:
        """PyTorch's summary table: name, self and total CPU time (and their share), average, calls.
        ``sort_by`` names an attribute (``"cpu_time_total"``, ``"self_cpu_time_total"``, ``"count"``...);
        device-time keys sort like CPU time here, since device kernels are timed on the host."""
        rows = list(self)
        if sort_by:
            attr = sort_by.replace("cuda", "cpu").replace("device", "cpu")
            rows.sort(key=lambda r: getattr(r, attr, 0) or 0, reverse=True)
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        total_self = sum(r.self_cpu_time_total for r in self)
        share = total_self or 1.0
        shapes = any(getattr(r, "input_shapes", None) for r in rows)
        width = min(max([len(r.key) for r in rows] + [4]), max_name_column_width)
        cols = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
        widths = [width] + [12] * 6
        if shapes:
            cols, widths = cols + ["Input Shapes"], widths + [40]
        rule = "  ".join("-" * w for w in widths) + "  "
        out = [header] if header else []
        out += [rule, "  ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True)) + "  ", rule]
        for r in rows:
            cells = [r.key[:width], f"{100 * r.self_cpu_time_total / share:.2f}%", _fmt_time(r.self_cpu_time_total),
                     f"{100 * r.cpu_time_total / share:.2f}%", _fmt_time(r.cpu_time_total), _fmt_time(r.cpu_time),
                     str(r.count)] + ([str(r.input_shapes)[:40]] if shapes else [])
            out.append("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + "  ")
        out += [rule, f"Self CPU time total: {_fmt_time(total_self)}", ""]
        return "\n".join(out)


# ---- recording -------------------------------------------------------------------------------------
class _Recorder:
    """Kernel-table wrapping and the events of one profile."""

    def __init__(self, record_shapes: bool, device_sync: bool) -> None:
        self.record_shapes, self.device_sync = record_shapes, device_sync
        self.recording = False
        self.events: list[FunctionEvent] = []
        self._restore: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def add(self, name: str, t0: int, t1: int, device_type: str, shapes: list) -> None:
        event = FunctionEvent(name, t0 / 1e3, t1 / 1e3, threading.get_ident(), device_type, shapes)
        with self._lock:
            self.events.append(event)

    def install(self) -> None:
        from ember import dispatch

        def timed(tbl: Any, name: str, fn: Callable) -> Callable:
            dev = tbl.device_type
            sync = tbl.backend.synchronize if self.device_sync and dev != "cpu" else None
            return self._timed(f"{dev}::{name}", fn, dev, sync)

        self._restore = dispatch.wrap_kernels(timed)

    def uninstall(self) -> None:
        restore, self._restore = self._restore, None
        if restore is not None:
            restore()

    def _timed(self, event_name: str, fn: Callable, device_type: str, sync: Callable | None) -> Callable:
        recorder = self

        @functools.wraps(fn)
        def kernel(*args: Any, **kwargs: Any) -> Any:
            if not recorder.recording:
                return fn(*args, **kwargs)
            t0 = time.perf_counter_ns()
            out = fn(*args, **kwargs)
            if sync is not None:
                sync()
            t1 = time.perf_counter_ns()
            shapes = [list(a.shape) for a in args if hasattr(a, "shape")] if recorder.record_shapes else []
            recorder.add(event_name, t0, t1, device_type, shapes)
            return out

        return kernel


_ACTIVE: list[_Recorder] = []


class record_function:
    """A named range in the profile (context manager or decorator); free when nothing records.

    >>> from ember.profiler import record_function
    >>> with record_function("data loading"):
    ...     pass
    """

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name, self.args = name, args
        self._t0 = 0

    def __enter__(self) -> record_function:
        self._t0 = time.perf_counter_ns()
        return self

    def __exit__(self, *exc: object) -> None:
        t1 = time.perf_counter_ns()
        for recorder in _ACTIVE:
            if recorder.recording:
                recorder.add(self.name, self._t0, t1, "cpu", [])

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)

        return wrapped


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """PyTorch's step schedule: skip ``skip_first`` steps, then cycles of ``wait`` idle, ``warmup``
    running (not recorded) and ``active`` recorded steps, the last of which saves; ``repeat`` cycles
    (0: for ever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError("Invalid profiler schedule arguments")
    if warmup == 0:
        import warnings

        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)

    def action(step: int) -> ProfilerAction:
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return action


class profile:
    """Record kernel calls and ``record_function`` ranges (see the module docstring).

    Arguments are PyTorch's; ``profile_memory``, ``with_stack``, ``with_flops`` and ``with_modules``
    are accepted and add nothing yet (documented in docs/profiler.md).
    """

    def __init__(self, *, activities: Iterable[ProfilerActivity] | None = None,
                 schedule: Callable[[int], ProfilerAction] | None = None,
                 on_trace_ready: Callable[[profile], Any] | None = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config: Any = None, execution_trace_observer: Any = None,
                 acc_events: bool = False, use_cuda: bool | None = None) -> None:
        acts = set(activities) if activities is not None else {ProfilerActivity.CPU}
        if use_cuda:
            acts.add(ProfilerActivity.CUDA)
        self.activities = acts
        self.schedule = schedule
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.step_num = 0
        self._recorder = _Recorder(record_shapes, device_sync=bool(acts - {ProfilerActivity.CPU}))
        self._saved: list[FunctionEvent] = []
        self._action = ProfilerAction.RECORD
        self._fallbacks_at_start: dict[tuple[str, str], int] = {}
        #: CPU fallbacks during the profile: ``{(device type, kernel): calls}`` (see ``ember.fallback_counts``)
        self.fallbacks: dict[tuple[str, str], int] = {}

    # -- lifecycle
    def start(self) -> None:
        from ember import dispatch

        self._fallbacks_at_start = dispatch.fallback_counts()
        self._recorder.install()
        _ACTIVE.append(self._recorder)
        self._apply(self.schedule(0) if self.schedule else ProfilerAction.RECORD)

    def stop(self) -> None:
        from ember import dispatch

        now = dispatch.fallback_counts()
        self.fallbacks = {k: n - self._fallbacks_at_start.get(k, 0) for k, n in now.items()
                          if n > self._fallbacks_at_start.get(k, 0)}
        self._recorder.recording = False
        if self._recorder in _ACTIVE:
            _ACTIVE.remove(self._recorder)
        self._recorder.uninstall()
        if self.schedule is None or self._action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            self._save()

    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def step(self) -> None:
        """The end of a training step: advance the schedule (saving when a recording window ends)."""
        if self.schedule is None:
            return
        previous = self._action
        self.step_num += 1
        if previous == ProfilerAction.RECORD_AND_SAVE:
            self._save()
        self._apply(self.schedule(self.step_num))

    def _apply(self, action: ProfilerAction) -> None:
        self._action = action
        self._recorder.recording = action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)

    def _save(self) -> None:
        events, self._recorder.events = self._recorder.events, []
        if not events:
            return
        self._saved = _with_self_times(events)
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    # -- results
    def events(self) -> EventList:
        """Every recorded event of the last saved window, in start order."""
        return EventList(self._saved)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """The events summed per name (and per input shapes when asked)."""
        groups: dict[tuple, FunctionEventAvg] = {}
        for e in self._saved:
            k = (e.name, str(e.input_shapes)) if group_by_input_shape else (e.name,)
            avg = groups.get(k)
            if avg is None:
                avg = groups[k] = FunctionEventAvg(e.name, input_shapes=e.input_shapes if group_by_input_shape else [])
            avg.count += 1
            avg.cpu_time_total += e.cpu_time_total
            avg.self_cpu_time_total += e.self_cpu_time_total
        return EventList(groups.values())

    def transfers(self) -> dict[str, int]:
        """Host<->device copies recorded: ``{"<device>::from_host": n, "<device>::to_host": n}``
        (the cpu's own ``from_host``/``to_host`` are not copies between memories and are left out)."""
        counts: dict[str, int] = {}
        for e in self._saved:
            if e.name.endswith(("::from_host", "::to_host")) and not e.name.startswith("cpu::"):
                counts[e.name] = counts.get(e.name, 0) + 1
        return counts

    def summary(self, row_limit: int = 15) -> str:
        """The kernel table sorted by self time, then the host<->device copies and CPU fallbacks."""
        lines = [self.key_averages().table(sort_by="self_cpu_time_total", row_limit=row_limit)]
        copies = self.transfers()
        lines.append("host<->device copies: " + (", ".join(f"{k} x{n}" for k, n in sorted(copies.items()))
                                                 if copies else "none"))
        lines.append("CPU fallbacks: " + (", ".join(f"{d}::{k} x{n}" for (d, k), n in sorted(self.fallbacks.items()))
                                          if self.fallbacks else "none"))
        return "\n".join(lines)

    def export_chrome_trace(self, path: str) -> None:
        """The events in Chrome's trace format (chrome://tracing, Perfetto, TensorBoard)."""
        trace = {"traceEvents": [
            {"name": e.name, "ph": "X", "ts": e.start_us, "dur": e.cpu_time_total, "pid": os.getpid(),
             "tid": e.thread, "cat": "kernel" if "::" in e.name else "user_annotation",
             "args": {"Input Dims": e.input_shapes, "device": e.device_type}} for e in self._saved],
            "displayTimeUnit": "ms"}
        opener = gzip.open if str(path).endswith(".gz") else open
        tmp = f"{path}.tmp"
        with opener(tmp, "wt") as f:
            json.dump(trace, f)
        os.replace(tmp, path)  # never a half-written trace


def _with_self_times(events: list[FunctionEvent]) -> list[FunctionEvent]:
    """Nest each thread's events by time and give each its self time (its time minus its children's)."""
    events.sort(key=lambda e: (e.thread, e.start_us, -e.end_us))
    stack: list[FunctionEvent] = []
    for e in events:
        while stack and (stack[-1].thread != e.thread or stack[-1].end_us <= e.start_us):
            stack.pop()
        e.parent = stack[-1] if stack else None
        e.self_cpu_time_total = e.cpu_time_total
        if e.parent is not None:
            e.parent.self_cpu_time_total -= e.cpu_time_total
        stack.append(e)
    events.sort(key=lambda e: e.start_us)
    return events


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False) -> Callable[[profile], None]:
    """An ``on_trace_ready`` that writes ``<worker>.<ms>.pt.trace.json`` into ``dir_name``, where
    TensorBoard's profiler plugin looks."""
    def handler(prof: profile) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{int(time.time() * 1000)}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler
