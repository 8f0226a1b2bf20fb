"""The import-linter layers contract (pyproject.toml, ADR 0013) holds, and would catch a break.

Both cases run the real `lint-imports` command: once on the source tree, once on a copy of it
in which the domain imports the CLI — a contract that stopped checking would pass that copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(source_root: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(source_root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
        cwd=source_root,
        timeout=120,
        check=False,
    )


def test_the_tree_keeps_the_layers_contract() -> None:
    run = _lint_imports(ROOT / "src", ROOT / "pyproject.toml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Layers: imports point down the tree KEPT" in run.stdout
    assert "1 kept, 0 broken" in run.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "atb", source / "atb", ignore=shutil.ignore_patterns("*.pyc"))
    errors = source / "atb" / "domain" / "errors.py"
    errors.write_text(errors.read_text() + "\nimport atb.cli.main  # an upward import\n")
    config = tmp_path / "pyproject.toml"
    shutil.copy(ROOT / "pyproject.toml", config)
    run = _lint_imports(source, config)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Layers: imports point down the tree BROKEN" in run.stdout
    assert "atb.domain.errors -> atb.cli.main" in run.stdout
