"""``ember.distributions``: PyTorch's ``torch.distributions`` (sample, rsample, log_prob, entropy, kl_divergence).

Issue #14 section 4."""

__all__: list[str] = []
