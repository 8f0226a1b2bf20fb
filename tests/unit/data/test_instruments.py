"""Where a market's rules come from: exchange metadata, instruments.toml, the user, atb's own
table, or the data's precision — never another market's rules by default."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from atb.data.exchange_rules import (
    load_exchange_rules,
    parse_symbol_rules,
    rules_path,
    store_exchange_rules,
)
from atb.data.files import read_candles_file
from atb.data.instruments import (
    InstrumentOverrides,
    default_instrument,
    instrument_for,
    price_decimals,
    resolve_instrument,
)
from atb.domain.errors import InstrumentError
from atb.domain.instruments import Instrument

FETCHED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PORTFOLIO = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "portfolio"


def _entry(**filters: dict[str, str]) -> dict[str, object]:
    base = {
        "PRICE_FILTER": {"filterType": "PRICE_FILTER", "tickSize": "0.00000100"},
        "LOT_SIZE": {"filterType": "LOT_SIZE", "stepSize": "0.00100000", "minQty": "0.00100000"},
        "NOTIONAL": {"filterType": "NOTIONAL", "minNotional": "0.00010000"},
    }
    base.update(filters)
    return {
        "symbol": "ETHBTC",
        "baseAsset": "ETH",
        "quoteAsset": "BTC",
        "filters": [value for value in base.values() if value],
    }


def _frame(prices: list[float]) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=len(prices), freq="1h", tz="UTC")
    return pd.DataFrame(
        {"open": prices, "high": prices, "low": prices, "close": prices, "volume": 1.0},
        index=index,
    )


def test_exchange_info_entry_becomes_the_instrument() -> None:
    instrument = parse_symbol_rules(_entry(), "exchangeInfo")
    assert instrument == Instrument(
        "ETHBTC",
        tick_size=1e-6,
        lot_step=0.001,
        min_notional=0.0001,
        min_quantity=0.001,
        base_asset="ETH",
        quote_asset="BTC",
    )
    legacy = _entry(
        NOTIONAL={}, MIN_NOTIONAL={"filterType": "MIN_NOTIONAL", "minNotional": "0.002"}
    )
    assert parse_symbol_rules(legacy, "exchangeInfo").min_notional == 0.002


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry(PRICE_FILTER={}), "exchangeInfo: ETHBTC has no PRICE_FILTER.tickSize"),
        (
            _entry(LOT_SIZE={"filterType": "LOT_SIZE", "stepSize": "abc"}),
            "exchangeInfo: ETHBTC LOT_SIZE.stepSize is not a number: 'abc'",
        ),
        (
            _entry(PRICE_FILTER={"filterType": "PRICE_FILTER", "tickSize": "0"}),
            "exchangeInfo: ETHBTC PRICE_FILTER.tickSize must be > 0, got '0'",
        ),
        ({"symbol": "ETHBTC"}, "exchangeInfo: ETHBTC has no 'filters' list"),
        ([1, 2], "exchangeInfo: expected a symbol object, got [1, 2]"),
    ],
)
def test_a_malformed_exchange_entry_is_named(entry: object, message: str) -> None:
    with pytest.raises(InstrumentError) as refused:
        parse_symbol_rules(entry, "exchangeInfo")
    assert str(refused.value) == message


def test_exchange_rules_are_cached_beside_the_candles(tmp_path: Path) -> None:
    stored = store_exchange_rules(
        tmp_path, "ethbtc", _entry(), source="http://x/api/v3/exchangeInfo", fetched_at=FETCHED
    )
    assert rules_path(tmp_path, "ETHBTC") == tmp_path / "candles" / "ETHBTC" / "instrument.json"
    loaded = load_exchange_rules(tmp_path, "ETHBTC")
    assert loaded == stored
    assert loaded.describe() == (
        "exchange rules (http://x/api/v3/exchangeInfo, fetched 2026-12-01T10:00:00Z)"
    )
    assert load_exchange_rules(tmp_path, "LTCBTC") is None
    with pytest.raises(InstrumentError, match="asked for the rules of LTCBTC, got ETHBTC"):
        store_exchange_rules(tmp_path, "LTCBTC", _entry(), source="x", fetched_at=FETCHED)
    rules_path(tmp_path, "ETHBTC").write_text("{not json")
    with pytest.raises(InstrumentError, match="not valid JSON"):
        load_exchange_rules(tmp_path, "ETHBTC")


def test_instruments_file_rules(tmp_path: Path) -> None:
    table = tmp_path / "instruments.toml"
    table.write_text(
        "[ETHBTC]\ntick_size = 1e-6\nlot_step = 0.001\nmin_notional = 0.001\n"
        'base_asset = "ETH"\nquote_asset = "BTC"\n'
    )
    resolved = resolve_instrument("ethbtc", data_dir=tmp_path / "empty", instruments_file=table)
    assert resolved.instrument == Instrument(
        "ETHBTC", 1e-6, 0.001, 0.001, base_asset="ETH", quote_asset="BTC"
    )
    assert resolved.source == str(table)
    assert not resolved.warnings
    with pytest.raises(InstrumentError, match=r"instruments file .*: no \[LTCBTC\] table"):
        resolve_instrument("LTCBTC", data_dir=tmp_path / "empty", instruments_file=table)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[ETHBTC]\ntick_size = 1e-6\nlot_step = 0.001\n", r"\[ETHBTC\]: missing min_notional"),
        (
            "[ETHBTC]\ntick = 1\nlot_step = 1\nmin_notional = 0\n",
            r"\[ETHBTC\]: unknown key 'tick'",
        ),
        (
            '[ETHBTC]\ntick_size = "x"\nlot_step = 1\nmin_notional = 0\n',
            r"\[ETHBTC\]: tick_size must be a number, got 'x'",
        ),
        (
            "[ETHBTC]\ntick_size = -1\nlot_step = 1\nmin_notional = 0\n",
            r"\[ETHBTC\]: tick_size must be finite and > 0, got -1",
        ),
        ("[ETHBTC\n", "not valid TOML"),
    ],
)
def test_a_bad_instruments_file_is_one_named_error(tmp_path: Path, text: str, message: str) -> None:
    table = tmp_path / "instruments.toml"
    table.write_text(text)
    with pytest.raises(InstrumentError, match=message):
        resolve_instrument("ETHBTC", data_dir=tmp_path, instruments_file=table)


def test_sources_in_order(tmp_path: Path) -> None:
    frame = _frame([0.0825, 0.09125, 0.1061])
    # Nothing known: the tick comes from the data, with a warning.
    inferred = resolve_instrument("ETHBTC", frame=frame, data_dir=tmp_path)
    assert inferred.instrument == Instrument("ETHBTC", 1e-5, 1e-8, 0.0)
    assert inferred.inferred
    assert inferred.warnings[0].startswith(
        "instrument ETHBTC: no exchange or user rules; tick 1e-05 inferred"
    )
    # Without candles there is nothing to infer from: refused, naming the ways out.
    with pytest.raises(InstrumentError, match="no rules known for ETHBTC: give --tick-size"):
        resolve_instrument("ETHBTC", data_dir=tmp_path)
    # Cached exchange rules win over inference.
    store_exchange_rules(tmp_path, "ETHBTC", _entry(), source="http://x", fetched_at=FETCHED)
    exchange = resolve_instrument("ETHBTC", frame=frame, data_dir=tmp_path)
    assert exchange.instrument.tick_size == 1e-6
    assert exchange.source.startswith("exchange rules (http://x")
    # The data dir's instruments.toml wins over the exchange's cached rules.
    (tmp_path / "instruments.toml").write_text(
        "[ETHBTC]\ntick_size = 1e-5\nlot_step = 0.01\nmin_notional = 0.01\n"
    )
    assert resolve_instrument("ETHBTC", data_dir=tmp_path).instrument.tick_size == 1e-5
    # The command line wins over everything, field by field.
    given = resolve_instrument(
        "ETHBTC", data_dir=tmp_path, overrides=InstrumentOverrides(tick_size=1e-7)
    )
    assert (given.instrument.tick_size, given.instrument.lot_step) == (1e-7, 0.01)
    assert given.source == f"tick from the command line; the rest {tmp_path / 'instruments.toml'}"


def test_complete_command_line_rules_need_no_other_source(tmp_path: Path) -> None:
    given = resolve_instrument(
        "LTCBTC", data_dir=tmp_path, overrides=InstrumentOverrides(1e-6, 0.01, 0.001)
    )
    assert given.instrument == Instrument("LTCBTC", 1e-6, 0.01, 0.001)
    assert given.source == "command line"
    with pytest.raises(InstrumentError, match="instrument LTCBTC: lot_step must be finite"):
        resolve_instrument(
            "LTCBTC",
            data_dir=tmp_path,
            overrides=InstrumentOverrides(lot_step=float("nan")),
            frame=_frame([1.0]),
        )


def test_known_symbols_and_no_default_for_others() -> None:
    assert instrument_for("btcusdt").tick_size == 0.01
    with pytest.raises(InstrumentError, match="no rules known for ETHBTC"):
        instrument_for("ETHBTC")
    assert default_instrument("BTCUSDT", _frame([1.0])).source == (
        "built-in Binance spot rules for BTCUSDT"
    )
    assert default_instrument("ZECBTC", _frame([0.03815, 0.0537068])).instrument.tick_size == 1e-7


@pytest.mark.parametrize(
    ("prices", "decimals"),
    [([16541.77, 16545.0], 2), ([0.0984, 0.09828605], 8), ([1.0, 2.0], 0), ([0.5], 1)],
)
def test_price_decimals(prices: list[float], decimals: int) -> None:
    assert price_decimals(_frame(prices)) == decimals


@pytest.mark.parametrize(
    "name", ["DASHBTC", "ETHBTC", "LTCBTC", "XMRBTC", "ZECBTC"], ids=lambda name: name
)
def test_real_btc_pairs_infer_a_fine_tick(name: str) -> None:
    files = sorted(PORTFOLIO.glob(f"{name}_5m_*.csv"))
    if not files:
        pytest.skip(f"portfolio sample not found in {PORTFOLIO}")
    candles = read_candles_file(files[0], timeframe="5m")
    resolved = default_instrument(name, candles.frame)
    assert resolved.instrument.tick_size == 1e-8
    low = float(candles.frame["low"].min())
    resolved.instrument.check_prices(low, float(candles.frame["high"].max()))
