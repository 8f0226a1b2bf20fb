"""atb.persistence: the live engine's crash-safe SQLite session store (docs/concepts/store.md).

`SessionStore` opens a store (one writer, any number of readers) and records each processed bar
in one transaction; `StoreError` is every failure it reports; the records are the typed rows it
returns. The JSON mappers live in `atb.persistence.mappers` and `atb.persistence.mappers_events`.
"""

from __future__ import annotations

from atb.persistence.errors import StoreError
from atb.persistence.records import (
    EquityPoint,
    FillRecord,
    OrderRecord,
    PositionRecord,
    SessionRecord,
)
from atb.persistence.schema import SCHEMA_VERSION
from atb.persistence.store import SessionStore

__all__ = [
    "SCHEMA_VERSION",
    "EquityPoint",
    "FillRecord",
    "OrderRecord",
    "PositionRecord",
    "SessionRecord",
    "SessionStore",
    "StoreError",
]
