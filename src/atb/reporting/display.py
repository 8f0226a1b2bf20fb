"""How numbers are shown to people (console summary and HTML report): one spelling each.

Fractions as percentages with two decimals, money with thousands separators and two decimals,
ratios with two decimals; an undefined value (None, NaN, ±inf) is `n/a`. The files meant for
programs (`result.json`, CSV) never go through here; they keep full precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

import attrs

from atb.managers.performance_metrics import PerformanceMetrics

NOT_AVAILABLE = "n/a"
"""What an undefined number is shown as."""


def _defined(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def pct(value: float | None) -> str:
    """A fraction as a signed-when-negative percentage: 0.1234 → `12.34%`."""
    number = _defined(value)
    return NOT_AVAILABLE if number is None else f"{number * 100:,.2f}%"


def money(value: float | None, decimals: int = 2) -> str:
    """A quote-currency amount: 12345.678 → `12,345.68` (`decimals` after the point)."""
    number = _defined(value)
    return NOT_AVAILABLE if number is None else f"{number:,.{decimals}f}"


def money_decimals(scale: float) -> int:
    """Decimals that show an account of size `scale` to six significant digits, at least two:
    10,000 USDT → 2, 1 BTC → 5 (a 0.00001 BTC fee stays visible)."""
    if not math.isfinite(scale) or scale <= 0:
        return 2
    digits = math.floor(math.log10(scale)) + 1
    return max(2, min(10, 6 - digits))


def ratio(value: float | None) -> str:
    """A dimensionless ratio: 1.2345 → `1.23`."""
    number = _defined(value)
    return NOT_AVAILABLE if number is None else f"{number:,.2f}"


def price(value: float | None) -> str:
    """A price or quantity: up to 8 significant digits, no exponent for everyday values."""
    number = _defined(value)
    return NOT_AVAILABLE if number is None else f"{number:,.8g}"


def count(value: float | None) -> str:
    """A count: 1234 → `1,234`."""
    number = _defined(value)
    return NOT_AVAILABLE if number is None else f"{int(number):,d}"


def when(value: datetime) -> str:
    """A UTC time for people: `2024-01-01 00:00 UTC`."""
    return value.strftime("%Y-%m-%d %H:%M UTC")


@attrs.frozen(slots=True)
class Headline:
    """One headline metric: its label, the `PerformanceMetrics` field and how to show it."""

    label: str
    field: str
    show: Callable[[float | None], str]

    def value(self, metrics: PerformanceMetrics, money_places: int = 2) -> str:
        """The formatted value of this metric (amounts with `money_places` decimals)."""
        raw = getattr(metrics, self.field)
        number = None if raw is None else float(raw)
        if self.show is money:
            return money(number, money_places)
        return self.show(number)


HEADLINES = (
    Headline("Total return", "total_return", pct),
    Headline("CAGR", "cagr", pct),
    Headline("Sharpe", "sharpe", ratio),
    Headline("Sortino", "sortino", ratio),
    Headline("Calmar", "calmar", ratio),
    Headline("Max drawdown", "max_drawdown", pct),
    Headline("Win rate", "win_rate", pct),
    Headline("Profit factor", "profit_factor", ratio),
    Headline("Trades", "n_trades", count),
    Headline("Expectancy", "expectancy", money),
    Headline("Exposure time", "exposure_time", pct),
    Headline("Final equity", "final_equity", money),
)
"""The metrics both the console summary and the report lead with, in display order."""
