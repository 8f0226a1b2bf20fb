"""What a `result.json` says about the run that wrote it: enough to run it again.

`read_run_record` reads the inputs back — strategy and parameters, configuration, the market's
rules, the candles (symbol, timeframe, window, warm-up, file, fingerprint), the detail candles,
the model, the account — so `atb backtest --rerun result.json` can repeat the run and check
that the data and the model are still the ones it used. Any missing or malformed key is a
`ResultFileError` naming the file and the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import attrs

from atb.domain.errors import AtbError
from atb.domain.instruments import Instrument


class ResultFileError(AtbError):
    """A `result.json` cannot be read back (names the file and the key)."""


@attrs.frozen(slots=True, kw_only=True)
class RunRecord:
    """The inputs of a recorded run."""

    path: Path
    strategy: str
    parameters: Mapping[str, object]
    model_id: str | None
    model_path: str | None
    overlap_allowed: bool
    config: Mapping[str, object]
    symbol: str
    timeframe: str
    start: datetime
    end: datetime
    """Open time of the last traded bar."""
    warmup_bars: int
    fingerprint: str
    data_file: str | None
    drop_outliers: bool
    """Whether the run removed bad prints (`--drop-outliers`)."""
    notes: tuple[str, ...]
    """How the original run chose its window (the rerun repeats that window exactly)."""
    detail_timeframe: str | None
    detail_fingerprint: str | None
    detail_file: str | None
    instrument: Instrument
    instrument_source: str
    instrument_warnings: tuple[str, ...]
    initial_balance: float
    closed_at_end: bool


class JsonReader:
    """Typed access to one JSON object, naming `file: key.path` in every error."""

    def __init__(self, data: object, where: str, path: Path) -> None:
        if not isinstance(data, dict):
            raise ResultFileError(f"{path}: {where or 'the document'} must be a JSON object")
        self._data: dict[str, object] = data
        self._where = where
        self._path = path

    @property
    def path(self) -> Path:
        """The result file read."""
        return self._path

    def _name(self, key: str) -> str:
        return f"{self._where}.{key}" if self._where else key

    def _get(self, key: str) -> object:
        if key not in self._data:
            raise ResultFileError(f"{self._path}: missing key {self._name(key)}")
        return self._data[key]

    def has(self, key: str) -> bool:
        """True when the object holds `key`."""
        return key in self._data

    def items(self, key: str) -> list[JsonReader]:
        """The objects of the list at `key`, each a reader naming its index."""
        value = self._get(key)
        if not isinstance(value, list):
            raise ResultFileError(f"{self._path}: {self._name(key)} must be a list")
        return [
            JsonReader(item, f"{self._name(key)}[{index}]", self._path)
            for index, item in enumerate(value)
        ]

    def child(self, key: str) -> JsonReader:
        return JsonReader(self._get(key), self._name(key), self._path)

    def optional_child(self, key: str) -> JsonReader | None:
        return None if self._get(key) is None else self.child(key)

    def mapping(self, key: str) -> dict[str, object]:
        value = self._get(key)
        if not isinstance(value, dict):
            raise ResultFileError(f"{self._path}: {self._name(key)} must be an object")
        return value

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise ResultFileError(f"{self._path}: {self._name(key)} must be a string")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self._get(key) is None else self.text(key)

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ResultFileError(f"{self._path}: {self._name(key)} must be a number")
        return float(value)

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ResultFileError(f"{self._path}: {self._name(key)} must be an integer")
        return value

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise ResultFileError(f"{self._path}: {self._name(key)} must be true or false")
        return value

    def time(self, key: str) -> datetime:
        text = self.text(key)
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as error:
            raise ResultFileError(
                f"{self._path}: {self._name(key)} is not an ISO time: {text!r}"
            ) from error

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ResultFileError(f"{self._path}: {self._name(key)} must be a list of strings")
        return tuple(value)


def load_document(path: Path) -> object:
    """The parsed JSON of the result file at `path` (`ResultFileError` when it cannot be)."""
    try:
        text = path.read_text()
    except FileNotFoundError as error:
        raise ResultFileError(f"{path}: no such result file") from error
    except (OSError, UnicodeDecodeError) as error:
        raise ResultFileError(f"{path}: cannot be read ({error})") from error
    try:
        return json.loads(text)
    except ValueError as error:
        raise ResultFileError(f"{path}: not valid JSON ({error})") from error


def is_portfolio_result(path: Path) -> bool:
    """True when the result file at `path` is a portfolio's (`kind: "portfolio"`)."""
    document = load_document(path)
    return isinstance(document, dict) and document.get("kind") == "portfolio"


def instrument_from(rules: JsonReader, where: str) -> Instrument:
    """The market's rules recorded in an `instrument` object."""
    try:
        return Instrument(
            rules.text("symbol"),
            tick_size=rules.number("tick_size"),
            lot_step=rules.number("lot_step"),
            min_notional=rules.number("min_notional"),
            min_quantity=rules.number("min_quantity"),
            base_asset=rules.optional_text("base_asset"),
            quote_asset=rules.optional_text("quote_asset"),
        )
    except ValueError as error:
        raise ResultFileError(f"{rules.path}: {where}: {error}") from error


def read_run_record(path: Path) -> RunRecord:
    """The inputs recorded in the single-symbol `result.json` at `path`."""
    document = load_document(path)
    if isinstance(document, dict) and document.get("kind") == "portfolio":
        raise ResultFileError(f"{path}: a portfolio's result, not a single-symbol run's")
    root = JsonReader(document, "", path)
    data, strategy, rules = root.child("data"), root.child("strategy"), root.child("instrument")
    detail = data.optional_child("detail")
    instrument = instrument_from(rules, "instrument")
    return RunRecord(
        path=path,
        strategy=strategy.text("name"),
        parameters=strategy.mapping("parameters"),
        model_id=strategy.optional_text("model_id"),
        model_path=strategy.optional_text("model_path"),
        overlap_allowed=strategy.flag("overlap_allowed"),
        config=root.mapping("config"),
        symbol=data.text("symbol"),
        timeframe=data.text("timeframe"),
        start=data.time("start"),
        end=data.time("end"),
        warmup_bars=data.integer("warmup_bars"),
        fingerprint=data.text("fingerprint"),
        data_file=data.optional_text("file"),
        drop_outliers=data.flag("drop_outliers"),
        notes=data.texts("notes"),
        detail_timeframe=None if detail is None else detail.text("timeframe"),
        detail_fingerprint=None if detail is None else detail.text("fingerprint"),
        detail_file=None if detail is None else detail.optional_text("file"),
        instrument=instrument,
        instrument_source=rules.text("source"),
        instrument_warnings=rules.texts("warnings"),
        initial_balance=root.number("initial_balance"),
        closed_at_end=root.flag("closed_at_end"),
    )
