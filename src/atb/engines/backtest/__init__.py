"""atb.engines.backtest."""
