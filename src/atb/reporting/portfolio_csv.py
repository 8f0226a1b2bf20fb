"""`trades.csv` (one row per leg) and `equity.csv` (one row per bar time) of a portfolio
backtest, as text.

The conventions are the single-symbol files' (`atb.reporting.csv_files`): `,` separators, `\\n`
line endings, a header row, ISO 8601 UTC times with `Z`, floats in Python's shortest
round-trip form, an empty cell for an undefined number. `trades.csv` has exactly the
single-symbol columns (`symbol` says whose leg it is). Columns in docs/results-portfolio.md.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import numpy.typing as npt

from atb.reporting.csv_files import TRADE_COLUMNS, number_cells
from atb.reporting.jsonable import csv_number, iso_utc, iso_utc_ns
from atb.reporting.portfolio_derived import portfolio_leg_rows
from atb.results import PortfolioResult

__all__ = [
    "EXPOSURE_PREFIX",
    "equity_columns",
    "portfolio_equity_csv",
    "portfolio_equity_values",
    "portfolio_trades_csv",
]

EXPOSURE_PREFIX = "exposure_"
"""The per-symbol exposure columns of `equity.csv` are `exposure_<SYMBOL>`."""

_EQUITY_LEAD = ("time", "equity", "basket", "exposure")


def equity_columns(result: PortfolioResult) -> tuple[str, ...]:
    """Header of a portfolio's `equity.csv`: time, equity, basket, exposure, then
    `exposure_<SYMBOL>` for each symbol in symbol order."""
    return (*_EQUITY_LEAD, *(f"{EXPOSURE_PREFIX}{part.symbol}" for part in result.symbols))


def portfolio_trades_csv(result: PortfolioResult) -> str:
    """Every leg of every closed trade (in the order the trades closed), then the legs of each
    symbol's open position (status `open`, symbol order).

    `exit_reason` and `net_pnl` repeat the trade's values on each of its legs; for an open
    position `exit_reason` is empty and `net_pnl` is marked to market (`OpenPosition.net_pnl`).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    for row in portfolio_leg_rows(result):
        fill = row.fill
        writer.writerow(
            (
                row.trade_id,
                row.status,
                row.symbol,
                row.side.value,
                row.index,
                fill.kind.value,
                iso_utc(fill.time),
                fill.action.value,
                csv_number(fill.price),
                csv_number(fill.quantity),
                csv_number(fill.fee),
                csv_number(fill.slippage),
                fill.liquidity.value,
                fill.order_id,
                fill.reason,
                row.exit_reason,
                csv_number(row.net_pnl),
            )
        )
    return buffer.getvalue()


def portfolio_equity_csv(result: PortfolioResult) -> str:
    """One row per bar time of the curve: time, the account's equity at the closes (quote),
    the equal-weight basket (its close ratio, 1.0 at the start), the total exposure, then each
    symbol's exposure (|notional| / equity; 0 while flat)."""
    times_ns, numbers = portfolio_equity_values(result)
    columns = [iso_utc_ns(times_ns), *(number_cells(column) for column in numbers)]
    # Plain joins, as the single-symbol equity.csv: every cell is a number or an ISO time.
    lines = [",".join(equity_columns(result))]
    lines.extend(",".join(cells) for cells in zip(*columns, strict=True))
    return "\n".join(lines) + "\n"


def portfolio_equity_values(
    result: PortfolioResult,
) -> tuple[npt.NDArray[np.int64], tuple[npt.NDArray[np.float64], ...]]:
    """The portfolio's equity file values: the bar times (ns since the epoch, UTC) and the
    number columns after `time` in `equity_columns`' order. Both file formats write these."""
    curve = result.equity
    return np.asarray(curve.times_ns, dtype=np.int64), (
        np.asarray(curve.equity, dtype=np.float64),
        np.asarray(curve.close, dtype=np.float64),
        np.asarray(curve.exposure, dtype=np.float64),
        *(np.asarray(part.exposure, dtype=np.float64) for part in result.symbols),
    )
