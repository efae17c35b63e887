"""Prometheus metrics and the health answers of ``cites-connector serve`` (issue 14)."""
