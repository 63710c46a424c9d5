"""``ember.testing``: PyTorch's ``torch.testing`` (``assert_close``, ``make_tensor``). Issue #14 section 4.

Example:
    >>> import ember
    >>> ember.testing.assert_close(ember.tensor([1.0]), ember.tensor([1.0]))
"""

from ember.testing._comparison import assert_close
from ember.testing._creation import make_tensor

__all__ = ["assert_close", "make_tensor"]
