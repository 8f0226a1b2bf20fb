"""Parity of a live portfolio: the portfolio backtest of exactly the candles its members stored.

Each member session holds the warm-up history it started with and every bar it processed;
together they are the portfolio's candles (a bar a symbol did not have at a bar time — a gap, a
late bar stepped without — is missing from both sides alike). `backtest_portfolio` runs them
through `run_portfolio_backtest` with the portfolio's own id prefix, config, parameters and
model; `compare_portfolio` diffs every member's event stream with the backtest's events of that
symbol, the account's own events (tiers, the latch) with the backtest's, and the portfolio's
equity at every bar time.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from atb.data.instruments import ResolvedInstrument
from atb.data.portfolio import assemble_portfolio
from atb.domain.errors import AtbError, StrategyError
from atb.engines.parity import (
    Divergence,
    ParityReport,
    diff_events,
    session_candles,
    session_instrument,
)
from atb.engines.portfolio.backtest import PortfolioRequest, run_portfolio_backtest
from atb.persistence.portfolio_store import PortfolioRecord, PortfolioStore
from atb.persistence.store import SessionStore
from atb.results import PortfolioResult
from atb.strategies.protocol import ModelBacked, Strategy
from atb.strategies.registry import StrategyContext, create_strategy

__all__ = ["backtest_portfolio", "compare_portfolio"]


def backtest_portfolio(
    store: SessionStore,
    portfolio: PortfolioRecord,
    *,
    model_dir: Path | None = None,
    overlap_allowed: bool = False,
) -> PortfolioResult:
    """The portfolio backtest of exactly the candles, rules, config and model the live
    portfolio ran with."""
    candles = {}
    instruments: dict[str, ResolvedInstrument] = {}
    strategies: dict[str, Strategy] = {}
    for symbol in portfolio.symbols:
        session = store.get_session(portfolio.members[symbol])
        candles[symbol] = session_candles(store, session)
        instruments[symbol] = session_instrument(session)
        context = StrategyContext(symbol=symbol, timeframe=portfolio.timeframe, model_dir=model_dir)
        strategy = create_strategy(portfolio.strategy, dict(portfolio.params), context)
        if isinstance(strategy, ModelBacked) and portfolio.model_id is not None:
            found = strategy.model_artifact.artifact_id
            if found != portfolio.model_id:
                raise StrategyError(
                    f"portfolio {portfolio.id} ran model {portfolio.model_id}, but the model "
                    f"directory now holds {found}; point --model-dir at the portfolio's model"
                )
        strategies[symbol] = strategy
    request = PortfolioRequest(
        strategies=strategies,
        candles=assemble_portfolio(candles, instruments),
        config=portfolio.run_configuration(),
        initial_balance=portfolio.initial_balance,
        overlap_allowed=overlap_allowed,
        id_prefix=portfolio.id_prefix,
    )
    return run_portfolio_backtest(request)


def compare_portfolio(
    store: SessionStore,
    portfolio_id: int | None = None,
    *,
    model_dir: Path | None = None,
    limit: int = 10,
    overlap_allowed: bool = False,
) -> ParityReport:
    """Diff a live portfolio (default: the latest) with its backtest: every member's events,
    the account's events and the equity at every bar time; keep the first `limit`
    divergences."""
    portfolios = PortfolioStore(store)
    portfolio = portfolios.latest() if portfolio_id is None else portfolios.get(portfolio_id)
    if portfolio is None:
        raise AtbError(f"no live portfolio in {store.path}")
    points = portfolios.steps(portfolio.id)
    if not points:
        raise AtbError(
            f"portfolio {portfolio.id} in {store.path} has not processed any bar time yet"
        )
    result = backtest_portfolio(
        store, portfolio, model_dir=model_dir, overlap_allowed=overlap_allowed
    )
    divergences: list[Divergence] = []
    total = 0
    compared = 0
    for symbol in portfolio.symbols:
        live = store.events(portfolio.members[symbol])
        backtest = [event for owner, event in result.events if owner == symbol]
        compared += len(live)
        total += diff_events(f"events {symbol}", live, backtest, divergences, limit)
    account = portfolios.events(portfolio.id)
    compared += len(account)
    total += diff_events(
        "account events",
        account,
        [event for owner, event in result.events if owner is None],
        divergences,
        limit,
    )
    curve = result.equity
    for index in range(max(len(points), len(curve.equity))):
        live_value = points[index].equity if index < len(points) else None
        backtest_value = float(curve.equity[index]) if index < len(curve.equity) else None
        live_time = int(pd.Timestamp(points[index].time).value) if index < len(points) else None
        backtest_time = int(curve.times_ns[index]) if index < len(curve.times_ns) else None
        if live_value != backtest_value or live_time != backtest_time:
            total += 1
            if len(divergences) < limit:
                time = points[index].time if index < len(points) else None
                divergences.append(
                    Divergence("equity", index, time, repr(live_value), repr(backtest_value))
                )
    warmup = min(part.data.warmup_bars for part in result.symbols)
    return ParityReport(
        session_id=portfolio.id,
        bars=len(points),
        events=compared,
        divergences=tuple(divergences),
        total_divergences=total,
        warmup_bars=warmup,
        portfolio=True,
    )
