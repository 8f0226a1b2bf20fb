"""A portfolio backtest's files and console summary, from a real run: three BTC-quoted 1h
pairs (one missing two bars), `sma_cross` on each, at most two positions of 30 % each.

`result.json` leads with its schema version and kind and matches the result number for number;
`trades.csv` and `equity.csv` have their headers and one row per leg and per bar time; the
report holds the exposure and correlation charts and a row per symbol; the files are written
all or nothing; the summary prints a row per symbol in a pipe and in a terminal.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from atb.config import config_from_assignments
from atb.data.instruments import ResolvedInstrument
from atb.data.portfolio import assemble_portfolio
from atb.data.validation import validate_candles
from atb.domain.events import OrderRejected
from atb.domain.instruments import Instrument
from atb.engines.portfolio.backtest import PortfolioRequest, run_portfolio_backtest
from atb.reporting import display
from atb.reporting.charts import MAX_LINE_POINTS
from atb.reporting.csv_files import TRADE_COLUMNS
from atb.reporting.files import write_rendered
from atb.reporting.portfolio_charts import (
    contribution_figure,
    correlation_figure,
    exposure_figure,
)
from atb.reporting.portfolio_csv import (
    equity_columns,
    portfolio_equity_csv,
    portfolio_equity_values,
    portfolio_trades_csv,
)
from atb.reporting.portfolio_files import render_portfolio_files, write_portfolio_files
from atb.reporting.portfolio_json import (
    PORTFOLIO_SCHEMA_VERSION,
    portfolio_to_dict,
    portfolio_to_json,
)
from atb.reporting.portfolio_report import PORTFOLIO_CHART_IDS, render_portfolio_report
from atb.reporting.portfolio_summary import print_portfolio_summary
from atb.reporting.result_files import RESULT_FILE_NAMES, EquityFormat, ResultFiles
from atb.reporting.result_json import result_to_dict
from atb.results import PortfolioResult
from atb.strategies.registry import StrategyContext, create_strategy
from tests.support.candle_frames import make_candles
from tests.support.figures import assert_page_figures_are_valid, floats, plotly_dict
from tests.support.result_builder import build_result

SYMBOLS = ("AAABTC", "BBBBTC", "CCCBTC")
GAPPY = "BBBBTC"
"""The symbol missing two bars."""
BARS = 300
TOP_KEYS = [
    "schema_version",
    "kind",
    "run",
    "strategy",
    "config",
    "initial_balance",
    "quote_asset",
    "timeframe",
    "closed_at_end",
    "warnings",
    "symbols",
    "metrics",
    "ambiguity",
    "correlation",
    "exposure",
    "exit_reasons",
    "rejections",
    "event_counts",
    "equity_curve",
    "trades",
]
SYMBOL_KEYS = [
    "symbol",
    "data",
    "instrument",
    "n_trades",
    "n_wins",
    "win_rate",
    "net_pnl",
    "contribution",
    "fees",
    "ambiguous_bars",
    "missing",
    "model_id",
    "open_position",
]
_PLOTLY_BUNDLE_MARKER = "plotly.js v"


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> PortfolioResult:
    """The run described in the module docstring."""
    candles = {}
    rules = {}
    for seed, symbol in enumerate(SYMBOLS):
        frame = make_candles(BARS, seed=seed + 11)
        for column in ("open", "high", "low", "close"):
            frame[column] = (frame[column] / 600_000.0).round(6)
        if symbol == GAPPY:
            frame = frame.drop(frame.index[[100, 200]])
        candles[symbol] = validate_candles(frame, source=f"{symbol}_1h.csv", timeframe="1h")
        rules[symbol] = ResolvedInstrument(
            Instrument(
                symbol=symbol,
                tick_size=0.000001,
                lot_step=0.001,
                min_notional=0.0001,
                quote_asset="BTC",
            ),
            "test",
        )
    models = tmp_path_factory.mktemp("models")
    strategies = {
        symbol: create_strategy(
            "sma_cross", {"fast": 3, "slow": 8}, StrategyContext(symbol, "1h", models)
        )
        for symbol in SYMBOLS
    }
    request = PortfolioRequest(
        strategies=strategies,
        candles=assemble_portfolio(candles, rules),
        config=config_from_assignments(["risk.max_positions=2", "risk.max_position=0.3"]),
        initial_balance=1.0,
    )
    return run_portfolio_backtest(request)


@pytest.fixture(scope="module")
def document(result: PortfolioResult) -> dict[str, object]:
    """`result.json` of the run, parsed back."""
    parsed = json.loads(portfolio_to_json(result))
    assert isinstance(parsed, dict)
    return parsed


def _symbols(document: dict[str, object]) -> list[dict[str, object]]:
    parts = document["symbols"]
    assert isinstance(parts, list)
    return parts


def _mapping(value: object) -> dict[str, object]:
    assert isinstance(value, dict)
    return value


def _list(value: object) -> list[object]:
    assert isinstance(value, list)
    return value


def _number(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


def _leg_count(result: PortfolioResult) -> int:
    closed = sum(len(trade.legs) for trade in result.trades)
    open_legs = sum(
        len(part.open_position.position.legs)
        for part in result.symbols
        if part.open_position is not None
    )
    return closed + open_legs


# --- the run itself (what the other tests rely on) --------------------------------------------


def test_the_run_trades_every_symbol_and_leaves_a_position_open(result: PortfolioResult) -> None:
    assert [part.symbol for part in result.symbols] == list(SYMBOLS)
    assert all(part.trades for part in result.symbols)
    assert any(part.open_position is not None for part in result.symbols)
    assert len(result.part(GAPPY).missing) == 2
    assert any(isinstance(event, OrderRejected) for _symbol, event in result.events)


# --- result.json ------------------------------------------------------------------------------


def test_json_leads_with_schema_version_and_kind_in_a_fixed_order(
    result: PortfolioResult, document: dict[str, object]
) -> None:
    assert list(document) == TOP_KEYS
    assert document["schema_version"] == PORTFOLIO_SCHEMA_VERSION == 1
    assert document["kind"] == "portfolio"
    assert document["quote_asset"] == "BTC"
    assert document["timeframe"] == "1h"
    assert document["initial_balance"] == 1.0
    assert _mapping(document["strategy"])["parameters"] == {
        key: result.strategy.parameters[key] for key in sorted(result.strategy.parameters)
    }
    assert _mapping(_mapping(document["config"])["risk"])["max_positions"] == 2
    assert document["warnings"] == list(result.warnings)
    text = portfolio_to_json(result)
    assert text.endswith("}\n")
    assert text == portfolio_to_json(result)  # same result, same bytes
    assert text.startswith('{\n  "schema_version": 1,\n  "kind": "portfolio",\n')


def test_json_symbols_match_each_part(result: PortfolioResult, document: dict[str, object]) -> None:
    parts = _symbols(document)
    assert [part["symbol"] for part in parts] == list(SYMBOLS)
    for entry, part in zip(parts, result.symbols, strict=True):
        assert list(entry) == SYMBOL_KEYS
        assert _mapping(entry["data"])["symbol"] == part.symbol
        assert _mapping(entry["data"])["bars"] == part.data.bars
        assert _mapping(entry["instrument"])["tick_size"] == 0.000001
        assert _mapping(entry["instrument"])["source"] == "test"
        assert entry["n_trades"] == len(part.trades)
        wins = sum(1 for trade in part.trades if trade.pnl > 0)
        assert entry["n_wins"] == wins
        assert entry["win_rate"] == wins / len(part.trades)
        assert entry["contribution"] == part.contribution
        assert entry["fees"] == part.fees
        assert entry["ambiguous_bars"] == part.ambiguous_bars
        assert entry["missing"] == (
            ["2024-01-05T04:00:00Z", "2024-01-09T08:00:00Z"] if part.symbol == GAPPY else []
        )
        if part.open_position is None:
            assert entry["open_position"] is None
        else:
            record = _mapping(entry["open_position"])
            assert record["status"] == "open"
            assert record["symbol"] == part.symbol
            assert record["net_pnl"] == part.open_position.net_pnl
    assert sum(_number(entry["n_trades"]) for entry in parts) == len(result.trades)


def test_contributions_add_up_to_the_final_equity(document: dict[str, object]) -> None:
    contributions = sum(_number(entry["contribution"]) for entry in _symbols(document))
    final = _number(_mapping(document["metrics"])["final_equity"])
    assert contributions + _number(document["initial_balance"]) == pytest.approx(final, abs=1e-9)
    assert _number(_mapping(document["equity_curve"])["final"]) == final


def test_json_trades_carry_their_symbol_and_legs(
    result: PortfolioResult, document: dict[str, object]
) -> None:
    trades = [_mapping(trade) for trade in _list(document["trades"])]
    assert len(trades) == len(result.trades)
    assert [trade["trade_id"] for trade in trades] == [t.trade_id for t in result.trades]
    assert {trade["symbol"] for trade in trades} == set(SYMBOLS)
    for record, trade in zip(trades, result.trades, strict=True):
        assert record["symbol"] == trade.symbol
        assert record["status"] == "closed"
        assert record["net_pnl"] == trade.pnl
        assert len(_list(record["legs"])) == len(trade.legs)
    # Spelled exactly as a single-symbol result.json spells a trade.
    single = result_to_dict(build_result())
    assert list(trades[0]) == list(_mapping(_list(single["trades"])[0]))


def test_symbol_data_instrument_and_curve_keys_are_the_single_symbol_ones(
    document: dict[str, object],
) -> None:
    single = result_to_dict(build_result())
    entry = _symbols(document)[0]
    assert list(_mapping(entry["data"])) == list(_mapping(single["data"]))
    assert list(_mapping(entry["instrument"])) == list(_mapping(single["instrument"]))
    assert list(_mapping(document["equity_curve"])) == list(_mapping(single["equity_curve"]))
    assert list(_mapping(document["metrics"])) == list(_mapping(single["metrics"]))
    assert list(_mapping(document["ambiguity"])) == list(_mapping(single["ambiguity"]))


def test_json_correlation_exposure_and_curve(
    result: PortfolioResult, document: dict[str, object]
) -> None:
    correlation = _mapping(document["correlation"])
    assert correlation["symbols"] == list(SYMBOLS)
    matrix = [_list(row) for row in _list(correlation["matrix"])]
    assert [matrix[i][i] for i in range(3)] == [1.0, 1.0, 1.0]
    assert matrix == [list(row) for row in result.correlation]
    assert all(matrix[i][j] == matrix[j][i] for i in range(3) for j in range(3))
    exposure = _mapping(document["exposure"])
    assert exposure["max_total"] == float(result.equity.exposure.max())
    assert exposure["mean_total"] == float(result.equity.exposure.mean())
    assert exposure["max_by_symbol"] == {
        part.symbol: float(part.exposure.max()) for part in result.symbols
    }
    # max_position=0.3 caps each symbol (a little drift above it at later closes).
    assert all(
        0.25 < _number(value) < 0.35 for value in _mapping(exposure["max_by_symbol"]).values()
    )
    curve = _mapping(document["equity_curve"])
    assert curve["file"] == "equity.csv"
    assert curve["bars"] == len(result.equity.times_ns) == BARS
    assert curve["start"] == "2024-01-01T00:00:00Z"
    assert curve["buy_and_hold_final"] == pytest.approx(float(result.equity.close[-1]), abs=1e-12)


def test_json_event_and_rejection_counts(
    result: PortfolioResult, document: dict[str, object]
) -> None:
    counts = _mapping(document["event_counts"])
    assert list(counts) == sorted(counts)
    assert sum(_number(value) for value in counts.values()) == len(result.events)
    assert counts["closed"] == len(result.trades)
    rejected = [
        (symbol, event) for symbol, event in result.events if isinstance(event, OrderRejected)
    ]
    rejections = [_mapping(item) for item in _list(document["rejections"])]
    assert sum(_number(item["count"]) for item in rejections) == len(rejected) == counts["rejected"]
    first = rejections[0]
    assert first["reason"] == rejected[0][1].reason
    assert first["first_detail"] == rejected[0][1].detail
    by_symbol = _mapping(first["by_symbol"])
    assert sum(_number(value) for value in by_symbol.values()) == first["count"]
    assert set(by_symbol) <= set(SYMBOLS)


def test_undefined_numbers_are_null(result: PortfolioResult) -> None:
    gaps: tuple[tuple[float | None, ...], ...] = ((1.0, None), (None, math.nan))
    odd = attrs.evolve(
        result,
        correlation=gaps,
        ambiguity=attrs.evolve(result.ambiguity, pessimistic_pnl=math.nan),
    )
    document = portfolio_to_dict(odd)
    assert _mapping(document["correlation"])["matrix"] == [[1.0, None], [None, None]]
    ambiguity = _mapping(document["ambiguity"])
    assert ambiguity["pessimistic_pnl"] is None
    assert ambiguity["pnl_range"] is None
    assert "NaN" not in portfolio_to_json(odd)


# --- trades.csv and equity.csv ----------------------------------------------------------------


def test_trades_csv_has_one_row_per_leg_with_its_symbol(result: PortfolioResult) -> None:
    rows = list(csv.reader(io.StringIO(portfolio_trades_csv(result))))
    assert tuple(rows[0]) == TRADE_COLUMNS
    body = rows[1:]
    assert len(body) == _leg_count(result)
    symbol = TRADE_COLUMNS.index("symbol")
    status = TRADE_COLUMNS.index("status")
    assert {row[symbol] for row in body} == set(SYMBOLS)
    closed_legs = sum(len(trade.legs) for trade in result.trades)
    assert {row[status] for row in body[:closed_legs]} == {"closed"}
    open_rows = body[closed_legs:]
    open_symbols = [part.symbol for part in result.symbols if part.open_position is not None]
    assert open_rows
    assert {row[status] for row in open_rows} == {"open"}
    assert sorted({row[symbol] for row in open_rows}) == open_symbols
    first = result.trades[0]
    assert body[0][0] == first.trade_id
    assert float(body[0][TRADE_COLUMNS.index("price")]) == first.legs[0].price


def test_equity_csv_has_a_row_per_bar_time_and_an_exposure_column_per_symbol(
    result: PortfolioResult,
) -> None:
    text = portfolio_equity_csv(result)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "time",
        "equity",
        "basket",
        "exposure",
        "exposure_AAABTC",
        "exposure_BBBBTC",
        "exposure_CCCBTC",
    ]
    body = rows[1:]
    assert len(body) == len(result.equity.times_ns)
    assert body[0][0] == "2024-01-01T00:00:00Z"
    assert body[0][2] == "1.0"  # the basket starts at its first closes
    columns = list(zip(*body, strict=True))
    assert [float(cell) for cell in columns[1]] == result.equity.equity.tolist()
    assert [float(cell) for cell in columns[2]] == result.equity.close.tolist()
    assert [float(cell) for cell in columns[3]] == result.equity.exposure.tolist()
    for offset, part in enumerate(result.symbols, start=4):
        assert [float(cell) for cell in columns[offset]] == part.exposure.tolist()
    assert text.endswith("\n")
    assert "\r" not in text


# --- report.html and its charts --------------------------------------------------------------


def test_report_has_the_charts_the_symbol_rows_and_one_plotly(result: PortfolioResult) -> None:
    page = render_portfolio_report(result)
    assert page.startswith("<!DOCTYPE html>")
    for chart_id in PORTFOLIO_CHART_IDS:
        assert page.count(f'<div id="{chart_id}" class="plotly-graph-div"') == 1
    assert '<div id="atb-chart-exposure" class="plotly-graph-div"' in page
    assert '<div id="atb-chart-correlation" class="plotly-graph-div"' in page
    assert page.count(_PLOTLY_BUNDLE_MARKER) == 1
    places = display.money_decimals(result.initial_balance)
    for part in result.symbols:
        row = page.split(f'<tr id="symbol-{part.symbol}">', 1)[1].split("</tr>", 1)[0]
        assert f"<th>{part.symbol}</th>" in row
        assert f'<td class="num">{len(part.trades)}</td>' in row
        assert f'<td class="num">{display.money(part.contribution, places)}</td>' in row
        assert f'<td class="num">{len(part.missing)}</td>' in row
    assert "bar time(s) without a bar in the window" in page  # the warnings
    assert "risk.max_positions" in page  # the configuration
    assert "SYNTHETIC DATA" not in page
    assert page == render_portfolio_report(result)  # deterministic
    assert_page_figures_are_valid(page, count=len(PORTFOLIO_CHART_IDS))


def test_exposure_chart_stacks_one_trace_per_symbol(result: PortfolioResult) -> None:
    figure = plotly_dict(exposure_figure(result))
    traces = figure["data"]
    assert [trace["name"] for trace in traces] == list(SYMBOLS)
    top = floats(traces[-1]["y"])
    np.testing.assert_allclose(top, 100.0 * result.equity.exposure, rtol=1e-12, atol=1e-12)
    bottom = floats(traces[0]["y"])
    np.testing.assert_allclose(bottom, 100.0 * result.symbols[0].exposure, atol=1e-12)


def test_long_exposure_lines_are_thinned_but_keep_their_extremes(
    result: PortfolioResult,
) -> None:
    n = 3 * MAX_LINE_POINTS
    rng = np.random.default_rng(3)
    parts = []
    for index, part in enumerate(result.symbols):
        values = rng.uniform(0.0, 0.3, n)
        values[1000 * (index + 1)] = 0.9  # one spike each
        parts.append(attrs.evolve(part, exposure=values))
    times = np.arange(n, dtype=np.int64) * 3_600_000_000_000
    total = np.sum([part.exposure for part in parts], axis=0)
    long = attrs.evolve(
        result,
        symbols=tuple(parts),
        equity=attrs.evolve(
            result.equity,
            times_ns=times,
            equity=np.ones(n),
            close=np.ones(n),
            exposure=total,
        ),
    )
    traces = plotly_dict(exposure_figure(long))["data"]
    for index, trace in enumerate(traces):
        xs = floats(trace["x"])
        assert MAX_LINE_POINTS <= xs.size < n
        own = np.array([float(text.split(": ")[1].rstrip("%")) for text in trace["text"]])
        assert own.max() == pytest.approx(90.0)
        spike_ms = float(times[1000 * (index + 1)] // 1_000_000)
        assert spike_ms in xs.tolist()


def test_correlation_heatmap_annotates_values_and_leaves_none_blank(
    result: PortfolioResult,
) -> None:
    matrix = [list(row) for row in result.correlation]
    matrix[0][2] = matrix[2][0] = None
    figure = correlation_figure(attrs.evolve(result, correlation=tuple(map(tuple, matrix))))
    heatmap = plotly_dict(figure)["data"][0]
    assert heatmap["type"] == "heatmap"
    assert list(heatmap["x"]) == list(SYMBOLS)
    assert list(heatmap["y"]) == list(SYMBOLS)
    text = [list(row) for row in heatmap["text"]]
    assert [text[i][i] for i in range(3)] == ["1.00", "1.00", "1.00"]
    assert text[0][2] == text[2][0] == ""
    assert text[0][1] == f"{matrix[0][1]:.2f}"
    assert heatmap["z"][0][2] is None


def test_contribution_chart_has_a_labelled_bar_per_symbol(result: PortfolioResult) -> None:
    figure = plotly_dict(contribution_figure(result))
    places = display.money_decimals(result.initial_balance)
    bars = figure["data"]
    assert [trace["name"] for trace in bars] == list(SYMBOLS)
    for trace, part in zip(bars, result.symbols, strict=True):
        assert list(trace["x"]) == [part.symbol, part.symbol]
        assert floats(trace["y"]).tolist() == [0.0, part.contribution]
        assert trace["line"]["color"] == ("#16a34a" if part.contribution >= 0 else "#dc2626")
    labels = [item["text"] for item in figure["layout"]["annotations"]]
    assert labels == [display.money(part.contribution, places) for part in result.symbols]


# --- writing the files ------------------------------------------------------------------------


def _leftovers(parent: Path) -> list[str]:
    return sorted(path.name for path in parent.iterdir() if path.name.startswith("."))


def test_writes_the_four_files(result: PortfolioResult, tmp_path: Path) -> None:
    files = write_portfolio_files(result, tmp_path / "results" / "run")
    assert files == ResultFiles(tmp_path / "results" / "run")
    assert sorted(path.name for path in files.directory.iterdir()) == sorted(RESULT_FILE_NAMES)
    expected = render_portfolio_files(result)
    for path in (files.result_json, files.trades_csv, files.equity_csv, files.report_html):
        text = expected[path.name]
        assert isinstance(text, str)
        assert path.read_bytes() == text.encode("utf-8")
    assert json.loads(files.result_json.read_text())["kind"] == "portfolio"
    assert _leftovers(tmp_path / "results") == []


def test_the_curve_in_parquet_holds_the_csv_numbers(
    result: PortfolioResult, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    for name in RESULT_FILE_NAMES:  # an earlier CSV run's folder, replaced whole
        (target / name).write_text("old")
    files = write_portfolio_files(
        result, target, overwrite=True, equity_format=EquityFormat.PARQUET
    )
    assert files.equity == target.absolute() / "equity.parquet"
    assert sorted(path.name for path in target.iterdir()) == sorted(
        ("equity.parquet", "report.html", "result.json", "trades.csv")
    )
    assert json.loads(files.result_json.read_text())["equity_curve"]["file"] == "equity.parquet"
    frame = pd.read_parquet(files.equity)
    assert tuple(frame.columns) == equity_columns(result)
    times_ns, numbers = portfolio_equity_values(result)
    times = pd.DatetimeIndex(frame["time"])
    assert str(times.tz) == "UTC"
    assert times.as_unit("ns").asi8.tolist() == times_ns.tolist()
    for name, column in zip(frame.columns[1:], numbers, strict=True):
        assert frame[name].to_numpy().view(np.int64).tolist() == column.view(np.int64).tolist()
    csv_rows = portfolio_equity_csv(result).splitlines()[1:]
    assert len(csv_rows) == len(frame) > 0
    assert [float(cell) for cell in csv_rows[-1].split(",")[1:]] == frame.iloc[-1, 1:].tolist()


def test_an_existing_folder_of_other_files_is_refused_and_left_untouched(
    result: PortfolioResult, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="already exists"):
        write_portfolio_files(result, target)
    with pytest.raises(FileExistsError, match="other files"):
        write_portfolio_files(result, target, overwrite=True)
    assert [path.name for path in target.iterdir()] == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "mine"
    assert _leftovers(tmp_path) == []


def test_overwrite_replaces_a_previous_result_folder(
    result: PortfolioResult, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    for name in RESULT_FILE_NAMES:
        (target / name).write_text("old")
    files = write_portfolio_files(result, target, overwrite=True)
    assert files.equity_csv.read_text().startswith("time,equity,basket,exposure,")
    assert sorted(path.name for path in target.iterdir()) == sorted(RESULT_FILE_NAMES)
    assert _leftovers(tmp_path) == []


def test_a_rendering_failure_leaves_nothing(result: PortfolioResult, tmp_path: Path) -> None:
    naive = attrs.evolve(result, run=attrs.evolve(result.run, created_at=datetime(2025, 1, 1)))
    with pytest.raises(ValueError, match="timezone-aware"):
        write_portfolio_files(naive, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_write_rendered_wants_exactly_the_four_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="result files must be exactly"):
        write_rendered({"result.json": "{}"}, tmp_path / "out", overwrite=False)
    assert list(tmp_path.iterdir()) == []


# --- the console summary ----------------------------------------------------------------------


def _summary(result: PortfolioResult, *, terminal: bool) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=120, force_terminal=terminal, color_system=None)
    print_portfolio_summary(result, ResultFiles(Path("/tmp/results/portfolio")), console)
    return buffer.getvalue()


def test_summary_prints_a_row_per_symbol_in_a_pipe(result: PortfolioResult) -> None:
    text = _summary(result, terminal=False)
    places = display.money_decimals(result.initial_balance)
    for part in result.symbols:
        row = next(line for line in text.splitlines() if line.startswith(f"| {part.symbol} "))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        wins = sum(1 for trade in part.trades if trade.pnl > 0)
        assert cells[:5] == [
            part.symbol,
            str(len(part.trades)),
            display.pct(wins / len(part.trades)),
            display.money(part.contribution, places),
            display.money(part.fees, places),
        ]
        assert cells[6] == str(len(part.missing))
    metrics = result.metrics
    assert (
        f"Return {display.pct(metrics.total_return)} · max drawdown "
        f"{display.pct(metrics.max_drawdown)} · Sharpe {display.ratio(metrics.sharpe)} · trades "
        f"{len(result.trades)} · final equity {display.money(metrics.final_equity, places)} BTC"
    ) in text
    assert "Portfolio backtest sma_cross on 3 symbols 1h (BTC)" in text
    assert "! BBBBTC: 2 bar time(s) without a bar in the window" in text
    assert "orders rejected: the portfolio holds its maximum of open positions" in text
    assert "Files: /tmp/results/portfolio" in text
    assert "Report: /tmp/results/portfolio/report.html" in text
    assert "╭" not in text  # ASCII borders in a pipe
    assert "\x1b[" not in text


def test_summary_in_a_terminal_uses_rounded_borders(result: PortfolioResult) -> None:
    text = _summary(result, terminal=True)
    assert "╭" in text
    for symbol in SYMBOLS:
        assert any(line.startswith(f"│ {symbol} ") for line in text.splitlines()), symbol
