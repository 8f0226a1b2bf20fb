"""The text of atb's JSON result files: objects one key per line, records one per line.

`json.dumps(indent=2)` runs the standard library's pure-Python encoder (its C encoder has no
indentation), one Python step per key and value: 0.10-0.13 s for the 1,820 trades of a
million-bar run's `result.json` (0.04 s here), seconds for 180,000. Only the outer objects are
indented; each element of a list of objects (a trade, an event, a trial) is one line written by
the C encoder, and a list of plain values stays on one line. The document is the same JSON, and a
trade reads across one line like a row of `trades.csv`.

    {
      "metrics": {
        "n_trades": 2,
        "sharpe": null
      },
      "trades": [
        {"entry_price": 100.5, "exit_price": 101.0, "reason": "take profit"},
        {"entry_price": 99.0, "exit_price": 98.0, "reason": "stop loss"}
      ],
      "warnings": ["synthetic data"]
    }

Non-finite floats are refused (`ValueError`), as `allow_nan=False` does: a result file holds
`null` for a value that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["json_text"]

_INDENT = "  "

_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": ")).encode


def json_text(document: Mapping[str, Any]) -> str:
    """`document` as the text of a result file (UTF-8 text, final newline)."""
    return "".join(_pieces(document, 0)) + "\n"


def _pieces(value: Any, depth: int) -> Iterator[str]:
    inner = _INDENT * (depth + 1)
    if isinstance(value, Mapping) and value:
        yield "{\n"
        for position, (key, item) in enumerate(value.items()):
            if position:
                yield ",\n"
            yield f"{inner}{_encode(_key(key))}: "
            yield from _pieces(item, depth + 1)
        yield f"\n{_INDENT * depth}}}"
    elif isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
        yield "[\n"
        yield ",\n".join(f"{inner}{_encode(item)}" for item in value)
        yield f"\n{_INDENT * depth}]"
    else:
        yield _encode(value)


def _key(key: object) -> str:
    """An object key as `json.dumps` writes it (a string; numbers, booleans and None spelled
    as JSON spells them)."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return _encode(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
