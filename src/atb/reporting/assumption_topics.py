"""The sentences behind `atb.reporting.assumptions`: one builder per topic, each reading only
the configuration values it describes, and the few number formats they share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from atb.domain.policies import (
    Ladder,
    PartialPolicy,
    PositionPolicies,
    TimeExitPolicy,
    TrailingPolicy,
)
from atb.domain.policies import TrailReference as _Reference
from atb.managers.execution_config import FillTiming, IntrabarPolicy
from atb.managers.risk_config import DynamicRiskConfig
from atb.managers.run_config import RunConfiguration

TOPICS = (
    "Data and decisions",
    "Market orders",
    "Fees",
    "Resting levels",
    "Intrabar path",
    "Detail timeframe",
    "Sizing",
    "Max drawdown",
    "Dynamic risk",
    "Trailing stop and breakeven",
    "Partial exits and scale-ins",
    "Time exits",
    "Not modelled",
)
"""Every topic, in the order `assumptions` lists them."""


PolicyUses = Sequence[tuple[PositionPolicies, int]]
"""Distinct position policies a run attached, each with how many times it was attached."""


def topic_sentences(
    config: RunConfiguration,
    timeframe: str | None,
    uses: PolicyUses = (),
    clamped_fills: int | None = None,
) -> list[tuple[str, str]]:
    """(topic, text) for every topic of `TOPICS` in order; "Not modelled" has several.

    With `uses` (a finished run's effective policies), the trailing, partials and time-exit
    topics describe what actually governed its positions — a strategy's policy bundle can
    switch on what the configuration leaves off. `clamped_fills` counts the fills whose price
    the bar's range cut short.
    """
    bars = f"{timeframe} bars" if timeframe else "bars"
    items = [
        _data(bars),
        _market_orders(config, clamped_fills),
        _fees(config),
        _resting_levels(config),
        _intrabar(config.fills.intrabar),
        _detail(config, timeframe),
        _sizing(config),
        _max_drawdown(config.risk.limits.max_drawdown),
        _dynamic_risk(config.risk.dynamic_risk),
        _effective(uses, config.risk.trailing, lambda policies: policies.trailing, _trailing),
        _effective(uses, config.risk.partials, lambda policies: policies.partials, _partials),
        _effective(
            uses,
            config.risk.time_exits,
            lambda policies: policies.time_exit,
            lambda policy: _time_exits(policy, config.fills.timing),
        ),
    ]
    items.extend(("Not modelled", text) for text in NOT_MODELLED)
    return items


_V = TypeVar("_V")


def _effective(
    uses: PolicyUses,
    configured: _V | None,
    pick: Callable[[PositionPolicies], _V | None],
    describe: Callable[[_V | None], tuple[str, str]],
) -> tuple[str, str]:
    """The topic as the configuration says it, or — when positions were governed by other
    values (a strategy's policy bundle) — what each distinct value did, with its count."""
    topic, configured_text = describe(configured)
    counts: dict[_V | None, int] = {}
    for policies, attached in uses:
        value = pick(policies)
        counts[value] = counts.get(value, 0) + attached
    if not counts or list(counts) == [configured]:
        return topic, configured_text
    parts = []
    for value, attached in counts.items():
        times = f"{attached} position{'s' if attached != 1 else ''}"
        origin = "as configured" if value == configured else "set by the strategy"
        parts.append(f"For {times} ({origin}): {describe(value)[1]}")
    return topic, " ".join(parts)


# --- topics -----------------------------------------------------------------------------------

_Item = tuple[str, str]


def _data(bars: str) -> _Item:
    return (
        "Data and decisions",
        f"Decisions are made on closed {bars} only, using bars up to and including the one that "
        "just closed; the candles' open, high, low and close are taken as traded prices (no "
        "bid/ask spread beyond the slippage below). Equity is marked at every bar's close. Gaps "
        "in the data are reported, never filled with invented candles.",
    )


def _market_orders(config: RunConfiguration, clamped_fills: int | None) -> _Item:
    if config.fills.timing is FillTiming.NEXT_OPEN:
        when = (
            "Market orders (entries, exits, reversals, time exits) decided at a bar's close fill "
            "at the open of the next bar (`fills.timing = next_open`)."
        )
    else:
        when = (
            "Market orders (entries, exits, reversals, time exits) fill at the close of the very "
            "bar that decided them (`fills.timing = close`), as if the order reached the "
            "exchange at the price the decision was computed from; a real order can only be "
            "sent after the bar has closed, so this timing is the less conservative one."
        )
    slip = config.costs.slippage
    if slip == 0:
        price = "There is no slippage (`costs.slippage = 0`): the fill is at that price itself,"
    else:
        price = f"Slippage of {_pct(slip)} ({_bps(slip)}) moves the fill price against the trader,"
    clamp = ""
    if slip > 0:
        clamp = (
            " No trade prints outside a bar, so a slipped price beyond the bar's low or high is "
            "clamped to it, which cuts that fill's slippage short"
        )
        if clamped_fills is not None:
            clamp += f" (in this run: {clamped_fills} fill{'s' if clamped_fills != 1 else ''})"
        clamp += "."
    return (
        "Market orders",
        f"{when} {price} rounded to the tick against the trader and kept inside that bar's "
        f"low-high range.{clamp} They pay the taker fee ({_fee(config.costs.taker_fee)} of "
        "notional) and always fill in full. Stop and target levels are also rounded to the "
        "tick against the trader (a long's stop down and its targets up, a short's the other "
        "way).",
    )


def _fees(config: RunConfiguration) -> _Item:
    costs = config.costs
    return (
        "Fees",
        f"Every fill pays a fee on its notional: {_fee(costs.taker_fee)} as taker (market and "
        f"stop fills), {_fee(costs.maker_fee)} as maker (resting limits: take profit and "
        "partial-exit targets). The rates are flat for the whole run: no volume tiers, no "
        "fee-token discounts, no rebates.",
    )


def _resting_levels(config: RunConfiguration) -> _Item:
    costs = config.costs
    slip = (
        "without slippage"
        if costs.slippage == 0
        else f"moved {_pct(costs.slippage)} against the trader"
    )
    entered = (
        "A position entered at a bar's open is exposed to its levels for the rest of that bar."
        if config.fills.timing is FillTiming.NEXT_OPEN
        else "A position entered at a bar's close is exposed to its levels from the next bar."
    )
    return (
        "Resting levels",
        "Stop losses and scale-in thresholds are stop-market orders: when the bar's price path "
        f"reaches the level they fill at the level {slip}, with the taker fee. Take profits and "
        "partial-exit targets are limit orders: they fill at the level itself with no slippage "
        f"and the maker fee ({_fee(costs.maker_fee)}). A level the bar opens beyond (a gap "
        f"through it) fills at the bar's open, not at the level. {entered}",
    )


_POLICY_TEXT = {
    IntrabarPolicy.PESSIMISTIC: (
        "the price visits the extreme adverse to the position first (the low for a long, the "
        "high for a short), so when a stop and a target both lie inside one bar the stop is "
        "taken. This is the conservative choice"
    ),
    IntrabarPolicy.OPTIMISTIC: (
        "the price visits the extreme favourable to the position first (the high for a long, "
        "the low for a short), so when a stop and a target both lie inside one bar the target "
        "is taken. This flatters results"
    ),
    IntrabarPolicy.NEAREST_EXTREME: (
        "the price visits the extreme nearer to the open first (on a tie, the one adverse to "
        "the position)"
    ),
    IntrabarPolicy.CANDLE_DIRECTION: (
        "a bullish bar (close at or above open) goes open, low, high, close and a bearish bar "
        "open, high, low, close"
    ),
}


def _intrabar(policy: IntrabarPolicy) -> _Item:
    return (
        "Intrabar path",
        "Inside a bar only the open, high, low and close are known; the path is taken as open, "
        f"one extreme, the other extreme, close. Intrabar policy `{policy.value}`: "
        f"{_POLICY_TEXT[policy]}. A bar whose outcome would change if the other extreme came "
        "first is counted as ambiguous; results report the count and the PnL range between the "
        "pessimistic and optimistic readings.",
    )


def _detail(config: RunConfiguration, timeframe: str | None) -> _Item:
    detail = config.fills.detail_timeframe
    bar = f"{timeframe} bar" if timeframe else "bar"
    if detail is None:
        text = (
            "Off (`fills.detail_timeframe` not set): resting levels inside a bar are resolved by "
            "the intrabar policy alone."
        )
    else:
        text = (
            f"Resting levels are resolved on the {detail} candles inside each {bar}, walked in "
            "time order, so the order in which levels are met comes from the data rather than "
            f"from the intrabar policy. The `{config.fills.intrabar.value}` policy decides only "
            f"inside a single {detail} candle, and only such candles can make a bar ambiguous; "
            f"a level crossed between two {detail} candles fills at the later one's open."
        )
    return ("Detail timeframe", text)


def _sizing(config: RunConfiguration) -> _Item:
    risk = config.risk.limits
    cap = risk.position_cap
    text = (
        "The strategy asks for a fraction of equity (margin style: equity = cash + unrealized "
        f"PnL). One position is capped at {_pct(cap)} of equity (`risk.max_position` "
        f"{_pct(risk.max_position)}, also bounded by `risk.max_exposure` "
        f"{_pct(risk.max_exposure)} and `risk.max_leverage` {_num(risk.max_leverage)}×), total "
        f"notional at {_pct(min(risk.max_exposure, risk.max_leverage))} of equity. The quantity "
        "is fraction × equity / (fill price × (1 + taker fee)), rounded down to the lot step; an "
        "entry below the instrument's minimum notional is rejected."
    )
    partials = config.risk.partials
    planned = _planned_scale_ins(partials) if partials is not None else ()
    if planned:
        total = sum(size for _move, size in planned)
        text += (
            " Because the partials ladder plans scale-ins, the cap covers the fully scaled "
            f"position: an entry takes at most {_pct(cap)} / {_num(1 + total)} = "
            f"{_pct(cap / (1 + total), digits=2)} of equity."
        )
    return ("Sizing", text)


def _max_drawdown(max_drawdown: float | None) -> _Item:
    if max_drawdown is None:
        text = "Off (`risk.max_drawdown = None`): there is no close-only latch."
    else:
        text = (
            f"When the drawdown from the equity peak reaches {_pct(max_drawdown)} "
            "(`risk.max_drawdown`), the run latches close-only: no new entries or scale-ins for "
            "the rest of the run; open positions are still managed and exited."
        )
    return ("Max drawdown", text)


def _dynamic_risk(config: DynamicRiskConfig | None) -> _Item:
    if config is None:
        return ("Dynamic risk", "Off: entries are never scaled down by drawdown.")
    tiers = "; ".join(
        f"from {_pct(drawdown)} new entries are sized ×{_num(factor)}"
        for drawdown, factor in config.tiers
    )
    first, _ = config.tiers[0]
    back = first * (1 - config.recovery_fraction)
    return (
        "Dynamic risk",
        f"On, judged on the drawdown from the equity peak at each bar's close: {tiers}. A tier "
        f"is left only once equity has regained {_pct(config.recovery_fraction)} of the drop to "
        f"its threshold (hysteresis; the first tier is left when the drawdown is back to "
        f"{_pct(back)}).",
    )


def _trailing(policy: TrailingPolicy | None) -> _Item:
    if policy is None:
        return (
            "Trailing stop and breakeven",
            "Off: a position's stop stays where the strategy placed it.",
        )
    if policy.breakeven_trigger_pct is None:
        breakeven = "No breakeven step."
    else:
        breakeven = (
            f"Breakeven: after a favourable move of {_pct(policy.breakeven_trigger_pct)} from "
            f"entry the stop moves to entry ± {_pct(policy.breakeven_buffer_pct)} (beyond entry "
            "in the position's favour)."
        )
    follows = (
        "the bar's close"
        if policy.reference is _Reference.CLOSE
        else "the bar's favourable extreme (the high for a long, the low for a short)"
    )
    if policy.atr_multiple is None:
        distance = f"{_pct(policy.distance_pct)} behind {follows}"
    else:
        distance = (
            f"ATR({policy.atr_period}) × {_num(policy.atr_multiple)} behind {follows} (the "
            "simple mean of true ranges; until enough bars are seen, "
            f"{_pct(policy.distance_pct)})"
        )
    return (
        "Trailing stop and breakeven",
        f"{breakeven} Trailing: after a favourable move of {_pct(policy.activation_pct)} the "
        f"stop trails {distance}. Stops only tighten; they are updated from a completed bar and "
        "apply from the next bar, never tested against the bar that moved them.",
    )


def _partials(policy: PartialPolicy | None) -> _Item:
    topic = "Partial exits and scale-ins"
    if policy is None:
        return (topic, "Off: positions are entered and exited whole.")
    if policy.exit_targets:
        exits = (
            f"Partial exits (limit orders) at {_ladder(policy.exit_targets)} of the "
            "original quantity"
        )
    else:
        exits = "No partial exits"
    planned = _planned_scale_ins(policy)
    if planned:
        scale_ins = (
            f"scale-ins (stop orders) at {_ladder(planned)} of the original quantity, "
            f"at most {len(planned)}, none once partial exits have begun; a scale-in "
            "re-averages the entry price"
        )
    else:
        scale_ins = "no scale-ins"
    return (
        topic,
        f"{exits}; {scale_ins}. Levels are fixed from the first entry price, as moves in the "
        "position's favour.",
    )


def _time_exits(policy: TimeExitPolicy | None, timing: FillTiming) -> _Item:
    topic = "Time exits"
    if policy is None:
        return (topic, "Off: positions are held until a price level or the strategy exits them.")
    rules = []
    if policy.max_holding is not None:
        rules.append(f"a position held {_duration(policy.max_holding)} is closed")
    if policy.weekend_flat:
        rules.append(
            "positions are closed at the first bar that closes in the weekend (Saturday or "
            "Sunday UTC) and entries that would be held into it are refused"
        )
    if policy.daily_flat_hour is not None:
        rules.append(
            f"positions are closed at the first bar ending at or after {policy.daily_flat_hour:02d}"
            ":00 UTC each day"
        )
    if not rules:
        return (topic, "On, but with no rule set (`time_exits.*`), so they never fire.")
    fill = "the next open" if timing is FillTiming.NEXT_OPEN else "that bar's close"
    return (
        topic,
        f"On, by bar time (never wall time): {'; '.join(rules)}. The close is a market order "
        f"filled at {fill}.",
    )


NOT_MODELLED = (
    "Partial fills of our own orders: every order fills its whole quantity at the modelled price.",
    "Order-book depth and market impact beyond the flat slippage rate: a large order costs the "
    "same rate as a small one.",
    "Funding rates and borrowing costs: holding a position (long or short) costs nothing "
    "beyond its fees.",
    "Latency: no time passes between a bar's close, the decision and the order.",
    "Exchange outages and downtime: the exchange is always reachable and every bar is tradable.",
    "Rejected orders other than for minimum notional: no insufficient-balance, price-filter or "
    "rate-limit rejections.",
)
"""What no backtest here models, whatever the configuration (topic "Not modelled")."""


# --- formatting --------------------------------------------------------------------------------


def _trim(value: float, digits: int) -> str:
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _num(value: float) -> str:
    """A plain number without trailing zeros: 0.8 → `0.8`, 1.0 → `1`."""
    return _trim(value, 6)


def _pct(fraction: float, *, digits: int = 6) -> str:
    """A fraction as a percentage without trailing zeros: 0.0005 → `0.05 %`, 0.1 → `10 %`."""
    return f"{_trim(fraction * 100, digits)} %"


def _bps(fraction: float) -> str:
    """A fraction in basis points: 0.0005 → `5 bps`."""
    return f"{_trim(fraction * 10_000, 4)} bps"


def _fee(rate: float) -> str:
    return "no fee" if rate == 0 else _pct(rate)


def _ladder(rungs: Ladder) -> str:
    """`+3 %, +6 %, +10 % for 25 %, 25 %, 50 %`."""
    moves = ", ".join(f"+{_pct(move)}" for move, _size in rungs)
    sizes = ", ".join(_pct(size) for _move, size in rungs)
    return f"{moves} for {sizes}"


def _planned_scale_ins(policy: PartialPolicy) -> Ladder:
    return policy.scale_in_thresholds[: policy.max_scale_ins]


def _duration(value: timedelta) -> str:
    """`2 days`, `1 day 12 hours`, `90 minutes` → `1 hour 30 minutes`."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts) or f"{value.total_seconds():g} seconds"
