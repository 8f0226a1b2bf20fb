"""Overfitting statistics for a parameter search: the deflated Sharpe ratio and the probability
of backtest overfitting. Pure functions of numbers and arrays; nothing here runs a backtest.

A search that tries many parameter sets and keeps the best one reports a Sharpe ratio that is
inflated by the search itself: the best of N lucky draws looks good even when every draw has no
edge. The two statistics below measure how much of the winner's result survives that selection.

Units. Every Sharpe ratio in this module is **per observation** (per bar): mean / standard
deviation of the per-bar returns, *not* annualised. To use an annualised figure, divide it by
√(observations per year), and divide an annualised variance of Sharpe ratios by the number of
observations per year (the paper's example does exactly this with 250 trading days).

Deflated Sharpe ratio (DSR)
---------------------------
Bailey, D. H. and López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for
Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5),
94-107.

Inputs: SR, the Sharpe ratio of the selected (best) trial; T, the number of returns it was
measured on; γ₃ and γ₄, the skewness and the (non-excess, normal = 3) kurtosis of those
returns; N, the number of independent trials of the search; V, the variance of the Sharpe
ratios across those trials.

- Expected maximum Sharpe ratio of N independent trials whose true Sharpe ratio is 0
  (γ the Euler–Mascheroni constant, Φ⁻¹ the standard normal quantile, e Euler's number):

      SR₀ = √V · ((1 − γ) · Φ⁻¹(1 − 1/N) + γ · Φ⁻¹(1 − 1/(N·e)))

- Probabilistic Sharpe ratio, the probability that the true Sharpe ratio exceeds a benchmark
  SR* given the estimate SR (Φ the standard normal distribution function):

      PSR(SR*) = Φ( (SR − SR*) · √(T − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4 · SR²) )

- Deflated Sharpe ratio: the PSR against the Sharpe ratio that luck alone would have produced,

      DSR = PSR(SR₀)

  DSR is a probability: 0.95 or more means the selected trial's Sharpe ratio is significant at
  the 5 % level after the search, the length of the record and the shape of the returns are
  accounted for.

Probability of backtest overfitting (PBO) by combinatorially symmetric cross-validation (CSCV)
-----------------------------------------------------------------------------------------------
Bailey, D. H., Borwein, J. M., López de Prado, M. and Zhu, Q. J. (2017), "The Probability of
Backtest Overfitting", Journal of Computational Finance 20(4), 39-69 (working paper 2015).

Input: a T × N matrix M of per-period returns, one column per trial of the search, the rows in
time order. The rows are split into S contiguous blocks of equal length (S even). Each of the
C(S, S/2) ways to pick S/2 blocks gives an in-sample set J (those blocks, in time order) and an
out-of-sample set J̄ (the other S/2 blocks). For each:

1. score every trial on J and on J̄ with the performance metric (the Sharpe ratio by default);
2. n* = the trial with the best in-sample score;
3. ω̄ = rank of n* among the out-of-sample scores / (N + 1), ranks 1 … N from worst to best;
4. λ = ln(ω̄ / (1 − ω̄)), the logit: λ > 0 when n* is in the better half out of sample.

      PBO = (number of combinations with λ ≤ 0) / C(S, S/2)

PBO estimates the probability that the configuration chosen in sample performs no better than
the median configuration out of sample. Below 0.5 the selection carries information; near or
above 0.5 the search is fitting noise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from statistics import NormalDist

import attrs
import numpy as np
import numpy.typing as npt

__all__ = [
    "DeflatedSharpe",
    "PboResult",
    "PerformanceMetric",
    "column_sharpe",
    "deflated_sharpe",
    "deflated_sharpe_of_returns",
    "expected_max_sharpe",
    "probabilistic_sharpe",
    "probability_of_backtest_overfitting",
]

FloatArray = npt.NDArray[np.float64]

PerformanceMetric = Callable[[FloatArray], FloatArray]
"""Scores every trial of a (periods × trials) block of returns: returns one value per trial,
higher is better. ±inf is allowed, NaN is not."""

_EULER_MASCHERONI = 0.5772156649015329
_STANDARD_NORMAL = NormalDist()


@attrs.frozen(slots=True, kw_only=True)
class DeflatedSharpe:
    """The deflated Sharpe ratio of a search's best trial, with the inputs it was computed from.

    Sharpe ratios and their variance are per observation (not annualised).
    """

    sharpe: float
    """Sharpe ratio of the best trial's returns: mean / std (ddof=1)."""
    observations: int
    """Number of returns T the Sharpe ratio was measured on."""
    skewness: float
    """Skewness γ₃ of the returns (population moments)."""
    kurtosis: float
    """Kurtosis γ₄ of the returns (population moments, non-excess: 3 for a normal)."""
    trials: int
    """Number of trials N of the search."""
    sharpe_variance: float
    """Variance V of the trials' Sharpe ratios (ddof=1)."""
    benchmark: float
    """SR₀: the expected maximum Sharpe ratio of N trials without an edge."""
    value: float
    """DSR = PSR(SR₀), a probability in [0, 1]."""


@attrs.frozen(slots=True, kw_only=True)
class PboResult:
    """The probability of backtest overfitting and the per-combination logits behind it."""

    pbo: float
    """Fraction of the combinations whose logit is ≤ 0, in [0, 1]."""
    logits: tuple[float, ...]
    """λ of each combination, in the order of `itertools.combinations(range(S), S // 2)`."""
    combinations: int
    """C(S, S/2): the number of in-sample / out-of-sample splits evaluated."""
    partitions: int
    """S, the number of contiguous blocks."""
    trials: int
    """N, the number of columns (trials) of the performance matrix."""
    observations: int
    """Rows used: S × (T // S)."""
    dropped_rows: int
    """T mod S leading (oldest) rows left out so that the blocks have equal length."""


def expected_max_sharpe(trials: int, sharpe_variance: float) -> float:
    """Expected maximum Sharpe ratio among `trials` independent trials whose true Sharpe ratio
    is 0 and whose estimated Sharpe ratios have variance `sharpe_variance`:
    √V · ((1 − γ) · Φ⁻¹(1 − 1/N) + γ · Φ⁻¹(1 − 1/(N·e))).

    The result is in the units of √`sharpe_variance` (per observation in this module). With one
    trial nothing was selected, so the expected maximum is the expected value itself, 0 (the
    formula does not apply there: Φ⁻¹(0) is −∞).

    Raises `ValueError` when `trials` < 1 or `sharpe_variance` is negative or not finite.
    """
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    _require_finite("sharpe_variance", sharpe_variance)
    if sharpe_variance < 0.0:
        raise ValueError(f"sharpe_variance must not be negative, got {sharpe_variance}")
    if trials == 1:
        return 0.0
    # Φ⁻¹(1 − p) = −Φ⁻¹(p): the tail form avoids rounding 1 − 1/N towards 1 for large N.
    upper_quantile = -_STANDARD_NORMAL.inv_cdf(1.0 / trials)
    upper_quantile_of_e_trials = -_STANDARD_NORMAL.inv_cdf(1.0 / (trials * math.e))
    expected_max_z = (
        1.0 - _EULER_MASCHERONI
    ) * upper_quantile + _EULER_MASCHERONI * upper_quantile_of_e_trials
    return math.sqrt(sharpe_variance) * expected_max_z


def probabilistic_sharpe(
    sharpe: float, benchmark: float, observations: int, skewness: float, kurtosis: float
) -> float:
    """Probability that the true Sharpe ratio exceeds `benchmark`, given the estimate `sharpe`
    measured on `observations` returns with the given skewness and (non-excess) kurtosis:
    Φ((SR − SR*) · √(T − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4 · SR²)).

    `sharpe` and `benchmark` are per observation (not annualised); `kurtosis` is 3 for normal
    returns.

    Raises `ValueError` when `observations` < 2, an input is not finite, or the variance term
    1 − γ₃·SR + (γ₄ − 1)/4 · SR² is not positive.
    """
    if observations < 2:
        raise ValueError(f"observations must be at least 2, got {observations}")
    _require_finite("sharpe", sharpe)
    _require_finite("benchmark", benchmark)
    _require_finite("skewness", skewness)
    _require_finite("kurtosis", kurtosis)
    variance_term = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not variance_term > 0.0:
        raise ValueError(
            "the PSR denominator 1 − skewness·sharpe + (kurtosis − 1)/4·sharpe² must be "
            f"positive, got {variance_term} (sharpe={sharpe}, skewness={skewness}, "
            f"kurtosis={kurtosis})"
        )
    z_score = (sharpe - benchmark) * math.sqrt(observations - 1) / math.sqrt(variance_term)
    return _STANDARD_NORMAL.cdf(z_score)


def deflated_sharpe(
    sharpe: float,
    *,
    trials: int,
    sharpe_variance: float,
    observations: int,
    skewness: float,
    kurtosis: float,
) -> float:
    """The deflated Sharpe ratio: `probabilistic_sharpe` against the benchmark
    `expected_max_sharpe(trials, sharpe_variance)`.

    All Sharpe ratios and `sharpe_variance` are per observation (not annualised); `kurtosis` is
    non-excess. Raises `ValueError` on the inputs those two functions refuse.
    """
    benchmark = expected_max_sharpe(trials, sharpe_variance)
    return probabilistic_sharpe(sharpe, benchmark, observations, skewness, kurtosis)


def deflated_sharpe_of_returns(
    returns: npt.ArrayLike, trial_sharpes: npt.ArrayLike
) -> DeflatedSharpe:
    """The deflated Sharpe ratio of the best trial from its per-bar `returns` and the per-bar
    Sharpe ratios of every trial of the search (`trial_sharpes`, the best one included; the
    number of trials is their count).

    From `returns`: SR = mean / std with ddof=1, T = their count, and the skewness m₃ / m₂^1.5
    and non-excess kurtosis m₄ / m₂² with population moments mₖ = mean((r − r̄)ᵏ).

    The variance of `trial_sharpes` uses ddof=1: the trials are a sample of the Sharpe ratios
    the search space can produce and V is the variance of that distribution, which the
    population form (ddof=0) underestimates, most with few trials — and a smaller V lowers the
    benchmark and flatters the result. `trial_sharpes` should be computed the same way as SR
    here (per bar, mean / std with ddof=1).

    Raises `ValueError` when `returns` is not one-dimensional, has fewer than 2 values, holds a
    non-finite value or has zero variance; when `trial_sharpes` is not one-dimensional, has fewer
    than 2 values (the variance needs two; with a single trial use `probabilistic_sharpe` with
    benchmark 0) or holds a non-finite value; and on the inputs `deflated_sharpe` refuses.
    """
    series = np.asarray(returns, dtype=np.float64)
    if series.ndim != 1:
        raise ValueError(f"returns must be one-dimensional, got {series.ndim} dimension(s)")
    if series.size < 2:
        raise ValueError(f"returns must hold at least 2 values, got {series.size}")
    _require_all_finite("returns", series)
    deviations = series - series.mean()
    second_moment = float(np.mean(deviations**2))
    if second_moment == 0.0:
        raise ValueError(
            "returns have zero variance: their Sharpe ratio, skewness and kurtosis are undefined"
        )
    sharpes = np.asarray(trial_sharpes, dtype=np.float64)
    if sharpes.ndim != 1:
        raise ValueError(f"trial_sharpes must be one-dimensional, got {sharpes.ndim} dimension(s)")
    if sharpes.size < 2:
        raise ValueError(
            f"trial_sharpes must hold at least 2 values to estimate their variance, got "
            f"{sharpes.size}; with a single trial use probabilistic_sharpe with benchmark 0"
        )
    _require_all_finite("trial_sharpes", sharpes)

    sharpe = float(series.mean() / series.std(ddof=1))
    skewness = float(np.mean(deviations**3)) / second_moment**1.5
    kurtosis = float(np.mean(deviations**4)) / second_moment**2
    trials = int(sharpes.size)
    sharpe_variance = float(sharpes.var(ddof=1))
    benchmark = expected_max_sharpe(trials, sharpe_variance)
    value = probabilistic_sharpe(sharpe, benchmark, int(series.size), skewness, kurtosis)
    return DeflatedSharpe(
        sharpe=sharpe,
        observations=int(series.size),
        skewness=skewness,
        kurtosis=kurtosis,
        trials=trials,
        sharpe_variance=sharpe_variance,
        benchmark=benchmark,
        value=value,
    )


def probability_of_backtest_overfitting(
    performance: npt.ArrayLike,
    partitions: int = 16,
    metric: PerformanceMetric | None = None,
) -> PboResult:
    """The probability of backtest overfitting of a search, by combinatorially symmetric
    cross-validation (see the module docstring for the method).

    `performance` is a (T, N) array: row t, column n is the return of trial n in period t, rows
    in time order. The rows are cut into `partitions` (S) contiguous blocks of T // S rows; the
    T mod S **leading** (oldest) rows are dropped, so the most recent history is always used.

    `metric` scores every column of a (t, N) block, higher is better. The default is the
    per-column Sharpe ratio mean / std (ddof=1); a column with exactly zero std scores +inf when
    its mean is positive, −inf when negative and 0 when zero (a riskless gain beats any risky
    one, and a flat column is neither good nor bad). The default needs at least 2 rows in each
    half, i.e. (T // S) · S/2 ≥ 2.

    Trials are ordered by score, and among equal scores the lower column index counts as the
    better one. The in-sample best is the top of that order (ties: the lowest column index
    wins); the out-of-sample rank counts from the bottom of it (1 = worst, N = best), so a
    chosen trial tied out of sample with higher-indexed trials ranks above them. Combinations
    are visited in `itertools.combinations` order; the same input gives bit-identical output.

    Raises `ValueError` when `performance` is not two-dimensional, holds a non-finite value,
    has fewer than 2 columns or fewer rows than `partitions`; when `partitions` is odd or < 2;
    when the default metric lacks rows; or when `metric` returns the wrong shape or NaN.
    """
    if partitions < 2 or partitions % 2 != 0:
        raise ValueError(f"partitions must be an even number of at least 2, got {partitions}")
    matrix = np.asarray(performance, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(
            f"performance must be two-dimensional (periods × trials), got {matrix.ndim} "
            "dimension(s)"
        )
    rows, trials = matrix.shape
    if trials < 2:
        raise ValueError(f"performance must have at least 2 trials (columns), got {trials}")
    if rows < partitions:
        raise ValueError(
            f"performance has {rows} rows, fewer than the {partitions} partitions: each "
            "partition needs at least one row"
        )
    _require_all_finite("performance", matrix)
    half = partitions // 2
    block_rows = rows // partitions
    if metric is None and block_rows * half < 2:
        raise ValueError(
            f"the default Sharpe metric needs at least 2 rows per half, got {block_rows * half} "
            f"({rows} rows in {partitions} partitions); give more rows or fewer partitions"
        )
    dropped_rows = rows - block_rows * partitions
    blocks = matrix[dropped_rows:].reshape(partitions, block_rows, trials)
    combinations = list(itertools.combinations(range(partitions), half))
    if metric is None:
        ranks = _sharpe_ranks(blocks, combinations)
    else:
        ranks = [_rank(metric, blocks, in_sample_blocks) for in_sample_blocks in combinations]
    # ω̄ / (1 − ω̄) with ω̄ = rank / (N + 1) simplifies to rank / (N + 1 − rank).
    logits = [math.log(rank / (trials + 1 - rank)) for rank in ranks]
    # λ ≤ 0 ⇔ ω̄ ≤ 1/2 ⇔ 2·rank ≤ N + 1, decided in integers so rounding cannot flip it.
    overfit_combinations = sum(1 for rank in ranks if 2 * rank <= trials + 1)

    return PboResult(
        pbo=overfit_combinations / len(logits),
        logits=tuple(logits),
        combinations=len(logits),
        partitions=partitions,
        trials=trials,
        observations=block_rows * partitions,
        dropped_rows=dropped_rows,
    )


def _rank(metric: PerformanceMetric, blocks: FloatArray, in_sample_blocks: tuple[int, ...]) -> int:
    """The out-of-sample rank (1 = worst) of the in-sample best trial of one combination."""
    partitions, _rows, trials = blocks.shape
    out_of_sample_blocks = [b for b in range(partitions) if b not in in_sample_blocks]
    in_sample = blocks[list(in_sample_blocks)].reshape(-1, trials)
    out_of_sample = blocks[out_of_sample_blocks].reshape(-1, trials)
    in_sample_scores = _scores(metric, in_sample, trials, "in-sample")
    out_of_sample_scores = _scores(metric, out_of_sample, trials, "out-of-sample")
    chosen = int(np.argmax(in_sample_scores))  # the first maximum: lowest index wins ties
    return _rank_from_worst(out_of_sample_scores, chosen)


_CHUNK = 1024
"""Combinations scored at once by `_sharpe_ranks` (bounds its memory to a few MB per 100
trials)."""


def _sharpe_ranks(blocks: FloatArray, combinations: Sequence[tuple[int, ...]]) -> list[int]:
    """`_rank` with the default Sharpe metric for every combination, from per-block sums: the
    mean and variance of a half are those of its blocks' sums of returns and of squares, so
    each combination costs a matrix product instead of a pass over its rows (12,870
    combinations of 16 blocks × 200 trials: ~0.1 s instead of ~15 s). A block of zero returns
    sums to exactly zero, so a flat half keeps its zero spread and scores as `column_sharpe`
    says."""
    partitions, block_rows, trials = blocks.shape
    sums = blocks.sum(axis=1)
    squares = np.einsum("sbn,sbn->sn", blocks, blocks)
    count = block_rows * (partitions // 2)
    columns = np.arange(trials)
    ranks: list[int] = []
    for start in range(0, len(combinations), _CHUNK):
        chosen_blocks = np.asarray(combinations[start : start + _CHUNK])
        in_sample = np.zeros((len(chosen_blocks), partitions))
        np.put_along_axis(in_sample, chosen_blocks, 1.0, axis=1)
        out_of_sample = 1.0 - in_sample
        in_scores = _sharpe_from_sums(in_sample @ sums, in_sample @ squares, count)
        out_scores = _sharpe_from_sums(out_of_sample @ sums, out_of_sample @ squares, count)
        chosen = np.argmax(in_scores, axis=1)  # the first maximum: lowest index wins ties
        score = np.take_along_axis(out_scores, chosen[:, None], axis=1)
        worse = np.count_nonzero(out_scores < score, axis=1)
        tied_after = np.count_nonzero(
            (out_scores == score) & (columns[None, :] > chosen[:, None]), axis=1
        )
        ranks.extend((1 + worse + tied_after).tolist())
    return ranks


def _sharpe_from_sums(sums: FloatArray, squares: FloatArray, count: int) -> FloatArray:
    """`column_sharpe` of halves given their sums of returns and of squares (`count` rows)."""
    mean = sums / count
    variance = np.maximum(squares - sums * mean, 0.0) / (count - 1)
    std = np.sqrt(variance)
    has_spread = std > 0.0
    riskless = np.where(mean == 0.0, 0.0, np.copysign(np.inf, mean))
    return np.where(has_spread, mean / np.where(has_spread, std, 1.0), riskless)


def column_sharpe(block: FloatArray) -> FloatArray:
    """PBO's default metric: per-column mean / std (ddof=1) of a (t, N) block; a zero std
    gives ±inf by the mean's sign, or 0."""
    mean = block.mean(axis=0)
    std = block.std(axis=0, ddof=1)
    has_spread = std > 0.0
    riskless = np.where(mean == 0.0, 0.0, np.copysign(np.inf, mean))
    return np.where(has_spread, mean / np.where(has_spread, std, 1.0), riskless)


def _scores(
    metric: PerformanceMetric, block: FloatArray, trials: int, sample_name: str
) -> FloatArray:
    """The metric's scores of `block`, checked to be one number per trial and not NaN."""
    scores = np.asarray(metric(block), dtype=np.float64)
    if scores.shape != (trials,):
        raise ValueError(
            f"metric must return one score per trial, shape ({trials},), got shape "
            f"{scores.shape} for the {sample_name} block"
        )
    if np.isnan(scores).any():
        columns = [int(c) for c in np.flatnonzero(np.isnan(scores))]
        raise ValueError(
            f"metric returned NaN for trial column(s) {columns} of the {sample_name} block"
        )
    return scores


def _rank_from_worst(scores: FloatArray, trial: int) -> int:
    """1-based rank of `trial` from the worst (1) to the best (N); equal scores rank a lower
    column index above a higher one."""
    score = scores[trial]
    worse = int(np.count_nonzero(scores < score))
    tied_and_higher_index = int(np.count_nonzero(scores[trial + 1 :] == score))
    return 1 + worse + tied_and_higher_index


def _require_finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")


def _require_all_finite(name: str, values: FloatArray) -> None:
    if not np.isfinite(values).all():
        position = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
        raise ValueError(
            f"{name} must hold finite values only, got {values[position]} at index {position}"
        )
