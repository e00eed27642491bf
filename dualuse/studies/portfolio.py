r"""Near-optimal portfolios: several plans, each within a slack of the optimum, as different as they can be.

The optimum :math:`z^*` is solved first; every other plan is solved with the
near-optimality row :math:`z \ge z^* - \sigma |z^*|`
(:mod:`dualuse.model.alternatives`) and one of three ways of moving away from
the plans found so far:

- ``mga`` (hop-skip-jump modelling to generate alternatives): minimise the
  area-weighted overlap of the actions with those of the earlier plans,
  :math:`\sum_i A_i \sum_{u \ne \text{current}} x_{iu} \bar x_{iu}`, with
  :math:`\bar x` their mean shares.  Each plan depends on the ones before it, so they are solved one
  after another.
- ``random-directions``: maximise :math:`\sum_i A_i \sum_u r_{iu} x_{iu}` for
  random :math:`r` drawn per parcel (or per community) and use.  The
  directions are independent, so these plans are solved in parallel.
- ``cuts``: the original objective again, with each earlier plan cut off:
  at least ``cut_share`` of the area it gave to actions (a use other than the
  current one, holding at least half its parcel) goes elsewhere.  For whole
  parcels this is the classical "not this selection again" cut; for shares,
  where any sliver of change would otherwise count as a new plan, it asks for
  a real change.  Solved one after another.

Every plan is scored under the original objective from its KPIs
(:func:`~dualuse.model.alternatives.objective_from_kpis`) and its gap to the
optimum is reported; a solve that finds no plan within the slack ends a
sequential portfolio early.  The solves run on the sweep's executors and
store (a re-run reuses what is stored); the portfolio folder has
``portfolio.gpkg`` (table ``portfolio``), ``portfolio.csv``, ``plans/`` and
the no-regret map ``no_regret.gpkg`` (:mod:`dualuse.studies.no_regret`).

``dualuse.portfolio(region, "out", plans=10, method="mga")`` is :func:`run_portfolio`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import pyomo.environ as pyo

from dualuse.errors import DualuseError, InfeasibleError, UsageError
from dualuse.files import prepare_folder
from dualuse.inputs.catalogue import Catalogue
from dualuse.inputs.region import Region
from dualuse.inputs.scenario import Scenario, load_scenario
from dualuse.model.alternatives import (
    add_cuts,
    add_near_optimality,
    check_objective_mode,
    land_distance_ha,
    objective_from_kpis,
    objective_gap,
    overlap_weight,
    random_weight,
    set_pair_objective,
)
from dualuse.model.coefficients import Coefficients, compute_coefficients
from dualuse.model.kpis import KPI_UNITS
from dualuse.progress import Progress
from dualuse.studies.executor import Task, describe_executor, execute, open_executor, share
from dualuse.studies.no_regret import NO_REGRET_FILE, NoRegret, write_no_regret
from dualuse.studies.spec import FIXED_IN_SWEEP, input_key, read_input, scenario_id
from dualuse.studies.store import PLAN_STATUSES, PLANS_DIR, ResultStore, write_table
from dualuse.vocabulary import PLAN_LAYER, USES

METHODS: tuple[str, ...] = ("mga", "random-directions", "cuts")
#: How random directions are drawn: one weight per parcel and use, or per community and use.
DIRECTIONS: tuple[str, ...] = ("parcel", "community")
#: The file stem and table of a portfolio: ``portfolio.gpkg`` (table ``portfolio``) and ``portfolio.csv``.
PORTFOLIO_STEM = PORTFOLIO_TABLE = "portfolio"
#: A pair is one of a plan's actions, for a cut, from this share of its parcel.
CUT_THRESHOLD = 0.5
#: A plan's gap may exceed the slack by this much (relative) and still be within it: the solver's tolerance.
SLACK_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class NearOptimal:
    """The change to the model for one alternative: the near-optimality row and the method's objective or cuts.

    ``previous`` holds the earlier plans' shares ``[plans, n_parcels, len(USES)]`` (``cuts``; for ``mga`` their
    mean, ``[1, n_parcels, len(USES)]``);
    ``seed`` and ``by`` the random direction (``random-directions``).
    """

    optimum: float
    slack: float
    method: str
    previous: np.ndarray | None = None
    seed: int = 0
    by: str = "parcel"
    cut_share: float = 0.25

    def apply(self, m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None:
        add_near_optimality(m, self.optimum, self.slack)
        if self.method == "mga":
            set_pair_objective(m, coef, overlap_weight(coef, self.previous),
                               "least area-weighted overlap with the earlier plans' actions [ha]")
        elif self.method == "random-directions":
            set_pair_objective(m, coef, random_weight(coef, self.seed, self.by),
                               f"random direction {self.seed} over {self.by} and use [ha]")
        else:
            add_cuts(m, coef, self.previous, CUT_THRESHOLD, self.cut_share)

    def key(self) -> str:
        previous = "" if self.previous is None else hashlib.sha256(
            np.ascontiguousarray(self.previous, dtype=float).tobytes()).hexdigest()
        return json.dumps({"portfolio": self.method, "optimum": float(f"{self.optimum:.15g}"), "slack": self.slack,
                           "previous": previous, "seed": self.seed, "by": self.by, "cut_share": self.cut_share},
                          sort_keys=True)


@dataclass
class Portfolio:
    """A near-optimal portfolio.

    Attributes
    ----------
    plans : DataFrame — one row per solve (the ``portfolio`` table): alternative, role, status, objective,
        optimum, gap, within_slack, the land it changes [ha], every KPI, the plan file
    optimum : float — the optimal objective
    slack, method : as asked
    requested : int — plans asked for
    output : Path — the portfolio folder
    no_regret : NoRegret or None — the no-regret map of the plans within the slack
    messages : list of str — why a portfolio has fewer plans than asked
    """

    plans: pd.DataFrame
    optimum: float
    slack: float
    method: str
    requested: int
    output: Path
    no_regret: NoRegret | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def found(self) -> int:
        """Plans within the slack (the optimum included)."""
        return int(self.plans["within_slack"].sum()) if len(self.plans) else 0


def check_portfolio(plans: int, slack: float, method: str, directions: str, cut_share: float) -> None:
    """Refuse a portfolio that cannot be made (UsageError)."""
    if method not in METHODS:
        raise UsageError(f"--method must be one of {', '.join(METHODS)} (got '{method}')")
    if directions not in DIRECTIONS:
        raise UsageError(f"--directions must be one of {', '.join(DIRECTIONS)} (got '{directions}')")
    if plans < 2:
        raise UsageError(f"--plans must be 2 or more: the optimum and at least one alternative (got {plans})")
    if not 0.0 < slack < 1.0:
        raise UsageError(f"--slack is a share of the optimal objective, between 0 and 1 (got {slack:g})")
    if not 0.0 < cut_share <= 1.0:
        raise UsageError(f"--cut-share is a share of a plan's action area, in (0, 1] (got {cut_share:g})")


def run_portfolio(region: str | os.PathLike[str] | Region, output: str | os.PathLike[str], plans: int = 5,
                  slack: float = 0.02, method: str = "mga", executor: Executor | None = None, *,
                  scenario: Scenario | None = None, catalogue: str | os.PathLike[str] | Catalogue | None = None,
                  layer: str | None = None, seed: int = 0, directions: str = "parcel", cut_share: float = 0.25,
                  progress: bool | None = None, log: Callable[[str], None] | None = None) -> Portfolio:
    """A portfolio of ``plans`` near-optimal plans (the optimum first); see the module docstring.

    Parameters
    ----------
    region : a region GeoPackage or a Region already read
    output : the portfolio folder (created; a re-run reuses its stored solves)
    plans : plans asked for, the optimum included (≥ 2)
    slack : how far below the optimum a plan may be, as a share of :math:`|z^*|` (e.g. 0.02)
    method : ``mga``, ``random-directions`` or ``cuts``
    executor : any :class:`concurrent.futures.Executor` [default: a local process pool]
    scenario : the scenario [default: the default scenario]; ``objective_mode = priorities`` is refused
    seed, directions : the first random direction's seed, and whether directions are drawn per ``parcel``
        or per ``community`` (``random-directions``)
    cut_share : the share of each earlier plan's action area a new plan must move (``cuts``)

    Raises
    ------
    UsageError — bad arguments; InfeasibleError — the scenario has no plan at all
    """
    say = log or (lambda text: None)
    check_portfolio(plans, slack, method, directions, cut_share)
    region, catalogue = read_input(region, catalogue, layer)
    base = (scenario or load_scenario()).replace(**FIXED_IN_SWEEP)
    check_objective_mode(base)
    folder = prepare_folder(output, [region.path])
    store = ResultStore(folder)
    coef = compute_coefficients(region, catalogue, base)
    messages: list[str] = []
    with contextlib.ExitStack() as stack:
        if executor is None:
            executor = stack.enter_context(open_executor(plots=False))
        shared = stack.enter_context(share(region, catalogue, executor))
        bar = Progress(plans, 0, enabled=progress, label="portfolio")
        say(f"portfolio of {plans} plans within {slack:.1%} of the optimum ({method}) on "
            f"{describe_executor(executor)}")
        solves = PortfolioSolves(base, input_key(region, catalogue), store, shared, executor, bar, method, slack)
        try:
            optimum = solves.solve_optimum(coef)
            if method == "random-directions":
                solves.run([(f"direction {k}", NearOptimal(optimum, slack, method, seed=seed + k, by=directions))
                            for k in range(1, plans)])
            else:
                messages += solves.run_sequence(optimum, plans, cut_share)
        finally:
            bar.close()
    frame = portfolio_frame(solves.solved, coef, base, optimum, slack, method, folder)
    write_table(folder, PORTFOLIO_STEM, PORTFOLIO_TABLE, frame, {}, PORTFOLIO_COLUMNS)
    within = [folder / p for p in frame.loc[frame["within_slack"], "plan"]]
    made = write_no_regret(within, folder / NO_REGRET_FILE) if within else None
    result = Portfolio(plans=frame, optimum=optimum, slack=slack, method=method, requested=plans, output=folder,
                       no_regret=made, messages=messages)
    if result.found < plans:
        messages.append(f"{result.found} of the {plans} plans asked for are within {slack:.1%} of the optimum")
    return result


#: A solve of a portfolio: its role and its row.
Solved = tuple[str, dict[str, Any]]


@dataclass
class PortfolioSolves:
    """The solves of one portfolio on the executor (stored ones reused), and every row so far."""

    base: Scenario
    key: str
    store: ResultStore
    shared: Any
    executor: Executor
    bar: Progress
    method: str
    slack: float
    solved: list[Solved] = field(default_factory=list)

    def run(self, batch: Sequence[tuple[str, NearOptimal | None]]) -> list[dict[str, Any]]:
        """Solve a batch in parallel, reusing stored results; record and return its rows."""
        tasks: dict[str, Task] = {}
        done: dict[str, dict[str, Any]] = {}
        ids = []
        for role, adjustment in batch:
            id_ = scenario_id(self.base, self.key, adjustment.key() if adjustment else '{"portfolio": "optimum"}')
            ids.append(id_)
            stored = self.store.load(id_, True)
            if stored is not None:
                done[id_] = stored
            elif id_ not in tasks:
                run = {"command": " ".join(sys.argv), "portfolio_method": self.method, "portfolio_role": role,
                       "portfolio_slack": self.slack,
                       "portfolio_optimum": adjustment.optimum if adjustment else math.nan}
                tasks[id_] = Task(id=id_, scenario_json=self.base.to_json(), want_plan=True, adjustment=adjustment,
                                  run=run)
        self.bar.done += len(done)
        done.update(execute(list(tasks.values()), self.shared, self.executor, self.store, self.bar))
        rows = [dict(done[id_]["row"]) for id_ in ids]
        self.solved += [(role, row) for (role, _), row in zip(batch, rows)]
        return rows

    def solve_optimum(self, coef: Coefficients) -> float:
        """Solve the optimum; its objective, checked against its score from its KPIs."""
        row = self.run([("optimum", None)])[0]
        if row["status"] not in PLAN_STATUSES:
            raise InfeasibleError(f"the scenario has no plan ({row['status']}): {row['message']}")
        optimum = float(row["objective"])
        scored = objective_from_kpis(coef, self.base, row)
        if abs(scored - optimum) > 1e-6 * max(abs(optimum), 1.0):
            raise DualuseError(f"internal error: the optimum's objective {optimum:.10g} and its score from its "
                               f"KPIs {scored:.10g} differ")
        return optimum

    def plan_shares(self) -> np.ndarray:
        """The shares of every plan solved so far, ``[plans, n_parcels, len(USES)]``, read from their files."""
        return np.stack([read_shares(self.store.plan_path(row["id"])) for _, row in self.solved
                         if row["status"] in PLAN_STATUSES])

    def run_sequence(self, optimum: float, plans: int, cut_share: float) -> list[str]:
        """The alternatives of ``mga`` or ``cuts``, one after another; why the sequence stopped early, if it did."""
        for k in range(1, plans):
            previous = self.plan_shares()
            if self.method == "cuts" and not _has_actions(previous):
                self.bar.total = self.bar.done
                return ["the plans so far take no land from its current use, so there is nothing to cut off"]
            if self.method == "mga":  # the overlap needs only the mean shares: one array shipped, not one per plan
                previous = previous.mean(axis=0, keepdims=True)
            adjustment = NearOptimal(optimum, self.slack, self.method, previous=previous, cut_share=cut_share)
            row = self.run([(f"{self.method} {k}", adjustment)])[0]
            if row["status"] not in PLAN_STATUSES:
                self.bar.total = self.bar.done
                return [f"{self.method} {k} found no plan within the slack ({row['status']}): {row['message']}"]
        return []


def _has_actions(previous: np.ndarray) -> bool:
    """Whether any plan gives at least :data:`CUT_THRESHOLD` of a parcel to a use other than the current one."""
    return bool((previous[:, :, 1:] >= CUT_THRESHOLD).any())


def read_shares(path: str | os.PathLike[str]) -> np.ndarray:
    """A plan file's shares per parcel and use, ``[n_parcels, len(USES)]``, in the order of its parcels."""
    columns = [f"share_{u}" for u in USES]
    frame = pyogrio.read_dataframe(path, layer=PLAN_LAYER, columns=columns, read_geometry=False)
    return frame[columns].to_numpy(dtype=float)


#: The meaning and unit of the portfolio table's own columns.
PORTFOLIO_COLUMNS: dict[str, tuple[str, str]] = {
    "alternative": ("—", "0 is the optimum; 1, 2, … the alternatives in the order they were found"),
    "role": ("—", "optimum, or the method and number of the alternative"),
    "method": ("—", "mga, random-directions or cuts"),
    "objective": ("—", "the plan's objective under the scenario (the optimum's objective), from its KPIs"),
    "optimum": ("—", "the optimal objective"),
    "gap": ("relative", "how far the plan's objective falls short of the optimum, as a share of |optimum|"),
    "slack": ("relative", "the largest gap allowed"),
    "within_slack": ("bool", "the plan's gap is within the slack (within the solver's tolerance)"),
    "differs_from_optimum_ha": ("ha", "area whose use differs from the optimum's: ½ Σ area × Σ |share − share*|"),
    "nearest_plan_ha": ("ha", "area whose use differs from the nearest other plan of the portfolio"),
}


def portfolio_frame(solved: Sequence[Solved], coef: Coefficients, base: Scenario, optimum: float, slack: float,
                    method: str, folder: Path) -> pd.DataFrame:
    """One row per solve: its score under the original objective, gap, distances and KPIs."""
    ok = [row["status"] in PLAN_STATUSES for _, row in solved]
    shares = {k: read_shares(folder / PLANS_DIR / f"{row['id']}.gpkg") for k, (_, row) in enumerate(solved) if ok[k]}
    records = []
    for k, (role, row) in enumerate(solved):
        record: dict[str, Any] = {"alternative": k, "role": role, "method": method,
                                  "id": row["id"], "status": row["status"], "message": row.get("message", "")}
        objective = objective_from_kpis(coef, base, row) if ok[k] else math.nan
        gap = objective_gap(objective, optimum) if ok[k] else math.nan
        record.update(objective=objective, optimum=optimum, gap=gap, slack=slack,
                      within_slack=bool(ok[k] and gap <= slack + SLACK_TOLERANCE))
        others = [land_distance_ha(coef.area_ha, shares[k], shares[j]) for j in shares if j != k] if ok[k] else []
        record["differs_from_optimum_ha"] = land_distance_ha(coef.area_ha, shares[k], shares[0]) if ok[k] and 0 in \
            shares else math.nan
        record["nearest_plan_ha"] = min(others) if others else math.nan
        record.update({name: row.get(name, math.nan) for name in KPI_UNITS})
        record["solve_s"] = row.get("solve_s", math.nan)
        record["plan"] = f"{PLANS_DIR}/{row['id']}.gpkg" if ok[k] else ""
        record["scenario"] = base.to_json()
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    for column in ("role", "method", "id", "status", "message", "plan", "scenario"):
        frame[column] = frame[column].astype(object)
    return frame
