"""`key=value` assignments, as `--set` gives them, into an overrides mapping and a configuration."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable

from atb.config.overrides import merge_overrides
from atb.domain.errors import ConfigError
from atb.managers.run_config import RunConfiguration

__all__ = ["config_from_assignments", "parse_assignments"]

_NULL_WORDS = frozenset({"none", "null"})


def parse_assignments(assignments: Iterable[str]) -> dict[str, object]:
    """Parse `key=value` strings into an overrides mapping (see `merge_overrides`).

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


def config_from_assignments(
    assignments: Iterable[str], base: RunConfiguration | None = None
) -> RunConfiguration:
    """Apply `key=value` strings (`costs.slippage=0`, `partials=None`) onto `base` (default:
    `RunConfiguration.default()`)."""
    return merge_overrides(base or RunConfiguration.default(), parse_assignments(assignments))


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
