"""The backtest engine: replays validated candles through the shared kernel."""

from atb.engines.backtest.engine import BacktestRequest, run_backtest

__all__ = ["BacktestRequest", "run_backtest"]
