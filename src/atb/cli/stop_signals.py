"""SIGINT and SIGTERM as a stop request, for the commands that run until stopped.

`atb live` and `atb data download` take a `StopToken` from `stop_signals()`: while the command
runs, either signal sets the token (which cuts waits and exchange requests short) instead of
raising `KeyboardInterrupt` at a random point or killing the process outright.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from atb.data.stop_token import STOP_SIGNALS, StopToken


@contextmanager
def stop_signals() -> Iterator[StopToken]:
    """A `StopToken` that SIGINT and SIGTERM set while inside; the previous handlers come back
    (and the token is closed) on the way out. Call it from the main thread."""
    token = StopToken()
    previous = {signum: signal.signal(signum, token.on_signal) for signum in STOP_SIGNALS}
    try:
        yield token
    finally:
        for signum, handler in previous.items():
            # None: the previous handler was not installed from Python; the default is closest.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        token.close()


def describe_stop(token: StopToken) -> str:
    """What stopped the command, for a message: `SIGTERM`, `SIGINT`, or `a stop request`."""
    return "a stop request" if token.signum is None else signal.Signals(token.signum).name


def stop_exit_code(token: StopToken) -> int:
    """The exit code of a command a stop left unfinished: 128 + the signal number, as a shell
    reports a process killed by it (130 for SIGINT, 143 for SIGTERM); 1 without a signal."""
    return 1 if token.signum is None else 128 + token.signum
