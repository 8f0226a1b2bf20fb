"""Element-wise transcendental functions that give the same bits on every x86-64 machine.

numpy picks its `log`, `exp`, `log1p` and `power` loops at import time from the CPU's features:
on a machine with AVX-512 it runs its own vectorised approximations, elsewhere the C library's.
They differ in the last bit for some inputs, so a strategy's features — and through them a
model's predictions, position sizes and event digests — changed from one machine to the next
(the golden ML cases moved between CI machines). These functions call the C library through
`math` for every element instead: the same code path on every machine, at ~50 ns per element,
which is negligible next to a run. Use them wherever a value feeds a decision; plain numpy stays
fine for display-only numbers and for data synthesis that rounds to a tick anyway.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypeAlias

from atb.deferred_modules import DeferredModule

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray: TypeAlias = npt.NDArray[np.float64]
else:
    np = DeferredModule("numpy")

__all__ = ["dot", "log", "log1p", "powers", "solve_positive_definite"]


def log(values: FloatArray) -> FloatArray:
    """Natural log of each element: −inf at 0, NaN below 0 or for NaN (as numpy's `log`)."""
    return np.fromiter(
        (
            math.log(v) if v > 0.0 else (-math.inf if v == 0.0 else math.nan)
            for v in values.tolist()
        ),
        dtype=np.float64,
        count=values.size,
    ).reshape(values.shape)


def log1p(values: FloatArray) -> FloatArray:
    """`ln(1 + x)` of each element: −inf at −1, NaN below −1 or for NaN (as numpy's `log1p`)."""
    return np.fromiter(
        (
            math.log1p(v) if v > -1.0 else (-math.inf if v == -1.0 else math.nan)
            for v in values.tolist()
        ),
        dtype=np.float64,
        count=values.size,
    ).reshape(values.shape)


def powers(base: float, exponents: FloatArray) -> FloatArray:
    """`base ** e` for each exponent (through `math.pow`)."""
    return np.fromiter(
        (math.pow(base, e) for e in exponents.tolist()), dtype=np.float64, count=exponents.size
    ).reshape(exponents.shape)


# Linear algebra: numpy hands matrix products and solves to OpenBLAS, which picks its kernels at
# run time from the CPU (Haswell, SkylakeX, ...); their blocking and fused multiply-adds differ
# in the last bits, so a model fitted on one machine had other weights on the next. These two
# use only IEEE element-wise products, exactly rounded sums and plain Python arithmetic.


def exact_sum(values: FloatArray) -> float:
    """The exactly rounded sum of a vector (`math.fsum`): the same bits whatever the order,
    the CPU or the library build.

    `math.fsum` reads the values through the array's memoryview (`.data`), which hands it
    plain floats; iterating the array would box each value as a numpy scalar first (~40 %
    slower on a million values).
    """
    return math.fsum(np.ascontiguousarray(values, dtype=np.float64).ravel().data)


def dot(left: FloatArray, right: FloatArray) -> float:
    """`left · right` for two vectors: element-wise products, then their exactly rounded sum
    (`exact_sum`), so the same bits whatever the CPU or the vector length's blocking."""
    return exact_sum(left * right)


def solve_positive_definite(matrix: FloatArray, vector: FloatArray) -> FloatArray:
    """`x` with `matrix @ x = vector` for a symmetric positive-definite `matrix` (a ridge Gram
    matrix), by Cholesky decomposition in Python floats: the same operations in the same order
    on every machine. Raises ValueError if `matrix` is not positive definite."""
    size = len(vector)
    a = np.asarray(matrix, dtype=np.float64).tolist()
    lower = [[0.0] * size for _ in range(size)]
    for row in range(size):
        for col in range(row + 1):
            total = a[row][col]
            for k in range(col):
                total -= lower[row][k] * lower[col][k]
            if row == col:
                if not total > 0.0:
                    raise ValueError("matrix is not positive definite")
                lower[row][col] = math.sqrt(total)
            else:
                lower[row][col] = total / lower[col][col]
    b = np.asarray(vector, dtype=np.float64).tolist()
    forward = [0.0] * size
    for row in range(size):
        total = b[row]
        for k in range(row):
            total -= lower[row][k] * forward[k]
        forward[row] = total / lower[row][row]
    solution = [0.0] * size
    for row in reversed(range(size)):
        total = forward[row]
        for k in range(row + 1, size):
            total -= lower[k][row] * solution[k]
        solution[row] = total / lower[row][row]
    return np.array(solution, dtype=np.float64)
