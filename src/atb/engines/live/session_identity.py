"""What defines a live session, and how a resume with other settings is told apart.

A session is its strategy and parameters, its configuration, its market's rules, its model (by
content id) and its starting balance. Resuming with any of them changed would silently graft a
different run onto the stored one — a retrained model once gave 173 parity divergences — so
`session_differences` lists each difference in words, and the engine refuses to resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from atb.persistence.records import SessionRecord

if TYPE_CHECKING:
    from atb.engines.live.engine import LiveSettings


def session_differences(
    session: SessionRecord, settings: LiveSettings, config: Mapping[str, object]
) -> list[str]:
    """Each way `settings` differ from what `session` was started with, as `what stored, now
    new` phrases (empty when the session can be resumed)."""
    found = [
        f"parameter {name}={session.params.get(name)!r}, now {settings.parameters.get(name)!r}"
        for name in sorted({*session.params, *settings.parameters})
        if session.params.get(name) != settings.parameters.get(name)
    ]
    found.extend(
        f"{key}={stored!r}, now {given!r}"
        for key, stored, given in _config_differences(session.config, config, "")
    )
    if session.model_id != settings.model_id:
        found.append(f"model {session.model_id}, now model {settings.model_id}")
    if session.initial_balance != settings.initial_balance:
        found.append(
            f"initial balance {session.initial_balance:g}, now {settings.initial_balance:g}"
        )
    if session.instrument is not None and session.instrument != settings.instrument:
        found.append(
            f"instrument rules {session.instrument.describe()} ({session.instrument_source}), "
            f"now {settings.instrument.describe()} ({settings.instrument_source})"
        )
    return found


def _config_differences(
    stored: object, given: object, prefix: str
) -> list[tuple[str, object, object]]:
    """Dotted keys whose values differ between two `config_to_dict` trees."""
    if isinstance(stored, Mapping) and isinstance(given, Mapping):
        differences: list[tuple[str, object, object]] = []
        for key in sorted({*stored, *given}, key=str):
            dotted = f"{prefix}.{key}" if prefix else str(key)
            differences.extend(_config_differences(stored.get(key), given.get(key), dotted))
        return differences
    if stored != given:
        return [(prefix or "config", stored, given)]
    return []
