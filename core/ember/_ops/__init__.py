"""The op registry (``registry``) and the PyTorch coverage page generated from it (``coverage``)."""
