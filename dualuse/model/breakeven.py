r"""Break-evens: by how much a use's capital cost or harvest retention must change before it takes land.

For an optimal share-mode LP with coupling-row duals :math:`y` (budget,
LDN, deliveries, energy balance, food floor, caps), the *price* of pair
:math:`j` is its objective coefficient less what its column costs in the
coupling rows,

.. math:: v_j = c_j - \sum_r y_r a_{rj},

and its reduced cost :math:`d_j = v_j - \mu_i` with :math:`\mu_i` the dual
of its parcel's allocation row.  At an optimum every parcel has a pair with
a positive share and :math:`d \le 0` on all of them, so
:math:`\mu_i = \max_{k \in i} v_k` (:func:`reduced_costs`).

A use with no land has every pair at 0.  Changing one of its coefficients
by a relative amount :math:`\rho` changes only its own columns, so the
basis, the duals :math:`y` and :math:`\mu` stay what they were until a
pair's reduced cost reaches 0:

.. math:: d_j(\rho) = d_j + \rho\, g_j, \qquad g_j = v_j(\text{coefficient} \times 2) - v_j,

where :math:`g_j` is the change of the pair's price per unit :math:`\rho`,
computed by stating the objective and every family's rows again with the
coefficient's part of the pair's cost (or harvest) doubled: every row the
coefficient enters (budget, food floor, any other) is counted, exactly as
the families state it.  The use enters on its first parcel at the
:math:`\rho_j = -d_j / g_j` of smallest magnitude, among those a
coefficient can reach (:math:`\rho \ge -1`: a cost or a retention stays
non-negative).

A reduced cost of 0 at a pair with no share is a tie (dual degeneracy):
an equally good plan gives the use land, and its break-even is 0.

The cost's normaliser :math:`K_{max}` (the costliest plan,
:func:`~dualuse.model.kpis.cost_scale_usd`) is held fixed: it moves with a
use's capital cost only where that use is a parcel's costliest, and then
only the small cost tie-break changes.  The figure is exact when the use has
no land; for a use with a little land it is the first-order figure for its
next parcel (its own basic pairs move the duals too).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from dualuse.errors import DualuseError
from dualuse.inputs.catalogue import Catalogue
from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.family_table import FAMILIES
from dualuse.model.kpis import kpi_row
from dualuse.model.objective import objective_factors
from dualuse.model.per_parcel import largest
from dualuse.model.rows import MatrixForm, Rows
from dualuse.vocabulary import USES

#: The coefficients a break-even is given for: capital cost (per MWp for a PV use, per ha otherwise) and retention.
BREAK_EVEN_COEFFICIENTS: tuple[str, ...] = ("capex", "retention")

#: A use whose area is below this share of its eligible area has its break-evens reported.
LITTLE_LAND_SHARE = 0.01

#: A change that reaches a coefficient's 0 (−1) less than this only ties there: no break-even.
LEAST_CHANGE = 1e-9

#: A reduced cost within this share of the largest price is a tie: the use is at its break-even already.
TIE = 1e-9

#: A pair with a share at most this is not taking land.
ZERO_SHARE = 1e-9


class _Statement:
    """What a family's builder reads from a model, without the model: the named totals' rows and the index sets."""

    def __init__(self, coef: Coefficients, scenario: Scenario) -> None:
        self.matrix_form = MatrixForm()
        for name in ("cost_usd", "productivity_t"):
            row = kpi_row(coef, scenario, name)
            self.matrix_form.totals.append((name, None, None, Rows.single(row.columns, row.values)))
        self.PARCELS = range(coef.n_parcels)
        self.COMMUNITIES = range(coef.demand_mwh.size)

    def component(self, name: str) -> Any:
        return None


def _row_keys(index: Any) -> list[Any]:
    """The keys of an indexed family's rows, in row order (a Pyomo set a builder made is constructed first)."""
    if hasattr(index, "construct") and not getattr(index, "_constructed", True):
        index.construct()
    return list(index)


def pair_prices(coef: Coefficients, scenario: Scenario, duals: dict[str, Any]) -> np.ndarray:
    r"""Per pair, :math:`v_j = c_j - \sum_r y_r a_{rj}` over the coupling rows (the allocation rows left out).

    The rows are the families' own (:data:`~dualuse.model.family_table.FAMILIES`),
    stated from the coefficients; ``duals`` are the coupling rows' duals as
    the solve returns them (:attr:`~dualuse.solve.highs.SolveResult.duals`:
    name -> dual, or name -> {key: dual}).  Raises DualuseError for a
    family of integer columns (a MILP has no duals) or a family with rows
    but no duals.
    """
    price = np.zeros(coef.n_pairs)
    for kpi, factor in objective_factors(coef, scenario):
        row = kpi_row(coef, scenario, kpi)
        if bool((row.columns[1:] > row.columns[:-1]).all()):  # columns ascending: the pairs first
            k = int(np.searchsorted(row.columns, coef.n_pairs))
            _add_terms(price, row.columns[:k], factor * row.values[:k])
        else:
            pairs = row.columns < coef.n_pairs
            _add_terms(price, row.columns[pairs], factor * row.values[pairs])
    statement = _Statement(coef, scenario)
    for family in FAMILIES:
        if family.name == "allocation":
            continue
        if family.structure == "breaks":
            if scenario.mode == "whole" or scenario.min_plant_mwp > 0:
                raise DualuseError(f"internal error: {family.name} has integer columns, so the LP has no duals")
            continue
        stated = family.builder(statement, coef, scenario)
        if stated is None:
            continue
        if family.name not in duals:
            raise DualuseError(f"internal error: the solve returned no duals for {family.name}")
        given = duals[family.name]
        y = (np.array([given[key] for key in _row_keys(stated.index)], dtype=float)
             if isinstance(given, dict) else np.full(stated.rows.n_rows, float(given)))
        rows = stated.rows
        terms = (-y[0] * rows.value if rows.n_rows == 1 else np.repeat(-y, np.diff(rows.indptr)) * rows.value)
        columns = rows.column.astype(np.int64)
        if columns.size and int(columns.max()) >= coef.n_pairs:
            pairs = columns < coef.n_pairs
            columns, terms = columns[pairs], terms[pairs]
        _add_terms(price, columns, terms)
    return price


def _add_terms(price: np.ndarray, columns: np.ndarray, terms: np.ndarray) -> None:
    """``np.add.at(price, columns, terms)``: each term added to its column's price in turn; at once where
    no column repeats (the same sums, as each price then takes one term)."""
    if columns.size > 1 and not bool((columns[1:] > columns[:-1]).all()) \
            and np.bincount(columns, minlength=price.size).max() > 1:
        np.add.at(price, columns, terms)
    elif 4 * columns.size > price.size:  # most prices take a term: one sum over all (a price never is -0, so + 0 keeps it)
        dense = np.zeros(price.size)
        dense[columns] = terms
        price += dense
    else:
        price[columns] += terms


def reduced_costs(coef: Coefficients, price: np.ndarray) -> np.ndarray:
    r"""Per pair, :math:`d_j = v_j - \max_{k \in i} v_k`: ≤ 0, and 0 on the best pairs of its parcel."""
    return price - largest(coef, price)[coef.parcel]


def capex_part_usd(coef: Coefficients, catalogue: Catalogue) -> np.ndarray:
    """Per pair, the part of its cost that its use's capital cost makes [USD]: per MWp for a PV use, per ha otherwise."""
    per_mwp = np.array([u.capex_usd_mwp for u in catalogue.uses])
    per_ha = np.array([u.capex_usd_ha for u in catalogue.uses])
    pv = np.array([u.density_mwp_ha > 0 for u in catalogue.uses])
    return np.where(pv[coef.use], coef.capacity_mwp * per_mwp[coef.use], coef.pair_area_ha * per_ha[coef.use])


def capex_coefficient(catalogue: Catalogue, use: str) -> str:
    """The catalogue's name of a use's capital cost: ``capex_usd_mwp`` for a PV use, ``capex_usd_ha`` otherwise."""
    return "capex_usd_mwp" if catalogue.use(use).density_mwp_ha > 0 else "capex_usd_ha"


def price_slopes(coef: Coefficients, catalogue: Catalogue, scenario: Scenario, duals: dict[str, Any],
                 price: np.ndarray) -> dict[str, np.ndarray]:
    """Per coefficient of :data:`BREAK_EVEN_COEFFICIENTS`, each pair's change of price per unit relative change.

    The rows are stated again with the coefficient's part of every pair's
    cost (or its whole harvest, for retention) doubled, the duals and the
    cost normaliser held (:func:`~dualuse.model.kpis.cost_scale_usd` reads
    ``max_cost_usd``, which is kept).
    """
    doubled = {
        "capex": dataclasses.replace(coef, cost_usd=coef.cost_usd + capex_part_usd(coef, catalogue)),
        "retention": dataclasses.replace(coef, productivity_t=2.0 * coef.productivity_t),
    }
    return {name: pair_prices(changed, scenario, duals) - price for name, changed in doubled.items()}


def _entry_change(reduced: np.ndarray, slope: np.ndarray) -> float | None:
    """The relative change of smallest magnitude at which one of these pairs' reduced cost reaches 0, or None."""
    moving = slope != 0.0
    if not moving.any():
        return None
    change = -reduced[moving] / slope[moving]
    change = change[change > -1.0 + LEAST_CHANGE]
    if not change.size:
        return None
    return float(change[np.argmin(np.abs(change))]) + 0.0


def break_evens(coef: Coefficients, catalogue: Catalogue, scenario: Scenario, duals: dict[str, Any],
                x: np.ndarray) -> dict[str, dict[str, float | None]]:
    """For each use (``current`` aside) with less than :data:`LITTLE_LAND_SHARE` of its eligible area, the
    relative change of each coefficient at which it takes land on one more parcel (None: no change of that
    coefficient alone does it).

    Parameters
    ----------
    coef, catalogue, scenario : the inputs of an optimal share-mode LP
    duals : dict — the LP's coupling-row duals (:attr:`~dualuse.solve.highs.SolveResult.duals`)
    x : ndarray — the optimal shares per pair

    Returns
    -------
    dict of use -> {coefficient -> relative change}, the coefficient named as in the catalogue
    (``capex_usd_mwp``, ``capex_usd_ha``, ``retention``); −0.2 is 20 % lower.
    """
    price = pair_prices(coef, scenario, duals)
    reduced = reduced_costs(coef, price)
    reduced[reduced >= -TIE * max(float(np.abs(price).max(initial=0.0)), 1e-300)] = 0.0
    slopes = price_slopes(coef, catalogue, scenario, duals, price)
    area_ha = coef.pair_area_ha
    out: dict[str, dict[str, float | None]] = {}
    for k, use in enumerate(USES):
        pairs = coef.use == k
        if use == "current" or not pairs.any():
            continue
        if float((x[pairs] * area_ha[pairs]).sum()) >= LITTLE_LAND_SHARE * float(area_ha[pairs].sum()):
            continue
        idle = pairs & (x <= ZERO_SHARE)
        out[use] = {(capex_coefficient(catalogue, use) if name == "capex" else name):
                    _entry_change(reduced[idle], slopes[name][idle]) for name in BREAK_EVEN_COEFFICIENTS}
    return out


def describe_change(change: float | None) -> str:
    """A relative change in words: "−20.0 %", or "no change of this coefficient alone"."""
    if change is None or not math.isfinite(change):
        return "no change of this coefficient alone"
    return f"{100.0 * change:+.3g} %"
