"""Shared fixtures and Hypothesis profiles.

`HYPOTHESIS_PROFILE=ci` (set by `.ci/run`) keeps property tests inside the suite's time budget
and derandomises them, so a CI verdict is reproducible; `dev`, the default for local runs,
explores fresh examples every time (that is where new counterexamples are found).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=75,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

SAMPLE_CSV = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "BTCUSDT_1h_2023-01-01_2025-01-20.csv"
)
"""The real BTCUSDT 1h sample that sits beside the checkout (`../shared/data/`)."""


@pytest.fixture(scope="session")
def sample_csv() -> Path:
    """Path to the real BTCUSDT 1h sample; skips the test cleanly when it is absent."""
    if not SAMPLE_CSV.exists():
        pytest.skip(f"real BTCUSDT sample not found at {SAMPLE_CSV}")
    return SAMPLE_CSV
