"""Refactors keep results: every golden run is bit-identical to its recorded outputs.

A failure names the case and the part that moved (events, equity, a metric). If the move is
intended, record again (`python -m tests.golden.record`) and say why in the closing note.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_CSV
from tests.golden.cases import CASES, EXPECTED, Case, needs_sample, run_case

RECORDED: dict[str, dict[str, object]] = json.loads(EXPECTED.read_text())


def test_every_case_is_recorded() -> None:
    assert sorted(RECORDED) == sorted(case.id for case in CASES)


def test_the_golden_set_trades() -> None:
    # A golden set of runs that never trade would prove nothing.
    trading = [case_id for case_id, record in RECORDED.items() if int(str(record["trades"])) > 0]
    assert len(trading) >= len(CASES) - 1


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_golden_case_is_unchanged(case: Case, tmp_path: Path) -> None:
    if needs_sample(case) and not SAMPLE_CSV.exists():
        pytest.skip(f"real BTCUSDT sample not found at {SAMPLE_CSV}")
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    record = run_case(case, model_dir, tmp_path)
    expected = RECORDED[case.id]
    for key, value in expected.items():
        if key == "metrics":
            assert isinstance(value, dict)
            got = record["metrics"]
            assert isinstance(got, dict)
            changed = {
                name: (old, got.get(name)) for name, old in value.items() if got.get(name) != old
            }
            assert not changed, f"{case.id}: metrics moved (recorded, now): {changed}"
        else:
            assert record[key] == value, f"{case.id}: {key} moved"
