"""The errors the store raises."""

from __future__ import annotations

from atb.domain.errors import AtbError


class StoreError(AtbError):
    """The session store cannot be opened, read or written.

    The message names the database file (or the missing/invalid key, for stored data that does
    not decode). A failed write has been rolled back: nothing of the bar it was recording
    remains in the store.
    """


class StoreVanishedError(StoreError):
    """The store file was deleted or replaced while a writer had it open."""
