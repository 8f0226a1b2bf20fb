"""The live engine: the shared kernel fed by closed candles as they arrive (paper trading)."""
