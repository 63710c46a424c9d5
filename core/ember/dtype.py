"""Compatibility alias: the dtype objects live in :mod:`ember.dtypes` (``ember.dtype`` is the class)."""

from ember.dtypes import *  # noqa: F403
from ember.dtypes import __all__  # noqa: F401
