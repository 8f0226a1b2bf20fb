"""Fixtures for strategy tests: frames and trained ml_basic models (trained once per module)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from atb.strategies import train
from tests.unit.strategies.frames import read_sample, synthetic_frame


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    """3,000 seeded synthetic hourly bars."""
    return synthetic_frame()


@pytest.fixture(scope="module")
def synthetic_model_dir(synthetic: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory holding ml_basic trained on the first 2,000 synthetic bars."""
    directory = tmp_path_factory.mktemp("models")
    train(synthetic.iloc[:2000], "SYNTH", "1h", model_dir=directory)
    return directory


@pytest.fixture
def btc_frame(sample_csv: Path) -> pd.DataFrame:
    """The real BTCUSDT 1h sample (skips when absent)."""
    return read_sample(sample_csv)
