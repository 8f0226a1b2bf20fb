"""Where a search's trials run: Ray tasks (the default), or a plain in-process loop.

`RayRunner` starts a local Ray instance with the given number of workers (`ray.init` with that
many CPUs), or joins an existing cluster at an address with no other change. The trials'
shared inputs are put into Ray's object store once; each trial is one task given a reference to
them and its parameters. `SerialRunner` runs the same `evaluate` in this process, one trial
after another — the baseline the benchmark measures Ray's overhead against, and the runner of
tests that need no cluster.

A runner takes a batch of trials and returns their outcomes in the batch's order, whatever
order the workers finished in: the search tells them to Optuna in that order.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from atb.domain.errors import AtbError
from atb.research.trials import TrialInputs, TrialOutcome, evaluate
from atb.strategies.parameters import ParamValue

__all__ = ["RayRunner", "RayUnavailableError", "SerialRunner", "TrialRunner"]

Batch = Sequence[tuple[int, Mapping[str, ParamValue]]]
"""Trials to run: (slot, parameters) each."""


class TrialRunner(Protocol):
    """Runs batches of trials."""

    @property
    def workers(self) -> int:
        """How many trials run at once (the search asks batches of this size)."""
        ...

    def run(self, batch: Batch, *, with_returns: bool = False) -> list[TrialOutcome]:
        """Every trial of `batch`, outcomes in the batch's order (with each trial's bar
        returns when asked)."""
        ...

    def load(self, inputs: TrialInputs) -> None:
        """Run the next trials on `inputs` instead (a walk-forward's next fold)."""
        ...

    def close(self) -> None:
        """Release what the runner holds (a Ray instance it started)."""
        ...


class RayUnavailableError(AtbError):
    """Ray could not be started or reached (names the address)."""


class SerialRunner:
    """Runs each trial in this process, one after another."""

    def __init__(self, inputs: TrialInputs, workers: int = 1) -> None:
        self.inputs = inputs
        self._workers = workers

    @property
    def workers(self) -> int:
        """The batch size the search uses (results match a Ray run with this many workers)."""
        return self._workers

    def run(self, batch: Batch, *, with_returns: bool = False) -> list[TrialOutcome]:
        """Every trial, in order."""
        return [evaluate(self.inputs, slot, params, with_returns) for slot, params in batch]

    def load(self, inputs: TrialInputs) -> None:
        """Run the next trials on `inputs`."""
        self.inputs = inputs

    def close(self) -> None:
        """Nothing to release."""


class RayRunner:
    """Runs trials as Ray tasks on a local instance it starts, or on a cluster at `address`."""

    def __init__(self, inputs: TrialInputs, *, workers: int, address: str | None = None) -> None:
        self._workers = workers
        self.address = address
        self._started = False
        if address is not None:
            _probe(address)
            _token_mode_for_a_cluster()
        # Imported only now: Ray reads its authentication mode when it is imported (and a
        # command that never runs a search never pays for importing it).
        import ray

        # Ray announces its token authentication on every start: not news to a user of atb.
        logging.getLogger("ray").setLevel(logging.ERROR)
        try:
            if address is None:
                # A local instance sized to the workers; no dashboard, no log streaming to the
                # terminal (the progress display is ours).
                ray.init(
                    num_cpus=workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                    configure_logging=False,
                )
            else:
                ray.init(
                    address=address,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                    configure_logging=False,
                )
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = "a local Ray instance" if address is None else f"Ray at {address}"
            raise RayUnavailableError(f"cannot start or reach {where}: {error}") from error
        self._started = True
        self._ray = ray
        # One task per trial; the inputs go into the object store once and every task gets a
        # reference (Ray hands the task the object, not a copy per trial).
        self._task = ray.remote(num_cpus=1, max_retries=0)(_evaluate_task)
        self._inputs = ray.put(inputs)

    @property
    def workers(self) -> int:
        """How many trials run at once."""
        return self._workers

    def run(self, batch: Batch, *, with_returns: bool = False) -> list[TrialOutcome]:
        """Every trial of the batch as a Ray task; outcomes in the batch's order."""
        pending = [
            self._task.remote(self._inputs, slot, params, with_returns) for slot, params in batch
        ]
        return list(self._ray.get(pending))

    def load(self, inputs: TrialInputs) -> None:
        """Put `inputs` into the object store (once) for the next trials."""
        self._inputs = self._ray.put(inputs)

    def close(self) -> None:
        """Disconnect (and stop the local instance this runner started)."""
        if self._started:
            self._ray.shutdown()
            self._started = False


def _evaluate_task(
    inputs: TrialInputs, slot: int, params: Mapping[str, ParamValue], with_returns: bool
) -> TrialOutcome:
    """One trial as a Ray task (all four arguments positional, as Ray passes them)."""
    return evaluate(inputs, slot, params, with_returns)


def _probe(address: str) -> None:
    """Refuse at once an address nothing listens at (Ray itself would retry for minutes)."""
    target = address.removeprefix("ray://")
    if target == "auto":
        return
    host, separator, port_text = target.rpartition(":")
    if not separator or not host or not port_text.isdigit():
        raise RayUnavailableError(
            f"--ray-address {address}: expected HOST:PORT, e.g. 10.0.0.5:6379"
        )
    try:
        with socket.create_connection((host, int(port_text)), timeout=_PROBE_SECONDS):
            pass
    except OSError as error:
        raise RayUnavailableError(
            f"--ray-address {address}: no Ray cluster answers there ({error.strerror or error})"
        ) from None


_PROBE_SECONDS = 5.0


def _token_mode_for_a_cluster() -> None:
    """`ray start` protects a cluster with a token (kept in ~/.ray/auth_token) while a client
    connects without one unless told: when a token is at hand and the user chose no mode, use
    it, as `ray start` did. The token itself is never read or shown here."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    token_file = Path(os.environ.get("RAY_AUTH_TOKEN_PATH", Path.home() / ".ray" / "auth_token"))
    if "RAY_AUTH_TOKEN" in os.environ or token_file.is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


def available_cpus() -> int:
    """The CPUs this process may use (the default number of local workers)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
