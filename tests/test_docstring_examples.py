"""Every docstring example in ember runs and prints what it shows (the style guide's "docstrings that
show a runnable example" would otherwise drift silently).

One test per module, run with ``ember`` already imported (as a reader at a prompt would have it);
examples that need something the machine may lack (a GPU, a network) are marked ``# doctest: +SKIP``
in the module itself.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import ember
import pytest


def _modules() -> list[str]:
    names = ["ember"]
    for info in pkgutil.walk_packages(ember.__path__, "ember."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_examples(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # a module of an optional extra (ember.onnx needs onnx)
        pytest.skip(f"needs {exc.name}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs = {**vars(module), "ember": ember}  # the module's own names, and ember as a reader would have it
    tests = [t for t in finder.find(module, name, globs=globs) if t.examples]
    if not tests:
        pytest.skip("no examples")
    failures = []
    for test in tests:
        # a docstring seen through a re-export belongs to its defining module's test only
        if test.filename and module.__file__ and test.filename != module.__file__:
            continue
        runner.run(test, out=failures.append)
    assert not failures, "\n".join(failures)
