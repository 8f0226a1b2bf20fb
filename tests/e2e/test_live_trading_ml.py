"""The issue's rehearsal: `atb live ml_basic … --live-trading` against the local exchange, with
a model trained by `atb train` on the candles before the session, trades through entries,
partial exits, scale-ins, trailing stops and exits; `atb parity --session` finds its decisions
identical to the backtest of the same candles."""

from __future__ import annotations

import collections
from pathlib import Path

from atb.data.bars import frame_from_bars
from atb.domain.events import OrderFilled, StopMoved
from atb.domain.fills import FillKind
from atb.persistence.store import SessionStore
from tests.support.cli import run_atb
from tests.support.rehearsal import demo_bars, rehearsal, run_to_end, start_session

ML_ARGS = (
    "ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h",
    "--set", "trailing.activation_pct=0.006", "--set", "trailing.distance_pct=0.006",
    "--set", "partials.exit_targets=[[0.006,0.25],[0.012,0.25]]",
    "--set", "partials.scale_in_thresholds=[[0.004,0.25]]",
    "--set", "costs.slippage=0",
)  # fmt: skip


def test_ml_basic_trades_every_level_for_real_and_decides_as_its_backtest(tmp_path: Path) -> None:
    models = tmp_path / "models"
    training = tmp_path / "training.csv"
    frame_from_bars(demo_bars(120, start="2024-09-01")).to_csv(training)
    trained = run_atb(
        "train", "ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(training), "--model-dir", str(models),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    db, log = tmp_path / "live.sqlite3", tmp_path / "live.log"
    args = (*ML_ARGS, "--model-dir", str(models))
    with rehearsal(demo_bars(21, start="2025-01-05"), history=120) as staged:
        process = start_session(staged, db, log, strategy=args)
        run_to_end(staged, process, db)
        assert staged.duplicates() == []
    with SessionStore.open(db, read_only=True) as store:
        session = store.latest_session()
        assert session is not None
        events = store.events(session.id)
    kinds = collections.Counter(e.fill.kind for e in events if isinstance(e, OrderFilled))
    assert kinds[FillKind.ENTRY] >= 2
    assert kinds[FillKind.SCALE_IN] >= 1
    assert kinds[FillKind.PARTIAL_EXIT] >= 1
    assert kinds[FillKind.EXIT] >= 2
    assert any(isinstance(e, StopMoved) for e in events)
    parity = run_atb(
        "parity", "--db", str(db), "--session", str(session.id), "--model-dir", str(models)
    )
    assert parity.returncode == 0, parity.stdout + parity.stderr
    assert parity.stdout.startswith("decisions identical: session 1")
    assert "fill quality" in parity.stdout
