"""PyTorch's own OptimizerInfo database, run against ember's optimizers: for every optimizer PyTorch
describes (``torch.testing._internal.common_optimizers.optim_db``), each constructor configuration
its tests use (with every supported ``foreach``/``fused``/``differentiable`` flag switched on in
turn) builds the same parameters and optimizer in PyTorch and ember, feeds both the same gradients
for a few steps (LBFGS: a closure on a fixed quadratic; SparseAdam: sparse gradients), and compares
the parameters after each step, the ``state_dict()``, and an ember optimizer that loads PyTorch's
state dict half way; each of PyTorch's error inputs must raise (or warn) with PyTorch's type and a
message matching its regex. The LR schedulers get 30 epochs each against PyTorch's. The runner is
``scripts/optiminfo_suite.py`` (docs/parity.md).

What ember knowingly does differently is listed in ``KNOWN_FLAGS`` with the reason: those rows
xfail while they differ (and everything else about the optimizer must still agree).
"""

from __future__ import annotations

import pytest
from script_suites import load_script

torch = pytest.importorskip("torch")

suite = load_script("optiminfo_suite")
_NAMES = sorted(oi.name for oi in suite.optim_db)

#: a constructor flag set to True -> why ember's rows with it differ
KNOWN_FLAGS = {
    "differentiable": "differentiable=True: ember's optimizers update through backend kernels outside autograd, "
                      "so the constructor refuses the flag (NotImplementedError); PyTorch's step with leaf "
                      "parameters raises at the step instead",
}


def _known(row: dict) -> str | None:
    return next((why for flag, why in KNOWN_FLAGS.items() if f"{flag}=True" in row.get("kwargs", "")), None)


_ROWS: dict[tuple[str, str], list[dict]] = {}


def _rows(name: str, device: str) -> list[dict]:
    """The suite's rows for one optimizer on one device (run once, shared by the two tests below)."""
    if (name, device) not in _ROWS:
        dtypes = [torch.float32, torch.float64]
        if device == "cpu":
            dtypes.append(torch.complex64)  # (optimizers with supports_complex; the OpenCL backend has none)
        if name == "LBFGS":
            # its 20 iterations a step are hundreds of tiny ops each (40 s on PoCL for two dtypes);
            # float64 is the dtype compared in full (float32 only to 1e-3, see the runner)
            dtypes.remove(torch.float32)
        _ROWS[name, device] = suite.run({name}, dtypes, verbose=False, device=device,
                                        errors=device == "cpu")  # (error inputs test the frontend: once)
    return _ROWS[name, device]


def _bad(name: str, device: str) -> list[dict]:
    rows = _rows(name, device)
    if any(r["status"] == "missing" for r in rows):
        pytest.skip(f"ember has no optim.{name}")
    return [r for r in rows if r["status"] in ("differs", "ember-raises")]


def test_every_optim_db_optimizer_exists():
    """No row may skip as missing: every optimizer PyTorch describes (Adafactor and Muon included,
    since 2.13's ``torch.optim`` has them) exists in ``ember.optim``."""
    import ember.optim

    assert [n for n in _NAMES if not hasattr(ember.optim, n)] == []


@pytest.mark.parametrize("name", _NAMES)
def test_optiminfo_inputs_match_pytorch(device, name):
    unexplained = [r for r in _bad(name, device) if not _known(r)]
    assert not unexplained, "\n".join(f"{r['dtype']} {r['input']} ({r['desc']}): {r['status']}: {r['detail']} "
                                      f"[{r.get('kwargs', '')}]" for r in unexplained[:5])


@pytest.mark.parametrize("name", _NAMES)
def test_optiminfo_known_flags(device, name):
    """The configurations ember knowingly answers differently (``KNOWN_FLAGS``): xfail while they differ."""
    known = [r for r in _bad(name, device) if _known(r)]
    if known:
        pytest.xfail(_known(known[0]))


_SCHEDULERS = [desc for desc, _, _ in suite._scheduler_configs()]


@pytest.mark.parametrize("desc", _SCHEDULERS)
def test_lr_scheduler_matches_pytorch(desc):
    rows = [r for r in suite.run_schedulers({desc}, verbose=False) if r["scheduler"] == desc]
    assert [r["status"] for r in rows] == ["ok"], rows
