"""atb.dashboard: a read-only web dashboard of live sessions (`atb dashboard`,
docs/concepts/dashboard.md).

It reads session stores read-only and serves one page that polls two JSON documents: every
session with its liveness (`atb.persistence.liveness`) and figures, and one session's charts,
position, trades, events, health, account and parity badge. It sits above the engines (the
parity badge replays a session through the backtest) and below the CLI.
"""
