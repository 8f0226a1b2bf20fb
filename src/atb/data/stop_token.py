"""`StopToken`: a request to stop that cuts every blocking wait and exchange request short.

A long-running command (`atb live`, `atb data download`) spends its time blocked: waiting out a
backoff or a `Retry-After`, waiting for the next poll, or inside an HTTP request the server may
never answer. A stop (SIGINT/SIGTERM, or `set()` from any thread) must end all of these at once,
yet never cut a store transaction in half. So nothing is ever interrupted *asynchronously*:

- `set()` only flips a flag and writes one byte to a pipe. It takes no lock, so it is safe in a
  signal handler (`on_signal`); a `threading.Event.set()` there could deadlock on the lock the
  interrupted main thread holds inside `Event.wait()`.
- `wait()` blocks in `select()` on that pipe, so the byte written by `set()` wakes it at once.
  After a signal handler returns, Python resumes the interrupted `select()` (PEP 475), which
  then finds the pipe readable.
- `call()` runs a blocking call (an HTTP request) in a daemon worker thread while the calling
  thread waits in `select()` on the stop pipe and the worker's completion pipe. On a stop the
  call is abandoned: `StopRequested` is raised in the caller, and the worker ends by itself when
  its call returns or times out (a daemon thread does not keep the process alive).

Code between those points (a store commit, the kernel step) runs to completion; the owner checks
`is_set()` at its next safe point. The interface matches the part of `threading.Event` that the
live engine uses (`is_set`, `wait`, `set`), so either can drive it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that request a clean stop (Ctrl-C; `kill`, `atb live stop`, systemd, Docker)."""


class StopRequested(BaseException):
    """Raised by `StopToken.call` (and so by the clients using it) instead of starting a call, or
    abandoning one, once a stop is requested.

    A `BaseException`, like `KeyboardInterrupt` and `asyncio.CancelledError`, so that a generic
    `except Exception` on the way up cannot swallow a stop.
    """


class StopFlag(Protocol):
    """What a loop that stops on request reads: `threading.Event` and `StopToken` satisfy it."""

    def is_set(self) -> bool:
        """True once a stop was requested."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Block up to `timeout` seconds or until a stop; return `is_set()`."""
        ...


class StopToken:
    """A one-way stop request shared by a command's loop, its waits and its exchange client.

    Owns a pipe (two file descriptors): `close()` it, or use it as a context manager.
    """

    def __init__(self) -> None:
        self._requested = False
        self._closed = False
        self.signum: int | None = None
        """The signal that requested the stop (None: not stopped, or stopped by `set()`)."""
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)

    def __enter__(self) -> StopToken:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the pipe (the token must not be waited on afterwards)."""
        if not self._closed:
            self._closed = True
            os.close(self._wake_read)
            os.close(self._wake_write)

    def set(self) -> None:
        """Request the stop: wakes every `wait` and abandons the running `call` at once.

        Lock-free, so it may be called from a signal handler or any thread.
        """
        if not self._requested:
            self._requested = True
            if not self._closed:  # a closed descriptor's number may belong to another file now
                # One byte, written once, into an empty pipe: it cannot block.
                os.write(self._wake_write, b"!")

    def is_set(self) -> bool:
        """True once a stop was requested."""
        return self._requested

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        """A signal handler (`signal.signal(SIGTERM, token.on_signal)`): records the first
        signal in `signum` and requests the stop. It never raises: the interrupted code carries
        on until it reaches a wait or a `call`, which then return at once."""
        if self.signum is None:
            self.signum = signum
        self.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block up to `timeout` seconds (None: until stopped); return True if stopped."""
        if not self._requested:
            select.select([self._wake_read], [], [], None if timeout is None else max(0, timeout))
        return self._requested

    def sleep(self, seconds: float) -> None:
        """`time.sleep` that ends early on a stop (a sleeper for clients and feeds)."""
        self.wait(seconds)

    def call(self, function: Callable[[], T]) -> T:
        """`function()` in a worker thread: its result or exception, or `StopRequested` as soon
        as a stop is requested (before or during the call).

        On a stop the worker is abandoned, not killed: it finishes (or times out) on its own
        and its outcome is dropped. Only calls that are safe to abandon belong here, such as a
        read-only HTTP request.
        """
        if self._requested:
            raise StopRequested
        done_read, done_write = os.pipe()
        call = _Call(function, done_write)
        try:
            _start_without_stop_signals(call.run)
        except BaseException:
            os.close(done_write)  # no worker will own it
            os.close(done_read)
            raise
        try:
            # No timeout: select() returns only once a descriptor is ready (PEP 475 resumes it
            # after a signal handler, which has made the stop pipe ready).
            ready, _, _ = select.select([self._wake_read, done_read], [], [])
        finally:
            os.close(done_read)  # the worker owns, and closes, the write end
        if done_read not in ready:
            raise StopRequested
        return call.outcome()


def _start_without_stop_signals(target: Callable[[], None]) -> None:
    """Start a daemon thread with SIGINT/SIGTERM blocked (a new thread inherits the mask).

    A process-directed signal goes to a thread that does not block it; Python runs the handler
    in the main thread only when that thread next runs bytecode. Were the signal delivered to
    the worker, the main thread would sleep on in select() until the request ended.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        threading.Thread(target=target, name="atb-stoppable-call", daemon=True).start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _Call(Generic[T]):
    """One call run by a worker thread; signals completion by writing to (and closing) `done`."""

    def __init__(self, function: Callable[[], T], done: int) -> None:
        self._function = function
        self._done = done
        self._result: tuple[T] | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._result = (self._function(),)
        except BaseException as error:  # handed to the caller, whatever it is
            self._error = error
        finally:
            # OSError: the caller gave up on this call and closed its end.
            with contextlib.suppress(OSError):
                os.write(self._done, b"!")
            os.close(self._done)

    def outcome(self) -> T:
        if self._result is None:
            assert self._error is not None
            raise self._error
        return self._result[0]
