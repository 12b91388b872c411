"""Outbound webhooks: Standard Webhooks signing and the answer-to-outcome rules (pure code)."""
