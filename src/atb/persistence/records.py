"""Typed rows the store returns: sessions, orders, fills, positions, equity points."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

import attrs

from atb.config import config_from_dict
from atb.domain.fills import Fill
from atb.domain.instruments import Instrument
from atb.domain.models import LivePosition
from atb.managers.run_config import RunConfiguration

SessionStatus = Literal["active", "stopped"]
OrderStatus = Literal["pending", "filled", "rejected", "cancelled"]
PositionStatus = Literal["open", "closed"]


@attrs.frozen(kw_only=True)
class SessionRecord:
    """One live session: what it runs, with which settings, and how far it got.

    `params` are the strategy parameters and `config` the `config_to_dict` form of its
    `RunConfiguration` (`run_configuration()` rebuilds it). `created_at`/`stopped_at` are wall
    clock times: `stopped_at` is when the session ended, or, while it is still active, when the
    process running it stopped cleanly (None while one runs it, or after its process died: see
    `atb.persistence.liveness`); `last_bar_time` is the open time of the last processed bar
    (None before the first). `writer_pid`/`writer_host` name the process that last wrote it.
    """

    id: int
    strategy: str
    symbol: str
    timeframe: str
    params: Mapping[str, object]
    config: Mapping[str, object]
    initial_balance: float
    model_id: str | None
    id_prefix: str
    status: SessionStatus
    created_at: datetime
    stopped_at: datetime | None
    last_bar_time: datetime | None
    writer_pid: int | None
    writer_host: str | None
    instrument: Instrument | None = None
    """The market's rules the session trades with (None for sessions from before schema v4)."""
    instrument_source: str | None = None
    """Where those rules came from."""
    portfolio_id: int | None = None
    """The live portfolio this session is a member of (one symbol of its account), or None
    for a session of its own."""

    @property
    def active(self) -> bool:
        """True while the session can be resumed and written."""
        return self.status == "active"

    def run_configuration(self) -> RunConfiguration:
        """The session's configuration: the stored dict merged onto the defaults."""
        return config_from_dict(self.config)


@attrs.frozen(kw_only=True)
class OrderRecord:
    """One order of a session and its status.

    `intent` is the `OrderIntent` value of a market order, or None for an order the kernel
    created and resolved inside one bar without a market-order intent (a resting level's fill:
    stop, target, partial exit, scale-in; or an entry/scale-in refused before it was placed).
    `created_at`/`updated_at` are bar times.
    """

    order_id: str
    created_at: datetime
    intent: str | None
    reason: str
    fraction: float | None
    stop_loss_pct: float | None
    take_profit_pct: float | None
    status: OrderStatus
    updated_at: datetime


@attrs.frozen(kw_only=True)
class FillRecord:
    """One execution, with the position it belongs to and the bar that produced it."""

    bar_time: datetime
    position_id: str
    fill: Fill


@attrs.frozen(kw_only=True)
class PositionRecord:
    """One position of a session.

    `position` is its full state (manager state included) at the last bar close it was open
    at; None for a position that opened and closed within the same bar.
    """

    position_id: str
    symbol: str
    side: str
    status: PositionStatus
    opened_at: datetime
    closed_at: datetime | None
    position: LivePosition | None
    updated_at: datetime


@attrs.frozen(kw_only=True)
class EquityPoint:
    """Equity, cash and exposure marked at one bar's close."""

    time: datetime
    equity: float
    cash: float
    exposure: float
    ambiguous_pnl: tuple[float, float] | None = None
    """On an ambiguous bar, its PnL under the worse and the better extreme order."""
