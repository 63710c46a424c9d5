"""PyTorch's legacy ``common_nn`` test tables, run against ember's ``nn``: every entry of
``module_tests``, ``get_new_module_tests()`` and ``criterion_tests`` (``torch.testing._internal.
common_nn``: padding modes, dilations, groups, reductions, class weights, ``ignore_index``,
unbatched inputs, the functional losses) builds PyTorch's module and ember's, copies PyTorch's
parameters and buffers into ember's, and compares the outputs in float32 and float64, the buffers
after the forward and, in float64, the gradients of the outputs' sum with respect to the inputs,
the parameters and a differentiable target, on every device. The runner is
``scripts/nn_tests_suite.py`` (docs/parity.md); entries that draw random numbers are left out and
deliberate gaps are listed in its ``KNOWN``.
"""

from __future__ import annotations

import pytest
from script_suites import load_script

torch = pytest.importorskip("torch")

suite = load_script("nn_tests_suite")
_NAMES = [name for name, _, _ in suite.entries()]


@pytest.mark.parametrize("name", _NAMES)
def test_common_nn_entry_matches_pytorch(device, name):
    rows = suite.run({name}, [torch.float32, torch.float64], verbose=False, device=device)
    if any(r["status"] == "missing" for r in rows):
        pytest.skip(rows[0].get("detail", "missing"))
    if any(r["status"] == "known" for r in rows):
        pytest.skip(suite.KNOWN[name])
    bad = [r for r in rows if r["status"] in ("differs", "ember-raises")]
    assert not bad, "\n".join(f"{r['dtype']}: {r['status']}: {r['detail']}" for r in bad)
    if all(r["status"] == "skipped" for r in rows):
        pytest.skip(rows[0].get("detail", "skipped"))
