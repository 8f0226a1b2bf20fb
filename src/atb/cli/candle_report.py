"""What the commands that read candles tell the user about them, and the `--drop-outliers` flag.

One wording for every command (`atb data import`, `backtest`, `train`, `check-strategy`,
`parity --data`, `live --replay`): notes on how the window was chosen go to stdout; suspicious
prints are a warning on stderr listing the bars (capped); dropped bars are said on stdout, with
the gaps they leave, so removing data is never silent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

if TYPE_CHECKING:
    from atb.data.candles import ValidatedCandles

F = TypeVar("F", bound=Callable[..., Any])

MAX_BARS_SHOWN = 10
"""Flagged bars listed before `… and N more`."""


def drop_outliers_option(command: F) -> F:
    """`--drop-outliers`: remove the bars flagged as suspicious prints (they become gaps)."""
    return click.option(
        "--drop-outliers",
        is_flag=True,
        help="Remove bars flagged as suspicious prints (a wick far outside the neighbouring "
        "bars that reverts within the bar); each becomes a reported gap.",
    )(command)


def echo_candles_report(
    candles: ValidatedCandles, *, only: Literal["stdout", "stderr"] | None = None
) -> None:
    """Print the candles' notes, suspicious-print warning and dropped bars, if any.

    Notes and dropped bars go to stdout and the warning to stderr, unless `only` sends all of
    it to one stream (`atb parity --json` keeps stdout for JSON; `atb live` logs on stderr).
    """
    from atb.data.outliers import describe_suspicious

    info = only == "stderr"
    warn = only != "stdout"
    for note in candles.notes:
        click.echo(f"note: {note}", err=info)
    if candles.suspicious:
        count = len({bar.time for bar in candles.suspicious})
        looks = "looks like a bad print" if count == 1 else "look like bad prints"
        click.echo(
            f"warning: {_bars(count)} of {candles.source} {looks} (a wick far outside the "
            "neighbouring bars that reverts within the bar); check the source, or pass "
            "--drop-outliers to remove them:",
            err=warn,
        )
        for line in describe_suspicious(candles.suspicious, limit=MAX_BARS_SHOWN):
            click.echo(f"  {line}", err=warn)
    if candles.dropped:
        removed = _bars(len({bar.time for bar in candles.dropped}))
        click.echo(f"dropped {removed} flagged as suspicious prints (--drop-outliers):", err=info)
        for line in describe_suspicious(candles.dropped, limit=MAX_BARS_SHOWN):
            click.echo(f"  {line}", err=info)
        gaps = candles.gaps
        missing = sum(gap.missing_bars for gap in gaps)
        click.echo(f"  the data now has {len(gaps)} gap(s), {missing} bar(s) missing", err=info)


def _bars(count: int) -> str:
    return f"{count} bar" if count == 1 else f"{count} bars"
