"""Writing a result's four files into an output folder, atomically.

Each file is rendered as it is written (the equity curve of a backtest as a stream of parts,
so a million-row `equity.csv` never exists whole in memory; a Parquet curve on a second thread
while the texts are rendered) into a hidden temporary sibling of the output folder (same
parent, so the same file system), each file flushed and fsynced, and the temporary folder is
renamed into place as the last step. A failure at any point removes the temporary folder: the
output folder either appears complete or not at all. `write_rendered` is that writing step
alone, for files rendered elsewhere (a portfolio's); `write_tree` the same for any set of files
(a study's, with its best trial's result in a subfolder).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import attrs

from atb.reporting.csv_files import (
    EQUITY_COLUMNS,
    equity_csv,
    equity_csv_parts,
    equity_values,
    trades_csv,
)
from atb.reporting.equity_parquet import write_equity_parquet
from atb.reporting.html_report import render_report
from atb.reporting.result_files import (
    EQUITY_CSV,
    REPORT_HTML,
    RESULT_ENTRIES,
    RESULT_FILE_NAMES,
    RESULT_JSON,
    TRADES_CSV,
    EquityFormat,
    ResultFiles,
    result_file_names,
)
from atb.reporting.result_json import result_to_json
from atb.results import BacktestResult


def render_result_files(result: BacktestResult) -> dict[str, str]:
    """The text of each result file by file name (what `write_result_files` writes)."""
    return {
        RESULT_JSON: result_to_json(result),
        TRADES_CSV: trades_csv(result),
        EQUITY_CSV: equity_csv(result),
        REPORT_HTML: render_report(result),
    }


@attrs.frozen(slots=True)
class StreamedText:
    """A file's text made in parts while it is written (`parts` gives them afresh each call)."""

    parts: Callable[[], Iterable[str]]

    def text(self) -> str:
        """The whole text (for a comparison; writing never needs it)."""
        return "".join(self.parts())


@attrs.frozen(slots=True)
class WrittenBinary:
    """A binary file its writer encodes straight into the open file (`write(handle)`), so its
    bytes never exist whole in memory beside the values they encode."""

    write: Callable[[BinaryIO], None]


FileContent = str | bytes | StreamedText | WrittenBinary
"""What `write_tree` writes into a file: text, bytes, text made in parts, or a binary file its
writer encodes into the open file."""


def write_result_files(
    result: BacktestResult,
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    equity_format: EquityFormat = EquityFormat.CSV,
) -> ResultFiles:
    """Write `result.json`, `trades.csv`, `equity.csv` (or `equity.parquet`, by
    `equity_format`) and `report.html` into `out_dir`.

    `out_dir` must not exist (missing parents are created). With `overwrite=True` an existing
    `out_dir` that holds nothing but an earlier run's files is replaced as a whole; a folder
    with any other content is never touched. Raises `FileExistsError` for an existing folder
    that may not be replaced, and re-raises any rendering or IO error after removing the
    temporary folder, so no partial output folder is ever left behind.
    """
    target = Path(out_dir).absolute()
    _check_target(target, overwrite=overwrite)  # refused before any time is spent rendering
    contents = result_file_contents(result, equity_format)
    write_tree(contents, target, overwrite=overwrite, entries=RESULT_ENTRIES)
    return ResultFiles(target, equity_format)


def result_file_contents(
    result: BacktestResult, equity_format: EquityFormat = EquityFormat.CSV
) -> dict[str, FileContent]:
    """What `write_tree` writes for a result's four files, by file name: `result.json`,
    `trades.csv` and `report.html` as text, the curve in `equity_format` made while it is
    written (`equity.csv` in parts, `equity.parquet` encoded into the file), so a million-row
    curve never exists whole in memory. (A study's best trial and a walk-forward's folds are
    written with these too, in their own folders.)"""
    equity: FileContent
    if equity_format is EquityFormat.PARQUET:
        equity = WrittenBinary(
            lambda handle: write_equity_parquet(handle, EQUITY_COLUMNS, *equity_values(result))
        )
    else:
        equity = StreamedText(lambda: equity_csv_parts(result))
    # The texts too are made while they are written: then `write_tree` renders them while a
    # Parquet curve is encoded beside them.
    return {
        RESULT_JSON: StreamedText(lambda: (result_to_json(result, equity_format=equity_format),)),
        TRADES_CSV: StreamedText(lambda: (trades_csv(result),)),
        equity_format.file_name: equity,
        REPORT_HTML: StreamedText(lambda: (render_report(result),)),
    }


def write_rendered(
    contents: Mapping[str, str | bytes], out_dir: str | os.PathLike[str], *, overwrite: bool
) -> ResultFiles:
    """Write already rendered result files (`contents`: the text, or the bytes of a Parquet
    curve, of each of the four files by name, as `render_result_files` gives) into `out_dir`,
    atomically.

    The folder rules and the all-or-nothing promise are `write_result_files`'s: `out_dir` must
    not exist unless `overwrite=True` and it holds nothing but the four files; a failure
    removes the temporary folder and is re-raised. Raises `ValueError` when `contents` does not
    name exactly the four result files.
    """
    formats = [
        equity_format
        for equity_format in EquityFormat
        if sorted(contents) == sorted(result_file_names(equity_format))
    ]
    if not formats:
        raise ValueError(
            f"result files must be exactly {', '.join(RESULT_FILE_NAMES)} (or "
            f"{EquityFormat.PARQUET.file_name} for the curve); "
            f"got {', '.join(sorted(contents)) or 'none'}"
        )
    write_tree(contents, out_dir, overwrite=overwrite, entries=RESULT_ENTRIES)
    return ResultFiles(Path(out_dir).absolute(), formats[0])


def write_tree(
    contents: Mapping[str, FileContent],
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool,
    entries: Sequence[str],
) -> Path:
    """Write files (`contents`: text, bytes or streamed text by relative path,
    `best/result.json` in a subfolder) into `out_dir` atomically, with `write_result_files`'s
    folder rules: `entries` are the names an earlier output of the same kind holds at its top
    (what `overwrite=True` may replace). Returns the folder."""
    target = Path(out_dir).absolute()
    _check_target(target, overwrite=overwrite, entries=entries)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:12]}"
    # os.mkdir (unlike tempfile.mkdtemp's 0700) honours the umask, so the renamed folder gets
    # the same permissions as any folder the user creates.
    staging.mkdir()
    try:
        paths = {name: staging / name for name in sorted(contents)}
        folders = {staging, *(path.parent for path in paths.values())}
        for folder in sorted(folders):
            folder.mkdir(parents=True, exist_ok=True)
        _write_files(paths, contents)
        for folder in sorted(folders, reverse=True):
            _fsync_directory(folder)
        _move_into_place(staging, target, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_directory(target.parent)
    return target


def _check_target(
    target: Path, *, overwrite: bool, entries: Sequence[str] = RESULT_ENTRIES
) -> None:
    if not target.exists() and not target.is_symlink():
        return
    if not overwrite:
        raise FileExistsError(f"output folder {target} already exists")
    if not target.is_dir() or target.is_symlink():
        raise FileExistsError(f"output path {target} exists and is not a folder")
    foreign = sorted(p.name for p in target.iterdir() if p.name not in entries)
    if foreign:
        raise FileExistsError(
            f"output folder {target} holds other files ({', '.join(foreign[:3])}); not replacing it"
        )


def _move_into_place(staging: Path, target: Path, *, overwrite: bool) -> None:
    if not (overwrite and target.exists()):
        if target.exists():  # appeared while we were writing
            raise FileExistsError(f"output folder {target} already exists")
        os.rename(staging, target)
        return
    # Replacing: move the old folder aside, move the new one in, then delete the old one. Only
    # the two renames sit between "old complete" and "new complete".
    retired = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
    os.rename(target, retired)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _write_files(paths: Mapping[str, Path], contents: Mapping[str, FileContent]) -> None:
    """Write each file of `contents` to its path. A binary file's encoder (Arrow's) runs in C
    without holding the GIL, so binary files are written on a second thread while this one
    renders and writes the texts; both are done when this returns, also on an error."""
    binaries = [name for name in paths if isinstance(contents[name], WrittenBinary)]
    if not binaries:
        for name, path in paths.items():
            _write_synced(path, contents[name])
        return
    with ThreadPoolExecutor(max_workers=1) as beside:  # leaving waits for the thread
        written = [beside.submit(_write_synced, paths[name], contents[name]) for name in binaries]
        for name, path in paths.items():
            if name not in binaries:
                _write_synced(path, contents[name])
        for future in written:
            future.result()  # its error, if any, is raised here


def _write_synced(path: Path, content: FileContent) -> None:
    with path.open("wb") as handle:
        if isinstance(content, StreamedText):
            for part in content.parts():
                handle.write(part.encode("utf-8"))
        elif isinstance(content, WrittenBinary):
            content.write(handle)
        else:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_directory(path: Path) -> None:
    # Makes the rename durable; not every platform can open a directory, which is harmless.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
