"""``jit.save`` and ``jit.load``: scripted and traced modules in ember's own checkpoint format.

ember does not run TorchScript, so an archive holds what the module is made of, as plain data:
for every module its class (by name), ``training`` flag, parameters, buffers, submodules and plain
attributes (numbers, strings, tensors, dtypes and containers of them), and a reference by name to
each function an attribute holds (``self.activation = F.gelu``). It is written by
:func:`ember.save`'s safe format (a JSON header and raw tensor blobs, no pickle), so loading it
runs no code from the file: ``load`` only looks classes and functions up among ember's own
(``ember.nn`` modules, ``ember.nn.functional``...), never imports anything, and rebuilds a module
by setting that state on an instance made without calling its ``__init__``. A module of your
own class, or a function of yours held by an attribute, is rebuilt only when the caller says it
is safe: ``load(f, safe_globals=[MyNet])``, or ``ember.serialization.safe_globals([MyNet])``.

A TorchScript archive written by PyTorch's ``torch.jit.save`` holds TorchScript code instead; ember
cannot run it and refuses it with :class:`TorchScriptArchiveError`.

Example:
    >>> import ember, io, warnings
    >>> warnings.simplefilter("ignore", DeprecationWarning)
    >>> m = ember.jit.script(ember.nn.Linear(2, 1))
    >>> buf = io.BytesIO()
    >>> ember.jit.save(m, buf)
    >>> _ = buf.seek(0)
    >>> loaded = ember.jit.load(buf)
    >>> ember.equal(loaded.weight, m.weight), type(loaded).__name__
    (True, 'RecursiveScriptModule')
"""

from __future__ import annotations

import io
import os
import sys
import warnings
import zipfile
from collections import OrderedDict
from typing import Any

from ember.jit import _state
from ember.jit._script import (
    RecursiveScriptModule,
    ScriptFunction,
    ScriptModule,
    TopLevelTracedModule,
    TracedModule,
    _copy_tree,
    _FrozenModule,
    _Method,
)
from ember.nn.modules.module import Module
from ember.serialization import CheckpointError, WeightsOnlyLoadError

__all__ = ["save", "load", "TorchScriptArchiveError", "FORMAT"]

FORMAT = "ember.jit"
VERSION = 1
#: Where ember's own functions live that a module attribute may name (``F.gelu``, ``ember.tanh``):
#: what ``load`` resolves without being told. Serialization, hub, file and process code is not here.
_FUNCTION_MODULES = ("ember.nn", "ember.functions", "ember._ops", "ember._composites", "ember.special",
                     "ember.fft", "ember.linalg", "ember.vision.ops")
_SKIP = frozenset({"_jit_call", "_compiled_call_impl", "training"})
_HOOKS = ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks")


class TorchScriptArchiveError(CheckpointError):
    """The file is a TorchScript archive (``torch.jit.save``): its model is TorchScript code, which
    ember does not run. Save the weights (``state_dict``) in PyTorch and load them into the model
    class defined in Python instead."""


TorchScriptArchiveError.__module__ = "ember.jit"


def _bookkeeping() -> frozenset[str]:
    """The keys ``Module.__init__`` puts in every module's ``__dict__`` (state, not attributes)."""
    return frozenset(Module().__dict__)


# ---- save -----------------------------------------------------------------------------------------
def _is_plain(value: Any, depth: int = 0) -> bool:
    """What ember's safe checkpoint format stores as data (see ember.serialization.ember_format)."""
    from ember.device import device
    from ember.dtypes import dtype
    from ember.size import Size
    from ember.tensor import Tensor

    if depth > 100:
        return False
    if value is None or type(value) in (bool, int, float, str, bytes):
        return True
    if isinstance(value, Tensor):
        return type(value).__name__ in ("Tensor", "Parameter")
    if isinstance(value, (Size, dtype, device)):
        return True
    if type(value) in (list, tuple, set, frozenset):
        return all(_is_plain(v, depth + 1) for v in value)
    if type(value) in (dict, OrderedDict):
        return all(_is_plain(k, depth + 1) and _is_plain(v, depth + 1) for k, v in value.items())
    return False


def _ref_of(obj: Any) -> str | None:
    """``module:qualname`` naming ``obj`` (a function or class found again by that name), or None."""
    module, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qual, str) or "<" in qual:
        return None
    found: Any = sys.modules.get(module)
    for part in qual.split("."):
        found = getattr(found, part, None)
    return f"{module}:{qual}" if found is obj else None


def _encode_module(mod: Module, path: str, memo: dict[int, str], skip: frozenset[str]) -> dict:
    if id(mod) in memo:  # one module reached twice (shared): stored once, as PyTorch keeps it one object
        return {"same_as": memo[id(mod)]}
    memo[id(mod)] = path
    cls = getattr(type(mod), "_orig_class", type(mod))
    cls_ref = _ref_of(cls)
    if cls_ref is None:
        raise RuntimeError(f"ember.jit.save: the module class {cls.__module__}.{cls.__qualname__} cannot be named "
                           "(a class defined inside a function): ember stores a module's class by its name, so "
                           "define it at the top level of a module")
    if any(getattr(mod, h, None) for h in _HOOKS):
        warnings.warn(f"ember.jit.save: the hooks of {path or 'the module'} ({cls.__qualname__}) are Python "
                      "callables and are not saved", stacklevel=4)
    attributes: dict[str, Any] = {}
    refs: dict[str, str] = {}
    traced: list[str] = []
    for key, value in mod.__dict__.items():
        if key in skip or key in _SKIP:
            continue
        if isinstance(value, _Method):  # an @export or traced method: rebuilt from the class on load
            if value._mode == _state.TRACE:
                traced.append(key)
            continue
        if _is_plain(value):
            attributes[key] = value
            continue
        ref = _ref_of(value) if callable(value) else None
        if ref is None:
            raise RuntimeError(f"ember.jit.save: attribute '{key}' of {path or 'the module'} ({cls.__qualname__}) is "
                               f"a {type(value).__module__}.{type(value).__qualname__}, which the archive cannot "
                               "hold: it stores numbers, strings, tensors, dtypes, devices and containers of them, "
                               "submodules, and functions or classes defined at the top level of a module")
        refs[key] = ref
    modules: OrderedDict[str, Any] = OrderedDict()
    for name, child in mod._modules.items():
        modules[name] = None if child is None else _encode_module(child, f"{path}.{name}" if path else name, memo,
                                                                  skip)
    return {"class": cls_ref, "training": bool(mod.training), "parameters": OrderedDict(mod._parameters),
            "buffers": OrderedDict(mod._buffers), "non_persistent": sorted(mod._non_persistent_buffers_set),
            "modules": modules, "attributes": attributes, "refs": refs, "traced_methods": traced}


def _payload(m: Any, extra: dict[str, bytes]) -> dict:
    base = {"format": FORMAT, "version": VERSION, "extra_files": extra}
    if isinstance(m, ScriptFunction):
        ref = _ref_of(m._fn)
        if ref is None:
            raise RuntimeError(f"ember.jit.save: cannot save the function {m.name!r}: ember stores a scripted "
                               "function as a reference to it (module and name), and a lambda or a function "
                               "defined inside another has none; script a module instead")
        return {**base, "kind": "function", "mode": m._mode, "ref": ref}
    frozen = isinstance(m, _FrozenModule)
    root = m.__dict__["_frozen"] if frozen else m
    return {**base, "kind": "module", "mode": _state.TRACE if isinstance(root, TracedModule) else _state.SCRIPT,
            "frozen": frozen, "preserved": list(m.__dict__["_preserved"]) if frozen else [],
            "root": _encode_module(root, "", {}, _bookkeeping())}


def save(m: Any, f: Any, _extra_files: dict[str, str | bytes] | None = None) -> None:
    """Write a scripted or traced module (or function) to a path or binary file (``torch.jit.save``).

    The archive is an :func:`ember.save` checkpoint of plain data (see the module's docs); a
    module must come from :func:`ember.jit.script` or :func:`ember.jit.trace`, as in PyTorch.
    ``_extra_files`` maps names to ``str`` or ``bytes`` contents stored alongside.

    Example:
        >>> import ember, io, warnings
        >>> warnings.simplefilter("ignore", DeprecationWarning)
        >>> buf = io.BytesIO()
        >>> ember.jit.save(ember.jit.script(ember.nn.ReLU()), buf, _extra_files={"note.txt": "hi"})
    """
    warnings.warn("`torch.jit.save` is deprecated. Please switch to `torch.export`.", DeprecationWarning,
                  stacklevel=2)
    is_path = isinstance(f, (str, os.PathLike))
    if not isinstance(m, (ScriptModule, ScriptFunction)):
        # PyTorch calls m.save(f) / m.save_to_buffer(): a plain module has neither
        raise AttributeError(f"'{type(m).__name__}' object has no attribute '{'save' if is_path else 'save_to_buffer'}'")
    extra = {}
    for key, value in (_extra_files or {}).items():
        if not isinstance(key, str) or not isinstance(value, (str, bytes)):
            raise TypeError(f"_extra_files must map str names to str or bytes contents, got {key!r}: "
                            f"{type(value).__name__}")
        extra[key] = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    payload = _payload(m, extra)
    from ember.serialization import save as ember_save

    ember_save(payload, f)


# ---- load -----------------------------------------------------------------------------------------
def _check_archive(source: Any, name: str) -> None:
    """Refuse a TorchScript archive (PyTorch's ``torch.jit.save``) with an error saying what it is."""
    try:
        with zipfile.ZipFile(source) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip: ember.load names what it is
    if "ember/header.json" in names:
        return
    if any(n.endswith("/constants.pkl") or "/code/" in n for n in names):
        raise TorchScriptArchiveError(
            f"{name!r} is a TorchScript archive written by torch.jit.save: the model in it is TorchScript code, which "
            "ember does not run (and loading it would mean running code from the file). In PyTorch, save the "
            "weights instead, torch.save(model.state_dict(), path), then build the model class in Python with "
            "ember and call model.load_state_dict(ember.load(path)); or script the ember model and save it with "
            "ember.jit.save.")


def _lookup(module: str, qual: str) -> Any:
    """What ``module:qual`` names, read from the namespaces themselves (``vars``): never a package's
    ``__getattr__``, which would import a submodule the file names, and never a dunder (``ember:__getattr__``
    is a function of ember but not one a module attribute holds)."""
    obj: Any = sys.modules.get(module)
    for part in qual.split("."):
        if obj is None or not part or part.startswith("__"):
            return None
        try:
            obj = vars(obj).get(part)
        except TypeError:  # an object without a __dict__
            return None
        if isinstance(obj, staticmethod):
            obj = obj.__func__
    return obj


def _resolve(ref: Any, what: str, name: str, safe: list) -> Any:
    """The class or function ``ref`` names: one of ember's (already imported, never imported here)
    or one the caller marked safe; anything else is refused."""
    from ember.serialization import _safe_globals

    if not isinstance(ref, str) or ref.count(":") != 1:
        raise CheckpointError(f"{name!r} is not a valid ember.jit archive: malformed {what} reference {ref!r}")
    module, qual = ref.split(":")
    for obj in safe:
        if getattr(obj, "__module__", None) == module and getattr(obj, "__qualname__", None) == qual:
            return obj
    found = _safe_globals.lookup(module, qual)
    if found is not None:
        return found
    ours = module == "ember" or module.startswith("ember.")
    if ours and (what == "module class" or module.startswith(_FUNCTION_MODULES) or module == "ember"):
        obj = _lookup(module, qual)
        if obj is not None and getattr(obj, "__module__", None) == module and getattr(obj, "__qualname__", None) == qual:
            if what != "module class" or (isinstance(obj, type) and issubclass(obj, Module)):
                return obj
        raise CheckpointError(f"{name!r} names the {what} {module}.{qual}, which this ember does not have")
    raise WeightsOnlyLoadError(
        f"{name!r} names the {what} {module}.{qual}, which ember.jit.load does not rebuild on its own: it rebuilds "
        f"ember's own modules and functions (ember.nn, ember.nn.functional...) unless told a class or function is safe. If you trust the file, "
        f"import it and pass ember.jit.load(f, safe_globals=[{qual.split('.')[-1]}]) (or use "
        "ember.serialization.safe_globals); its code is yours, the file only sets its state.")


def _build(node: Any, path: str, built: dict[str, Module], name: str, safe: list, skip: frozenset[str]) -> Module:
    from ember.nn.parameter import Parameter
    from ember.tensor import Tensor

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{name!r} is not a valid ember.jit archive: {what} at module {path or '<root>'!r}")

    if not isinstance(node, dict):
        raise bad("a module entry is not a mapping")
    if "same_as" in node:
        target = node["same_as"]
        if target not in built:
            raise bad(f"reference to unknown module {target!r}")
        if target == "" or path == target or path.startswith(f"{target}."):  # an ancestor: a cycle
            raise bad(f"module {target!r} contains itself")
        return built[node["same_as"]]
    cls = _resolve(node.get("class"), "module class", name, safe)
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise bad(f"{cls!r} is not a module class")
    mod = cls.__new__(cls)
    Module.__init__(mod)  # the bookkeeping only: the class's own __init__ is not run
    d = mod.__dict__
    d["training"] = bool(node.get("training", False))
    attributes, refs = node.get("attributes", {}), node.get("refs", {})
    if not isinstance(attributes, dict) or not isinstance(refs, dict):
        raise bad("malformed attributes")
    for key, value in list(attributes.items()) + [(k, _resolve(r, "function", name, safe)) for k, r in refs.items()]:
        if not isinstance(key, str) or key in skip or key in _SKIP:
            raise bad(f"attribute name {key!r} is not allowed")
        d[key] = value
    built[path] = mod
    for key, kind in (("parameters", Parameter), ("buffers", Tensor)):
        entries = node.get(key, {})
        if not isinstance(entries, dict):
            raise bad(f"malformed {key}")
        for k, v in entries.items():
            if not isinstance(k, str) or not (v is None or isinstance(v, kind)):
                raise bad(f"{key[:-1]} {k!r} is not a {kind.__name__}")
            getattr(mod, "_" + key)[k] = v
    non_persistent = node.get("non_persistent", [])
    if not isinstance(non_persistent, (list, tuple)):
        raise bad("malformed non_persistent buffer names")
    mod._non_persistent_buffers_set.update(str(k) for k in non_persistent)
    modules = node.get("modules", {})
    if not isinstance(modules, dict):
        raise bad("malformed submodules")
    for k, child in modules.items():
        sub = f"{path}.{k}" if path else str(k)
        mod._modules[str(k)] = None if child is None else _build(child, sub, built, name, safe, skip)
    return mod


def _map_location(map_location: Any) -> Any:
    from ember.device import device

    if isinstance(map_location, str):
        return device(map_location)
    if not (map_location is None or isinstance(map_location, device)):
        raise ValueError("map_location should be either None, string or torch.device, but got type: "
                         + str(type(map_location)))
    return map_location


def load(f: Any, map_location: Any = None, _extra_files: dict[str, Any] | None = None,
         _restore_shapes: bool = False, *, safe_globals: list | None = None) -> Any:
    """Load what :func:`ember.jit.save` wrote (``torch.jit.load``): a scripted or traced module
    (or function) computing as the saved one, its parameters on ``map_location`` if given.

    Args:
        f: a path or a binary file object.
        map_location: ``None`` (where the tensors were saved from), a device or a device string.
        _extra_files: a dict whose keys name extra files to read: each value is replaced by that
            file's bytes (``b""`` if the archive has none of that name), as PyTorch does.
        safe_globals: classes and functions of your own the archive may name (a module of your
            class, an attribute holding your function). Without them only ember's own are
            rebuilt: nothing from the file runs, and nothing is imported.

    Raises:
        ValueError: the path does not exist or is a directory, or ``map_location`` is not a device.
        TorchScriptArchiveError: the file is PyTorch's TorchScript archive.
        WeightsOnlyLoadError: the archive names a class or function that is not ember's and was
            not passed in ``safe_globals``.
        CheckpointError: the file is damaged, or is a checkpoint but not an ember.jit archive.

    Example:
        >>> import ember, io, warnings
        >>> warnings.simplefilter("ignore", DeprecationWarning)
        >>> buf = io.BytesIO()
        >>> ember.jit.save(ember.jit.script(ember.nn.Tanh()), buf, _extra_files={"v": b"1"})
        >>> _ = buf.seek(0)
        >>> extra = {"v": ""}
        >>> ember.jit.load(buf, _extra_files=extra)(ember.zeros(1)).tolist(), extra
        ([0.0], {'v': b'1'})
    """
    from ember.serialization import load as ember_load
    from ember.serialization import name_of

    warnings.warn("`torch.jit.load` is deprecated. Please switch to `torch.export`.", DeprecationWarning,
                  stacklevel=2)
    if isinstance(f, (str, os.PathLike)):
        if not os.path.exists(f):
            raise ValueError(f"The provided filename {os.fspath(f)} does not exist")
        if os.path.isdir(f):
            raise ValueError(f"The provided filename {os.fspath(f)} is a directory")
        source: Any = f
    else:
        source = io.BytesIO(f.read())  # PyTorch reads the whole buffer too
    map_location = _map_location(map_location)
    name = name_of(f)
    _check_archive(source, name)
    if isinstance(source, io.BytesIO):
        source.seek(0)
    payload = ember_load(source, map_location=map_location, weights_only=True)
    if not (isinstance(payload, dict) and payload.get("format") == FORMAT):
        raise CheckpointError(f"{name!r} is a checkpoint but not an ember.jit archive (written by ember.save or "
                              "torch.save, not by jit.save): load it with ember.load")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{name!r} is an ember.jit archive of version {payload.get('version')!r}; this ember "
                              f"reads version {VERSION}")
    safe = list(safe_globals or [])
    result = _rebuild(payload, name, safe)
    if _extra_files is not None:
        stored = payload.get("extra_files") or {}
        if not isinstance(stored, dict) or not all(isinstance(v, (bytes, str)) for v in stored.values()):
            raise CheckpointError(f"{name!r} is not a valid ember.jit archive: malformed extra files")
        for key in list(_extra_files):
            value = stored.get(key, b"")
            _extra_files[key] = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return result


def _rebuild(payload: dict, name: str, safe: list) -> Any:
    mode = payload.get("mode")
    if mode not in (_state.SCRIPT, _state.TRACE):
        raise CheckpointError(f"{name!r} is not a valid ember.jit archive: unknown mode {mode!r}")
    if payload.get("kind") == "function":
        return ScriptFunction(_resolve(payload.get("ref"), "function", name, safe), mode)
    if payload.get("kind") != "module":
        raise CheckpointError(f"{name!r} is not a valid ember.jit archive: unknown kind {payload.get('kind')!r}")
    root = _build(payload.get("root"), "", {}, name, safe, _bookkeeping())
    if isinstance(root, ScriptModule):  # a ScriptModule subclass of the old API: it is its own class
        out = root
    elif mode == _state.TRACE:
        out = _copy_tree(root, TopLevelTracedModule, TracedModule, {})
    else:
        out = _copy_tree(root, RecursiveScriptModule, RecursiveScriptModule, {})
    traced = payload["root"].get("traced_methods", []) if isinstance(payload.get("root"), dict) else []
    if not isinstance(traced, (list, tuple)):
        raise CheckpointError(f"{name!r} is not a valid ember.jit archive: malformed traced_methods")
    for method in traced:
        # a method of the module's class (what trace_module traced), never a dunder or an attribute
        found = getattr(type(out), str(method), None) if not str(method).startswith("__") else None
        if not callable(found) or str(method) in out.__dict__:
            raise CheckpointError(f"{name!r} is not a valid ember.jit archive: traced method {method!r} is not a "
                                  f"method of {type(out).__qualname__}")
        out.__dict__[str(method)] = _Method(getattr(out, str(method)), _state.TRACE)
    if payload.get("frozen"):
        preserved = payload.get("preserved") or []
        if not isinstance(preserved, (list, tuple)):
            raise CheckpointError(f"{name!r} is not a valid ember.jit archive: malformed preserved attributes")
        return _FrozenModule(out, [str(p) for p in preserved])
    return out
