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

import numpy as np
import numpy.typing as npt

__all__ = ["log", "log1p", "powers"]

FloatArray = npt.NDArray[np.float64]


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
