"""`atb backtest --rerun result.json` of a portfolio: the run the file records, rebuilt from it.

Strategy, parameters, configuration, the account, and per symbol its window, warm-up, file and
market rules come from the file; every symbol's candles and the model are loaded again and must
be the very ones the run used (by fingerprint and artifact id), or the rerun is refused with one
line naming the symbol.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from atb.config import config_from_dict
from atb.data.candles import ValidatedCandles
from atb.data.instruments import ResolvedInstrument
from atb.data.loading import load_candles
from atb.data.portfolio import assemble_portfolio
from atb.domain.errors import DataError, StrategyError
from atb.domain.timeframes import parse_timeframe
from atb.engines.portfolio.backtest import PortfolioRequest
from atb.reporting.portfolio_record import PortfolioRunRecord, read_portfolio_record
from atb.strategies.protocol import ModelBacked, Strategy
from atb.strategies.registry import StrategyContext, get_entry

__all__ = ["portfolio_rerun_request"]


def portfolio_rerun_request(
    path: Path, *, model_dir: Path | None, exchange_url: str | None
) -> PortfolioRequest:
    """The portfolio backtest a result file records, every symbol's candles and the model
    verified."""
    record = read_portfolio_record(path)
    timeframe = parse_timeframe(record.timeframe)
    candles: dict[str, ValidatedCandles] = {}
    instruments: dict[str, ResolvedInstrument] = {}
    files: dict[str, Path] = {}
    strategies: dict[str, Strategy] = {}
    for item in record.symbols:
        data_file = None if item.data_file is None else Path(item.data_file)
        series = load_candles(
            item.symbol,
            timeframe,
            item.start,
            item.end + timeframe.timedelta,
            warmup=item.warmup_bars,
            data_file=data_file,
            exchange_url=exchange_url,
            drop_outliers=item.drop_outliers,
        )
        if series.fingerprint() != item.fingerprint:
            raise DataError(
                f"{path}: {item.symbol}'s candles no longer match the run ({series.source} has "
                f"fingerprint {series.fingerprint()[:12]}…, the run used "
                f"{item.fingerprint[:12]}…); the data changed since"
            )
        candles[item.symbol] = attrs.evolve(series, notes=item.notes)
        instruments[item.symbol] = ResolvedInstrument(
            item.instrument, item.instrument_source, item.instrument_warnings
        )
        if data_file is not None:
            files[item.symbol] = data_file
        strategies[item.symbol] = _strategy(record, item.symbol, item.model_id, model_dir)
    return PortfolioRequest(
        strategies=strategies,
        candles=assemble_portfolio(candles, instruments, files),
        config=config_from_dict(record.config),
        initial_balance=record.initial_balance,
        close_at_end=record.closed_at_end,
        overlap_allowed=record.overlap_allowed,
        drop_outliers=any(item.drop_outliers for item in record.symbols),
    )


def _strategy(
    record: PortfolioRunRecord, symbol: str, model_id: str | None, model_dir: Path | None
) -> Strategy:
    if model_dir is None and record.model_path is not None:
        model_dir = Path(record.model_path).parent
    context = StrategyContext(symbol, record.timeframe, model_dir)
    strategy = get_entry(record.strategy).create(dict(record.parameters), context)
    if isinstance(strategy, ModelBacked) and strategy.model_artifact.artifact_id != model_id:
        raise StrategyError(
            f"{record.path}: {symbol}'s run used model {model_id}, but "
            f"{strategy.model_artifact.path} is model {strategy.model_artifact.artifact_id}; "
            "point --model-dir at the run's model"
        )
    return strategy
