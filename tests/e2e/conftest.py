"""Fixtures of the end-to-end tests: a real headless Chromium for page tests."""

from __future__ import annotations

from tests.support.browser import chromium

__all__ = ["chromium"]
