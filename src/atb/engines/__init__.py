"""atb.engines."""
