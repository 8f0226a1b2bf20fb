"""`atb backtest --rerun result.json`: the run a result file records, rebuilt from it alone.

Strategy, parameters, configuration, the market's rules, the account and the candles' window
come from the file; the candles and the model are loaded again and must be the very ones the
run used (by fingerprint and artifact id), or the rerun is refused with one line.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from atb.config import config_from_dict
from atb.data.candles import ValidatedCandles
from atb.data.instruments import ResolvedInstrument
from atb.data.loading import load_candles
from atb.domain.errors import DataError, StrategyError
from atb.domain.timeframes import parse_timeframe
from atb.engines.backtest import BacktestRequest
from atb.reporting.run_record import RunRecord, read_run_record
from atb.strategies.protocol import ModelBacked, Strategy
from atb.strategies.registry import StrategyContext, get_entry


def rerun_request(
    path: Path, *, model_dir: Path | None, exchange_url: str | None
) -> BacktestRequest:
    """The backtest a result file records, with its candles and model verified."""
    record = read_run_record(path)
    timeframe = parse_timeframe(record.timeframe)
    config = config_from_dict(record.config)
    strategy = _strategy(record, model_dir)
    data_file = None if record.data_file is None else Path(record.data_file)
    candles = load_candles(
        record.symbol,
        timeframe,
        record.start,
        record.end + timeframe.timedelta,
        warmup=record.warmup_bars,
        data_file=data_file,
        exchange_url=exchange_url,
        drop_outliers=record.drop_outliers,
    )
    _same_candles(candles, record.fingerprint, record, "candles")
    # The window is given explicitly now; the notes say how the original run chose it.
    candles = attrs.evolve(candles, notes=record.notes)
    detail = None
    detail_file = None if record.detail_file is None else Path(record.detail_file)
    if record.detail_timeframe is not None and record.detail_fingerprint is not None:
        detail = load_candles(
            record.symbol,
            record.detail_timeframe,
            record.start,
            record.end + timeframe.timedelta,
            data_file=detail_file,
            exchange_url=exchange_url,
            drop_outliers=record.drop_outliers,
        )
        _same_candles(detail, record.detail_fingerprint, record, "detail candles")
    instrument = ResolvedInstrument(
        record.instrument, record.instrument_source, record.instrument_warnings
    )
    return BacktestRequest(
        strategy=strategy,
        candles=candles,
        config=config,
        symbol=record.symbol,
        initial_balance=record.initial_balance,
        close_at_end=record.closed_at_end,
        overlap_allowed=record.overlap_allowed,
        detail=detail,
        instrument=instrument,
        data_file=data_file,
        detail_file=detail_file,
        drop_outliers=record.drop_outliers,
    )


def _strategy(record: RunRecord, model_dir: Path | None) -> Strategy:
    if model_dir is None and record.model_path is not None:
        model_dir = Path(record.model_path).parent
    context = StrategyContext(record.symbol, record.timeframe, model_dir)
    strategy = get_entry(record.strategy).create(dict(record.parameters), context)
    if isinstance(strategy, ModelBacked):
        found = strategy.model_artifact.artifact_id
        if found != record.model_id:
            raise StrategyError(
                f"{record.path}: the run used model {record.model_id}, but "
                f"{strategy.model_artifact.path} is model {found}; point --model-dir at the "
                "run's model"
            )
    return strategy


def _same_candles(
    candles: ValidatedCandles, fingerprint: str, record: RunRecord, what: str
) -> None:
    if candles.fingerprint() != fingerprint:
        raise DataError(
            f"{record.path}: the {what} no longer match the run ({candles.source} has "
            f"fingerprint {candles.fingerprint()[:12]}…, the run used {fingerprint[:12]}…); "
            "the data changed since"
        )
