"""`write_result_files`: the four files, determinism on disk, and the atomic-folder promise
(a failure never leaves a partial output folder or a temporary sibling behind)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import attrs
import numpy as np
import pandas as pd
import pytest

from atb.reporting.csv_files import EQUITY_COLUMNS
from atb.reporting.files import (
    FileContent,
    StreamedText,
    WrittenBinary,
    render_result_files,
    write_result_files,
    write_tree,
)
from atb.reporting.result_files import RESULT_FILE_NAMES, EquityFormat, ResultFiles
from tests.support.result_builder import build_result

REPO = Path(__file__).resolve().parents[3]


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def test_writes_the_four_files(tmp_path: Path) -> None:
    result = build_result()
    files = write_result_files(result, tmp_path / "results" / "run1")
    assert files == ResultFiles(tmp_path / "results" / "run1")
    assert sorted(p.name for p in files.directory.iterdir()) == sorted(RESULT_FILE_NAMES)
    expected = render_result_files(result)
    for path in (files.result_json, files.trades_csv, files.equity_csv, files.report_html):
        assert path.read_bytes() == expected[path.name].encode("utf-8")
    # The folder gets ordinary permissions (umask applied), not a temp folder's 0700.
    assert files.directory.stat().st_mode & 0o777 == 0o777 & ~_umask()
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["run1"]


def test_the_curve_in_parquet_holds_every_number_of_the_csv(tmp_path: Path) -> None:
    result = build_result()
    text = write_result_files(result, tmp_path / "csv")
    binary = write_result_files(result, tmp_path / "pq", equity_format=EquityFormat.PARQUET)
    assert binary == ResultFiles(tmp_path / "pq", EquityFormat.PARQUET)
    assert sorted(p.name for p in binary.directory.iterdir()) == [
        "equity.parquet",
        "report.html",
        "result.json",
        "trades.csv",
    ]
    for name in ("trades.csv", "report.html"):
        assert (text.directory / name).read_bytes() == (binary.directory / name).read_bytes()
    a = text.result_json.read_text().splitlines()
    b = binary.result_json.read_text().splitlines()
    assert [(x.strip(), y.strip()) for x, y in zip(a, b, strict=True) if x != y] == [
        ('"file": "equity.csv",', '"file": "equity.parquet",')
    ]
    frame = pd.read_parquet(binary.equity)
    assert tuple(frame.columns) == EQUITY_COLUMNS
    rows = [line.split(",") for line in text.equity.read_text().splitlines()[1:]]
    assert len(rows) == len(frame) > 0
    times = pd.DatetimeIndex(frame["time"])
    assert [cells[0] for cells in rows] == times.strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
    for index, name in enumerate(EQUITY_COLUMNS[1:], start=1):
        values = frame[name].to_numpy(dtype=np.float64)
        cells = [cells[index] for cells in rows]
        # The very float the CSV cell spells (empty where the number is not finite).
        assert [cell == "" for cell in cells] == (~np.isfinite(values)).tolist()
        parsed = np.array([float(cell) if cell else np.nan for cell in cells])
        finite = np.isfinite(values)
        assert parsed[finite].view(np.int64).tolist() == values[finite].view(np.int64).tolist()


def test_two_runs_differ_only_in_created_at(tmp_path: Path) -> None:
    result = build_result()
    later = attrs.evolve(
        result, run=attrs.evolve(result.run, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    )
    first = write_result_files(result, tmp_path / "a")
    second = write_result_files(later, tmp_path / "b")
    for name in ("trades.csv", "equity.csv", "report.html"):
        assert (first.directory / name).read_bytes() == (second.directory / name).read_bytes()
    a = first.result_json.read_text().splitlines()
    b = second.result_json.read_text().splitlines()
    assert [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y] == [3]
    assert "created_at" in a[3]


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_existing_folder_is_refused_and_left_untouched(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="already exists"):
        write_result_files(build_result(), target)
    with pytest.raises(FileExistsError, match="other files"):
        write_result_files(build_result(), target, overwrite=True)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert _leftovers(tmp_path) == []


def test_overwrite_replaces_a_previous_result_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write_result_files(build_result(), target)
    files = write_result_files(build_result(synthetic=True), target, overwrite=True)
    assert "SYNTHETIC DATA" in files.report_html.read_text()
    assert sorted(p.name for p in target.iterdir()) == sorted(RESULT_FILE_NAMES)
    assert _leftovers(tmp_path) == []


def test_unwritable_path_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match="a-file"):
        write_result_files(build_result(), blocker / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_parent_leaves_nothing(tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        with pytest.raises(PermissionError):
            write_result_files(build_result(), parent / "out")
        assert list(parent.iterdir()) == []
    finally:
        parent.chmod(0o755)


@pytest.mark.parametrize("equity_format", ["csv", "parquet"])
def test_failure_while_writing_removes_the_partial_folder(
    tmp_path: Path, equity_format: str
) -> None:
    # A real mid-write failure: with the file-size limit at 64 KiB, result.json and the CSV
    # files are written but report.html (plotly.js alone is megabytes) fails with EFBIG, with
    # a Parquet curve being written on its own thread meanwhile. A subprocess keeps the limit
    # away from pytest's own files.
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from atb.reporting.files import write_result_files
        from atb.reporting.result_files import EquityFormat
        from tests.support.result_builder import build_result

        result = build_result()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
        try:
            out = Path({str(tmp_path / "out")!r})
            write_result_files(result, out, equity_format=EquityFormat({equity_format!r}))
        except OSError as exc:
            print("failed:", exc.errno)
            sys.exit(0)
        sys.exit("write unexpectedly succeeded")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("failed: 27")  # EFBIG: File too large
    assert list(tmp_path.iterdir()) == []


def test_a_failing_binary_writer_leaves_nothing_and_its_error_is_raised(tmp_path: Path) -> None:
    def broken(handle: BinaryIO) -> None:
        handle.write(b"PAR1")
        raise ValueError("encoder failed")

    contents: dict[str, FileContent] = {
        "a.txt": StreamedText(lambda: ("text",)),
        "curve.parquet": WrittenBinary(broken),
        "z.txt": "more text",
    }
    with pytest.raises(ValueError, match="encoder failed"):
        write_tree(contents, tmp_path / "out", overwrite=False, entries=tuple(contents))
    assert list(tmp_path.iterdir()) == []


def test_texts_and_a_binary_written_side_by_side_all_arrive(tmp_path: Path) -> None:
    def curve(handle: BinaryIO) -> None:
        handle.write(bytes(range(256)) * 4096)

    contents: dict[str, FileContent] = {
        "a.txt": StreamedText(lambda: ("one ", "two")),
        "sub/curve.bin": WrittenBinary(curve),
        "z.txt": "three",
    }
    out = write_tree(contents, tmp_path / "out", overwrite=False, entries=("a.txt", "sub", "z.txt"))
    assert (out / "a.txt").read_text() == "one two"
    assert (out / "sub" / "curve.bin").read_bytes() == bytes(range(256)) * 4096
    assert (out / "z.txt").read_text() == "three"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
