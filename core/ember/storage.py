"""``ember.storage``: the storage classes (``torch.storage``'s address for them).

Example:
    >>> import ember
    >>> s = ember.ones(3).untyped_storage()
    >>> isinstance(s, ember.storage.UntypedStorage), s.nbytes(), ember.is_storage(s)
    (True, 12, True)
"""

from __future__ import annotations

from ember.functions.torch_surface import TypedStorage, UntypedStorage

__all__ = ["TypedStorage", "UntypedStorage"]
