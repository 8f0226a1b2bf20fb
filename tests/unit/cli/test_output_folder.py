"""`--force` replaces an earlier output of the same command, and nothing else; a write that
fails after the check is one line naming the folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from atb.cli.output_folder import OutputError, RunOutput, check_output_folder, write_results
from atb.domain.errors import AtbError
from atb.reporting.result_files import EquityFormat
from atb.research import study_files, walk_forward_files
from tests.support.result_builder import build_result


def _folder(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    for name in names:
        (folder / name).write_text("x")
    return folder


def test_an_earlier_study_or_walk_forward_folder_may_be_replaced_with_force(
    tmp_path: Path,
) -> None:
    study = _folder(tmp_path, "study.json", "trials.csv", "report.html")
    assert check_output_folder(study, force=True, what="--out", entries=study_files.ENTRIES)
    walk = tmp_path / "walk"
    walk.mkdir()
    (walk / "walk_forward.json").write_text("{}")
    (walk / "folds").mkdir()
    assert check_output_folder(walk, force=True, what="--out", entries=walk_forward_files.ENTRIES)


def test_force_never_replaces_another_kind_of_folder(tmp_path: Path) -> None:
    study = _folder(tmp_path, "study.json", "trials.csv")
    with pytest.raises(AtbError, match=r"holds files that are not an atb result \(study.json"):
        check_output_folder(study, force=True, what="--out")  # a backtest's names
    with pytest.raises(AtbError, match="already exists and is not empty; pass --force"):
        check_output_folder(study, force=False, what="--out", entries=study_files.ENTRIES)


def test_a_backtest_folder_with_a_parquet_curve_may_be_replaced_with_force(
    tmp_path: Path,
) -> None:
    earlier = _folder(tmp_path, "result.json", "trades.csv", "equity.parquet", "report.html")
    assert check_output_folder(earlier, force=True, what="--out")


def test_a_write_that_fails_after_the_check_is_one_line_naming_the_folder(
    tmp_path: Path,
) -> None:
    # Checked while the folder could be made; then a file took the parent's place.
    parent = tmp_path / "results"
    output = RunOutput.checked(parent / "run", force=False, equity_format=EquityFormat.PARQUET)
    parent.write_text("not a folder")
    with pytest.raises(OutputError) as raised:
        write_results(build_result(), parent / "run", output)
    # The OS's words end the line (here mkdir's "File exists": the parent is a file).
    assert str(raised.value) == (
        f"--out {parent / 'run'}: cannot write the results to {parent / 'run'}: File exists"
    )
    assert parent.read_text() == "not a folder"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["results"]
