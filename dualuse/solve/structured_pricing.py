r"""The share-mode LP seen as parcels joined by a few coupling rows: its shape, pricing and Lagrangian bound.

Rows ``0 … n_parcels − 1`` of the LP are the allocation rows
:math:`\sum_{j \in J_i} x_j = 1`, whose pair columns :math:`J_i` are
consecutive and in parcel order (``dualuse.model.coefficients``); the other
rows couple the parcels (budget, LDN, food floor, community supply, energy
balance, caps), and the columns after the pairs (deliveries, export, slacks)
appear in coupling rows only.  For duals :math:`y` of the coupling rows the
LP separates: each parcel's best use is the pair of largest reduced profit
:math:`d_j = c_j - a_j^\top y`, and

.. math::
    L(y) = \sum_i \max_{j \in J_i} d_j + \sum_k \max_{l_k \le v_k \le u_k} (c_k - a_k^\top y)\, v_k
           + \sum_r \begin{cases} y_r u_r & y_r > 0 \\ y_r l_r & y_r < 0 \end{cases}

bounds the LP's optimum from above (a maximisation).

A :class:`Decomposition` holds the LP in internal units: always a
maximisation, its costs multiplied by a power of two (the one HiGHS uses as
``user_objective_scale``), so that reduced costs compare with HiGHS's dual
tolerance directly; :meth:`Decomposition.to_internal` and
:meth:`Decomposition.to_highs` convert duals between the two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from dualuse.solve.handover import LpArrays
from dualuse.solve.quiet import objective_scale
from dualuse.solve.sparse import ColumnMatrix, reduce_groups

#: A reduced cost above this (internal units) makes a pair worth adding: well below HiGHS's default
#: dual feasibility tolerance (1e-7), so that no pair left out is dual infeasible to HiGHS.
PRICE_TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class Decomposition:
    """An LP of the share-mode shape, split into its parcels and its coupling rows (internal units).

    Attributes
    ----------
    parcel_start : ndarray of int64 — first pair column of each parcel, then ``n_pairs``
    pair_parcel : ndarray of int64 — each pair's parcel
    pair_cost, pair_upper : ndarray — per pair: internal cost, upper bound (the lower bound is 0)
    pair_rows : ColumnMatrix — coupling rows × pair columns
    extra_cost, extra_lower, extra_upper : ndarray — per column after the pairs
    extra_rows : ColumnMatrix — coupling rows × columns after the pairs
    row_lower, row_upper : ndarray — bounds of the coupling rows
    sign : float — +1 for a maximisation, −1 for a minimisation
    scale_exponent : int — internal costs are ``sign · 2**scale_exponent`` times the LP's
    offset : float — the LP's objective offset (original units)
    known_row_size, known_price_scale : ndarray, optional — :func:`row_size` and :func:`row_price_scale`
        when already known (else computed from the matrices)
    """

    parcel_start: np.ndarray
    pair_parcel: np.ndarray
    pair_cost: np.ndarray
    pair_upper: np.ndarray
    pair_rows: ColumnMatrix
    extra_cost: np.ndarray
    extra_lower: np.ndarray
    extra_upper: np.ndarray
    extra_rows: ColumnMatrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    sign: float = 1.0
    scale_exponent: int = 0
    offset: float = 0.0
    known_row_size: np.ndarray | None = None
    known_price_scale: np.ndarray | None = None

    @property
    def n_parcels(self) -> int:
        return int(self.parcel_start.size - 1)

    @property
    def n_pairs(self) -> int:
        return int(self.pair_parcel.size)

    @property
    def n_coupling(self) -> int:
        return int(self.row_lower.size)

    @property
    def n_extra(self) -> int:
        return int(self.extra_cost.size)

    @property
    def factor(self) -> float:
        """Internal objective units per original unit."""
        return self.sign * 2.0 ** self.scale_exponent

    def to_internal(self, highs_dual: np.ndarray) -> np.ndarray:
        """HiGHS's row duals of the original LP (∂objective/∂bound) in internal units."""
        return np.asarray(highs_dual, dtype=float) * self.factor

    def to_highs(self, internal_dual: np.ndarray) -> np.ndarray:
        """Internal duals as HiGHS reports them for the original LP."""
        return np.asarray(internal_dual, dtype=float) / self.factor

    def to_objective(self, internal_value: float) -> float:
        """An internal objective value (without offset) in the LP's units, offset included."""
        return self.offset + internal_value / self.factor


def decompose(arrays: LpArrays, n_parcels: int, n_pairs: int,
              scale_exponent: int | None = None) -> Decomposition | str:
    """The LP as a :class:`Decomposition`, or the reason it does not have the share-mode shape.

    ``scale_exponent`` is HiGHS's ``user_objective_scale`` (by default
    :func:`~dualuse.solve.highs.objective_scale` of the costs).
    """
    if arrays.integral.any():
        return "the LP has integer columns (a MILP)"
    if not (0 < n_parcels <= n_pairs <= arrays.num_col and n_parcels <= arrays.num_row):
        return f"{n_parcels} parcels and {n_pairs} pairs do not fit an LP of {arrays.num_row} rows × {arrays.num_col} columns"
    if not (np.all(np.isfinite(arrays.col_cost)) and math.isfinite(arrays.offset)):
        return "the objective has a coefficient that is not finite"
    start, index, value = _rowwise(arrays)
    allocation_nnz = int(start[n_parcels])
    allocation = index[:allocation_nnz]
    if allocation_nnz == n_pairs and not np.array_equal(allocation, np.arange(n_pairs)):
        allocation = _sorted_within_rows(start[:n_parcels + 1], allocation)
    if (allocation_nnz != n_pairs or np.any(np.diff(start[:n_parcels + 1]) == 0)
            or not np.array_equal(allocation, np.arange(n_pairs)) or np.any(value[:allocation_nnz] != 1.0)):
        return ("rows 0 … n_parcels − 1 are not one allocation row per parcel over its own consecutive pair "
                "columns with coefficients 1")
    if np.any(arrays.row_lower[:n_parcels] != 1.0) or np.any(arrays.row_upper[:n_parcels] != 1.0):
        return "an allocation row is not '= 1'"
    if np.any(arrays.col_lower[:n_pairs] != 0.0) or np.any(arrays.col_upper[:n_pairs] < 1.0):
        return "a pair column is not bounded below by 0 and above by 1 or more"
    coupling_start = start[n_parcels:] - start[n_parcels]
    coupling_index, coupling_value = index[allocation_nnz:], value[allocation_nnz:]
    pair_rows, extra_rows = ColumnMatrix.from_rowwise(arrays.num_row - n_parcels, arrays.num_col, coupling_start,
                                                      coupling_index, coupling_value).split(n_pairs)
    exponent = objective_scale(arrays.col_cost) if scale_exponent is None else int(scale_exponent)
    sign = 1.0 if arrays.sense == pyo.maximize else -1.0
    cost = arrays.col_cost * (sign * 2.0 ** exponent)
    start = start[:n_parcels + 1].astype(np.int64)
    magnitude = np.abs(coupling_value)
    price_scale = reduce_groups(np.maximum, np.abs(cost[coupling_index]) / magnitude, coupling_start, 0.0)
    return Decomposition(
        parcel_start=start, pair_parcel=np.repeat(np.arange(n_parcels), np.diff(start)),
        pair_cost=cost[:n_pairs], pair_upper=arrays.col_upper[:n_pairs].astype(float),
        pair_rows=pair_rows, extra_cost=cost[n_pairs:],
        extra_lower=arrays.col_lower[n_pairs:].astype(float), extra_upper=arrays.col_upper[n_pairs:].astype(float),
        extra_rows=extra_rows, row_lower=arrays.row_lower[n_parcels:].astype(float),
        row_upper=arrays.row_upper[n_parcels:].astype(float), sign=sign, scale_exponent=exponent,
        offset=float(arrays.offset), known_row_size=reduce_groups(np.maximum, magnitude, coupling_start, 0.0),
        known_price_scale=np.where(price_scale > 0, price_scale, 1.0))


def reduced_profit(dec: Decomposition, y: np.ndarray) -> np.ndarray:
    """:math:`d_j = c_j - a_j^\\top y` of every pair, for coupling duals ``y`` (one sparse product)."""
    return dec.pair_cost - dec.pair_rows.t_dot(y)


def best_pairs(dec: Decomposition, profit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per parcel: the largest ``profit`` of its pairs and the first pair that reaches it."""
    best = np.maximum.reduceat(profit, dec.parcel_start[:-1])
    hit = np.flatnonzero(profit >= best[dec.pair_parcel])
    parcel = dec.pair_parcel[hit]
    first = np.ones(hit.size, dtype=bool)
    first[1:] = parcel[1:] != parcel[:-1]
    return best, hit[first]


def initial_candidates(dec: Decomposition, y: np.ndarray, margin: float) -> np.ndarray:
    r"""The pairs the first master may use: each parcel's best under ``y`` and its near-ties.

    A pair is kept when it could be the best should every dual be off by
    the share ``margin`` of its value: :math:`d_j + \rho w_j \ge d_{j^*} -
    \rho w_{j^*}` with :math:`w_j = |a_j|^\top |y|`.  Near-ties are common
    (solar beside the current use, thousands of parcels apart by a fraction
    of a percent of the budget's dual), and a master that may split them
    needs far fewer rounds.
    """
    profit = reduced_profit(dec, y)
    best, first = best_pairs(dec, profit)
    weight = dec.pair_rows.abs_t_dot(np.abs(y))
    floor = best - margin * weight[first]
    keep = profit + margin * weight >= floor[dec.pair_parcel]
    keep[first] = True
    return keep


def project_duals(dec: Decomposition, y: np.ndarray) -> np.ndarray:
    """``y`` with every dual that points at an infinite bound set to 0 (a valid Lagrangian multiplier)."""
    wrong = ((y > 0) & ~np.isfinite(dec.row_upper)) | ((y < 0) & ~np.isfinite(dec.row_lower))
    return np.where(wrong, 0.0, y)


def _box_maximum(profit: np.ndarray, lower: np.ndarray, upper: np.ndarray, size: np.ndarray) -> float:
    """:math:`\\sum_k \\max_{l_k \\le v_k \\le u_k} d_k v_k`; a profit within rounding of ``size`` counts as 0."""
    tiny = np.abs(profit) <= 1e-12 * np.maximum(size, 1e-300)
    at = np.where(profit > 0, upper, lower)
    if np.any(~tiny & ~np.isfinite(at)):
        return math.inf
    return float(np.sum(np.where(tiny, 0.0, profit * np.where(tiny, 0.0, at))))


def lagrangian_bound(dec: Decomposition, y: np.ndarray) -> float:
    """:math:`L(y)` (internal units, without offset) for coupling duals ``y``, projected first."""
    y = project_duals(dec, y)
    best, _ = best_pairs(dec, reduced_profit(dec, y))
    extra_profit = dec.extra_cost - dec.extra_rows.t_dot(y)
    extra_size = np.abs(dec.extra_cost) + dec.extra_rows.abs_t_dot(np.abs(y))
    rows = np.where(y > 0, y * np.where(y > 0, dec.row_upper, 0.0), 0.0)
    rows += np.where(y < 0, y * np.where(y < 0, dec.row_lower, 0.0), 0.0)
    return float(best.sum()) + _box_maximum(extra_profit, dec.extra_lower, dec.extra_upper, extra_size) \
        + float(rows.sum())


def row_size(dec: Decomposition) -> np.ndarray:
    """Per coupling row, its largest :math:`|a_{rj}|` (0 for an empty row)."""
    if dec.known_row_size is not None:
        return dec.known_row_size
    size = np.zeros(dec.n_coupling)
    for block in (dec.pair_rows, dec.extra_rows):
        if block.nnz:
            size = np.maximum(size, block.row_abs_max())
    return size


def row_price_scale(dec: Decomposition) -> np.ndarray:
    """Per coupling row, the largest :math:`|c_j| / |a_{rj}|` over its entries: the dual at which one
    unit of the row is worth a whole column's objective (1 for a row whose columns cost nothing)."""
    if dec.known_price_scale is not None:
        return dec.known_price_scale
    scale = np.zeros(dec.n_coupling)
    for block, cost in ((dec.pair_rows, dec.pair_cost), (dec.extra_rows, dec.extra_cost)):
        if block.nnz == 0:
            continue
        scale = np.maximum(scale, block.row_max_of(np.abs(cost[block.entry_column]) / np.abs(block.data)))
    return np.where(scale > 0, scale, 1.0)


def restrict(dec: Decomposition, parcels: np.ndarray, fraction: float) -> Decomposition:
    """The LP of the given parcels (sorted) alone, every extensive bound scaled by ``fraction``.

    Coupling-row bounds and the bounds of the columns after the pairs
    (deliveries, export) are totals over the region, so a sample of a
    fraction of its parcels gets that fraction of each; its duals then
    estimate the whole LP's.
    """
    counts = np.diff(dec.parcel_start)[parcels]
    first = dec.parcel_start[parcels]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    pairs = np.repeat(first - offsets[:-1], counts) + np.arange(offsets[-1])
    return Decomposition(
        parcel_start=offsets, pair_parcel=np.repeat(np.arange(parcels.size), counts),
        pair_cost=dec.pair_cost[pairs], pair_upper=dec.pair_upper[pairs], pair_rows=dec.pair_rows.columns(pairs),
        extra_cost=dec.extra_cost, extra_lower=dec.extra_lower * fraction, extra_upper=dec.extra_upper * fraction,
        extra_rows=dec.extra_rows, row_lower=dec.row_lower * fraction, row_upper=dec.row_upper * fraction,
        sign=dec.sign, scale_exponent=dec.scale_exponent, offset=0.0)


def stratified_sample(dec: Decomposition, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` parcels (sorted), drawn systematically along the parcels ordered by their most local
    coupling row (of the rows their pairs enter, the one the fewest pairs enter: a community's supply
    row in dualuse's LP), in random order within each: every such row gets the sample's share of its
    parcels, rounded, where a plain random sample leaves many small ones with none."""
    entries = dec.pair_rows
    pairs_per_row = np.bincount(entries.indices, minlength=dec.n_coupling)
    key = pairs_per_row[entries.indices].astype(np.int64) * dec.n_coupling + entries.indices
    # a parcel's entries are consecutive: its pairs are, and so are each pair's entries
    local = reduce_groups(np.minimum, key, entries.indptr[dec.parcel_start], np.iinfo(np.int64).max)
    order = np.lexsort((rng.random(dec.n_parcels), local))
    step = dec.n_parcels / size
    picks = np.floor(rng.uniform(0.0, step) + step * np.arange(size)).astype(np.int64)
    return np.sort(order[np.minimum(picks, dec.n_parcels - 1)])


def _rowwise(arrays: LpArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The LP's matrix in row-compressed form (start, index, value), columns in order within each row
    when it was given column-wise."""
    if arrays.rowwise:
        return np.asarray(arrays.start, dtype=np.int64), np.asarray(arrays.index), np.asarray(arrays.value)
    column = np.repeat(np.arange(arrays.num_col, dtype=np.int64), np.diff(arrays.start))
    order = np.argsort(arrays.index, kind="stable")
    start = np.zeros(arrays.num_row + 1, dtype=np.int64)
    np.cumsum(np.bincount(arrays.index, minlength=arrays.num_row), out=start[1:])
    return start, column[order], np.asarray(arrays.value)[order]


def _sorted_within_rows(start: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``index`` sorted within each row of a row-compressed layout."""
    row = np.repeat(np.arange(start.size - 1), np.diff(start))
    return index[np.lexsort((index, row))]
