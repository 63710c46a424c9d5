"""Checks on tensor *values* (index bounds, class targets, probabilities) that stay checks when compiled.

PyTorch's semantics need some checks that read device data: a class target out of range must
raise, not read past a row. Eagerly that is one small host read. Under ``ember.compile`` a host
read would end the graph (a replay runs no Python, so it cannot look at values); instead the check
is recorded as a node of the graph, and every replay repeats it: the flag is computed by kernels
on the device, read back, and the same error is raised from the same host values.

``make_error(*host_arrays)`` builds the exception from the arrays (copied to the host) that the
message names, so a replay's error names the replay's values.

Example:
    >>> import ember
    >>> from ember._device_checks import check
    >>> x = ember.tensor([1, 5])
    >>> kt = x._kt
    >>> try:
    ...     check(kt, kt["any"](kt["ge"](x._data, 3), (0,), False), lambda h: IndexError(f"{h.max()} >= 3"), x._data)
    ... except IndexError as e:
    ...     print(e)
    5 >= 3
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: set by ``ember.compiler`` while it captures: ``hook(kt, flag, make_error, arrays)`` records the
#: check and runs it
HOOK: list = [None]


def check(kt: Any, flag: Any, make_error: Callable[..., Exception], *arrays: Any) -> None:
    """Raise ``make_error(*host copies of arrays)`` when the 0-d device array ``flag`` is true."""
    hook = HOOK[0]
    if hook is not None:
        hook(kt, flag, make_error, arrays)
        return
    if kt.device_type == "meta":  # no values to check (PyTorch's meta kernels check shapes only)
        return
    if kt["to_host"](flag):
        raise make_error(*[kt["to_host"](a) for a in arrays])


def out_of_range(kt: Any, data: Any, low: int, high: int) -> Any:
    """The device flag "some value of ``data`` is outside [low, high)" (a 0-d bool array)."""
    bad = kt["logical_or"](kt["lt"](data, low), kt["ge"](data, high))
    return kt["any"](bad, tuple(range(bad.ndim)), False) if bad.ndim else bad


def compiling() -> bool:
    """True while ``ember.compile`` captures: value-reading code takes its device-side path."""
    return HOOK[0] is not None
