r"""Trade-off fronts between two KPIs by the ε-constraint method.

For KPIs :math:`f_A` (optimised) and :math:`f_B` (held):

1. solve each single-objective optimum: :math:`f_A^* = \max f_A`,
   :math:`f_B^* = \max f_B` (the KPI alone in the objective, with the
   scenario's small cost tie-break);
2. make each end lexicographic: the best :math:`f_B` with :math:`f_A` held
   at :math:`f_A^*`, and the best :math:`f_A` with :math:`f_B` held at
   :math:`f_B^*`, so that neither end is weakly dominated;
3. between them, :math:`\max f_A \;\text{s.t.}\; f_B \ge \varepsilon_k`
   for ``points`` values of :math:`\varepsilon` evenly spaced from the
   A-end's :math:`f_B` to :math:`f_B^*`;
4. keep the points that no other point dominates.

A KPI that is better when smaller (``cost_usd``) is minimised and held with
:math:`\le`.  Every solve is a task for the same executors as a sweep.

Each solve's objective and ε-row are stated as rows over the model's columns
(:mod:`dualuse.model.rows`): the objective only changes costs and the ε-row is
one more aggregate row, so a share-mode front takes the structured solve
(:mod:`dualuse.solve.structured`), as ``dualuse solve`` does.  The ε points of
step 3 are solved in the sweep's chains of neighbours
(:func:`~dualuse.studies.executor.chains`), in the order of their ε: each but
the first of its chain starts from the coupling duals of the point before it
instead of estimating them on a sample (:class:`FrontSolves`); the chains are
fixed by the front, so its plans do not depend on where it runs.

``dualuse.pareto(region, "access", "productivity", executor=...)`` is :func:`run_pareto`.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from dualuse.errors import InfeasibleError, UsageError, has_extra
from dualuse.files import atomic_write, prepare_folder
from dualuse.inputs.catalogue import Catalogue
from dualuse.inputs.region import Region
from dualuse.inputs.scenario import Scenario, load_scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.connectivity import penalty_terms
from dualuse.model.kpis import KPI, KPI_UNITS, cost_scale_usd, kpi_row
from dualuse.model.rows import INF, Rows, add_rows, set_objective
from dualuse.progress import Progress
from dualuse.studies.executor import (
    Task,
    chains,
    describe_executor,
    execute,
    open_executor,
    share,
)
from dualuse.studies.plots import format_axis
from dualuse.studies.spec import FIXED_IN_SWEEP, input_key, read_input, scenario_id
from dualuse.studies.store import PLAN_STATUSES, PLANS_DIR, ResultStore, write_table
from dualuse.vocabulary import FRONT_TABLE

#: The KPIs a front can pair: +1 if more is better (maximised), −1 if less is better (minimised).
PARETO_KPIS: dict[str, int] = {name: KPI[name].better for name in (
    "access", "energy", "productivity", "households_served", "restored_ha", "ldn_net_ha", "soc_change_t", "cost_usd",
    "livelihoods", "income_usd_yr", "jobs_fte")}
#: The file stem of a front's table and picture: ``front.gpkg``, ``front.csv``, ``front.png``.
FRONT_STEM = "front"
#: How far below its optimum a KPI is held at a lexicographic end (relative): only float rounding.
HOLD_TOLERANCE = 1e-9
#: KPI differences below this (relative to the KPI's magnitude) are within the solver's tolerances:
#: two points that close are the same point.
SAME_POINT = 1e-6


def check_tradeable(coef: Coefficients, kpi: str) -> None:
    """Refuse (UsageError) a KPI no front can trade off, or one the region cannot move."""
    if kpi not in PARETO_KPIS:
        raise UsageError(f"no trade-off front for '{kpi}'; choose among {', '.join(PARETO_KPIS)}")
    if kpi in ("access", "households_served") and float(coef.demand_mwh.sum()) <= 0:
        raise UsageError(f"{kpi} cannot be traded off: the region has no unserved demand (communities)")
    if kpi == "energy" and coef.max_energy_mwh <= 0:
        raise UsageError("energy cannot be traded off: no parcel can host PV")
    if kpi == "productivity" and coef.baseline_productivity_t <= 0:
        raise UsageError("productivity cannot be traded off: today's harvest is 0")


def kpi_coefficients(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario,
                     kpi: str) -> tuple[np.ndarray, float, float]:
    """A KPI over the built model's columns: its coefficient per column (dense), its constant and its
    magnitude (≥ 1), so that the KPI is ``coefficients · v + constant``; the same KPI as
    :func:`dualuse.model.objective.kpi_expression`, as arrays for :mod:`dualuse.model.rows`; refused
    when the region cannot trade it off."""
    check_tradeable(coef, kpi)
    row = kpi_row(coef, scenario, kpi)
    dense = np.zeros(len(m.matrix_form.columns))
    if row.normaliser:
        np.add.at(dense, row.columns, row.values / row.normaliser)
    constant = row.constant / row.normaliser if row.normaliser else 0.0
    return dense, constant, KPI[kpi].magnitude(coef, scenario)


def objective_row(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario, optimise: str) -> np.ndarray:
    """A front's objective over the model's columns (dense): ``sense · f/scale − w_cost · cost/B``, less
    the restoration boundary's penalty when the scenario has one.  The KPIs' constants (none of
    :data:`PARETO_KPIS` has one) move no plan and are left out."""
    body, _, scale = kpi_coefficients(m, coef, scenario, optimise)
    cost, _, _ = kpi_coefficients(m, coef, scenario, "cost_usd")
    objective = PARETO_KPIS[optimise] * body / scale - scenario.weight_cost * cost / cost_scale_usd(coef, scenario)
    penalty_columns, penalty_values = penalty_terms(m, coef, scenario)
    np.add.at(objective, penalty_columns, penalty_values)
    return objective


def set_front_objective(m: pyo.ConcreteModel, objective: np.ndarray, doc: str) -> None:
    """Replace the model's objective by ``max objective · v`` (dense over its columns), stated as a row."""
    used = np.flatnonzero(objective)
    m.del_component(m.objective)
    set_objective(m, Rows.single(used, objective[used]), pyo.maximize, doc)


def add_hold(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario, name: str, kpi: str,
             bound: float) -> None:
    r"""The ε-row ``β f/M ≥ β ε/M`` that holds a KPI at ``bound`` (β its sense, M its magnitude), one
    aggregate row over the model's columns."""
    held, constant, magnitude = kpi_coefficients(m, coef, scenario, kpi)
    sense = PARETO_KPIS[kpi]
    used = np.flatnonzero(held)
    add_rows(m, name, Rows.single(used, sense * held[used] / magnitude, sense * (bound - constant) / magnitude, INF),
             f"{kpi} held at ε")


@dataclass(frozen=True)
class EpsilonConstraint:
    """Optimise one KPI alone (the cost tie-break kept), optionally with another held at a bound.

    ``apply`` replaces the model's objective by ``sense · f/scale − w_cost · cost/B`` (less the
    restoration boundary's penalty, when the scenario has one) and adds ``epsilon: f_held/scale ≥ bound/scale``
    (≤ for a minimised KPI).  Both are stated as rows (:mod:`dualuse.model.rows`): the objective changes
    only costs and the ε-row is one more aggregate row over the pairs, so the model keeps its shape and
    the structured solve applies.
    """

    optimise: str
    held: str | None = None
    bound: float | None = None

    def apply(self, m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
        set_front_objective(m, objective_row(m, coef, scenario, self.optimise),
                            f"{self.optimise} alone, with the cost tie-break")
        if self.held is not None and self.bound is not None:
            add_hold(m, coef, scenario, "epsilon", self.held, self.bound)

    def key(self) -> str:
        return json.dumps({"optimise": self.optimise, "held": self.held,
                           "bound": None if self.bound is None else float(f"{self.bound:.15g}")}, sort_keys=True)


def non_dominated(a: np.ndarray, b: np.ndarray, sense_a: int = 1, sense_b: int = 1,
                  tolerance: float = SAME_POINT) -> np.ndarray:
    """Boolean mask of the points that no other point dominates (and one of each near-duplicate).

    A point q dominates p when it is at least as good in both KPIs and better
    in one by more than ``tolerance`` times that KPI's magnitude (differences
    smaller than that are the solver's, not the plans').  The points kept are
    also mutually non-dominated in exact arithmetic.
    """
    a = np.asarray(a, dtype=float) * sense_a
    b = np.asarray(b, dtype=float) * sense_b
    if a.size == 0:
        return np.zeros(0, dtype=bool)
    ta = tolerance * max(float(np.abs(a).max()), float(np.ptp(a)), 1e-12)
    tb = tolerance * max(float(np.abs(b).max()), float(np.ptp(b)), 1e-12)
    keep = np.ones(a.size, dtype=bool)
    order = np.lexsort((-b, -a))  # of near-duplicates, the one best in a (then b) is kept
    rank = np.empty(a.size, dtype=int)
    rank[order] = np.arange(a.size)
    for p in order:
        at_least = (a >= a[p] - ta) & (b >= b[p] - tb)
        better = (a > a[p] + ta) | (b > b[p] + tb)
        at_least[p] = False
        if (at_least & better).any() or (at_least & ~better & keep & (rank < rank[p])).any():
            keep[p] = False
    return keep


def knee(a: np.ndarray, b: np.ndarray) -> int | None:
    """Index of the knee of a front: the point farthest from the chord between its ends, in
    coordinates scaled to [0, 1]; None for fewer than three points or a straight front."""
    if len(a) < 3:
        return None
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    span_a, span_b = np.ptp(a), np.ptp(b)
    if span_a <= 0 or span_b <= 0:
        return None
    u, v = (a - a.min()) / span_a, (b - b.min()) / span_b
    order = np.argsort(v)
    u, v = u[order], v[order]
    du, dv = u[-1] - u[0], v[-1] - v[0]
    distance = np.abs(dv * (u - u[0]) - du * (v - v[0])) / math.hypot(du, dv)
    best = int(np.argmax(distance))
    return int(order[best]) if distance[best] > 1e-3 else None


@dataclass
class ParetoFront:
    """A trade-off front.

    Attributes
    ----------
    points : DataFrame — the non-dominated points, ordered by the held KPI (``against``), with every KPI
    maximise, against : str — the optimised and the held KPI
    optimum : dict — the single-objective optimum of each KPI (its value)
    knee : int or None — row of ``points`` at the knee
    failed : int — ε-solves without a plan (left out)
    output : Path or None — the front folder
    """

    points: pd.DataFrame
    maximise: str
    against: str
    optimum: dict[str, float]
    knee: int | None
    failed: int = 0
    output: Path | None = None
    files: list[Path] = field(default_factory=list)


def run_pareto(region: str | os.PathLike[str] | Region, maximise: str, against: str, points: int = 11,
               executor: Executor | None = None, *, scenario: Scenario | None = None,
               catalogue: str | os.PathLike[str] | Catalogue | None = None, layer: str | None = None,
               output: str | os.PathLike[str] | None = None, plans: bool = True, progress: bool | None = None,
               log: Callable[[str], None] | None = None, seed_duals: bool = True) -> ParetoFront:
    """The trade-off front between two KPIs (see the module docstring for the method).

    Parameters
    ----------
    region : a region GeoPackage or a Region already read
    maximise : the KPI optimised (one of :data:`PARETO_KPIS`; ``cost_usd`` is minimised)
    against : the KPI held at ε
    points : how many ε values span the front, ends included (≥ 2)
    executor : any :class:`concurrent.futures.Executor` [default: a local process pool]
    scenario : the base scenario [default: the default scenario]; its weights are replaced, all else kept
    output : front folder: ``front.gpkg`` (table ``front``), ``front.csv``, ``front.png``, ``plans/<id>.gpkg``
    seed_duals : start each ε point's structured solve from the coupling duals of the point before it along
        the front, in chains fixed by the front (:class:`FrontSolves`); the points are the same either way

    Raises
    ------
    UsageError — unknown or equal KPIs, too few points
    InfeasibleError — the base scenario has no plan at all
    """
    say = log or (lambda text: None)
    check_pair(maximise, against, points)
    with open_front(region, catalogue, layer, scenario, output, plans, executor, points + 2, progress,
                    seed_duals) as solves:
        say(f"front of {maximise} against {against}: {points + 2} solves on {describe_executor(solves.executor)}")
        optimum = trace_front(solves, maximise, against, points)
    folder = solves.folder
    result = gather_front(solves.solved, maximise, against, optimum, solves.base, solves.want_plan, folder)
    if folder is not None:
        write_front(folder, result, say)
    return result


def check_pair(maximise: str, against: str, points: int) -> None:
    """Refuse an unknown KPI, a KPI paired with itself, or fewer than two points (UsageError)."""
    for kpi in (maximise, against):
        if kpi not in PARETO_KPIS:
            raise UsageError(f"no trade-off front for '{kpi}'; choose among {', '.join(PARETO_KPIS)}")
    if maximise == against:
        raise UsageError(f"--maximise and --against are both '{maximise}'; pair two different KPIs")
    if points < 2:
        raise UsageError(f"--points must be 2 or more (got {points})")


#: A solve of a front: its role, the ε it held (NaN: none), its ε-constraint and its row.
Solved = tuple[str, float, EpsilonConstraint, dict[str, Any]]


@dataclass
class FrontSolves:
    """The solves of one front, run in batches on the executor (stored ones reused), and every row so far.

    With ``seed_duals``, the points of a batch that lie on one line of the front's grid (one ε varying,
    the same objective and held KPIs) are solved in the sweep's chains of neighbours
    (:func:`~dualuse.studies.executor.chains`): each but the first of its chain starts its structured
    solve from the coupling duals of the point before it.  Which point seeds which is fixed by the
    front alone, so that a front gives the same plans serially, on a process pool or on Dask.
    """

    base: Scenario
    key: str
    store: ResultStore | None
    want_plan: bool
    shared: Any
    executor: Executor
    bar: Progress
    folder: Path | None = None
    solved: list[Solved] = field(default_factory=list)
    seed_duals: bool = True

    def run(self, batch: Sequence[tuple[str, EpsilonConstraint]],
            lines: Sequence[Sequence[int]] = ()) -> list[dict[str, Any]]:
        """Solve a batch in parallel (reusing stored results); record and return its rows.  ``lines``: the
        positions in ``batch`` of each grid line's points, in their order along it, seeded one from
        another when ``seed_duals``."""
        ids = [scenario_id(self.base, self.key, adjustment.key()) for _, adjustment in batch]
        done: dict[str, dict[str, Any]] = {}
        for id_ in ids:
            stored = self.store.load(id_, self.want_plan) if self.store is not None else None
            if stored is not None:
                done[id_] = stored
        tasks: dict[str, Task] = {}
        for number, line in enumerate(lines if self.seed_duals else ()):
            members = [k for k in dict.fromkeys(line) if ids[k] not in tasks]  # each id once
            for link, chain in enumerate(chains(len(members), [ids[k] not in done for k in members])):
                for position, seed_only in chain:
                    k = members[position]
                    tasks[ids[k]] = self._task(ids[k], batch[k], f"line {number} chain {link}", seed_only)
        for id_, entry in zip(ids, batch):
            if id_ not in done and id_ not in tasks:
                tasks[id_] = self._task(id_, entry)
        self.bar.done += len(done)
        done.update(execute(list(tasks.values()), self.shared, self.executor, self.store, self.bar))
        out = []
        for (role, adjustment), id_ in zip(batch, ids):
            row = dict(done[id_]["row"])
            self.solved.append((role, math.nan if adjustment.bound is None else adjustment.bound, adjustment, row))
            out.append(row)
        return out

    def _task(self, id_: str, entry: tuple[str, EpsilonConstraint], chain: str = "", seed_only: bool = False) -> Task:
        role, adjustment = entry
        return Task(id=id_, scenario_json=self.base.to_json(), want_plan=self.want_plan and not seed_only,
                    adjustment=adjustment, run={"front_role": role}, chain=chain, seed_only=seed_only)


@contextlib.contextmanager
def open_front(region: str | os.PathLike[str] | Region, catalogue: str | os.PathLike[str] | Catalogue | None,
               layer: str | None, scenario: Scenario | None, output: str | os.PathLike[str] | None, plans: bool,
               executor: Executor | None, total: int, progress: bool | None,
               seed_duals: bool = True) -> Iterator[FrontSolves]:
    """The solves of a front (two KPIs or more): the input read, the base scenario with what a sweep fixes, the
    results folder and its store, the executor (a local pool unless given) with the input shared on it, and a
    progress bar of ``total`` solves, closed at the end; ``seed_duals`` as in :class:`FrontSolves`."""
    region, catalogue = read_input(region, catalogue, layer)
    base = (scenario or load_scenario()).replace(**FIXED_IN_SWEEP)
    folder = prepare_folder(output, [region.path]) if output is not None else None
    store = ResultStore(folder) if folder is not None else None
    with contextlib.ExitStack() as stack:
        if executor is None:
            executor = stack.enter_context(open_executor(plots=False))
        shared = stack.enter_context(share(region, catalogue, executor))
        bar = Progress(total, 0, enabled=progress, label="front")
        try:
            yield FrontSolves(base, input_key(region, catalogue), store, plans and folder is not None, shared,
                              executor, bar, folder, seed_duals=seed_duals)
        finally:
            bar.close()



def trace_front(solves: FrontSolves, maximise: str, against: str, points: int) -> dict[str, float]:
    """Solve the single-objective optima, the lexicographic ends and the ε points between them
    (steps 1–3 of the module docstring); returns each KPI's single-objective optimum."""
    sense_a, sense_b = PARETO_KPIS[maximise], PARETO_KPIS[against]
    best_a, best_b = solves.run([(f"best {maximise}", EpsilonConstraint(maximise)),
                                 (f"best {against}", EpsilonConstraint(against))])
    for row in (best_a, best_b):
        if row["status"] not in PLAN_STATUSES:
            raise InfeasibleError(f"the base scenario has no plan ({row['status']}): {row['message']}")
    a_star, b_star = float(best_a[maximise]), float(best_b[against])
    end_a, end_b = solves.run([
        (f"best {against} at best {maximise}", EpsilonConstraint(against, maximise, _hold(a_star, sense_a))),
        (f"best {maximise} at best {against}", EpsilonConstraint(maximise, against, _hold(b_star, sense_b))),
    ])
    low = float((end_a if end_a["status"] in PLAN_STATUSES else best_a)[against])
    high = float((end_b if end_b["status"] in PLAN_STATUSES else best_b)[against])
    epsilons = np.linspace(low, high, points)[1:-1]
    if abs(high - low) <= SAME_POINT * max(abs(high), abs(low), 1e-12):
        solves.bar.total = solves.bar.done  # no trade-off: one plan is best for both
    elif epsilons.size:
        solves.run([("ε", EpsilonConstraint(maximise, against, float(e))) for e in epsilons],
                   lines=[range(epsilons.size)])
    return {maximise: a_star, against: b_star}


def gather_front(solved: list[Solved], maximise: str, against: str, optimum: dict[str, float], base: Scenario,
                 want_plan: bool, folder: Path | None) -> ParetoFront:
    """The front of the solves: the non-dominated points, the knee marked (step 4 of the module docstring)."""
    front, failed = _front_frame(solved, maximise, against, base, want_plan)
    knee_row = knee(front[maximise].to_numpy(), front[against].to_numpy())
    front["knee"] = False
    if knee_row is not None:
        front.loc[knee_row, "knee"] = True
    return ParetoFront(points=front, maximise=maximise, against=against, optimum=optimum, knee=knee_row,
                       failed=failed, output=folder)


def write_front(folder: Path, front: ParetoFront, log: Callable[[str], None] | None = None) -> None:
    """``front.gpkg`` (table ``front`` and its columns' units), ``front.csv`` and, with matplotlib, ``front.png``."""
    maximise, against = front.maximise, front.against
    described = {
        "point": ("—", f"position along the front, from the best {maximise} to the best {against}"),
        "role": ("—", "single-objective end, or ε: the optimised KPI with the held one at ε"),
        "maximise": ("—", "the KPI the front optimises (cost_usd is minimised)"),
        "against": ("—", "the KPI held at ε"),
        "optimised": ("—", "the KPI this point's solve optimised"),
        "held": ("—", "the KPI this point's solve held at a bound (empty: none)"),
        "epsilon": ("unit of the held KPI", "the bound at which the held KPI was held (NaN: none)"),
        f"rate_{maximise}_per_{against}": (f"{KPI_UNITS[maximise][0]} per {KPI_UNITS[against][0]}",
                                           f"{maximise} given up per unit of {against} gained, to the next point"),
        "solve_cpu_s": ("s", "CPU time of the worker's process for this point's solve"),
        "knee": ("bool", "the point farthest from the chord between the ends (scaled to [0, 1])"),
    }
    write_table(folder, FRONT_STEM, FRONT_TABLE, front.points, {}, described)
    front.files = [folder / f"{FRONT_STEM}.gpkg", folder / f"{FRONT_STEM}.csv"]
    if not has_extra("report"):
        (log or (lambda text: None))(f"{FRONT_STEM}.png not drawn: matplotlib is not installed "
                                     "(pip install 'dualuse[report]')")
        return
    atomic_write(folder / f"{FRONT_STEM}.png", plot_front(front))
    front.files.append(folder / f"{FRONT_STEM}.png")


def _hold(optimum: float, sense: int) -> float:
    """The bound that holds a KPI at its optimum, less a hair so that the solver's tolerances fit."""
    slack = HOLD_TOLERANCE * max(abs(optimum), 1.0)
    return optimum - sense * slack


def _front_frame(solved: list[tuple[str, float, EpsilonConstraint, dict[str, Any]]], maximise: str, against: str,
                 base: Scenario, want_plan: bool) -> tuple[pd.DataFrame, int]:
    """The non-dominated points, ordered along the held KPI, with the slope of each segment."""
    ok = [(role, eps, adj, row) for role, eps, adj, row in solved if row["status"] in PLAN_STATUSES]
    failed = sum(1 for *_, row in solved if row["status"] not in PLAN_STATUSES)
    a = np.array([row[maximise] for *_, row in ok], dtype=float)
    b = np.array([row[against] for *_, row in ok], dtype=float)
    keep = non_dominated(a, b, PARETO_KPIS[maximise], PARETO_KPIS[against])
    records = []
    for (role, eps, adj, row), kept in zip(ok, keep):
        if not kept:
            continue
        record: dict[str, Any] = {"id": row["id"], "role": role, "maximise": maximise, "against": against,
                                  "optimised": adj.optimise, "held": adj.held or "", "epsilon": eps,
                                  "status": row["status"], "objective": row["objective"]}
        record.update({k: row.get(k, math.nan) for k in KPI_UNITS})
        record.update({k: v for k, v in row.items() if k.startswith("shadow_")})
        record["solve_s"] = row.get("solve_s", math.nan)
        record["solve_cpu_s"] = row.get("solve_cpu_s", math.nan)
        record["seeded"] = bool(row.get("seeded", False))
        record["structured_rounds"] = int(row.get("structured_rounds", 0))
        record["plan"] = f"{PLANS_DIR}/{row['id']}.gpkg" if want_plan else ""
        record["scenario"] = base.to_json()
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return frame, failed
    frame = frame.sort_values([against, maximise], ascending=[PARETO_KPIS[against] > 0, PARETO_KPIS[maximise] < 0],
                              kind="stable").reset_index(drop=True)
    frame.insert(0, "point", np.arange(len(frame)))
    da = -np.diff(frame[maximise].to_numpy() * PARETO_KPIS[maximise])
    db = np.diff(frame[against].to_numpy() * PARETO_KPIS[against])
    rate = np.divide(da, db, out=np.full(da.shape, np.nan), where=db > 0)
    frame[f"rate_{maximise}_per_{against}"] = np.append(rate, np.nan)
    return frame, failed


def _label(kpi: str) -> str:
    unit, _ = KPI_UNITS[kpi]
    return f"{kpi} [{unit}]" + (" (less is better)" if PARETO_KPIS[kpi] < 0 else "")


def plot_front(front: ParetoFront) -> bytes:
    """``front.png``: the held KPI across, the optimised KPI up; the ends and the knee marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    frame = front.points
    fig = Figure(figsize=(6.4, 4.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x, y = frame[front.against].to_numpy(), frame[front.maximise].to_numpy()
    ax.plot(x, y, marker="o", color="C0", linewidth=1.5, markersize=5, label="non-dominated plans")
    if len(frame):
        ax.annotate(f"best {front.maximise}", (x[0], y[0]), textcoords="offset points", xytext=(6, 6), fontsize=8)
        ax.annotate(f"best {front.against}", (x[-1], y[-1]), textcoords="offset points", xytext=(-6, 6),
                    fontsize=8, ha="right")
    if front.knee is not None:
        ax.plot([x[front.knee]], [y[front.knee]], marker="*", markersize=14, color="C3", linestyle="none",
                label="knee")
    ax.set_xlabel(_label(front.against))
    ax.set_ylabel(_label(front.maximise))
    ax.set_title(f"Trade-off between {front.maximise} and {front.against} ({len(frame)} plans, ε-constraint)",
                 fontsize=10)
    format_axis(ax.xaxis, KPI_UNITS[front.against][0], frame[front.against])
    format_axis(ax.yaxis, KPI_UNITS[front.maximise][0], frame[front.maximise])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.15, right=0.95, bottom=0.13, top=0.9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


