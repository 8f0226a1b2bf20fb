"""Portfolio backtest throughput: cost per symbol × bar for 1, 5 and 20 symbols.

Each symbol is its own seeded synthetic series (`benchmarks.synthetic`, a different seed per
symbol, priced like a BTC-quoted pair), all on one time axis; `sma_cross` 10/30 with a 2 % stop
and a 4 % target per symbol, `risk.max_position=0.2`, no drawdown latch (the symbols keep
trading to the end). The cost of a run should grow with symbols × bars — the ratio column is
µs per symbol-bar against the one-symbol portfolio. The real five BTC-quoted pairs of
`../shared/data/portfolio/` are timed too when present.

    .venv/bin/python -m benchmarks.bench_portfolio             # 20,000 bars per symbol
    .venv/bin/python -m benchmarks.bench_portfolio --bars 5000 --rounds 1
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

from atb.config import config_from_assignments
from atb.data.candles import ValidatedCandles
from atb.data.instruments import ResolvedInstrument
from atb.data.portfolio import PortfolioCandles, assemble_portfolio, load_portfolio
from atb.data.validation import validate_candles
from atb.domain.instruments import Instrument
from atb.engines.portfolio.backtest import PortfolioRequest, run_portfolio_backtest
from atb.strategies.registry import StrategyContext, create_strategy
from benchmarks.synthetic import synthetic_minutes

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "portfolio"
CONFIG = ["risk.max_position=0.2", "risk.max_drawdown=None"]
PARAMS = {"fast": 10, "slow": 30, "stop_loss": 0.02, "take_profit": 0.04}


def _pair(bars: int, seed: int) -> ValidatedCandles:
    """A synthetic minute series scaled to a BTC-quoted pair's price (~0.04 BTC)."""
    frame = synthetic_minutes(bars, seed=seed).frame.copy()
    for column in ("open", "high", "low", "close"):
        frame[column] = (frame[column] / 1_000_000.0).round(6)
    frame["high"] = frame[["open", "high", "close"]].max(axis=1)
    frame["low"] = frame[["open", "low", "close"]].min(axis=1)
    return validate_candles(frame, source=f"synthetic seed {seed}", timeframe="1m")


def synthetic_portfolio(symbols: int, bars: int) -> PortfolioCandles:
    """`symbols` synthetic pairs of `bars` minutes each, BTC-quoted."""
    candles = {}
    rules = {}
    for index in range(symbols):
        name = f"S{index:02d}BTC"
        candles[name] = _pair(bars, seed=100 + index)
        rules[name] = ResolvedInstrument(
            Instrument(
                symbol=name,
                tick_size=0.000001,
                lot_step=0.001,
                min_notional=0.0001,
                quote_asset="BTC",
            ),
            "benchmark",
        )
    return assemble_portfolio(candles, rules)


def measure(name: str, portfolio: PortfolioCandles, rounds: int) -> float:
    """Best of `rounds` runs; prints one line and returns µs per symbol-bar."""
    config = config_from_assignments(CONFIG)
    symbol_bars = sum(len(portfolio.candles[symbol]) for symbol in portfolio.symbols)
    best = float("inf")
    trades = 0
    for _ in range(rounds):
        strategies = {
            symbol: create_strategy("sma_cross", PARAMS, StrategyContext(symbol, "1m", None))
            for symbol in portfolio.symbols
        }
        gc.collect()
        started = time.perf_counter()
        result = run_portfolio_backtest(
            PortfolioRequest(
                strategies=strategies, candles=portfolio, config=config, initial_balance=1.0
            )
        )
        best = min(best, time.perf_counter() - started)
        trades = len(result.trades)
    per = best / symbol_bars * 1e6
    print(
        f"{name:<34} {len(portfolio.symbols):>3} symbols {len(portfolio.times):>8,} times "
        f"{symbol_bars:>10,} symbol-bars  {best:7.3f} s  {per:6.2f} µs/symbol-bar  "
        f"trades {trades:>6,}"
    )
    return per


def main() -> None:
    """Run the cases and print the scaling ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=20_000, help="bars per symbol")
    parser.add_argument("--rounds", type=int, default=3, help="runs per case (best is kept)")
    args = parser.parse_args()
    base = None
    for count in (1, 5, 20):
        per = measure(
            f"synthetic 1m, {count} symbol(s)", synthetic_portfolio(count, args.bars), args.rounds
        )
        base = base or per
        print(f"{'':<34} ratio to 1 symbol: {per / base:.2f}× per symbol-bar")
    if SHARED.is_dir():
        symbols = ["DASHBTC", "ETHBTC", "LTCBTC", "XMRBTC", "ZECBTC"]
        real = load_portfolio(symbols, "5m", data=[SHARED], warmup=30)
        measure("real BTC pairs 5m (shared/data)", real, args.rounds)
    else:
        print(f"(the real pairs are not at {SHARED}: skipped)")


if __name__ == "__main__":
    main()
