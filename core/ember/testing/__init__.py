"""``ember.testing``: PyTorch's ``torch.testing`` (``assert_close``, ``make_tensor``). Issue #14 section 4."""

__all__: list[str] = []
