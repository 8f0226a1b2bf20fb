"""Synthetic BTC-quoted pairs for portfolio tests, written as a user's data folder: one CSV per
symbol and an instruments.toml with each symbol's rules (seeded, so reproducible)."""

from __future__ import annotations

from pathlib import Path

from tests.support.candle_frames import make_candles

SYNTHETIC = ("AAABTC", "BBBBTC", "CCCBTC")
"""BBBBTC misses two bars; CCCBTC is listed later than the others (its data starts later)."""
MISSING = (100, 300)
"""Rows of BBBBTC's series that are left out."""
LISTED_LATER = 30
"""Bars CCCBTC's series starts after the others'."""
RULES = 'tick_size = 0.000001\nlot_step = 0.001\nmin_notional = 0.0001\nquote_asset = "BTC"\n'
INSTRUMENTS = "\n".join(f"[{symbol}]\n{RULES}" for symbol in SYNTHETIC)


def write_pairs(folder: Path, bars: int = 600, *, listed_later: int = LISTED_LATER) -> Path:
    """Write the three pairs' 1h files and instruments.toml into `folder`; returns it.
    CCCBTC starts `listed_later` bars after the others."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed, symbol in enumerate(SYNTHETIC):
        frame = make_candles(bars, seed=seed + 11)
        for column in ("open", "high", "low", "close"):
            frame[column] = (frame[column] / 600_000.0).round(6)
        if symbol == "BBBBTC":
            frame = frame.drop(frame.index[list(MISSING)])
        if symbol == "CCCBTC":
            frame = frame.iloc[listed_later:]
        frame.to_csv(folder / f"{symbol}_1h.csv", index_label="time")
    (folder / "instruments.toml").write_text(INSTRUMENTS)
    return folder
