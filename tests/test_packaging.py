"""Packaging: the five dists share one version and build wheels that install from a wheel folder or an index.

Each package's ``__version__`` is its version (hatch reads it); the in-repo requirements are ordinary
version ranges that must admit that version, never direct references (``@ file://...``), which no
index accepts and no other machine can resolve.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def _projects() -> dict[str, tuple[Path, str]]:
    """dist name -> (project dir, import package), from every pyproject.toml in the repository's dists."""
    dirs = [ROOT, *sorted(p.parent for p in ROOT.glob("backends/*/pyproject.toml")), ROOT / "conformance"]
    found = {}
    for d in dirs:
        meta = tomllib.loads((d / "pyproject.toml").read_text())
        packages = meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
        found[meta["project"]["name"]] = (d, Path(packages[0]).name)
    return found


PROJECTS = _projects()
VERSION = importlib.import_module("ember").__version__


def _requirements(meta: dict) -> list[Requirement]:
    project = meta["project"]
    reqs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return [Requirement(r) for r in reqs]


def test_all_five_dists_are_found() -> None:
    assert set(PROJECTS) == {"ember", "ember-cpu-numpy", "ember-opencl", "ember-cuda-cupy", "ember-conformance"}


@pytest.mark.parametrize("dist", sorted(PROJECTS))
def test_version_is_the_package_version_and_all_agree(dist: str) -> None:
    project_dir, package = PROJECTS[dist]
    meta = tomllib.loads((project_dir / "pyproject.toml").read_text())
    assert "version" in meta["project"].get("dynamic", []), f"{dist}: version must come from {package}.__version__"
    assert "version" not in meta["project"]
    assert importlib.import_module(package).__version__ == VERSION


@pytest.mark.parametrize("dist", sorted(PROJECTS))
def test_in_repo_requirements_are_version_ranges_that_admit_the_version(dist: str) -> None:
    meta = tomllib.loads((PROJECTS[dist][0] / "pyproject.toml").read_text())
    assert not meta.get("tool", {}).get("hatch", {}).get("metadata", {}).get("allow-direct-references")
    for req in _requirements(meta):
        assert req.url is None, f"{dist}: direct reference {req}"
        if req.name in PROJECTS:
            assert req.specifier, f"{dist}: {req.name} needs a version range"
            assert req.specifier.contains(VERSION), f"{dist}: {req} excludes the current version {VERSION}"


def _build_wheels(out: Path) -> dict[str, Path]:
    # Without build isolation when hatchling is here ([dev] has it): no index needed, about 1 s a wheel.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", str(out)]
    subprocess.run([*cmd, *(str(d) for d, _ in PROJECTS.values())], check=True, timeout=240)
    wheels = {}
    for whl in out.glob("*.whl"):
        name = whl.name.split("-")[0].replace("_", "-")
        wheels[name] = whl
    return wheels


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _build_wheels(tmp_path_factory.mktemp("wheels"))


def test_wheels_have_plain_requirements_license_and_py_typed(wheels: dict[str, Path]) -> None:
    assert set(wheels) == set(PROJECTS)
    for dist, whl in wheels.items():
        package = PROJECTS[dist][1]
        with zipfile.ZipFile(whl) as z:
            names = z.namelist()
            meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
            meta = Parser().parsestr(z.read(meta_name).decode())
            licenses = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
            license_text = z.read(licenses[0]) if licenses else b""
        assert meta["Version"] == VERSION, dist
        requires = meta.get_all("Requires-Dist") or []
        assert not [r for r in requires if Requirement(r).url], f"{dist}: direct references in {requires}"
        assert meta["License-Expression"] == "MIT" and meta.get_all("License-File") == ["LICENSE"], dist
        assert license_text == (ROOT / "LICENSE").read_bytes(), f"{dist}: the wheel lacks the repository's LICENSE"
        assert f"{package}/py.typed" in names, f"{dist}: py.typed not in the wheel"
