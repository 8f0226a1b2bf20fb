"""Execution venues: where orders become fills (the simulated venue; exchanges later)."""
