"""The conformance suite's own tests: it passes the CPU backend, reports the toy backend's
fallbacks, and catches deliberately broken kernels (wrong sign, missing broadcast, wrong gradient).
tests/conformance/test_truthful_report.py covers the labels, the ranking, the transfer check and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import ember
import pytest
from ember_conformance.report import failed, run

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOY_SRC = ROOT / "examples" / "third_party_backend"


def _rows(report, outcome=None, **match):
    return [r for r in report["rows"] if (outcome is None or r["outcome"] == outcome)
            and all(r[k] == v for k, v in match.items())]


@pytest.fixture
def broken():
    from broken_backend import BrokenPlugin

    plugin = BrokenPlugin()
    ember.plugins.register(plugin)
    try:
        yield "broken"
    finally:
        ember.plugins.unregister(plugin)


@pytest.fixture
def toy():
    sys.path.insert(0, str(TOY_SRC))
    import ember_toy.plugin as plugin

    ember.plugins.register(plugin)
    try:
        yield "toy"
    finally:
        ember.plugins.unregister(plugin)
        sys.path.remove(str(TOY_SRC))


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def test_cpu_backend_passes_levels_0_to_3_fully():
    report = run("cpu", levels=[0, 1, 2, 3])
    bad = failed(report, strict=True)
    assert not bad, "\n".join(f"{r['level']} {r['op']} {r['dtype']}: {r['detail']}" for r in bad[:20])
    assert report["summary"]["native"] > 1000


def test_cpu_backend_passes_levels_4_to_7():
    report = run("cpu", levels=[4, 5, 6, 7])
    assert not failed(report, strict=True), failed(report)


def _opencl_unavailable() -> str | None:
    backend = ember.plugins.backend("opencl")
    if backend is None:
        return "the opencl backend is not installed (pip install 'ember[opencl]')"
    try:
        if backend.is_available():
            return None
        return f"no OpenCL device: {backend.unavailable_reason()}"
    except Exception as exc:  # a broken ICD
        return f"no OpenCL device: {exc}"


def test_opencl_backend_passes_the_suite():
    """Every level on opencl:0 (PoCL in CI): no failure and no CPU fallback. One in-process run:
    the cost is mostly building OpenCL programs, which this worker's other tests already built."""
    why = _opencl_unavailable()
    if why:
        pytest.skip(why)
    report = run("opencl")
    bad = failed(report, strict=True)
    assert not bad, "\n".join(f"{r['level']} {r['op']} {r['dtype']}: {r['outcome']} {r['detail']}" for r in bad[:20])
    assert report["summary"]["native"] > 1000
    # only float16 (PoCL lacks cl_khr_fp16), float64 (devices without cl_khr_fp64) and the complex
    # dtypes (the OpenCL backend declares none: the fft kernels' rows) may be unsupported
    assert {r["dtype"] for r in _rows(report, "unsupported")} <= {"float16", "float64", "complex64", "complex128"}


def test_broken_kernels_are_caught(broken):
    report = run(broken, levels=[1, 2, 3], pattern="sub,add,softmax,conv2d_backward")
    # wrong sign
    assert _rows(report, "failing", level=1, op="sub", dtype="float32")
    assert _rows(report, "failing", level=2, op="sub", dtype="int64")
    # missing broadcast: the kernel row and the op row fail, naming the broadcast sample
    add_rows = _rows(report, "failing", level=1, op="add", dtype="float32")
    assert add_rows and "broadcast" in add_rows[0]["detail"]
    # wrong gradient: softmax's backward disagrees with float64 finite differences
    assert _rows(report, "failing", level=3, op="softmax", dtype="float32", direction="backward")
    if ember.dispatch.table("broken").has("conv2d_backward"):
        assert _rows(report, "failing", level=1, op="conv2d_backward", dtype="float64")
    # correct kernels on the same backend still pass
    clean = run(broken, levels=[1, 3], pattern="kernels/mul/,gradients/exp/")
    assert clean["rows"] and not failed(clean)


def test_unsupported_declarations(broken):
    be = ember.plugins.backend("broken")
    be.unsupported = {"sub": "subtraction is declared unsupported", "mul": "declared, but works"}
    try:
        report = run(broken, levels=[1], pattern="kernels/sub/float32,kernels/mul/float32")
    finally:
        be.unsupported = {}
    (sub,) = _rows(report, op="sub")
    (mul,) = _rows(report, op="mul")
    assert sub["outcome"] == "unsupported" and "declared unsupported" in sub["detail"]
    assert mul["outcome"] == "unsupported-but-passes"


def test_toy_backend_reports_fallbacks_and_no_failures(toy):
    report = run(toy, levels=[1, 2, 3, 7])
    assert not failed(report)
    assert _rows(report, "native", level=1, op="add", dtype="float32")
    assert _rows(report, "via fallback", level=1, op="matmul", dtype="float32", fallbacks=["matmul"])
    assert _rows(report, "via fallback", level=2, op="matmul", dtype="float32")
    assert _rows(report, "unsupported", level=2, op="sort")  # declared in ToyBackend.unsupported
    assert _rows(report, "unsupported", level=1, op="exp", dtype="float16")  # no float16 on the toy device
    assert failed(report, strict=True)  # --strict turns 'via fallback' rows into failures


def _fake_install(tmp_path: Path, name: str, module: str) -> dict:
    """A dist-info with one ``ember.backends`` entry point, so a subprocess finds the plugin
    without installing anything into the shared environment."""
    info = tmp_path / f"ember_{name}_backend-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: ember-{name}-backend\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[ember.backends]\n{name} = {module}\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(TOY_SRC), str(HERE), env.get("PYTHONPATH", "")])
    return env


def _cli(args, env):
    return subprocess.run([sys.executable, "-m", "ember_conformance", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_exits_nonzero_on_broken_backend(tmp_path):
    env = _fake_install(tmp_path, "broken", "broken_backend")
    out = tmp_path / "broken.json"
    proc = _cli(["--backend", "broken", "--level", "1", "-k", "kernels/sub,kernels/add", "--report", str(out)], env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL" in proc.stdout
    report = json.loads(out.read_text())
    assert report["backend"] == "broken" and report["package"] == "ember-broken-backend"
    assert {"level", "op", "dtype", "direction", "outcome", "detail"} <= set(report["rows"][0])


def test_cli_on_toy_backend_is_green_with_fallbacks(tmp_path):
    env = _fake_install(tmp_path, "toy", "ember_toy.plugin")
    out = tmp_path / "toy.json"
    proc = _cli(["--backend", "toy", "--device", "toy:1", "--level", "1,2", "-k", "add,matmul",
                 "--report", str(out)], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["device"] == "toy:1"
    assert report["summary"].get("via fallback", 0) > 0
    strict = _cli(["--backend", "toy", "--level", "1", "-k", "kernels/matmul", "--strict"], env)
    assert strict.returncode == 1


def test_pytest_plugin_collects_the_suite(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "ember_conformance", "--ember-backend", "cpu",
                           "--ember-level", "1", "-k", "float32 and exp and not expm1", "-q", "-p", "no:cacheprovider"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0 and " passed" in proc.stdout, proc.stdout + proc.stderr


def test_kernel_contract_doc_is_current():
    from ember.kernels import KERNELS
    from ember_conformance.contract import render_contract

    text = render_contract()
    for name in KERNELS:
        assert f"| `{name}` |" in text
    doc = ROOT / "docs" / "kernel-contract.md"
    assert doc.read_text() == text, "regenerate: ember-conformance --write-contract docs/kernel-contract.md"
