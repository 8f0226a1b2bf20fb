"""Typed reading of stored JSON objects, and the exact spellings of times and JSON text.

Every mapper reads through `Fields`, so a missing key or a value of the wrong type in stored
data raises a `StoreError` naming the dotted key (`state.position.stop_loss: missing key`),
never a bare `KeyError`. Floats are written by `json.dumps` with Python's shortest round-trip
`repr`, so `json.loads(dumps(x)) == x` bit for bit; floats are never formatted by hand.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from atb.persistence.errors import StoreError

E = TypeVar("E", bound=enum.Enum)

JsonDict = dict[str, object]
"""A JSON object as the mappers produce it (values: None, bool, int, float, str, list, dict)."""


def dump_time(value: datetime) -> str:
    """An aware datetime as fixed-width ISO 8601 in UTC with microseconds.

    `2024-01-01T00:00:00.000000+00:00`: exact to the microsecond (datetime's resolution), and
    the fixed width makes text order equal time order, so SQL `ORDER BY time` is chronological.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"cannot store a naive datetime (no time zone): {value!r}")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def load_time(text: object, where: str = "time") -> datetime:
    """The aware UTC datetime `dump_time` wrote; `StoreError` naming `where` otherwise."""
    if not isinstance(text, str):
        raise StoreError(f"{where}: expected an ISO 8601 time string, got {text!r}")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise StoreError(f"{where}: invalid ISO 8601 time {text!r}") from exc
    if value.tzinfo is None:
        raise StoreError(f"{where}: time without a time zone: {text!r}")
    return value.astimezone(UTC)


def dumps(value: object) -> str:
    """Compact JSON text; keys keep their insertion order (deterministic for equal objects)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _loads(text: object, where: str) -> object:
    if not isinstance(text, str):
        raise StoreError(f"{where}: expected JSON text, got {text!r}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(f"{where}: invalid JSON ({exc})") from exc


def loads_object(text: object, where: str) -> JsonDict:
    """Parse JSON text that must hold an object; `StoreError` naming `where` otherwise."""
    return as_object(_loads(text, where), where)


def loads_list(text: object, where: str) -> list[object]:
    """Parse JSON text that must hold an array; `StoreError` naming `where` otherwise."""
    value = _loads(text, where)
    if not isinstance(value, list):
        raise StoreError(f"{where}: expected a JSON list, got {value!r}")
    return value


def as_object(value: object, where: str) -> JsonDict:
    """`value` as a JSON object with string keys; `StoreError` naming `where` otherwise."""
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise StoreError(f"{where}: expected a JSON object, got {value!r}")
    return dict(value)


class Fields:
    """Reads typed values from one stored JSON object, naming `where.key` in every error."""

    __slots__ = ("_data", "where")

    def __init__(self, data: object, where: str) -> None:
        self._data = as_object(data, where)
        self.where = where

    def path(self, key: str) -> str:
        """The dotted name of `key` in errors."""
        return f"{self.where}.{key}"

    def names(self) -> list[str]:
        """The object's keys, in stored order."""
        return list(self._data)

    def has(self, key: str) -> bool:
        """True when the object holds `key` (fields added by later versions may be absent)."""
        return key in self._data

    def raw(self, key: str) -> object:
        """The value under `key`, whatever its type; `StoreError` when the key is missing."""
        try:
            return self._data[key]
        except KeyError:
            raise StoreError(f"{self.path(key)}: missing key") from None

    def _wrong(self, key: str, expected: str, value: object) -> StoreError:
        return StoreError(f"{self.path(key)}: expected {expected}, got {value!r}")

    def text(self, key: str) -> str:
        """A string."""
        value = self.raw(key)
        if not isinstance(value, str):
            raise self._wrong(key, "a string", value)
        return value

    def opt_text(self, key: str) -> str | None:
        """A string or null."""
        return None if self.raw(key) is None else self.text(key)

    def num(self, key: str) -> float:
        """A number (JSON has no int/float distinction that matters here; bools are refused)."""
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._wrong(key, "a number", value)
        return float(value)

    def opt_num(self, key: str) -> float | None:
        """A number or null."""
        return None if self.raw(key) is None else self.num(key)

    def integer(self, key: str) -> int:
        """An integer."""
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, "an integer", value)
        return value

    def opt_integer(self, key: str) -> int | None:
        """An integer or null."""
        return None if self.raw(key) is None else self.integer(key)

    def flag(self, key: str) -> bool:
        """true or false."""
        value = self.raw(key)
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false", value)
        return value

    def time(self, key: str) -> datetime:
        """A time written by `dump_time`."""
        return load_time(self.raw(key), self.path(key))

    def opt_seconds(self, key: str) -> timedelta | None:
        """A duration stored as (float) seconds, or null."""
        seconds = self.opt_num(key)
        return None if seconds is None else timedelta(seconds=seconds)

    def member(self, key: str, kind: type[E]) -> E:
        """An enum member stored by its value."""
        value = self.raw(key)
        try:
            return kind(value)
        except ValueError:
            valid = ", ".join(repr(member.value) for member in kind)
            raise self._wrong(key, f"one of {valid}", value) from None

    def array(self, key: str) -> list[object]:
        """A JSON array."""
        value = self.raw(key)
        if not isinstance(value, list):
            raise self._wrong(key, "a list", value)
        return value

    def texts(self, key: str) -> list[str]:
        """A JSON array of strings."""
        values = self.array(key)
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise StoreError(f"{self.path(key)}[{index}]: expected a string, got {value!r}")
        return [str(value) for value in values]

    def pairs(self, key: str) -> list[tuple[float, float]]:
        """A JSON array of [number, number] pairs (ladders)."""
        pairs: list[tuple[float, float]] = []
        for index, value in enumerate(self.array(key)):
            where = f"{self.path(key)}[{index}]"
            if not (isinstance(value, list) and len(value) == 2):
                raise StoreError(f"{where}: expected a [number, number] pair, got {value!r}")
            pair = Fields({"0": value[0], "1": value[1]}, where)
            pairs.append((pair.num("0"), pair.num("1")))
        return pairs

    def child(self, key: str) -> Fields:
        """A nested JSON object, read with `where.key` as its own context."""
        return Fields(self.raw(key), self.path(key))

    def opt_child(self, key: str) -> Fields | None:
        """A nested JSON object or null."""
        return None if self.raw(key) is None else self.child(key)

    def children(self, key: str) -> list[Fields]:
        """A JSON array of objects, each read with `where.key[i]` as its context."""
        return [Fields(item, f"{self.path(key)}[{i}]") for i, item in enumerate(self.array(key))]


def now_text() -> str:
    """The wall clock as stored text: informational only (created/stopped); bar times never
    come from here."""
    return dump_time(datetime.now(UTC))
