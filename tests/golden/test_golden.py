"""Refactors keep results: every golden run is bit-identical to its recorded outputs.

A failure names the case and the part that moved (events, equity, a metric). If the move is
intended, record again (`python -m tests.golden.record`) and say why in the closing note.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
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


# numpy chooses its transcendental loops by CPU feature at import: the wider ones this machine
# has are switched off in a child process, which then runs like a machine without them.


def _wider_simd_here() -> list[str]:
    """numpy's dispatched (above-baseline) CPU features this machine has, by numpy's names."""
    umath = importlib.import_module("numpy._core._multiarray_umath")
    dispatched = getattr(umath, "__cpu_dispatch__", [])
    available = getattr(umath, "__cpu_features__", {})
    assert isinstance(dispatched, list)
    assert isinstance(available, dict)
    return [str(name) for name in dispatched if available.get(name)]


_RECORD_ONE = (
    "import json, sys, tempfile, pathlib\n"
    "from tests.golden.cases import CASES, run_case\n"
    "case = next(c for c in CASES if c.id == sys.argv[1])\n"
    "with tempfile.TemporaryDirectory() as d:\n"
    "    print(json.dumps(run_case(case, pathlib.Path(d) / 'm', pathlib.Path(d))))\n"
)


def test_ml_results_do_not_depend_on_the_cpu() -> None:
    """The ML golden case gives the same bits when numpy may not use AVX2/AVX-512 loops (the
    case moved between CI machines before features went through `atb.managers.portable_math`)."""
    wider = _wider_simd_here()
    if not wider:
        pytest.skip("this CPU has no SIMD above numpy's baseline to switch off")
    root = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(wider)}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(root), os.environ.get("PYTHONPATH")])
    )
    done = subprocess.run(
        [sys.executable, "-c", _RECORD_ONE, "ml-demo"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["events_sha256"] == RECORDED["ml-demo"]["events_sha256"]
    assert record["equity_sha256"] == RECORDED["ml-demo"]["equity_sha256"]
