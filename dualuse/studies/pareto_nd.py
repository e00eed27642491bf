r"""Trade-off fronts between three or more KPIs, by the augmented ε-constraint method on a grid.

For KPIs :math:`f_1` (optimised) and :math:`f_2 … f_m` (held), all turned
to "more is better" by their sense :math:`\beta_k` (``cost_usd`` is
minimised):

1. the payoff table: each KPI optimised alone, :math:`\max \beta_k f_k +
   \delta \sum_{j \ne k} \beta_j f_j / M_j` (the others, scaled by their
   magnitudes :math:`M_j`, break ties so that no end is weakly dominated);
   its column :math:`k` gives the best :math:`f_k^*` and the worst
   :math:`f_k^-` (the payoff table's estimate of the nadir) of each KPI;
2. the grid: for every combination of ``points`` values of
   :math:`\varepsilon_k` evenly spaced from :math:`f_k^-` to :math:`f_k^*`
   (:math:`k = 2 … m`; ``points``:sup:`m − 1` solves),

   .. math::
       \max\; \beta_1 f_1 / M_1 + \delta \sum_{k \ge 2} \beta_k f_k / R_k
       \quad\text{s.t.}\quad \beta_k f_k \ge \beta_k \varepsilon_k \;(k \ge 2)

   with :math:`R_k = |f_k^* - f_k^-|` — the augmented ε-constraint method
   (AUGMECON, Mavrotas 2009): the small reward :math:`\delta`
   (:data:`AUGMENT`) on the held KPIs' surplus makes every solution
   efficient, not merely weakly efficient.  A combination beyond the front
   has no plan and is left out (counted as ``infeasible``);
3. adaptively, ``refine`` rounds: along every line of the grid (one
   :math:`\varepsilon_k` varying, the others fixed) the points where
   :math:`f_1` bends most — the middle point of three consecutive points
   farthest from the chord of its neighbours, in coordinates scaled to
   [0, 1] — get the midpoints of their two segments solved;
4. the points no other point dominates (:func:`non_dominated_nd`), with the
   knee marked (:func:`knee_nd`).

Every solve keeps the scenario's cost tie-break (and the restoration
boundary's penalty, when it has one), and is a task for the same executors
as a sweep.  Its objective and ε-rows are rows over the model's columns, so a
share-mode front takes the structured solve; the grid points along each of
its lines (:func:`grid_lines`) are solved in chains of neighbours, each
seeded with the coupling duals of the point before it, as the ε points of a
two-KPI front are (:class:`~dualuse.studies.pareto.FrontSolves`).  ``dualuse.pareto_nd(region, ["access", "productivity", "restored_ha"])``
is :func:`run_pareto_nd`.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from dualuse.errors import InfeasibleError, UsageError
from dualuse.files import atomic_write
from dualuse.inputs.catalogue import Catalogue
from dualuse.inputs.region import Region
from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.kpis import KPI_UNITS
from dualuse.studies.executor import describe_executor
from dualuse.studies.front_plots import plot_parallel, plot_projections
from dualuse.studies.pareto import (FRONT_STEM, PARETO_KPIS, SAME_POINT, FrontSolves, Solved, add_hold,
                                    kpi_coefficients, objective_row, open_front, set_front_objective)
from dualuse.studies.store import PLAN_STATUSES, PLANS_DIR, write_table
from dualuse.vocabulary import FRONT_TABLE

#: The reward :math:`\delta` on the held KPIs' scaled surplus (AUGMECON's 10⁻³).
AUGMENT = 1e-3
#: The picture of the front in parallel coordinates, beside ``front.png`` (the matrix of projections).
PARALLEL_PNG = "front_parallel.png"
#: A bend (distance from the chord, scaled to [0, 1]) below this is a straight front: nothing to refine.
STRAIGHT = 1e-3
#: The most solves a grid may ask for (points ** (m − 1) plus the refinements).
MOST_SOLVES = 2000


@dataclass(frozen=True)
class AugmentedEpsilon:
    """Optimise one KPI with others held at ε (or, with none held, a payoff-table end), the held KPIs'
    surplus rewarded by :data:`AUGMENT` (see the module docstring); ``apply`` replaces the objective.

    ``ranges`` are the held KPIs' ranges over the payoff table (their magnitudes where they do not vary);
    ``others`` are KPIs rewarded over their magnitudes without being held (the payoff table's tie-break).
    The objective and the ε-rows are stated as rows (:mod:`dualuse.model.rows`), one aggregate row over
    the pairs per held KPI, so the model keeps its shape and the structured solve applies.
    """

    optimise: str
    held: tuple[str, ...] = ()
    bounds: tuple[float, ...] = ()
    ranges: tuple[float, ...] = ()
    others: tuple[str, ...] = ()
    #: No single held bound (read by :class:`~dualuse.studies.pareto.FrontSolves`).
    bound: None = None

    def apply(self, m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
        objective = objective_row(m, coef, scenario, self.optimise)
        rewarded = [(k, r) for k, r in zip(self.held, self.ranges)] + [(k, 0.0) for k in self.others]
        for kpi, spread in rewarded:
            held, _, magnitude = kpi_coefficients(m, coef, scenario, kpi)
            spread = spread if spread > SAME_POINT * magnitude else magnitude  # a KPI that does not vary
            objective += AUGMENT * PARETO_KPIS[kpi] * held / spread
        set_front_objective(m, objective, f"{self.optimise}, the held KPIs' surplus rewarded")
        for kpi, bound in zip(self.held, self.bounds):
            add_hold(m, coef, scenario, f"epsilon_{kpi}", kpi, bound)

    def key(self) -> str:
        return json.dumps({"optimise": self.optimise, "held": list(self.held), "others": list(self.others),
                           "bounds": [float(f"{b:.15g}") for b in self.bounds],
                           "ranges": [float(f"{r:.15g}") for r in self.ranges], "augment": AUGMENT}, sort_keys=True)


def non_dominated_nd(values: np.ndarray, senses: Sequence[int], tolerance: float = SAME_POINT) -> np.ndarray:
    """Boolean mask of the rows of ``values`` (points × KPIs) that no other row dominates, one of each
    near-duplicate kept.

    Row q dominates row p when it is at least as good in every KPI and better
    in one by more than ``tolerance`` times that KPI's magnitude (differences
    smaller than that are the solver's, not the plans'); of near-duplicates
    the one best in the first KPI (then the second, …) is kept.
    """
    v = np.asarray(values, dtype=float) * np.asarray(senses, dtype=float)
    if v.size == 0:
        return np.zeros(len(v), dtype=bool)
    t = tolerance * np.maximum(np.maximum(np.abs(v).max(axis=0), np.ptp(v, axis=0)), 1e-12)
    order = np.lexsort(tuple(-v[:, k] for k in reversed(range(v.shape[1]))))
    rank = np.empty(len(v), dtype=int)
    rank[order] = np.arange(len(v))
    keep = np.ones(len(v), dtype=bool)
    for p in order:
        at_least = np.all(v >= v[p] - t, axis=1)
        better = np.any(v > v[p] + t, axis=1)
        at_least[p] = False
        if (at_least & better).any() or (at_least & ~better & keep & (rank < rank[p])).any():
            keep[p] = False
    return keep


def knee_nd(values: np.ndarray, senses: Sequence[int]) -> tuple[int | None, np.ndarray]:
    """The knee of a front in any number of KPIs, and every point's distance to the extremes' hyperplane.

    Each KPI is scaled to [0, 1] over the front, 1 its best; the front's
    extremes are, for each KPI, the point best in it (ties: best in the sum
    of the others).  The knee is the point farthest from the hyperplane
    through the extremes on the side of the ideal point (1, …, 1): the
    plan that gains most over a straight trade-off between the ends.  With
    two KPIs that hyperplane is the chord between the ends.  KPIs that do not
    vary are left out; a front of fewer points than varying KPIs plus one,
    or whose farthest point is within :data:`STRAIGHT` of the hyperplane,
    has no knee (None).  Extremes that do not span a hyperplane (one point
    best in two KPIs) are fitted by least squares.
    """
    v = np.asarray(values, dtype=float) * np.asarray(senses, dtype=float)
    n = len(v)
    distance = np.full(n, np.nan)
    if n == 0:
        return None, distance
    span = np.ptp(v, axis=0)
    varying = span > 0
    k = int(varying.sum())
    if k < 2 or n < k + 1:
        return None, distance
    u = (v[:, varying] - v[:, varying].min(axis=0)) / span[varying]
    extremes = [int(np.lexsort((u.sum(axis=1) - u[:, j], u[:, j]))[-1]) for j in range(k)]
    normal, *_ = np.linalg.lstsq(u[extremes], np.ones(k), rcond=None)
    if not np.all(np.isfinite(normal)) or np.linalg.norm(normal) == 0:
        normal = np.ones(k)
    offset = float(np.mean(u[extremes] @ normal))
    if normal.sum() < offset:  # the ideal point on the positive side
        normal, offset = -normal, -offset
    distance = (u @ normal - offset) / float(np.linalg.norm(normal))
    best = int(np.argmax(distance))
    return (best if distance[best] > STRAIGHT else None), distance


@dataclass
class ParetoFrontND:
    """A front between three or more KPIs.

    Attributes
    ----------
    points : DataFrame — the non-dominated points, with every KPI, the ε of each held KPI, ``knee`` and
        ``knee_distance``
    kpis : tuple of str — the optimised KPI first, then the held ones
    optimum, worst : dict — each KPI's best and worst in the payoff table
    knee : int or None — row of ``points`` at the knee
    solves, infeasible, failed : int — ε-solves made, without a plan because the ε were beyond the front, and
        without a plan for another reason
    """

    points: pd.DataFrame
    kpis: tuple[str, ...]
    optimum: dict[str, float]
    worst: dict[str, float]
    knee: int | None
    solves: int = 0
    infeasible: int = 0
    failed: int = 0
    output: Path | None = None
    files: list[Path] = field(default_factory=list)


def check_kpis(kpis: Sequence[str], points: int) -> None:
    """Refuse an unknown or repeated KPI, fewer than three, or fewer than two points (UsageError)."""
    for kpi in kpis:
        if kpi not in PARETO_KPIS:
            raise UsageError(f"no trade-off front for '{kpi}'; choose among {', '.join(PARETO_KPIS)}")
    if len(set(kpis)) != len(kpis):
        raise UsageError(f"a KPI is named twice ({', '.join(kpis)}); name each once")
    if len(kpis) < 3:
        raise UsageError("a front in several dimensions needs three KPIs or more (two: `dualuse pareto "
                         "--maximise A --against B`)")
    if points < 2:
        raise UsageError(f"--points must be 2 or more (got {points})")
    if points ** (len(kpis) - 1) > MOST_SOLVES:
        raise UsageError(f"{points} points for {len(kpis) - 1} held KPIs are {points ** (len(kpis) - 1):,} "
                         f"solves (at most {MOST_SOLVES:,}): lower --points")


def run_pareto_nd(region: str | os.PathLike[str] | Region, kpis: Sequence[str], points: int = 5,
                  executor: Executor | None = None, *, refine: int = 0, scenario: Scenario | None = None,
                  catalogue: str | os.PathLike[str] | Catalogue | None = None, layer: str | None = None,
                  output: str | os.PathLike[str] | None = None, plans: bool = True, progress: bool | None = None,
                  log: Callable[[str], None] | None = None, seed_duals: bool = True) -> ParetoFrontND:
    """The front between three or more KPIs (see the module docstring for the method).

    Parameters
    ----------
    region : a region GeoPackage or a Region already read
    kpis : the KPI optimised, then the KPIs held at ε (of :data:`~dualuse.studies.pareto.PARETO_KPIS`)
    points : ε values per held KPI, ends included (``points ** (len(kpis) − 1)`` grid solves)
    refine : rounds of adaptive refinement where the front bends (each at most ``points`` bends, two solves each)
    executor : any :class:`concurrent.futures.Executor` [default: a local process pool]
    scenario : the base scenario [default: the default scenario]; its weights are replaced, all else kept
    output : front folder: ``front.gpkg`` (table ``front``), ``front.csv``, ``front.png`` (the matrix of
        two-KPI projections), ``front_parallel.png``, ``plans/<id>.gpkg``
    seed_duals : start each grid point's structured solve from the coupling duals of the point before it on
        its grid line (:func:`grid_lines`), in chains fixed by the grid (the refinement's midpoints, scattered
        over the grid, are not seeded); the points are the same either way

    Raises
    ------
    UsageError — unknown, repeated or too few KPIs, too few points
    InfeasibleError — the base scenario has no plan at all
    """
    say = log or (lambda text: None)
    kpis = tuple(kpis)
    check_kpis(kpis, points)
    total = len(kpis) + points ** (len(kpis) - 1)
    with open_front(region, catalogue, layer, scenario, output, plans, executor, total, progress,
                    seed_duals) as solves:
        say(f"front of {kpis[0]} against {', '.join(kpis[1:])}: {total} solves on "
            f"{describe_executor(solves.executor)}" + (f", then up to {refine} refinement round(s)" if refine else ""))
        best, worst = payoff_table(solves, kpis)
        grid = solve_grid(solves, kpis, points, best, worst)
        for _ in range(refine):
            if not refine_bends(solves, kpis, grid, points, best, worst):
                break
    folder = solves.folder
    front = gather_front_nd(solves.solved, kpis, best, worst, solves.base, solves.want_plan, folder)
    if folder is not None:
        write_front_nd(folder, front)
    return front


def payoff_table(solves: FrontSolves, kpis: tuple[str, ...]) -> tuple[dict[str, float], dict[str, float]]:
    """Step 1: each KPI optimised alone (the others breaking ties); each KPI's best and worst over them."""
    rows = solves.run([(f"best {k}", AugmentedEpsilon(k, others=tuple(j for j in kpis if j != k))) for k in kpis])
    for row in rows:
        if row["status"] not in PLAN_STATUSES:
            raise InfeasibleError(f"the base scenario has no plan ({row['status']}): {row['message']}")
    best = {k: float(row[k]) for k, row in zip(kpis, rows)}
    worst = {k: (min if PARETO_KPIS[k] > 0 else max)(float(row[k]) for row in rows) for k in kpis}
    return best, worst


def _epsilons(kpi: str, points: int, best: dict[str, float], worst: dict[str, float]) -> np.ndarray:
    return np.linspace(worst[kpi], best[kpi], points)


def _grid_task(kpis: tuple[str, ...], bounds: Sequence[float], best: dict[str, float],
               worst: dict[str, float]) -> AugmentedEpsilon:
    held = kpis[1:]
    return AugmentedEpsilon(kpis[0], held, tuple(float(b) for b in bounds),
                            tuple(abs(best[k] - worst[k]) for k in held))


def solve_grid(solves: FrontSolves, kpis: tuple[str, ...], points: int, best: dict[str, float],
               worst: dict[str, float]) -> dict[tuple[float, ...], dict[str, Any]]:
    """Step 2: every combination of ε on the grid; returns the rows by their ε (a KPI that does not vary
    over the payoff table is held at its one value)."""
    axes = [_epsilons(k, points, best, worst) if best[k] != worst[k] else np.array([best[k]]) for k in kpis[1:]]
    combos = [tuple(float(e) for e in combo) for combo in itertools.product(*axes)]
    solves.bar.total = solves.bar.done + len(combos)
    rows = solves.run([("ε", _grid_task(kpis, combo, best, worst)) for combo in combos],
                      lines=grid_lines(combos, [axis.size for axis in axes]))
    return dict(zip(combos, rows))


def grid_lines(combos: Sequence[tuple[float, ...]], sizes: Sequence[int]) -> list[list[int]]:
    """The grid's lines along its last axis of more than one ε (all of them if none has): the positions
    in ``combos`` of the points that share every other ε, in their order along that axis."""
    varying = [k for k, size in enumerate(sizes) if size > 1]
    axis = varying[-1] if varying else len(sizes) - 1
    lines: dict[tuple[float, ...], list[int]] = {}
    for position, combo in enumerate(combos):
        lines.setdefault(combo[:axis] + combo[axis + 1:], []).append(position)
    return [sorted(line, key=lambda k: combos[k][axis]) for line in lines.values()]


def bends(kpis: tuple[str, ...], grid: dict[tuple[float, ...], dict[str, Any]], best: dict[str, float],
          worst: dict[str, float]) -> list[tuple[float, tuple[float, ...], tuple[float, ...], tuple[float, ...]]]:
    """Along every grid line, each three consecutive points with a plan: (bend, before, middle, after), the
    bend being the middle point's distance from the chord of the others (ε and the optimised KPI scaled
    to [0, 1]), largest first."""
    first = kpis[0]
    spread = abs(best[first] - worst[first]) or 1.0
    solved = {eps: row for eps, row in grid.items() if row["status"] in PLAN_STATUSES}
    out = []
    for axis, kpi in enumerate(kpis[1:]):
        width = abs(best[kpi] - worst[kpi])
        if width <= 0:
            continue
        lines: dict[tuple[float, ...], list[tuple[float, ...]]] = {}
        for eps in solved:
            lines.setdefault(eps[:axis] + eps[axis + 1:], []).append(eps)
        for line in lines.values():
            line.sort(key=lambda e: e[axis])
            for before, middle, after in zip(line, line[1:], line[2:]):
                (u0, u1, u2) = ((e[axis] - worst[kpi]) / width for e in (before, middle, after))
                (v0, v1, v2) = (float(solved[e][first]) / spread for e in (before, middle, after))
                chord = math.hypot(u2 - u0, v2 - v0)
                bend = abs((u2 - u0) * (v1 - v0) - (v2 - v0) * (u1 - u0)) / chord if chord else 0.0
                out.append((bend, before, middle, after))
    out.sort(key=lambda item: -item[0])
    return out


def refine_bends(solves: FrontSolves, kpis: tuple[str, ...], grid: dict[tuple[float, ...], dict[str, Any]],
                 points: int, best: dict[str, float], worst: dict[str, float]) -> bool:
    """Step 3, one round: the midpoints on either side of the ``points`` sharpest bends, solved and added to
    ``grid``; False when the front is straight everywhere (nothing added)."""
    new: list[tuple[float, ...]] = []
    for bend, before, middle, after in bends(kpis, grid, best, worst):
        if bend <= STRAIGHT or len(new) >= 2 * points:
            break
        axis = next(k for k in range(len(middle)) if before[k] != middle[k])
        for other in (before, after):
            mid = middle[:axis] + ((middle[axis] + other[axis]) / 2.0,) + middle[axis + 1:]
            if mid not in grid and mid not in new:
                new.append(mid)
    if not new:
        return False
    solves.bar.total = solves.bar.done + len(new)
    rows = solves.run([("ε refined", _grid_task(kpis, eps, best, worst)) for eps in new])
    grid.update(zip(new, rows))
    return True


def gather_front_nd(solved: list[Solved], kpis: tuple[str, ...], best: dict[str, float], worst: dict[str, float],
                    base: Scenario, want_plan: bool, folder: Path | None) -> ParetoFrontND:
    """Step 4: the non-dominated points (ordered by the first held KPI, then the others), the knee marked."""
    ok = [(role, adj, row) for role, _, adj, row in solved if row["status"] in PLAN_STATUSES]
    infeasible = sum(1 for *_, row in solved if row["status"] == "infeasible")
    failed = sum(1 for *_, row in solved if row["status"] not in PLAN_STATUSES) - infeasible
    values = np.array([[row[k] for k in kpis] for *_, row in ok], dtype=float).reshape(len(ok), len(kpis))
    keep = non_dominated_nd(values, [PARETO_KPIS[k] for k in kpis])
    records = [_record(role, adj, row, kpis, base, want_plan) for (role, adj, row), kept in zip(ok, keep) if kept]
    frame = pd.DataFrame.from_records(records)
    knee_row = None
    if not frame.empty:
        frame = frame.sort_values(list(kpis[1:]) + [kpis[0]], kind="stable").reset_index(drop=True)
        frame.insert(0, "point", np.arange(len(frame)))
        knee_row, distance = knee_nd(frame[list(kpis)].to_numpy(), [PARETO_KPIS[k] for k in kpis])
        frame["knee_distance"] = distance
        frame["knee"] = False
        if knee_row is not None:
            frame.loc[knee_row, "knee"] = True
    return ParetoFrontND(points=frame, kpis=kpis, optimum=best, worst=worst, knee=knee_row, solves=len(solved),
                         infeasible=infeasible, failed=failed, output=folder)


def _record(role: str, adj: AugmentedEpsilon, row: dict[str, Any], kpis: tuple[str, ...], base: Scenario,
            want_plan: bool) -> dict[str, Any]:
    """One point's row of the front table."""
    record: dict[str, Any] = {"id": row["id"], "role": role, "kpis": ",".join(kpis), "optimised": adj.optimise,
                              "held": ",".join(adj.held)}
    bounds = dict(zip(adj.held, adj.bounds))
    record.update({f"epsilon_{k}": bounds.get(k, math.nan) for k in kpis[1:]})
    record.update(status=row["status"], objective=row["objective"])
    record.update({k: row.get(k, math.nan) for k in KPI_UNITS})
    record.update({k: v for k, v in row.items() if k.startswith("shadow_")})
    record["solve_s"] = row.get("solve_s", math.nan)
    record["solve_cpu_s"] = row.get("solve_cpu_s", math.nan)
    record["seeded"] = bool(row.get("seeded", False))
    record["structured_rounds"] = int(row.get("structured_rounds", 0))
    record["plan"] = f"{PLANS_DIR}/{row['id']}.gpkg" if want_plan else ""
    record["scenario"] = base.to_json()
    return record


def write_front_nd(folder: Path, front: ParetoFrontND) -> None:
    """``front.gpkg`` (table ``front`` and its columns' units), ``front.csv``, ``front.png`` (the matrix of
    two-KPI projections) and ``front_parallel.png``."""
    kpis = front.kpis
    described = {
        "point": ("—", f"position on the front, ordered by {', '.join(kpis[1:])}"),
        "role": ("—", "payoff-table end (best of one KPI), ε (a grid point) or ε refined (added where the front "
                      "bends)"),
        "kpis": ("—", "the KPIs of the front: the optimised one first, then those held at ε"),
        "optimised": ("—", "the KPI this point's solve optimised"),
        "held": ("—", "the KPIs this point's solve held at ε (empty: none)"),
        **{f"epsilon_{k}": (KPI_UNITS[k][0], f"the bound at which {k} was held (NaN: not held)") for k in kpis[1:]},
        "knee_distance": ("—", "distance from the hyperplane through the front's extremes, every KPI scaled to "
                               "[0, 1] over the front (1 best); positive toward the ideal point"),
        "solve_cpu_s": ("s", "CPU time of the worker's process for this point's solve"),
        "knee": ("bool", "the point farthest from the extremes' hyperplane toward the ideal point"),
    }
    write_table(folder, FRONT_STEM, FRONT_TABLE, front.points, {}, described)
    senses = {k: PARETO_KPIS[k] for k in kpis}
    atomic_write(folder / f"{FRONT_STEM}.png", plot_projections(front.points, kpis, senses, front.knee))
    atomic_write(folder / PARALLEL_PNG, plot_parallel(front.points, kpis, senses, front.knee))
    front.files = [folder / f"{FRONT_STEM}.gpkg", folder / f"{FRONT_STEM}.csv", folder / f"{FRONT_STEM}.png",
                   folder / PARALLEL_PNG]
