"""Running a real command in a pseudo-terminal, as a person at a terminal would see it.

Piped runs (`tests.support.cli.run_atb`) never show what a terminal shows: rich draws progress
bars, colours and box borders only when its stream is a terminal. `run_in_terminal` starts the
command with stdin, stdout and stderr on the slave side of a pty sized `COLUMNS`×`ROWS`, with
`TERM=xterm-256color` and none of the variables that force or forbid colour, reads everything
the command writes until it exits (or the timeout kills its process group), and returns the
exit code with the raw stream and the text with escape sequences stripped.

The child runs in a new session without a controlling terminal (`start_new_session`): `isatty`
and the window size are what rich and click look at, and setting a controlling terminal would
need a `preexec_fn`, which is unsafe while test threads (the fake exchange) run.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from tests.support.cli import ROOT

COLUMNS = 120
ROWS = 40

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erase line, hide/show cursor
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, hyperlinks
    r"|\x1b[()][0-9A-Za-z]"  # character set selection
    r"|\x1b[@-Z\\-_=>]"  # other two-byte escapes
)
_UNSET = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")
"""Variables that would override what the terminal itself says about colour and size."""


def strip_escapes(text: str) -> str:
    """`text` without ANSI escape sequences; CRLF becomes LF and a bare CR (a line redrawn in
    place) a line break, so every frame of a progress display stays readable."""
    plain = _ESCAPES.sub("", text)
    return plain.replace("\r\n", "\n").replace("\r", "\n")


@attrs.frozen
class TerminalRun:
    """What a command showed in the terminal: exit code, the raw byte stream (decoded as
    UTF-8) and `screen`, the same text without escape sequences."""

    args: tuple[str, ...]
    exit_code: int
    raw: str
    seconds: float

    @property
    def screen(self) -> str:
        """Everything the command wrote, escape sequences stripped (see `strip_escapes`)."""
        return strip_escapes(self.raw)

    def describe(self) -> str:
        """For assertion messages: the command, its exit code and the end of the screen."""
        return f"{' '.join(self.args)} exited {self.exit_code}:\n{self.screen[-3000:]}"


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without the colour and size overrides, plus `extra`."""
    environment = {key: value for key, value in os.environ.items() if key not in _UNSET}
    environment.update(extra or {})
    return environment


def run_in_pipe(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """The same command with stdout and stderr piped, in the same cleaned environment as
    `run_in_terminal` (so the terminal is the only difference between the two runs)."""
    return subprocess.run(
        list(args),
        check=False,
        cwd=cwd,
        env=clean_environment(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_in_terminal(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 120.0,
    interrupt_when: str | None = None,
) -> TerminalRun:
    """Run `args` in a fresh pty until it exits; `env` adds to (a cleaned copy of) the current
    environment. Fails the test with what the screen showed if it does not end in `timeout` s.

    With `interrupt_when`, the command gets SIGINT (what Ctrl-C sends) once the screen shows
    that text: for a command that runs until it is stopped."""
    environment = clean_environment({"TERM": "xterm-256color", **(env or {})})
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=environment,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
    finally:
        os.close(slave)  # the child holds its own copies; EOF comes when they all close
    chunks: list[bytes] = []
    try:
        interrupt = None
        if interrupt_when is not None:
            interrupt = _Interrupt(process.pid, interrupt_when.encode())
        _read_until_eof(master, chunks, started + timeout, interrupt)
        code = process.wait(timeout=max(0.1, started + timeout - time.monotonic()))
    except (TimeoutError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        shown = strip_escapes(b"".join(chunks).decode("utf-8", "replace"))
        raise AssertionError(
            f"{' '.join(args)} did not finish in {timeout} s; the screen:\n{shown[-3000:]}"
        ) from None
    finally:
        os.close(master)
    return TerminalRun(
        args=tuple(args),
        exit_code=code,
        raw=b"".join(chunks).decode("utf-8", "replace"),
        seconds=time.monotonic() - started,
    )


class _Interrupt:
    """Sends SIGINT to a process group once its output contains `text` (once)."""

    def __init__(self, pid: int, text: bytes) -> None:
        self.pid = pid
        self.text = text
        self.sent = False

    def check(self, chunks: list[bytes]) -> None:
        if not self.sent and self.text in b"".join(chunks):
            os.killpg(self.pid, signal.SIGINT)
            self.sent = True


def _read_until_eof(
    master: int, chunks: list[bytes], deadline: float, interrupt: _Interrupt | None = None
) -> None:
    """Drain the pty (so the child never blocks on a full buffer) until every writer closed."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([master], [], [], min(remaining, 0.5))
        if not ready:
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the slave side is closed everywhere (Linux)
            return
        if not data:
            return
        chunks.append(data)
        if interrupt is not None:
            interrupt.check(chunks)
