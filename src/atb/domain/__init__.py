"""The pure domain model: value objects, Protocols and arithmetic on them.

Nothing here does IO, reads a clock, logs or imports pandas; only the standard library and attrs.
"""
