# Minimal stubs for the parts of plotly that atb calls (plotly ships no type hints).
__version__: str
