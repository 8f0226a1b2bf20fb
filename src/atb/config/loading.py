"""The configuration of a run, as the CLI builds it: defaults, then a TOML file, then `--set`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from atb.config.assignments import config_from_assignments
from atb.config.toml_file import config_from_toml
from atb.managers.run_config import RunConfiguration

__all__ = ["load_configuration"]


def load_configuration(config_file: Path | None, assignments: Iterable[str]) -> RunConfiguration:
    """`RunConfiguration.default()`, overridden by `config_file` (TOML) when given, then by
    the `key=value` assignments in order (a later key wins). Raises `ConfigError` naming the
    key (and the file) for anything it cannot apply."""
    config = RunConfiguration.default()
    if config_file is not None:
        config = config_from_toml(config_file, config)
    return config_from_assignments(assignments, config)
