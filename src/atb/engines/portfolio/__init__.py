"""A portfolio: many symbols trading from one account, stepped one bar time at a time."""
