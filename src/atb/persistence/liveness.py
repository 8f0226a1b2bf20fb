"""Is a session running, stopped or crashed? One rule, read from the lock and the store.

A status flag alone cannot say: a session stays `active` in the store after its process ends,
whether it was stopped (SIGTERM, a replay that ran out: the next `atb live` resumes it) or
killed. The rule, used by `atb live status` and `atb dashboard` alike:

- **stopped** — the session ended (`status = 'stopped'`), or it is active and the process that
  ran it released it cleanly (`stopped_at` set while active; the next `atb live` resumes it);
- **running** — a process holds the store's writer lock (an `flock`, released by the kernel
  however the process dies) and that process is the session's writer (`writer_pid`);
- **crashed** — active, not released, and its writer no longer holds the lock: the process was
  killed or ended with an error.

The lock is judged on this host: a store on a network file system shared with another host is
outside the rule (flock does not span hosts).
"""

from __future__ import annotations

import enum
from datetime import datetime
from pathlib import Path

import attrs

from atb.persistence.lock import lock_holder
from atb.persistence.records import SessionStatus


class Liveness(enum.Enum):
    """What a session's process is doing."""

    RUNNING = "running"
    STOPPED = "stopped"
    CRASHED = "crashed"


@attrs.frozen(slots=True)
class LivenessVerdict:
    """A session's (or a portfolio's) liveness, with the process running it and why."""

    state: Liveness
    pid: int | None
    """The pid of the process running it (RUNNING only)."""
    detail: str
    """One phrase saying how the verdict was reached, for a person."""
    resumable: bool
    """True when the store still holds it active: the next `atb live` resumes it."""


def judge(
    *,
    status: SessionStatus,
    writer_pid: int | None,
    stopped_at: datetime | None,
    holder: int | None,
) -> LivenessVerdict:
    """The rule (module docstring) for one session or portfolio row, given the pid holding the
    store's writer lock (`holder`, None when no process holds it)."""
    if status == "stopped":
        return LivenessVerdict(Liveness.STOPPED, None, "ended", resumable=False)
    if holder is not None and writer_pid is not None and holder == writer_pid:
        return LivenessVerdict(Liveness.RUNNING, holder, f"pid {holder}", resumable=True)
    if stopped_at is not None:
        return LivenessVerdict(Liveness.STOPPED, None, "resumable", resumable=True)
    last = "its process" if writer_pid is None else f"its process (pid {writer_pid})"
    return LivenessVerdict(
        Liveness.CRASHED, None, f"{last} ended without a clean stop", resumable=True
    )


def writer_holder(db_path: Path) -> int | None:
    """The pid holding the writer lock of the store at `db_path` (None: no process does), read
    once so that every session of the store is judged against the same moment."""
    return lock_holder(db_path)
