"""Overrides for `RiskConfiguration`: merge, `key=value` parsing, TOML loading, and dumping.

Key-presence semantics (DESIGN §4), shared by users (`--set`, TOML) and strategies (policy
bundles, through `atb.managers.policies.PolicyHydrator`):

- an absent key inherits the current value;
- `section = None` (or `false`, `"off"`, or `enabled = false` inside the section) switches an
  optional section (`trailing`, `partials`, `dynamic_risk`, `time_exits`) off;
- `section = "on"`, `"default"` or `true` (or `enabled = true`, or an empty table) switches it on
  with `SECTION_DEFAULTS[section]`, or keeps it as it is when already on;
- a key inside a section that is off switches it on from its defaults plus that key;
- `None` (or `false` in TOML, which has no null) on an optional key sets it to None;
- an unknown section or key, a wrong type or an out-of-range value raises `ConfigError` naming the
  dotted key and the value.

Values are coerced by `atb.managers.config_values`, driven by the attrs fields and their type
hints rather than per-key code: ints become floats, enum fields take their value names, ladders
take lists of pairs, durations take hours or strings such as `"48h"`, `"2d"`, `"90m"`, `"1d12h"`
or ISO 8601 (`"PT36H"`).
"""

from __future__ import annotations

import difflib
import enum
import tomllib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
from attrs import AttrsInstance

from atb.domain.errors import ConfigError
from atb.managers.config_values import coerce_field, format_duration, parse_duration
from atb.managers.risk_config import OPTIONAL_SECTIONS, SECTION_DEFAULTS, RiskConfiguration

__all__ = [
    "config_to_dict",
    "format_duration",
    "load_toml_overrides",
    "merge_overrides",
    "parse_assignments",
    "parse_duration",
]

_ON_WORDS = frozenset({"on", "default"})
_OFF_WORDS = frozenset({"off"})
_ENABLED_KEY = "enabled"
_NULL_WORDS = frozenset({"none", "null"})


# --- merge -----------------------------------------------------------------------------------


_TABLE = object()
"""Marker: a section was given as a table (enables it, even when empty)."""


@attrs.define
class _SectionPlan:
    """What the overrides ask of one section: a switch (on/off) and field values."""

    switch: tuple[str, bool, object] | None = None  # (dotted key, on?, raw value)
    table: bool = False
    fields: dict[str, tuple[str, object]] = attrs.Factory(dict)  # name -> (dotted key, value)


def merge_overrides(
    config: RiskConfiguration, overrides: Mapping[str, object]
) -> RiskConfiguration:
    """Return `config` with `overrides` applied; `config` itself is never changed.

    `overrides` maps dotted keys (`"costs.slippage"`) or section names to values; a section may
    also map to a nested mapping of its keys (`{"costs": {"slippage": 0}}`, as TOML gives).
    Raises `ConfigError` naming the dotted key and the value for anything it cannot apply.
    """
    if not isinstance(overrides, Mapping):
        raise ConfigError(f"overrides must be a mapping of keys to values, got {overrides!r}")
    plans: dict[str, _SectionPlan] = {}
    for parts, value in _flatten(overrides, ()):
        _plan(plans, parts, value)
    changes: dict[str, Any] = {
        name: _apply(name, getattr(config, name), plan) for name, plan in plans.items()
    }
    return attrs.evolve(config, **changes) if changes else config


def _flatten(
    mapping: Mapping[Any, object], prefix: tuple[str, ...]
) -> Iterable[tuple[tuple[str, ...], object]]:
    for raw_key, value in mapping.items():
        where = ".".join(prefix) or "overrides"
        if not isinstance(raw_key, str):
            raise ConfigError(f"{where}: keys must be strings, got {raw_key!r}")
        parts = tuple(part.strip() for part in raw_key.split("."))
        if not all(parts):
            dotted = ".".join((*prefix, raw_key))
            raise ConfigError(f"{dotted}: malformed key (empty part), got {value!r}")
        path = (*prefix, *parts)
        if len(path) == 1 and isinstance(value, Mapping):
            yield path, _TABLE
            yield from _flatten(value, path)
        else:
            yield path, value


def _plan(plans: dict[str, _SectionPlan], parts: tuple[str, ...], value: object) -> None:
    dotted = ".".join(parts)
    section = parts[0]
    if section not in SECTION_DEFAULTS:
        raise ConfigError(
            f"{dotted}: unknown section {section!r}, got {_show(value)} "
            f"(valid sections: {', '.join(SECTION_DEFAULTS)}{_suggest(section, SECTION_DEFAULTS)})"
        )
    plan = plans.setdefault(section, _SectionPlan())
    if len(parts) > 2:
        raise ConfigError(f"{dotted}: unknown key (keys are section.key), got {_show(value)}")
    if value is _TABLE:
        plan.table = True
        return
    if len(parts) == 1 or parts[1] == _ENABLED_KEY:
        _set_switch(plan, dotted, value, nested=len(parts) == 2)
        return
    name = parts[1]
    if name in plan.fields:
        raise ConfigError(f"{dotted}: given more than once, got {_show(value)}")
    plan.fields[name] = (dotted, value)


def _set_switch(plan: _SectionPlan, dotted: str, value: object, *, nested: bool) -> None:
    if nested and not isinstance(value, bool):
        raise ConfigError(f"{dotted}: must be true or false, got {_show(value)}")
    word = value.strip().lower() if isinstance(value, str) else None
    if value is None or value is False or word in _OFF_WORDS:
        on = False
    elif value is True or word in _ON_WORDS:
        on = True
    else:
        raise ConfigError(
            f"{dotted}: expected a table of keys, None/false/'off' to switch the section off or "
            f"'on'/'default'/true to switch it on, got {_show(value)}"
        )
    if plan.switch is not None:
        raise ConfigError(f"{dotted}: conflicts with {plan.switch[0]}, got {_show(value)}")
    plan.switch = (dotted, on, value)


def _apply(section: str, current: AttrsInstance | None, plan: _SectionPlan) -> object:
    if plan.switch is not None and not plan.switch[1]:
        dotted, _, raw = plan.switch
        if section not in OPTIONAL_SECTIONS:
            optional = ", ".join(sorted(OPTIONAL_SECTIONS))
            raise ConfigError(
                f"{dotted}: section {section} cannot be switched off (only {optional}), "
                f"got {_show(raw)}"
            )
        if plan.fields:
            other = next(iter(plan.fields.values()))[0]
            raise ConfigError(
                f"{dotted}: switches {section} off but {other} is also set, got {_show(raw)}"
            )
        return None
    base: Any = current if current is not None else SECTION_DEFAULTS[section]
    if not plan.fields:
        return base
    kind: type[AttrsInstance] = type(base)
    known = attrs.fields_dict(kind)
    values: dict[str, object] = {}
    for name, (dotted, value) in plan.fields.items():
        if name not in known:
            valid = [*known, _ENABLED_KEY] if section in OPTIONAL_SECTIONS else list(known)
            raise ConfigError(
                f"{dotted}: unknown key, got {_show(value)} "
                f"(valid keys: {', '.join(valid)}{_suggest(name, valid)})"
            )
        values[name] = coerce_field(dotted, kind, name, value)
    try:
        return attrs.evolve(base, **values)
    except (ValueError, TypeError) as exc:
        message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        raise ConfigError(_rekey(section, list(values), message)) from exc


def _rekey(section: str, names: list[str], message: str) -> str:
    """Turn a domain message (`slippage must be ...`) into `costs.slippage: must be ...`."""
    for name in sorted(names, key=len, reverse=True):
        for subject in (name, f"'{name}'"):
            if message.startswith(subject) and message[len(subject) : len(subject) + 1] in (
                " ",
                "[",
                ".",
            ):
                full, _, rest = message.partition(" ")
                return f"{section}.{full.strip(chr(39))}: {rest}"
    if len(names) == 1:
        return f"{section}.{names[0]}: {message}"
    return f"{section}: {message}"


# --- assignments and TOML --------------------------------------------------------------------


def parse_assignments(assignments: Iterable[str]) -> dict[str, object]:
    """Parse `key=value` strings, as `--set` gives them, into an overrides mapping.

    Values: `None`/`none`/`null` → None; `true`/`false` (any case) → bool; numbers → int or
    float; TOML arrays (`[[0.03,0.25],[0.06,0.75]]`) and quoted TOML strings; anything else is
    kept as a string (`48h`, `close`). A later assignment of the same key wins. A string without
    `=` or with an empty key raises `ConfigError` naming it.
    """
    result: dict[str, object] = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"malformed assignment {assignment!r}: expected key=value (e.g. costs.slippage=0)"
            )
        result[key] = _parse_value(assignment, raw.strip())
    return result


def _parse_value(assignment: str, raw: str) -> object:
    lowered = raw.lower()
    if lowered in _NULL_WORDS:
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    for number in (int, float):
        try:
            return number(raw)
        except ValueError:
            pass
    if raw[:1] in ("[", "{", '"', "'"):
        try:
            return tomllib.loads(f"value = {raw}")["value"]
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"malformed value in assignment {assignment!r}: {exc}") from exc
    return raw


def load_toml_overrides(path: Path) -> dict[str, object]:
    """Read overrides from a TOML file: tables are sections, keys are their keys.

    TOML has no null, so switch a section off with `section = false` (before any table) or with
    `enabled = false` inside its table, and an optional key with `key = false`. A missing or
    unreadable file, or a TOML syntax error, raises `ConfigError` naming the file (and the line).
    """
    try:
        with path.open("rb") as handle:
            data: dict[str, object] = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path}: not found") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: invalid TOML: {exc}") from exc
    return data


# --- dumping ---------------------------------------------------------------------------------


def config_to_dict(config: RiskConfiguration) -> dict[str, object]:
    """The configuration as JSON-ready values, sections and keys in declaration order.

    Enums become their values, durations ISO 8601 strings, ladders lists of lists, and a section
    that is off `None`. The result is a valid overrides mapping: merging it onto any
    configuration gives back `config` (so a stored session config can be reloaded).
    """
    result: dict[str, object] = {}
    for field in attrs.fields(RiskConfiguration):
        section = getattr(config, field.name)
        result[field.name] = (
            None
            if section is None
            else {f.name: _plain(getattr(section, f.name)) for f in attrs.fields(type(section))}
        )
    return result


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


# --- messages --------------------------------------------------------------------------------


def _show(value: object) -> str:
    return "a table" if value is _TABLE else repr(value)


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
