"""``ember.version``, shaped as ``torch.version``: code branches on ``torch.version.cuda`` (None on a
build without CUDA) and prints ``torch.version.git_version``.

ember's frontend is the same whichever backends are installed, so ``cuda``/``hip``/``rocm``/``xpu``
are None, as on PyTorch's CPU build (``ember.cuda.is_available()`` says whether the CUDA backend can
run); ``git_version`` is "unknown" (ember's wheels carry no commit).

Example:
    >>> import ember
    >>> ember.version.__version__ == ember.__version__, ember.version.cuda
    (True, None)
"""

from __future__ import annotations

__all__ = ["__version__", "debug", "cuda", "git_version", "hip", "rocm", "xpu"]

from ember import __version__

debug = False
cuda: str | None = None
git_version = "unknown"
hip: str | None = None
rocm: str | None = None
xpu: str | None = None
