"""The five real BTC-quoted 5-minute pairs of `../shared/data/portfolio/` on one time axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from atb.data.portfolio import load_portfolio

PORTFOLIO = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "portfolio"
PAIRS = ("ZECBTC", "ETHBTC", "XMRBTC", "LTCBTC", "DASHBTC")  # not in order: it must not matter
RULES = "\n".join(
    f'[{pair}]\ntick_size = 0.000001\nlot_step = 0.001\nmin_notional = 0.001\nquote_asset = "BTC"\n'
    for pair in PAIRS
)


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not PORTFOLIO.is_dir():
        pytest.skip(f"portfolio sample not found in {PORTFOLIO}")
    path = tmp_path_factory.mktemp("rules") / "instruments.toml"
    path.write_text(RULES)
    return path


def test_five_real_pairs_share_one_axis_with_their_gaps_left_open(rules: Path) -> None:
    loaded = load_portfolio(PAIRS, "5m", data=[PORTFOLIO], instruments_file=rules)
    assert loaded.symbols == ("DASHBTC", "ETHBTC", "LTCBTC", "XMRBTC", "ZECBTC")
    assert loaded.quote_asset == "BTC"
    assert len(loaded.times) == 5_760  # 20 days of 5-minute bars
    bars = {symbol: int(np.count_nonzero(loaded.present[symbol])) for symbol in loaded.symbols}
    assert bars == {
        "DASHBTC": 5_758,
        "ETHBTC": 5_760,
        "LTCBTC": 5_760,
        "XMRBTC": 5_758,
        "ZECBTC": 5_757,
    }
    assert loaded.warnings == ()  # every pair has its own rules, none borrowed
    for symbol in loaded.symbols:
        assert len(loaded.missing(symbol)) == 5_760 - bars[symbol]
