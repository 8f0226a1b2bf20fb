"""Market data: the candle schema and its validation, files, the local cache, Binance, DEMO.

Engines call `load_candles` (and `days_window` for `--days N`); everything it returns is a
`ValidatedCandles` that went through `validate_candles`. See `docs/concepts/data.md`.
"""

from atb.data.binance import BinanceClient, RetryPolicy, Sleeper, closed_end_ms
from atb.data.cache import CandleCache, default_data_dir
from atb.data.candles import Repairs, ValidatedCandles
from atb.data.demo import DEMO_RANGE, DEMO_SOURCE, DEMO_SYMBOL, demo_candles, is_demo
from atb.data.files import read_candles_file
from atb.data.gaps import Gap, find_gaps
from atb.data.loading import days_window, download_ranges, load_candles, missing_ranges
from atb.data.ranges import TimeRange
from atb.data.schema import INDEX_NAME, OHLCV_COLUMNS, PRICE_COLUMNS
from atb.data.validation import RowNumbers, validate_candles
from atb.domain.timeframes import TIMEFRAMES, Timeframe, parse_timeframe, timeframe_ms

__all__ = [
    "DEMO_RANGE",
    "DEMO_SOURCE",
    "DEMO_SYMBOL",
    "INDEX_NAME",
    "OHLCV_COLUMNS",
    "PRICE_COLUMNS",
    "TIMEFRAMES",
    "BinanceClient",
    "CandleCache",
    "Gap",
    "Repairs",
    "RetryPolicy",
    "RowNumbers",
    "Sleeper",
    "TimeRange",
    "Timeframe",
    "ValidatedCandles",
    "closed_end_ms",
    "days_window",
    "default_data_dir",
    "demo_candles",
    "download_ranges",
    "find_gaps",
    "is_demo",
    "load_candles",
    "missing_ranges",
    "parse_timeframe",
    "read_candles_file",
    "timeframe_ms",
    "validate_candles",
]
