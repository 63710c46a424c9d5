"""PyTorch's own ModuleInfo database, run against ember's ``nn`` modules: for every module class
PyTorch describes (``torch.testing._internal.common_modules.module_db``), each of its constructor and
forward inputs builds the PyTorch module and ember's, copies PyTorch's parameters and buffers into
ember's, and compares the outputs, the buffers after the forward (running statistics) and, in
float64, the gradients of the outputs' sum with respect to the inputs and every parameter, in
training and eval mode, on every device. The runner is ``scripts/moduleinfo_suite.py``
(docs/parity.md); modules that draw random numbers (dropout, fractional pooling) are left out.
"""

from __future__ import annotations

import pytest
from script_suites import load_script

torch = pytest.importorskip("torch")

suite = load_script("moduleinfo_suite")
_NAMES = sorted({mi.module_cls.__name__ for mi in suite.module_db})


@pytest.mark.parametrize("name", _NAMES)
def test_moduleinfo_inputs_match_pytorch(device, name):
    rows = suite.run({name}, [torch.float32, torch.float64], max_inputs=16, verbose=False, device=device)
    if any(r["status"] == "missing" for r in rows):
        pytest.skip(f"ember has no nn.{name}")
    bad = [r for r in rows if r["status"] in ("differs", "ember-raises")]
    assert not bad, "\n".join(f"{r['dtype']} training={r['training']} input {r['input']}: {r['status']}: "
                              f"{r['detail']} ({r.get('ctor', '')})" for r in bad[:5])
