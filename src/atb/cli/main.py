"""Entry point of the `atb` command.

Subcommands live in their own modules and are attached here. Any `AtbError` becomes a one-line
message on stderr and exit code 2; nothing else is caught, so real bugs keep their traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import ClassVar

import attrs
import click

from atb import __version__
from atb.cli.heap import prefer_small_pages
from atb.domain.errors import AtbError


@attrs.frozen(slots=True)
class Subcommand:
    """A subcommand listed by `atb --help` without importing its module (which may pull in
    pandas, plotly or Ray); `load` imports it when it runs or its own help is asked for."""

    name: str
    summary: str
    """Its one-line help, as `atb --help` shows it (a test keeps it equal to the command's)."""
    load: Callable[[], click.Command]


def _backtest() -> click.Command:
    from atb.cli.backtest_cmd import backtest

    return backtest


def _live() -> click.Command:
    from atb.cli.live_cmd import live

    return live


def _parity() -> click.Command:
    from atb.cli.parity_cmd import parity

    return parity


def _optimize() -> click.Command:
    from atb.cli.optimize_cmd import optimize

    return optimize


def _data() -> click.Command:
    from atb.cli.data_cmd import data

    return data


def _strategies() -> click.Command:
    from atb.cli.strategies_list import strategies_command

    return strategies_command


def _check_strategy() -> click.Command:
    from atb.cli.strategy_cmds import check_strategy_command

    return check_strategy_command


def _train() -> click.Command:
    from atb.cli.strategy_cmds import train_command

    return train_command


def _assumptions() -> click.Command:
    from atb.cli.assumptions_cmd import assumptions

    return assumptions


def _dashboard() -> click.Command:
    from atb.cli.dashboard_cmd import dashboard

    return dashboard


def _sandbox() -> click.Command:
    from atb.cli.sandbox_cmd import sandbox

    return sandbox


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "backtest",
        "Backtest STRATEGY on SYMBOL/TIMEFRAME candles (or on several SYMBOLS from one account).",
        _backtest,
    ),
    Subcommand(
        "live",
        "Run STRATEGY live on closed candles (paper trading), or inspect/stop a session.",
        _live,
    ),
    Subcommand(
        "parity",
        "Diff a live session against the backtest of the very candles it consumed.",
        _parity,
    ),
    Subcommand(
        "dashboard",
        "Serve a read-only web dashboard of the live sessions in the store(s).",
        _dashboard,
    ),
    Subcommand(
        "optimize",
        "Search STRATEGY's parameters for the best objective; trials run on Ray.",
        _optimize,
    ),
    Subcommand("data", "Market data: import, download and list cached candles.", _data),
    Subcommand(
        "strategies",
        "List the built-in strategies with their parameters and defaults.",
        _strategies,
    ),
    Subcommand(
        "check-strategy",
        "Prove a strategy has no look-ahead or history-length bias (exit 1 if it has).",
        _check_strategy,
    ),
    Subcommand("train", "Train a model strategy (ml_basic) and save its artifact.", _train),
    Subcommand(
        "assumptions",
        "Print the assumptions of a backtest under this configuration (Markdown).",
        _assumptions,
    ),
    Subcommand(
        "sandbox",
        "Serve FILE's candles as a local exchange that accepts signed spot orders.",
        _sandbox,
    ),
)
"""Every subcommand, in the order `atb --help` lists them."""


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used: `atb --help` lists them from
    their summaries, `atb backtest …` imports the backtest and nothing else."""

    lazy: ClassVar[Mapping[str, Subcommand]] = {entry.name: entry for entry in SUBCOMMANDS}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every subcommand's name, in the declared order."""
        return list(self.lazy)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand, imported now."""
        entry = self.lazy.get(cmd_name)
        if entry is not None and cmd_name not in self.commands:
            self.add_command(entry.load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the summaries, whole (wrapped, not cut); no subcommand module is
        imported."""
        rows = [(entry.name, entry.summary) for entry in self.lazy.values()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="atb")
def cli() -> None:
    """atb: research a strategy on history, then run the same logic live.

    The same candles give the same trades in `atb backtest` and `atb live`, because both engines
    call one per-bar kernel and one set of position managers.
    """


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors exit with code 2 and a one-line message."""
    prefer_small_pages()  # before any command imports numpy
    try:
        cli.main(args=argv, prog_name="atb", standalone_mode=False)
    except AtbError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(2 if error.exit_code == 2 else error.exit_code)
