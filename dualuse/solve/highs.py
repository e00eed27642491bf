"""HiGHS: its options, a clean stdout, the run, the statuses, and the solution mapped back to the model.

HiGHS options for an LP (chosen by measurement, ``benchmarks/bench_options.py``):
interior point with crossover — at 100,000 parcels dual simplex took
95 s of CPU, IPM with crossover 33 s; crossover gives a vertex plan (few
parcels split between uses) and exact row duals, the shadow prices of
budget, LDN and food floor, while IPM alone ends with status Unknown.  A
crossover start tolerance of 1e-4 costs nothing and saves crossover work
on some regions.  The objective is scaled by a power of two
(:func:`objective_scale`): its coefficients are tiny beside the matrix,
which left IPM imprecise and the simplex clean-up after crossover long
(15,000 iterations); scaled, the same LP took 15 s instead of 33 s, with
the same optimum and duals.  Presolve stays on: without it the solve was
faster at 100,000 parcels but more than twice as long at 1,000,000.  MILPs
use HiGHS's branch and cut with ``mip_rel_gap`` from the scenario.

Every ``highspy.Highs`` is made by :func:`new_highs` and run by
:func:`run_quietly`: highspy 1.16 prints a banner on the process's stdout
(at the C level) when it is created, which would spoil ``--json``; file
descriptor 1 points at stderr meanwhile (:func:`stdout_to_stderr`).  A MILP
with a time limit runs in a child process that is stopped if HiGHS runs
well past its limit (:mod:`dualuse.solve.child`: its MIP set-up does not
check the limit).
"""

from __future__ import annotations

import dataclasses
import enum
import gc
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException

from dualuse.inputs.scenario import Scenario
from dualuse.model.build import build_model
from dualuse.model.coefficients import Coefficients
from dualuse.model.family_table import FAMILY
from dualuse.progress import stage
from dualuse.solve.child import CAN_FORK, run_in_child
from dualuse.solve.direct import direct_lp
from dualuse.solve.handover import (
    CompiledModel,
    Handover,
    compile_model,
    lp_names,
    row_name,
)
from dualuse.solve.quiet import (
    new_highs,
    objective_scale,
    run_quietly,
    stdout_to_stderr,
)
from dualuse.solve.structured import solve_structured

INF = highspy.kHighsInf


class Status(enum.Enum):
    """The outcome of a solve."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # time limit reached with a plan: may not be optimal
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"  # time limit reached with no plan
    ERROR = "error"

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass
class SolveResult:
    """What HiGHS returned, mapped back to the model.

    ``duals`` are the row duals of the aggregate rows by constraint name
    (:func:`_named_duals`); ``col_duals`` the column duals (reduced costs)
    of the model's own columns after the pairs, an LP's only: ``served``
    (per community) and ``export``, each the change of the objective per
    unit its active bound moves.  ``solver`` names the solver, its version,
    the hand-over path (``handover``, a
    :class:`~dualuse.solve.handover.Handover` value), the options HiGHS
    received and its model status.  ``priority_levels`` (a lexicographic
    solve only, :func:`dualuse.solve.priorities.solve_priorities`): per level
    its KPI, optimum, the bound it was held at and the shadow price of that
    hold.  ``coupling_dual`` holds an LP's duals of the rows after the parcels
    (HiGHS's sign), the seed of a neighbouring scenario's structured solve (``dual_seeds`` of :func:`solve`).
    """

    status: Status
    objective: float = math.nan
    gap: float = math.nan
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    served_mwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    export_mwh: float = 0.0
    duals: dict[str, Any] = field(default_factory=dict)
    col_duals: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)
    message: str = ""
    priority_levels: list[dict[str, Any]] = field(default_factory=list)
    coupling_dual: np.ndarray = field(default_factory=lambda: np.zeros(0))


# --------------------------------------------------------------------------- options and runs


def highs_options(scenario: Scenario, is_mip: bool, time_limit_s: float | None = None) -> dict[str, Any]:
    """HiGHS options for one solve (see the module docstring for why)."""
    options: dict[str, Any] = {
        "output_flag": False,
        "threads": scenario.threads,
        "random_seed": scenario.seed,
        "time_limit": float(time_limit_s if time_limit_s is not None else scenario.time_limit_s) or INF,
    }
    if is_mip:
        options["mip_rel_gap"] = scenario.mip_gap
    else:
        options["solver"] = "ipx"  # by name: with highspy-extras installed, "ipm" would be HiPO
        options["run_crossover"] = "on"
        options["start_crossover_tolerance"] = 1e-4
    return options


def run_highs(compiled: CompiledModel, options: dict[str, Any], *, release: bool = False,
              write_lp: str | None = None, names: tuple[list[str], list[str]] | None = None
              ) -> tuple[highspy.Highs, float]:
    """Pass the LP to a fresh HiGHS and run it; returns the solver and its run time [s].

    With ``release``, the compiled LP is dropped once HiGHS holds its own
    copy, so that the two copies do not both stay in memory while it solves
    (about a third of a GB at a million parcels); ``h.getLp()`` gives it back.
    With ``write_lp``, HiGHS writes the model it received to that file
    first, with ``names`` (columns, rows) when given.
    """
    h = new_highs(options)
    start = time.perf_counter()
    if compiled._lp is not None or compiled.arrays is None:
        h.passModel(compiled.lp)
    else:
        compiled.arrays.pass_to(h)
    if release:
        compiled.arrays = None
        compiled._lp = None
    compiled.pass_s = time.perf_counter() - start
    if write_lp:
        write_model(h, write_lp, names)
    return h, run_quietly(h)


def write_model(h: highspy.Highs, path: str, names: tuple[list[str], list[str]] | None = None) -> None:
    """Write the model HiGHS holds to ``path`` (LP or MPS by its suffix), its columns and rows named."""
    if names is not None:
        for k, name in enumerate(names[0]):
            h.passColName(k, name)
        for k, name in enumerate(names[1]):
            h.passRowName(k, name)
    with stdout_to_stderr():
        status = h.writeModel(str(path))
    if status == highspy.HighsStatus.kError:
        raise OSError(f"HiGHS could not write the model to {path}")


@dataclass
class Outcome:
    """What a HiGHS run returned, as plain data (it may come from a child process)."""

    status: Status
    model_status: str
    version: str
    run_s: float
    pass_s: float = 0.0
    objective: float = math.nan
    mip_gap: float = math.nan
    col_value: np.ndarray | None = None
    row_dual: np.ndarray | None = None
    col_dual: np.ndarray | None = None  # from column ``col_dual_from`` on
    col_dual_from: int = 0
    message: str = ""
    coupling_dual: np.ndarray | None = None  # the structured solve's duals of the rows after the parcels


def read_outcome(h: highspy.Highs, options: dict[str, Any], run_s: float, pass_s: float = 0.0,
                 col_dual_from: int = 0) -> Outcome:
    """The status, objective, gap, solution, row duals and the column duals from column ``col_dual_from``
    on (when valid) of a HiGHS run.  The column duals of the pairs before it are not kept: HiGHS hands
    them all over as one list (0.02 s at a million columns), and only the few columns after are read."""
    status = _status(h, options)
    outcome = Outcome(status, h.modelStatusToString(h.getModelStatus()),
                      f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}", run_s, pass_s)
    if status.has_plan:
        info = h.getInfo()
        solution = h.getSolution()
        outcome.objective = float(info.objective_function_value)
        outcome.mip_gap = float(info.mip_gap)
        outcome.col_value = np.asarray(solution.col_value, dtype=float)
        if solution.dual_valid:
            outcome.row_dual = np.asarray(solution.row_dual, dtype=float)
            outcome.col_dual = np.asarray(solution.col_dual[col_dual_from:], dtype=float)
            outcome.col_dual_from = col_dual_from
    return outcome


def _status(h: highspy.Highs, options: dict[str, Any]) -> Status:
    status = h.getModelStatus()
    has_solution = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    S = highspy.HighsModelStatus
    if status == S.kOptimal:
        return Status.OPTIMAL
    if status in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit, S.kInterrupt):
        return Status.FEASIBLE if has_solution else Status.TIME_LIMIT
    if status == S.kInfeasible:
        return Status.INFEASIBLE
    if status == S.kUnbounded:
        return Status.UNBOUNDED
    if status == S.kUnboundedOrInfeasible:
        # presolve cannot tell the two apart (an unbounded MILP reports this); ask again without it
        again = new_highs({**options, "presolve": "off"})
        again.passModel(h.getLp())
        run_quietly(again)
        return Status.UNBOUNDED if again.getModelStatus() == S.kUnbounded else Status.INFEASIBLE
    return Status.ERROR


def overrun_s(limit_s: float) -> float:
    """How long past its time limit a MILP child may run before it is stopped [s]."""
    return max(2.0, 0.25 * limit_s)


def run_compiled(compiled: CompiledModel, options: dict[str, Any], *, release: bool = False,
                 write_lp: str | None = None, names: tuple[list[str], list[str]] | None = None) -> Outcome:
    """Run HiGHS on a compiled model and read what it returned.

    A MILP with a finite time limit runs in a child process, stopped
    :func:`overrun_s` after its limit if HiGHS has not stopped by then (an
    outcome without a plan, status ``time_limit``); everything else runs here.
    """
    limit = float(options.get("time_limit", INF))
    if not (compiled.is_mip and math.isfinite(limit) and CAN_FORK):
        dual_from = compiled.n_pairs if compiled.own_position is None else 0
        h, run_s = run_highs(compiled, options, release=release, write_lp=write_lp, names=names)
        return read_outcome(h, options, run_s, compiled.pass_s, dual_from)

    def work() -> Outcome:
        highspy.Highs.resetGlobalScheduler(False)  # the parent's worker threads are not in the child
        h, run_s = run_highs(compiled, options, write_lp=write_lp, names=names)
        return read_outcome(h, options, run_s, compiled.pass_s)

    start = time.perf_counter()
    answered, outcome = run_in_child(work, limit + overrun_s(limit))
    if release:
        compiled.arrays = None
        compiled._lp = None
    if answered:
        return outcome
    stopped_s = time.perf_counter() - start
    return Outcome(Status.TIME_LIMIT, "Time limit reached", metadata.version("highspy"), stopped_s,
                   message=f"HiGHS did not stop at its time limit of {limit:g} s; stopped after {stopped_s:.1f} s")


# --------------------------------------------------------------------------- solving a model


def solve_model(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario, time_limit_s: float | None = None,
                write_lp: str | None = None, dual_seeds: Mapping[int, np.ndarray] | None = None) -> SolveResult:
    """Solve a built model and map the solution back to pairs, communities and named constraints.

    ``write_lp``: also write the LP that HiGHS receives to this file (with readable names).
    ``dual_seeds``: coupling duals of solved neighbours by their number of coupling rows (:func:`solve`).
    """
    return _solve([m], coef, scenario, time_limit_s, release=False, write_lp=write_lp, dual_seeds=dual_seeds)


def _solve(holder: list[pyo.ConcreteModel], coef: Coefficients, scenario: Scenario, time_limit_s: float | None,
           release: bool, write_lp: str | None = None,
           dual_seeds: Mapping[int, np.ndarray] | None = None) -> SolveResult:
    """Hand the model in ``holder`` to HiGHS, solve, read back.  With ``release`` the model is taken
    out of ``holder`` once HiGHS holds the LP (when the LP's read-back allows it), so that it can be
    freed while HiGHS solves; its variables then get no values."""
    t0 = time.perf_counter()
    breaking = breaking_families(holder[0])
    try:
        compiled = compile_model(holder[0], coef.n_pairs, coef.n_parcels)
    except InfeasibleConstraintException as exc:  # a row with no variables that cannot hold
        return SolveResult(status=Status.INFEASIBLE, message=str(exc),
                           timings={"handover_s": time.perf_counter() - t0, "highs_s": 0.0})
    names = lp_names(compiled) if write_lp else None
    n_comm = coef.demand_mwh.size
    released = release and compiled.detach(coef.n_pairs + n_comm + 1)
    if released:
        holder.clear()
        gc.collect()
    return _solve_compiled(compiled, coef, scenario, time_limit_s, released, time.perf_counter() - t0,
                           write_lp=write_lp, names=names, dual_seeds=dual_seeds, breaking=breaking)


def _solve_compiled(compiled: CompiledModel, coef: Coefficients, scenario: Scenario, time_limit_s: float | None,
                    released: bool, t_compile: float, *, write_lp: str | None = None,
                    names: tuple[list[str], list[str]] | None = None,
                    dual_seeds: Mapping[int, np.ndarray] | None = None,
                    breaking: list[str] | None = None) -> SolveResult:
    """Solve a compiled LP (structured or generic path) and read the solution back; ``breaking``: the families
    built into it that break the one-row-per-parcel shape."""
    options = highs_options(scenario, compiled.is_mip, time_limit_s)
    if not compiled.is_mip:
        options["user_objective_scale"] = objective_scale(compiled.arrays.col_cost)
    size = {"rows": compiled.arrays.num_row, "columns": compiled.arrays.num_col,
            "nonzeros": compiled.arrays.num_nz, "mip": int(compiled.is_mip)}
    path = _lp_path(compiled, scenario, write_lp, breaking)
    seed = (dual_seeds or {}).get(compiled.arrays.num_row - coef.n_parcels)
    with stage("solve", f"HiGHS, {'MILP' if compiled.is_mip else 'LP'} of {size['rows']:,} rows and "
                        f"{size['columns']:,} columns, {path['lp_path']} path"):
        outcome = _run_structured(compiled, coef, options, path, seed) if path["lp_path"] == "structured" else None
        if outcome is None:
            outcome = run_compiled(compiled, options, release=True, write_lp=write_lp, names=names)
    result = SolveResult(
        status=outcome.status, message=outcome.message, size=size,
        timings={"handover_s": t_compile + outcome.pass_s, "highs_s": outcome.run_s},
        solver={"name": "HiGHS", "version": outcome.version, "interface": compiled.interface,
                "handover": compiled.handover.value, **path,
                "options": {k: v for k, v in options.items() if k != "output_flag"},
                "model_status": outcome.model_status},
    )
    if outcome.coupling_dual is not None:
        result.coupling_dual = outcome.coupling_dual
    elif not compiled.is_mip and outcome.row_dual is not None and compiled.handover is Handover.ARRAYS:
        result.coupling_dual = np.asarray(outcome.row_dual[coef.n_parcels:], dtype=float)
    if result.status.has_plan:
        t1 = time.perf_counter()
        _read_back(result, outcome, compiled, coef, released)
        result.timings["readback_s"] = time.perf_counter() - t1
    return result


def breaking_families(m: pyo.ConcreteModel) -> list[str]:
    """The families built into the model whose entry in the families table says they break the LP's shape."""
    form = getattr(m, "matrix_form", None)
    built = [family.name for family in form.families] if form is not None else []
    return [name for name in built if name in FAMILY and FAMILY[name].structure == "breaks"]


def _lp_path(compiled: CompiledModel, scenario: Scenario, write_lp: str | None,
             breaking: list[str] | None = None) -> dict[str, Any]:
    """Which path solves the model: ``structured`` for a share-mode LP built here and handed over as its own
    arrays (unless ``lp_method = "generic"`` or the LP is to be written as HiGHS receives it), else
    ``generic`` — a MILP, a family that breaks the one-row-per-parcel shape (``breaking``), a model a user
    changed, or the generic path asked for."""
    if compiled.is_mip:
        return {"lp_path": "generic", "lp_path_reason": "a MILP"}
    if breaking:
        return {"lp_path": "generic",
                "lp_path_reason": f"{', '.join(breaking)} break(s) the one-row-per-parcel shape"}
    if scenario.lp_method == "generic":
        return {"lp_path": "generic", "lp_path_reason": "lp_method = generic"}
    if compiled.handover is not Handover.ARRAYS:
        return {"lp_path": "generic", "lp_path_reason": "a model changed through Pyomo"}
    if write_lp:
        return {"lp_path": "generic", "lp_path_reason": "--write-lp writes the LP the generic solve receives"}
    return {"lp_path": "structured", "lp_path_reason": ""}


def _run_structured(compiled: CompiledModel, coef: Coefficients, options: dict[str, Any],
                    path: dict[str, Any], seed: np.ndarray | None = None) -> Outcome | None:
    """The structured solve (:func:`~dualuse.solve.structured.solve_structured`) as an Outcome, or None when it
    does not certify its answer — then ``path`` says why, and the generic path solves the LP.  ``seed``: a
    neighbour's coupling duals, in place of the sampled estimate."""
    start = time.perf_counter()
    holder = [compiled.arrays]  # emptied once decomposed: the LP's arrays are freed while it solves
    compiled.arrays = None
    found = solve_structured(holder, coef.n_parcels, coef.n_pairs, options, dual_estimate=seed)
    if not found.status.has_solution:
        compiled.arrays = found.whole_lp
    found.whole_lp = None
    run_s = time.perf_counter() - start
    path.update(structured_seeded=seed is not None, structured_estimate_s=found.timings.get("estimate_s", math.nan),
                structured_status=found.status.value, structured_rounds=found.rounds,
                structured_certificate=dataclasses.asdict(found.certificate), structured_s=run_s)
    if not found.status.has_solution:
        path.update(lp_path="generic", lp_path_reason=f"structured solve not certified: {found.reason}")
        return None
    return Outcome(Status.OPTIMAL, found.model_status, found.highs_version, run_s,
                   objective=float(found.objective), col_value=found.col_value, row_dual=found.row_dual,
                   col_dual=found.col_dual[coef.n_pairs:], col_dual_from=coef.n_pairs,
                   coupling_dual=found.coupling_dual)


def _read_back(result: SolveResult, outcome: Outcome, compiled: CompiledModel, coef: Coefficients,
               released: bool) -> None:
    """The solution into ``result`` (shares, deliveries, export, duals), and into the model unless released."""
    n_comm = coef.demand_mwh.size
    values = compiled.own_values(outcome.col_value)
    result.objective = outcome.objective
    result.gap = outcome.mip_gap if compiled.is_mip else 0.0
    if compiled.is_mip and not math.isfinite(result.gap):
        result.gap = math.nan
    result.x = np.clip(values[:coef.n_pairs], 0.0, 1.0)
    result.served_mwh = np.maximum(values[coef.n_pairs:coef.n_pairs + n_comm], 0.0) + 0.0  # no -0.0
    result.export_mwh = max(float(values[coef.n_pairs + n_comm]), 0.0) + 0.0
    if not released:
        _load_other_values(compiled, values, outcome.col_value, coef.n_pairs + n_comm + 1)
    if not compiled.is_mip and outcome.row_dual is not None:
        result.duals = _named_duals(compiled, outcome.row_dual)
    if not compiled.is_mip and outcome.col_dual is not None:
        result.col_duals = _own_column_duals(compiled, outcome, coef)


def _own_column_duals(compiled: CompiledModel, outcome: Outcome, coef: Coefficients) -> dict[str, Any]:
    """The column duals of ``served`` (per community) and ``export``; NaN for a column a user fixed
    (it is no column of the LP)."""
    n_comm = coef.demand_mwh.size
    own = np.arange(coef.n_pairs, coef.n_pairs + n_comm + 1)
    position = own if compiled.own_position is None else compiled.own_position[own]
    duals = outcome.col_dual[np.maximum(position - outcome.col_dual_from, 0)]
    duals[position < 0] = math.nan
    return {"served": duals[:n_comm], "export": float(duals[n_comm])}


def _load_other_values(compiled: CompiledModel, own_values: np.ndarray, col_value: np.ndarray, first: int) -> None:
    """Load the values of every variable but ``x``, ``served`` and ``export`` (slacks, plant switches,
    a user's own variables: few) into the Pyomo model."""
    own = compiled.own_columns
    for var, value in zip(own[first:], own_values[first:].tolist()):
        var.set_value(value, skip_validation=True)
    if compiled.own_position is None:
        extra = zip(compiled.columns[len(own):], col_value[len(own):].tolist())
    else:
        own_ids = {id(v) for v in own}
        extra = ((v, value) for v, value in zip(compiled.columns, col_value.tolist()) if id(v) not in own_ids)
    for var, value in extra:
        var.set_value(value, skip_validation=True)


def _named_duals(compiled: CompiledModel, row_dual: np.ndarray) -> dict[str, Any]:
    """Duals of the aggregate rows, keyed by constraint name (indexed ones as name -> {index: dual}).

    HiGHS's row dual is ∂objective/∂row bound for either sense; the
    families table (:class:`~dualuse.model.family_table.Dual`) says how each
    reads as a shadow price.
    """
    out: dict[str, Any] = {}
    names = compiled.row_names
    if names is None:
        names = [row_name(compiled.rows[r].constraint) for r in range(compiled.n_parcels, len(compiled.rows))]
    for (name, index), dual in zip(names, row_dual[compiled.n_parcels:].tolist()):
        if index is None:
            out[name] = dual
        else:
            out.setdefault(name, {})[index] = dual
    return out


def solve(coef: Coefficients, scenario: Scenario, time_limit_s: float | None = None,
          write_lp: str | None = None, *, keep_model: bool = True,
          dual_seeds: Mapping[int, np.ndarray] | None = None) -> tuple[pyo.ConcreteModel | None, SolveResult]:
    """Build and solve; the model and the result, whatever its status (a result without a plan is the
    caller's to raise: :func:`dualuse.diagnose.status.raise_for_status`).

    With ``keep_model=False`` (for callers that only want the plan) no Pyomo
    model is built when the families need none: the LP is assembled straight
    from their arrays (:func:`~dualuse.solve.direct.direct_lp`; at 1,000,000
    parcels the Pyomo model costs about 45 s and 2.4 GiB:
    ``benchmarks/RESULTS.md``); otherwise the model is built and let go as
    soon as HiGHS holds the LP.  None is returned in the model's place.
    ``write_lp``: also write the LP that HiGHS receives to this file.  ``dual_seeds``: the coupling
    duals (``SolveResult.coupling_dual``) of solved neighbouring scenarios, by their number of coupling
    rows; the one with this LP's count starts the structured solve in place of its sampled estimate
    (the answer is certified on the whole LP either way; ``solver["structured_seeded"]`` says whether one did).
    """
    t0 = time.perf_counter()
    compiled = None
    if not keep_model and not write_lp:
        with stage("build", "the LP from the families' arrays"):
            compiled = direct_lp(coef, scenario)
    if compiled is not None:  # nobody needs the Pyomo model: the LP straight from the families' arrays
        t_build = time.perf_counter() - t0
        result = _solve_compiled(compiled, coef, scenario, time_limit_s, True, 0.0, dual_seeds=dual_seeds)
        result.timings = {"build_s": t_build, **result.timings}
        return None, result
    with stage("build", "the Pyomo model"):
        holder = [build_model(coef, scenario)]
    t_build = time.perf_counter() - t0
    result = _solve(holder, coef, scenario, time_limit_s, release=not keep_model, write_lp=write_lp,
                    dual_seeds=dual_seeds)
    result.timings = {"build_s": t_build, **result.timings}
    return (holder[0] if holder else None), result
