"""A portfolio's candles: one file per symbol found in a folder, each symbol's own rules, one
quote currency, one time axis on which a missing bar stays missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atb.data.portfolio import find_symbol_files, load_portfolio
from atb.domain.errors import DataError, InstrumentError
from atb.domain.timeframes import parse_timeframe

RULES = """
[AAABTC]
tick_size = 0.000001
lot_step = 0.001
min_notional = 0.001
quote_asset = "BTC"

[BBBBTC]
tick_size = 0.000001
lot_step = 0.001
min_notional = 0.001
quote_asset = "BTC"

[CCCUSDT]
tick_size = 0.01
lot_step = 0.001
min_notional = 5
"""


def _write(
    path: Path, start: str, bars: int, skip: tuple[int, ...] = (), price: float = 0.05
) -> None:
    times = pd.date_range(start, periods=bars, freq="5min", tz="UTC")
    keep = [i for i in range(bars) if i not in skip]
    frame = pd.DataFrame(
        {
            "timestamp": times[keep].strftime("%Y-%m-%d %H:%M:%S"),
            "open": price,
            "high": price * 1.01,
            "low": price * 0.99,
            "close": price,
            "volume": 10.0,
        }
    )
    frame.to_csv(path, index=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = tmp_path / "pairs"
    data.mkdir()
    _write(data / "AAABTC_5m_2018.csv", "2018-01-10", 12)
    _write(data / "BBBBTC.csv", "2018-01-10 00:10", 10, skip=(3, 4))  # lists later, two gaps
    _write(data / "CCCUSDT_5m.csv", "2018-01-10", 12, price=100.0)
    (tmp_path / "rules.toml").write_text(RULES)
    return data


def test_symbols_come_sorted_on_one_axis_and_a_missing_bar_stays_missing(folder: Path) -> None:
    rules = folder.parent / "rules.toml"
    given = load_portfolio(["bbbbtc", "AAABTC"], "5m", data=[folder], instruments_file=rules)
    again = load_portfolio(["AAABTC", "BBBBTC"], "5m", data=[folder], instruments_file=rules)
    assert given.symbols == again.symbols == ("AAABTC", "BBBBTC")
    assert given.times == again.times
    assert len(given.times) == 12
    assert given.quote_asset == "BTC"
    assert given.present["AAABTC"].all()
    # BBBBTC starts two bars later and misses its 4th and 5th bars: 4 absent times in all.
    assert int(np.count_nonzero(~given.present["BBBBTC"])) == 4
    missing = [time.strftime("%H:%M") for time in given.missing("BBBBTC")]
    assert missing == ["00:00", "00:05", "00:25", "00:30"]
    assert given.instruments["BBBBTC"].instrument.tick_size == 0.000001


def test_mixed_quote_currencies_are_refused_in_one_line(folder: Path) -> None:
    rules = folder.parent / "rules.toml"
    with pytest.raises(InstrumentError) as refused:
        load_portfolio(["AAABTC", "CCCUSDT", "BBBBTC"], "5m", data=[folder], instruments_file=rules)
    assert str(refused.value) == (
        "mixed quote currencies (AAABTC, BBBBTC in BTC; CCCUSDT in USDT): a portfolio trades in "
        "one currency, and converting between them is not supported yet"
    )


def test_files_are_found_by_symbol_and_timeframe_and_refused_when_absent_or_ambiguous(
    folder: Path,
) -> None:
    five = parse_timeframe("5m")
    found = find_symbol_files(folder, ["AAABTC", "BBBBTC"], five)
    assert {s: p.name for s, p in found.items()} == {
        "AAABTC": "AAABTC_5m_2018.csv",
        "BBBBTC": "BBBBTC.csv",
    }
    with pytest.raises(DataError, match=r"no candle file for AAABTC 1h"):
        find_symbol_files(folder, ["AAABTC"], parse_timeframe("1h"))
    _write(folder / "AAABTC_old.csv", "2018-01-10", 3)
    with pytest.raises(DataError, match=r"2 files for AAABTC: AAABTC_5m_2018.csv, AAABTC_old.csv"):
        find_symbol_files(folder, ["AAABTC"], five)


def test_a_symbol_twice_or_none_is_refused(folder: Path) -> None:
    with pytest.raises(DataError, match="--symbols: AAABTC is given twice"):
        load_portfolio(["AAABTC", "aaabtc"], "5m", data=[folder])
    with pytest.raises(DataError, match="--symbols: name at least one symbol"):
        load_portfolio([], "5m", data=[folder])


def test_files_can_be_given_one_per_symbol(folder: Path) -> None:
    rules = folder.parent / "rules.toml"
    files = [folder / "BBBBTC.csv", folder / "AAABTC_5m_2018.csv"]
    loaded = load_portfolio(["AAABTC", "BBBBTC"], "5m", data=files, instruments_file=rules)
    assert loaded.symbols == ("AAABTC", "BBBBTC")
    with pytest.raises(DataError, match=r"no file for BBBBTC"):
        load_portfolio(["AAABTC", "BBBBTC"], "5m", data=files[1:], instruments_file=rules)
