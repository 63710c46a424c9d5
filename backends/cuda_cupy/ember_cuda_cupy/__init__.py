"""ember's CUDA backend on CuPy: registers the ``cuda`` device type.

Install with ``pip install 'ember[cuda]'`` (CUDA 12) or ``'ember[cuda13]'``. Without CuPy or
without a GPU the backend still registers, and ``ember devices`` says why it is unavailable.

Example:
    >>> import ember
    >>> isinstance(ember.cuda.is_available(), bool)
    True
"""

__version__ = "0.1.0"

__all__: list[str] = []
