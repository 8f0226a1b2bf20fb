"""Configuration files in TOML: tables are sections, keys are their keys."""

from __future__ import annotations

import tomllib
from pathlib import Path

from atb.config.overrides import merge_overrides
from atb.domain.errors import ConfigError
from atb.managers.run_config import RunConfiguration

__all__ = ["config_from_toml", "load_toml_overrides"]


def load_toml_overrides(path: Path) -> dict[str, object]:
    """Read overrides from a TOML file.

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


def config_from_toml(path: Path, base: RunConfiguration | None = None) -> RunConfiguration:
    """Load overrides from a TOML file onto `base` (default: `RunConfiguration.default()`).

    Every `ConfigError` names the file, and the dotted key for a bad value.
    """
    overrides = load_toml_overrides(path)
    try:
        return merge_overrides(base or RunConfiguration.default(), overrides)
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
