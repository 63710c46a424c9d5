"""The op registry is the one declaration of every op: everything generated from it must agree.

Each test fails when something drifts from the declarations in ``core/ember/functions/*.py``: a
Tensor method or ``ember.*`` export added or lost by hand, a kernel name that does not exist, a
stale ``docs/pytorch-coverage.md``, a conformance row or a backend-guide kernel list naming
something unknown.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import ember
import ember.functions as families
import pytest
from ember import _device_module
from ember._ops import coverage, registry
from ember._ops.registry import OPS
from ember.kernels import KERNELS, NATIVE_ONLY, OPTIONAL

ROOT = Path(__file__).resolve().parents[2]
# Every module of ember.functions is a family (found, not listed, so a new family is checked too).
FAMILIES = [importlib.import_module(f"ember.functions.{m.name}") for m in pkgutil.iter_modules(families.__path__)]
DECLS = sorted(OPS.values(), key=lambda d: d.name)


def _ids(decls):
    return [d.name for d in decls]


def test_every_family_declares_and_none_binds_by_hand():
    for mod in FAMILIES:
        assert not hasattr(mod, "_bind"), f"{mod.__name__} binds Tensor methods itself"
        assert any(d.family == mod.__name__ for d in DECLS), f"{mod.__name__} declares no ops"
    assert {d.family for d in DECLS} <= {m.__name__ for m in FAMILIES}, "a family missing from FAMILIES here"


def test_each_name_is_declared_once():
    names = registry.op_names()
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
    tensor_names = [n for d in DECLS for n in (*d.method_names, *d.inplace_names, *d.operators, *d.reflected,
                                                  *d.ioperators)] + list(registry.EXTRAS)
    assert len(tensor_names) == len(set(tensor_names)), sorted({n for n in tensor_names if tensor_names.count(n) > 1})


@pytest.mark.parametrize("decl", DECLS, ids=_ids(DECLS))
def test_exports_as_declared(decl):
    for name in decl.names:
        if decl.export:
            assert getattr(ember, name) is decl.fn, f"ember.{name}"
            assert name in ember.__all__, f"ember.__all__ lacks {name}"
        else:
            assert name not in ember.__all__, f"ember.{name} is declared export=False"


@pytest.mark.parametrize("decl", DECLS, ids=_ids(DECLS))
def test_tensor_methods_as_declared(decl):
    attrs = vars(ember.Tensor)
    for name in decl.method_names:  # bound directly: no wrapper per call
        assert attrs[name] is decl.method_fn, f"Tensor.{name}"
    if decl.method_fn is None:
        assert not any(n in attrs for n in decl.names), f"Tensor.{decl.name} exists but is declared method=False"
    for name in decl.inplace_names:
        assert callable(attrs[name]), f"Tensor.{name}"
        if callable(decl.inplace):
            assert attrs[name] is decl.inplace
    for name in decl.operators:
        assert attrs[name] is (decl.method_fn or decl.fn), f"Tensor.{name}"
    for name in (*decl.reflected, *decl.ioperators):
        assert callable(attrs[name]), f"Tensor.{name}"
    for name in decl.ioperators:
        assert attrs[name] is attrs[decl.inplace_names[0]], f"Tensor.{name} is not the in-place form"


def test_every_tensor_attribute_is_written_in_tensor_py_or_declared():
    # Whatever Tensor has beyond its own class body must come from the registry, so an op can
    # never be attached by hand (and skip the export, the coverage page and these checks).
    own = registry._CLASS_BODY[ember.Tensor]
    # ``Tensor.opencl()`` / ``Tensor.is_opencl``: device-type helpers generated from each registered
    # Backend (ember._device_module), not ops
    extra = set(vars(ember.Tensor)) - own - registry.bound_names() - _device_module.generated_tensor_names()
    assert not extra, f"Tensor attributes attached outside the registry: {sorted(extra)}"
    # ...and an op never hides in the class body: a public Tensor method named like an ember
    # function must be that function, declared.
    for name in own:
        if not name.startswith("_") and name in registry.op_names():
            pytest.fail(f"Tensor.{name} is written in tensor.py but declared as an op")


@pytest.mark.parametrize("decl", DECLS, ids=_ids(DECLS))
def test_declared_out_matches_signature(decl):
    try:
        params = inspect.signature(decl.fn).parameters
    except (TypeError, ValueError):
        pytest.skip("no signature")
    assert decl.out == ("out" in params), f"{decl.name}: declared out={decl.out}"


def test_declared_kernels_exist():
    unknown = {d.name: k for d in DECLS for k in d.kernels if k not in KERNELS}
    assert not unknown, f"kernels not in ember.kernels.KERNELS: {unknown}"


def test_family_all_is_generated_and_resolves():
    for mod in FAMILIES:
        assert mod.__all__ == registry.Family(mod.__name__).names()
        for name in mod.__all__:
            assert hasattr(mod, name), f"{mod.__name__}.__all__ names missing {name}"


def test_ember_all_resolves_without_duplicates():
    assert len(ember.__all__) == len(set(ember.__all__))
    missing = [n for n in ember.__all__ if not hasattr(ember, n)]
    assert not missing


def test_conformance_table_names_resolve():
    optable = pytest.importorskip("ember_conformance.optable")
    ops, bound = set(registry.op_names()), registry.bound_names()
    for name, entry in optable.OP_TABLE.items():
        base = name.split("-")[0]  # "max-dim", "getitem-mask": variants of one op
        assert base in ops or base in KERNELS or f"__{base}__" in bound, f"op table row {name!r} names no op"
        assert set(entry.kernels) <= set(KERNELS), f"op table row {name!r}: unknown kernels"
    assert set(optable.KERNEL_TABLE) <= set(KERNELS)


def _listed(text: str, start: str, end: str) -> set[str]:
    """The backticked names between ``start`` and the next ``end`` in a prose list."""
    i = text.index(start) + len(start)
    return set(re.findall(r"`([a-z_0-9]+)`", text[i:text.index(end, i)]))


def test_backend_guide_kernel_lists_are_kernels():
    text = (ROOT / "docs" / "writing-a-backend.md").read_text()
    text = re.sub(r"\s+", " ", text)
    runtime = _listed(text, "**runtime kernels** —", "—") | _listed(text, "**view kernels** —", "(")
    assert runtime and runtime <= set(KERNELS) - set(OPTIONAL), sorted(runtime - set(KERNELS))
    optional = _listed(text, "**Optional** kernels (", ")")
    assert optional and optional <= set(OPTIONAL), sorted(optional - set(OPTIONAL))
    native = _listed(text, "`ember.kernels.NATIVE_ONLY`:", ")")
    assert native and native <= set(NATIVE_ONLY), sorted(native - set(NATIVE_ONLY))


def test_coverage_page_is_current():
    torch = pytest.importorskip("torch")
    page = ROOT / "docs" / "pytorch-coverage.md"
    assert page.read_text() == coverage.render(torch), (
        "docs/pytorch-coverage.md is stale: run python -m ember._ops.coverage --write docs/pytorch-coverage.md")
