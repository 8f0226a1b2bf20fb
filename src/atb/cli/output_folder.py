"""Where a command writes its output: checked before any work, written all or nothing.

A backtest may run for minutes; a folder it cannot write (an existing one, a read-only parent,
a file in the way) is refused before the first candle is loaded, with one line naming the
folder. The writing itself goes through `atb.reporting.files`, which stages everything beside
the target and renames it into place, so a failure there leaves nothing either.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import attrs
import click

from atb.domain.errors import AtbError
from atb.reporting.result_files import RESULT_ENTRIES, EquityFormat, ResultFiles
from atb.results import BacktestResult, PortfolioResult

EQUITY_FORMAT_OPTION = click.option(
    "--equity-format",
    type=click.Choice([equity_format.value for equity_format in EquityFormat]),
    default=EquityFormat.CSV.value,
    show_default=True,
    help="The equity curve's file: equity.csv, or equity.parquet (the same numbers in "
    "binary columns; written in a fraction of the time for long runs).",
)
"""`--equity-format`, as every command that writes a result folder takes it."""


class OutputError(AtbError):
    """An output or working folder cannot take what the command would write (names it)."""


def check_writable_folder(folder: Path, *, what: str) -> None:
    """Refuse a folder that neither exists as a writable folder nor can be created.

    `what` names the input in the message (`--model-dir /x`, `the data folder /y`). Uses
    `os.access`, which also sees read-only mounts and immutable folders, and creates nothing:
    probing with a real file would change the folder's modification time.
    """
    folder = folder.absolute()
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{what}: cannot create it, {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{what}: cannot write in {existing} (read-only or not permitted)")


def check_output_folder(
    folder: Path, *, force: bool, what: str, entries: Sequence[str] = RESULT_ENTRIES
) -> bool:
    """Check that a result folder may be written; True when an existing one gets replaced.

    A new folder is fine if its parent can be written. An existing empty folder is simply
    replaced. An existing non-empty one is refused unless `force`, and even then only when it
    holds nothing but an earlier run's files (`entries`: the names such an output holds at its
    top): `--force` never deletes anything else.
    """
    target = folder.absolute()
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise OutputError(f"{what}: {target} exists and is not a folder")
    check_writable_folder(target.parent, what=what)
    if not target.exists():
        return False
    found = sorted(entry.name for entry in target.iterdir())
    if not found:
        return True
    if not force:
        raise OutputError(
            f"{what}: folder {target} already exists and is not empty; "
            "pass --force to replace it, or choose a new folder"
        )
    foreign = [name for name in found if name not in entries]
    if foreign:
        raise OutputError(
            f"{what}: folder {target} holds files that are not an atb result "
            f"({', '.join(foreign[:3])}); --force only replaces an earlier run's folder"
        )
    return True


@attrs.frozen
class RunOutput:
    """Where a run writes: the checked `--out` folder (None: a new one under ./results, named
    when the run ends), whether it replaces an existing one, the words naming it in an error,
    and the equity curve's format."""

    folder: Path | None
    overwrite: bool
    what: str
    equity_format: EquityFormat = EquityFormat.CSV

    @classmethod
    def checked(
        cls, out_dir: Path | None, *, force: bool, equity_format: EquityFormat
    ) -> RunOutput:
        """Check `--out` (or the working folder the default goes to) before any work."""
        if out_dir is not None:
            what = f"--out {out_dir}"
            overwrite = check_output_folder(out_dir, force=force, what=what)
            return cls(out_dir, overwrite, what, equity_format)
        if force:
            raise click.UsageError("--force needs --out (a default output folder is always new)")
        what = "the output folder under ./results"
        # The default folder is named by the time the run ends: only its parent is known now.
        check_writable_folder(Path("results"), what=what)
        return cls(None, False, what, equity_format)


def write_results(
    result: BacktestResult | PortfolioResult, folder: Path, output: RunOutput
) -> ResultFiles:
    """Write a run's result files (a single symbol's or a portfolio's) into `folder`, turning
    a failure of the file system into one line.

    The folder was checked before the run; this still catches what changed since (the folder
    appeared, the disk filled up). The writers have removed their staging folder by then.
    """
    # The writers (and plotly's page writer) are imported when a run has a result to write:
    # the commands that only check a folder (train, check-strategy) do not pay for them, and a
    # single symbol's run does not import the portfolio's.
    from atb.reporting.files import write_result_files

    try:
        if isinstance(result, PortfolioResult):
            from atb.reporting.portfolio_files import write_portfolio_files

            return write_portfolio_files(
                result, folder, overwrite=output.overwrite, equity_format=output.equity_format
            )
        return write_result_files(
            result, folder, overwrite=output.overwrite, equity_format=output.equity_format
        )
    except OSError as error:
        reason = error.strerror or str(error)
        raise OutputError(
            f"{output.what}: cannot write the results to {folder}: {reason}"
        ) from error
