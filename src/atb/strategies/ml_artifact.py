"""Safe, reproducible model artifacts for `ml_basic`: `.npz` weights plus JSON metadata.

Layout in the model directory (default `$ATB_MODEL_DIR`, else `<user data dir>/atb/models`):

    ml_basic_<SYMBOL>_<TIMEFRAME>.npz    arrays mean, scale, weights, intercept (float64)
    ml_basic_<SYMBOL>_<TIMEFRAME>.json   metadata, sorted keys

The metadata records the strategy, format version, symbol, timeframe, feature list, training
window (first and last bar given to training; the held-out tail is inside it), held-out start,
data fingerprint (SHA-256 of the training candles), metrics, hyper-parameters, seed, the
calibration points, the SHA-256 of the weights file and a SHA-256 of the metadata itself.

Safety: loading reads the arrays with `allow_pickle=False` and verifies both hashes, the
feature list and the symbol/timeframe asked for; anything else is a `StrategyError`.
Reproducibility: the zip is written with fixed entry timestamps and the JSON carries no wall
clock, so retraining on the same candles with the same parameters gives identical bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from atb.deferred_modules import DeferredModule
from atb.domain.errors import StrategyError
from atb.strategies.ml_features import FEATURE_NAMES, FEATURE_WARMUP
from atb.strategies.ml_model import RidgeModel

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from atb.strategies.ml_model import FloatArray
else:
    np = DeferredModule("numpy")
    pd = DeferredModule("pandas")

STRATEGY_NAME = "ml_basic"
FORMAT_VERSION = 1
_ARRAYS = ("mean", "scale", "weights", "intercept")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@attrs.frozen(slots=True, eq=False)
class ModelArtifact:
    """A verified model and its metadata (`metadata` is the parsed JSON document)."""

    model: RidgeModel
    metadata: Mapping[str, Any]
    path: Path

    @property
    def artifact_id(self) -> str:
        """Short id for reports: the first 16 hex digits of the weights' SHA-256."""
        return str(self.metadata["weights_sha256"])[:16]

    @property
    def symbol(self) -> str:
        """Symbol the model was trained on."""
        return str(self.metadata["symbol"])

    @property
    def timeframe(self) -> str:
        """Timeframe the model was trained on."""
        return str(self.metadata["timeframe"])

    @property
    def training_start(self) -> pd.Timestamp:
        """Open time of the first bar given to training (UTC)."""
        return pd.Timestamp(self.metadata["training_window"]["start"])

    @property
    def training_end(self) -> pd.Timestamp:
        """Open time of the last bar given to training (UTC); the held-out tail ends here."""
        return pd.Timestamp(self.metadata["training_window"]["end"])


def default_model_dir() -> Path:
    """`$ATB_MODEL_DIR` when set, else `platformdirs.user_data_dir("atb")/models`."""
    configured = os.environ.get("ATB_MODEL_DIR")
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_data_dir("atb")) / "models"


def artifact_paths(model_dir: Path, symbol: str, timeframe: str) -> tuple[Path, Path]:
    """(metadata JSON, weights NPZ) paths for a symbol and timeframe."""
    for label, value in (("symbol", symbol), ("timeframe", timeframe)):
        if not _SAFE_NAME.match(value):
            raise StrategyError(f"ml_basic: {label} {value!r} cannot name a model file")
    stem = f"{STRATEGY_NAME}_{symbol}_{timeframe}"
    return model_dir / f"{stem}.json", model_dir / f"{stem}.npz"


def candles_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of the bar times (ns) and OHLCV values (the same digest as `atb.data`)."""
    index = pd.DatetimeIndex(frame.index)
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(index.as_unit("ns").asi8).tobytes())
    values = frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)
    digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def _iso(value: pd.Timestamp | datetime) -> str:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.isoformat()


def weights_bytes(model: RidgeModel) -> bytes:
    """The `.npz` bytes for `model`: a stored zip with fixed timestamps (reproducible)."""
    arrays: dict[str, FloatArray] = {
        "mean": model.mean,
        "scale": model.scale,
        "weights": model.weights,
        "intercept": np.array([model.intercept], dtype=np.float64),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in _ARRAYS:
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            payload = io.BytesIO()
            np.lib.format.write_array(
                payload, np.ascontiguousarray(arrays[name], dtype="<f8"), allow_pickle=False
            )
            archive.writestr(info, payload.getvalue())
    return buffer.getvalue()


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, indent=2, allow_nan=False).encode() + b"\n"


def metadata_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of `document` without its `metadata_sha256` field."""
    body = {key: value for key, value in document.items() if key != "metadata_sha256"}
    return hashlib.sha256(_canonical(body)).hexdigest()


def build_metadata(
    model: RidgeModel,
    *,
    symbol: str,
    timeframe: str,
    window_start: pd.Timestamp,
    window_end: pd.Timestamp,
    holdout_start: pd.Timestamp,
    fingerprint: str,
    metrics: Mapping[str, float | int],
    params: Mapping[str, object],
    seed: int,
    weights_file: str,
    weights_sha256: str,
) -> dict[str, Any]:
    """The JSON metadata document (without wall-clock fields), self-hash included."""
    document: dict[str, Any] = {
        "strategy": STRATEGY_NAME,
        "version": FORMAT_VERSION,
        "symbol": symbol,
        "timeframe": timeframe,
        "features": list(model.feature_names),
        "feature_warmup": FEATURE_WARMUP,
        "training_window": {"start": _iso(window_start), "end": _iso(window_end)},
        "holdout_start": _iso(holdout_start),
        "data_fingerprint": fingerprint,
        "metrics": dict(metrics),
        "params": dict(params),
        "seed": seed,
        "calibration": {
            "entry_threshold": model.entry_threshold,
            "full_size": model.full_size,
        },
        "weights_file": weights_file,
        "weights_sha256": weights_sha256,
    }
    document["metadata_sha256"] = metadata_digest(document)
    return document


def _write_atomic(path: Path, payload: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(payload)
    os.replace(temporary, path)


def save_artifact(
    model: RidgeModel, model_dir: Path, metadata_fields: Mapping[str, Any]
) -> ModelArtifact:
    """Write weights then metadata (the JSON is written last: it commits the artifact).

    `metadata_fields` are the keyword arguments of `build_metadata` other than the model and
    the weights fields.
    """
    symbol, timeframe = str(metadata_fields["symbol"]), str(metadata_fields["timeframe"])
    json_path, npz_path = artifact_paths(model_dir, symbol, timeframe)
    model_dir.mkdir(parents=True, exist_ok=True)
    payload = weights_bytes(model)
    document = build_metadata(
        model,
        weights_file=npz_path.name,
        weights_sha256=hashlib.sha256(payload).hexdigest(),
        **metadata_fields,
    )
    _write_atomic(npz_path, payload)
    _write_atomic(json_path, _canonical(document))
    return ModelArtifact(model=model, metadata=document, path=json_path)


def load_artifact(
    path: Path, *, symbol: str | None = None, timeframe: str | None = None
) -> ModelArtifact:
    """Load and verify an artifact from its metadata JSON path.

    Refuses (StrategyError) a missing file, a metadata or weights hash mismatch, another
    strategy or format version, a feature list other than `FEATURE_NAMES`, and a symbol or
    timeframe other than the ones given. Arrays are read with `allow_pickle=False`.
    """
    where = f"model artifact {path}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StrategyError(
            f"{where} not found (train one with `atb train ml_basic --symbol … --timeframe …`)"
        ) from None
    except (OSError, ValueError) as error:
        raise StrategyError(f"{where} is unreadable: {error}") from None
    if not isinstance(document, dict):
        raise StrategyError(f"{where}: metadata must be a JSON object")
    if document.get("metadata_sha256") != metadata_digest(document):
        raise StrategyError(f"{where}: metadata hash mismatch (the file was modified)")
    _expect(where, document, "strategy", STRATEGY_NAME)
    _expect(where, document, "version", FORMAT_VERSION)
    if symbol is not None:
        _expect(where, document, "symbol", symbol)
    if timeframe is not None:
        _expect(where, document, "timeframe", timeframe)
    if tuple(document.get("features", ())) != FEATURE_NAMES:
        raise StrategyError(
            f"{where}: feature list {document.get('features')} does not match this version "
            f"of ml_basic {list(FEATURE_NAMES)}; retrain the model"
        )
    weights_path = path.with_name(str(document.get("weights_file", "")))
    try:
        payload = weights_path.read_bytes()
    except OSError as error:
        raise StrategyError(f"{where}: weights file unreadable: {error}") from None
    if hashlib.sha256(payload).hexdigest() != document.get("weights_sha256"):
        raise StrategyError(f"{where}: weights hash mismatch ({weights_path.name} was modified)")
    model = _model_from_npz(where, payload, document)
    return ModelArtifact(model=model, metadata=document, path=path)


def _expect(where: str, document: Mapping[str, Any], key: str, wanted: object) -> None:
    if document.get(key) != wanted:
        raise StrategyError(f"{where}: {key} is {document.get(key)!r}, expected {wanted!r}")


def _model_from_npz(where: str, payload: bytes, document: Mapping[str, Any]) -> RidgeModel:
    arrays: dict[str, FloatArray] = {}
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            for name in _ARRAYS:
                arrays[name] = np.asarray(archive[name], dtype=np.float64)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise StrategyError(f"{where}: weights unreadable: {error}") from None
    width = len(FEATURE_NAMES)
    for name in ("mean", "scale", "weights"):
        if arrays[name].shape != (width,):
            raise StrategyError(f"{where}: {name} has shape {arrays[name].shape}, want ({width},)")
    if not all(np.isfinite(array).all() for array in arrays.values()):
        raise StrategyError(f"{where}: weights contain non-finite values")
    calibration = document.get("calibration", {})
    return RidgeModel(
        feature_names=FEATURE_NAMES,
        mean=arrays["mean"],
        scale=arrays["scale"],
        weights=arrays["weights"],
        intercept=float(arrays["intercept"][0]),
        entry_threshold=float(calibration.get("entry_threshold", 0.0)),
        full_size=float(calibration.get("full_size", 0.0)),
    )


def training_window_overlaps(
    artifact: ModelArtifact,
    start: pd.Timestamp | datetime | None,
    end: pd.Timestamp | datetime | None,
) -> bool:
    """True when the window [start, end] (None = unbounded) shares a bar time with the
    artifact's training window (held-out tail included). Engines refuse such a run unless the
    user allows the overlap explicitly."""
    lower = artifact.training_start
    upper = artifact.training_end
    if start is not None and pd.Timestamp(_iso(start)) > upper:
        return False
    return not (end is not None and pd.Timestamp(_iso(end)) < lower)
