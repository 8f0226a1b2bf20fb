"""`atb sandbox FILE` as a user runs it: it prints its address and sandbox-only credentials,
accepts signed orders from ccxt with them, serves closed candles to `atb`'s own client, and
ends on Ctrl-C with a summary — in a pipe and in a terminal."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import ccxt
import httpx
import pytest

from atb.data.binance import BinanceClient
from atb.data.loading import load_candles
from atb.venues.ccxt_binance import binance_client
from tests.support.cli import ATB, ROOT, run_atb
from tests.support.terminal import run_in_terminal, strip_escapes

_ADDRESS = re.compile(r"on (http://127\.0\.0\.1:\d+): (\d+) bars to replay")
_CREDENTIALS = re.compile(r"export ATB_API_KEY=(\w+) ATB_API_SECRET=(\w+)")


@pytest.fixture
def candles_file(tmp_path: Path) -> Path:
    path = tmp_path / "btcusdt_1h.csv"
    frame = load_candles("DEMO", "1h", "2025-03-01", "2025-04-01", allow_network=False).frame
    frame.to_csv(path)
    return path


def test_the_sandbox_trades_with_ccxt_and_stops_on_ctrl_c(candles_file: Path) -> None:
    process = subprocess.Popen(
        [str(ATB), "sandbox", str(candles_file), "--symbol", "BTCUSDT", "--speed", "60",
         "--balance", "USDT=5000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        address = _ADDRESS.search(lines[0])
        credentials = _CREDENTIALS.search(lines[1])
        assert address is not None, lines
        assert credentials is not None, lines
        url = address.group(1)
        assert int(address.group(2)) == 744 - 200
        client = binance_client(url, api_key=credentials.group(1), secret=credentials.group(2))
        usdt = client.fetch_balance()["USDT"]
        assert usdt == {"free": 5000.0, "used": 0.0, "total": 5000.0}
        bought = client.create_order("BTC/USDT", "market", "buy", 0.01)
        assert bought["status"] == "closed"
        with pytest.raises(ccxt.AuthenticationError):
            binance_client(url, api_key=credentials.group(1), secret="guess").fetch_balance()
        with BinanceClient(url) as data:
            closed = data.fetch_klines("BTCUSDT", "1h", 0, data.server_time_ms())
        assert len(closed) == 200  # the history; the replay has only just begun
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "sandbox stopped: 1 fill(s); balances BTC 0.00999" in out
    assert credentials.group(2) not in err


def test_the_sandbox_in_a_terminal(candles_file: Path) -> None:
    run = run_in_terminal(
        ["timeout", "-s", "INT", "3", str(ATB), "sandbox", str(candles_file), "--symbol",
         "BTCUSDT"],
        timeout=30,
    )  # fmt: skip
    screen = strip_escapes(run.raw)
    assert run.exit_code == 124  # `timeout` ended it with SIGINT, as Ctrl-C would
    assert "sandbox BTCUSDT 1h on http://127.0.0.1:" in screen
    assert "544 bars to replay from 2025-03-09 08:00 UTC at 3600x" in screen
    assert "sandbox stopped: 0 fill(s); balances BTC 0, USDT 10000" in screen
    assert "Traceback" not in screen


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--balance", "USDT", "error: --balance 'USDT': expected ASSET=AMOUNT with an amount >= 0"),
        ("--faults", "429=0.5,503=1", "error: --faults '503=1': expected FAULT=RATE with FAULT one "
         "of 429, 418, 500, hang, hang-after"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_in_one_line(
    candles_file: Path, option: str, value: str, message: str
) -> None:
    done = run_atb("sandbox", str(candles_file), "--symbol", "BTCUSDT", option, value)
    assert done.returncode == 2
    assert done.stderr.strip() == message


def test_credentials_from_the_environment_are_used_and_never_printed(candles_file: Path) -> None:
    secret = "my-rehearsal-secret-0123456789"
    environment = {**os.environ, "ATB_API_KEY": "rehearsal-key", "ATB_API_SECRET": secret}
    process = subprocess.Popen(
        [str(ATB), "sandbox", str(candles_file), "--symbol", "BTCUSDT"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        # Read both opening lines here: communicate() would skip what readline() buffered.
        first = process.stdout.readline() + process.stdout.readline()
        address = _ADDRESS.search(first)
        assert address is not None, first
        client = binance_client(address.group(1), api_key="rehearsal-key", secret=secret)
        assert client.fetch_balance()["USDT"] == {"free": 10000.0, "used": 0.0, "total": 10000.0}
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "credentials from ATB_API_KEY / ATB_API_SECRET" in first + out
    assert secret not in first + out + err


def test_a_port_in_use_is_refused_in_one_line(candles_file: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_atb("sandbox", str(candles_file), "--symbol", "BTCUSDT", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: --port {port}: cannot listen on 127.0.0.1: Address already in use"
    )


def test_lockstep_and_a_skewed_request_clock(candles_file: Path) -> None:
    process = subprocess.Popen(
        [str(ATB), "sandbox", str(candles_file), "--symbol", "BTCUSDT", "--lockstep",
         "--clock-skew", "60000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        address = _ADDRESS.search(lines[0])
        credentials = _CREDENTIALS.search(lines[1])
        assert address is not None, lines
        assert credentials is not None, lines
        assert lines[0].endswith(
            "from 2025-03-09 08:00 UTC in lockstep with klines requests, "
            "request clock skewed +60000 ms\n"
        )
        url = address.group(1)
        start = 1_741_507_200_000  # 2025-03-09 08:00 UTC: bar 200, forming
        params = {"symbol": "BTCUSDT", "interval": "1h", "startTime": str(start)}
        with httpx.Client(base_url=url) as http:
            assert http.get("/api/v3/time").json() == {"serverTime": start}
            assert http.get("/api/v3/klines", params=params).json() == []
            (row,) = http.get("/api/v3/klines", params=params).json()
            assert http.get("/api/v3/time").json() == {"serverTime": start + 3_600_000}
        assert row[0] == start
        client = binance_client(url, api_key=credentials.group(1), secret=credentials.group(2))
        with pytest.raises(ccxt.InvalidNonce, match="outside of the recvWindow"):
            client.fetch_balance()
        client.options["timeDifference"] = -60_000
        assert client.fetch_balance()["USDT"] == {"free": 10000.0, "used": 0.0, "total": 10000.0}
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "sandbox stopped: 0 fill(s)" in out


def test_lockstep_excludes_speed(candles_file: Path) -> None:
    done = run_atb(
        "sandbox", str(candles_file), "--symbol", "BTCUSDT", "--lockstep", "--speed", "60"
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip() == "error: --lockstep and --speed exclude each other: choose one clock"
    )
