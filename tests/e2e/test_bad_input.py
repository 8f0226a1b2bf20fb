"""Bad input through the real `atb`: one line naming the value, exit 2, nothing on disk changed.

Every row runs the installed executable in a subprocess inside a scratch tree (working folder,
data folder, model folder and every file a command may read or write all live under the test's
`tmp_path`), and the whole tree is compared before and after: names, kinds, sizes and
modification times. `docs/concepts/errors.md` states the rule this table enforces.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from atb.reporting.result_files import RESULT_FILE_NAMES
from tests.support.candle_frames import make_candles
from tests.support.cli import run_atb

BT = ("backtest", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h")
"""A backtest of the file `{tmp}/bars.csv` once `--data` is added."""
DEMO = ("backtest", "sma_cross", "--symbol", "DEMO", "--timeframe", "1h")
LIVE = ("live", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading")
PARITY = ("parity", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h")
TRAIN = ("train", "ml_basic", "--symbol", "DEMO", "--timeframe", "1h", "--days", "60")
DATA = ("--data", "{tmp}/bars.csv")
REPLAY = ("--replay", "{tmp}/bars.csv", "--db", "{tmp}/live.sqlite3")
IMPORT = ("import", "{tmp}/bars.csv", "--symbol", "BTCUSDT", "--timeframe", "1h")


@dataclass(frozen=True)
class Case:
    """One bad input: the arguments, the words the error line must contain, where it runs."""

    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    cwd: str = "work"
    env: dict[str, str] = field(default_factory=dict)
    read_only: bool = False
    """Run with `{tmp}/ro` made read-only (even for root, see `read_only_folder`)."""


CASES = [
    # -- output, working, data, model and store folders ----------------------------------------
    Case("out-exists", (*BT, *DATA, "--out", "{tmp}/done"), ("--out", "done", "--force")),
    Case(
        "out-force-foreign",
        (*BT, *DATA, "--out", "{tmp}/mixed", "--force"),
        ("--out", "mixed", "not an atb result"),
    ),
    Case("out-force-no-out", (*BT, *DATA, "--force"), ("--force", "--out")),
    Case("out-is-file", (*BT, *DATA, "--out", "{tmp}/file"), ("--out", "file")),
    Case("out-under-file", (*BT, *DATA, "--out", "{tmp}/file/sub"), ("--out", "file/sub")),
    Case(
        "out-read-only",
        (*BT, *DATA, "--out", "{tmp}/ro/out"),
        ("--out", "ro/out", "cannot write"),
        read_only=True,
    ),
    Case(
        "work-read-only", (*BT, *DATA), ("results", "cannot write", "ro"), cwd="ro", read_only=True
    ),
    Case(
        "data-dir-read-only",
        ("data", "--data-dir", "{tmp}/ro", *IMPORT),
        ("--data-dir", "ro", "cannot write"),
        read_only=True,
    ),
    Case(
        "data-dir-env-read-only",
        ("data", *IMPORT),
        ("data folder", "ro", "cannot write"),
        env={"ATB_DATA_DIR": "{tmp}/ro"},
        read_only=True,
    ),
    Case(
        "data-dir-under-file",
        ("data", "--data-dir", "{tmp}/file/cache", *IMPORT),
        ("--data-dir", "file/cache"),
    ),
    Case(
        "model-dir-read-only",
        (*TRAIN, "--model-dir", "{tmp}/ro/models"),
        ("--model-dir", "ro/models", "cannot write"),
        read_only=True,
    ),
    Case(
        "model-dir-env-read-only",
        TRAIN,
        ("model folder", "ro", "cannot write"),
        env={"ATB_MODEL_DIR": "{tmp}/ro"},
        read_only=True,
    ),
    Case(
        "model-dir-under-file", (*TRAIN, "--model-dir", "{tmp}/file/m"), ("--model-dir", "file/m")
    ),
    Case(
        "db-read-only",
        (*LIVE, "--replay", "{tmp}/bars.csv", "--db", "{tmp}/ro/s.sqlite3"),
        ("ro/s.sqlite3", "not writable"),
        read_only=True,
    ),
    Case(
        "db-under-file",
        (*LIVE, "--replay", "{tmp}/bars.csv", "--db", "{tmp}/file/s.sqlite3"),
        ("file/s.sqlite3", "not a directory"),
    ),
    # -- numbers ---------------------------------------------------------------------------------
    Case("balance-inf", (*BT, *DATA, "--initial-balance", "inf"), ("--initial-balance", "inf")),
    Case(
        "balance-nan-live",
        (*LIVE, *REPLAY, "--initial-balance", "nan"),
        ("--initial-balance", "nan"),
    ),
    Case(
        "balance-negative-parity",
        (*PARITY, *DATA, "--initial-balance", "-5"),
        ("--initial-balance", "-5"),
    ),
    Case("tick-size-zero", (*BT, *DATA, "--tick-size", "0"), ("--tick-size", "0")),
    Case("tick-size-negative", (*BT, *DATA, "--tick-size", "-0.01"), ("--tick-size", "-0.01")),
    Case("tick-size-nan", (*BT, *DATA, "--tick-size", "nan"), ("--tick-size", "nan")),
    Case("lot-step-inf", (*LIVE, *REPLAY, "--lot-step", "inf"), ("--lot-step", "inf")),
    Case("min-notional-inf", (*BT, *DATA, "--min-notional", "inf"), ("--min-notional", "inf")),
    Case(
        "health-port-range", (*LIVE, *REPLAY, "--health-port", "99999"), ("--health-port", "99999")
    ),
    Case(
        "health-port-busy",
        (*LIVE, *REPLAY, "--health-port", "{busy_port}"),
        ("--health-port", "{busy_port}", "in use"),
    ),
    Case("poll-interval-zero", (*LIVE, *REPLAY, "--poll-interval", "0"), ("--poll-interval", "0")),
    Case(
        "poll-interval-negative",
        (*LIVE, *REPLAY, "--poll-interval", "-5"),
        ("--poll-interval", "-5"),
    ),
    Case("pace-negative", (*LIVE, *REPLAY, "--pace", "-1"), ("--pace", "-1")),
    Case("max-store-mb-zero", (*LIVE, *REPLAY, "--max-store-mb", "0"), ("--max-store-mb", "0")),
    Case("stop-timeout-zero", ("live", "stop", "--timeout", "0"), ("--timeout", "0")),
    Case("parity-session-zero", ("parity", "--session", "0"), ("--session", "0")),
    Case(
        "check-samples-zero", ("check-strategy", "sma_cross", "--samples", "0"), ("--samples", "0")
    ),
    # -- time frames and windows -----------------------------------------------------------------
    Case(
        "timeframe-unknown", (*DEMO[:4], "--timeframe", "2x", "--days", "5"), ("--timeframe", "2x")
    ),
    Case("timeframe-unknown-train", (*TRAIN, "--timeframe", "7m"), ("--timeframe", "7m")),
    Case(
        "timeframe-unknown-assumptions", ("assumptions", "--timeframe", "1y"), ("--timeframe", "1y")
    ),
    Case("detail-coarser", (*BT, *DATA, "--detail-timeframe", "4h"), ("--detail-timeframe", "4h")),
    Case(
        "detail-coarser-live",
        (*LIVE, *REPLAY, "--detail-timeframe", "4h"),
        ("--detail-timeframe", "4h"),
    ),
    Case("detail-same", (*BT, *DATA, "--detail-timeframe", "1h"), ("--detail-timeframe", "1h")),
    Case("detail-unknown", (*BT, *DATA, "--detail-timeframe", "7m"), ("--detail-timeframe", "7m")),
    Case(
        "detail-set-coarser",
        (*BT, *DATA, "--set", "fills.detail_timeframe=2h"),
        ("fills.detail_timeframe", "2h"),
    ),
    Case(
        "detail-set-unknown",
        (*BT, *DATA, "--set", "fills.detail_timeframe=45m"),
        ("fills.detail_timeframe", "45m"),
    ),
    Case("days-zero", (*DEMO, "--days", "0"), ("--days", "0")),
    Case("days-negative", ("check-strategy", "sma_cross", "--days", "-3"), ("--days", "-3")),
    Case(
        "download-days-zero",
        ("data", "download", "--symbol", "BTCUSDT", "--timeframe", "1h", "--days", "0"),
        ("--days", "0"),
    ),
    Case(
        "start-after-end",
        (*DEMO, "--start", "2024-03-01", "--end", "2024-02-01"),
        ("2024-02-01", "before", "2024-03-01"),
    ),
    Case("start-unparsable", (*DEMO, "--start", "notadate"), ("--start", "notadate")),
    Case("end-unparsable", (*DEMO, "--days", "5", "--end", "2024-13-45"), ("--end", "2024-13-45")),
    Case("days-and-start", (*DEMO, "--days", "5", "--start", "2024-01-01"), ("--days", "--start")),
    Case(
        "window-shorter-than-warmup",
        (*BT, "--data", "{tmp}/short.csv"),
        ("short.csv", "needs 31 bars"),
    ),
    Case(
        "replay-shorter-than-warmup",
        (*LIVE, "--replay", "{tmp}/short.csv", "--db", "{tmp}/live.sqlite3"),
        ("short.csv", "needs 31 bars"),
    ),
    Case(
        "parity-shorter-than-warmup",
        (*PARITY, "--data", "{tmp}/short.csv"),
        ("short.csv", "needs 31 bars"),
    ),
    Case("window-empty", (*BT, *DATA, "--start", "2030-01-01"), ("2030",)),
    # -- strategy, parameters, configuration -----------------------------------------------------
    Case("strategy-unknown", ("backtest", "nope", *BT[2:], *DATA), ("nope",)),
    Case("param-unknown", (*BT, *DATA, "--param", "fats=3"), ("fats",)),
    Case("param-ill-typed", (*BT, *DATA, "--param", "fast=abc"), ("fast", "abc")),
    Case("param-no-equals", (*BT, *DATA, "--param", "fast"), ("fast",)),
    Case("set-unknown-key", (*BT, *DATA, "--set", "costs.slipage=0"), ("costs.slipage",)),
    Case("set-bad-value", (*BT, *DATA, "--set", "costs.slippage=abc"), ("costs.slippage", "abc")),
    Case("set-out-of-range", (*BT, *DATA, "--set", "risk.max_position=-1"), ("risk.max_position",)),
    Case("set-malformed", (*BT, *DATA, "--set", "costs.slippage"), ("costs.slippage", "key=value")),
    Case(
        "config-unknown-key",
        (*BT, *DATA, "--config", "{tmp}/unknown_key.toml"),
        ("unknown_key.toml", "costs.slipage"),
    ),
    Case(
        "instruments-incomplete",
        (*BT, *DATA, "--instruments", "{tmp}/partial_rules.toml"),
        ("partial_rules.toml", "lot_step"),
    ),
    Case(
        "user-strategy-unimportable",
        ("backtest", "nosuchpkg.module:Thing", *DEMO[2:], "--days", "5"),
        ("nosuchpkg.module:Thing",),
    ),
    Case("config-missing", (*BT, *DATA, "--config", "{tmp}/nope.toml"), ("nope.toml",)),
    Case("config-corrupt", (*BT, *DATA, "--config", "{tmp}/bad.toml"), ("bad.toml", "TOML")),
    Case(
        "config-corrupt-assumptions", ("assumptions", "--config", "{tmp}/bad.toml"), ("bad.toml",)
    ),
    Case("instruments-missing", (*BT, *DATA, "--instruments", "{tmp}/nope.toml"), ("nope.toml",)),
    Case("instruments-corrupt", (*BT, *DATA, "--instruments", "{tmp}/bad.toml"), ("bad.toml",)),
    Case("train-other-strategy", ("train", "sma_cross", "--symbol", "DEMO"), ("sma_cross",)),
    # -- files the commands read -----------------------------------------------------------------
    Case("data-missing", (*BT, "--data", "{tmp}/missing.csv"), ("missing.csv",)),
    Case("data-garbage", (*BT, "--data", "{tmp}/garbage.csv"), ("garbage.csv",)),
    Case("data-garbage-parquet", (*BT, "--data", "{tmp}/garbage.parquet"), ("garbage.parquet",)),
    Case("data-empty", (*BT, "--data", "{tmp}/empty.csv"), ("empty.csv", "empty")),
    Case("data-header-only", (*BT, "--data", "{tmp}/header.csv"), ("header.csv", "no candles")),
    Case("data-nan-price", (*BT, "--data", "{tmp}/nan.csv"), ("nan.csv", "close", "nan")),
    Case(
        "data-other-timeframe",
        (*BT[:4], "--timeframe", "4h", *DATA),
        ("bars.csv", "4h"),
    ),
    Case("data-too-long", (*BT, "--data", "{long}"), ("--data", "too long")),
    Case("out-too-long", (*BT, *DATA, "--out", "{tmp}/{long_name}"), ("--out", "too long")),
    Case("data-is-folder", (*BT, "--data", "{tmp}/done"), ("--data", "done")),
    Case(
        "import-garbage",
        (
            "data",
            "--data-dir",
            "{tmp}/cache",
            "import",
            "{tmp}/garbage.csv",
            "--symbol",
            "BTCUSDT",
            "--timeframe",
            "1h",
        ),
        ("garbage.csv",),
    ),
    Case(
        "import-demo",
        (
            "data",
            "--data-dir",
            "{tmp}/cache",
            "import",
            "{tmp}/bars.csv",
            "--symbol",
            "DEMO",
            "--timeframe",
            "1h",
        ),
        ("DEMO",),
    ),
    Case(
        "replay-missing",
        (*LIVE, "--replay", "{tmp}/nope.csv", "--db", "{tmp}/live.sqlite3"),
        ("nope.csv",),
    ),
    Case("rerun-missing", ("backtest", "--rerun", "{tmp}/nope.json"), ("nope.json",)),
    Case("rerun-garbage", ("backtest", "--rerun", "{tmp}/bad.toml"), ("bad.toml", "JSON")),
    Case(
        "rerun-with-options",
        ("backtest", "--rerun", "{tmp}/bad.toml", "--days", "3"),
        ("--rerun", "--days"),
    ),
    Case(
        "db-not-atb-live",
        (*LIVE, "--replay", "{tmp}/bars.csv", "--db", "{tmp}/notadb.sqlite3"),
        ("notadb.sqlite3", "not an atb store"),
    ),
    Case(
        "db-not-atb-status",
        ("live", "status", "--db", "{tmp}/notadb.sqlite3"),
        ("notadb.sqlite3", "not an atb store"),
    ),
    Case(
        "db-not-atb-parity",
        ("parity", "--db", "{tmp}/notadb.sqlite3"),
        ("notadb.sqlite3", "not an atb store"),
    ),
    Case(
        "db-not-atb-prune",
        ("live", "prune", "--db", "{tmp}/notadb.sqlite3", "--all-stopped"),
        ("notadb.sqlite3", "not an atb store"),
    ),
    Case("db-missing-status", ("live", "status", "--db", "{tmp}/nope.sqlite3"), ("nope.sqlite3",)),
    Case("db-missing-resume", (*LIVE, *REPLAY, "--resume"), ("live.sqlite3", "resume")),
    Case(
        "detail-data-missing",
        (*BT, *DATA, "--detail-timeframe", "15m", "--detail-data", "{tmp}/nope.csv"),
        ("nope.csv",),
    ),
    Case(
        "model-missing", ("backtest", "ml_basic", *DEMO[2:], "--days", "5"), ("ml_basic_DEMO_1h",)
    ),
    Case(
        "data-dir-env-is-file",
        (*DEMO, "--days", "5"),
        ("file",),
        env={"ATB_DATA_DIR": "{tmp}/file"},
    ),
    # -- names and addresses ---------------------------------------------------------------------
    Case(
        "symbol-invalid",
        (*DEMO[:2], "--symbol", "BTC/USDT", *DEMO[4:], "--days", "5"),
        ("BTC/USDT",),
    ),
    Case(
        "exchange-url-no-scheme",
        (*BT, "--days", "3", "--end", "2024-01-10", "--exchange-url", "notaurl"),
        ("--exchange-url", "notaurl"),
    ),
    Case(
        "exchange-url-broken-ipv6",
        (*LIVE, "--db", "{tmp}/live.sqlite3", "--exchange-url", "http://[::1"),
        ("--exchange-url", "http://[::1"),
    ),
    Case(
        "download-bad-end",
        (
            "data",
            "download",
            "--symbol",
            "BTCUSDT",
            "--timeframe",
            "1h",
            "--days",
            "3",
            "--end",
            "garbage",
        ),
        ("--end", "garbage"),
    ),
    Case("live-without-paper", (*LIVE[:-1], *REPLAY), ("--paper-trading",)),
]


def _tree(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every path under `root` (itself included) with its kind, size and modification time."""
    entries: dict[str, tuple[str, int, int]] = {}
    for path in (root, *root.rglob("*")):
        info = path.lstat()
        kind = "dir" if path.is_dir() and not path.is_symlink() else "file"
        entries[str(path.relative_to(root))] = (
            kind,
            info.st_size if kind == "file" else 0,
            info.st_mtime_ns,
        )
    return entries


def _scratch(root: Path) -> None:
    """The files the rows read: candles, broken files, an earlier result, a non-store."""
    (root / "work").mkdir()
    (root / "ro").mkdir()
    make_candles(300).to_csv(root / "bars.csv")
    make_candles(20).to_csv(root / "short.csv")
    (root / "garbage.csv").write_text("this is,not\ncandles\x00at all\n")
    (root / "garbage.parquet").write_bytes(b"not parquet at all")
    (root / "empty.csv").write_bytes(b"")
    (root / "header.csv").write_text("time,open,high,low,close,volume\n")
    holed = make_candles(300)
    holed.loc[holed.index[5], "close"] = float("nan")
    holed.to_csv(root / "nan.csv")
    (root / "unknown_key.toml").write_text("[costs]\nslipage = 0\n")
    (root / "partial_rules.toml").write_text("[BTCUSDT]\ntick_size = 0.01\n")
    (root / "bad.toml").write_text("[[[ not toml\n")
    (root / "notadb.sqlite3").write_text("a text file, not an atb store\n" * 20)
    (root / "file").write_text("a file where a folder would go\n")
    for name, files in (("done", RESULT_FILE_NAMES), ("mixed", (*RESULT_FILE_NAMES, "notes.txt"))):
        (root / name).mkdir()
        for file in files:
            (root / name / file).write_text(f"{file} of an earlier run\n")


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another socket is listening on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def _immutable(folder: Path, on: bool) -> bool:
    """Set or clear the immutable attribute; False when the file system or the user can't."""
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    done = subprocess.run(
        [chattr, "+i" if on else "-i", str(folder)], capture_output=True, check=False
    )
    return done.returncode == 0


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """`tmp_path/ro`, made read-only in a way that also stops root.

    Permission bits do not stop root (these tests often run as root in containers), so root
    gets the immutable attribute instead, a real failure for every writer; where even that is
    not possible the row is skipped with the reason.
    """
    folder = tmp_path / "ro"
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    if not _immutable(folder, on=True):
        pytest.skip("running as root where `chattr +i` fails: no way to make a folder read-only")
    try:
        yield folder
    finally:
        _immutable(folder, on=False)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    case: Case, tmp_path: Path, busy_port: int, request: pytest.FixtureRequest
) -> None:
    _scratch(tmp_path)
    if case.read_only:
        request.getfixturevalue("read_only_folder")
    values = {
        "tmp": str(tmp_path),
        "busy_port": str(busy_port),
        "long": "x" * 5000,
        "long_name": "y" * 300,
    }
    args = [arg.format(**values) for arg in case.args]
    env = {
        "ATB_DATA_DIR": str(tmp_path / "data"),
        "ATB_MODEL_DIR": str(tmp_path / "models"),
        **{key: value.format(**values) for key, value in case.env.items()},
    }
    before = _tree(tmp_path)

    result = run_atb(*args, env=env, cwd=tmp_path / case.cwd, timeout=120)

    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith(("error:", "Error:"))]
    assert len(errors) == 1, result.stderr
    for word in case.expect:
        assert word.format(**values) in errors[0], errors[0]
    assert _tree(tmp_path) == before


def test_force_replaces_an_earlier_result_folder_and_leaves_nothing_beside_it(
    tmp_path: Path,
) -> None:
    _scratch(tmp_path)
    out = tmp_path / "run"
    args = (*BT, "--data", str(tmp_path / "bars.csv"), "--out", str(out))
    first = run_atb(*args, cwd=tmp_path / "work")
    assert first.returncode == 0, first.stderr
    (out / "result.json").write_text("stale")  # the earlier run's file, to see it replaced

    again = run_atb(*args, "--force", cwd=tmp_path / "work")

    assert again.returncode == 0, again.stderr
    assert sorted(path.name for path in out.iterdir()) == sorted(RESULT_FILE_NAMES)
    assert json.loads((out / "result.json").read_text())["strategy"]
    assert not [path.name for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_an_existing_empty_out_folder_is_used(tmp_path: Path) -> None:
    _scratch(tmp_path)
    out = tmp_path / "empty"
    out.mkdir()
    result = run_atb(
        *BT, "--data", str(tmp_path / "bars.csv"), "--out", str(out), cwd=tmp_path / "work"
    )
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in out.iterdir()) == sorted(RESULT_FILE_NAMES)
