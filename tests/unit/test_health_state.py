"""`HealthState` judges staleness at the moment it is asked, from what the engine reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from atb.engines.live.health import HealthState

HOUR = timedelta(hours=1)
T0 = datetime(2024, 7, 1, tzinfo=UTC)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make() -> tuple[HealthState, Clock]:
    clock = Clock()
    health = HealthState(poll_interval=10.0, bar_interval=HOUR, clock=clock)
    return health, clock


def test_fresh_polls_keep_it_healthy_and_silence_makes_it_stale() -> None:
    health, clock = make()
    health.poll_started()
    health.poll_succeeded(T0, new_bars=0)
    health.set_status("running")
    report = health.snapshot()
    assert (report["stale"], health.status_code(report)) == (False, 200)
    clock.now += 20.0  # exactly two poll intervals: not yet
    assert health.snapshot()["stale"] is False
    clock.now += 0.5
    report = health.snapshot()
    assert report["stale"] is True
    assert health.status_code(report) == 503
    assert (
        report["stale_reason"] == "no poll has brought news for 20 s (more than 2 poll intervals)"
    )


def test_a_frozen_exchange_clock_is_no_news() -> None:
    health, clock = make()
    health.poll_succeeded(T0, new_bars=0)
    for _ in range(3):
        clock.now += 10.0
        health.poll_succeeded(T0, new_bars=0)  # the exchange answers, its clock stands still
    assert health.snapshot()["stale"] is True
    clock.now += 1.0
    health.poll_succeeded(T0 + timedelta(seconds=40), new_bars=0)
    assert health.snapshot()["stale"] is False


def test_errors_are_reported_with_their_time_and_cleared_by_success() -> None:
    health, clock = make()
    health.poll_failed("HTTP 503")
    report = health.snapshot()
    assert report["error"] == "HTTP 503"
    assert report["last_error"] == {"message": "HTTP 503", "time": "1970-01-12T13:46:40Z"}
    clock.now += 5.0
    health.poll_succeeded(T0, new_bars=1)
    report = health.snapshot()
    assert report["error"] is None
    assert report["last_error"]["message"] == "HTTP 503"


def test_a_session_behind_the_exchange_is_stale() -> None:
    health, _clock = make()
    health.bar_processed(T0)
    health.poll_succeeded(T0 + 3 * HOUR + timedelta(seconds=11), new_bars=0)
    report = health.snapshot()
    assert report["feed_lag_seconds"] == 2 * 3600 + 11
    assert report["stale_reason"] == "the last processed bar is 7211 s behind"


def test_stopped_answers_503_without_being_stale() -> None:
    health, clock = make()
    health.set_status("stopped")
    clock.now += 1_000.0
    report = health.snapshot()
    assert (report["stale"], report["status"], health.status_code(report)) == (
        False,
        "stopped",
        503,
    )
