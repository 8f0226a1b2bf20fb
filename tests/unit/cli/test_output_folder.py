"""`--force` replaces an earlier output of the same command, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from atb.cli.output_folder import check_output_folder
from atb.domain.errors import AtbError
from atb.research import study_files, walk_forward_files


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
