"""`trades.csv` (one row per leg) and `equity.csv` (one row per bar), as text.

Both use `,` separators, `\\n` line endings, a header row, ISO 8601 UTC times with `Z`, floats
in Python's shortest round-trip form and an empty cell for an undefined number, so the same
result always gives byte-identical files. Columns are documented in docs/results.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from atb.reporting.derived import buy_and_hold_equity, drawdown, leg_rows
from atb.reporting.jsonable import csv_number, iso_utc, iso_utc_ns
from atb.results import BacktestResult

TRADE_COLUMNS = (
    "trade_id",
    "status",
    "symbol",
    "side",
    "leg",
    "kind",
    "time",
    "action",
    "price",
    "quantity",
    "fee",
    "slippage",
    "liquidity",
    "order_id",
    "reason",
    "exit_reason",
    "net_pnl",
)
"""Header of `trades.csv`."""

EQUITY_COLUMNS = ("time", "equity", "close", "exposure", "drawdown", "buy_and_hold_equity")
"""Header of `equity.csv`."""


def trades_csv(result: BacktestResult) -> str:
    """Every leg of every closed trade, then the open position's legs (status `open`).

    `exit_reason` and `net_pnl` repeat the trade's values on each of its legs; for the open
    position `exit_reason` is empty and `net_pnl` is marked to market (`OpenPosition.net_pnl`).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    for row in leg_rows(result):
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


def equity_csv(result: BacktestResult) -> str:
    """One row per recorded bar: time, equity, close, exposure, drawdown (fraction from the
    running peak) and buy-and-hold equity (the initial balance held from the first close)."""
    return "".join(equity_csv_parts(result))


def equity_csv_parts(result: BacktestResult) -> Iterator[str]:
    """`equity_csv`'s text in consecutive parts (the header, then slices of rows): a writer
    streams them, so neither the cells nor the whole text of a million-row curve ever exist at
    once."""
    times_ns, numbers = equity_values(result)
    # Plain joins rather than csv.writer: every cell is a number or an ISO time, nothing to
    # quote.
    yield ",".join(EQUITY_COLUMNS) + "\n"
    for start in range(0, len(times_ns), _ROWS_PER_SLICE):
        rows = slice(start, start + _ROWS_PER_SLICE)
        cells = (iso_utc_ns(times_ns[rows]), *(number_cells(column[rows]) for column in numbers))
        yield "".join(",".join(row) + "\n" for row in zip(*cells, strict=True))


def equity_values(
    result: BacktestResult,
) -> tuple[npt.NDArray[np.int64], tuple[npt.NDArray[np.float64], ...]]:
    """The equity curve file's values: the bar times (ns since the epoch, UTC) and the
    number columns after `time` in `EQUITY_COLUMNS`' order. Both file formats write these."""
    curve = result.equity
    equity = np.asarray(curve.equity, dtype=np.float64)
    close = np.asarray(curve.close, dtype=np.float64)
    return np.asarray(curve.times_ns, dtype=np.int64), (
        equity,
        close,
        np.asarray(curve.exposure, dtype=np.float64),
        drawdown(equity, result.initial_balance),
        buy_and_hold_equity(close, result.initial_balance),
    )


_ROWS_PER_SLICE = 8_192


def number_cells(values: npt.NDArray[np.float64]) -> list[str]:
    """`csv_number` of each value, vectorised: `repr` of each float, empty where not finite."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    # Formatting a float is the cost here (~0.5 µs each), and curves repeat themselves: a flat
    # account's equity, exposure and drawdown stay the same for thousands of bars. Each run of
    # equal neighbours is formatted once. Equal means the same bits, so -0.0 keeps its sign.
    bits = values.view(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], bits[1:] != bits[:-1])))
    if len(starts) > _RUNS_WORTH_SHARING * len(values):
        each = list(map(repr, values.tolist()))
        for index in np.flatnonzero(~np.isfinite(values)).tolist():
            each[index] = ""
        return each
    firsts = values[starts]
    texts = np.array(list(map(repr, firsts.tolist())), dtype=object)
    texts[~np.isfinite(firsts)] = ""
    lengths = np.diff(np.append(starts, len(values)))
    cells: list[str] = np.repeat(texts, lengths).tolist()
    return cells


_RUNS_WORTH_SHARING = 0.8
"""Above this share of run starts among the values, each is formatted on its own."""
