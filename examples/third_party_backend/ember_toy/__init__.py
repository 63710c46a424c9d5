"""ember-toy-backend: the example third-party backend (device type ``toy``).

Example:
    >>> import ember, ember_toy.plugin
    >>> ember.plugins.register(ember_toy.plugin)
    >>> (ember.ones(2, device="toy") + 1).tolist()
    [2.0, 2.0]
    >>> ember.plugins.unregister(ember_toy.plugin)
"""

__all__ = ["ToyArray"]

from ember_toy.array import ToyArray  # noqa: E402
