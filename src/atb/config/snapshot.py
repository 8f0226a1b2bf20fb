"""The configuration as plain JSON-ready values, and back: what `result.json` and the store hold."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import timedelta

import attrs

from atb.config.overrides import merge_overrides
from atb.config.sections import SECTION_DEFAULTS, read_section
from atb.config.values import format_duration
from atb.managers.run_config import RunConfiguration

__all__ = ["config_from_dict", "config_to_dict"]


def config_to_dict(config: RunConfiguration) -> dict[str, object]:
    """The configuration as JSON-ready values: the user sections in their order (`costs`,
    `fills`, `risk`, `trailing`, `partials`, `dynamic_risk`, `time_exits`), keys in declaration
    order.

    Enums become their values, durations ISO 8601 strings, ladders lists of lists, and a section
    that is off `None`. The result is a valid overrides mapping: merging it onto any
    configuration gives back `config` (so a stored session config can be reloaded).
    """
    result: dict[str, object] = {}
    for name in SECTION_DEFAULTS:
        section = read_section(config, name)
        result[name] = (
            None
            if section is None
            else {f.name: _plain(getattr(section, f.name)) for f in attrs.fields(type(section))}
        )
    return result


def config_from_dict(data: Mapping[str, object]) -> RunConfiguration:
    """The configuration a `config_to_dict` mapping (or any overrides mapping) describes, on top
    of `RunConfiguration.default()`. Raises `ConfigError` naming the key it cannot apply."""
    return merge_overrides(RunConfiguration.default(), data)


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value
