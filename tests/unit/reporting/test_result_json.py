"""`result.json`: the documented keys in their fixed order, exact values, determinism, and no
NaN or infinity ever written."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import numpy as np

from atb.config import config_to_dict
from atb.domain.events import CloseOnlyLatched, OrderRejected
from atb.managers.performance_metrics import PerformanceMetrics
from atb.managers.run_config import RunConfiguration
from atb.reporting.jsonable import iso_duration, iso_utc, iso_utc_ns, plain
from atb.reporting.result_json import SCHEMA_VERSION, result_to_dict, result_to_json
from atb.results import AmbiguityInfo, BacktestResult, EquityCurve, StrategyInfo
from tests.support.result_builder import bar_time, build_result

T_REJECT = datetime(2024, 2, 4, 20, tzinfo=UTC)

TOP_LEVEL_KEYS = [
    "schema_version",
    "run",
    "data",
    "strategy",
    "config",
    "policies",
    "instrument",
    "initial_balance",
    "closed_at_end",
    "warnings",
    "metrics",
    "ambiguity",
    "exit_reasons",
    "clamped_fills",
    "zero_volume_fills",
    "rejections",
    "dynamic_risk",
    "stop_moves",
    "equity_curve",
    "monthly_returns",
    "event_counts",
    "open_position",
    "trades",
    "assumptions",
]


def _reject_constant(name: str) -> object:
    raise AssertionError(f"non-standard JSON constant {name} in result.json")


def _document(result: BacktestResult) -> Any:
    """`result.json` as a reader sees it (parsed back; key order is preserved)."""
    return json.loads(result_to_json(result), parse_constant=_reject_constant)


def test_top_level_keys_in_documented_order() -> None:
    assert list(result_to_dict(build_result())) == TOP_LEVEL_KEYS
    document = _document(build_result())
    assert list(document) == TOP_LEVEL_KEYS
    assert document["schema_version"] == SCHEMA_VERSION == 1


def test_instrument_and_rejections_are_recorded() -> None:
    rejected = (
        OrderRejected(
            T_REJECT,
            "bt-o0000091",
            "order below the instrument's minimum notional",
            "order value 4 USDT below the minimum 5 USDT",
        ),
        OrderRejected(
            T_REJECT,
            "bt-o0000092",
            "order below the instrument's minimum notional",
            "order value 3 USDT below the minimum 5 USDT",
        ),
        OrderRejected(T_REJECT, "bt-o0000093", "close-only: max drawdown breached"),
    )
    result = build_result()
    result = attrs.evolve(result, events=(*result.events, *rejected))
    document = _document(result)
    assert document["instrument"] == {
        "symbol": "BTCUSDT",
        "tick_size": 0.01,
        "lot_step": 0.00001,
        "min_quantity": 0.00001,
        "min_notional": 5.0,
        "base_asset": "BTC",
        "quote_asset": "USDT",
        "source": "built-in Binance spot rules for BTCUSDT",
        "warnings": [],
    }
    assert document["rejections"] == [
        {
            "reason": "order below the instrument's minimum notional",
            "count": 2,
            "first_detail": "order value 4 USDT below the minimum 5 USDT",
        },
        {"reason": "close-only: max drawdown breached", "count": 1, "first_detail": ""},
    ]


def test_run_data_strategy_and_config() -> None:
    document = _document(build_result(parameters={"slow": 30, "fast": 10}))
    assert document["run"] == {
        "created_at": "2025-01-01T12:30:00Z",
        "atb_version": "0.1.0",
    }
    assert document["data"] == {
        "symbol": "BTCUSDT",
        "timeframe": "4h",
        "start": "2024-01-30T00:00:00Z",
        "end": "2024-02-04T20:00:00Z",
        "bars": 36,
        "warmup_bars": 5,
        "fingerprint": "ab" * 32,
        "source": "tests/sample.csv",
        "synthetic": False,
        "gaps": [
            {"start": "2024-02-02T08:00:00Z", "end": "2024-02-02T12:00:00Z", "missing_bars": 1}
        ],
        "file": None,
        "notes": [],
        "suspicious_bars": [],
        "dropped_bars": [],
        "drop_outliers": False,
        "detail": None,
    }
    strategy = document["strategy"]
    assert isinstance(strategy, dict)
    assert list(strategy["parameters"]) == ["fast", "slow"]
    assert strategy["model_id"] is None
    assert document["config"] == config_to_dict(RunConfiguration.default())
    assert document["initial_balance"] == 10_000.0
    assert document["closed_at_end"] is False


def test_metrics_are_every_field_in_declaration_order() -> None:
    result = build_result()
    metrics = _document(result)["metrics"]
    assert isinstance(metrics, dict)
    assert list(metrics) == [field.name for field in attrs.fields(PerformanceMetrics)]
    assert metrics == result.metrics.as_dict()
    assert metrics["n_trades"] == 2
    assert metrics["total_fees"] == 1.0
    assert metrics["total_slippage"] == 1.25


def test_trade_record_with_every_leg() -> None:
    trades = _document(build_result())["trades"]
    assert isinstance(trades, list)
    first = trades[0]
    assert isinstance(first, dict)
    assert {key: value for key, value in first.items() if key != "legs"} == {
        "trade_id": "p1",
        "status": "closed",
        "symbol": "BTCUSDT",
        "side": "long",
        "entry_time": "2024-01-30T08:00:00Z",
        "exit_time": "2024-01-31T12:00:00Z",
        "holding_hours": 28.0,
        "entry_price": 101.0,
        "exit_price": (105.0 * 0.5 + 106.0) / 1.5,
        "quantity": 1.5,
        "gross_pnl": 7.0,
        "fees": 0.375,
        "slippage": 0.75,
        "net_pnl": 6.625,
        "return_pct": 6.625 / 151.5,
        "exit_reason": "take_profit",
        "exit": "take profit",
        "partial_exits": 1,
        "scale_ins": 1,
        "best_price": 106.5,
        "worst_price": 99.5,
    }
    legs = first["legs"]
    assert isinstance(legs, list)
    assert [leg["kind"] for leg in legs] == [
        "entry",
        "scale-in",
        "partial-exit",
        "exit",
    ]
    assert legs[2] == {
        "time": "2024-01-31T00:00:00Z",
        "kind": "partial-exit",
        "action": "sell",
        "price": 105.0,
        "quantity": 0.5,
        "fee": 0.0625,
        "slippage": 0.125,
        "liquidity": "taker",
        "order_id": "bt-o0000003",
        "reason": "partial exit 1",
    }


def test_open_position_is_marked_and_listed_as_open() -> None:
    result = build_result()
    assert result.open_position is not None
    mark = result.open_position.mark_price
    record = _document(result)["open_position"]
    assert isinstance(record, dict)
    assert record["status"] == "open"
    assert record["position_id"] == "p3"
    assert record["mark_price"] == mark
    assert record["mark_time"] == "2024-02-04T20:00:00Z"
    assert record["unrealized_pnl"] == mark - 102.0
    assert record["net_pnl"] == 0.0 + (mark - 102.0) - 0.125
    assert record["stop_loss"] == 98.0
    assert len(record["legs"]) == 1
    assert _document(build_result(with_open_position=False))["open_position"] is None


def test_counts_risk_events_equity_summary_and_months() -> None:
    result = build_result()
    document = _document(result)
    assert document["exit_reasons"] == {"stop_loss": 1, "take_profit": 1}
    assert document["ambiguity"] == {
        "bars": 3,
        "pessimistic_pnl": -12.5,
        "optimistic_pnl": 20.25,
        "pnl_range": 32.75,
    }
    assert document["dynamic_risk"] == {
        "tier_changes": [
            {
                "time": "2024-02-01T20:00:00Z",
                "old_tier": 0,
                "new_tier": 1,
                "factor": 0.5,
                "drawdown": 0.06,
            },
            {
                "time": "2024-02-03T04:00:00Z",
                "old_tier": 1,
                "new_tier": 0,
                "factor": 1.0,
                "drawdown": 0.01,
            },
        ],
        "close_only_since": None,
    }
    assert document["stop_moves"] == {"count": 2, "by_cause": {"breakeven": 1, "trailing": 1}}
    assert document["event_counts"] == {"closed": 2, "fill": 7, "stop": 2, "tier": 2}
    summary = document["equity_curve"]
    assert isinstance(summary, dict)
    equity = result.equity.equity
    assert summary["file"] == "equity.csv"
    assert summary["bars"] == 36
    assert summary["start"] == "2024-01-30T00:00:00Z"
    assert summary["final"] == float(equity[-1])
    assert summary["peak"] == float(equity.max())
    assert summary["max_drawdown"] == result.metrics.max_drawdown
    close = result.equity.close
    assert summary["buy_and_hold_final"] == 10_000.0 * float(close[-1]) / float(close[0])
    months = document["monthly_returns"]
    assert [m["month"] for m in months] == ["2024-01", "2024-02"]
    january_end = float(equity[11])  # bar 11 = 2024-01-31 20:00, the last of January
    assert months[0]["return"] == january_end / 10_000.0 - 1.0
    assert months[1]["return"] == float(equity[-1]) / january_end - 1.0


def test_same_result_gives_byte_identical_json() -> None:
    first = result_to_json(build_result())
    assert result_to_json(build_result()) == first
    # Parameter insertion order does not leak into the file.
    reordered = build_result(parameters={"fast": 10, "slow": 30})
    assert result_to_json(reordered) == first


def test_only_created_at_differs_between_runs() -> None:
    result = build_result()
    later = attrs.evolve(
        result, run=attrs.evolve(result.run, created_at=datetime(2026, 6, 1, tzinfo=UTC))
    )
    lines, later_lines = result_to_json(result).splitlines(), result_to_json(later).splitlines()
    differing = [(a, b) for a, b in zip(lines, later_lines, strict=True) if a != b]
    assert differing == [
        ('    "created_at": "2025-01-01T12:30:00Z",', '    "created_at": "2026-06-01T00:00:00Z",')
    ]


def test_nan_and_infinity_become_null() -> None:
    result = build_result(parameters={"threshold": math.nan, "cap": math.inf, "n": 3})
    curve = result.equity
    exposure = curve.exposure.copy()
    exposure[0] = math.nan
    broken = attrs.evolve(
        result,
        ambiguity=AmbiguityInfo(bars=1, pessimistic_pnl=math.nan, optimistic_pnl=-math.inf),
        equity=EquityCurve(
            times_ns=curve.times_ns, equity=curve.equity, close=curve.close, exposure=exposure
        ),
        config={"risk": {"max_drawdown": math.inf}},
    )
    text = result_to_json(broken)
    assert "NaN" not in text
    assert "Infinity" not in text
    document = json.loads(text, parse_constant=_reject_constant)
    assert document["strategy"]["parameters"] == {"cap": None, "n": 3, "threshold": None}
    assert document["ambiguity"]["pessimistic_pnl"] is None
    assert document["ambiguity"]["pnl_range"] is None
    assert document["config"] == {"risk": {"max_drawdown": None}}


def test_model_backed_strategy_and_closed_at_end() -> None:
    result = attrs.evolve(
        build_result(with_open_position=False),
        strategy=StrategyInfo(
            name="ml_basic",
            parameters={},
            model_id="ml-abc123",
            overlap_allowed=True,
            model_path="/models/ml_basic_BTCUSDT_4h.json",
        ),
        closed_at_end=True,
    )
    document = _document(result)
    assert document["strategy"] == {
        "name": "ml_basic",
        "parameters": {},
        "model_id": "ml-abc123",
        "model_path": "/models/ml_basic_BTCUSDT_4h.json",
        "overlap_allowed": True,
    }
    assert document["closed_at_end"] is True


def test_time_and_value_spelling() -> None:
    assert iso_utc(datetime(2024, 1, 1, 5, 30, tzinfo=UTC)) == "2024-01-01T05:30:00Z"
    ns = np.array([1_704_067_200_000_000_000, 1_704_067_200_500_000_000], dtype=np.int64)
    assert iso_utc_ns(ns) == ["2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.500Z"]
    assert iso_utc_ns(ns[:1]) == ["2024-01-01T00:00:00Z"]
    assert plain((1, np.float64(2.5), np.int64(3), None)) == [1, 2.5, 3, None]
    assert iso_duration(timedelta(hours=36)) == "PT36H"
    assert iso_duration(timedelta(minutes=90)) == "PT1H30M"
    assert iso_duration(timedelta(0)) == "PT0S"


def test_close_only_latch_time() -> None:
    result = build_result()
    latched = attrs.evolve(
        result, events=(*result.events, CloseOnlyLatched(bar_time(33), drawdown=0.21))
    )
    assert _document(latched)["dynamic_risk"]["close_only_since"] == "2024-02-04T12:00:00Z"
