"""atb.engines.live."""
