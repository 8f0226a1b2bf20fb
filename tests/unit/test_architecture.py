"""The dependency rule (docs/architecture.md), checked on the import statements of every module.

`atb.domain` may import only the standard library and attrs; `atb.managers` adds numpy. Neither
may import pandas, IO or clock-reading modules, nor the outer layers, nor parse configuration
text (`tomllib`, `difflib`, `atb.config`: that is the edge's job).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "atb"

FORBIDDEN_EVERYWHERE_INNER = {
    "pandas",
    "pyarrow",
    "httpx",
    "sqlite3",
    "socket",
    "subprocess",
    "logging",
    "structlog",
    "time",
    "os",
    "io",
    "shutil",
    "pathlib",
    "urllib",
    "http",
    "click",
    "rich",
    "atb.engines",
    "atb.cli",
    "atb.persistence",
    "atb.data",
    "atb.reporting",
    "atb.strategies",
    # Configuration text (`--set`, TOML, did-you-mean) is parsed at the edge, in `atb.config`.
    "atb.config",
    "tomllib",
    "difflib",
}
ALLOWED_THIRD_PARTY = {"domain": {"attrs", "typing_extensions"}, "managers": {"attrs", "numpy"}}
# Parsing (`--set`, TOML files, suggestions) lives at the edge, in `atb.config`: no exceptions.
EXCEPTIONS: dict[str, set[str]] = {}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(layer: str) -> list[Path]:
    return sorted((SRC / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", ["domain", "managers"])
def test_inner_layers_import_nothing_outward(layer: str) -> None:
    import sys

    stdlib = set(sys.stdlib_module_names)
    problems: list[str] = []
    for path in _modules(layer):
        relative = f"{layer}/{path.relative_to(SRC / layer).as_posix()}"
        allowed_extra = EXCEPTIONS.get(relative, set())
        for name in sorted(_imports(path)):
            root = name.split(".")[0]
            if name in allowed_extra or root in allowed_extra:
                continue
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_EVERYWHERE_INNER):
                problems.append(f"{relative} imports {name}")
            elif root == "atb":
                if layer == "domain" and not name.startswith("atb.domain"):
                    problems.append(f"{relative} imports {name}")
            elif root not in stdlib | {"__future__"} | ALLOWED_THIRD_PARTY[layer]:
                problems.append(f"{relative} imports third-party {name}")
    assert problems == []


def test_strategies_parse_no_configuration_text() -> None:
    """Strategies attach typed policy changes; only `atb.config` reads `--set` and TOML."""
    problems = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in _modules("strategies")
        for name in sorted(_imports(path))
        if name.split(".")[0] in {"tomllib", "difflib"} or name.startswith("atb.config")
    ]
    assert problems == []


def test_the_check_catches_a_violation(tmp_path: Path) -> None:
    """The scanner itself works: a module importing pandas is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("import pandas as pd\nfrom atb.engines import backtest\n")
    assert _imports(bad) == {"pandas", "atb.engines"}
