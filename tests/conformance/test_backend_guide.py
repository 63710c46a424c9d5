"""Issue #15 item 6: docs/writing-a-backend.md cannot drift from what it describes.

* a code block after ``<!-- excerpt: PATH -->`` must be lines of PATH, in order (blank lines aside);
* every ``python`` block runs, with the toy backend (examples/third_party_backend) registered;
* in every ``sh`` block, each ``ember``, ``ember-conformance`` and ``pytest`` command runs: on the
  toy backend (installed through a dist-info with its entry point, as pip would), or, for the
  ``ember new-backend`` walk-through, on the package it scaffolds; the exit status must be the one
  its comment states ("exit 1"), else 0. ``pip`` lines are left out: tests/cli/test_new_backend.py
  installs a scaffold with pip into a throwaway venv, and .ci/run installs the wheels.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import ember
import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "writing-a-backend.md"
TOY_SRC = ROOT / "examples" / "third_party_backend"
_BLOCK = re.compile(r"(?:<!-- excerpt: (?P<src>\S+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)


def blocks(lang: str | None = None) -> list[tuple[str | None, str, str]]:
    """(excerpt source or None, language, body) of each fenced block of the guide."""
    out = [(m["src"], m["lang"], m["body"]) for m in _BLOCK.finditer(GUIDE.read_text())]
    return [b for b in out if lang is None or b[1] == lang]  # "" for a block with no language


def _lines(text: str) -> list[str]:
    return [ln.rstrip() for ln in text.splitlines() if ln.strip()]


@pytest.mark.parametrize("src,body", [(s, b) for s, _, b in blocks() if s], ids=lambda v: str(v)[:40])
def test_excerpts_are_lines_of_their_source(src, body):
    source = iter(_lines((ROOT / src).read_text()))
    for line in _lines(body):
        assert any(line == have for have in source), f"{src} has no line {line!r} (after the previous ones)"


def test_the_guide_has_excerpts_python_and_commands():
    kinds = {lang for _, lang, _ in blocks()}
    assert {"python", "toml", "sh"} <= kinds
    assert sum(1 for s, _, _ in blocks() if s) >= 3


def test_the_package_tree_is_the_example_package():
    (tree,) = [b for _, lang, b in blocks("") if b.startswith("ember-toy-backend/")]
    names = [ln.split("#")[0].strip() for ln in tree.splitlines()[1:] if ln.split("#")[0].strip()]
    assert names
    for name in names:
        found = list(TOY_SRC.rglob(name.rstrip("/")))
        assert found, f"the guide's package tree lists {name}, which examples/third_party_backend lacks"


def test_toml_blocks_parse():
    for _, _, body in blocks("toml"):
        meta = tomllib.loads(body)
        assert meta["project"]["entry-points"]["ember.backends"]


@pytest.fixture
def toy():
    sys.path.insert(0, str(TOY_SRC))
    import ember_toy.plugin as plugin

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ember.plugins.register(plugin)
        try:
            yield plugin
        finally:
            ember.plugins.unregister(plugin)
            sys.path.remove(str(TOY_SRC))


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_blocks_run(index, toy):
    _, _, body = blocks("python")[index]
    exec(compile(body, f"{GUIDE.name} python block {index}", "exec"), {"__name__": f"guide_block_{index}"})


def _dist_info(where: Path, dist: str, group_entries: str, paths: list[Path]) -> dict:
    info = where / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(group_entries)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [where, *paths])
    return env


def _commands(body: str) -> list[tuple[list[str], int]]:
    """(argv, expected exit status) of each ember/ember-conformance/pytest line of an sh block."""
    out = []
    for line in body.splitlines():
        cmd, _, comment = line.partition("#")
        argv = shlex.split(cmd)
        if not argv or argv[0] not in ("ember", "ember-conformance", "pytest"):
            continue
        status = re.search(r"exit (\d+)", comment)
        out.append((argv, int(status.group(1)) if status else 0))
    return out


def _run(argv: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    program = {"ember": ["-c", "import sys, ember.cli; sys.exit(ember.cli.main())"],
               "ember-conformance": ["-m", "ember_conformance"], "pytest": ["-m", "pytest", "-p", "no:cacheprovider"]}
    return subprocess.run([sys.executable, *program[argv[0]], *argv[1:]], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _toy_blocks() -> list[str]:
    return [b for _, _, b in blocks("sh") if "--backend toy" in b]


def test_there_are_command_blocks_to_run():
    assert _toy_blocks() and any("ember new-backend" in b for _, _, b in blocks("sh"))


@pytest.mark.parametrize("index", range(len(_toy_blocks())))
def test_toy_commands_run_with_the_stated_exit_status(index, tmp_path):
    env = _dist_info(tmp_path, "ember-toy-backend", "[ember.backends]\ntoy = ember_toy.plugin\n", [TOY_SRC])
    commands = _commands(_toy_blocks()[index])
    assert commands
    for argv, status in commands:
        proc = _run(argv, env, tmp_path)
        assert proc.returncode == status, f"{shlex.join(argv)}: exit {proc.returncode}\n{proc.stdout[-3000:]}{proc.stderr}"
        if "--json" in argv:
            assert proc.stdout.lstrip().startswith("{")


def test_the_new_backend_walkthrough_runs(tmp_path):
    (body,) = [b for _, _, b in blocks("sh") if "ember new-backend" in b]
    commands = _commands(body)
    assert commands[0][0][:2] == ["ember", "new-backend"]
    name = commands[0][0][2]
    env = dict(os.environ)
    for argv, status in commands:
        proc = _run(argv, env, tmp_path)
        assert proc.returncode == status, f"{shlex.join(argv)}: exit {proc.returncode}\n{proc.stdout[-3000:]}{proc.stderr}"
        if argv[:2] == ["ember", "new-backend"]:  # "pip install -e ./ember-NAME", offline: its entry point
            pkg = tmp_path / f"ember-{name}"
            eps = tomllib.loads((pkg / "pyproject.toml").read_text())["project"]["entry-points"]["ember.backends"]
            site = tmp_path / "site"
            site.mkdir()
            env = _dist_info(site, f"ember-{name}", "[ember.backends]\n" + "".join(
                f"{k} = {v}\n" for k, v in eps.items()), [pkg])
        if argv[:2] == ["ember", "devices"]:
            assert f"{name}:0" in proc.stdout
        if "--level" in argv and "runtime" in argv:
            assert proc.stdout.startswith("all ") and " rows passed (" in proc.stdout, proc.stdout
