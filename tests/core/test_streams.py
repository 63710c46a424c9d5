"""Streams and events of every device module (``ember._streams``): one in-order queue per device, so
a stream context, ``wait_stream`` and events are correct serial schedules; timed events cover the work
between them; PyTorch's error texts for ``elapsed_time``; NVTX ranges land in ``ember.profiler``."""

from __future__ import annotations

import threading
import time

import ember
import numpy as np
import pytest

DEVICES = ["cpu"] + [d for d in ("opencl",) if ember.plugins.backend(d) is not None
                     and ember.plugins.backend(d).is_available()]


@pytest.mark.parametrize("device", DEVICES)
def test_prefetch_pattern_sees_complete_results(device):
    mod = getattr(ember, device)
    side = mod.Stream()
    x = ember.tensor(np.arange(12.0).reshape(3, 4))
    with mod.stream(side):
        assert mod.current_stream() == side
        y = x.to(device, non_blocking=True) * 2
    mod.current_stream().wait_stream(side)
    y.record_stream(mod.current_stream())
    np.testing.assert_array_equal(y.cpu().numpy(), np.arange(12.0).reshape(3, 4) * 2)
    assert mod.current_stream() == mod.default_stream() and side.query() and side.cuda_stream == 0


@pytest.mark.parametrize("device", DEVICES)
def test_timed_events_cover_the_work_between_them(device):
    mod = getattr(ember, device)
    start, end = mod.Event(enable_timing=True), mod.Event(enable_timing=True)
    t0 = time.perf_counter()
    start.record()
    time.sleep(0.02)  # host work between the records counts too, as on a device queue
    a = ember.ones(256, 256, device=device)
    b = a @ a
    end.record()
    end.synchronize()
    wall = (time.perf_counter() - t0) * 1000
    assert 20.0 <= start.elapsed_time(end) <= wall + 1.0
    assert b[0, 0].item() == 256.0 and end.query()
    with pytest.raises(RuntimeError, match=r"^Both events must be created with argument 'enable_timing=True'\.$"):
        mod.Event().elapsed_time(end)
    with pytest.raises(RuntimeError, match=r"^Both events must be recorded before calculating elapsed time\.$"):
        start.elapsed_time(mod.Event(enable_timing=True))
    ev = mod.current_stream().record_event()
    assert isinstance(ev, mod.Event) and ev.query()


def test_stream_context_is_per_thread_and_restores():
    mod = ember.cpu
    s1, s2 = mod.Stream(), mod.Stream(priority=-1)
    seen = []
    with mod.stream(s1):
        with mod.stream(s2):
            assert mod.current_stream() is s2
        assert mod.current_stream() is s1
        t = threading.Thread(target=lambda: seen.append(mod.current_stream() is s1))
        t.start()
        t.join()
    with mod.stream(None):  # PyTorch's no-op form
        pass
    assert seen == [False] and mod.current_stream() is not s1
    assert mod.Stream.priority_range() == (0, 0)


def test_unavailable_device_refuses_to_record():
    if ember.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ember.DeviceError, match="cuda is not available"):
        ember.cuda.Event(enable_timing=True).record()


def test_nvtx_ranges_show_in_the_profiler():
    from ember.profiler import profile

    with profile() as p:
        with ember.cuda.nvtx.range("step{}", 3):
            ember.ones(3) + 1
        ember.cuda.nvtx.range_push("outer")
        ember.ones(2) * 2
        assert ember.cuda.nvtx.range_pop() == 0
    names = [e.name for e in p.events()]
    assert "step3" in names and "outer" in names
    assert ember.cuda.nvtx.range_pop() == -1  # nothing open, as NVTX answers
