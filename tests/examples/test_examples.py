"""Run every tutorial script in examples/ with ``--quick`` and check what it prints.

Each script runs in a fresh interpreter (as a user would run it) once per available device (the
``device`` fixture of tests/conftest.py). On a non-CPU device the script runs with fallback policy
``error``, so a kernel that silently fell back to the CPU fails the test. The checks are about learning, not about exact numbers: the loss goes
down, the accuracy beats chance, the learned parameters land near the ones that generated the data.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Runs the script as __main__ after setting the fallback policy, so a device run can't quietly use the CPU.
_LAUNCH = (
    "import runpy, sys, ember; "
    "_, policy, *sys.argv = sys.argv; "  # argv was ['-c', policy, script, args...]
    "ember.set_fallback_policy(policy); "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def run_example(name: str, device: str, cwd: Path, *extra: str, timeout: float = 180) -> str:
    """Run ``examples/<name>`` with ``--quick --device <device>``; return its stdout, failing on a non-zero exit."""
    policy = "allow" if device == "cpu" else "error"
    cmd = [sys.executable, "-c", _LAUNCH, policy, str(EXAMPLES / name), "--quick", "--device", device, *extra]
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{name} --device {device} exited with {proc.returncode}\n"
        f"--- stdout (tail) ---\n{proc.stdout[-3000:]}\n--- stderr (tail) ---\n{proc.stderr[-5000:]}"
    )
    return proc.stdout


def floats(pattern: str, text: str) -> list[float]:
    """All the numbers captured by ``pattern``'s first group, in order."""
    return [float(m) for m in re.findall(pattern, text)]


def test_tensor_basics(device, tmp_path):
    out = run_example("tensor_basics.py", device, tmp_path)
    assert "tensor basics: all checks passed" in out
    assert f"arange on {device}" in out


def test_custom_autograd(device, tmp_path):
    out = run_example("custom_autograd.py", device, tmp_path)
    (first, final), = re.findall(r"first loss ([\d.]+)\s+final loss ([\d.]+)", out)
    assert float(final) < 0.5 * float(first), out
    assert "gradcheck(LegendrePolynomial3): True" in out
    # The fit moves b and d toward the tutorial's answer (b ~ -2.2, d ~ 0.26 after 2000 steps).
    b, d = floats(r"Result: y = \S+ \+ (-?[\d.]+) \*", out)[0], floats(r"P3\(\S+ \+ (-?[\d.]+) x\)", out)[0]
    assert b < -1.0 and 0.2 < d < 0.3, out


def test_regression(device, tmp_path):
    out = run_example("regression.py", device, tmp_path)
    for name in ("linear", "logistic", "mlp"):
        (first, final), = re.findall(rf"\[{name}\] first loss ([\d.]+)\s+final loss ([\d.]+)", out)
        assert float(final) < 0.5 * float(first), f"{name} did not learn:\n{out}"
    (w, b), = re.findall(r"\[linear\] learned y = (-?[\d.]+) x \+ (-?[\d.]+)", out)
    assert abs(float(w) - 2.0) < 0.1 and abs(float(b) + 3.0) < 0.1, out
    assert floats(r"\[logistic\] accuracy ([\d.]+)%", out)[0] > 85.0, out
    (lo, mid, hi), = re.findall(r"f\(-pi/2\) = (-?[\d.]+)\s+f\(0\) = (-?[\d.]+)\s+f\(pi/2\) = (-?[\d.]+)", out)
    assert float(lo) < -0.5 and abs(float(mid)) < 0.3 and float(hi) > 0.5, out


def test_fashion_mnist(device, tmp_path):
    out = run_example("fashion_mnist.py", device, tmp_path)
    assert "Shape of X [N, C, H, W]: ember.Size([64, 1, 28, 28])" in out, out
    accuracies = floats(r"Accuracy: ([\d.]+)%", out)
    test_losses = floats(r"Avg loss: ([\d.]+)", out)
    assert len(accuracies) == len(test_losses) == 3, out  # two epochs, then the reloaded model
    # SGD(lr=1e-3) as in the tutorial moves slowly, but the test loss must go down every epoch.
    assert test_losses[1] < test_losses[0], out
    # The state_dict saved with ember.save and loaded into a new model predicts identically.
    assert accuracies[2] == accuracies[1] and test_losses[2] == test_losses[1], out
    assert (tmp_path / "model.pth").is_file()
    assert re.search(r'Predicted: "[^"]+", Actual: "[^"]+"', out), out


def test_lstm_sentiment(device, tmp_path):
    out = run_example("lstm_sentiment.py", device, tmp_path)
    before = floats(r"Before training: test acc ([\d.]+)%", out)[0]
    final = floats(r"Final test accuracy: ([\d.]+)%", out)[0]
    assert final > 70.0 and final > before, out
    losses = floats(r"train loss ([\d.]+)", out)
    assert losses[-1] < losses[0], out


def test_mnist_cnn(device, tmp_path):
    out = run_example("mnist_cnn.py", device, tmp_path)
    losses = floats(r"\] loss: ([\d.]+)", out)
    assert len(losses) >= 2 and losses[-1] < losses[0], out
    accuracy = floats(r"Accuracy of the network on the \d+ test images: (\d+) %", out)[0]
    assert accuracy > 25.0, out  # chance is 10%


def test_fashion_mnist_reads_data_dir(tmp_path):
    """``--data DIR`` reads torchvision's layout, DIR/FashionMNIST/raw/*-ubyte[.gz], and uses its class names."""
    from ember.vision.datasets import SAMPLE_DIR

    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for split in ("train", "t10k"):  # stand-in files: the bundled digits under Fashion-MNIST's names
        for kind in ("images-idx3", "labels-idx1"):
            (raw / f"{split}-{kind}-ubyte.gz").symlink_to(SAMPLE_DIR / f"t10k-{kind}-ubyte.gz")
    out = run_example("fashion_mnist.py", "cpu", tmp_path, "--data", str(tmp_path / "data"), "--epochs", "1")
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")
    (predicted, actual), = re.findall(r'Predicted: "([^"]+)", Actual: "([^"]+)"', out)
    assert predicted in classes and actual in classes, out
