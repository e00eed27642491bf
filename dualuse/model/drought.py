r"""The drought food floor: one land-use plan, its harvest held in the region's drought years.

With :math:`p_{s,j}` the harvest of pair :math:`j` in drought year
:math:`s` and :math:`P_{0,s}` today's harvest in that year
(:mod:`dualuse.model.drought_years`), the plan's *harvest ratio* in year
:math:`s` is

.. math:: h_s(x) = \frac{1}{P_{0,s}} \sum_j p_{s,j} x_j

(1 = the harvest today's land uses would give in that year).  The
scenario's ``drought_scope`` says how :math:`h` is held to the floor
:math:`\varphi_d` (``drought_food_floor``):

- ``every_scenario``: :math:`h_s(x) \ge \varphi_d` for every year;
- ``expected``: :math:`\sum_s \pi_s h_s(x) \ge \varphi_d`, with
  :math:`\pi_s` the years' probabilities;
- ``cvar``: the mean ratio of the worst :math:`\alpha` share of the years'
  probability (``cvar_alpha``) is at least :math:`\varphi_d`, linearised as
  Rockafellar and Uryasev (2000) do, with a free level :math:`\eta` and
  one excess :math:`z_s \ge 0` per year:

  .. math::
      \eta - \frac{1}{\alpha} \sum_s \pi_s z_s \ge \varphi_d, \qquad
      z_s - \eta + h_s(x) \ge 0 \quad \forall s

  At the optimum of the left side over :math:`\eta, z`, :math:`\eta` is the
  :math:`\alpha`-quantile of :math:`h` and the left side the mean of
  :math:`h` over the worst :math:`\alpha` of the probability, so the row
  holds exactly when that mean reaches :math:`\varphi_d`.  With
  :math:`\alpha = 1` it is the ``expected`` row; as :math:`\alpha \to 0`
  the worst year's.

Every row sums over the pairs (and, for ``cvar``, over the years' own
columns): coupling rows, which the structured solve takes as they are.  A
year in which today's land gives no harvest (:math:`P_{0,s} = 0`) has no
ratio and is left out, the others' probabilities scaled to sum to 1.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from dualuse.errors import UsageError
from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.drought_years import DroughtCoefficients
from dualuse.model.families import FamilyRows
from dualuse.model.rows import INF, Rows

#: The name of the one row of the ``expected`` scope and of the ``cvar`` scope.
EXPECTED = "expected"
CVAR = "cvar"


def drought_active(coef: Coefficients, scenario: Scenario) -> bool:
    """Does the scenario hold a drought floor over the region's drought years?"""
    return scenario.drought_food_floor > 0 and coef.drought is not None and bool(counted_years(coef.drought).size)


def drought_input_problem(coef: Coefficients, scenario: Scenario) -> tuple[str, str, str] | None:
    """What keeps a drought floor from having drought years to hold in: (table, problem, fix), or None."""
    if scenario.drought_food_floor <= 0:
        return None
    if coef.drought is None:
        return ("productivity_scenarios",
                f"drought_food_floor = {scenario.drought_food_floor:g} asks for a harvest floor in drought years, "
                "but the region has none: it lacks the table 'productivity_scenarios' (each parcel's productivity "
                "in each drought year) and with it the optional table 'scenarios' (their probabilities)",
                "add the drought years (`dualuse prepare --productivity-scenario NAME=FILE.tif`, or write the "
                "tables as README 'Planning for drought' describes), or set drought_food_floor = 0")
    if not counted_years(coef.drought).size:
        return ("productivity_scenarios",
                "no drought year of 'productivity_scenarios' has any harvest today, so drought_food_floor has "
                "nothing to hold", "check productivity_t_ha there, or set drought_food_floor = 0")
    return None


def check_drought_inputs(coef: Coefficients, scenario: Scenario, region_path: str = "") -> None:
    """Refuse a drought floor that has no drought years to hold in (a :class:`~dualuse.errors.UsageError`)."""
    problem = drought_input_problem(coef, scenario)
    if problem is not None:
        where = f"{region_path}: " if region_path else ""
        raise UsageError(f"{where}{problem[1]}; fix: {problem[2]}")


def counted_years(drought: DroughtCoefficients) -> np.ndarray:
    """The years that have a harvest ratio (today's harvest in the year above 0)."""
    return np.flatnonzero(drought.baseline_harvest_t > 0)


def counted_probability(drought: DroughtCoefficients) -> np.ndarray:
    """The probabilities of :func:`counted_years`, scaled to sum to 1 (equal when they sum to 0)."""
    years = counted_years(drought)
    weight = drought.probability[years]
    total = float(weight.sum())
    return weight / total if total > 0 else np.full(years.size, 1.0 / max(years.size, 1))


def ratio_rows(drought: DroughtCoefficients, years: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries (row, pair, value) of :math:`h_s(x)` for the given years, one row each in their order."""
    ratio = drought.harvest_t[years] / drought.baseline_harvest_t[years, None]
    row, pair = np.nonzero(ratio)
    return row, pair, ratio[row, pair]


def harvest_ratio(drought: DroughtCoefficients, x: np.ndarray) -> np.ndarray:
    """Per drought year, :math:`h_s(x)` of shares ``x`` per pair (NaN where today's harvest is 0)."""
    harvest = drought.harvest_t @ np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(drought.baseline_harvest_t > 0, harvest / drought.baseline_harvest_t, np.nan)


def lower_cvar(values: np.ndarray, probability: np.ndarray, alpha: float) -> float:
    """The mean of ``values`` over their worst (lowest) ``alpha`` share of ``probability``, the quantile's
    year counted with the part of its probability that the share takes."""
    order = np.argsort(values, kind="stable")
    weight = np.asarray(probability, dtype=float)[order]
    before = np.concatenate([[0.0], np.cumsum(weight)[:-1]])
    taken = np.clip(alpha - before, 0.0, weight)
    return float(taken @ np.asarray(values, dtype=float)[order] / alpha)


# --------------------------------------------------------------------------- builders


def drought_floor(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""The harvest in every drought year holds a share of today's harvest in that year.

    .. math:: \frac{1}{P_{0,s}} \sum_j p_{s,j} x_j \ge \varphi_d \quad \forall s

    Scope ``every_scenario``; a row per drought year with a harvest today.
    """
    if not drought_active(coef, scenario) or scenario.drought_scope != "every_scenario":
        return None
    drought = coef.drought
    assert drought is not None
    years = counted_years(drought)
    m.DROUGHT_YEARS = pyo.Set(initialize=[drought.names[s] for s in years.tolist()], ordered=True,
                              doc="drought years of the region")
    row, pair, value = ratio_rows(drought, years)
    rows = Rows.from_entries(row, pair, value, scenario.drought_food_floor, INF, years.size)
    return FamilyRows(rows, "harvest in each drought year / today's in that year ≥ φ_d", m.DROUGHT_YEARS)


def drought_expected(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""The probability-weighted harvest ratio of the drought years holds the floor.

    .. math:: \sum_s \pi_s \frac{1}{P_{0,s}} \sum_j p_{s,j} x_j \ge \varphi_d

    Scope ``expected``.
    """
    if not drought_active(coef, scenario) or scenario.drought_scope != EXPECTED:
        return None
    drought = coef.drought
    assert drought is not None
    row, pair, value = ratio_rows(drought, counted_years(drought))
    weighted = np.bincount(pair, weights=counted_probability(drought)[row] * value, minlength=coef.n_pairs)
    pairs = np.flatnonzero(weighted)
    return FamilyRows(Rows.single(pairs, weighted[pairs], lower=scenario.drought_food_floor),
                      "expected harvest ratio over the drought years ≥ φ_d")


def drought_cvar(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""The mean harvest ratio of the worst :math:`\alpha` of the drought years holds the floor.

    .. math:: \eta - \frac{1}{\alpha} \sum_s \pi_s z_s \ge \varphi_d

    Scope ``cvar``.  Adds the level :math:`\eta` (``m.drought_level``, free)
    and the excesses :math:`z_s \ge 0` (``m.drought_excess``, one per year)
    that :func:`drought_cvar_tail` ties to the harvest.
    """
    if not drought_active(coef, scenario) or scenario.drought_scope != CVAR:
        return None
    drought = coef.drought
    assert drought is not None
    years = counted_years(drought)
    names = [drought.names[s] for s in years.tolist()]
    m.DROUGHT_YEARS = pyo.Set(initialize=names, ordered=True, doc="drought years of the region")
    level = _columns(m, "drought_level", None, 1, (None, None), "the cvar_alpha-quantile of the harvest ratio")
    excess = _columns(m, "drought_excess", m.DROUGHT_YEARS, years.size, (0.0, None),
                      "how far each drought year's harvest ratio falls below the quantile")
    columns = np.concatenate([[level], excess + np.arange(years.size)])
    values = np.concatenate([[1.0], -counted_probability(drought) / scenario.cvar_alpha])
    return FamilyRows(Rows.single(columns, values, lower=scenario.drought_food_floor),
                      "mean harvest ratio of the worst cvar_alpha of the drought years ≥ φ_d")


def drought_cvar_tail(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""Each drought year's excess below the quantile (with :func:`drought_cvar`).

    .. math:: z_s - \eta + \frac{1}{P_{0,s}} \sum_j p_{s,j} x_j \ge 0 \quad \forall s
    """
    if not drought_active(coef, scenario) or scenario.drought_scope != CVAR:
        return None
    drought = coef.drought
    assert drought is not None
    years = counted_years(drought)
    form = m.matrix_form
    level, excess = form.first_column("drought_level"), form.first_column("drought_excess")
    row, pair, value = ratio_rows(drought, years)
    own = np.arange(years.size)
    rows = Rows.from_entries(np.concatenate([row, own, own]),
                             np.concatenate([pair, excess + own, np.full(years.size, level)]),
                             np.concatenate([value, np.ones(years.size), -np.ones(years.size)]),
                             0.0, INF, years.size)
    return FamilyRows(rows, "excess of each drought year below the quantile ≥ quantile − its harvest ratio",
                      m.DROUGHT_YEARS)


def _columns(m: pyo.ConcreteModel, name: str, index: pyo.Set | None, size: int,
             bounds: tuple[float | None, float | None], doc: str) -> int:
    """A continuous variable of the drought rows, registered as columns; its first column.  Rows stated
    without a model (:mod:`dualuse.model.breakeven`) only count its columns."""
    form = m.matrix_form
    if not isinstance(m, pyo.Block):
        first = len(form.columns)
        form.columns.extend([None] * size)
        form.variables.append((name, None, first, size))
        return first
    var = pyo.Var(index, bounds=bounds, doc=doc) if index is not None else pyo.Var(bounds=bounds, doc=doc)
    m.add_component(name, var)
    return form.add_variable(name, var)
