"""`atb assumptions`: print, as Markdown, what a backtest under a configuration assumes."""

from __future__ import annotations

from pathlib import Path

import click

from atb.cli.option_types import TIMEFRAME, file_path
from atb.cli.run_options import build_config
from atb.domain.timeframes import parse_timeframe
from atb.reporting.assumptions import render_assumptions_markdown


@click.command("assumptions")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Config override (repeatable), e.g. --set costs.slippage=0 --set partials=None.",
)
@click.option(
    "--config",
    "config_file",
    type=file_path(),
    help="TOML file of config overrides (applied before --set).",
)
@click.option("--timeframe", type=TIMEFRAME, help="Name the bars in the text, e.g. 1h.")
def assumptions(
    assignments: tuple[str, ...], config_file: Path | None, timeframe: str | None
) -> None:
    """Print the assumptions of a backtest under this configuration (Markdown).

    The text is generated from the configuration's values, so it changes with `--set` and
    `--config` exactly as a run would. `atb assumptions > docs/assumptions.md` regenerates the
    page for the defaults.
    """
    config = build_config(config_file, assignments)
    name = None if timeframe is None else str(parse_timeframe(timeframe))
    click.echo(render_assumptions_markdown(config, timeframe=name), nl=False)
