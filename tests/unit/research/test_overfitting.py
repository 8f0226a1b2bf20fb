"""Overfitting statistics: the deflated Sharpe ratio against the worked example of Bailey &
López de Prado (2014), and CSCV's probability of backtest overfitting on matrices small enough
to work out every combination by hand."""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from atb.research.overfitting import (
    DeflatedSharpe,
    column_sharpe,
    deflated_sharpe,
    deflated_sharpe_of_returns,
    expected_max_sharpe,
    probabilistic_sharpe,
    probability_of_backtest_overfitting,
)

FloatArray = npt.NDArray[np.float64]

EULER_MASCHERONI = 0.5772156649015329
TOLERANCE = 1e-9


def normal_cdf(z: float) -> float:
    """Φ from the error function: independent of `statistics.NormalDist`, which the code uses."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def column_mean(block: FloatArray) -> FloatArray:
    """A metric whose scores are easy to work out by hand: the mean of every column."""
    return np.asarray(np.mean(block, axis=0), dtype=np.float64)


# --- The deflated Sharpe ratio: the paper's numerical example -----------------------------------
#
# Bailey & López de Prado (2014), "A numerical example": after N = 100 independent trials, the
# best strategy has an annualised Sharpe ratio of 2.5 over 5 years of daily returns (T = 1250,
# 250 a year), skewness −3 and kurtosis 10; the annualised Sharpe ratios of the trials have a
# variance of 1/2. The paper converts to daily units and reports SR₀ ≈ 0.1132 and DSR ≈ 0.9004;
# it then notes that the strategy would have passed at 95 % with N = 46 trials (DSR ≈ 0.9505).

PAPER_SHARPE = 2.5 / math.sqrt(250)  # 0.15811388300841897 per day
PAPER_VARIANCE = 0.5 / 250  # 0.002: a variance scales with the period, a Sharpe ratio with √
PAPER_TRIALS = 100
PAPER_OBSERVATIONS = 1250
PAPER_SKEWNESS = -3.0
PAPER_KURTOSIS = 10.0

# Standard normal quantiles of the example, checked against Φ in the first test below.
QUANTILE_99 = 2.3263478740408408  # Φ⁻¹(1 − 1/100)
QUANTILE_OF_100_E = 2.680210444966887  # Φ⁻¹(1 − 1/(100·e)), 1/(100·e) = 0.0036787944117144
QUANTILE_TWO_THIRDS = 0.43072729929545733  # Φ⁻¹(1 − 1/3)
QUANTILE_OF_3_E = 1.1619569289127327  # Φ⁻¹(1 − 1/(3·e)), 1/(3·e) = 0.12262648039048077


def test_the_quantiles_written_into_these_tests_are_right() -> None:
    assert normal_cdf(QUANTILE_99) == pytest.approx(0.99, abs=1e-15)
    assert normal_cdf(QUANTILE_OF_100_E) == pytest.approx(1 - 1 / (100 * math.e), abs=1e-15)
    assert normal_cdf(QUANTILE_TWO_THIRDS) == pytest.approx(2 / 3, abs=1e-15)
    assert normal_cdf(QUANTILE_OF_3_E) == pytest.approx(1 - 1 / (3 * math.e), abs=1e-15)


def test_expected_max_sharpe_of_the_paper_example() -> None:
    # √0.002 = 0.044721359549995794
    # (1 − γ)·2.3263478740408408 = 0.42278433509846713·2.3263478740408408 = 0.98354343...
    # γ·2.680210444966887 = 0.5772156649015329·2.680210444966887 = 1.54705945...
    # sum 2.53060289..., times √0.002 = 0.11317200186...
    by_hand = math.sqrt(0.002) * (
        (1 - EULER_MASCHERONI) * QUANTILE_99 + EULER_MASCHERONI * QUANTILE_OF_100_E
    )
    assert by_hand == pytest.approx(0.11317200186513214, abs=TOLERANCE)
    benchmark = expected_max_sharpe(PAPER_TRIALS, PAPER_VARIANCE)
    assert benchmark == pytest.approx(by_hand, abs=TOLERANCE)
    assert abs(benchmark - 0.1132) < 0.00005  # the paper's figure, to its 4 decimals


def test_deflated_sharpe_of_the_paper_example() -> None:
    benchmark = 0.11317200186513214  # SR₀, the previous test
    # variance term 1 − γ₃·SR + (γ₄ − 1)/4·SR² = 1 + 3·0.15811388300841897 + 9/4·0.025
    #   = 1 + 0.47434164902525690 + 0.05625 = 1.5305916490252569 (SR² = 2.5²/250 = 0.025)
    variance_term = 1 + 3 * PAPER_SHARPE + 9 / 4 * 0.025
    assert variance_term == pytest.approx(1.5305916490252569, abs=TOLERANCE)
    # z = (0.15811388300841897 − 0.11317200186513214)·√1249 / √1.5305916490252569
    #   = 0.04494188114328683·35.34119409414458 / 1.23717082451... = 1.28381603653...
    z_score = (PAPER_SHARPE - benchmark) * math.sqrt(1249) / math.sqrt(variance_term)
    assert z_score == pytest.approx(1.2838160365336546, abs=TOLERANCE)
    by_hand = normal_cdf(z_score)
    assert by_hand == pytest.approx(0.9003968344493904, abs=TOLERANCE)

    value = deflated_sharpe(
        PAPER_SHARPE,
        trials=PAPER_TRIALS,
        sharpe_variance=PAPER_VARIANCE,
        observations=PAPER_OBSERVATIONS,
        skewness=PAPER_SKEWNESS,
        kurtosis=PAPER_KURTOSIS,
    )
    assert value == pytest.approx(by_hand, abs=TOLERANCE)
    assert abs(value - 0.9004) < 0.00005  # the paper's figure, to its 4 decimals


def test_fewer_trials_in_the_paper_example_pass_at_95_percent() -> None:
    value = deflated_sharpe(
        PAPER_SHARPE,
        trials=46,
        sharpe_variance=PAPER_VARIANCE,
        observations=PAPER_OBSERVATIONS,
        skewness=PAPER_SKEWNESS,
        kurtosis=PAPER_KURTOSIS,
    )
    assert abs(value - 0.9505) < 0.00005  # the figure for N = 46, to 4 decimals
    assert value > 0.95


def test_the_probabilistic_sharpe_of_the_paper_example_against_zero() -> None:
    # Without the search, the benchmark is 0:
    # z = 0.15811388300841897·√1249 / √1.5305916490252569 = 4.51670... ; Φ(z) = 0.99999686...
    z_score = PAPER_SHARPE * math.sqrt(1249) / math.sqrt(1.5305916490252569)
    value = probabilistic_sharpe(
        PAPER_SHARPE, 0.0, PAPER_OBSERVATIONS, PAPER_SKEWNESS, PAPER_KURTOSIS
    )
    assert value == pytest.approx(normal_cdf(z_score), abs=TOLERANCE)
    assert value == pytest.approx(0.9999968595078976, abs=TOLERANCE)


def test_normal_returns_and_an_equal_benchmark_give_one_half() -> None:
    assert probabilistic_sharpe(0.1, 0.1, 500, 0.0, 3.0) == 0.5


def test_one_trial_selects_nothing() -> None:
    assert expected_max_sharpe(1, 0.5) == 0.0
    assert deflated_sharpe(
        0.1, trials=1, sharpe_variance=0.5, observations=100, skewness=0.0, kurtosis=3.0
    ) == probabilistic_sharpe(0.1, 0.0, 100, 0.0, 3.0)


def test_deflated_sharpe_of_returns_works_out_the_moments() -> None:
    # Returns 0.01, 0.02, 0.03, 0.06 (in hundredths: 1, 2, 3, 6): mean 3, deviations −2, −1, 0, 3.
    # m₂ = (4 + 1 + 0 + 9)/4 = 3.5, m₃ = (−8 − 1 + 0 + 27)/4 = 4.5, m₄ = (16 + 1 + 0 + 81)/4 = 24.5
    # skewness = 4.5 / 3.5^1.5 = 0.6872..., kurtosis = 24.5 / 3.5² = 2.0
    # SR = 3 / √(14/3) = 1.38873014965... (std with ddof=1: √(14/3)); scale-free, so the same
    #   in hundredths and in plain fractions.
    # Trial Sharpe ratios 0.25, 0.75, 1.25: mean 0.75, V = (0.25 + 0 + 0.25)/(3 − 1) = 0.25.
    # SR₀ = √0.25·((1 − γ)·Φ⁻¹(2/3) + γ·Φ⁻¹(1 − 1/(3e)))
    returns = np.array([0.01, 0.02, 0.03, 0.06])
    result = deflated_sharpe_of_returns(returns, [0.25, 0.75, 1.25])

    sharpe = 3 / math.sqrt(14 / 3)
    skewness = 4.5 / 3.5**1.5
    benchmark = 0.5 * (
        (1 - EULER_MASCHERONI) * QUANTILE_TWO_THIRDS + EULER_MASCHERONI * QUANTILE_OF_3_E
    )
    z_score = (
        (sharpe - benchmark)
        * math.sqrt(4 - 1)
        / math.sqrt(1 - skewness * sharpe + (2.0 - 1) / 4 * sharpe**2)
    )
    assert isinstance(result, DeflatedSharpe)
    assert result.sharpe == pytest.approx(1.3887301496588271, abs=TOLERANCE)
    assert result.sharpe == pytest.approx(sharpe, abs=TOLERANCE)
    assert result.skewness == pytest.approx(skewness, abs=TOLERANCE)
    assert result.kurtosis == pytest.approx(2.0, abs=TOLERANCE)
    assert result.observations == 4
    assert result.trials == 3
    assert result.sharpe_variance == pytest.approx(0.25, abs=TOLERANCE)
    assert result.benchmark == pytest.approx(benchmark, abs=TOLERANCE)
    assert result.value == pytest.approx(normal_cdf(z_score), abs=TOLERANCE)
    assert result.value == deflated_sharpe(
        result.sharpe,
        trials=3,
        sharpe_variance=result.sharpe_variance,
        observations=4,
        skewness=result.skewness,
        kurtosis=result.kurtosis,
    )


@given(
    sharpe=st.floats(-1.0, 1.0),
    sharpe_variance=st.floats(0.0, 1.0),
    observations=st.integers(2, 10_000),
    skewness=st.floats(-5.0, 5.0),
    kurtosis_above_bound=st.floats(0.1, 20.0),
    fewer_trials=st.integers(1, 1_000_000),
    extra_trials=st.integers(0, 1_000_000),
)
def test_deflated_sharpe_is_a_probability_that_more_trials_do_not_raise(
    *,
    sharpe: float,
    sharpe_variance: float,
    observations: int,
    skewness: float,
    kurtosis_above_bound: float,
    fewer_trials: int,
    extra_trials: int,
) -> None:
    # Any distribution has kurtosis ≥ 1 + skewness², which keeps the PSR denominator positive.
    kurtosis = 1.0 + skewness**2 + kurtosis_above_bound

    def dsr(trials: int) -> float:
        return deflated_sharpe(
            sharpe,
            trials=trials,
            sharpe_variance=sharpe_variance,
            observations=observations,
            skewness=skewness,
            kurtosis=kurtosis,
        )

    few, many = dsr(fewer_trials), dsr(fewer_trials + extra_trials)
    assert 0.0 <= few <= 1.0
    assert 0.0 <= many <= 1.0
    assert many <= few


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: expected_max_sharpe(0, 0.5), "trials must be at least 1, got 0"),
        (lambda: expected_max_sharpe(10, -0.1), "sharpe_variance must not be negative"),
        (lambda: expected_max_sharpe(10, math.nan), "sharpe_variance must be finite"),
        (lambda: expected_max_sharpe(10, math.inf), "sharpe_variance must be finite"),
        (lambda: probabilistic_sharpe(0.1, 0.0, 1, 0.0, 3.0), "observations must be at least 2"),
        (lambda: probabilistic_sharpe(math.nan, 0.0, 10, 0.0, 3.0), "sharpe must be finite"),
        (lambda: probabilistic_sharpe(0.1, math.inf, 10, 0.0, 3.0), "benchmark must be finite"),
        (lambda: probabilistic_sharpe(0.1, 0.0, 10, math.nan, 3.0), "skewness must be finite"),
        (lambda: probabilistic_sharpe(0.1, 0.0, 10, 0.0, -math.inf), "kurtosis must be finite"),
        # 1 − 5·1 + (3 − 1)/4·1 = −3.5
        (lambda: probabilistic_sharpe(1.0, 0.0, 10, 5.0, 3.0), "denominator .* must be positive"),
        (
            lambda: deflated_sharpe(
                0.1, trials=0, sharpe_variance=0.5, observations=10, skewness=0.0, kurtosis=3.0
            ),
            "trials must be at least 1",
        ),
        (lambda: deflated_sharpe_of_returns([0.01], [0.1, 0.2]), "at least 2 values, got 1"),
        (lambda: deflated_sharpe_of_returns([[0.01, 0.02]], [0.1, 0.2]), "one-dimensional"),
        (lambda: deflated_sharpe_of_returns([0.01, math.nan], [0.1, 0.2]), "returns must hold"),
        (lambda: deflated_sharpe_of_returns([0.01, 0.01, 0.01], [0.1, 0.2]), "zero variance"),
        (lambda: deflated_sharpe_of_returns([0.01, 0.02], [0.1]), "trial_sharpes must hold at"),
        (lambda: deflated_sharpe_of_returns([0.01, 0.02], [0.1, math.inf]), "trial_sharpes must"),
    ],
)
def test_bad_sharpe_inputs_are_refused(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --- The probability of backtest overfitting ---------------------------------------------------

# T = 8, N = 3 (columns a, b, c), S = 4 blocks of 2 rows; every block's column means:
#   B0: a 3, b 1, c 2    B1: a 3, b 2, c 1    B2: a 1, b 3, c 2    B3: a 1, b 2, c 3
MIXED = np.array(
    [
        [4.0, 0.0, 2.0],  # B0
        [2.0, 2.0, 2.0],
        [3.0, 2.0, 1.0],  # B1
        [3.0, 2.0, 1.0],
        [0.0, 3.0, 2.0],  # B2
        [2.0, 3.0, 2.0],
        [1.0, 2.0, 4.0],  # B3
        [1.0, 2.0, 2.0],
    ]
)


def test_pbo_of_a_mixed_search_worked_by_hand() -> None:
    # With the column-mean metric a half's score is the average of its two blocks' means.
    # Ranks count from the worst (1) to the best (N = 3); ω̄ = rank / 4; λ = ln(rank / (4 − rank)).
    # in {B0,B1}: a 3, b 1.5, c 1.5 → a. out {B2,B3}: a 1, b 2.5, c 2.5 → a rank 1, λ = ln(1/3)
    # in {B0,B2}: a 2, b 2, c 2, a tie → a (lowest index). out {B1,B3}: a 2, b 2, c 2, a tie in
    #   which a ranks above b and c → rank 3, λ = ln 3
    # in {B0,B3}: a 2, b 1.5, c 2.5 → c. out {B1,B2}: a 2, b 2.5, c 1.5 → c rank 1, λ = ln(1/3)
    # in {B1,B2}: a 2, b 2.5, c 1.5 → b. out {B0,B3}: a 2, b 1.5, c 2.5 → b rank 1, λ = ln(1/3)
    # in {B1,B3}: a 2, b 2, c 2 → a. out {B0,B2}: a 2, b 2, c 2 → a rank 3, λ = ln 3
    # in {B2,B3}: a 1, b 2.5, c 2.5 → b (lower index than c). out {B0,B1}: a 3, b 1.5, c 1.5 →
    #   b ranks above c and below a: rank 2, ω̄ = 1/2, λ = 0, which counts as overfit
    # PBO = 4 of 6 combinations with λ ≤ 0 = 2/3
    result = probability_of_backtest_overfitting(MIXED, partitions=4, metric=column_mean)
    expected = (math.log(1 / 3), math.log(3), math.log(1 / 3), math.log(1 / 3), math.log(3), 0.0)
    assert result.logits == pytest.approx(expected, abs=TOLERANCE)
    assert result.pbo == pytest.approx(2 / 3, abs=TOLERANCE)
    assert result.combinations == 6
    assert (result.partitions, result.trials, result.observations, result.dropped_rows) == (
        4,
        3,
        8,
        0,
    )


# T = 4, N = 2, S = 2; the default Sharpe metric (mean / std with ddof=1; two values x, y have
# std |x − y| / √2):
#   rows 0-1 (B0): a 1, 3 → mean 2, std √2, SR √2 ≈ 1.414;  b 0, 2 → mean 1, SR 1/√2 ≈ 0.707
#   rows 2-3 (B1): a 1, −1 → mean 0, SR 0;                  b 2, 4 → mean 3, SR 3/√2 ≈ 2.121
REVERSING = np.array([[1.0, 0.0], [3.0, 2.0], [1.0, 2.0], [-1.0, 4.0]])


def test_pbo_is_one_when_the_in_sample_best_is_always_the_out_of_sample_worst() -> None:
    # in B0: a (1.414 > 0.707). out B1: a 0 < b 2.121 → rank 1, ω̄ = 1/3, λ = ln(1/2)
    # in B1: b (2.121 > 0). out B0: b 0.707 < a 1.414 → rank 1, λ = ln(1/2)
    result = probability_of_backtest_overfitting(REVERSING, partitions=2)
    assert result.logits == pytest.approx((math.log(1 / 2), math.log(1 / 2)), abs=TOLERANCE)
    assert result.pbo == 1.0
    assert result.combinations == 2


def test_pbo_is_one_for_a_mean_reverting_search_with_four_blocks() -> None:
    # N = 2, S = 4; b is 0 throughout, a has block means 1, 2, 4, −7 (they sum to 0, and no two
    # of them do), so a half's mean of a is minus the other half's: whichever trial wins in
    # sample loses out of sample. a's half means: {B0,B1} 1.5, {B0,B2} 2.5, {B0,B3} −3,
    # {B1,B2} 3, {B1,B3} −2.5, {B2,B3} −1.5 → the winner (a when positive, else b) always ranks
    # 1 of 2 out of sample: ω̄ = 1/3, λ = ln(1/2), six times.
    block_means = [1.0, 1.0, 2.0, 2.0, 4.0, 4.0, -7.0, -7.0]
    performance = np.column_stack([block_means, np.zeros(8)])
    result = probability_of_backtest_overfitting(performance, partitions=4, metric=column_mean)
    assert result.logits == pytest.approx((math.log(1 / 2),) * 6, abs=TOLERANCE)
    assert result.pbo == 1.0


def test_pbo_is_zero_when_the_in_sample_best_is_always_the_out_of_sample_best() -> None:
    # N = 3, S = 4, T = 8; every block of 2 rows holds a 1, −1 (SR 0), b 2, 1 and c 3, 2. Any
    # half is 4 rows with the same spread for b and c (std √(1/3)) and means 1.5 and 2.5: SR of
    # a 0 < b 2.598 < c 4.330 in and out of sample → c, rank 3, ω̄ = 3/4, λ = ln 3, six times.
    performance = np.array([[1.0, 2.0, 3.0], [-1.0, 1.0, 2.0]] * 4)
    result = probability_of_backtest_overfitting(performance, partitions=4)
    assert result.logits == pytest.approx((math.log(3),) * 6, abs=TOLERANCE)
    assert result.pbo == 0.0


def test_the_leading_rows_are_dropped() -> None:
    # A first row that changes the answer if it is kept: dropping the trailing row instead
    # would put it in B0 and make b win there (λ = ln 2 for the first combination).
    performance = np.vstack([[[-100.0, 100.0]], REVERSING])
    result = probability_of_backtest_overfitting(performance, partitions=2)
    assert result.dropped_rows == 1
    assert result.observations == 4
    without_the_row = probability_of_backtest_overfitting(REVERSING, partitions=2)
    assert result == attrs.evolve(without_the_row, dropped_rows=1)


def test_a_flat_column_scores_by_the_sign_of_its_mean() -> None:
    # N = 4, S = 2, T = 4. a is −1, −3 in B0 (SR −√2) and 1, 3 in B1 (SR √2); b is 1, c is −1
    # and d is 0 in every row: zero std, so b scores +inf, c −inf and d 0 in both halves.
    # Either way round: b is chosen in sample and is the best out of sample, rank 4 of 4:
    # ω̄ = 4/5, λ = ln 4. (Scoring flat columns 0 would choose b in B0 by index and rank it 2 in
    # B1 above c and d, rank 3, λ = ln(3/2); a NaN score would be refused.)
    performance = np.array(
        [
            [-1.0, 1.0, -1.0, 0.0],
            [-3.0, 1.0, -1.0, 0.0],
            [1.0, 1.0, -1.0, 0.0],
            [3.0, 1.0, -1.0, 0.0],
        ]
    )
    result = probability_of_backtest_overfitting(performance, partitions=2)
    assert result.logits == pytest.approx((math.log(4), math.log(4)), abs=TOLERANCE)
    assert result.pbo == 0.0


def test_the_same_input_gives_bit_identical_output() -> None:
    performance = np.random.default_rng(20240601).normal(0.0, 0.01, size=(203, 7))
    first = probability_of_backtest_overfitting(performance, partitions=8)
    second = probability_of_backtest_overfitting(performance.copy(), partitions=8)
    assert first.logits == second.logits
    assert first.pbo == second.pbo
    assert first == second
    assert first.combinations == 70
    assert first.dropped_rows == 3


@given(
    data=st.data(),
    partitions=st.sampled_from([2, 4, 6]),
    trials=st.integers(2, 5),
)
def test_pbo_is_a_probability_over_every_combination(
    data: st.DataObject, partitions: int, trials: int
) -> None:
    rows = data.draw(st.integers(max(partitions, 4), 4 * partitions + 3), label="rows")
    performance = data.draw(
        arrays(np.float64, (rows, trials), elements=st.floats(-1.0, 1.0)), label="performance"
    )
    result = probability_of_backtest_overfitting(performance, partitions=partitions)
    assert 0.0 <= result.pbo <= 1.0
    assert result.combinations == math.comb(partitions, partitions // 2)
    assert len(result.logits) == result.combinations
    assert result.pbo == sum(logit <= 0.0 for logit in result.logits) / result.combinations
    possible = {math.log(rank / (trials + 1 - rank)) for rank in range(1, trials + 1)}
    assert set(result.logits) <= possible


def wrong_shape(block: FloatArray) -> FloatArray:
    return np.asarray(np.mean(block), dtype=np.float64).reshape(1)


def not_a_number(block: FloatArray) -> FloatArray:
    return np.full(block.shape[1], math.nan)


@pytest.mark.parametrize(
    ("performance", "partitions", "message"),
    [
        (np.zeros((8, 3)), 3, "partitions must be an even number of at least 2, got 3"),
        (np.zeros((8, 3)), 0, "partitions must be an even number of at least 2, got 0"),
        (np.zeros(8), 2, "performance must be two-dimensional"),
        (np.zeros((8, 1)), 2, "at least 2 trials"),
        (np.zeros((3, 2)), 4, "performance has 3 rows, fewer than the 4 partitions"),
        (np.array([[0.0, 1.0], [math.nan, 0.0], [1.0, 1.0], [2.0, 0.0]]), 2, "finite values"),
        (np.array([[0.0, 1.0], [1.0, 0.0], [1.0, math.inf], [2.0, 0.0]]), 2, r"\(2, 1\)"),
        (np.zeros((3, 2)), 2, "default Sharpe metric needs at least 2 rows per half, got 1"),
    ],
)
def test_bad_performance_inputs_are_refused(
    performance: FloatArray, partitions: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        probability_of_backtest_overfitting(performance, partitions=partitions)


def test_a_metric_must_return_one_number_per_trial() -> None:
    with pytest.raises(ValueError, match=r"one score per trial, shape \(3,\), got shape \(1,\)"):
        probability_of_backtest_overfitting(MIXED, partitions=4, metric=wrong_shape)
    with pytest.raises(ValueError, match=r"NaN for trial column\(s\) \[0, 1, 2\]"):
        probability_of_backtest_overfitting(MIXED, partitions=4, metric=not_a_number)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_default_metric_from_block_sums_ranks_as_the_pass_over_every_half(seed: int) -> None:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0002, 0.01, size=(1600, 40))
    returns[:, 3] = returns[:, 7]  # identical trials: ties broken by the column index
    returns[:400, 5] = 0.0  # a trial flat for a quarter of the history, then trading
    returns[:, 9] = 0.0  # a trial that never trades
    fast = probability_of_backtest_overfitting(returns, partitions=8)
    slow = probability_of_backtest_overfitting(returns, partitions=8, metric=column_sharpe)
    assert fast.logits == slow.logits
    assert fast.pbo == slow.pbo
