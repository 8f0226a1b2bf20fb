"""Real execution: the `ExchangeVenue` over ccxt, the orders that protect a position on the
exchange, and the client that handles the exchange's faults (docs/concepts/live-trading.md)."""
