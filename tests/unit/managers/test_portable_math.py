"""`portable_math`'s linear algebra: exact answers on worked systems, the same bits as plain
Python arithmetic, and a clear refusal of a matrix that is not positive definite."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atb.managers import portable_math


def test_dot_is_the_exactly_rounded_sum_of_the_products() -> None:
    left = np.array([1e16, 1.0, -1e16, 3.0])
    right = np.array([1.0, 1.0, 1.0, 0.5])
    # Summed left to right in floats this loses the 1.0 (1e16 + 1 == 1e16); fsum keeps it.
    assert portable_math.dot(left, right) == 2.5


def test_a_worked_system_is_solved_exactly() -> None:
    matrix = np.array([[4.0, 2.0, 0.0], [2.0, 5.0, 2.0], [0.0, 2.0, 5.0]])
    solution = np.array([1.0, -2.0, 3.0])
    found = portable_math.solve_positive_definite(matrix, matrix @ solution)
    assert found.tolist() == [1.0, -2.0, 3.0]


def test_a_matrix_that_is_not_positive_definite_is_refused() -> None:
    with pytest.raises(ValueError, match="not positive definite"):
        portable_math.solve_positive_definite(np.array([[1.0, 2.0], [2.0, 1.0]]), np.ones(2))


@given(
    st.lists(
        st.lists(st.floats(-10, 10, allow_nan=False), min_size=4, max_size=4),
        min_size=6,
        max_size=12,
    ),
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=4, max_size=4),
)
def test_a_ridge_system_is_solved_to_float_accuracy(
    rows: list[list[float]], rhs: list[float]
) -> None:
    z = np.array(rows)
    gram = z.T @ z + np.eye(4)  # a ridge term keeps it positive definite
    found = portable_math.solve_positive_definite(gram, np.array(rhs))
    residual = gram @ found - np.array(rhs)
    scale = max(1.0, float(np.abs(gram).max()) * float(np.abs(found).max()))
    assert float(np.abs(residual).max()) <= 1e-9 * scale
    assert all(math.isfinite(value) for value in found.tolist())


@given(
    st.lists(
        # (Sums past the largest float overflow, in fsum as anywhere: kept out of the drawn
        # values.)
        st.floats(-1e300, 1e300) | st.sampled_from([0.0, -0.0, 5e-324, -5e-324]),
        max_size=40,
    )
)
def test_exact_sum_is_math_fsum_of_the_values_to_the_bit(values: list[float]) -> None:
    summed = portable_math.exact_sum(np.array(values, dtype=np.float64))
    expected = math.fsum(values)
    assert summed == expected
    assert math.copysign(1.0, summed) == math.copysign(1.0, expected)


def test_exact_sum_reads_any_layout_and_keeps_non_finite_answers() -> None:
    grid = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert portable_math.exact_sum(grid[:, 1]) == 1.0 + 5.0 + 9.0  # a strided column
    assert portable_math.exact_sum(np.array([], dtype=np.float64)) == 0.0
    assert math.isnan(portable_math.exact_sum(np.array([1.0, math.nan])))
    assert portable_math.exact_sum(np.array([1.0, math.inf])) == math.inf
