"""The floor: dualuse's LP handed straight to highspy, with no modelling layer.

The same read (:func:`dualuse.inputs.region.read_region`), the same coefficients
(:func:`dualuse.model.coefficients.compute_coefficients`) and the same write
(:func:`dualuse.export.gpkg.write_plan`) as ``dualuse solve``; in between, the
LP of ``models/README.md`` is assembled here from the coefficient arrays
as one sparse matrix, written independently of :mod:`dualuse.model.build`, and
passed to HiGHS with the same options (:func:`dualuse.solve.highs.highs_options` and
:func:`dualuse.solve.highs.objective_scale`).
Whatever dualuse spends beyond this is the cost of the Pyomo model.

Only the share mode (an LP) without elastic rows is built: that is what
the benchmark measures.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from dualuse.export.gpkg import write_plan
from dualuse.inputs.catalogue import Catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients, compute_coefficients
from dualuse.plan import make_plan
from dualuse.solve.highs import (
    SolveResult,
    Status,
    highs_options,
    new_highs,
    objective_scale,
)
from dualuse.vocabulary import LAND_TYPES, USES

INF = highspy.kHighsInf


@dataclass
class FloorLp:
    """The LP as arrays (the constraint matrix column-wise), and the names of its aggregate rows."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    matrix: sp.csc_array
    n_pairs: int
    n_communities: int
    row_names: list[tuple[str, Any]]  # (family, group or None) for every row after the parcels

    def pass_to(self, h: highspy.Highs) -> None:
        """Hand the arrays to HiGHS in one call, as a maximisation with a column-wise matrix."""
        n_rows, n_cols = self.matrix.shape
        status = h.passModel(n_cols, n_rows, self.matrix.nnz, int(highspy.MatrixFormat.kColwise),
                             int(highspy.ObjSense.kMaximize), 0.0, self.cost, self.col_lower, self.col_upper,
                             self.row_lower, self.row_upper, self.matrix.indptr[:-1].astype(np.int32),
                             self.matrix.indices.astype(np.int32), self.matrix.data, np.zeros(n_cols, dtype=np.int32))
        if status != highspy.HighsStatus.kOk:
            raise RuntimeError(f"floor: HiGHS refused the model ({status})")


def floor_lp(coef: Coefficients, scenario: Scenario) -> FloorLp:
    """Assemble the LP from the coefficient arrays: columns ``x`` (pairs), ``served`` (communities), ``export``."""
    if scenario.mode != "share" or scenario.min_plant_mwp > 0:
        raise ValueError("the floor builds the share-mode LP only")
    n_pairs, n_parcels = coef.n_pairs, coef.n_parcels
    n_comm = coef.demand_mwh.size
    served = n_pairs + np.arange(n_comm)
    export = n_pairs + n_comm
    n_cols = export + 1
    pairs = np.arange(n_pairs)
    area = coef.area_ha[coef.parcel]
    eta = scenario.delivery_efficiency
    # per community, per MWh/yr delivered: the per-MWh delivery cost and one connection per household's demand
    kappa = scenario.delivery_cost_usd_mwh + scenario.connection_cost_usd * np.divide(
        1.0, coef.household_mwh, out=np.zeros_like(coef.household_mwh), where=coef.household_mwh > 0)

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lower: list[float] = []
    upper: list[float] = []
    names: list[tuple[str, Any]] = []
    n_rows = n_parcels

    def add(row_cols: np.ndarray, row_vals: np.ndarray, lo: float, hi: float, name: tuple[str, Any]) -> None:
        nonlocal n_rows
        keep = row_vals != 0
        if not keep.any():
            if lo > 0 or hi < 0:
                raise ValueError(f"row {name} cannot hold")
            return
        rows.append(np.full(int(keep.sum()), n_rows))
        cols.append(row_cols[keep])
        vals.append(row_vals[keep])
        lower.append(lo)
        upper.append(hi)
        names.append(name)
        n_rows += 1

    # every parcel wholly allocated
    rows.append(coef.parcel)
    cols.append(pairs)
    vals.append(np.ones(n_pairs))
    # budget
    budget_cols, budget_vals = [pairs], [coef.cost_usd]
    if n_comm and np.any(kappa > 0):
        budget_cols.append(served)
        budget_vals.append(kappa)
    add(np.concatenate(budget_cols), np.concatenate(budget_vals), -INF, scenario.budget_usd, ("budget", None))
    # LDN, per land type without water, or pooled
    water = LAND_TYPES.index("water")
    if scenario.ldn_scope != "off":
        weight = area * coef.ldn_status
        pair_type = coef.land_type[coef.parcel]
        if scenario.ldn_scope == "land_type":
            groups = [(LAND_TYPES[t], pair_type == t, coef.land_type == t)
                      for t in np.unique(coef.land_type).tolist() if t != water]
        else:
            groups = [("region", pair_type != water, coef.land_type != water)]
        for name, in_pairs, in_parcels in groups:
            add(pairs[in_pairs], weight[in_pairs], scenario.ldn_target * float(coef.area_ha[in_parcels].sum()), INF,
                ("ldn_neutrality", name))
    # energy access: each community from its own parcels, the grid takes the rest
    community = coef.community[coef.parcel]
    by_community = np.argsort(community, kind="stable")
    bounds = np.searchsorted(community[by_community], np.arange(n_comm + 1))
    for c in range(n_comm):  # a few hundred communities, not parcels
        members = by_community[bounds[c]:bounds[c + 1]]
        add(np.concatenate([[served[c]], members]), np.concatenate([[1.0], -eta * coef.energy_mwh[members]]),
            -INF, 0.0, ("community_supply", c))
    add(np.concatenate([[export], pairs, served]),
        np.concatenate([[1.0], -coef.energy_mwh, np.full(n_comm, 1.0 / eta)]), -INF, 0.0, ("energy_balance", None))
    # food floor
    if coef.baseline_productivity_t > 0 and scenario.food_floor > 0:
        add(pairs, coef.productivity_t, scenario.food_floor * coef.baseline_productivity_t, INF, ("food_floor", None))
    # policy caps
    if scenario.max_pv_share < 1:
        pv = np.isin(coef.use, (USES.index("solar"), USES.index("agrivoltaic")))
        add(pairs[pv], area[pv], -INF, scenario.max_pv_share * float(coef.area_ha.sum()), ("pv_cap", None))
    if scenario.min_restored_ha > 0:
        restored = coef.use == USES.index("restoration")
        add(pairs[restored], area[restored], scenario.min_restored_ha, INF, ("min_restored", None))

    matrix = sp.csc_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n_rows, n_cols))

    # objective: weighted unit-free KPIs, less the cost tie-break; each KPI total times its weight over
    # its normaliser (the same arithmetic, term for term, as the model's objective, so the LP is identical)
    demand = float(coef.demand_mwh.sum())
    cost_scale = max(coef.max_cost_usd, 1.0)
    served_weight = 0.0
    if demand > 0:
        served_weight += scenario.weight_access / demand
    if coef.max_energy_mwh > 0:
        served_weight += scenario.weight_energy / coef.max_energy_mwh
    harvest_weight = (scenario.weight_productivity / coef.baseline_productivity_t
                      if coef.baseline_productivity_t > 0 else 0.0)
    cost_weight = -scenario.weight_cost / cost_scale
    cost = np.zeros(n_cols)
    cost[:n_pairs] = harvest_weight * coef.productivity_t + cost_weight * coef.cost_usd
    cost[served] = np.where(kappa > 0, cost_weight * kappa, 0.0) + served_weight
    if coef.max_energy_mwh > 0:
        cost[export] = scenario.weight_energy / coef.max_energy_mwh

    return FloorLp(cost=cost, col_lower=np.zeros(n_cols),
                   col_upper=np.concatenate([np.ones(n_pairs), coef.demand_mwh, [scenario.grid_export_mwh]]),
                   row_lower=np.concatenate([np.ones(n_parcels), lower]),
                   row_upper=np.concatenate([np.ones(n_parcels), upper]), matrix=matrix, n_pairs=n_pairs,
                   n_communities=n_comm, row_names=names)


def solve_floor(floor: FloorLp, scenario: Scenario, timings: dict[str, float]) -> SolveResult:
    """Solve with highspy and the options dualuse uses; the result as dualuse's read-back gives it."""
    options = {**highs_options(scenario, False), "user_objective_scale": objective_scale(floor.cost)}
    h = new_highs(options)
    t = time.perf_counter()
    floor.pass_to(h)
    timings["handover_s"] = time.perf_counter() - t
    t = time.perf_counter()
    h.run()
    timings["highs_s"] = time.perf_counter() - t
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"floor: HiGHS stopped with {h.modelStatusToString(h.getModelStatus())}")
    t = time.perf_counter()
    solution = h.getSolution()
    values = np.asarray(solution.col_value)
    n_pairs, n_comm = floor.n_pairs, floor.n_communities
    duals: dict[str, Any] = {}
    n_rows, n_cols = floor.matrix.shape
    row_dual = np.asarray(solution.row_dual)[n_rows - len(floor.row_names):]
    for (family, group), dual in zip(floor.row_names, row_dual.tolist()):
        if group is None:
            duals[family] = dual
        else:
            duals.setdefault(family, {})[group] = dual
    result = SolveResult(
        status=Status.OPTIMAL, objective=float(h.getInfo().objective_function_value), gap=0.0,
        x=np.clip(values[:n_pairs], 0.0, 1.0), served_mwh=np.maximum(values[n_pairs:n_pairs + n_comm], 0.0) + 0.0,
        export_mwh=max(float(values[n_pairs + n_comm]), 0.0) + 0.0, duals=duals,
        solver={"name": "HiGHS", "version": f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}",
                "interface": "highspy.passModel of a scipy matrix (benchmark floor)",
                "options": {k: v for k, v in options.items() if k != "output_flag"},
                "model_status": h.modelStatusToString(h.getModelStatus())},
        size={"rows": n_rows, "columns": n_cols, "nonzeros": int(floor.matrix.nnz),
              "mip": 0})
    timings["readback_s"] = time.perf_counter() - t
    result.timings = dict(timings)
    return result


def run_floor(region_path: str | Path, output: str | Path, scenario: Scenario, catalogue: Catalogue
              ) -> tuple[SolveResult, dict[str, float]]:
    """Read, coefficients, the LP straight to highspy, plan, write: seconds per stage."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    region = read_region(region_path)
    timings["read_s"] = time.perf_counter() - start
    t = time.perf_counter()
    coef = compute_coefficients(region, catalogue, scenario)
    timings["coefficients_s"] = time.perf_counter() - t
    t = time.perf_counter()
    floor = floor_lp(coef, scenario)
    timings["build_s"] = time.perf_counter() - t
    result = solve_floor(floor, scenario, timings)
    t = time.perf_counter()
    plan = make_plan(region, catalogue, scenario, coef, result)
    timings["plan_s"] = time.perf_counter() - t
    t = time.perf_counter()
    write_plan(plan, output)
    timings["write_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - start
    if not math.isfinite(result.objective):
        raise RuntimeError("floor: no objective")
    return result, timings
