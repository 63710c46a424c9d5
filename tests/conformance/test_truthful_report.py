"""Issue #15 item 5: a conformance report that tells the truth.

Each symptom the issue found, checked on variants of the toy backend (examples/third_party_backend):

* a missing kernel no longer hides a wrong one: rows run with CPU fallbacks allowed and are
  checked all the same, labelled ``native``, ``via fallback`` or ``failing``;
* the kernels that fell back are ranked by how many rows each would turn native;
* a broken ``from_host``/``to_host`` is named as such (first), not blamed on 30 unrelated kernels;
* a view kernel returning a copy is caught at the kernel, naming it;
* the CLI exits non-zero when a declared-supported row fails (only then), prints "all N rows
  passed" instead of an empty table, has ``--json``, and shows a plugin's import error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import ember
import numpy as np
import pytest
from ember_conformance.report import failed, next_kernels, run
from ember_conformance.suite import TRANSFER_OP, VIEW_KERNELS

HERE = Path(__file__).resolve().parent
TOY_SRC = HERE.parents[1] / "examples" / "third_party_backend"
if str(TOY_SRC) not in sys.path:
    sys.path.insert(0, str(TOY_SRC))

from ember_toy.array import ToyArray  # noqa: E402
from ember_toy.kernels import KERNELS as TOY_KERNELS  # noqa: E402
from ember_toy.plugin import ToyBackend  # noqa: E402


def variant(dev_type: str, edit=lambda k: k, unsupported: dict | None = None):
    """A plugin for ``dev_type``: the toy device's kernels changed by ``edit``."""
    backend = type(f"{dev_type}Backend", (ToyBackend,), {"device_type": dev_type, "unsupported": unsupported or {}})()

    class Plugin:
        @ember.hookspecs.hookimpl
        def ember_backend(self):
            return backend

        @ember.hookspecs.hookimpl
        def ember_kernels(self, device_type):
            return edit(dict(TOY_KERNELS)) if device_type == dev_type else None

    return Plugin()


def wrong_exp(k: dict) -> dict:
    """exp off by 0.05 (an offset: a factor would cancel out of softmax)."""
    k["exp"] = lambda x: ToyArray((np.exp(x.data) + 0.05).astype(x.data.dtype), x.index)
    return k


def lossy_to_host(k: dict) -> dict:
    """to_host that drops the last element's value (reads it as 0)."""
    def to_host(x):
        out = np.array(x.data, copy=True)
        if out.size:
            out.reshape(-1)[-1] = 0
        return out
    k["to_host"] = to_host
    return k


def copying_views(k: dict) -> dict:
    """View kernels that return copies: writes through them are lost."""
    def copying(fn):
        return lambda *a: ToyArray(np.array(fn(*a).data, copy=True), a[0].index)
    return {n: copying(f) if n in VIEW_KERNELS and n in k else f for n, f in k.items()}


@pytest.fixture
def registered():
    done = []

    def register(plugin):
        ember.plugins.register(plugin)
        done.append(plugin)
        return plugin

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield register
    for plugin in done:
        ember.plugins.unregister(plugin)


def _rows(report, outcome=None, **match):
    return [r for r in report["rows"] if (outcome is None or r["outcome"] == outcome)
            and all(r[k] == v for k, v in match.items())]


# ---- labels -------------------------------------------------------------------------------------
def test_rows_are_native_via_fallback_or_failing(registered):
    registered(variant("lbl"))
    report = run("lbl", levels=[1, 2, 3], pattern="/add/,/matmul/")
    (add,) = _rows(report, level=1, op="add", dtype="float32")
    assert add["outcome"] == "native" and add["fallbacks"] == []
    (mm,) = _rows(report, level=1, op="matmul", dtype="float32")
    assert mm["outcome"] == "via fallback" and mm["fallbacks"] == ["matmul"] and "ran on the CPU: matmul" in mm["detail"]
    # the gradient of matmul is checked against finite differences, through the fallback
    (grad,) = _rows(report, level=3, op="matmul", dtype="float64")
    assert grad["outcome"] == "via fallback" and "matmul" in grad["fallbacks"]
    assert not failed(report)
    assert failed(report, strict=True)
    assert {r["outcome"] for r in run("cpu", levels=[1], pattern="kernels/add/")["rows"]} == {"native"}


def test_a_fallback_no_longer_hides_a_wrong_kernel(registered):
    """The issue's first symptom: at levels 2-7 a fallback used to end the case as "FB" before any
    value was compared, so gradients, nn, optim and training were never checked on a partial
    backend. nn.Softmax runs amax/sum on the CPU and the wrong exp on the device: it must fail."""
    registered(variant("wexp", wrong_exp))
    report = run("wexp", levels=[2, 3, 4], pattern="ops/exp/float32,gradients/exp/float32,nn.Softmax,nn.GELU")
    assert _rows(report, "failing", level=2, op="exp")
    assert _rows(report, "failing", level=3, op="exp")
    softmax = _rows(report, level=4, op="nn.Softmax", direction="forward")[0]
    assert softmax["outcome"] == "failing" and softmax["fallbacks"], softmax
    assert _rows(report, "via fallback", level=4, op="nn.GELU")  # right, with fallbacks


def test_unsupported_rows_do_not_fail_the_run_but_supported_ones_do(registered):
    registered(variant("decl", wrong_exp, unsupported={"exp": "exp is left to the CPU"}))
    report = run("decl", levels=[1, 2], pattern="/exp/float32")
    assert {r["outcome"] for r in _rows(report, op="exp")} == {"unsupported"}
    assert not failed(report)
    registered(variant("undecl", wrong_exp))
    assert failed(run("undecl", levels=[1, 2], pattern="/exp/float32"))


# ---- the ranking ----------------------------------------------------------------------------------
def test_kernels_to_write_next_are_ranked_by_rows_turned_native(registered):
    registered(variant("rank"))
    report = run("rank", levels=[1, 2])
    ranked = report["next_kernels"]
    assert ranked == next_kernels(report["rows"])
    names = [k["kernel"] for k in ranked]
    assert "matmul" in names and "add" not in names  # add is native
    alone = {k["kernel"]: k["turns_native"] for k in ranked}
    for kernel, n in alone.items():
        assert n == len([r for r in report["rows"] if r["outcome"] == "via fallback" and r["fallbacks"] == [kernel]])
    keys = [(-k["turns_native"], -k["used_by"], k["kernel"]) for k in ranked]
    assert keys == sorted(keys) and ranked[0]["turns_native"] > 0


# ---- the transfer check -----------------------------------------------------------------------------
def test_a_broken_transfer_is_named_and_nothing_else_is_blamed(registered):
    """The issue: a failing to_host was reported as "the kernel modified its input" on 30 ops."""
    registered(variant("xfer", lossy_to_host))
    report = run("xfer", levels=[0, 1, 2])
    transfer = _rows(report, op=TRANSFER_OP)
    assert transfer and all(r["outcome"] == "failing" for r in transfer)
    assert "from_host then to_host" in transfer[0]["detail"] and "elements differ" in transfer[0]["detail"]
    others = [r for r in report["rows"] if r["op"] != TRANSFER_OP]
    assert others and {r["outcome"] for r in others} == {"skip"}
    assert all("from_host/to_host do not round-trip" in r["detail"] for r in others)
    assert not any("modified its input" in r["detail"] for r in report["rows"])


def test_transfer_rows_come_first_whatever_the_pattern():
    report = run("cpu", levels=[2], pattern="ops/add/float32")
    ops = [r["op"] for r in report["rows"]]
    assert ops[0] == TRANSFER_OP and ops[-1] == "add"
    assert {r["dtype"] for r in report["rows"] if r["op"] == TRANSFER_OP} >= {"float32", "int64", "bool"}


# ---- views that are copies ------------------------------------------------------------------------
def test_a_view_kernel_that_returns_a_copy_is_caught_by_name(registered):
    registered(variant("copyview", copying_views))
    report = run("copyview", levels=[0], pattern="runtime/slice/,runtime/reshape/,runtime/permute/,runtime/expand/")
    for name in ("slice", "reshape", "permute", "expand"):
        rows = _rows(report, level=0, op=name, dtype="float32")
        assert rows and rows[0]["outcome"] == "failing", (name, rows)
        assert f"{name} returned a copy, not a view" in rows[0]["detail"]
    assert not failed(run("cpu", levels=[0], pattern="runtime/slice/,runtime/reshape/,runtime/permute/,"
                                                         "runtime/expand/"))


# ---- the command line -------------------------------------------------------------------------------
PLUGIN_SRC = """
import sys
sys.path.insert(0, {here!r})
sys.path.insert(0, {toy!r})
from test_truthful_report import variant, {edit}
_p = variant({name!r}, {edit}{extra})
ember_backend, ember_kernels = _p.ember_backend, _p.ember_kernels
"""


def _install(tmp_path: Path, name: str, source: str) -> dict:
    """A module plus a dist-info with one ``ember.backends`` entry point, on PYTHONPATH."""
    (tmp_path / f"{name}_plugin.py").write_text(source)
    info = tmp_path / f"{name}_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ember.backends]\n{name} = {name}_plugin\n")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))


def _variant_env(tmp_path, name, edit="wrong_exp", extra=""):
    return _install(tmp_path, name, PLUGIN_SRC.format(here=str(HERE), toy=str(TOY_SRC), name=name, edit=edit,
                                                      extra=extra))


def _cli(args, env=None):
    return subprocess.run([sys.executable, "-m", "ember_conformance", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_says_all_rows_passed_instead_of_an_empty_table():
    proc = _cli(["--backend", "cpu", "--level", "1", "-k", "kernels/add/"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("all ") and " rows passed (" in first and "native" in first, proc.stdout
    assert "-----" not in proc.stdout  # no table head over nothing


def test_cli_json_and_exit_code_for_a_wrong_supported_kernel(tmp_path):
    env = _variant_env(tmp_path, "cliexp")
    proc = _cli(["--backend", "cliexp", "--level", "1,2", "-k", "/exp/float32,/matmul/float32", "--json"], env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert _rows(report, "failing", op="exp") and _rows(report, "via fallback", op="matmul")
    assert report["next_kernels"][0]["kernel"] == "matmul"


def test_cli_exit_zero_when_only_declared_unsupported_rows_fail(tmp_path):
    env = _variant_env(tmp_path, "cliuns", extra=", unsupported={'exp': 'left to the CPU'}")
    proc = _cli(["--backend", "cliuns", "--level", "1,2", "-k", "/exp/float32,/matmul/float32"], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "kernels to write next" in proc.stdout and "matmul" in proc.stdout


def test_cli_names_a_broken_transfer(tmp_path):
    env = _variant_env(tmp_path, "clixfer", edit="lossy_to_host")
    proc = _cli(["--backend", "clixfer", "--level", "1"], env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith("TRANSFER BROKEN: from_host/to_host"), proc.stdout
    assert "modified its input" not in proc.stdout


def test_cli_shows_the_import_error_of_a_plugin_that_failed_to_load(tmp_path):
    env = _install(tmp_path, "noimport", "import ember_vendor_sdk_that_is_not_installed\n")
    proc = _cli(["--backend", "noimport"], env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "No module named 'ember_vendor_sdk_that_is_not_installed'" in proc.stderr
    assert "failed to load" in proc.stderr and "install a backend package" not in proc.stderr
    assert "Traceback" not in proc.stderr
