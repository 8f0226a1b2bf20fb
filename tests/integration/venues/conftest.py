"""The running sandbox every venue test talks to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sandbox import Sandbox, running_sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox exchange on 127.0.0.1 (see `tests.support.sandbox`)."""
    yield from running_sandbox()
