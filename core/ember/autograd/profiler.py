"""``ember.autograd.profiler``: the older spelling of the profiler (``torch.autograd.profiler``),
kept for tutorials that use it; it is :mod:`ember.profiler` underneath.

Example:
    >>> import ember
    >>> from ember.autograd import profiler
    >>> with profiler.profile() as prof:
    ...     _ = ember.ones(4) + 1
    >>> "cpu::add" in {e.key for e in prof.key_averages()}
    True
"""

from __future__ import annotations

from typing import Any

from ember.profiler import EventList, FunctionEvent, FunctionEventAvg, ProfilerActivity, record_function
from ember.profiler import profile as _profile

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]


class profile(_profile):
    """``torch.autograd.profiler.profile(enabled=True, use_cuda=False, record_shapes=False, ...)``."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device: str | None = None,
                 record_shapes: bool = False, with_flops: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_modules: bool = False, use_kineto: bool = False,
                 use_cpu: bool = True, **kwargs: Any) -> None:
        activities = [ProfilerActivity.CPU]
        if use_cuda or use_device:
            activities.append(ProfilerActivity.CUDA)
        super().__init__(activities=activities, record_shapes=record_shapes, profile_memory=profile_memory,
                         with_stack=with_stack, with_flops=with_flops, with_modules=with_modules)
        self.enabled = enabled

    def __enter__(self) -> profile:
        if self.enabled:
            super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            super().__exit__(*exc)
