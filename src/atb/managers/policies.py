"""`PolicyHydrator`: a strategy decision's policy bundle → typed, validated position policies.

A `PolicyBundle` carries typed changes (`TrailingChanges`, `PartialChanges`, `TimeExitChanges`,
see `atb.domain.policy_changes`) for the per-position sections of the configuration. The
hydrator applies them onto the configuration's own sections with the key-presence semantics of
every other override: an `UNSET` field inherits the config, a section given as `None` switches
that policy off for this position, a changes object for a section that is off in the config
switches it on from its defaults. Nothing is parsed here: the values are already typed. The
result is a new frozen `PositionPolicies`, validated once, which the kernel swaps onto the
position atomically. An invalid value raises `ConfigError` naming the dotted key; it is never
silently dropped.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from atb.domain.errors import ConfigError
from atb.domain.policies import PositionPolicies
from atb.domain.policy_changes import UNSET, PolicyBundle, Unset
from atb.managers.lookback import policy_lookback
from atb.managers.risk_config import (
    PARTIALS_DEFAULTS,
    TIME_EXITS_DEFAULTS,
    TRAILING_DEFAULTS,
    RiskConfiguration,
)

__all__ = ["POLICY_SECTIONS", "PolicyHydrator"]

POLICY_SECTIONS = frozenset({"trailing", "partials", "time_exits"})
"""The configuration sections a strategy may override per position."""

_CACHE_SIZE = 256


class PolicyHydrator:
    """Hydrates policy bundles against the risk part of a run's configuration.

    Hydration is pure; results are memoised per bundle (bundles are frozen and hashable), in a
    small bounded cache, because strategies tend to send the same bundle on every entry.
    """

    __slots__ = ("_cache", "_config", "_defaults", "_max_lookback")

    def __init__(self, config: RiskConfiguration, max_lookback: int | None = None) -> None:
        self._config = config
        self._defaults = _policies(config)
        self._cache: dict[PolicyBundle, PositionPolicies] = {}
        self._max_lookback = max_lookback

    @property
    def config(self) -> RiskConfiguration:
        """The configuration bundles are applied onto."""
        return self._config

    @property
    def defaults(self) -> PositionPolicies:
        """The policies a position gets without a bundle: the configuration's own sections."""
        return self._defaults

    def hydrate(self, bundle: PolicyBundle | None) -> PositionPolicies:
        """Return the typed policies for a position opened or updated with `bundle`.

        `None` (no bundle) gives `defaults`. Raises `ConfigError` naming the dotted key and the
        value when a value is of the wrong type or out of range, or when its ATR look-back
        exceeds the run's history (`max_lookback`, see `atb.managers.lookback`).
        """
        if bundle is None:
            return self._defaults
        cached = self._cache.get(bundle)
        if cached is not None:
            return cached
        try:
            policies = self._hydrate(bundle)
        except ConfigError as exc:
            raise ConfigError(f"policy bundle: {exc}") from exc
        needed = policy_lookback(policies)
        if self._max_lookback is not None and needed > self._max_lookback:
            assert policies.trailing is not None  # only trailing reads history
            raise ConfigError(
                f"policy bundle: trailing.atr_period={policies.trailing.atr_period} needs "
                f"{needed} bars of history, but this run keeps {self._max_lookback}; set "
                "trailing.atr_period in the run's configuration so the engines load them"
            )
        if len(self._cache) >= _CACHE_SIZE:
            del self._cache[next(iter(self._cache))]
        self._cache[bundle] = policies
        return policies

    def _hydrate(self, bundle: PolicyBundle) -> PositionPolicies:
        config = self._config
        return PositionPolicies(
            trailing=_changed(config.trailing, bundle.trailing, TRAILING_DEFAULTS),
            partials=_changed(config.partials, bundle.partials, PARTIALS_DEFAULTS),
            time_exit=_changed(config.time_exits, bundle.time_exits, TIME_EXITS_DEFAULTS),
        )


_P = TypeVar("_P")


class _Changes(Protocol[_P]):
    """What `TrailingChanges`, `PartialChanges` and `TimeExitChanges` share."""

    def apply_to(self, base: _P, /) -> _P:
        """`base` with the changes applied."""
        ...


def _changed(current: _P | None, changes: _Changes[_P] | Unset | None, defaults: _P) -> _P | None:
    """One section: inherit (`UNSET`), switch off (`None`), or apply the changes onto the
    current policy, or onto `defaults` when the configuration has it off."""
    if changes is UNSET:
        return current
    if changes is None:
        return None
    base = current if current is not None else defaults
    return changes.apply_to(base)


def _policies(config: RiskConfiguration) -> PositionPolicies:
    return PositionPolicies(
        trailing=config.trailing, partials=config.partials, time_exit=config.time_exits
    )
