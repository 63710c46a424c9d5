"""``functional_call``: run a module with some of its parameters and buffers replaced for one call."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["functional_call"]

_MISSING = object()


def _merge(dicts: Any) -> dict:
    """One dict from a dict or a sequence of dicts, with PyTorch's checks and messages (repeated
    keys are listed in the order they first appear)."""
    if isinstance(dicts, dict):
        return dict(dicts)
    if isinstance(dicts, Sequence):
        if not all(isinstance(d, dict) for d in dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        counts: dict = {}
        for d in dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        return {k: v for d in dicts for k, v in d.items()}
    raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                     f"{type(dicts)}")


def _tied_names(module: Any) -> list[list[str]]:
    """Groups of names that refer to the same parameter or buffer object."""
    groups: dict[int, list[str]] = {}
    for name, t in [*module.named_parameters(remove_duplicate=False), *module.named_buffers(remove_duplicate=False)]:
        groups.setdefault(id(t), []).append(name)
    return list(groups.values())


def _with_ties(module: Any, values: dict, tie_weights: bool) -> dict:
    if not tie_weights:
        return values
    out = dict(values)
    for group in _tied_names(module):
        given = [n for n in group if n in values]
        for n in given[1:]:
            if values[n] is not values[given[0]]:
                raise ValueError(f"functional_call got multiple values for keys {given}, which are tied. Consider "
                                 "using tie_weights=False")
        if given:
            for n in group:
                out.setdefault(n, values[given[0]])
    return out


def _check_strict(module: Any, values: dict) -> None:
    names = {n for group in _tied_names(module) for n in group}
    unexpected = [k for k in values if k not in names]
    missing = [n for n in sorted(names) if n not in values]
    if unexpected or missing:
        lines = [f"Error(s) in reparametrizing for {module._get_name()}:"]
        if unexpected:
            lines.append(f"\tUnexpected key(s): {', '.join(repr(k) for k in unexpected)}.")
        if missing:
            lines.append(f"\tMissing key(s): {', '.join(repr(k) for k in missing)}.")
        raise RuntimeError("\n".join(lines))


def _owner(module: Any, path: str) -> tuple[Any, str]:
    *parts, leaf = path.split(".")
    mod = module
    for part in parts:
        sub = mod.__dict__.get("_modules", {}).get(part)
        if sub is None:
            raise AttributeError(f"{mod._get_name()} has no attribute `{part}`")
        mod = sub
    return mod, leaf


@contextlib.contextmanager
def _reparametrize(module: Any, values: dict) -> Iterator[None]:
    """Swap the entries of the owners' parameter/buffer dicts (no Parameter type check, no hooks),
    and put the originals back afterwards, even when the call raises."""
    from ember.tensor import Tensor

    undo = []
    try:
        for path, value in values.items():
            mod, name = _owner(module, path)
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{value} is not an instance of ember.Tensor")
            for table in (mod._parameters, mod._buffers):
                if name in table:
                    undo.append((table, name, table[name]))
                    table[name] = value
                    break
            else:  # a plain attribute, as PyTorch sets it (a submodule or other non-tensor is refused)
                orig = getattr(mod, name, None)
                if orig is not None and not isinstance(orig, Tensor):
                    raise TypeError(f"attribute `{name}`: {orig} is not an instance of ember.Tensor")
                undo.append((mod, name, mod.__dict__.get(name, _MISSING)))
                object.__setattr__(mod, name, value)
        yield
    finally:
        for owner, name, old in reversed(undo):
            if isinstance(owner, dict):
                owner[name] = old
            elif old is _MISSING:
                owner.__dict__.pop(name, None)
            else:
                object.__setattr__(owner, name, old)


def functional_call(module: Any, parameter_and_buffer_dicts: Any, args: Any = None, kwargs: dict | None = None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:
    """``torch.func.functional_call``: ``module(*args, **kwargs)`` with the named parameters and buffers
    taken from ``parameter_and_buffer_dicts`` (a dict, or a sequence of dicts with distinct keys)
    for this call only. With ``tie_weights`` a value given for one of several tied names is used for
    all of them; ``strict`` requires exactly the module's names. ``args`` that is not a tuple is the
    single positional argument.

    Example:
        >>> import ember
        >>> lin = ember.nn.Linear(2, 1)
        >>> params = {"weight": ember.ones(1, 2), "bias": ember.zeros(1)}
        >>> ember.func.functional_call(lin, params, (ember.tensor([1.0, 2.0]),))
        tensor([3.])
    """
    values = _merge(parameter_and_buffer_dicts)
    if strict:
        _check_strict(module, _with_ties(module, values, tie_weights))
    values = _with_ties(module, values, tie_weights)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize(module, values):
        return module(*args, **(kwargs or {}))
