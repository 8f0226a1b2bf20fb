"""The bias check: prove a strategy uses no future rows and no more history than `warmup`.

`check_strategy(factory, frame)` prepares one strategy on the full frame, then, at sampled
bars `i` (evenly spaced, the last few, and some signal bars), prepares fresh strategies on

- the prefix `frame[: i + 1]`: every feature row and mask value up to `i` must equal the
  full-frame one (look-ahead bias would change them), and
- the window of only `warmup` bars ending at `i`: row `i`'s features and mask must equal the
  full-frame ones (dependence on history length, e.g. a recursive indicator, would not),

and compares the decisions at `i` for a flat, a long and a short position view. Finally it
calls `decide` on every bar where the full-frame `signal_mask` is False and requires `HOLD`,
because the backtest engine skips those bars. Each failure names the kind of bias, the feature
and the bar (timestamp and row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from atb.deferred_modules import DeferredModule
from atb.domain.bars import Bar
from atb.domain.decisions import HOLD, Decision
from atb.domain.errors import StrategyError
from atb.domain.protocols import PositionState
from atb.domain.sides import PositionSide
from atb.strategies.protocol import (
    OHLCV_COLUMNS,
    BoolArray,
    PreparesRecent,
    Strategy,
    check_frame,
)
from atb.strategies.recent_bars import RecentBars

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = DeferredModule("pandas")

FloatArray = npt.NDArray[np.float64]


@attrs.frozen(slots=True)
class _PositionView:
    """A just-opened position at the bar's close: the "simple open position" decisions are
    compared for. Built from the bar alone, so every frame sees the same view."""

    symbol: str
    side: PositionSide
    price: float
    entry_time: datetime
    quantity: float = 1.0
    original_quantity: float = 1.0
    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_active: bool = False
    breakeven_active: bool = False
    partial_exits_taken: int = 0
    scale_ins_taken: int = 0

    @property
    def entry_price(self) -> float:
        return self.price

    @property
    def first_entry_price(self) -> float:
        return self.price

    @property
    def best_price(self) -> float:
        return self.price

    @property
    def worst_price(self) -> float:
        return self.price


@attrs.frozen(slots=True)
class BiasFinding:
    """One broken promise: `kind` is look-ahead, history, signal mask or contract."""

    kind: str
    feature: str
    bar_index: int
    bar_time: pd.Timestamp | None
    detail: str

    def describe(self) -> str:
        """One line naming the kind, the feature and the bar."""
        when = "" if self.bar_time is None else f" at bar {self.bar_time.isoformat()}"
        return f"{self.kind}: {self.feature}{when} (row {self.bar_index}): {self.detail}"


@attrs.frozen(slots=True)
class BiasReport:
    """What was checked and what failed (`passed` is True when nothing did)."""

    strategy: str
    bars: int
    warmup: int
    prefixes_checked: int
    windows_checked: int
    decisions_checked: int
    mask_bars_checked: int
    findings: tuple[BiasFinding, ...]
    incremental_checked: int = 0
    """Bars where the strategy's `features_now` was compared with its `features` (0: it has
    no incremental path)."""

    @property
    def passed(self) -> bool:
        """True when no finding was recorded."""
        return not self.findings

    def summary(self) -> str:
        """A short human-readable result."""
        head = (
            f"{self.strategy}: {self.bars} bars, warm-up {self.warmup}; "
            f"{self.prefixes_checked} prefixes, {self.windows_checked} warm-up windows, "
            f"{self.decisions_checked} decisions, {self.mask_bars_checked} masked bars checked"
            + (
                f", features_now on {self.incremental_checked} bars"
                if self.incremental_checked
                else ""
            )
        )
        if self.passed:
            return f"{head} — no look-ahead or history bias found"
        return f"{head} — FAILED: {self.findings[0].describe()}"

    def raise_for_findings(self) -> None:
        """Raise `StrategyError` naming the first finding, if any."""
        if self.findings:
            raise StrategyError(
                f"bias check failed for {self.strategy}: {self.findings[0].describe()}"
            )


def _equal(a: FloatArray, b: FloatArray, rtol: float, atol: float) -> BoolArray:
    with np.errstate(invalid="ignore"):
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        if rtol or atol:
            same |= np.abs(a - b) <= atol + rtol * np.abs(b)
    return np.asarray(same, dtype=np.bool_)


@attrs.define
class _Checker:
    factory: Callable[[], Strategy]
    frame: pd.DataFrame
    rtol: float
    atol: float
    max_findings: int
    full: Strategy
    values: FloatArray
    columns: list[str]
    mask: BoolArray
    ohlcv: FloatArray
    times: list[datetime]
    findings: list[BiasFinding] = attrs.Factory(list)
    decisions: int = 0

    @property
    def full_stop(self) -> bool:
        return len(self.findings) >= self.max_findings

    def time(self, row: int) -> pd.Timestamp:
        return pd.Timestamp(self.frame.index[row])

    def add(self, kind: str, feature: str, row: int, detail: str) -> None:
        if not self.full_stop:
            self.findings.append(BiasFinding(kind, feature, row, self.time(row), detail))

    def bar(self, row: int) -> Bar:
        o, h, low, c, v = self.ohlcv[row]
        return Bar(self.times[row], float(o), float(h), float(low), float(c), float(v))

    def positions(self, bar: Bar) -> Iterator[PositionState | None]:
        yield None
        for side in (PositionSide.LONG, PositionSide.SHORT):
            yield _PositionView(symbol="CHECK", side=side, price=bar.close, entry_time=bar.time)

    def prepared(self, kind: str, first: int, last: int) -> Strategy | None:
        strategy = self.factory()
        try:
            strategy.prepare(self.frame.iloc[first : last + 1])
            strategy.features()
        except Exception as error:  # a checker reports any failure of the strategy's code
            self.add(kind, "prepare", last, f"failed on rows {first}..{last}: {error!r}")
            return None
        return strategy

    def compare_rows(
        self, kind: str, other: Strategy, offset: int, rows: slice, label: str
    ) -> bool:
        """Compare `other`'s rows `rows` with the full-frame rows shifted by `offset`."""
        theirs = other.features()
        if list(theirs.columns) != self.columns:
            self.add(kind, "features", offset, f"columns {list(theirs.columns)} != {self.columns}")
            return False
        mine = self.values[rows.start + offset : rows.stop + offset]
        got = theirs.to_numpy(dtype=np.float64)[rows]
        same = _equal(got, mine, self.rtol, self.atol)
        if not same.all():
            row, col = np.argwhere(~same)[0]
            full_row = int(row) + rows.start + offset
            self.add(
                kind,
                f"feature {self.columns[col]!r}",
                full_row,
                f"full frame {float(mine[row, col])!r} != {label} {float(got[row, col])!r}",
            )
            return False
        other_mask = np.asarray(other.signal_mask(), dtype=np.bool_)[rows]
        mine_mask = self.mask[rows.start + offset : rows.stop + offset]
        if not np.array_equal(other_mask, mine_mask):
            row = int(np.flatnonzero(other_mask != mine_mask)[0])
            self.add(
                kind,
                "signal_mask",
                row + rows.start + offset,
                f"full frame {bool(mine_mask[row])} != {label} {bool(other_mask[row])}",
            )
            return False
        return True

    def compare_decisions(
        self, kind: str, other: Strategy, local: int, row: int, label: str
    ) -> None:
        bar = self.bar(row)
        for position in self.positions(bar):
            self.decisions += 1
            try:
                expected = self.full.decide(row, bar, position)
                got = other.decide(local, bar, position)
            except Exception as error:  # reported, not raised: the checker must name the bar
                self.add(kind, "decision", row, f"decide raised {error!r}")
                return
            if got != expected:
                held = "flat" if position is None else position.side.value
                self.add(kind, f"decision ({held})", row, f"full frame {expected} != {label} {got}")
                return

    def compare_incremental(self, first: int, row: int) -> bool:
        """Prepare a fresh strategy on rows `first..row` as plain arrays (the live fast path)
        and compare its newest-bar features and decisions with the full frame's row. False
        when the strategy has no incremental path or a difference was found."""
        other = self.factory()
        if not isinstance(other, PreparesRecent):
            return False
        rows = self.ohlcv[first : row + 1]
        recent = RecentBars(
            open=rows[:, 0].copy(),
            high=rows[:, 1].copy(),
            low=rows[:, 2].copy(),
            close=rows[:, 3].copy(),
            volume=rows[:, 4].copy(),
            time=self.times[row],
        )
        label = f"features_now on rows {first}..{row}"
        try:
            values = other.prepare_recent(recent)
        except Exception as error:  # reported, not raised: the checker must name the bar
            self.add("incremental", "features_now", row, f"raised {error!r}")
            return False
        if values is None:
            return False
        if sorted(values) != sorted(self.columns):
            self.add("incremental", "features_now", row, f"keys {sorted(values)} != {self.columns}")
            return False
        got = np.array([[float(values[name]) for name in self.columns]], dtype=np.float64)
        mine = self.values[row : row + 1]
        same = _equal(got, mine, self.rtol, self.atol)
        if not same.all():
            col = int(np.flatnonzero(~same[0])[0])
            self.add(
                "incremental",
                f"feature {self.columns[col]!r}",
                row,
                f"full frame {float(mine[0, col])!r} != {label} {float(got[0, col])!r}",
            )
            return False
        self.compare_decisions("incremental", other, row - first, row, label)
        return True

    def check_mask(self, warmup: int) -> int:
        early = np.flatnonzero(self.mask[: warmup - 1])
        if len(early):
            self.add("signal mask", "signal_mask", int(early[0]), "True during warm-up")
        checked = 0
        for row in np.flatnonzero(~self.mask):
            if self.full_stop:
                break
            bar = self.bar(int(row))
            checked += 1
            for position in self.positions(bar):
                decision: Decision = self.full.decide(int(row), bar, position)
                if decision != HOLD:
                    held = "flat" if position is None else position.side.value
                    self.add(
                        "signal mask",
                        f"decision ({held})",
                        int(row),
                        f"signal_mask is False but decide returned {decision}",
                    )
                    break
        return checked


def _sample_rows(
    mask: BoolArray, first: int, *, samples: int, tail: int, signals: int
) -> list[int]:
    n = len(mask)
    if first >= n:
        return []
    rows = {first, *range(max(first, n - tail), n)}
    rows.update(int(r) for r in np.linspace(first, n - 1, num=min(samples, n - first)).round())
    hits = np.flatnonzero(mask[first:]) + first
    if len(hits) and signals:
        picks = np.linspace(0, len(hits) - 1, num=min(signals, len(hits))).round().astype(int)
        rows.update(int(hits[p]) for p in picks)
    return sorted(rows)


def check_strategy(
    factory: Callable[[], Strategy],
    frame: pd.DataFrame,
    *,
    samples: int = 40,
    tail: int = 3,
    signal_samples: int = 20,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    max_findings: int = 10,
) -> BiasReport:
    """Run the bias check (module docstring) and return its report.

    `factory()` must build a fresh, unprepared strategy each call. Features are compared with
    `|a − b| <= atol + rtol·|b|` (NaN equals NaN; `rtol=atol=0` demands bit-identical values —
    the built-ins pass that); decisions and the signal mask must match exactly.
    """
    check_frame(frame, "bias check")
    full = factory()
    warmup = full.warmup
    n = len(frame)
    if warmup < 1:
        raise StrategyError(f"{full.name}: warmup must be >= 1, got {warmup}")
    if n < warmup:
        raise StrategyError(f"bias check needs at least warmup = {warmup} bars, got {n}")
    full.prepare(frame)
    features = full.features()
    mask = np.asarray(full.signal_mask())
    findings: list[BiasFinding] = []
    if not features.index.equals(frame.index) or mask.shape != (n,) or mask.dtype != np.bool_:
        detail = "features must be indexed like the frame and signal_mask a bool array per bar"
        findings.append(BiasFinding("contract", "features", 0, None, detail))
        return BiasReport(full.name, n, warmup, 0, 0, 0, 0, tuple(findings))
    checker = _Checker(
        factory=factory,
        frame=frame,
        rtol=rtol,
        atol=atol,
        max_findings=max_findings,
        full=full,
        values=features.to_numpy(dtype=np.float64),
        columns=[str(c) for c in features.columns],
        mask=mask,
        ohlcv=frame[list(OHLCV_COLUMNS)].to_numpy(dtype=np.float64),
        times=[stamp.to_pydatetime() for stamp in pd.DatetimeIndex(frame.index)],
    )
    prefixes = windows = incremental = 0
    for row in _sample_rows(mask, warmup - 1, samples=samples, tail=tail, signals=signal_samples):
        if checker.full_stop:
            break
        prefix = checker.prepared("look-ahead", 0, row)
        if prefix is not None:
            prefixes += 1
            if checker.compare_rows("look-ahead", prefix, 0, slice(0, row + 1), "prefix"):
                checker.compare_decisions("look-ahead", prefix, row, row, "prefix")
        first = row - warmup + 1
        window = checker.prepared("history", first, row)
        if window is not None:
            windows += 1
            last = slice(warmup - 1, warmup)
            label = f"{warmup}-bar window"
            if checker.compare_rows("history", window, first, last, label):
                checker.compare_decisions("history", window, warmup - 1, row, label)
        # The live fast path, on the warm-up window and on the whole prefix.
        if checker.compare_incremental(first, row) and checker.compare_incremental(0, row):
            incremental += 1
    masked = 0 if checker.full_stop else checker.check_mask(warmup)
    return BiasReport(
        strategy=full.name,
        bars=n,
        warmup=warmup,
        prefixes_checked=prefixes,
        windows_checked=windows,
        decisions_checked=checker.decisions,
        mask_bars_checked=masked,
        findings=tuple(checker.findings),
        incremental_checked=incremental,
    )
