"""ember.profiler against its definition and PyTorch's: which kernels ran how often, nesting and self
times, the schedule's actions (compared with torch.profiler.schedule), the table's columns, the
trace file, and that nothing stays hooked afterwards."""

from __future__ import annotations

import json

import ember
import pytest
from ember.profiler import ProfilerAction, ProfilerActivity, profile, record_function, schedule


def _step(x, w):
    return (x @ w).relu().sum()


def test_counts_the_kernels_that_ran(device):
    x, w = ember.randn(4, 5, device=device), ember.randn(5, 3, device=device)
    with profile(record_shapes=True) as prof:
        for _ in range(3):
            _step(x, w)
    averages = {a.key: a for a in prof.key_averages()}
    assert averages[f"{device}::matmul"].count == 3
    assert averages[f"{device}::relu"].count == 3
    shapes = {a.key: a.input_shapes for a in prof.key_averages(group_by_input_shape=True)}
    assert shapes[f"{device}::matmul"] == [[4, 5], [5, 3]]


def test_ranges_nest_and_self_times_add_up():
    x, w = ember.randn(16, 16), ember.randn(16, 16)
    with profile() as prof:
        with record_function("outer"):
            with record_function("inner"):
                _step(x, w)
            _step(x, w)
    events = {e.name: e for e in prof.events() if e.name in ("outer", "inner")}
    outer, inner = events["outer"], events["inner"]
    assert inner.parent is outer and outer.start_us <= inner.start_us and inner.end_us <= outer.end_us
    total_self = sum(e.self_cpu_time_total for e in prof.events())
    assert total_self == pytest.approx(outer.cpu_time_total, rel=1e-9)  # everything happened inside outer
    assert all(e.self_cpu_time_total >= -1e-6 for e in prof.events())


def test_kernel_tables_are_restored_afterwards():
    from ember import dispatch

    tbl = dispatch.table("cpu")
    before = dict(tbl)
    with profile():
        ember.ones(2) + 1
        assert tbl["add"] is not before["add"]
    assert all(tbl[k] is fn for k, fn in before.items())


def test_record_function_is_free_outside_a_profile():
    with record_function("nothing records"):
        ember.ones(2) + 1  # no error, no event anywhere
    with profile() as prof:
        pass
    assert list(prof.events()) == []


@pytest.mark.parametrize("args", [dict(wait=1, warmup=1, active=2), dict(wait=0, warmup=2, active=1, repeat=2),
                                  dict(wait=2, warmup=1, active=3, repeat=1, skip_first=3)])
def test_schedule_matches_pytorch(args):
    torch = pytest.importorskip("torch")
    ours, theirs = schedule(**args), torch.profiler.schedule(**args)
    assert [ours(i).name for i in range(20)] == [theirs(i).name for i in range(20)]


def test_schedule_records_only_the_active_steps(tmp_path):
    x, w = ember.randn(4, 4), ember.randn(4, 4)
    saved = []
    with profile(schedule=schedule(wait=1, warmup=1, active=2), on_trace_ready=lambda p: saved.append(
            sum(a.count for a in p.key_averages() if a.key == "cpu::matmul"))) as prof:
        for _ in range(4):
            _step(x, w)
            prof.step()
    assert saved == [2] and ProfilerAction.RECORD_AND_SAVE.name == "RECORD_AND_SAVE"


def test_table_has_pytorchs_columns():
    torch = pytest.importorskip("torch")
    with profile() as prof:
        ember.ones(3) * 2
    with torch.profiler.profile() as tprof:
        torch.ones(3) * 2
    ours = prof.key_averages().table().splitlines()[1].split()
    theirs = tprof.key_averages().table().splitlines()[1].split()
    assert ours == [c for c in theirs if c in ours] and ours[:3] == ["Name", "Self", "CPU"]
    assert prof.key_averages().table().strip().splitlines()[-1].startswith("Self CPU time total:")


def test_chrome_trace_and_tensorboard_handler(tmp_path):
    from ember.profiler import tensorboard_trace_handler

    with profile(on_trace_ready=tensorboard_trace_handler(str(tmp_path), worker_name="w0")) as prof:
        with record_function("block"):
            ember.ones(3) + 1
    files = list(tmp_path.glob("w0.*.pt.trace.json"))
    assert len(files) == 1
    trace = json.loads(files[0].read_text())
    names = {e["name"] for e in trace["traceEvents"]}
    assert {"block", "cpu::add"} <= names and all(e["ph"] == "X" for e in trace["traceEvents"])
    prof.export_chrome_trace(str(tmp_path / "t.json.gz"))
    assert (tmp_path / "t.json.gz").stat().st_size > 0


def test_device_activity_waits_for_device_kernels(device):
    if device == "cpu":
        pytest.skip("cpu kernels are synchronous")
    x = ember.randn(64, 64, device=device)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.OPENCL]) as prof:
        (x @ x).sum().item()
    assert any(a.key == f"{device}::matmul" for a in prof.key_averages())


def test_legacy_autograd_profiler():
    from ember.autograd import profiler

    with profiler.profile(record_shapes=True) as prof:
        ember.ones(2, 2) @ ember.ones(2, 2)
    assert any(a.key == "cpu::matmul" for a in prof.key_averages())
    with profiler.profile(enabled=False) as off:
        ember.ones(2) + 1
    assert list(off.events()) == []


def test_counts_copies_and_cpu_fallbacks(device):
    """The profile reports host<->device copies and CPU fallbacks (here ``cumsum``, a required kernel
    taken out of the device's kernel table for the test, runs on the CPU under the permissive
    fallback policy)."""
    from ember import dispatch

    x = ember.arange(1.0, 7.0, device=device)
    tbl = dispatch.table(device)
    native_cumsum = tbl.pop("cumsum") if device != "cpu" else None
    try:
        with ember.fallback_policy("allow"), profile() as prof:
            y = ember.tensor([1.0, 2.0], device=device)  # one copy to the device
            y.cpu()                                        # one copy back
            got = x.cumsum(0)
    finally:
        if native_cumsum is not None:
            tbl["cumsum"] = native_cumsum
    assert got.cpu().tolist() == [1.0, 3.0, 6.0, 10.0, 15.0, 21.0]
    if device == "cpu":
        assert prof.transfers() == {} and prof.fallbacks == {}
    else:
        assert prof.transfers().get(f"{device}::from_host", 0) >= 1
        assert prof.transfers().get(f"{device}::to_host", 0) >= 1
        assert prof.fallbacks == {(device, "cumsum"): 1}
    assert "host<->device copies" in prof.summary() and "CPU fallbacks" in prof.summary()
