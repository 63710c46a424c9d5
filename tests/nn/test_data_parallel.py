"""Issue #14: ``ember.nn.parallel`` (``DataParallel``, ``data_parallel``) against PyTorch's results.

One device of each type is available here, so the multi-device path (replicate, scatter, gather,
gradients reaching the module's parameters) runs with device_ids naming device 0 several times,
with the device-count check patched out.
"""

from __future__ import annotations

import ember
import ember.nn.parallel as P
import numpy as np
import pytest
from ember import nn

torch = pytest.importorskip("torch")


def _nets(device):
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    enet = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    enet.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tnet.state_dict().items()})
    return enet.to(device), tnet


def _x(n=7):
    return np.random.default_rng(1).standard_normal((n, 3)).astype(np.float32)


def _check_grads(enet, tnet):
    for (name, ep), (_, tp) in zip(enet.named_parameters(), tnet.named_parameters()):
        np.testing.assert_allclose(ep.grad.cpu().numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


def test_single_device_matches_module(device):
    enet, tnet = _nets(device)
    dp = nn.DataParallel(enet) if device != "cpu" else nn.DataParallel(enet, device_ids=[0])
    out = dp(ember.tensor(_x(), device=device))
    tout = torch.nn.DataParallel(tnet)(torch.tensor(_x()))  # no GPU here: torch runs the module itself
    np.testing.assert_allclose(out.detach().cpu().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    tout.sum().backward()
    _check_grads(enet, tnet)
    assert dp.module is enet and "module.0.weight" in dp.state_dict()


def test_cpu_module_runs_as_is():
    enet, tnet = _nets("cpu")
    dp = nn.DataParallel(enet)
    assert dp.device_ids == [] == torch.nn.DataParallel(tnet).device_ids
    np.testing.assert_allclose(dp(ember.tensor(_x())).detach().numpy(),
                               tnet(torch.tensor(_x())).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [7, 2])
def test_multi_device_split_and_gradients(device, monkeypatch, n):
    monkeypatch.setattr(P, "_check_ids", lambda kind, ids: None)
    enet, tnet = _nets(device)
    dp = nn.DataParallel(enet, device_ids=[0, 0, 0])
    calls = []
    enet.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    out = dp(ember.tensor(_x(n), device=device))
    tout = tnet(torch.tensor(_x(n)))
    assert calls == [len(c) for c in torch.tensor(_x(n)).chunk(3)]  # one replica per chunk (fewer for a short batch)
    np.testing.assert_allclose(out.detach().cpu().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert out.device.type == device
    (out ** 2).sum().backward()
    (tout ** 2).sum().backward()
    _check_grads(enet, tnet)


def test_scatter_gather_structures(device, monkeypatch):
    monkeypatch.setattr(P, "_check_ids", lambda kind, ids: None)

    class Two(nn.Module):
        def forward(self, x, extra, scale=1.0):
            return {"a": x * scale, "b": (extra["y"] + 1, x.sum())}

    x = ember.arange(12.0, device=device).reshape(6, 2)
    out = P.data_parallel(Two(), (x, {"y": x[:, :1]}), device_ids=[0, 0], module_kwargs={"scale": 2.0})
    np.testing.assert_array_equal(out["a"].cpu().numpy(), (x * 2).cpu().numpy())
    np.testing.assert_array_equal(out["b"][0].cpu().numpy(), (x[:, :1] + 1).cpu().numpy())
    assert tuple(out["b"][1].shape) == (2,)  # scalars gathered into one element per replica, as PyTorch
    np.testing.assert_array_equal(out["b"][1].cpu().numpy(), [x[:3].sum().item(), x[3:].sum().item()])
    dp = nn.DataParallel(Two(), device_ids=[f"{device}:0", f"{device}:0"], output_device=-1)
    assert dp(x, {"y": x}, scale=3.0)["a"].device.type == "cpu"


def test_bad_device_ids(device):
    enet, _ = _nets(device)
    with pytest.raises(AssertionError, match="Invalid device id"):
        nn.DataParallel(enet, device_ids=[0, 7] if device != "cpu" else [1])
    with pytest.raises(AssertionError, match="Invalid device id"):
        P.data_parallel(enet, ember.ones(2, 3, device=device), device_ids=[5])


def test_module_on_wrong_device(monkeypatch):
    if not ember.opencl.is_available():
        pytest.skip("needs a second device type")
    monkeypatch.setattr(P, "_check_ids", lambda kind, ids: None)
    enet, _ = _nets("cpu")
    dp = nn.DataParallel(enet.to("opencl"), device_ids=[0, 0])
    enet.to("cpu")
    with pytest.raises(RuntimeError, match=r"module must have its parameters and buffers on device opencl:0"):
        dp(ember.ones(2, 3))
