"""The parity badge: a session's decisions replayed through the backtest, computed apart.

`atb parity` re-runs the session's exact candles through the backtest engine and diffs the
event streams — seconds for a long session, far too slow for a poll. So the board computes it
on a background thread (one at a time, so a dashboard never takes more than one core for it;
a daemon thread, so stopping the dashboard never waits for a long replay),
on demand: the first time a session's panel asks, and again when the session has new bars and
the last verdict is at least `min_interval` seconds old. Meanwhile the page shows the newest
verdict with the bar it was computed at ("identical as of …"), or "computing".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import attrs

from atb.domain.errors import AtbError
from atb.engines.parity import compare_session
from atb.persistence.store import SessionStore

from .payloads import Json, iso


@attrs.frozen(slots=True)
class ParityKey:
    """Which session, and how far it had got (its last bar and bar count)."""

    store: int
    session: int
    progress: str


def verdict_json(store: SessionStore, session_id: int) -> Json:
    """`atb parity` for one session, as the badge shows it."""
    try:
        report = compare_session(store, session_id, limit=1)
    except AtbError as error:
        return {"state": "unavailable", "reason": str(error)}
    first = report.divergences[0] if report.divergences else None
    return {
        "state": "identical" if report.identical else "diverged",
        "bars": report.bars,
        "events": report.events,
        "decisions_only": report.real,
        "total_divergences": report.total_divergences,
        "warnings": list(report.warnings),
        "first_divergence": None
        if first is None
        else {
            "stream": first.stream,
            "index": first.index,
            "time": iso(first.time),
            "live": first.live,
            "backtest": first.backtest,
        },
    }


class ParityBoard:
    """Cached parity verdicts per session, refreshed in the background."""

    def __init__(
        self,
        paths: list[Path],
        *,
        min_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._paths = paths
        self._min_interval = min_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._done: dict[tuple[int, int], tuple[ParityKey, Json]] = {}
        self._busy = False
        self._started: dict[tuple[int, int], float] = {}

    def verdict(self, key: ParityKey) -> Json:
        """The newest verdict for the session (with `as_of`, the progress it was computed at,
        and `current`: computed at `key`'s progress), starting a computation when due."""
        session = (key.store, key.session)
        with self._lock:
            done = self._done.get(session)
            due = not self._busy and (
                done is None
                or (
                    done[0] != key
                    and self._clock() - self._started.get(session, -float("inf"))
                    >= self._min_interval
                )
            )
            if due:
                # One computation at a time over all sessions; another session's turn comes
                # at a later poll.
                self._busy = True
                self._started[session] = self._clock()
                threading.Thread(
                    target=self._compute, args=(key,), name="atb-parity", daemon=True
                ).start()
        if done is None:
            return {"state": "computing"}
        return {**done[1], "as_of": done[0].progress, "current": done[0] == key}

    def _compute(self, key: ParityKey) -> None:
        try:
            with SessionStore.open(self._paths[key.store], read_only=True) as store:
                result = verdict_json(store, key.session)
        except AtbError as error:
            result = {"state": "unavailable", "reason": str(error)}
        except Exception as error:  # a bug must not kill the board: say it on the badge
            result = {"state": "unavailable", "reason": f"{type(error).__name__}: {error}"}
        with self._lock:
            self._done[(key.store, key.session)] = (key, result)
            self._busy = False
