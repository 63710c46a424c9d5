"""``ember.utils.tensorboard.SummaryWriter``: events read back with TensorBoard's own reader."""

from __future__ import annotations

import os
import subprocess
import sys

import ember
import numpy as np
import pytest

pytest.importorskip("tensorboard")
from ember.utils.tensorboard import SummaryWriter  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def read(path) -> EventAccumulator:
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_scalars_histograms_images_text_round_trip(tmp_path, device):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalar("loss", ember.tensor(1.0 / (step + 1), device=device), step)
        w.add_histogram("weights", ember.arange(100, dtype=ember.float32, device=device), 5, bins=10)
        w.add_image("digit", ember.ones(1, 4, 6, device=device) * 0.5, 7)
        w.add_images("batch", np.zeros((3, 3, 4, 4), dtype=np.uint8), 7)
        w.add_text("note", "hello **world**", 1)
    acc = read(tmp_path)
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [(0, 1.0), (1, 0.5), (2, np.float32(1 / 3))]
    hist = acc.Histograms("weights")[0]
    assert hist.step == 5
    assert (hist.histogram_value.min, hist.histogram_value.max, hist.histogram_value.num) == (0, 99, 100)
    assert sum(hist.histogram_value.bucket) == 100
    np.testing.assert_allclose(hist.histogram_value.sum, 4950)
    image = acc.Images("digit")[0]
    assert (image.step, image.width, image.height) == (7, 6, 4)
    assert image.encoded_image_string.startswith(b"\x89PNG")
    assert acc.Images("batch")[0].width > 4  # a grid of three
    text = acc.Tensors("note/text_summary")[0]
    assert text.step == 1 and text.tensor_proto.string_val == [b"hello **world**"]


def test_add_scalars_and_add_hparams_write_sub_runs(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalars("acc", {"train": 0.9, "test": 0.8}, 3)
        w.add_hparams({"lr": 0.01, "optimizer": "adam", "nesterov": True}, {"hparam/accuracy": 0.8},
                      run_name="hp")
    assert read(tmp_path / "acc_train").Scalars("acc")[0].value == pytest.approx(0.9)
    assert read(tmp_path / "acc_test").Scalars("acc")[0].step == 3
    hp = read(tmp_path / "hp")
    assert hp.Scalars("hparam/accuracy")[0].value == pytest.approx(0.8)
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = hp.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    start = data.session_start_info.hparams
    assert start["lr"].number_value == 0.01 and start["optimizer"].string_value == "adam"
    assert start["nesterov"].bool_value is True


def test_flush_close_reopen_and_add_graph(tmp_path):
    w = SummaryWriter(tmp_path, flush_secs=1000)
    w.add_scalar("x", 1.0, 0)
    w.flush()
    assert read(tmp_path).Scalars("x")[0].value == 1.0
    w.close()
    w.close()  # a second close does nothing, as in PyTorch
    w.add_scalar("x", 2.0, 1)  # reopens a new event file
    w.close()
    assert [e.value for e in read(tmp_path).Scalars("x")] == [1.0, 2.0]
    with pytest.raises(NotImplementedError, match="add_graph"):
        SummaryWriter(tmp_path).add_graph(ember.nn.Linear(2, 2))


def test_missing_tensorboard_is_a_clear_import_error(tmp_path):
    (tmp_path / "tensorboard.py").write_text("raise ImportError('hidden by the test')\n")
    code = ("from ember.utils.tensorboard import SummaryWriter\n"
            "try:\n    SummaryWriter('runs')\nexcept ImportError as e:\n    print(e)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                         timeout=120)
    assert "pip install 'ember[tensorboard]'" in res.stdout, res.stderr


def test_ember_train_log_dir(tmp_path):
    res = subprocess.run([sys.executable, "-m", "ember", "train", "--device", "cpu", "--model", "mlp", "--limit",
                          "64", "--batch-size", "32", "--epochs", "2", "--log-dir", "runs"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    acc = read(tmp_path / "runs")
    tags = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/throughput_img_s", "epoch/train_loss", "epoch/test_loss",
            "epoch/test_acc", "epoch/lr", "epoch/throughput_img_s"} <= tags
    assert [e.step for e in acc.Scalars("train/loss")] == [1, 2, 3, 4]  # 2 steps per epoch
    assert [e.step for e in acc.Scalars("epoch/test_acc")] == [1, 2]
    assert acc.Scalars("train/lr")[0].value == pytest.approx(1e-3)
    assert all(e.value > 0 for e in acc.Scalars("epoch/throughput_img_s"))
