"""`result.json`: a `BacktestResult` as a stable, documented JSON document (docs/results.md).

Rules that keep the file stable and diffable:

- `schema_version` comes first; it changes only when a key is renamed, removed or changes
  meaning (adding keys does not bump it).
- Keys appear in a fixed order (the order this module builds them); strategy parameters are
  sorted by name; the configuration keeps `config_to_dict`'s declaration order.
- Floats are JSON numbers in Python's shortest round-trip form; NaN and infinities are `null`
  (`json.dumps(allow_nan=False)` would refuse to write them, so a slip fails loudly).
- Times are ISO 8601 UTC with a `Z` suffix; enums are written by value.
- The only field that differs between two runs of the same inputs is `run.created_at`.
"""

from __future__ import annotations

import attrs
import numpy as np
from attrs import AttrsInstance

from atb.domain.fills import Fill
from atb.domain.models import Trade
from atb.reporting.assumptions import result_assumptions
from atb.reporting.derived import (
    CLOSED,
    OPEN,
    buy_and_hold_equity,
    clamped_fills,
    close_only_latches,
    count_by,
    drawdown,
    exit_reason_counts,
    monthly_returns,
    rejection_counts,
    stop_moves,
    tier_changes,
)
from atb.reporting.json_text import json_text
from atb.reporting.jsonable import (
    JsonValue,
    finite_or_none,
    iso_utc,
    iso_utc_ns,
    plain,
    sorted_plain,
)
from atb.reporting.result_files import EquityFormat
from atb.results import BacktestResult, OpenPosition

SCHEMA_VERSION = 1
"""Version of the `result.json` layout (see docs/results.md)."""

_SECONDS_PER_HOUR = 3600.0


def result_to_dict(
    result: BacktestResult, *, equity_format: EquityFormat = EquityFormat.CSV
) -> dict[str, JsonValue]:
    """Everything in `result` as JSON-ready values, keys in the documented order."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "created_at": iso_utc(result.run.created_at),
            "atb_version": result.run.atb_version,
        },
        "data": _data(result),
        "strategy": {
            "name": result.strategy.name,
            "parameters": sorted_plain(result.strategy.parameters),
            "model_id": result.strategy.model_id,
            "model_path": result.strategy.model_path,
            "overlap_allowed": result.strategy.overlap_allowed,
        },
        "config": plain(result.config),
        "policies": [
            {
                "attached": use.attached,
                "trailing": _policy(use.policies.trailing),
                "partials": _policy(use.policies.partials),
                "time_exit": _policy(use.policies.time_exit),
            }
            for use in result.policies
        ],
        "instrument": _instrument(result),
        "initial_balance": finite_or_none(result.initial_balance),
        "closed_at_end": result.closed_at_end,
        "warnings": list(result.warnings),
        "metrics": {
            key: finite_or_none(value) if isinstance(value, float) else value
            for key, value in result.metrics.as_dict().items()
        },
        "ambiguity": {
            "bars": result.ambiguity.bars,
            "pessimistic_pnl": finite_or_none(result.ambiguity.pessimistic_pnl),
            "optimistic_pnl": finite_or_none(result.ambiguity.optimistic_pnl),
            "pnl_range": finite_or_none(
                result.ambiguity.optimistic_pnl - result.ambiguity.pessimistic_pnl
            ),
        },
        "exit_reasons": dict(exit_reason_counts(result)),
        "clamped_fills": clamped_fills(result),
        "zero_volume_fills": result.zero_volume_fills,
        "rejections": [
            {"reason": item.reason, "count": item.count, "first_detail": item.example}
            for item in rejection_counts(result)
        ],
        "dynamic_risk": _dynamic_risk(result),
        "stop_moves": {
            "count": len(stop_moves(result)),
            "by_cause": dict(count_by([event.cause for event in stop_moves(result)])),
        },
        "equity_curve": _equity_summary(result, equity_format.file_name),
        "monthly_returns": [
            {"month": month.label, "return": finite_or_none(month.value)}
            for month in monthly_returns(result)
        ],
        "event_counts": dict(count_by([event.kind for event in result.events])),
        "open_position": None
        if result.open_position is None
        else open_position_to_dict(result.open_position),
        "trades": [trade_to_dict(trade) for trade in result.trades],
        "assumptions": [dict(item.as_dict()) for item in result_assumptions(result)],
    }


def result_to_json(
    result: BacktestResult, *, equity_format: EquityFormat = EquityFormat.CSV
) -> str:
    """`result_to_dict` as the text of `result.json` (`json_text`: objects indented, each
    trade on one line). `equity_curve.file` names the curve's file in `equity_format`."""
    return json_text(result_to_dict(result, equity_format=equity_format))


def _policy(policy: AttrsInstance | None) -> JsonValue:
    """One section of a position's policies as its fields (None when off)."""
    if policy is None:
        return None
    return {field.name: plain(getattr(policy, field.name)) for field in attrs.fields(type(policy))}


def _instrument(result: BacktestResult) -> dict[str, JsonValue]:
    instrument = result.instrument.instrument
    return {
        "symbol": instrument.symbol,
        "tick_size": instrument.tick_size,
        "lot_step": instrument.lot_step,
        "min_quantity": instrument.min_quantity,
        "min_notional": instrument.min_notional,
        "base_asset": instrument.base_asset,
        "quote_asset": instrument.quote_asset,
        "source": result.instrument.source,
        "warnings": list(result.instrument.warnings),
    }


def _data(result: BacktestResult) -> dict[str, JsonValue]:
    data = result.data
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


def _dynamic_risk(result: BacktestResult) -> dict[str, JsonValue]:
    latches = close_only_latches(result)
    return {
        "tier_changes": [
            {
                "time": iso_utc(event.time),
                "old_tier": event.old_tier,
                "new_tier": event.new_tier,
                "factor": finite_or_none(event.factor),
                "drawdown": finite_or_none(event.drawdown),
            }
            for event in tier_changes(result)
        ],
        "close_only_since": iso_utc(latches[0].time) if latches else None,
    }


def _equity_summary(result: BacktestResult, file_name: str) -> dict[str, JsonValue]:
    curve = result.equity
    equity = np.asarray(curve.equity, dtype=np.float64)
    if equity.size == 0:
        empty: dict[str, JsonValue] = dict.fromkeys(_EQUITY_SUMMARY_KEYS)
        return {**empty, "file": file_name, "bars": 0}
    start, end = iso_utc_ns(np.asarray(curve.times_ns, dtype=np.int64)[[0, -1]])
    dd = drawdown(equity, result.initial_balance)
    hold = buy_and_hold_equity(np.asarray(curve.close, dtype=np.float64), result.initial_balance)
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
        "buy_and_hold_final": finite_or_none(float(hold[-1])),
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


def _leg(fill: Fill) -> dict[str, JsonValue]:
    return {
        "time": iso_utc(fill.time),
        "kind": fill.kind.value,
        "action": fill.action.value,
        "price": finite_or_none(fill.price),
        "quantity": finite_or_none(fill.quantity),
        "fee": finite_or_none(fill.fee),
        "slippage": finite_or_none(fill.slippage),
        "liquidity": fill.liquidity.value,
        "order_id": fill.order_id,
        "reason": fill.reason,
    }


def trade_to_dict(trade: Trade) -> dict[str, JsonValue]:
    """One closed trade with its legs, as `result.json` spells it."""
    return {
        "trade_id": trade.trade_id,
        "status": CLOSED,
        "symbol": trade.symbol,
        "side": trade.side.value,
        "entry_time": iso_utc(trade.entry_time),
        "exit_time": iso_utc(trade.exit_time),
        "holding_hours": finite_or_none(trade.holding_time.total_seconds() / _SECONDS_PER_HOUR),
        "entry_price": finite_or_none(trade.entry_price),
        "exit_price": finite_or_none(trade.exit_price),
        "quantity": finite_or_none(trade.quantity),
        "gross_pnl": finite_or_none(trade.gross_pnl),
        "fees": finite_or_none(trade.fees),
        "slippage": finite_or_none(trade.slippage),
        "net_pnl": finite_or_none(trade.pnl),
        "return_pct": finite_or_none(trade.return_pct),
        "exit_reason": trade.exit_reason,
        "exit": trade.exit.value,
        "partial_exits": trade.partial_exits,
        "scale_ins": trade.scale_ins,
        "best_price": finite_or_none(trade.best_price),
        "worst_price": finite_or_none(trade.worst_price),
        "legs": [_leg(fill) for fill in trade.legs],
    }


def open_position_to_dict(open_position: OpenPosition) -> dict[str, JsonValue]:
    """A position still open at the end, marked at the last close, as `result.json` spells it."""
    position = open_position.position
    return {
        "position_id": position.position_id,
        "status": OPEN,
        "symbol": position.symbol,
        "side": position.side.value,
        "entry_time": iso_utc(position.entry_time),
        "entry_price": finite_or_none(position.entry_price),
        "first_entry_price": finite_or_none(position.first_entry_price),
        "quantity": finite_or_none(position.quantity),
        "original_quantity": finite_or_none(position.original_quantity),
        "stop_loss": finite_or_none(position.stop_loss),
        "take_profit": finite_or_none(position.take_profit),
        "trailing_active": position.trailing_active,
        "breakeven_active": position.breakeven_active,
        "partial_exits_taken": position.partial_exits_taken,
        "scale_ins_taken": position.scale_ins_taken,
        "best_price": finite_or_none(position.best_price),
        "worst_price": finite_or_none(position.worst_price),
        "realized_pnl": finite_or_none(position.realized_pnl),
        "fees_paid": finite_or_none(position.fees_paid),
        "slippage_paid": finite_or_none(position.slippage_paid),
        "mark_time": iso_utc(open_position.mark_time),
        "mark_price": finite_or_none(open_position.mark_price),
        "unrealized_pnl": finite_or_none(open_position.unrealized_pnl),
        "net_pnl": finite_or_none(open_position.net_pnl),
        "legs": [_leg(fill) for fill in position.legs],
    }
