r"""The KPIs of a plan, each stated once: a linear function of the model's columns, its unit and meaning.

The model's first columns are the shares :math:`x_j` of the eligible
(parcel, use) pairs, then the deliveries :math:`s_c` [MWh/yr] to each
community, then the grid export :math:`g` [MWh/yr] (:func:`served_columns`,
:func:`export_column`).  Every KPI is affine in them:

.. math:: \mathrm{KPI} = \Big(\sum_k a_k v_{c_k} + b\Big) / N

with the coefficients :math:`a` on columns :math:`c`, a constant :math:`b`
and a normaliser :math:`N` (1 for a KPI with a unit; a KPI whose normaliser
is 0 is 0), as :class:`KpiRow`.  The same rows serve three callers:
:func:`evaluate_kpis` computes a plan's KPIs from its solution
(:func:`dualuse.plan.compute_kpis`); the objective weighs the unit-free ones
(:func:`dualuse.model.objective.add_objective`); and a Pareto front holds one
at ε with :func:`kpi_row` (columns, values) or, on a Pyomo model,
:func:`dualuse.model.objective.kpi_expression`.

This module imports no solver and no GIS library: :data:`KPI_UNITS` is read
by the command line's help.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dualuse.model.ldn import balance_class
from dualuse.model.memo import kept
from dualuse.model.per_parcel import largest
from dualuse.vocabulary import LDN_BASELINES, USES

if TYPE_CHECKING:
    from dualuse.inputs.scenario import Scenario
    from dualuse.model.coefficients import Coefficients


# --------------------------------------------------------------------------- the columns


def served_columns(coef: Coefficients) -> np.ndarray:
    """The columns of the deliveries :math:`s_c`, one per community, after the pairs."""
    return coef.n_pairs + np.arange(coef.demand_mwh.size, dtype=np.int64)


def export_column(coef: Coefficients) -> int:
    """The column of the grid export :math:`g`, after the deliveries."""
    return coef.n_pairs + int(coef.demand_mwh.size)


def column_vector(coef: Coefficients, x: np.ndarray, served_mwh: np.ndarray, export_mwh: float) -> np.ndarray:
    """A solution as one vector in column order: shares, deliveries, export."""
    return np.concatenate([np.asarray(x, dtype=float), np.asarray(served_mwh, dtype=float), [float(export_mwh)]])


@dataclass(frozen=True, eq=False)
class KpiRow:
    """A KPI as ``(values · v[columns] + constant) / normaliser`` of the column vector ``v``."""

    columns: np.ndarray
    values: np.ndarray
    normaliser: float = 1.0
    constant: float = 0.0

    def evaluate(self, vector: np.ndarray) -> float:
        """The KPI's value at a column vector (:func:`column_vector`); 0 when the normaliser is 0."""
        if self.normaliser == 0:
            return 0.0
        return (float(self.values @ np.take(vector, self.columns)) + self.constant) / self.normaliser


def _row(parts: list[tuple[np.ndarray, np.ndarray]], normaliser: float = 1.0, constant: float = 0.0) -> KpiRow:
    """A KpiRow from (columns, values) parts, zero coefficients left out."""
    if len(parts) == 1:  # the parts are made for the row (:func:`_pairs` gathers): no copy but of a view
        columns = np.require(parts[0][0], dtype=np.int64, requirements=["C", "W"])
        values = np.require(parts[0][1], dtype=float, requirements=["C", "W"])
    elif parts:
        columns = np.concatenate([np.asarray(c, dtype=np.int64) for c, _ in parts])
        values = np.concatenate([np.asarray(v, dtype=float) for _, v in parts])
    else:
        columns, values = np.zeros(0, np.int64), np.zeros(0)
    keep = values != 0.0
    if keep.all():
        return KpiRow(columns, values, float(normaliser), float(constant))
    return KpiRow(columns[keep], values[keep], float(normaliser), float(constant))


def _pairs(coef: Coefficients, values: np.ndarray, where: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pair columns with per-pair ``values`` (only the pairs ``where`` holds; pairs of value 0 are left out, as
    :func:`_row` leaves them out)."""
    nonzero = values != 0.0
    if where is not None:
        nonzero &= where
    chosen = np.flatnonzero(nonzero)
    return chosen, values[chosen]


def _served(coef: Coefficients, value: np.ndarray | float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    return served_columns(coef), np.broadcast_to(np.asarray(value, dtype=float), coef.demand_mwh.shape)


def _export(coef: Coefficients) -> tuple[np.ndarray, np.ndarray]:
    return np.array([export_column(coef)]), np.ones(1)


def _per_household(coef: Coefficients) -> np.ndarray:
    """Households per MWh/yr delivered, per community (0 where a household's demand is 0)."""
    return np.divide(1.0, coef.household_mwh, out=np.zeros_like(coef.household_mwh), where=coef.household_mwh > 0)


def delivery_cost_usd_per_mwh(coef: Coefficients, scenario: Scenario) -> np.ndarray:
    r"""Per community, the capital cost of each MWh/yr delivered [USD per MWh/yr]: the part that grows with
    energy, and the household connections it takes.

    .. math:: \kappa_c = \kappa + K_{conn} / h_c

    with :math:`\kappa` the delivery cost per MWh/yr (``delivery_cost_usd_mwh``), :math:`K_{conn}` the
    cost of one connection (``connection_cost_usd``) and :math:`h_c` one household's demand in community
    :math:`c` [MWh/yr]: serving :math:`s_c` connects :math:`s_c / h_c` households.
    """
    return scenario.delivery_cost_usd_mwh + scenario.connection_cost_usd * _per_household(coef)


def net_value_usd_per_mwh(coef: Coefficients, scenario: Scenario) -> np.ndarray:
    r"""Per community, the yearly net value of each MWh delivered to households [USD/MWh]: its price less
    the delivery capital it takes, annualised.

    .. math:: p_h - \mathrm{CRF}(r, n_d)\, \kappa_c

    with :math:`p_h` the household price (``price_household_usd_mwh``), :math:`n_d` the delivery assets'
    life (``delivery_lifetime_years``) and :math:`\kappa_c` :func:`delivery_cost_usd_per_mwh`.
    """
    from dualuse.model.coefficients import capital_recovery_factor

    crf = capital_recovery_factor(scenario.discount_rate, scenario.delivery_lifetime_years)
    return scenario.price_household_usd_mwh - crf * delivery_cost_usd_per_mwh(coef, scenario)


def _net_benefit(coef: Coefficients, scenario: Scenario) -> KpiRow:
    """The net benefit's row: harvest value less yearly cost per pair, net value per MWh served, export price."""
    return _row([_pairs(coef, coef.harvest_value_usd_yr - coef.annual_cost_usd_yr),
                 _served(coef, net_value_usd_per_mwh(coef, scenario)),
                 (np.array([export_column(coef)]), np.array([scenario.price_export_usd_mwh]))])


def _net_benefit_scale(coef: Coefficients, scenario: Scenario) -> float:
    served = float(np.abs(net_value_usd_per_mwh(coef, scenario)) @ coef.demand_mwh) if coef.demand_mwh.size else 0.0
    return _most_per_parcel(coef, coef.harvest_value_usd_yr - coef.annual_cost_usd_yr) + served \
        + scenario.price_export_usd_mwh * min(scenario.grid_export_mwh, coef.max_energy_mwh)


def _land(coef: Coefficients) -> np.ndarray:
    """Per pair: is the parcel land for LDN (:attr:`~dualuse.model.coefficients.Coefficients.is_land`)?"""
    return kept(coef, "pair_is_land", ("land_type",), lambda: coef.is_land[coef.parcel])


def cost_scale_usd(coef: Coefficients, scenario: Scenario) -> float:
    """What the cost is measured against where it enters a unit-free objective (the tie-break) [USD].

    The cost of the costliest plan (:attr:`~dualuse.model.coefficients.Coefficients.max_cost_usd`:
    every parcel under its costliest eligible use, all demand delivered), at
    least USD 1.  It is read from the data alone, never from the budget, so
    that a budget that does not bind does not change the plan.
    """
    return max(coef.max_cost_usd, 1.0)


def _most_per_parcel(coef: Coefficients, values: np.ndarray) -> float:
    """Σ over parcels of the largest |value| any of its uses gives: the most a pair-based KPI can reach."""
    return max(float(np.maximum(0.0, largest(coef, np.abs(values))).sum()), 1.0)


def _today(coef: Coefficients, values: np.ndarray) -> float:
    """Σ of per-pair ``values`` over the current-use pairs: the region's value today."""
    return float(values[coef.use == USES.index("current")].sum())


def _area(coef: Coefficients, scenario: Scenario) -> float:
    return max(float(coef.area_ha.sum()), 1.0)


def _one(coef: Coefficients, scenario: Scenario) -> float:
    return 1.0


# --------------------------------------------------------------------------- THE KPI TABLE


@dataclass(frozen=True)
class Kpi:
    """One KPI: its row, unit and meaning.

    ``better`` is +1 when more is better, −1 when less is; ``magnitude`` is its
    largest plausible size (≥ 1), which scales an objective or an ε-row to order one.
    """

    name: str
    unit: str
    meaning: str
    row: Callable[[Coefficients, Scenario], KpiRow]
    magnitude: Callable[[Coefficients, Scenario], float] = _one
    better: int = +1


def _use_area(use: str) -> Kpi:
    k = USES.index(use)
    return Kpi(f"area_{use}_ha", "ha", f"area under {use}",
               lambda c, s: _row([_pairs(c, c.pair_area_ha, c.use == k)]), _area)


def _ldn_net_under(mode: str) -> Kpi:
    """The LDN balance the plan would have under one baseline assumption, whatever the constraint used."""
    return Kpi(f"ldn_net_{mode}_ha", "ha", f"counterbalancing gains − losses if the baseline trend is {mode} "
               "(ldn_baseline; water excluded)",
               lambda c, s: _row([_pairs(c, c.pair_area_ha * balance_class(c.ldn_class[mode]), _land(c))]), _area)


def _energy_scale(coef: Coefficients, scenario: Scenario) -> float:
    return max(coef.max_energy_mwh, 1.0)


def _households(coef: Coefficients, scenario: Scenario) -> float:
    return max(float(coef.households.sum()), 1.0)


#: Every KPI, in the order of the plan's summary table.
KPIS: tuple[Kpi, ...] = (
    Kpi("access", "share", "share of the unserved households' demand met",
        lambda c, s: _row([_served(c)], float(c.demand_mwh.sum()))),
    Kpi("energy", "share", "energy delivered (households + grid) over the region's most generation (every parcel "
        "under its most productive PV use)",
        lambda c, s: _row([_served(c), _export(c)], c.max_energy_mwh)),
    Kpi("productivity", "share", "harvest relative to today's",
        lambda c, s: _row([_pairs(c, c.productivity_t)], c.baseline_productivity_t)),
    Kpi("energy_mwh", "MWh/yr", "PV generation", lambda c, s: _row([_pairs(c, c.energy_mwh)]), _energy_scale),
    Kpi("delivered_mwh", "MWh/yr", "energy delivered to households and to the grid",
        lambda c, s: _row([_served(c), _export(c)]), _energy_scale),
    Kpi("served_mwh", "MWh/yr", "energy delivered to households", lambda c, s: _row([_served(c)]), _energy_scale),
    Kpi("export_mwh", "MWh/yr", "energy sent to the grid", lambda c, s: _row([_export(c)]), _energy_scale),
    Kpi("capacity_mwp", "MWp", "installed PV capacity", lambda c, s: _row([_pairs(c, c.capacity_mwp)]),
        lambda c, s: _most_per_parcel(c, c.capacity_mwp)),
    Kpi("households_served", "households", "households gaining access",
        lambda c, s: _row([_served(c, _per_household(c))]), _households),
    Kpi("unserved_households", "households", "households without electricity today",
        lambda c, s: _row([_served(c, -_per_household(c))], constant=float(c.households.sum())), _households, -1),
    Kpi("productivity_t", "t DM/yr", "harvest", lambda c, s: _row([_pairs(c, c.productivity_t)]),
        lambda c, s: _most_per_parcel(c, c.productivity_t)),
    Kpi("restored_ha", "ha", "area under restoration",
        lambda c, s: _row([_pairs(c, c.pair_area_ha, c.use == USES.index("restoration"))]), _area),
    Kpi("sdg_degraded_ha", "ha", "SDG 15.3.1 degraded area at the horizon (7-class status 1–3; water excluded)",
        lambda c, s: _row([_pairs(c, c.pair_area_ha, (c.sdg_status < 0) & _land(c))]), _area, -1),
    Kpi("sdg_improved_ha", "ha", "SDG 15.3.1 improved area at the horizon (7-class status 5–7; water excluded)",
        lambda c, s: _row([_pairs(c, c.pair_area_ha, (c.sdg_status > 0) & _land(c))]), _area),
    Kpi("ldn_gain_ha", "ha", "counterbalancing gains at the horizon (7-class status 6–7; water excluded)",
        lambda c, s: _row([_pairs(c, c.pair_area_ha, (c.ldn_status > 0) & _land(c))]), _area),
    Kpi("ldn_loss_ha", "ha", "counterbalancing losses at the horizon (7-class status 1–2; water excluded)",
        lambda c, s: _row([_pairs(c, c.pair_area_ha, (c.ldn_status < 0) & _land(c))]), _area, -1),
    Kpi("ldn_net_ha", "ha", "counterbalancing gains − losses under the scenario's ldn_baseline (water excluded)",
        lambda c, s: _row([_pairs(c, c.pair_area_ha * c.ldn_status, _land(c))]), _area),
    *(_ldn_net_under(mode) for mode in LDN_BASELINES),
    Kpi("soc_change_t", "t C", "change of the soil organic carbon stock over the horizon",
        lambda c, s: _row([_pairs(c, c.soc_change_t)]), lambda c, s: _most_per_parcel(c, c.soc_change_t)),
    Kpi("cost_usd", "USD", "capital cost of the plan, delivery and household connections included (in the "
        "objective: over the costliest plan's cost)",
        lambda c, s: _row([_pairs(c, c.cost_usd), _served(c, delivery_cost_usd_per_mwh(c, s))]), cost_scale_usd, -1),
    Kpi("net_benefit_usd_yr", "USD/yr", "net benefit: energy delivered to households and to the grid and the "
        "harvest at their prices, less the capital cost annualised (discount_rate, lifetimes) and operating costs",
        _net_benefit, _net_benefit_scale),
    Kpi("budget_usd", "USD", "budget", lambda c, s: _row([], constant=s.budget_usd),
        lambda c, s: max(s.budget_usd, 1.0)),
    *(_use_area(u) for u in USES),
    Kpi("livelihoods", "share", "land-based income of the region relative to today's",
        lambda c, s: _row([_pairs(c, c.income_usd_yr)], _today(c, c.income_usd_yr))),
    Kpi("income_usd_yr", "USD/yr", "land-based income: harvest value, PV lease and sales share to the communities, "
        "payments for ecosystem services and soil carbon", lambda c, s: _row([_pairs(c, c.income_usd_yr)]),
        lambda c, s: _most_per_parcel(c, c.income_usd_yr)),
    Kpi("jobs_fte", "FTE", "permanent work on the land: farming, herding, restoration, PV and mini-grid operation",
        lambda c, s: _row([_pairs(c, c.jobs_fte), _served(c, c.minigrid_fte_household * _per_household(c))]),
        lambda c, s: _most_per_parcel(c, c.jobs_fte)),
    Kpi("construction_job_years", "job-years", "work of building the plan's PV (once, not every year)",
        lambda c, s: _row([_pairs(c, c.construction_job_years)]),
        lambda c, s: _most_per_parcel(c, c.construction_job_years)),
)

KPI: dict[str, Kpi] = {k.name: k for k in KPIS}

#: KPI name -> (unit, meaning).  The order is the order of the summary table.
KPI_UNITS: dict[str, tuple[str, str]] = {k.name: (k.unit, k.meaning) for k in KPIS}


#: The KPI rows made so far, per coefficients object (dropped with it) and then by (scenario, KPI name).
_ROWS: weakref.WeakKeyDictionary[Coefficients, dict[tuple[Scenario, str], KpiRow]] = weakref.WeakKeyDictionary()


def forget_kpi_rows(coef: Coefficients) -> None:
    """Drop the KPI rows made for these coefficients: they are made again when asked for (0.2 s CPU at
    1,000,000 parcels), and need not be held while HiGHS solves (0.1 GiB there)."""
    _ROWS.pop(coef, None)


def kpi_row(coef: Coefficients, scenario: Scenario, name: str) -> KpiRow:
    """A KPI's row: its columns (in the model's column order), values, normaliser and constant.

    The row is made once per coefficients and scenario (the model, the plan's
    KPIs, its baseline and its break-evens all ask for the same rows); treat
    its arrays as read-only.  Raises KeyError for a name that is not in :data:`KPIS`.
    """
    spec = KPI[name]
    try:
        made = _ROWS.setdefault(coef, {})
        key = (scenario, name)
        if key not in made:
            made[key] = _sharing(spec.row(coef, scenario), list(made.values()))
        return made[key]
    except TypeError:  # coefficients or a scenario that cannot be a key
        return spec.row(coef, scenario)


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Are two arrays equal, element for element (their first elements compared first)?"""
    return a.shape == b.shape and a.dtype == b.dtype and bool((a[:64] == b[:64]).all()) and bool((a == b).all())


def _sharing(row: KpiRow, made: list[KpiRow]) -> KpiRow:
    """The row, its columns the very array of a row made before with the same columns, and then its values
    that row's where they are the same too (several KPIs share their pairs: one array, and one gather
    in :func:`evaluate_kpis`)."""
    for other in made:
        if _equal(row.columns, other.columns):
            values = other.values if _equal(row.values, other.values) else row.values
            return KpiRow(other.columns, values, row.normaliser, row.constant)
    return row


def evaluate_kpis(coef: Coefficients, scenario: Scenario, x: np.ndarray, served_mwh: np.ndarray,
                  export_mwh: float) -> dict[str, float]:
    """Every KPI at a solution (shares per pair, deliveries per community, export), in table order.

    Each is :meth:`KpiRow.evaluate`'s figure; the solution is gathered once
    per distinct column array, and a product once per distinct pair of arrays.
    """
    vector = column_vector(coef, x, served_mwh, export_mwh)
    rows = {k.name: kpi_row(coef, scenario, k.name) for k in KPIS}
    by_columns: dict[int, list[KpiRow]] = {}
    for row in rows.values():
        by_columns.setdefault(id(row.columns), []).append(row)
    products: dict[tuple[int, int], float] = {}
    for group in by_columns.values():
        if all(row.normaliser == 0 for row in group):
            continue
        taken = np.take(vector, group[0].columns)
        for row in group:
            if (id(row.columns), id(row.values)) not in products:
                products[id(row.columns), id(row.values)] = float(row.values @ taken)
        del taken
    return {name: 0.0 if row.normaliser == 0 else
            (products[id(row.columns), id(row.values)] + row.constant) / row.normaliser
            for name, row in rows.items()}
