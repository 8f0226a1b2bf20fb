"""Indicators against values computed by hand, and their bounded look-back."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from atb.strategies import indicators as ind


def s(*values: float) -> pd.Series[float]:
    return pd.Series(values, dtype=np.float64)


def values(series: pd.Series[float]) -> list[float]:
    return [float(v) for v in series.to_numpy()]


def nan_prefix(series: pd.Series[float], count: int) -> bool:
    return bool(np.isnan(series.to_numpy()[:count]).all())


def test_sma() -> None:
    out = ind.sma(s(1, 2, 3, 4, 5), 3)
    assert nan_prefix(out, 2)
    assert values(out)[2:] == [2.0, 3.0, 4.0]


def test_ema_truncated_window() -> None:
    # span 3 → a = 0.5; weights oldest→newest 0.25, 0.5, 1 normalised by 1.75.
    out = ind.ema(s(1, 2, 3, 4), span=3, window=3)
    assert nan_prefix(out, 2)
    assert values(out)[2:] == pytest.approx([4.25 / 1.75, 6.0 / 1.75])
    assert ind.ema(s(5, 5, 5, 5, 5), span=2, window=4).iloc[-1] == pytest.approx(5.0)


def test_ema_default_window_is_four_spans() -> None:
    out = ind.ema(s(*range(20)), span=3)
    assert nan_prefix(out, 11)
    assert not math.isnan(out.iloc[11])


def test_rsi_cutler() -> None:
    # changes: +1, -0.5, +1.5 → windows of 2: (1, 0.5) → 66.67, (1.5, 0.5) → 75.
    out = ind.rsi(s(10, 11, 10.5, 12), 2)
    assert nan_prefix(out, 2)
    assert values(out)[2:] == pytest.approx([100 / 1.5, 75.0])
    assert ind.rsi(s(3, 3, 3), 2).iloc[-1] == 50.0
    assert ind.rsi(s(1, 2, 3), 2).iloc[-1] == 100.0
    assert ind.rsi(s(3, 2, 1), 2).iloc[-1] == 0.0


def test_true_range_and_atr() -> None:
    high, low, close = s(10, 12, 11), s(9, 10, 9), s(9.5, 11, 10)
    tr = ind.true_range(high, low, close)
    assert math.isnan(tr.iloc[0])
    assert values(tr)[1:] == [2.5, 2.0]
    out = ind.atr(high, low, close, 2)
    assert nan_prefix(out, 2)
    assert out.iloc[2] == pytest.approx(2.25)


def test_rolling_std_and_zscore() -> None:
    assert ind.rolling_std(s(1, 3), 2).iloc[-1] == 1.0
    assert ind.rolling_std(s(1, 3), 2, ddof=1).iloc[-1] == pytest.approx(math.sqrt(2))
    out = ind.rolling_zscore(s(1, 2, 3, 10), 3)
    assert nan_prefix(out, 2)
    assert out.iloc[2] == pytest.approx(1 / math.sqrt(2 / 3))
    assert out.iloc[3] == pytest.approx(5 / math.sqrt(38 / 3))
    assert ind.rolling_zscore(s(4, 4, 4), 3).iloc[-1] == 0.0


def test_rolling_min_max_and_minmax() -> None:
    x = s(1, 3, 2, 5)
    assert values(ind.rolling_max(x, 3))[2:] == [3.0, 5.0]
    assert values(ind.rolling_min(x, 3))[2:] == [1.0, 2.0]
    out = ind.rolling_minmax(x, 3)
    assert nan_prefix(out, 2)
    assert values(out)[2:] == [0.5, 1.0]
    assert ind.rolling_minmax(s(7, 7, 7), 3).iloc[-1] == 0.5


def test_log_return() -> None:
    out = ind.log_return(s(100, 110, 121), 2)
    assert nan_prefix(out, 2)
    assert out.iloc[2] == pytest.approx(math.log(1.21))


def test_short_input_is_all_nan() -> None:
    assert nan_prefix(ind.sma(s(1, 2), 5), 2)
    assert nan_prefix(ind.rolling_max(s(1, 2), 5), 2)
    assert nan_prefix(ind.rolling_std(s(1, 2), 5), 2)


def test_bad_window_is_rejected() -> None:
    with pytest.raises(ValueError, match="window must be an int >= 1, got 0"):
        ind.sma(s(1, 2), 0)


@pytest.mark.parametrize(
    ("name", "warmup"),
    [("sma", 20), ("ema", 40), ("rsi", 15), ("atr", 15), ("zscore", 20), ("minmax", 20)],
)
def test_window_of_warmup_rows_is_bit_identical_to_full_history(name: str, warmup: int) -> None:
    rng = np.random.default_rng(3)
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 500))))
    high, low = close * 1.01, close * 0.99

    def compute(c: pd.Series[float], h: pd.Series[float], lo: pd.Series[float]) -> float:
        table = {
            "sma": lambda: ind.sma(c, 20),
            "ema": lambda: ind.ema(c, span=10, window=40),
            "rsi": lambda: ind.rsi(c, 14),
            "atr": lambda: ind.atr(h, lo, c, 14),
            "zscore": lambda: ind.rolling_zscore(c, 20),
            "minmax": lambda: ind.rolling_minmax(c, 20),
        }
        return float(table[name]().iloc[-1])

    full = compute(close, high, low)
    tail = compute(close.iloc[-warmup:], high.iloc[-warmup:], low.iloc[-warmup:])
    assert full == tail  # exact, not approx
    short = slice(-warmup + 1, None)
    assert math.isnan(compute(close.iloc[short], high.iloc[short], low.iloc[short]))
