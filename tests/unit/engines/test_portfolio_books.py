"""The portfolio driver keeps each symbol's book from one bar time to the next (ADR 0022) and
starts afresh from any state that is not the one its last step returned: stepping again from
an earlier state gives the very steps that state gave the first time."""

from __future__ import annotations

from atb.config import config_from_assignments
from atb.domain.instruments import Instrument
from atb.domain.models import ActiveTrade
from atb.engines.driver import BarDriver
from atb.engines.portfolio.driver import PortfolioDriver, PortfolioState, PortfolioStep, SymbolBar
from atb.managers.positions import ActiveTradeAdapter
from tests.support.scripted import HOUR, AlternatingDecider, bars_from_rows

ROWS = [
    (100.0, 101.0, 99.0, 100.5),
    (100.5, 103.0, 100.0, 102.5),
    (102.5, 104.0, 101.5, 103.5),
    (103.5, 103.8, 98.0, 98.5),
    (98.5, 100.0, 97.0, 99.5),
    (99.5, 102.0, 99.0, 101.0),
    (101.0, 101.5, 96.0, 96.5),
    (96.5, 99.0, 96.0, 98.0),
]
SYMBOLS = ("AAAUSDT", "BBBUSDT")


def _driver() -> PortfolioDriver[ActiveTrade]:
    config = config_from_assignments(["risk.max_position=0.4", "dynamic_risk=None"])
    drivers = {
        symbol: BarDriver(
            config=config,
            instrument=Instrument(symbol=symbol, tick_size=0.01, lot_step=0.001, min_notional=1.0),
            positions=ActiveTradeAdapter(),
            decider=AlternatingDecider(period=2 + number, hold=1, size=0.4),
            bar_interval=HOUR,
            id_prefix=f"bt-{symbol}",
        )
        for number, symbol in enumerate(SYMBOLS)
    }
    return PortfolioDriver(drivers)


def _steps(
    driver: PortfolioDriver[ActiveTrade], state: PortfolioState[ActiveTrade], first: int
) -> list[PortfolioStep[ActiveTrade]]:
    bars = bars_from_rows(ROWS)
    steps = []
    for row in range(first, len(bars)):
        present = {symbol: SymbolBar(bars[row], row) for symbol in SYMBOLS}
        step = driver.step(state, bars[row].time, present)
        steps.append(step)
        state = step.state
    return steps


def test_stepping_again_from_an_earlier_state_repeats_its_steps() -> None:
    driver = _driver()
    first_run = _steps(driver, driver.initial_state(10_000.0), 0)
    assert sum(1 for step in first_run for _symbol, event in step.events if event.kind == "fill")
    # The driver's books are now at the last bar; going back to bar 3's state must not use them.
    replay = _steps(driver, first_run[2].state, 3)
    assert replay == first_run[3:]
    assert replay[-1].state == first_run[-1].state
