"""``ember train`` as a user runs it: exit codes and one-line errors, exact resume, Ctrl-C, the plot.

Every run is a subprocess (``python -m ember train``) on a tiny subset (``--limit``), on the CPU.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import ember
import pytest

TINY = ["--device", "cpu", "--model", "mlp", "--limit", "128", "--batch-size", "32"]


def ember_cli(*args: str, cwd, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ember", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def assert_usage_error(res: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2 and exactly one line on stderr, naming what went wrong; nothing trained."""
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("ember train: error:"), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in res.stderr and "epoch 1" not in res.stdout


# ---- mistakes are reported before training, in one line, with exit 2 -------------------------------
@pytest.mark.parametrize("args, words", [
    (["--device", "foo"], ["--device", "foo"]),
    (["--device", "cpu:7"], ["--device"]),
    (["--resume", "missing.ember"], ["--resume", "missing.ember", "no such file"]),
    (["--data", "nowhere"], ["--data", "nowhere", "--download"]),
    (["--data", "."], ["no MNIST files", "--download"]),
    (["--download"], ["--download needs --data"]),
    (["--save", "no/such/folder/ck.ember"], ["--save", "does not exist"]),
    (["--plot", "no/such/folder/curves.png"], ["--plot", "does not exist"]),
    (["--plot", "curves.nope"], ["--plot", "nope"]),
    (["--epochs", "0"], ["--epochs", "positive"]),
    (["--lr", "abc"], ["--lr"]),
    (["--dataset", "FashionMNIST"], ["--data"]),
])
def test_user_errors_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys, args, words):
    # In-process (main() as the console script calls it) to keep the table fast; the subprocess
    # tests below check the same contract end to end.
    from ember.cli import main

    monkeypatch.chdir(tmp_path)
    try:
        code = main(["train", *TINY, *args])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    out, err = capsys.readouterr()
    assert_usage_error(subprocess.CompletedProcess([], code, out, err), *words)


@pytest.mark.parametrize("args, words", [
    (["--device", "foo"], ["--device", "foo"]),
    (["--resume", "missing.ember"], ["--resume", "no such file"]),
    (["--epochs", "-1"], ["--epochs"]),
])
def test_user_errors_end_to_end(tmp_path, args, words):
    assert_usage_error(ember_cli("train", *TINY, *args, cwd=tmp_path), *words)


def test_download_without_network_fails_in_one_line(tmp_path):
    # The test machines have no network; with one, the download would succeed and this is moot.
    res = ember_cli("train", *TINY, "--data", str(tmp_path / "data"), "--download", cwd=tmp_path)
    if res.returncode == 0:
        pytest.skip("the network is reachable here")
    assert_usage_error(res, "--download", "could not fetch MNIST")


def test_diverging_loss_is_one_line_and_exit_1(tmp_path):
    res = ember_cli("train", *TINY, "--epochs", "1", "--optimizer", "sgd", "--lr", "1e30", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert res.stderr.strip().splitlines() == [res.stderr.strip()] and "smaller --lr" in res.stderr


def test_resume_of_a_damaged_file_is_a_usage_error(tmp_path):
    (tmp_path / "bad.ember").write_bytes(b"not a checkpoint")
    assert_usage_error(ember_cli("train", *TINY, "--resume", "bad.ember", cwd=tmp_path), "--resume", "bad.ember")


def test_missing_matplotlib_and_tensorboard_are_reported_before_training(tmp_path):
    # A module named like the package that fails to import stands for an absent package.
    (tmp_path / "matplotlib.py").write_text("raise ImportError('hidden by the test')\n")
    (tmp_path / "tensorboard.py").write_text("raise ImportError('hidden by the test')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    for flag, value, extra in (("--plot", "c.png", "ember[plot]"), ("--log-dir", "runs", "ember[tensorboard]")):
        res = subprocess.run([sys.executable, "-m", "ember", "train", *TINY, flag, value], cwd=tmp_path,
                             capture_output=True, text=True, env=env, timeout=120)
        assert_usage_error(res, flag, extra)


def test_help_shows_every_flag_with_its_default_and_version(tmp_path):
    res = ember_cli("train", "--help", cwd=tmp_path)
    assert res.returncode == 0
    for flag in ("--model", "--epochs", "--batch-size", "--lr", "--save", "--resume", "--plot", "--log-dir",
                 "--download", "--limit", "--workers", "--seed"):
        assert flag in res.stdout
    assert "(default: lenet)" in res.stdout and "(default: 3)" in res.stdout and "(default: 64)" in res.stdout
    version = ember_cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"ember {ember.__version__}"


# ---- checkpoints --------------------------------------------------------------------------------------
def assert_same_run(a_path, b_path) -> None:
    """Two checkpoints hold bit-identical parameters, optimizer state and history."""
    a, b = ember.load(a_path), ember.load(b_path)
    assert a["epoch"] == b["epoch"]
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert ember.equal(a["model"][key], b["model"][key]), key
    for pid, st in a["optimizer"]["state"].items():
        for name, value in st.items():
            other = b["optimizer"]["state"][pid][name]
            assert ember.equal(value, other) if hasattr(value, "shape") else value == other
    assert a["history"] == b["history"]
    assert a["batch_losses"] == b["batch_losses"]


def test_resume_continues_exactly_as_an_uninterrupted_run(tmp_path):
    straight = ember_cli("train", *TINY, "--epochs", "2", "--save", "straight.ember", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    first = ember_cli("train", *TINY, "--epochs", "1", "--save", "split.ember", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    # The flags left out come from the checkpoint (model, limit, batch size, device is given).
    second = ember_cli("train", "--device", "cpu", "--resume", "split.ember", "--epochs", "2",
                       "--save", "split.ember", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "resumed from split.ember at epoch 1" in second.stdout
    assert_same_run(tmp_path / "straight.ember", tmp_path / "split.ember")
    # A checkpoint of the best model sits beside the last one.
    best = ember.load(tmp_path / "straight.best.ember")
    assert best["best_acc"] == max(h["test_acc"] for h in best["history"])


def test_checkpoint_holds_every_generator_and_the_architecture(tmp_path):
    assert ember_cli("train", *TINY, "--epochs", "1", "--save", "ck.ember", cwd=tmp_path).returncode == 0
    ck = ember.load(tmp_path / "ck.ember")
    assert {"model", "optimizer", "scheduler", "epoch", "rng", "position", "settings"} <= ck.keys()
    assert {"ember", "shuffle", "python", "numpy"} <= ck["rng"].keys()
    assert ck["settings"]["model"] == "mlp" and ck["arch"] == "mlp"
    # Resuming with the stored architecture works without --model; a contradicting --model is refused.
    res = ember_cli("train", "--device", "cpu", "--resume", "ck.ember", "--model", "lenet", "--epochs", "2",
                    cwd=tmp_path)
    assert_usage_error(res, "--model lenet", "mlp")


def test_ctrl_c_saves_a_checkpoint_exits_130_and_resume_is_exact(tmp_path):
    args = ["--device", "cpu", "--model", "lenet", "--limit", "1024", "--batch-size", "16"]
    ref = ember_cli("train", *args, "--epochs", "2", "--save", "ref.ember", cwd=tmp_path, timeout=300)
    assert ref.returncode == 0, ref.stderr
    proc = subprocess.Popen([sys.executable, "-m", "ember", "train", *args, "--epochs", "2", "--save", "int.ember"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # wait until it is inside the training loop
            if line.startswith("epoch 1:"):
                break
        deadline = time.monotonic() + 60
        while not (tmp_path / "int.ember").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # into epoch 2 (64 steps; an interrupt at the boundary is fine too)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume int.ember" in err and "Traceback" not in err
    ck = ember.load(tmp_path / "int.ember")
    assert (ck["epoch"], ck["position"]["batches_done"]) < (2, 0)
    res = ember_cli("train", "--device", "cpu", "--resume", "int.ember", "--save", "int.ember", cwd=tmp_path,
                    timeout=300)
    assert res.returncode == 0, res.stderr
    assert_same_run(tmp_path / "ref.ember", tmp_path / "int.ember")


def test_resume_from_the_middle_of_an_epoch_is_exact(tmp_path, monkeypatch):
    """A stop requested after a step (what Ctrl-C does) in epoch 2; the sampler replays the rest."""
    from ember.cli import main
    from ember.cli import train as train_cli

    monkeypatch.chdir(tmp_path)
    assert main(["train", *TINY, "--epochs", "2", "--save", "ref.ember", "-q"]) == 0

    class StopLater(train_cli._StopRequest):
        # The loop reads the flag once per step, per test batch and at each epoch's end:
        # the 8th read is the second step of epoch 2 (4 steps, 1 test batch, 1 end per epoch).
        reads = 0

        @property
        def requested(self):
            StopLater.reads += 1
            return StopLater.reads >= 8

        @requested.setter
        def requested(self, value):
            pass

    monkeypatch.setattr(train_cli, "_StopRequest", StopLater)
    assert main(["train", *TINY, "--epochs", "2", "--save", "mid.ember", "-q"]) == 130
    ck = ember.load(tmp_path / "mid.ember")
    assert ck["epoch"] == 1 and ck["position"]["batches_done"] == 2  # inside epoch 2
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--device", "cpu", "--resume", "mid.ember", "--save", "mid.ember", "-q"]) == 0
    assert_same_run(tmp_path / "ref.ember", tmp_path / "mid.ember")


# ---- output -----------------------------------------------------------------------------------------
def test_no_progress_bar_refreshes_when_stderr_is_not_a_terminal(tmp_path):
    res = ember_cli("train", *TINY, "--epochs", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""  # no tqdm refreshes in logs
    assert [ln.split(":")[0] for ln in res.stdout.splitlines() if ln.startswith("epoch ")] == ["epoch 1", "epoch 2"]
    assert "final test accuracy" in res.stdout


@pytest.mark.parametrize("name", ["curves.png", "curves.svg"])
def test_plot_is_written_in_the_format_its_name_says(tmp_path, name):
    pytest.importorskip("matplotlib")
    res = ember_cli("train", *TINY, "--epochs", "1", "--plot", name, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    data = (tmp_path / name).read_bytes()
    if name.endswith(".png"):
        assert data.startswith(b"\x89PNG")
    else:
        text = data.decode()
        assert "<svg" in text
        assert "mlp on MNIST sample" in text  # the title names model, data and device
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_plot_has_markers_integer_ticks_title_and_batch_losses(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ember.cli.plot import plot_history

    history = [{"epoch": 1, "train_loss": 1.0, "test_loss": 1.1, "test_acc": 0.5}]
    captured = {}
    real_savefig = plt.Figure.savefig

    def keep(fig, *a, **k):
        captured["fig"] = fig
        return real_savefig(fig, *a, **k)

    plt.Figure.savefig = keep
    try:
        plot_history(history, [[2.0, 1.5, 1.2, 0.9]], str(tmp_path / "p.png"), "mlp on MNIST sample, cpu")
    finally:
        plt.Figure.savefig = real_savefig
    fig = captured["fig"]
    loss_ax, acc_ax = fig.axes
    assert fig._suptitle.get_text() == "mlp on MNIST sample, cpu"
    lines = {ln.get_label(): ln for ln in loss_ax.get_lines()}
    assert lines["train (per batch)"].get_alpha() < 1 and len(lines["train (per batch)"].get_xdata()) == 4
    assert lines["train (epoch mean)"].get_marker() not in ("None", "", None)  # one epoch still shows a point
    assert acc_ax.get_lines()[0].get_marker() not in ("None", "", None)
    for ax in (loss_ax, acc_ax):
        assert all(float(t).is_integer() for t in ax.get_xticks())
    plt.close("all")


def test_python_dash_m_ember_devices(tmp_path):
    res = ember_cli("devices", cwd=tmp_path)
    assert res.returncode == 0 and "cpu" in res.stdout


def test_profile_writes_a_trace_and_logs_the_kernels(tmp_path):
    """--profile DIR: five steps after two warm-up steps, a Chrome trace in DIR (TensorBoard's naming)
    and the kernels that took the time in the log; a file where the folder should be is a usage error."""
    import json

    res = ember_cli("train", "--device", "cpu", "--model", "mlp", "--limit", "256", "--batch-size", "32",
                    "--epochs", "1", "--profile", "prof", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    traces = list((tmp_path / "prof").glob("ember-train.*.pt.trace.json"))
    assert len(traces) == 1
    events = json.loads(traces[0].read_text())["traceEvents"]
    # 3 linear layers: 3 forward products, 3 weight gradients, 2 input gradients (not the images') per step
    assert sum(e["name"] == "cpu::matmul" for e in events) == 5 * 8
    log = res.stdout + res.stderr
    assert "profile of 5 training steps" in log and "Self CPU time total" in log
    (tmp_path / "afile").write_text("x")
    assert_usage_error(ember_cli("train", "--device", "cpu", "--limit", "64", "--profile", "afile", cwd=tmp_path),
                       "--profile", "afile")


def test_compile_trains_to_the_same_numbers(tmp_path):
    """--compile: the step is captured and replayed (the log says so), and the run learns what the
    eager run learns (SGD: bitwise on the cpu, so the accuracies are equal)."""
    common = ("train", "--device", "cpu", "--model", "mlp", "--limit", "320", "--batch-size", "32", "--epochs", "1",
              "--optimizer", "sgd", "--seed", "3")
    eager = ember_cli(*common, cwd=tmp_path)
    compiled = ember_cli(*common, "--compile", cwd=tmp_path)
    assert eager.returncode == 0 and compiled.returncode == 0, compiled.stderr
    log = compiled.stdout + compiled.stderr
    import re

    replays = re.search(r"ember\.compile of the training step: captures \d+ .*replays (\d+)", log)
    assert replays and int(replays.group(1)) >= 6, log  # 10 steps: a few captures, the rest replayed

    def accuracy(res):
        return [line for line in (res.stdout + res.stderr).splitlines() if "final test accuracy" in line]

    assert accuracy(compiled) == accuracy(eager) != []
