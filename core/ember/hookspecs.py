"""The plugin contract for backend authors, as pluggy hook specifications.

A backend package registers a module (or object) under the entry-point group
``ember.backends``; ember loads it and calls these hooks once, at registration time. Per-op
dispatch never calls a hook: the kernels returned here are merged into a plain dict.

Example ``pyproject.toml`` of a backend::

    [project.entry-points."ember.backends"]
    mydev = "ember_mydev.plugin"

and ``ember_mydev/plugin.py``::

    from ember.hookspecs import hookimpl

    @hookimpl
    def ember_backend():
        return MyDevBackend()          # an ember.backend.Backend subclass

    @hookimpl
    def ember_kernels(device_type):
        if device_type == "mydev":
            return {"add": my_add, "matmul": my_matmul}
"""

from __future__ import annotations

import pluggy

PROJECT = "ember"
hookspec = pluggy.HookspecMarker(PROJECT)
#: decorate hook implementations with this; ``@hookimpl(tryfirst=True)`` gives a plugin's
#: kernels priority over those of plugins registered without it.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ember_backend():
    """Return an :class:`ember.backend.Backend` for the device type this plugin owns.

    Return None from plugins that only add kernels to a device type owned by another plugin.
    A device type belongs to the first plugin that registers it: a plugin claiming one that is
    taken, returning something other than a ``Backend``, or raising (even ``SystemExit``) is
    switched off whole, kernels included, with a warning and a row in ``ember devices``.
    """


@hookspec
def ember_kernels(device_type: str):
    """Return a dict ``{kernel_name: callable}`` of kernels for ``device_type``, or None.

    Several plugins may return kernels for the same device type. Where two provide the same
    name, the one called first wins: pluggy calls ``tryfirst`` implementations first and
    ``trylast`` ones last, otherwise the most recently registered first. Names and
    signatures are listed in :mod:`ember.kernels` and ``docs/kernel-contract.md``.

    Called once per device type, when its kernel table is built; kernels may later be called
    from several threads at once. A plugin whose hook raises or returns anything but a mapping
    of names to callables is switched off (a warning and a row in ``ember devices``), and so is
    a backend left without ``from_host``, ``to_host`` or ``device_index``.
    """


@hookspec
def ember_transfer(src_type: str, dst_type: str):
    """Optionally return ``copy(array, dst_index) -> array`` moving data directly between two
    device types (for example over DLPack), skipping the host. Return None otherwise."""
