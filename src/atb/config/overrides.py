"""Overrides onto a configuration: the one merge behind `--set`, TOML files and stored configs.

Key-presence semantics (DESIGN §4):

- an absent key inherits the current value;
- `section = None` (or `false`, `"off"`, or `enabled = false` inside the section) switches an
  optional section (`trailing`, `partials`, `dynamic_risk`, `time_exits`) off;
- `section = "on"`, `"default"` or `true` (or `enabled = true`, or an empty table) switches it on
  with `SECTION_DEFAULTS[section]`, or keeps it as it is when already on;
- a key inside a section that is off switches it on from its defaults plus that key;
- `None` (or `false` in TOML, which has no null) on an optional key sets it to None;
- an unknown section or key, a wrong type or an out-of-range value raises `ConfigError` naming the
  dotted key and the value (with a did-you-mean hint for a near miss).

Values are coerced by `atb.config.values`, driven by the attrs fields and their type hints rather
than per-key code: ints become floats, enum fields take their value names, ladders take lists of
pairs, durations take hours or strings such as `"48h"`, `"2d"`, `"90m"`, `"1d12h"` or ISO 8601
(`"PT36H"`). Strategies do not come through here: their policy bundles are typed
(`atb.domain.policy_changes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from attrs import AttrsInstance

from atb.config.sections import OPTIONAL_SECTIONS, SECTION_DEFAULTS, read_section, with_sections
from atb.config.suggestions import did_you_mean
from atb.config.values import coerce_field
from atb.domain.errors import ConfigError, keyed_message
from atb.managers.run_config import RunConfiguration

__all__ = ["merge_overrides"]

_ON_WORDS = frozenset({"on", "default"})
_OFF_WORDS = frozenset({"off"})
_ENABLED_KEY = "enabled"


_TABLE = object()
"""Marker: a section was given as a table (enables it, even when empty)."""


@attrs.define
class _SectionPlan:
    """What the overrides ask of one section: a switch (on/off) and field values."""

    switch: tuple[str, bool, object] | None = None  # (dotted key, on?, raw value)
    table: bool = False
    fields: dict[str, tuple[str, object]] = attrs.Factory(dict)  # name -> (dotted key, value)


def merge_overrides(config: RunConfiguration, overrides: Mapping[str, object]) -> RunConfiguration:
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
    changes = {name: _apply(name, read_section(config, name), plan) for name, plan in plans.items()}
    return with_sections(config, changes)


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
        hint = did_you_mean(section, SECTION_DEFAULTS)
        raise ConfigError(
            f"{dotted}: unknown section {section!r}, got {_show(value)} "
            f"(valid sections: {', '.join(SECTION_DEFAULTS)}{hint})"
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
                f"(valid keys: {', '.join(valid)}{did_you_mean(name, valid)})"
            )
        values[name] = coerce_field(dotted, kind, name, value)
    try:
        return attrs.evolve(base, **values)
    except (ValueError, TypeError) as exc:
        message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        raise ConfigError(keyed_message(section, list(values), message)) from exc


def _show(value: object) -> str:
    return "a table" if value is _TABLE else repr(value)
