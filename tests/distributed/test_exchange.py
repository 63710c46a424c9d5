"""all_to_all, batched point to point, object collectives and subgroup helpers in a world of one,
next to PyTorch's gloo in the same process (a file store: no port): values, argument errors and
their wording. The 2-process values are checked against NumPy in ``_cases.exchange``."""

from __future__ import annotations

from datetime import timedelta

import ember
import ember.distributed as dist
import numpy as np
import pytest
from ember.distributed.run import find_mpiexec


@pytest.fixture
def worlds(tmp_path):
    """(ember.distributed, torch.distributed), both initialised as a world of one."""
    pytest.importorskip("mpi4py")
    torch = pytest.importorskip("torch")
    try:
        find_mpiexec()
    except SystemExit as e:
        pytest.skip(str(e))
    import torch.distributed as td

    td.init_process_group("gloo", init_method=f"file://{tmp_path}/store", rank=0, world_size=1)
    dist.init_process_group("gloo")
    try:
        yield dist, td, torch
    finally:
        dist.destroy_process_group()
        td.destroy_process_group()


def _both(fn_e, fn_t):
    """(exception type, message) of each, or (None, result)."""
    out = []
    for fn in (fn_e, fn_t):
        try:
            out.append((None, fn()))
        except Exception as e:  # noqa: BLE001 - the comparison is the point
            out.append((type(e), str(e)))
    return out


@pytest.mark.parametrize("case", [
    dict(out=(4,), inp=(4,), osplit=[1, 2], isplit=None),     # splits for two ranks in a world of one
    dict(out=(4,), inp=(4,), osplit=[3], isplit=None),        # splits don't sum to dim 0
    dict(out=(4,), inp=(3,), osplit=None, isplit=[2]),
    dict(out=(4,), inp=(4,), osplit=None, isplit=None, dt="float64"),
    dict(out=(2, 3), inp=(2, 3), osplit=None, isplit=None),
    dict(out=(2, 3), inp=(2, 3), osplit=[2], isplit=[2]),
    dict(out=(), inp=(), osplit=None, isplit=None),
    dict(out=(0, 2), inp=(0, 2), osplit=None, isplit=None),
])
def test_all_to_all_single_matches_torch(worlds, case):
    _, td, torch = worlds
    rng = np.random.default_rng(0)
    src = rng.standard_normal(case["inp"]).astype(np.float32)

    def run(lib, d):
        out = lib.zeros(case["out"], dtype=getattr(lib, case.get("dt", "float32")))
        d.all_to_all_single(out, lib.tensor(src), case["osplit"], case["isplit"])
        return out.numpy()

    (ee, ev), (te, tv) = _both(lambda: run(ember, dist), lambda: run(torch, td))
    assert ee == te, (ev, tv)
    if ee is None:
        np.testing.assert_array_equal(ev, tv)
    else:
        head = tv.split(" (")[0].replace("Found torch.float32 and  torch.float64", "")
        assert head.split("Found")[0] in ev, (ev, tv)


def test_all_to_all_and_p2p_errors_match_torch(worlds):
    _, td, torch = worlds
    outs_e, outs_t = [ember.zeros(2, 2)], [torch.zeros(2, 2)]
    dist.all_to_all(outs_e, [ember.ones(2, 2) * 3])
    td.all_to_all(outs_t, [torch.ones(2, 2) * 3])
    np.testing.assert_array_equal(outs_e[0].numpy(), outs_t[0].numpy())
    (ee, _), (te, _) = _both(lambda: dist.all_to_all([ember.zeros(2)], [ember.ones(2)] * 2),
                             lambda: td.all_to_all([torch.zeros(2)], [torch.ones(2)] * 2))
    assert ee is te is RuntimeError
    for e_args, t_args in [((dist.all_reduce, ember.zeros(1), 0), (td.all_reduce, torch.zeros(1), 0)),
                           ((dist.isend, [1], 0), (td.isend, [1], 0))]:
        (ee, ev), (te, tv) = _both(lambda e_args=e_args: dist.P2POp(*e_args),
                                   lambda t_args=t_args: td.P2POp(*t_args))
        assert ee is te and ev.replace("torch.", "") == tv.replace("torch.", ""), (ev, tv)
    (ee, ev), (te, tv) = _both(lambda: dist.batch_isend_irecv([1]), lambda: td.batch_isend_irecv([1]))
    assert ee is te is ValueError and ev == tv
    assert repr(dist.P2POp(dist.isend, ember.zeros(1), 0)) == repr(td.P2POp(td.isend, torch.zeros(1), 0)).replace(
        "torch.Size", "ember.Size").replace("torch.float32", "ember.float32")


def test_object_collectives_match_torch(worlds):
    _, td, torch = worlds
    obj = {"a": [1, 2.5], "b": ("x", None)}
    got_e, got_t = [None], [None]
    dist.gather_object(obj, got_e)
    td.gather_object(obj, got_t)
    assert got_e == got_t == [obj]
    out_e, out_t = [None], [None]
    dist.scatter_object_list(out_e, [obj])
    td.scatter_object_list(out_t, [obj])
    assert out_e == out_t == [obj]
    checks = [
        (lambda: dist.gather_object(1, None), lambda: td.gather_object(1, None)),
        (lambda: dist.scatter_object_list([], [1]), lambda: td.scatter_object_list([], [1])),
        (lambda: dist.send_object_list([1], dst=0), lambda: td.send_object_list([1], dst=0)),
        (lambda: dist.new_subgroups(), lambda: td.new_subgroups()) if not ember.cuda.is_available() else None,
        (lambda: dist.new_subgroups(2), lambda: td.new_subgroups(2)),
        (lambda: dist.new_subgroups(0), lambda: td.new_subgroups(0)),
        (lambda: dist.new_subgroups_by_enumeration([]), lambda: td.new_subgroups_by_enumeration([])),
    ]
    for pair in filter(None, checks):
        (ee, ev), (te, tv) = _both(*pair)
        assert ee is te is ValueError and ev == tv, (ev, tv)


def test_subgroups_barrier_and_queries_match_torch(worlds, monkeypatch):
    _, td, torch = worlds
    cur, subs = dist.new_subgroups(1)
    t_cur, t_subs = td.new_subgroups(1)
    assert len(subs) == len(t_subs) == 1 and dist.get_process_group_ranks(cur) == td.get_process_group_ranks(t_cur)
    t = ember.tensor([2.0])
    dist.all_reduce(t, group=cur)
    assert t.tolist() == [2.0]
    dist.monitored_barrier(timeout=timedelta(seconds=5))
    with pytest.warns(UserWarning, match="Please specify timeout arg as a timedelta"):
        dist.monitored_barrier(timeout=5.0)
    for op in dist.ReduceOp:
        assert dist.supports_complex(op) == td.supports_complex(getattr(td.ReduceOp, op.name))
    for name in ("gloo", "mpi", "foo"):
        assert dist.is_backend_available(name) == (name != "foo")
    assert dist.is_backend_available("nccl") == dist.is_nccl_available()
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert dist.get_node_local_rank(3) == td.get_node_local_rank(3) == 3
    (ee, ev), (te, tv) = _both(dist.get_node_local_rank, td.get_node_local_rank)
    assert ee is te is RuntimeError and ev == tv
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert dist.get_node_local_rank(0) == td.get_node_local_rank(0) == 1
