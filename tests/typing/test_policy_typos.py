"""A misspelled policy field is a mypy error, not a failure mid-backtest.

Strategies attach typed policy changes (`atb.strategies.policies`). These tests run the venv's
mypy (strict, the project's stubs) on a small snippet: the correct spelling passes, a typo or a
value of the wrong type fails, naming the line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MYPY = Path(sys.executable).with_name("mypy")

_HEADER = """\
from datetime import timedelta

from atb.domain.policies import TrailReference
from atb.strategies.policies import partials, policy_bundle, time_exits, trailing

"""


def _mypy(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(_HEADER + body)
    return subprocess.run(
        [
            str(MYPY),
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "mypy_cache"),
            "--config-file",
            str(ROOT / "mypy.ini"),
            str(snippet),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def test_correct_policy_fields_pass(tmp_path: Path) -> None:
    run = _mypy(
        tmp_path,
        "BUNDLE = policy_bundle(\n"
        "    trailing=trailing(activation_pct=0.015, distance_pct=0.01,\n"
        "                      breakeven_trigger_pct=None, reference=TrailReference.EXTREME),\n"
        "    partials=partials(exit_targets=((0.03, 0.5), (0.06, 1.0)), max_scale_ins=0),\n"
        "    time_exits=time_exits(max_holding=timedelta(hours=48), daily_flat_hour=None),\n"
        ")\n"
        "OFF = policy_bundle(partials=None)\n",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Success: no issues found" in run.stdout


def test_a_misspelled_policy_field_is_a_mypy_error(tmp_path: Path) -> None:
    run = _mypy(
        tmp_path,
        "BUNDLE = policy_bundle(trailing=trailing(activation_pct=0.015, distanse_pct=0.01))\n",
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert 'Unexpected keyword argument "distanse_pct"' in run.stdout
    assert "snippet.py:6: error" in run.stdout


def test_a_wrong_value_type_or_section_is_a_mypy_error(tmp_path: Path) -> None:
    run = _mypy(
        tmp_path,
        'A = trailing(reference="extreme")\n'
        'B = time_exits(max_holding="48h")\n'
        "C = policy_bundle(trailing=partials(max_scale_ins=1))\n"
        "D = trailing(distance_pct=None)\n",
    )
    assert run.returncode == 1, run.stdout + run.stderr
    for line in (6, 7, 8, 9):
        assert f"snippet.py:{line}: error" in run.stdout, run.stdout
