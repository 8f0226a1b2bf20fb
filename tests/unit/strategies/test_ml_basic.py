"""ml_basic: training, the artifact (round trip, reproducibility, tamper refusal), decisions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atb.domain.decisions import HOLD, Action, Decision
from atb.domain.errors import StrategyError
from atb.managers.policies import PolicyHydrator
from atb.managers.run_config import RunConfiguration
from atb.strategies import (
    StrategyContext,
    create_strategy,
    load_artifact,
    train,
    training_window_overlaps,
)
from atb.strategies.definition import DefinedStrategy
from atb.strategies.ml_artifact import artifact_paths, metadata_digest
from atb.strategies.ml_basic import MlBasic
from atb.strategies.ml_features import FEATURE_NAMES
from tests.unit.strategies.test_sma_cross import BAR, LONG


def test_training_writes_metadata_and_metrics(synthetic: pd.DataFrame, tmp_path: Path) -> None:
    artifact, metrics = train(synthetic.iloc[:2000], "SYNTH", "1h", {"l2": 0.5}, model_dir=tmp_path)
    json_path, npz_path = artifact_paths(tmp_path, "SYNTH", "1h")
    assert artifact.path == json_path
    assert npz_path.exists()
    meta = json.loads(json_path.read_text())
    assert meta["strategy"] == "ml_basic"
    assert meta["features"] == list(FEATURE_NAMES)
    assert meta["training_window"] == {
        "start": "2023-01-01T00:00:00+00:00",
        "end": "2023-03-25T07:00:00+00:00",
    }
    assert meta["params"]["l2"] == 0.5
    assert len(meta["data_fingerprint"]) == 64
    assert 0.0 <= metrics.directional_accuracy <= 1.0
    assert metrics.fit_rows + metrics.holdout_rows + 1 == 2000 - 96
    assert meta["metrics"] == metrics.as_dict()
    assert list(meta) == sorted(meta)


def test_round_trip(synthetic: pd.DataFrame, tmp_path: Path) -> None:
    artifact, _ = train(synthetic.iloc[:2000], "SYNTH", "1h", model_dir=tmp_path)
    loaded = load_artifact(artifact.path, symbol="SYNTH", timeframe="1h")
    assert np.array_equal(loaded.model.weights, artifact.model.weights)
    assert loaded.model.intercept == artifact.model.intercept
    assert loaded.metadata == artifact.metadata
    assert loaded.artifact_id == artifact.metadata["weights_sha256"][:16]
    # the weights are a plain .npz readable without pickle
    with np.load(artifact.path.with_suffix(".npz"), allow_pickle=False) as archive:
        assert sorted(archive.files) == ["intercept", "mean", "scale", "weights"]


def test_retraining_is_byte_identical(synthetic: pd.DataFrame, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    train(synthetic.iloc[:2000], "SYNTH", "1h", model_dir=first, seed=3)
    train(synthetic.iloc[:2000], "SYNTH", "1h", model_dir=second, seed=3)
    for name in ("ml_basic_SYNTH_1h.json", "ml_basic_SYNTH_1h.npz"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_tampered_weights_are_refused(synthetic_model_dir: Path, tmp_path: Path) -> None:
    json_path, npz_path = artifact_paths(synthetic_model_dir, "SYNTH", "1h")
    copy_json, copy_npz = tmp_path / json_path.name, tmp_path / npz_path.name
    copy_json.write_bytes(json_path.read_bytes())
    payload = bytearray(npz_path.read_bytes())
    payload[-200] ^= 0x01
    copy_npz.write_bytes(bytes(payload))
    with pytest.raises(StrategyError, match=r"weights hash mismatch \(ml_basic_SYNTH_1h.npz"):
        load_artifact(copy_json)


def test_tampered_metadata_is_refused(synthetic_model_dir: Path, tmp_path: Path) -> None:
    json_path, npz_path = artifact_paths(synthetic_model_dir, "SYNTH", "1h")
    meta = json.loads(json_path.read_text())
    meta["training_window"]["end"] = "2020-01-01T00:00:00+00:00"
    (tmp_path / json_path.name).write_text(json.dumps(meta))
    (tmp_path / npz_path.name).write_bytes(npz_path.read_bytes())
    with pytest.raises(StrategyError, match="metadata hash mismatch"):
        load_artifact(tmp_path / json_path.name)


def test_mismatched_features_are_refused(synthetic_model_dir: Path, tmp_path: Path) -> None:
    json_path, npz_path = artifact_paths(synthetic_model_dir, "SYNTH", "1h")
    meta = json.loads(json_path.read_text())
    meta["features"] = meta["features"][::-1]
    meta["metadata_sha256"] = metadata_digest(meta)
    (tmp_path / json_path.name).write_text(json.dumps(meta))
    (tmp_path / npz_path.name).write_bytes(npz_path.read_bytes())
    with pytest.raises(StrategyError, match=r"feature list .* does not match"):
        load_artifact(tmp_path / json_path.name)


def test_mismatched_symbol_or_timeframe_is_refused(synthetic_model_dir: Path) -> None:
    json_path, _ = artifact_paths(synthetic_model_dir, "SYNTH", "1h")
    with pytest.raises(StrategyError, match="symbol is 'SYNTH', expected 'BTCUSDT'"):
        load_artifact(json_path, symbol="BTCUSDT")
    with pytest.raises(StrategyError, match="timeframe is '1h', expected '4h'"):
        create_strategy("ml_basic", {"model": str(json_path)}, StrategyContext("SYNTH", "4h"))


def test_missing_model_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(StrategyError, match=r"not found \(train one with `atb train ml_basic"):
        create_strategy("ml_basic", context=StrategyContext("SYNTH", "1h", tmp_path))


def test_too_little_data_is_refused(synthetic: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(StrategyError, match="only 204 usable rows in the window, need at least"):
        train(synthetic.iloc[:300], "SYNTH", "1h", model_dir=tmp_path)


def test_training_window_overlap(synthetic_model_dir: Path) -> None:
    artifact = load_artifact(artifact_paths(synthetic_model_dir, "SYNTH", "1h")[0])
    end = artifact.training_end
    after = end + pd.Timedelta(hours=1)
    assert not training_window_overlaps(artifact, after, None)
    assert training_window_overlaps(artifact, end, None)
    assert training_window_overlaps(artifact, None, None)
    assert training_window_overlaps(artifact, None, artifact.training_start)
    assert not training_window_overlaps(
        artifact, None, artifact.training_start - pd.Timedelta(hours=1)
    )
    assert not training_window_overlaps(artifact, after.tz_convert(None), None)  # naive = UTC


def test_decisions(synthetic: pd.DataFrame, synthetic_model_dir: Path) -> None:
    strategy = create_strategy(
        "ml_basic", {"allow_short": True}, StrategyContext("SYNTH", "1h", synthetic_model_dir)
    )
    assert isinstance(strategy, DefinedStrategy)
    definition = strategy.definition
    assert isinstance(definition, MlBasic)
    assert strategy.warmup == 96
    strategy.prepare(synthetic)
    prediction = strategy.features()["prediction"].to_numpy()
    mask = strategy.signal_mask()
    assert not mask[:95].any()
    assert 0 < mask.sum() < len(mask)
    up = int(np.flatnonzero(prediction >= definition.entry_threshold)[0])
    entry = strategy.decide(up, BAR, None)
    assert entry.action is Action.ENTER_LONG
    assert entry.size is not None
    assert 0 < entry.size <= 1.0
    assert (entry.stop_loss_pct, entry.take_profit_pct) == (0.025, 0.06)
    policies = PolicyHydrator(RunConfiguration.default().risk).hydrate(entry.policies)
    assert policies.trailing is not None
    assert policies.partials is not None
    assert strategy.decide(up, BAR, LONG) is HOLD
    down = int(np.flatnonzero(prediction <= -definition.entry_threshold)[0])
    assert strategy.decide(down, BAR, LONG).action is Action.ENTER_SHORT  # reversal
    assert strategy.decide(down, BAR, None).action is Action.ENTER_SHORT
    quiet = int(np.flatnonzero(~mask[96:])[0]) + 96
    assert strategy.decide(quiet, BAR, None) is HOLD
    assert strategy.model_artifact.symbol == "SYNTH"


def test_long_only_exits_when_prediction_turns(
    synthetic: pd.DataFrame, synthetic_model_dir: Path
) -> None:
    strategy = create_strategy(
        "ml_basic", context=StrategyContext("SYNTH", "1h", synthetic_model_dir)
    )
    strategy.prepare(synthetic)
    prediction = strategy.features()["prediction"].to_numpy()
    assert isinstance(strategy, DefinedStrategy)
    definition = strategy.definition
    assert isinstance(definition, MlBasic)
    down = int(np.flatnonzero(prediction <= -definition.entry_threshold)[0])
    assert strategy.decide(down, BAR, LONG) == Decision(
        Action.EXIT, reason="prediction turned down"
    )
    assert strategy.decide(down, BAR, None) is HOLD


def test_real_sample_trains_in_seconds(btc_frame: pd.DataFrame, tmp_path: Path) -> None:
    import time

    started = time.perf_counter()
    artifact, metrics = train(
        btc_frame.loc[:"2024-06-29 23:00"], "BTCUSDT", "1h", model_dir=tmp_path
    )
    assert time.perf_counter() - started < 5.0
    assert metrics.holdout_rows > 2000
    assert artifact.training_end == pd.Timestamp("2024-06-29 23:00", tz="UTC")
