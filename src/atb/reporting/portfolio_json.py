"""`result.json` of a portfolio backtest: a `PortfolioResult` as a stable, documented JSON
document (docs/results-portfolio.md).

The rules are `result.json`'s (`atb.reporting.result_json`): `schema_version` first (then
`kind: "portfolio"`, which tells this layout from a single-symbol run's), keys in a fixed
order, strategy parameters sorted by name, the configuration in `config_to_dict` order, floats
in Python's shortest round-trip form, NaN and infinities `null`, times ISO 8601 UTC with `Z`,
enums by value. A trade, a leg and an open position are spelled exactly as in a single-symbol
`result.json` (the same functions write them); a symbol's `data` and `instrument` have the
same keys as there. The only field that differs between two runs of the same inputs is
`run.created_at`.
"""

from __future__ import annotations

import numpy as np

from atb.reporting.json_text import json_text
from atb.reporting.jsonable import (
    JsonValue,
    finite_or_none,
    iso_utc,
    iso_utc_ns,
    plain,
    sorted_plain,
)
from atb.reporting.portfolio_derived import (
    basket_equity,
    event_counts,
    exit_reason_counts,
    portfolio_drawdown,
    rejection_counts,
    rejections_by_symbol,
    symbol_stats,
)
from atb.reporting.result_files import EquityFormat
from atb.reporting.result_json import open_position_to_dict, trade_to_dict
from atb.results import DataInfo, InstrumentInfo, PortfolioResult, SymbolPart

__all__ = ["KIND", "PORTFOLIO_SCHEMA_VERSION", "portfolio_to_dict", "portfolio_to_json"]

PORTFOLIO_SCHEMA_VERSION = 1
"""Version of the portfolio `result.json` layout (see docs/results-portfolio.md)."""

KIND = "portfolio"
"""The `kind` of a portfolio `result.json` (a single-symbol run's file has no `kind`)."""


def portfolio_to_dict(
    result: PortfolioResult, *, equity_format: EquityFormat = EquityFormat.CSV
) -> dict[str, JsonValue]:
    """Everything in `result` as JSON-ready values, keys in the documented order."""
    ambiguity = result.ambiguity
    return {
        "schema_version": PORTFOLIO_SCHEMA_VERSION,
        "kind": KIND,
        "run": {
            "created_at": iso_utc(result.run.created_at),
            "atb_version": result.run.atb_version,
        },
        "strategy": {
            "name": result.strategy.name,
            "parameters": sorted_plain(result.strategy.parameters),
            "model_id": result.strategy.model_id,
            "model_path": result.strategy.model_path,
            "overlap_allowed": result.strategy.overlap_allowed,
        },
        "config": plain(result.config),
        "initial_balance": finite_or_none(result.initial_balance),
        "quote_asset": result.quote_asset,
        "timeframe": result.timeframe,
        "closed_at_end": result.closed_at_end,
        "warnings": list(result.warnings),
        "symbols": [_symbol(part) for part in result.symbols],
        "metrics": {
            key: finite_or_none(value) if isinstance(value, float) else value
            for key, value in result.metrics.as_dict().items()
        },
        "ambiguity": {
            "bars": ambiguity.bars,
            "pessimistic_pnl": finite_or_none(ambiguity.pessimistic_pnl),
            "optimistic_pnl": finite_or_none(ambiguity.optimistic_pnl),
            "pnl_range": finite_or_none(ambiguity.optimistic_pnl - ambiguity.pessimistic_pnl),
        },
        "correlation": {
            "symbols": [part.symbol for part in result.symbols],
            "matrix": [[finite_or_none(value) for value in row] for row in result.correlation],
        },
        "exposure": _exposure(result),
        "exit_reasons": dict(exit_reason_counts(result)),
        "rejections": [
            {
                "reason": item.reason,
                "count": item.count,
                "first_detail": item.example,
                "by_symbol": dict(rejections_by_symbol(result, item.reason)),
            }
            for item in rejection_counts(result)
        ],
        "event_counts": dict(event_counts(result)),
        "equity_curve": _equity_summary(result, equity_format.file_name),
        "trades": [trade_to_dict(trade) for trade in result.trades],
    }


def portfolio_to_json(
    result: PortfolioResult, *, equity_format: EquityFormat = EquityFormat.CSV
) -> str:
    """`portfolio_to_dict` as the text of `result.json` (`json_text`: objects indented, each
    trade and event on one line). `equity_curve.file` names the curve's file in
    `equity_format`."""
    return json_text(portfolio_to_dict(result, equity_format=equity_format))


def _symbol(part: SymbolPart) -> dict[str, JsonValue]:
    stats = symbol_stats(part)
    return {
        "symbol": part.symbol,
        "data": _data(part.data),
        "instrument": _instrument(part.instrument),
        "n_trades": stats.trades,
        "n_wins": stats.wins,
        "win_rate": finite_or_none(stats.win_rate),
        "net_pnl": finite_or_none(stats.net_pnl),
        "contribution": finite_or_none(stats.contribution),
        "fees": finite_or_none(stats.fees),
        "ambiguous_bars": stats.ambiguous_bars,
        "missing": [iso_utc(time) for time in part.missing],
        "model_id": part.model_id,
        "open_position": None
        if part.open_position is None
        else open_position_to_dict(part.open_position),
    }


def _data(data: DataInfo) -> dict[str, JsonValue]:
    # The keys of result_json's `data` (its helper takes a whole BacktestResult).
    return {
        "symbol": data.symbol,
        "timeframe": data.timeframe,
        "start": iso_utc(data.start),
        "end": iso_utc(data.end),
        "bars": data.bars,
        "warmup_bars": data.warmup_bars,
        "fingerprint": data.fingerprint,
        "source": data.source,
        "synthetic": data.synthetic,
        "gaps": [
            {"start": iso_utc(start), "end": iso_utc(end), "missing_bars": missing}
            for start, end, missing in data.gaps
        ],
        "file": data.file,
        "notes": list(data.notes),
        "suspicious_bars": list(data.suspicious),
        "dropped_bars": list(data.dropped),
        "drop_outliers": data.drop_outliers,
        "detail": None
        if data.detail is None
        else {
            "timeframe": data.detail.timeframe,
            "fingerprint": data.detail.fingerprint,
            "file": data.detail.file,
        },
    }


def _instrument(info: InstrumentInfo) -> dict[str, JsonValue]:
    # The keys of result_json's `instrument` (its helper takes a whole BacktestResult).
    instrument = info.instrument
    return {
        "symbol": instrument.symbol,
        "tick_size": instrument.tick_size,
        "lot_step": instrument.lot_step,
        "min_quantity": instrument.min_quantity,
        "min_notional": instrument.min_notional,
        "base_asset": instrument.base_asset,
        "quote_asset": instrument.quote_asset,
        "source": info.source,
        "warnings": list(info.warnings),
    }


def _exposure(result: PortfolioResult) -> dict[str, JsonValue]:
    total = np.asarray(result.equity.exposure, dtype=np.float64)
    stats = [symbol_stats(part) for part in result.symbols]
    return {
        "max_total": finite_or_none(float(total.max())) if total.size else None,
        "mean_total": finite_or_none(float(total.mean())) if total.size else None,
        "max_by_symbol": {item.symbol: finite_or_none(item.max_exposure) for item in stats},
        "mean_by_symbol": {item.symbol: finite_or_none(item.mean_exposure) for item in stats},
    }


def _equity_summary(result: PortfolioResult, file_name: str) -> dict[str, JsonValue]:
    # The keys of result_json's `equity_curve`; `buy_and_hold_final` is the basket's.
    curve = result.equity
    equity = np.asarray(curve.equity, dtype=np.float64)
    if equity.size == 0:
        empty: dict[str, JsonValue] = dict.fromkeys(_EQUITY_SUMMARY_KEYS)
        return {**empty, "file": file_name, "bars": 0}
    start, end = iso_utc_ns(np.asarray(curve.times_ns, dtype=np.int64)[[0, -1]])
    dd = portfolio_drawdown(result)
    return {
        "file": file_name,
        "bars": int(equity.size),
        "start": start,
        "end": end,
        "final": finite_or_none(float(equity[-1])),
        "peak": finite_or_none(float(equity.max())),
        "trough": finite_or_none(float(equity.min())),
        "max_drawdown": finite_or_none(float(dd.max())),
        "final_drawdown": finite_or_none(float(dd[-1])),
        "max_exposure": finite_or_none(float(np.asarray(curve.exposure).max())),
        "buy_and_hold_final": finite_or_none(float(basket_equity(result)[-1])),
    }


_EQUITY_SUMMARY_KEYS = (
    "file",
    "bars",
    "start",
    "end",
    "final",
    "peak",
    "trough",
    "max_drawdown",
    "final_drawdown",
    "max_exposure",
    "buy_and_hold_final",
)
