"""The LP of one scenario straight from the families' arrays, without a Pyomo model.

:func:`~dualuse.model.build.build_model` states every constraint family as
numpy arrays first (:class:`~dualuse.model.rows.Rows`) and then makes a Pyomo
constraint of each row; the hand-over passes the arrays, not the Pyomo rows,
to HiGHS.  When nobody needs the Pyomo model (``dualuse solve``, a sweep's or a
front's scenario without an adjustment, no ``--write-lp``), :func:`direct_lp`
calls the same builders, in the same order, on a stand-in that holds only
what they read (the index sets, the named totals' rows), and assembles the
same arrays: the same matrix, bounds and costs, entry for entry
(``tests/test_direct.py``), in a fraction of the time and memory (at
1,000,000 parcels the Pyomo model takes about 45 s and 2.5 GiB).

A builder that needs more of the model than the stand-in holds (one that
adds variables, such as the plant switches of ``min_plant_mwp``, or reads a
component the stand-in does not have) makes :func:`direct_lp` return None,
and the caller builds the Pyomo model, where the same builder runs again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.family_table import FAMILIES
from dualuse.model.kpis import forget_kpi_rows, kpi_row
from dualuse.model.memo import forget
from dualuse.model.objective import weighted_objective_rows
from dualuse.model.rows import Rows
from dualuse.solve.handover import INF, CompiledModel, Handover, LpArrays, RowList


class NeedsModel(Exception):
    """A builder asked the stand-in for something only a Pyomo model has."""


class _Form:
    """What builders read of ``m.matrix_form``: the named totals' rows; adding a variable is refused."""

    def __init__(self, totals: dict[str, Rows]) -> None:
        self._totals = totals

    def total_rows(self, name: str) -> Rows:
        return self._totals[name]

    def add_variable(self, name: str, component: Any) -> int:
        raise NeedsModel(f"a builder adds the variable {name}")

    def first_column(self, name: str) -> int:
        raise NeedsModel(f"a builder reads the variable {name}")


class StandIn:
    """What the builders of :data:`~dualuse.model.family_table.FAMILIES` see in place of the Pyomo model.

    It has the index sets ``PAIRS``, ``PARCELS`` and ``COMMUNITIES``, keeps
    (constructed) the sets a builder adds, answers ``component(name)`` for
    those, and raises :class:`NeedsModel` for anything else.
    """

    def __init__(self, coef: Coefficients, totals: dict[str, Rows]) -> None:
        parts = {"matrix_form": _Form(totals), "PAIRS": range(coef.n_pairs), "PARCELS": range(coef.n_parcels),
                 "COMMUNITIES": range(int(coef.demand_mwh.size))}
        object.__setattr__(self, "_parts", parts)

    def __getattr__(self, name: str) -> Any:
        parts = object.__getattribute__(self, "_parts")
        if name in parts:
            return parts[name]
        raise NeedsModel(f"a builder reads m.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        if not isinstance(value, pyo.Set):
            raise NeedsModel(f"a builder adds m.{name}")
        value.construct()
        self._parts[name] = value

    def component(self, name: str) -> Any:
        return self._parts.get(name)


def direct_lp(coef: Coefficients, scenario: Scenario) -> CompiledModel | None:
    """The scenario's LP as :func:`~dualuse.solve.handover.compile_model` would pass it from the built model,
    made without one; None when a family needs the Pyomo model, or the objective mode is ``priorities``
    (its levels change the model between solves).

    The compiled model has no Pyomo objects: its ``row_names`` name the rows
    after the parcels, and it is what a released model leaves
    (:meth:`~dualuse.solve.handover.CompiledModel.detach`).
    """
    if scenario.objective_mode not in ("weighted", "net_benefit"):
        return None
    n_comm = int(coef.demand_mwh.size)
    n_cols = coef.n_pairs + n_comm + 1
    totals = {name: Rows.single(row.columns, row.values)
              for name, row in ((name, kpi_row(coef, scenario, name)) for name in ("cost_usd", "productivity_t"))}
    m = StandIn(coef, totals)
    counts, columns, values, lower, upper = [], [], [], [], []
    names: list[tuple[str, Any]] = []
    try:
        for family in FAMILIES:
            stated = family.builder(m, coef, scenario)
            if stated is None:
                continue
            if family.structure == "breaks":
                return None  # the generic path, which the Pyomo build's hand-over records with its reason
            rows = stated.rows
            row_counts = np.diff(rows.indptr)
            if (row_counts == 0).any():
                return None  # the Pyomo path drops a row that holds, or says which row cannot
            counts.append(row_counts)
            columns.append(rows.column)
            values.append(rows.value)
            lower.append(rows.lower)
            upper.append(rows.upper)
            if family.name != "allocation":
                index = [None] if stated.index is None else list(stated.index)
                names.extend((family.name, k) for k in index)
    except Exception:  # NeedsModel, or a builder that expects more of the model: the Pyomo build says
        return None
    finally:
        forget(coef, "ldn_rows")  # the LP holds its own copy while HiGHS solves
    cost = _objective_cost(coef, scenario, n_cols)
    forget_kpi_rows(coef)  # made again for the plan's KPIs
    col_upper = np.concatenate([np.ones(coef.n_pairs), coef.demand_mwh.astype(float),
                                [float(scenario.grid_export_mwh)]])
    col_upper[~np.isfinite(col_upper)] = INF
    integral = np.concatenate([np.full(coef.n_pairs, scenario.mode == "whole"), np.zeros(n_cols - coef.n_pairs, bool)])
    row_lower, row_upper = np.concatenate(lower), np.concatenate(upper)
    indptr = np.zeros(row_lower.size + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=indptr[1:])
    arrays = LpArrays(pyo.maximize, 0.0, cost, np.zeros(n_cols), col_upper, row_lower, row_upper,
                      indptr.astype(np.int32),
                      np.concatenate(columns).astype(np.int32, copy=False),
                      np.concatenate(values).astype(float, copy=False), integral)
    no_variables = [None] * n_cols  # one list for both: neither is changed in place
    return CompiledModel(arrays=arrays, columns=no_variables,
                         rows=RowList([None] * row_lower.size, np.zeros(row_lower.size, dtype=np.int8)),
                         n_pairs=coef.n_pairs, n_parcels=coef.n_parcels, is_mip=bool(integral.any()),
                         handover=Handover.ARRAYS, own_columns=no_variables, row_names=names,
                         interface="the families' arrays -> highspy.passModel (no Pyomo model)")


def _objective_cost(coef: Coefficients, scenario: Scenario, n_cols: int) -> np.ndarray:
    """The objective's cost per column, as :func:`~dualuse.model.objective.add_objective` states it."""
    if scenario.objective_mode == "net_benefit":
        row = kpi_row(coef, scenario, "net_benefit_usd_yr")
        objective = Rows.single(row.columns, row.values)
    else:
        objective = weighted_objective_rows(coef, scenario, n_cols)
    # the entries added in turn from 0, as np.add.at adds them
    return np.bincount(objective.column, weights=objective.value, minlength=n_cols).astype(float, copy=False)
