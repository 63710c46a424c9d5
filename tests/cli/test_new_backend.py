"""Issue #15 item 7: ``ember new-backend NAME`` scaffolds a backend package that passes the
conformance suite's runtime level as it is: checked in-process (the package on sys.path,
registered through the plugin API) and as a newcomer does it (pip install into a throwaway venv,
then ``ember devices``, ``ember-conformance --level runtime`` and the package's own test)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import sysconfig
import warnings
from pathlib import Path

import ember
import pytest
import tomllib
from ember.cli import main
from ember.cli.errors import UsageError
from ember.cli.new_backend import render, scaffold
from ember_conformance.report import failed, run


def test_the_scaffold_has_the_entry_point_plugin_kernels_and_a_conformance_test(tmp_path):
    root = scaffold("mydev", tmp_path / "pkg")
    files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert files == {"pyproject.toml", "README.md", "ember_mydev/__init__.py", "ember_mydev/array.py",
                     "ember_mydev/kernels.py", "ember_mydev/plugin.py", "tests/test_conformance.py"}
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "ember-mydev"
    assert meta["project"]["entry-points"]["ember.backends"] == {"mydev": "ember_mydev.plugin"}
    major, minor = ember.__version__.split(".")[:2]
    assert f"ember>={major}.{minor},<{major}.{int(minor) + 1}" in meta["project"]["dependencies"]
    assert "file:" not in (root / "pyproject.toml").read_text()
    for path, text in render("mydev").items():  # every file is valid Python / TOML as written
        if path.endswith(".py"):
            compile(text, path, "exec")


@pytest.mark.parametrize("name", ["MyDev", "1dev", "my-dev", "class", ""])
def test_invalid_names_are_refused(name):
    with pytest.raises(UsageError, match="invalid backend name"):
        render(name)


def test_cli_refuses_a_taken_device_type_and_a_non_empty_directory(tmp_path, capsys):
    assert main(["new-backend", "cpu", "--dir", str(tmp_path / "x")]) == 2
    assert "already registered" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    assert main(["new-backend", "fresh", "--dir", str(tmp_path / "full")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["new-backend", "fresh", "--dir", str(tmp_path / "new")]) == 0
    assert (tmp_path / "new" / "ember_fresh" / "plugin.py").exists()
    assert "ember-conformance --backend fresh --level runtime" in capsys.readouterr().out


def test_the_scaffold_passes_the_runtime_level_in_process(tmp_path):
    root = scaffold("scaffolded", tmp_path / "pkg")
    sys.path.insert(0, str(root))
    try:
        plugin = importlib.import_module("ember_scaffolded.plugin")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ember.plugins.register(plugin)
            try:
                report = run("scaffolded", levels=[0])
                assert ember.ones(2, device="scaffolded").add(1).cpu().tolist() == [2.0, 2.0]
            finally:
                ember.plugins.unregister(plugin)
    finally:
        sys.path.remove(str(root))
        for mod in [m for m in sys.modules if m.startswith("ember_scaffolded")]:
            del sys.modules[mod]
    assert not failed(report), failed(report)
    assert report["summary"]["native"] > 100
    assert {r["level"] for r in report["rows"]} == {0}


def _throwaway_venv(where: Path) -> Path:
    """A venv that sees this environment's packages (ember, ember-conformance, pip, hatchling)
    without being it: ``--system-site-packages`` reaches only the base interpreter, so a .pth
    adds this environment's site-packages (and its editable installs) as a site directory."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(where)],
                   check=True, timeout=120)
    python = where / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    here = sysconfig.get_paths()["purelib"]
    Path(purelib, "ember_dev_env.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    return python


def test_the_scaffold_installs_and_passes_the_runtime_level(tmp_path):
    pytest.importorskip("hatchling")
    root = scaffold("newdev", tmp_path / "ember-newdev")
    python = _throwaway_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def sh(*args, cwd=tmp_path):
        return subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)

    # offline: ember is already there (through the .pth), hatchling builds the wheel
    proc = sh("-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", str(root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    devices = sh("-c", "import sys, ember.cli; sys.exit(ember.cli.main(['devices']))")
    assert devices.returncode == 0 and "newdev:0" in devices.stdout, devices.stdout + devices.stderr
    report = sh("-m", "ember_conformance", "--backend", "newdev", "--level", "runtime")
    assert report.returncode == 0, report.stdout + report.stderr
    assert report.stdout.startswith("all ") and " rows passed" in report.stdout
    own = sh("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=root)
    assert own.returncode == 0 and "2 passed" in own.stdout, own.stdout + own.stderr
