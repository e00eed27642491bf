r"""The restricted master of the structured solve: which pairs each parcel may use, and the basis.

A parcel with one candidate pair is *fixed*: its pair is at 1, and its
coefficients are moved into the coupling rows' bounds (HiGHS never sees
it).  A parcel with several keeps its allocation row and those pair
columns.  Every coupling row may also get *elastic* columns, one per finite
bound, that relax it at a price :math:`p_r` per unit: in the master's dual
they are the box :math:`y_r \le p_r` (for an upper bound; :math:`y_r \ge
-p_r` for a lower one), which keeps the first masters' duals near the
estimate they started from.

The master keeps the HiGHS basis status of every pair, parcel row, coupling
row and extra column between rounds, so that each master starts from the
previous one's basis; a parcel that is un-fixed keeps its pair basic and its
new row nonbasic, which leaves that basis valid (and primal feasible).  The
same statuses extended to every parcel are a basis of the whole LP
(:meth:`Master.full_basis`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from dualuse.solve.handover import LpArrays
from dualuse.solve.structured_pricing import Decomposition, best_pairs, reduced_profit, row_size

#: HiGHS basis statuses (``highspy.HighsBasisStatus``) as small integers.
LOWER, BASIC, UPPER, ZERO = 0, 1, 2, 3


@dataclass(eq=False)
class Elastic:
    """Elastic columns: column ``k`` enters coupling row ``row[k]`` with coefficient ``sign[k]``
    (+1 relaxes a lower bound, −1 an upper one), costs ``price[k]`` per unit and may reach ``upper[k]``."""

    row: np.ndarray
    sign: np.ndarray
    price: np.ndarray
    upper: np.ndarray
    status: np.ndarray

    @property
    def size(self) -> int:
        return int(self.row.size)

    @classmethod
    def for_rows(cls, dec: Decomposition, price: np.ndarray) -> Elastic:
        """One elastic column per finite bound of every coupling row, at the row's ``price``."""
        lower_rows = np.flatnonzero(np.isfinite(dec.row_lower))
        upper_rows = np.flatnonzero(np.isfinite(dec.row_upper))
        row = np.concatenate([lower_rows, upper_rows])
        sign = np.concatenate([np.ones(lower_rows.size), -np.ones(upper_rows.size)])
        return cls(row, sign, price[row].astype(float), np.full(row.size, np.inf), np.zeros(row.size, dtype=np.int8))

    def bound(self, dec: Decomposition) -> np.ndarray:
        """The bound each column relaxes."""
        return np.where(self.sign > 0, dec.row_lower[self.row], dec.row_upper[self.row])

    def drop(self) -> None:
        """Price every column at 0 and fix it at 0: the master is then the LP without them, and a
        basic one stands for its row's slack (the same column up to its sign, at the same cost)."""
        self.price[:] = 0.0
        self.upper[:] = 0.0


@dataclass(frozen=True, eq=False)
class Layout:
    """Where everything sits in one master LP."""

    unfixed: np.ndarray        # parcels with a row, in row order
    master_pairs: np.ndarray   # pair columns, in column order
    fixed_pairs: np.ndarray    # the one pair of each fixed parcel, in parcel order
    fixed_parcels: np.ndarray
    fixed_cost: float          # internal objective of the fixed pairs

    @property
    def n_rows(self) -> int:
        return int(self.unfixed.size)

    @property
    def n_pairs(self) -> int:
        return int(self.master_pairs.size)


class Master:
    """The candidate pairs of every parcel and the basis statuses of the last master solved.

    Parameters
    ----------
    dec : Decomposition — the whole LP
    y : ndarray — coupling duals that choose each parcel's starting pair (its best)
    candidates : ndarray of bool — the pairs the first master may use (each parcel's best among them)
    elastic : Elastic — the elastic columns
    """

    def __init__(self, dec: Decomposition, y: np.ndarray, candidates: np.ndarray, elastic: Elastic) -> None:
        self.dec = dec
        self.active = candidates.copy()
        self.elastic = elastic
        self.refixed = np.zeros(dec.n_parcels, dtype=bool)
        self.row_size = row_size(dec)  # per coupling row, its largest coefficient
        self._fixed = np.zeros(dec.n_pairs, dtype=bool)  # the fixed pairs of the last master, and their A x
        self._activity = np.zeros(dec.n_coupling)
        profit = reduced_profit(dec, y)
        _, first = best_pairs(dec, np.where(candidates, profit, -np.inf))
        self.pair_status = np.zeros(dec.n_pairs, dtype=np.int8)
        self.pair_status[first] = BASIC
        self.parcel_row_status = np.zeros(dec.n_parcels, dtype=np.int8)
        self.row_status = np.full(dec.n_coupling, BASIC, dtype=np.int8)
        extra_profit = dec.extra_cost - dec.extra_rows.t_dot(y)
        at_upper = np.isfinite(dec.extra_upper) & ((extra_profit > 0) | ~np.isfinite(dec.extra_lower))
        self.extra_status = np.where(at_upper, UPPER, np.where(np.isfinite(dec.extra_lower), LOWER, ZERO)).astype(np.int8)

    def candidate_count(self) -> np.ndarray:
        return np.add.reduceat(self.active.astype(np.int64), self.dec.parcel_start[:-1])

    def layout(self) -> Layout:
        dec = self.dec
        unfixed_parcel = self.candidate_count() >= 2
        in_master = self.active & unfixed_parcel[dec.pair_parcel]
        fixed_pairs = np.flatnonzero(self.active & ~in_master)
        return Layout(unfixed=np.flatnonzero(unfixed_parcel), master_pairs=np.flatnonzero(in_master),
                      fixed_pairs=fixed_pairs, fixed_parcels=dec.pair_parcel[fixed_pairs],
                      fixed_cost=float(dec.pair_cost[fixed_pairs].sum()))

    def arrays(self, layout: Layout) -> LpArrays:
        """The master LP (column-wise, a maximisation in internal units): allocation rows of the
        un-fixed parcels, then the coupling rows with the fixed parcels moved into their bounds."""
        dec, el = self.dec, self.elastic
        n_rows, n_pairs = layout.n_rows, layout.n_pairs
        row_of_parcel = np.full(dec.n_parcels, -1, dtype=np.int64)
        row_of_parcel[layout.unfixed] = np.arange(n_rows)
        start, index, value = _master_matrix(dec, layout, el, row_of_parcel[dec.pair_parcel[layout.master_pairs]])
        fixed_activity = self._fixed_activity(layout.fixed_pairs)
        return LpArrays(
            sense=pyo.maximize, offset=layout.fixed_cost,
            col_cost=np.concatenate([dec.pair_cost[layout.master_pairs], dec.extra_cost, -el.price]),
            col_lower=np.concatenate([np.zeros(n_pairs), dec.extra_lower, np.zeros(el.size)]),
            col_upper=np.concatenate([dec.pair_upper[layout.master_pairs], dec.extra_upper, el.upper]),
            row_lower=np.concatenate([np.ones(n_rows), dec.row_lower - fixed_activity]),
            row_upper=np.concatenate([np.ones(n_rows), dec.row_upper - fixed_activity]),
            start=start.astype(np.int32), index=index.astype(np.int32), value=value,
            integral=np.zeros(start.size - 1, dtype=bool), rowwise=False)

    def _fixed_activity(self, fixed_pairs: np.ndarray) -> np.ndarray:
        """:math:`A x` of the coupling rows for the fixed pairs at 1, from the last master's by the pairs
        that changed (few after the first)."""
        fixed = np.zeros(self.dec.n_pairs, dtype=bool)
        fixed[fixed_pairs] = True
        changed = np.flatnonzero(fixed != self._fixed)
        step = np.where(fixed[changed], 1.0, -1.0)
        self._activity = self._activity + self.dec.pair_rows.columns(changed).dot(step)
        self._fixed = fixed
        return self._activity

    def basis(self, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
        """Column and row statuses for the master of ``layout``, from the last solve's."""
        cols = np.concatenate([self.pair_status[layout.master_pairs], self.extra_status, self.elastic.status])
        rows = np.concatenate([self.parcel_row_status[layout.unfixed], self.row_status])
        return cols, rows

    def keep_basis(self, layout: Layout, cols: np.ndarray, rows: np.ndarray) -> None:
        """Store the statuses a master solve ended with."""
        n_pairs, n_extra = layout.n_pairs, self.dec.n_extra
        self.pair_status[layout.master_pairs] = cols[:n_pairs]
        self.extra_status[:] = cols[n_pairs:n_pairs + n_extra]
        self.elastic.status[:] = cols[n_pairs + n_extra:]
        self.parcel_row_status[layout.unfixed] = rows[:layout.n_rows]
        self.row_status[:] = rows[layout.n_rows:]

    def refix(self, layout: Layout, slack: np.ndarray, margin: float, weight: np.ndarray) -> int:
        """Fix again each un-fixed parcel (once per parcel) that the last master put wholly on one basic
        pair, its row nonbasic and its other candidates nonbasic at 0 with a reduced cost below
        ``−margin × (w_j + w_basic)`` (``slack`` and ``weight``: the reduced cost and the dual weight of
        each of the master's pairs).  Its other candidates are dropped; the basis stays a basis.  Returns
        how many parcels were fixed."""
        dec, pairs = self.dec, layout.master_pairs
        status = self.pair_status[pairs]
        parcel = dec.pair_parcel[pairs]
        basic = status == BASIC
        n_basic = np.bincount(parcel, weights=basic, minlength=dec.n_parcels)[layout.unfixed]
        basic_weight = np.zeros(dec.n_parcels)
        basic_weight[parcel[basic]] = weight[basic]
        clear = basic | ((status == LOWER) & (slack < -margin * (weight + basic_weight[parcel])))
        n_clear = np.bincount(parcel, weights=clear, minlength=dec.n_parcels)[layout.unfixed]
        n_active = np.bincount(parcel, minlength=dec.n_parcels)[layout.unfixed]
        ok = ((n_basic == 1) & (n_clear == n_active) & ~self.refixed[layout.unfixed]
              & (self.parcel_row_status[layout.unfixed] != BASIC))
        fixed = layout.unfixed[ok]
        if fixed.size == 0:
            return 0
        drop = np.isin(parcel, fixed) & ~basic
        self.active[pairs[drop]] = False
        self.refixed[fixed] = True
        return int(fixed.size)

    def full_basis(self) -> tuple[np.ndarray, np.ndarray]:
        """The statuses extended to the whole LP: every fixed parcel's pair basic and its row nonbasic
        (as kept since it was fixed), pairs never in a master at 0, and each coupling row whose elastic
        column was basic made basic in its place (the same basis matrix, up to that column's sign)."""
        rows = self.row_status.copy()
        rows[self.elastic.row[self.elastic.status == BASIC]] = BASIC
        return (np.concatenate([self.pair_status, self.extra_status]),
                np.concatenate([self.parcel_row_status, rows]))


def parcel_duals(dec: Decomposition, layout: Layout, profit: np.ndarray, master_row_dual: np.ndarray) -> np.ndarray:
    """The allocation row's dual of every parcel: the master's for an un-fixed parcel, the reduced
    profit of its one pair (then basic) for a fixed one."""
    mu = np.empty(dec.n_parcels)
    mu[layout.fixed_parcels] = profit[layout.fixed_pairs]
    mu[layout.unfixed] = master_row_dual
    return mu


def whole_lp(dec: Decomposition) -> LpArrays:
    """The LP that :func:`~dualuse.solve.structured_pricing.decompose` split, column-wise and in its own
    units: the same numbers (the internal costs are the LP's times a power of two and its sign)."""
    everything = Layout(unfixed=np.arange(dec.n_parcels), master_pairs=np.arange(dec.n_pairs),
                        fixed_pairs=np.zeros(0, dtype=np.int64), fixed_parcels=np.zeros(0, dtype=np.int64),
                        fixed_cost=0.0)
    none = Elastic(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int8))
    start, index, value = _master_matrix(dec, everything, none, dec.pair_parcel)
    return LpArrays(
        sense=pyo.maximize if dec.sign > 0 else pyo.minimize, offset=dec.offset,
        col_cost=np.concatenate([dec.pair_cost, dec.extra_cost]) / dec.factor,
        col_lower=np.concatenate([np.zeros(dec.n_pairs), dec.extra_lower]),
        col_upper=np.concatenate([dec.pair_upper, dec.extra_upper]),
        row_lower=np.concatenate([np.ones(dec.n_parcels), dec.row_lower]),
        row_upper=np.concatenate([np.ones(dec.n_parcels), dec.row_upper]),
        start=start.astype(np.int32), index=index.astype(np.int32), value=value,
        integral=np.zeros(start.size - 1, dtype=bool), rowwise=False)


def _master_matrix(dec: Decomposition, layout: Layout, el: Elastic,
                   pair_row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The master's matrix column-wise (start, index, value): each master pair's allocation row
    (``pair_row``) then its coupling entries, the columns after the pairs, the elastic columns; the
    coupling rows come after the ``layout.n_rows`` allocation rows."""
    n_rows = layout.n_rows
    pairs = dec.pair_rows if layout.n_pairs == dec.n_pairs else dec.pair_rows.columns(layout.master_pairs)
    extra = dec.extra_rows
    counts = np.concatenate([np.diff(pairs.indptr) + 1, np.diff(extra.indptr), np.ones(el.size, dtype=np.int64)])
    start = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    index = np.empty(int(start[-1]), dtype=np.int32)  # row numbers: HiGHS's int32 indices
    value = np.empty(int(start[-1]))
    n_pairs = layout.n_pairs
    index[start[:n_pairs]] = pair_row
    value[start[:n_pairs]] = 1.0
    at = np.arange(pairs.nnz) + pairs.entry_column + 1
    index[at] = pairs.indices + n_rows
    value[at] = pairs.data
    at = start[n_pairs] + np.arange(extra.nnz)
    index[at] = extra.indices + n_rows
    value[at] = extra.data
    at = start[n_pairs + dec.n_extra] + np.arange(el.size)
    index[at] = el.row + n_rows
    value[at] = el.sign
    return start, index, value
