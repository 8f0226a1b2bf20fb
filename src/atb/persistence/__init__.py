"""atb.persistence."""
