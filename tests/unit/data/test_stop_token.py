"""`StopToken`: waits and calls end at once on a stop, from another thread or a signal."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from atb.data.stop_token import StopFlag, StopRequested, StopToken


@pytest.fixture
def token() -> Iterator[StopToken]:
    with StopToken() as stop:
        yield stop


def test_wait_times_out_without_a_stop_and_returns_at_once_after_one(token: StopToken) -> None:
    started = time.monotonic()
    assert token.wait(0.05) is False
    assert time.monotonic() - started >= 0.05
    token.set()
    started = time.monotonic()
    assert token.wait(30) is True
    token.sleep(30)
    assert time.monotonic() - started < 0.5
    assert token.is_set()


def test_a_stop_from_another_thread_wakes_a_wait(token: StopToken) -> None:
    threading.Timer(0.1, token.set).start()
    started = time.monotonic()
    assert token.wait(30) is True
    assert time.monotonic() - started < 5


def test_call_returns_the_result_or_raises_the_exception_of_the_call(token: StopToken) -> None:
    assert token.call(lambda: 42) == 42

    def broken() -> int:
        raise ValueError("from the worker")

    with pytest.raises(ValueError, match="from the worker"):
        token.call(broken)


def test_a_stop_abandons_a_call_that_never_returns(token: StopToken) -> None:
    release = threading.Event()
    threading.Timer(0.1, token.set).start()
    started = time.monotonic()
    with pytest.raises(StopRequested):
        token.call(lambda: release.wait(60))
    assert time.monotonic() - started < 5
    release.set()  # the abandoned worker ends on its own


def test_no_call_starts_after_a_stop(token: StopToken) -> None:
    calls: list[int] = []
    token.set()
    with pytest.raises(StopRequested):
        token.call(lambda: calls.append(1))
    assert calls == []


def test_a_signal_handled_by_the_token_ends_a_call_in_the_main_thread(token: StopToken) -> None:
    previous = signal.signal(signal.SIGUSR1, token.on_signal)
    release = threading.Event()
    try:
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        with pytest.raises(StopRequested):
            token.call(lambda: release.wait(60))
    finally:
        signal.signal(signal.SIGUSR1, previous)
        release.set()
    assert token.signum == signal.SIGUSR1


def test_an_event_and_a_token_are_both_stop_flags(token: StopToken) -> None:
    flags: list[StopFlag] = [threading.Event(), token]
    for flag in flags:
        assert flag.wait(0) is False
    token.close()
    token.close()  # closing twice is harmless
    token.set()  # and a stop after closing writes nowhere
    assert token.is_set()
