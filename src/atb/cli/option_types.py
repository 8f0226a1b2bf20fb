"""Typed click options shared by every command, so bad values fail at parse time.

Each type refuses a bad value with click's own one-line `Error: Invalid value for '--opt': …`
(exit 2) before any file is read or written, and each command uses the same type for the same
kind of value: a float is finite, a count of days is positive, a timeframe is one we know, a
path fits the file system's limits. Checks that need two options at once (a detail timeframe
against the bar timeframe) are plain functions here, called once both values are known.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import click

from atb.domain.errors import AtbError, ConfigError
from atb.domain.timeframes import TIMEFRAMES, Timeframe, parse_timeframe

# The usual Linux limits (NAME_MAX, PATH_MAX); the OS reports ENAMETOOLONG past them, which
# would otherwise surface as a traceback from whichever call first touches the path.
_NAME_MAX_BYTES = 255
_PATH_MAX_BYTES = 4095


class FiniteFloat(click.ParamType[float]):
    """A finite float (never nan or ±inf) within optional bounds."""

    name = "float"

    def __init__(
        self,
        *,
        minimum: float | None = None,
        minimum_open: bool = False,
    ) -> None:
        self.minimum = minimum
        self.minimum_open = minimum_open

    def _bound(self) -> str:
        if self.minimum is None:
            return "a finite number"
        relation = ">" if self.minimum_open else ">="
        return f"a finite number {relation} {self.minimum:g}"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """The value as a float, or click's usage error naming the option and the value."""
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(str(value))
            except ValueError:
                self.fail(f"{value!r} is not a number", param, ctx)
        low = self.minimum
        below = low is not None and (number <= low if self.minimum_open else number < low)
        if not math.isfinite(number) or below:
            self.fail(f"{value!r}: must be {self._bound()}", param, ctx)
        return number


POSITIVE = FiniteFloat(minimum=0.0, minimum_open=True)
"""A finite number > 0 (a balance, a price step, a number of seconds to wait)."""

NON_NEGATIVE = FiniteFloat(minimum=0.0)
"""A finite number >= 0 (a minimum order value, a pause that may be zero)."""

POSITIVE_DAYS = click.IntRange(min=1)
"""A whole number of days >= 1."""


class TimeframeType(click.ParamType[str]):
    """A bar length we support (`1m` … `1d`); the value stays the string the user typed."""

    name = "timeframe"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        """The timeframe's name, or click's usage error listing the known ones."""
        text = str(value)
        try:
            parse_timeframe(text)
        except AtbError as error:
            self.fail(str(error), param, ctx)  # "unknown timeframe '7x'; expected one of: …"
        return text


TIMEFRAME = TimeframeType()
"""The shared `--timeframe` / `--detail-timeframe` type."""


class DateTimeType(click.ParamType[str]):
    """A point in time the data layer can read (ISO date or date/time, UTC unless it says
    otherwise); the value stays the string the user typed, for the loader to interpret."""

    name = "datetime"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        """The text as given, or click's usage error naming the option and the value."""
        # Imported here: pandas parses the time, and `atb --help` need not load it.
        from atb.data.times import utc_timestamp

        text = str(value)
        try:
            utc_timestamp(text)
        except AtbError as error:
            self.fail(f"{error} (use an ISO date or date/time, e.g. 2024-06-30)", param, ctx)
        return text


DATETIME = DateTimeType()
"""The shared `--start` / `--end` type."""


class ExchangeUrlType(click.ParamType[str]):
    """An http(s) base URL, checked by the exchange client's own rule before any request."""

    name = "url"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        """The URL as given, or click's usage error saying what a base URL looks like."""
        # Imported here: the exchange client pulls in the HTTP stack, which `atb --help` skips.
        from atb.data.binance import resolve_base_url

        text = str(value)
        try:
            resolve_base_url(text)
        except AtbError as error:
            self.fail(str(error), param, ctx)
        return text


EXCHANGE_URL = ExchangeUrlType()
"""The shared `--exchange-url` type."""


class BoundedPath(click.ParamType[Path]):
    """A `click.Path` check that first refuses a path too long for the file system to name."""

    name = "path"

    def __init__(self, *, file_okay: bool = True, dir_okay: bool = True) -> None:
        self._inner = click.Path(path_type=Path, file_okay=file_okay, dir_okay=dir_okay)
        self.name = self._inner.name

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Path:
        """The path, or click's usage error when it is too long or of the wrong kind."""
        if isinstance(value, Path):
            return value  # already converted (a default, or click converting twice)
        text = os.fsencode(str(value))
        longest = max((len(part) for part in text.split(b"/")), default=0)
        if len(text) > _PATH_MAX_BYTES or longest > _NAME_MAX_BYTES:
            shown = os.fsdecode(text)
            shown = shown if len(shown) <= 60 else f"{shown[:40]}…{shown[-12:]}"
            self.fail(
                f"path {shown!r} is too long ({len(text):,} bytes; the file system allows "
                f"{_PATH_MAX_BYTES:,}, and {_NAME_MAX_BYTES} per name)",
                param,
                ctx,
            )
        return Path(self._inner.convert(str(value), param, ctx))

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[click.shell_completion.CompletionItem]:
        """Complete file or folder names, as `click.Path` does."""
        return self._inner.shell_complete(ctx, param, incomplete)


def file_path() -> BoundedPath:
    """A path option naming a file (a folder there is refused)."""
    return BoundedPath(dir_okay=False)


def folder_path() -> BoundedPath:
    """A path option naming a folder (a file there is refused)."""
    return BoundedPath(file_okay=False)


def check_detail_timeframe(detail: str | None, bars: str | Timeframe, *, option: str) -> None:
    """Refuse a detail timeframe that is not finer than the bars or does not divide them.

    Stops and targets are resolved on the finer candles inside each bar, so a bar must be a
    whole number of them; a coarser or uneven one would silently resolve nothing.
    """
    if detail is None:
        return
    coarse = parse_timeframe(bars)
    try:
        fine = parse_timeframe(detail)
    except AtbError:
        raise ConfigError(
            f"{option} {detail}: unknown timeframe; expected one of: {', '.join(TIMEFRAMES)}"
        ) from None
    if fine.minutes >= coarse.minutes or coarse.minutes % fine.minutes:
        raise ConfigError(
            f"{option} {detail}: must be shorter than the {coarse} bars and divide them evenly "
            f"(e.g. 1m)"
        )
