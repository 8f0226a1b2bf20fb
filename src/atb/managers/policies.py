"""`PolicyHydrator`: a strategy decision's policy bundle → typed, validated position policies.

A `PolicyBundle` carries dotted-key overrides for the per-position sections of the
configuration (`trailing`, `partials`, `time_exits`). The hydrator applies them onto the
configuration's own sections with the same key-presence semantics and parser as every other
override (`merge_overrides`): an absent key inherits the config, `None` switches a policy off for
this position, a key in a section that is off in the config switches it on from its defaults.
The result is a new frozen `PositionPolicies`, validated once, which the kernel swaps onto the
position atomically. An invalid bundle raises `ConfigError`; it is never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

from atb.domain.decisions import PolicyBundle
from atb.domain.errors import ConfigError
from atb.domain.policies import PositionPolicies
from atb.managers.config_overrides import merge_overrides
from atb.managers.lookback import policy_lookback
from atb.managers.risk_config import RiskConfiguration

__all__ = ["POLICY_SECTIONS", "PolicyHydrator"]

POLICY_SECTIONS = frozenset({"trailing", "partials", "time_exits"})
"""The configuration sections a strategy may override per position."""

_CACHE_SIZE = 256


class PolicyHydrator:
    """Hydrates policy bundles against one `RiskConfiguration`.

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
        value when a key is outside `trailing`/`partials`/`time_exits`, unknown, of the wrong
        type or out of range, or when its ATR look-back exceeds the run's history
        (`max_lookback`, see `atb.managers.lookback`).
        """
        if bundle is None:
            return self._defaults
        cached = self._cache.get(bundle)
        if cached is not None:
            return cached
        policies = self._hydrate(bundle.as_dict())
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

    def _hydrate(self, overrides: Mapping[str, object]) -> PositionPolicies:
        for key, value in overrides.items():
            section = key.partition(".")[0].strip()
            if section not in POLICY_SECTIONS:
                allowed = ", ".join(sorted(POLICY_SECTIONS))
                raise ConfigError(
                    f"policy bundle: {key}: only {allowed} can be set per position, got {value!r}"
                )
        try:
            merged = merge_overrides(self._config, overrides)
        except ConfigError as exc:
            raise ConfigError(f"policy bundle: {exc}") from exc
        return _policies(merged)


def _policies(config: RiskConfiguration) -> PositionPolicies:
    return PositionPolicies(
        trailing=config.trailing, partials=config.partials, time_exit=config.time_exits
    )
