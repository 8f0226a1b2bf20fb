"""atb.reporting."""
