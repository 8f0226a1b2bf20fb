"""atb: a typed, protocol-first crypto trading framework.

One domain model and one set of position managers serve two engines (backtest and live), so the
same candles give the same trades in both.
"""

__version__ = "0.1.0"
