"""A one-symbol portfolio is today's single-symbol run: every golden backtest case, run through
the portfolio engine, gives the recorded record bit for bit (events, equity and exposure bytes,
every metric).

The cases with finer candles (`fills.detail_timeframe`) and the live replays are left out: a
portfolio refuses finer candles for now, and live portfolios have their own tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_CSV
from tests.golden.cases import CASES, EXPECTED, Case, needs_sample, run_case_as_portfolio

RECORDED: dict[str, dict[str, object]] = json.loads(EXPECTED.read_text())

PORTFOLIO_CASES = tuple(
    case for case in CASES if not case.live and "fills.detail_timeframe" not in str(case.config)
)


def test_most_cases_run_as_a_portfolio() -> None:
    assert len(PORTFOLIO_CASES) == len(CASES) - 3


@pytest.mark.parametrize("case", PORTFOLIO_CASES, ids=[case.id for case in PORTFOLIO_CASES])
def test_one_symbol_portfolio_equals_the_single_symbol_run(case: Case, tmp_path: Path) -> None:
    if needs_sample(case) and not SAMPLE_CSV.exists():
        pytest.skip(f"real BTCUSDT sample not found at {SAMPLE_CSV}")
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    record = run_case_as_portfolio(case, model_dir)
    expected = RECORDED[case.id]
    for key, value in expected.items():
        if key == "metrics":
            assert isinstance(value, dict)
            got = record["metrics"]
            assert isinstance(got, dict)
            changed = {
                name: (old, got.get(name)) for name, old in value.items() if got.get(name) != old
            }
            assert not changed, f"{case.id}: metrics differ (single, portfolio): {changed}"
        else:
            assert record[key] == value, f"{case.id}: {key} differs from the single-symbol run"
