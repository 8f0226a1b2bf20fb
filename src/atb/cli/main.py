"""Entry point of the `atb` command.

Subcommands live in their own modules and are attached here. Any `AtbError` becomes a one-line
message on stderr and exit code 2; nothing else is caught, so real bugs keep their traceback.
"""

from __future__ import annotations

import sys

import click

from atb import __version__
from atb.domain.errors import AtbError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="atb")
def cli() -> None:
    """atb: research a strategy on history, then run the same logic live.

    The same candles give the same trades in `atb backtest` and `atb live`, because both engines
    call one per-bar kernel and one set of position managers.
    """


def _register_commands() -> None:
    """Attach every subcommand module (imported here to keep `atb --help` fast to change)."""
    from atb.cli import strategy_cmds
    from atb.cli.assumptions_cmd import assumptions
    from atb.cli.backtest_cmd import backtest
    from atb.cli.data_cmd import data
    from atb.cli.live_cmd import live
    from atb.cli.optimize_cmd import optimize
    from atb.cli.parity_cmd import parity
    from atb.cli.sandbox_cmd import sandbox

    cli.add_command(backtest)
    cli.add_command(live)
    cli.add_command(parity)
    cli.add_command(optimize)
    cli.add_command(data)
    cli.add_command(strategy_cmds.strategies_command)
    cli.add_command(strategy_cmds.check_strategy_command)
    cli.add_command(strategy_cmds.train_command)
    cli.add_command(assumptions)
    cli.add_command(sandbox)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors exit with code 2 and a one-line message."""
    _register_commands()
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
