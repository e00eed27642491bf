"""Per-parcel reductions of per-pair values, over each parcel's run of pairs.

The pairs are grouped by parcel, in parcel order, and every parcel has at
least one (its current use is always eligible:
:func:`~dualuse.model.coefficients.eligibility`), so a parcel's pairs are
the slice ``starts[i]:starts[i + 1]`` and a reduction over them is one
``reduceat``: it takes the same values in the same order as
``np.maximum.at`` over the pairs' parcels would, so it gives the same
result, in a fraction of the time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualuse.model.memo import kept


def starts_of(parcel: np.ndarray, n_parcels: int) -> np.ndarray:
    """Index of each parcel's first pair, for pairs grouped by parcel in parcel order
    (``np.searchsorted(parcel, np.arange(n_parcels))``)."""
    starts = np.zeros(n_parcels, dtype=np.int64)
    if n_parcels > 1:
        np.cumsum(np.bincount(parcel, minlength=n_parcels)[:-1], out=starts[1:])
    return starts


def parcel_starts(coef: Any) -> np.ndarray:
    """Index of each parcel's first pair (made once: treat as read-only)."""
    return kept(coef, "parcel_starts", ("n_parcels",), lambda: starts_of(coef.parcel, coef.n_parcels))


def largest(coef: Any, values: np.ndarray) -> np.ndarray:
    """Per parcel, the largest of its pairs' ``values``."""
    if not coef.n_parcels:
        return np.zeros(0, dtype=np.asarray(values).dtype)
    return np.maximum.reduceat(values, parcel_starts(coef))


def smallest(coef: Any, values: np.ndarray) -> np.ndarray:
    """Per parcel, the smallest of its pairs' ``values``."""
    if not coef.n_parcels:
        return np.zeros(0, dtype=np.asarray(values).dtype)
    return np.minimum.reduceat(values, parcel_starts(coef))
