"""``ember.onnx.export``: the exported model, run by onnxruntime (an independent ONNX implementation),
gives ember's output, and PyTorch's where the same weights make the same PyTorch model.
"""

from __future__ import annotations

import io
import os

import ember
import numpy as np
import pytest
from ember import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

ATOL, RTOL = 2e-5, 1e-4


def _session(data: bytes) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # no warnings about initializers the optimiser drops
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def _export(model, args, **kw) -> tuple[ort.InferenceSession, onnx.ModelProto]:
    buf = io.BytesIO()
    proto = ember.onnx.export(model, args, buf, **kw)
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()))
    return _session(buf.getvalue()), proto


def _ember_out(model, *xs) -> np.ndarray:
    with ember.no_grad():
        out = model(*xs)
    out = out[0] if isinstance(out, tuple) else out
    return out.cpu().numpy()


def _torch_twin(model, twin):
    """The PyTorch model ``twin`` with ember ``model``'s weights (same state_dict keys), in eval mode."""
    state = {k: torch.from_numpy(v.cpu().numpy().copy()) for k, v in model.state_dict().items()}
    twin.load_state_dict(state, strict=True)
    return twin.eval()


def _torch_out(twin, *xs) -> np.ndarray:
    with torch.no_grad():
        out = twin(*[torch.from_numpy(x) for x in xs])
    return (out[0] if isinstance(out, tuple) else out).numpy()


# ---- the models of ember train ---------------------------------------------------------------------
def _torch_mlp():
    tn = torch.nn
    return tn.Sequential(tn.Flatten(), tn.Linear(784, 512), tn.ReLU(), tn.Linear(512, 512), tn.ReLU(),
                         tn.Linear(512, 10))


def _torch_lenet():
    tn = torch.nn
    return tn.Sequential(tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2), tn.Conv2d(6, 16, 5), tn.ReLU(),
                         tn.MaxPool2d(2), tn.Flatten(), tn.Linear(400, 120), tn.ReLU(), tn.Linear(120, 84), tn.ReLU(),
                         tn.Linear(84, 10))


@pytest.mark.parametrize("arch, twin", [("mlp", _torch_mlp), ("lenet", _torch_lenet)])
def test_train_models_match_ember_and_pytorch(device, arch, twin):
    from ember.cli.models import build_model

    ember.manual_seed(0)
    model = build_model(arch).to(device)
    x = ember.randn(3, 1, 28, 28, device=device)
    sess, proto = _export(model, (x,), input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    assert [i.name for i in proto.graph.input] == ["image"] and [o.name for o in proto.graph.output] == ["logits"]
    assert {i.name for i in proto.graph.initializer} >= set(model.state_dict())  # named by state_dict keys
    reference = _torch_twin(model, twin())
    for batch in (3, 5):  # 5: another batch size than the traced one
        xb = ember.randn(batch, 1, 28, 28)
        got = sess.run(None, {"image": xb.numpy()})[0]
        np.testing.assert_allclose(got, _ember_out(model, xb.to(device)), atol=ATOL, rtol=RTOL)
        np.testing.assert_allclose(got, _torch_out(reference, xb.numpy()), atol=ATOL, rtol=RTOL)


# ---- norms, activations, attention, recurrent layers ------------------------------------------------
def _cnn(ns):
    return ns.Sequential(ns.Conv2d(3, 8, 3, padding=1), ns.BatchNorm2d(8), ns.ReLU(), ns.AvgPool2d(2),
                         ns.Dropout(0.5), ns.Flatten(), ns.Linear(8 * 4 * 4, 5))


def _ln_mlp(ns):
    return ns.Sequential(ns.Linear(6, 16), ns.LayerNorm(16), ns.GELU(), ns.Linear(16, 4), ns.Softmax(dim=-1))


def test_cnn_with_batchnorm_in_eval_mode():
    ember.manual_seed(1)
    model = _cnn(nn)
    with ember.no_grad():  # non-trivial running statistics
        for _ in range(3):
            model(ember.randn(4, 3, 8, 8) * 2 + 1)
    model.train()  # export runs the model in eval mode and puts the training flags back after
    sess, _ = _export(model, ember.randn(2, 3, 8, 8), input_names=["x"], dynamic_axes={"x": [0]})
    assert model.training and model[4].training
    model.eval()
    twin = _torch_twin(model, _cnn(torch.nn))
    x = np.random.default_rng(0).standard_normal((7, 3, 8, 8), dtype=np.float32)
    got = sess.run(None, {"x": x})[0]
    np.testing.assert_allclose(got, _ember_out(model, ember.tensor(x)), atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(got, _torch_out(twin, x), atol=ATOL, rtol=RTOL)


def test_mlp_with_layernorm_gelu_softmax():
    ember.manual_seed(2)
    model = _ln_mlp(nn)
    sess, _ = _export(model, ember.randn(3, 6), input_names=["x"], dynamic_axes={"x": {0: "n"}})
    twin = _torch_twin(model, _ln_mlp(torch.nn))
    x = np.random.default_rng(1).standard_normal((9, 6), dtype=np.float32)
    got = sess.run(None, {"x": x})[0]
    np.testing.assert_allclose(got, _ember_out(model, ember.tensor(x)), atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(got, _torch_out(twin, x), atol=ATOL, rtol=RTOL)


def test_transformer_encoder_layer_with_dynamic_batch_and_sequence():
    ember.manual_seed(3)
    model = nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True).eval()
    sess, _ = _export(model, ember.randn(3, 5, 16), input_names=["src"],
                      dynamic_axes={"src": {0: "batch", 1: "seq"}})
    twin = _torch_twin(model, torch.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True))
    x = np.random.default_rng(2).standard_normal((6, 7, 16), dtype=np.float32)
    got = sess.run(None, {"src": x})[0]
    np.testing.assert_allclose(got, _ember_out(model, ember.tensor(x)), atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(got, _torch_out(twin, x), atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("cell,kw", [("LSTM", {}), ("GRU", {}), ("LSTM", {"num_layers": 2, "bidirectional": True})],
                         ids=["LSTM", "GRU", "LSTM-2-layer-bidirectional"])
def test_recurrent_layers_with_dynamic_batch(cell, kw):
    ember.manual_seed(4)
    model = getattr(nn, cell)(4, 8, batch_first=True, **kw)
    sess, _ = _export(model, ember.randn(3, 5, 4), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": [0], "y": [0]})
    twin = _torch_twin(model, getattr(torch.nn, cell)(4, 8, batch_first=True, **kw))
    x = np.random.default_rng(3).standard_normal((6, 5, 4), dtype=np.float32)  # the zero state follows the batch
    got = sess.run(["y"], {"x": x})[0]
    np.testing.assert_allclose(got, _ember_out(model, ember.tensor(x)), atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(got, _torch_out(twin, x), atol=ATOL, rtol=RTOL)


def test_embedding_and_several_outputs():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)

        def forward(self, idx, scale):
            e = self.emb(idx)
            return e * scale, e.sum(-1)

    ember.manual_seed(5)
    model = Net()
    idx, scale = ember.tensor([[1, 2, 3], [4, 5, 6]]), ember.tensor(2.0)
    sess, proto = _export(model, (idx, scale), input_names=["idx", "scale"], output_names=["scaled", "total"],
                          dynamic_axes={"idx": [0]})
    assert [o.name for o in proto.graph.output] == ["scaled", "total"]
    idx2 = np.array([[9, 0, 1], [2, 2, 2], [7, 8, 3]], dtype=np.int64)
    got = sess.run(None, {"idx": idx2, "scale": np.array(2.0, dtype=np.float32)})
    with ember.no_grad():
        want = model(ember.tensor(idx2), scale)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w.numpy(), atol=ATOL, rtol=RTOL)


class _Zoo(nn.Module):
    """Elementwise math, reductions, movement and indexing kernels in one forward."""

    def forward(self, x):
        a = ember.maximum(x.exp().log1p(), x.abs().sqrt().rsqrt().clamp(max=3.0))
        b = ember.where(x > 0, x.tanh(), x.sigmoid() - x.erf()) ** 2 - ember.minimum(x, -x)
        c = ember.cat([a.flip(1), ember.nn.functional.pad(b, (1, 1)).narrow(1, 1, b.shape[1])], dim=0)
        d = c.amax(dim=1, keepdim=True) + c.sum(0).cumsum(0) - ember.nn.functional.log_softmax(c, dim=1)
        i = c.argmax(dim=1, keepdim=True)
        e = ember.gather(c, 1, i).float() + ember.index_select(c, 1, ember.tensor([0, 2], device=x.device)).mean(1, keepdim=True)
        f = (x * 7).floor_divide(3) + ember.remainder(x * 5, 2.0) + (x >= 0.5).float() - (x != x).float()
        g = (x.sum() * 2 + x.mean()).exp() + x.amax() - x.argmax().float() + x.norm()  # 0-d
        return d.permute(1, 0).reshape(-1), e + c.std(1, keepdim=True), f.transpose(0, 1).contiguous(), g


def test_elementwise_reduction_movement_and_indexing_kernels(device):
    x = ember.randn(4, 6, device=device)
    sess, _ = _export(_Zoo(), x, input_names=["x"])
    got = sess.run(None, {"x": x.cpu().numpy()})
    with ember.no_grad():
        want = _Zoo()(x)
    for g, w in zip(got, want, strict=True):
        assert g.shape == tuple(w.shape)
        np.testing.assert_allclose(g, w.cpu().numpy(), atol=ATOL, rtol=RTOL)


class _InPlace(nn.Module):
    """In-place writes (every one ends in the copy_ kernel), into whole arrays and into views."""

    def forward(self, x):
        y = x * 1
        y.index_put_((ember.tensor([0, 2, 0], device=x.device),), ember.tensor(5.0, device=x.device),
                     accumulate=True)
        w = x * 3
        w[:, 1] = 7.0
        w[0, ::2] += x[1, ::2]
        r = nn.functional.relu(x * 2, inplace=True)
        r += 1
        return y, w, r.t()


def test_in_place_writes_into_arrays_and_views():
    x = ember.randn(3, 4)
    sess, _ = _export(_InPlace(), x, input_names=["x"])
    with ember.no_grad():
        want = _InPlace()(x)
    for g, w in zip(sess.run(None, {"x": x.numpy()}), want, strict=True):
        np.testing.assert_allclose(g, w.numpy(), atol=ATOL, rtol=RTOL)


# ---- options and errors -------------------------------------------------------------------------------
def test_export_params_false_makes_parameters_inputs_and_opset_is_honoured():
    model = nn.Linear(3, 2)
    sess, proto = _export(model, ember.randn(1, 3), export_params=False, opset_version=18, input_names=["x"])
    assert proto.opset_import[0].version == 18 and not proto.graph.initializer
    assert [i.name for i in proto.graph.input] == ["x", "weight", "bias"]
    x = np.ones((1, 3), dtype=np.float32)
    got = sess.run(None, {"x": x, "weight": model.weight.detach().numpy(), "bias": model.bias.detach().numpy()})[0]
    np.testing.assert_allclose(got, _ember_out(model, ember.tensor(x)), atol=ATOL, rtol=RTOL)
    with pytest.raises(ValueError, match="opset_version"):
        ember.onnx.export(model, ember.randn(1, 3), io.BytesIO(), opset_version=9)


class _Cumprod(nn.Module):
    def forward(self, x):
        return x.cumprod(1)


def test_an_unmapped_kernel_names_the_kernel_and_the_module(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), _Cumprod())
    with pytest.raises(ember.onnx.ExportError, match=r"'cumprod'.*_Cumprod"):
        ember.onnx.export(model, ember.randn(2, 3), tmp_path / "m.onnx")
    assert not os.listdir(tmp_path)  # no file, no temporary left behind

    class Loss(nn.Module):
        def forward(self, x):
            return nn.functional.cross_entropy(x, ember.tensor([0, 1]))

    with pytest.raises(ember.onnx.ExportError, match="'cross_entropy'.*training"):
        ember.onnx.export(Loss(), ember.randn(2, 3), io.BytesIO())


def test_a_failed_export_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"old")
    with pytest.raises(ember.onnx.ExportError):
        ember.onnx.export(nn.Sequential(_Cumprod()), ember.randn(2, 3), path)
    assert path.read_bytes() == b"old"

    def broken_replace(src, dst):  # the write fails at the last moment
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        ember.onnx.export(nn.Linear(2, 2), ember.randn(1, 2), str(path))
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.onnx"]
    monkeypatch.undo()
    ember.onnx.export(nn.Linear(2, 2), ember.randn(1, 2), path)
    onnx.checker.check_model(onnx.load(str(path)))


def test_kernel_tables_are_restored_and_is_in_onnx_export():
    tbl = ember.dispatch.table("cpu")
    before = dict(tbl)
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(ember.onnx.is_in_onnx_export())
            return x + 1

    ember.onnx.export(Probe(), ember.randn(2), io.BytesIO())
    assert seen == [True] and not ember.onnx.is_in_onnx_export()
    assert dict(tbl) == before


# ---- ember train --export-onnx ------------------------------------------------------------------------
def test_ember_train_export_onnx(tmp_path):
    import subprocess
    import sys

    from ember.cli.models import build_model

    run = [sys.executable, "-m", "ember", "train", "--device", "cpu", "--model", "mlp", "--limit", "64",
           "--batch-size", "32", "--epochs", "1", "-q"]
    res = subprocess.run([*run, "--export-onnx", "no/such/folder/m.onnx"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2 and "--export-onnx" in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run([*run, "--save", "ck.ember", "--export-onnx", "m.onnx"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    model = build_model("mlp")
    model.load_state_dict(ember.load(tmp_path / "ck.ember")["model"])
    sess = _session((tmp_path / "m.onnx").read_bytes())
    x = np.random.default_rng(4).standard_normal((5, 1, 28, 28), dtype=np.float32)
    got = sess.run(["logits"], {"input": x})[0]
    np.testing.assert_allclose(got, _ember_out(model.eval(), ember.tensor(x)), atol=ATOL, rtol=RTOL)
