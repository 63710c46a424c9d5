"""``ember._dynamo``: the few names of PyTorch's private ``torch._dynamo`` that tutorials and
programs touch, mapped onto :mod:`ember.compiler` (``reset``, ``disable``, ``is_compiling``) and a
``config`` module whose flags are accepted and ignored (ember's compiler has no such knobs).

Example:
    >>> import ember._dynamo
    >>> ember._dynamo.config.inline_inbuilt_nn_modules = True
    >>> ember._dynamo.reset()
"""

from ember._dynamo import config
from ember.compiler import disable, is_compiling, reset

__all__ = ["config", "disable", "is_compiling", "reset"]
