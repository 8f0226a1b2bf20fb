"""Docs that run: every Python block of the strategy guide and the README is type-checked with
`mypy --strict` and executed; each strategy class a block defines as a file (`# mypkg/x.py`)
runs through the real CLI by path and by module — the guide's `breakout` also through the bias
check and a parity replay, which must be identical."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from atb.data.loading import load_candles
from tests.support.cli import ATB, ROOT, run_atb
from tests.support.terminal import run_in_terminal, strip_escapes

DOCS = (ROOT / "docs" / "concepts" / "strategies.md", ROOT / "README.md")
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
_FILE_HEADER = re.compile(r"# (\S+\.py)")
_WINDOW = ("--symbol", "DEMO", "--timeframe", "1h", "--days", "60", "--end", "2025-06-01")


def _write_blocks(folder: Path) -> tuple[list[Path], list[Path]]:
    """Write every Python block under `folder`: (strategy files, other snippets)."""
    files: list[Path] = []
    snippets: list[Path] = []
    for doc in DOCS:
        for number, block in enumerate(_BLOCK.findall(doc.read_text())):
            header = _FILE_HEADER.fullmatch(block.splitlines()[0])
            if header is not None:
                target = folder / header.group(1)
                files.append(target)
            else:
                target = folder / f"snippet_{doc.stem.lower()}_{number}.py"
                snippets.append(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block)
    return files, snippets


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], list[Path]]:
    folder = tmp_path_factory.mktemp("docs")
    files, snippets = _write_blocks(folder)
    return folder, files, snippets


def test_the_guide_has_strategy_files_and_snippets(
    written: tuple[Path, list[Path], list[Path]],
) -> None:
    folder, files, snippets = written
    names = sorted(str(path.relative_to(folder)) for path in files)
    assert names == ["mypkg/breakout.py", "mypkg/crossover.py", "mypkg/dip.py"]
    assert len(snippets) >= 1


def test_every_block_passes_mypy_strict(written: tuple[Path, list[Path], list[Path]]) -> None:
    _, files, snippets = written
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "mypy.ini")]
        + [str(path) for path in (*files, *snippets)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success: no issues found in" in checked.stdout


def test_every_snippet_runs(written: tuple[Path, list[Path], list[Path]]) -> None:
    folder, _, snippets = written
    for snippet in snippets:
        ran = subprocess.run(
            [sys.executable, str(snippet)], cwd=folder, capture_output=True, text=True, check=False
        )
        assert ran.returncode == 0, f"{snippet.name}: {ran.stderr}"


def test_the_crossover_fits_in_25_lines(written: tuple[Path, list[Path], list[Path]]) -> None:
    folder, _, _ = written
    lines = (folder / "mypkg" / "crossover.py").read_text().splitlines()
    code = [line for line in lines[1:] if line.strip()]  # the file-name comment is not code
    assert len(code) <= 25


@pytest.mark.parametrize("reference", ["mypkg/crossover.py:Crossover", "mypkg/dip.py:Dip"])
def test_the_other_examples_backtest_by_path(
    written: tuple[Path, list[Path], list[Path]], reference: str
) -> None:
    folder, _, _ = written
    out = folder / reference.replace("/", "_")
    ran = run_atb("backtest", reference, *_WINDOW, "--out", str(out), cwd=folder)
    assert ran.returncode == 0, ran.stderr
    assert reference in ran.stdout
    assert (out / "result.json").is_file()


def test_the_breakout_runs_in_every_command(written: tuple[Path, list[Path], list[Path]]) -> None:
    folder, _, _ = written
    backtest = run_atb(
        "backtest", "mypkg/breakout.py:Breakout", *_WINDOW, "--param", "window=24",
        "--out", str(folder / "out"), cwd=folder,
    )  # fmt: skip
    assert backtest.returncode == 0, backtest.stderr
    trades = re.search(r"Trades\s*[|│]\s*(\d+)", backtest.stdout)
    assert trades is not None, backtest.stdout
    assert int(trades.group(1)) > 0

    checked = run_atb("check-strategy", "mypkg.breakout:Breakout", *_WINDOW, "--exact", cwd=folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "PASS mypkg.breakout:Breakout" in checked.stdout

    candles = load_candles("DEMO", "1h", "2025-03-01", "2025-04-15", allow_network=False)
    data = folder / "candles.csv"
    candles.frame.to_csv(data)
    parity = run_atb(
        "parity", "--data", str(data), "--strategy", "mypkg/breakout.py:Breakout",
        "--symbol", "DEMOCSV", "--timeframe", "1h", "--param", "window=24", cwd=folder,
    )  # fmt: skip
    assert parity.returncode == 0, parity.stdout + parity.stderr
    assert parity.stdout.startswith("identical: session 1,")


def test_a_user_strategy_backtests_in_a_terminal(
    written: tuple[Path, list[Path], list[Path]],
) -> None:
    folder, _, _ = written
    run = run_in_terminal(
        [str(ATB), "backtest", "mypkg/breakout.py:Breakout", *_WINDOW, "--out",
         str(folder / "pty")],
        cwd=folder,
    )  # fmt: skip
    screen = strip_escapes(run.raw)
    assert run.exit_code == 0, screen[-2000:]
    assert "Traceback" not in screen
    assert f"Report: {folder / 'pty' / 'report.html'}" in screen.replace("\n", "")
