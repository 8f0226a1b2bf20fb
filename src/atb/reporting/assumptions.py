"""The assumptions a backtest makes, written out in plain sentences from its configuration.

Every number in the text comes from the `RunConfiguration` it is given, so the page changes
when the config does: `costs.slippage=0` says there is no slippage, `partials=None` says partial
exits are off, `fills.timing=close` says market orders fill at the deciding bar's close. The
same list goes into `report.html`, `result.json` (`assumptions`) and `atb assumptions`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from atb.config import OPTIONAL_SECTIONS, config_from_dict, config_to_dict, merge_overrides
from atb.domain.errors import ConfigError
from atb.managers.run_config import RunConfiguration
from atb.reporting.assumption_topics import TOPICS, PolicyUses, topic_sentences
from atb.reporting.derived import clamped_fills

if TYPE_CHECKING:
    from atb.results import BacktestResult

__all__ = [
    "REGENERATE_COMMAND",
    "TOPICS",
    "Assumption",
    "assumptions",
    "render_assumptions_markdown",
    "result_assumptions",
]

REGENERATE_COMMAND = "atb assumptions > docs/assumptions.md"
"""How `docs/assumptions.md` (the page for the default configuration) is regenerated."""


@attrs.frozen(slots=True)
class Assumption:
    """One assumption of a backtest: the `topic` it belongs to and a plain sentence or two."""

    topic: str
    text: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form: `{"topic": ..., "text": ...}`."""
        return {"topic": self.topic, "text": self.text}


def assumptions(
    config: RunConfiguration,
    *,
    timeframe: str | None = None,
    uses: PolicyUses = (),
    clamped_fills: int | None = None,
) -> list[Assumption]:
    """The assumptions a backtest under exactly `config` makes, in `TOPICS` order.

    `timeframe` (e.g. `"1h"`) only names the bars in the text; it changes no number. A finished
    run passes the policies it actually used (`uses`) and its count of clamped fills.
    """
    sentences = topic_sentences(config, timeframe, uses, clamped_fills)
    return [Assumption(topic, text) for topic, text in sentences]


def result_assumptions(result: BacktestResult) -> list[Assumption]:
    """The assumptions of a finished run, from its recorded config and timeframe.

    A recorded config that no longer loads (hand-edited, from another version) gives a single
    "Configuration" assumption saying so, rather than failing the report.
    """
    try:
        config = config_from_dict(result.config)
    except ConfigError as exc:
        return [
            Assumption(
                "Configuration",
                f"The run's recorded configuration cannot be loaded ({exc}), so its assumptions "
                "cannot be written out.",
            )
        ]
    uses = [(use.policies, use.attached) for use in result.policies]
    return assumptions(
        config,
        timeframe=result.data.timeframe,
        uses=uses,
        clamped_fills=clamped_fills(result),
    )


def render_assumptions_markdown(config: RunConfiguration, *, timeframe: str | None = None) -> str:
    """The assumptions as a Markdown page: a heading per topic, the settings they came from,
    and how to regenerate the page. Ends with one newline."""
    lines = ["# Backtest assumptions", ""]
    scope = f" on {timeframe} bars" if timeframe else ""
    lines.append(
        f"What a backtest{scope} under this configuration assumes, generated from the "
        "configuration's values by `atb assumptions` (same `--set`, `--config` and "
        "`--timeframe` options as the run). The page for the default configuration, "
        f"`docs/assumptions.md`, is regenerated with `{REGENERATE_COMMAND}`."
    )
    lines.extend(["", f"Settings: {_settings(config)}."])
    topic = None
    for item in assumptions(config, timeframe=timeframe):
        if item.topic != topic:
            topic = item.topic
            lines.extend(["", f"## {topic}", ""])
        lines.append(f"- {item.text}")
    return "\n".join(lines) + "\n"


def _settings(config: RunConfiguration) -> str:
    """The settings that differ from `RunConfiguration.default()`, as dotted keys."""
    default = RunConfiguration.default()
    switched_on = merge_overrides(default, dict.fromkeys(OPTIONAL_SECTIONS, "on"))
    changes = list(
        _differences(config_to_dict(default), config_to_dict(switched_on), config_to_dict(config))
    )
    if not changes:
        return "the defaults (`RunConfiguration.default()`)"
    return "the defaults except " + ", ".join(f"`{change}`" for change in changes)


def _differences(
    default: dict[str, object], switched_on: dict[str, object], actual: dict[str, object]
) -> Iterator[str]:
    """`section=None`, `section=on` and `section.key=value` (as `--set` takes them)."""
    for section, value in actual.items():
        base = default[section]
        if value == base:
            continue
        if value is None:
            yield f"{section}=None"
            continue
        if base is None:
            yield f"{section}=on"
            base = switched_on[section]
        if isinstance(value, dict) and isinstance(base, dict):
            for key, item in value.items():
                if item != base.get(key):
                    yield f"{section}.{key}={_show(item)}"


def _show(value: object) -> str:
    """A value as `--set` takes it: None, bare strings, JSON numbers and lists."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    return json.dumps(value)
