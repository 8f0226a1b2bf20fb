"""Configuration at the edge: everything that turns text into a `RunConfiguration` and back.

The core (`atb.domain`, `atb.managers`, `atb.strategies`) holds the typed, frozen configuration
and never parses a string; this package reads `--set key=value` assignments
(`atb.config.assignments`), TOML files (`atb.config.toml_file`), merges overrides with the
key-presence rules (`atb.config.overrides`), coerces values (`atb.config.values`), suggests the
key a user probably meant (`atb.config.suggestions`), and dumps and reloads the plain form that
`result.json` and the store keep (`atb.config.snapshot`); `atb.config.sections` maps the flat
user sections onto the typed tree. `load_configuration` (`atb.config.loading`) is what the CLI
calls.
"""

from atb.config.assignments import config_from_assignments, parse_assignments
from atb.config.loading import load_configuration
from atb.config.overrides import merge_overrides
from atb.config.sections import OPTIONAL_SECTIONS, SECTION_DEFAULTS
from atb.config.snapshot import config_from_dict, config_to_dict
from atb.config.toml_file import config_from_toml, load_toml_overrides
from atb.config.values import format_duration, parse_duration

__all__ = [
    "OPTIONAL_SECTIONS",
    "SECTION_DEFAULTS",
    "config_from_assignments",
    "config_from_dict",
    "config_from_toml",
    "config_to_dict",
    "format_duration",
    "load_configuration",
    "load_toml_overrides",
    "merge_overrides",
    "parse_assignments",
    "parse_duration",
]
