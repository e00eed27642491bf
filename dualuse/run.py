"""The whole run, read to written plan, with a timing for every stage; re-running a recorded plan.

:func:`run_scenario` is the one path from a region already read to a plan:
``dualuse solve`` (:func:`solve_region`), every scenario of a sweep and
every point of a Pareto front go through it, so that a scenario is
checked, solved and refused the same way wherever it runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from dualuse.diagnose.status import raise_for_status
from dualuse.errors import InfeasibleError, InputError, has_extra
from dualuse.export.gpkg import read_table, write_plan
from dualuse.files import check_output_path, file_sha256
from dualuse.inputs.catalogue import Catalogue, load_catalogue
from dualuse.inputs.region import Region, read_region
from dualuse.inputs.scenario import Scenario, load_scenario, make_scenario
from dualuse.model.build import build_model
from dualuse.model.coefficients import Coefficients, compute_coefficients
from dualuse.model.drought import check_drought_inputs, drought_active
from dualuse.model.robustness import Robustness
from dualuse.plan import Plan, make_plan
from dualuse.progress import stage
from dualuse.solve.highs import SolveResult, solve, solve_model
from dualuse.solve.priorities import solve_priorities
from dualuse.vocabulary import RUN_TABLE


def solve_region(region: str | os.PathLike[str] | Region, output: str | os.PathLike[str] | None = None, *,
                 scenario: Scenario | None = None, catalogue: str | os.PathLike[str] | Catalogue | None = None,
                 layer: str | None = None, time_limit_s: float | None = None, write_lp: str | None = None,
                 explain: bool = True, explain_time_limit_s: float | None = None,
                 overlap_tolerance: float | None = None, extra_run: dict[str, Any] | None = None) -> Plan:
    """Read a region, solve one scenario (:func:`run_scenario`) and, when ``output`` is given, write the plan.

    The output path is checked before any work, so a run that could not
    write its plan fails at once.  Raises the typed errors of
    :mod:`dualuse.errors`; returns the :class:`~dualuse.plan.Plan` otherwise.
    ``extra_run`` adds columns to the plan's ``run`` table; ``explain`` and ``explain_time_limit_s`` are as
    in :func:`run_scenario`, ``overlap_tolerance`` as in :func:`~dualuse.inputs.region.read_region`.
    """
    if output is not None:
        check_output_path(output, (region,) if not isinstance(region, Region) else (region.path,))
    t = time.perf_counter()
    if not isinstance(region, Region):
        with stage("read", str(region)):
            region = (read_region(region, layer) if overlap_tolerance is None
                      else read_region(region, layer, overlap_tolerance=overlap_tolerance))
    read_s = time.perf_counter() - t
    scenario = scenario or load_scenario()
    if not isinstance(catalogue, Catalogue):
        catalogue = load_catalogue(catalogue)
    plan = run_scenario(region, catalogue, scenario, explain=explain, time_limit_s=time_limit_s, write_lp=write_lp,
                        explain_time_limit_s=explain_time_limit_s)
    plan.timings = {"read_s": read_s, **plan.timings}
    if output is not None:
        with stage("write", str(output)):
            write_plan(plan, Path(output), extra_run)
    return plan


class Adjustment(Protocol):
    """A change to the built model before it is solved, e.g. a Pareto front's objective and ε-constraint."""

    def apply(self, m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> None: ...


def run_scenario(region: Region, catalogue: Catalogue, scenario: Scenario, *, explain: bool = True,
                 time_limit_s: float | None = None, write_lp: str | None = None,
                 adjust: Adjustment | None = None, keep_model: bool = False,
                 dual_seeds: Mapping[int, np.ndarray] | None = None,
                 explain_time_limit_s: float | None = None) -> Plan:
    """Solve one scenario of a region already read: the one path of ``dualuse solve``, sweeps and fronts.

    Coefficients, then the pre-solve checks (:func:`presolve`: their
    warnings join ``plan.region.warnings``, and a requirement that no plan
    can meet raises :class:`~dualuse.errors.InfeasibleError` at once, with
    the solver's explanation when ``explain``), then the model is built,
    changed by ``adjust`` when given, and solved (with ``objective_mode = "priorities"`` and no ``adjust``,
    level by level: :func:`~dualuse.solve.priorities.solve_priorities`); a result without a plan
    raises its typed error.  ``plan.timings`` has a wall time [s] per stage
    (``coefficients_s``, ``presolve_s``, ``plan_s``; the model's build and
    the solver's stages are in ``plan.result.timings``).

    Parameters
    ----------
    region, catalogue, scenario : the inputs, read and checked
    explain : explain an infeasible scenario in policy terms (extra solves)
    explain_time_limit_s : the explanation's budget [s]; 0: none [default: :func:`.explain.explain_budget_s`]
    time_limit_s : solver time limit [s] [default: the scenario's ``time_limit_s``]
    write_lp : also write the model as an LP file here
    adjust : a change to the model before it is solved (its ``apply(m, coef, scenario)``)
    keep_model : build the Pyomo model and keep it while HiGHS solves.  Otherwise no model is built when
        the families need none (the LP straight from their arrays: :func:`dualuse.solve.direct.direct_lp`),
        or it is let go once HiGHS holds the LP, which saves gigabytes at a million parcels
    dual_seeds : coupling duals of solved neighbouring scenarios by their number of coupling rows, to start
        the structured solve from (:func:`dualuse.solve.highs.solve`)

    Raises
    ------
    InfeasibleError, TimeLimitError, UnboundedError, DualuseError
    """
    timings: dict[str, float] = {}
    t = time.perf_counter()
    with stage("coefficients", f"{region.n_parcels:,} parcels"):
        coef = compute_coefficients(region, catalogue, scenario)
    timings["coefficients_s"] = time.perf_counter() - t
    check_drought_inputs(coef, scenario, region.path)
    t = time.perf_counter()
    with stage("checks"):
        region = presolve(region, coef, scenario, explain=explain, time_limit_s=time_limit_s,
                          explain_time_limit_s=explain_time_limit_s)
    timings["presolve_s"] = time.perf_counter() - t
    result = _solve_scenario(coef, scenario, adjust, keep_model, time_limit_s, write_lp, dual_seeds)
    raise_for_status(result, coef, scenario, explain, time_limit_s, explain_time_limit_s)
    t = time.perf_counter()
    plan = make_plan(region, catalogue, scenario, coef, result)
    timings["plan_s"] = time.perf_counter() - t
    if drought_active(coef, scenario):
        t = time.perf_counter()
        plan.robustness = nominal_plan(region, catalogue, scenario, plan, time_limit_s=time_limit_s, adjust=adjust)
        timings["nominal_s"] = time.perf_counter() - t
    plan.timings.update(timings)
    return plan


def _solve_scenario(coef: Coefficients, scenario: Scenario, adjust: Adjustment | None, keep_model: bool,
                    time_limit_s: float | None, write_lp: str | None,
                    dual_seeds: Mapping[int, np.ndarray] | None) -> SolveResult:
    """Build and solve as :func:`run_scenario` says: level by level for priorities, the model let go or kept."""
    if adjust is None and scenario.objective_mode == "priorities":
        return solve_priorities(coef, scenario, time_limit_s=time_limit_s, write_lp=write_lp)
    if adjust is None and not keep_model:
        # the plan needs only the solution: let the Pyomo model go before HiGHS runs (2.5 GiB at 1M parcels)
        return solve(coef, scenario, time_limit_s=time_limit_s, write_lp=write_lp, keep_model=False,
                     dual_seeds=dual_seeds)[1]
    return _build_and_solve(coef, scenario, adjust, time_limit_s=time_limit_s, write_lp=write_lp,
                            dual_seeds=dual_seeds)


def nominal_plan(region: Region, catalogue: Catalogue, scenario: Scenario, robust: Plan, *,
                 time_limit_s: float | None = None, adjust: Adjustment | None = None) -> Robustness:
    """The price of robustness: the same scenario solved without the drought floor, beside the robust plan.

    Dropping a requirement can only raise the optimum, so the nominal solve
    has a plan whenever the robust one has.
    """
    nominal = run_scenario(region, catalogue, scenario.replace(drought_food_floor=0.0), explain=False,
                           time_limit_s=time_limit_s, adjust=adjust)
    return Robustness(nominal_x=nominal.result.x, nominal_objective=nominal.objective,
                      robust_objective=robust.objective, nominal_kpis=dict(nominal.kpis))


def _build_and_solve(coef: Coefficients, scenario: Scenario, adjust: Adjustment | None, *,
                     time_limit_s: float | None, write_lp: str | None,
                     dual_seeds: Mapping[int, np.ndarray] | None = None) -> SolveResult:
    """Build the model, change it by ``adjust`` when given, and solve it, the model kept meanwhile."""
    t = time.perf_counter()
    with stage("build", "the Pyomo model"):
        m = build_model(coef, scenario)
        if adjust is not None:
            adjust.apply(m, coef, scenario)
    build_s = time.perf_counter() - t
    result = solve_model(m, coef, scenario, time_limit_s, write_lp=write_lp, dual_seeds=dual_seeds)
    result.timings = {"build_s": build_s, **result.timings}
    return result


def presolve(region: Region, coef: Coefficients, scenario: Scenario, *, explain: bool = True,
             time_limit_s: float | None = None, explain_time_limit_s: float | None = None) -> Region:
    """Run the pre-solve checks: the region with their warnings added, or InfeasibleError on an error.

    The error carries the pre-solve findings first, then (when ``explain``)
    the solver's explanation of which requirements conflict and how far each
    parameter would have to move.
    """
    from dualuse.diagnose.explain import NOT_EXPLAINED, explain_infeasibility
    from dualuse.diagnose.messages import infeasibility_message
    from dualuse.diagnose.presolve import presolve_checks

    findings = presolve_checks(coef, scenario, region)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        explanation = [f.to_dict() for f in errors]
        if explain:
            explanation += explain_infeasibility(coef, scenario, time_limit_s, explain_time_limit_s)
        else:
            explanation.append(NOT_EXPLAINED)
        raise InfeasibleError(infeasibility_message(explanation), explanation)
    warnings = tuple(f.to_problem() for f in findings)
    return dataclasses.replace(region, warnings=region.warnings + warnings) if warnings else region


# --------------------------------------------------------------------------- re-running a plan


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """What a plan file's ``run`` table says about how it was made."""

    plan_path: str
    scenario: Scenario
    catalogue_toml: str
    catalogue_sha256: str
    catalogue_path: str
    input_path: str
    input_layer: str
    input_sha256: str
    objective: float


def read_run_record(plan_path: str | os.PathLike[str]) -> RunRecord:
    """The recorded scenario, catalogue and input of a plan file, checked for completeness."""
    path = str(plan_path)
    if not os.path.isfile(path):
        raise InputError("no such plan file", path=path, fix="give a plan GeoPackage written by `dualuse solve`")
    try:
        run = read_table(path, RUN_TABLE)
    except Exception:
        raise InputError(f"has no '{RUN_TABLE}' table, so it cannot be re-run", path=path, layer=RUN_TABLE,
                         fix="give a plan GeoPackage written by `dualuse solve`") from None
    needed = ("scenario", "catalogue_toml", "catalogue_sha256", "input_path", "input_layer", "input_sha256")
    missing = [c for c in needed if c not in run.columns or len(run) == 0 or _empty(run[c].iloc[0])]
    if missing:
        raise InputError(f"the run record lacks {', '.join(missing)}, so the plan cannot be re-run", path=path,
                         layer=RUN_TABLE, fix="re-solve it from its region and scenario")
    row = run.iloc[0]
    try:
        values = json.loads(row["scenario"])
    except (TypeError, ValueError):
        raise InputError("the recorded scenario is not valid JSON", path=path, layer=RUN_TABLE,
                         column="scenario", fix="re-solve it from its region and scenario") from None
    scenario = make_scenario(values, origin=f"scenario recorded in {path}")
    objective = float(row["objective"]) if "objective" in run.columns and not _empty(row["objective"]) else np.nan
    return RunRecord(plan_path=path, scenario=scenario, catalogue_toml=str(row["catalogue_toml"]),
                     catalogue_sha256=str(row["catalogue_sha256"]),
                     catalogue_path=str(row.get("catalogue_path", "") or ""), input_path=str(row["input_path"]),
                     input_layer=str(row["input_layer"]), input_sha256=str(row["input_sha256"]),
                     objective=objective)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str) and not value)


def rerun_plan(plan_path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None, *,
               region: str | os.PathLike[str] | None = None, time_limit_s: float | None = None) -> Plan:
    """Re-solve a plan from its ``run`` record: the recorded scenario, catalogue and input.

    The input (the recorded path, or ``region`` when the file has moved)
    must have the recorded SHA-256, and the recorded catalogue text the
    recorded hash; otherwise the rerun is refused, since it could not give
    the same plan.  The new plan's ``run`` table names the plan it re-ran
    (``rerun_of``), the recorded objective and a digest of the recorded plan
    table (``rerun_plan_table_sha256``, read before the new plan may replace it).
    """
    record = read_run_record(plan_path)
    source = str(region) if region is not None else record.input_path
    if output is not None:
        check_output_path(output, (source,))
    if not os.path.isfile(source):
        raise InputError("the recorded input is not there", path=source,
                         fix="give the region file as REGION: `dualuse solve REGION --rerun PLAN`")
    digest = file_sha256(source)
    if digest != record.input_sha256:
        raise InputError(f"is not the input the plan was made from (its SHA-256 is {digest[:12]}…, the plan "
                         f"records {record.input_sha256[:12]}…)", path=source,
                         fix="give the original region file as REGION")
    try:
        recorded_table = plan_table_sha256(plan_path)
    except Exception:  # pyogrio raises several classes for a missing or broken layer
        raise InputError("has no readable 'plan' layer to compare the rerun with", path=str(plan_path),
                         layer="plan", fix="give a plan GeoPackage written by `dualuse solve`") from None
    with tempfile.TemporaryDirectory(prefix="dualuse-rerun-") as folder:
        catalogue_file = Path(folder) / "catalogue.toml"
        catalogue_file.write_bytes(record.catalogue_toml.encode("utf-8"))
        catalogue = load_catalogue(catalogue_file)
        if catalogue.sha256 != record.catalogue_sha256:
            raise InputError("the recorded catalogue text does not match its recorded hash", path=str(plan_path),
                             layer=RUN_TABLE, column="catalogue_toml",
                             fix=f"re-run with the original catalogue: dualuse solve REGION --catalogue "
                                 f"{record.catalogue_path or 'FILE'} --scenario ...")
        extra = {"rerun_of": str(Path(plan_path).resolve()), "rerun_recorded_objective": record.objective,
                 "rerun_plan_table_sha256": recorded_table, "catalogue_path": record.catalogue_path}
        return solve_region(source, output, scenario=record.scenario, catalogue=catalogue,
                            layer=record.input_layer, time_limit_s=time_limit_s, extra_run=extra)


def same_plan_table(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two plan files have the same ``plan`` layer: every column, exactly, after sorting by parcel id.

    When ``a`` and ``b`` are one file, a rerun that replaced its own plan
    (``solve --rerun plan.gpkg -o plan.gpkg``), the new plan table is
    compared with the digest of the replaced one that its ``run`` table
    records.
    """
    if Path(a).resolve() == Path(b).resolve():
        run = read_table(a, RUN_TABLE)
        recorded = run["rerun_plan_table_sha256"].iloc[0] if "rerun_plan_table_sha256" in run.columns else ""
        return _empty(recorded) or plan_table_sha256(a) == recorded
    frames = [_plan_table(path) for path in (a, b)]
    if list(frames[0].columns) != list(frames[1].columns):
        return False
    try:
        pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
    except AssertionError:
        return False
    return True


def plan_table_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a plan file's ``plan`` layer: its column names and every value, rows sorted by parcel id."""
    frame = _plan_table(path)
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _plan_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The ``plan`` layer as a plain table, rows sorted by parcel id, the geometry as WKB."""
    import pyogrio

    frame = pyogrio.read_dataframe(path, layer="plan", use_arrow=has_extra("arrow"))
    key = "parcel_id" if "parcel_id" in frame.columns else frame.columns[0]
    frame = frame.sort_values(key, kind="stable").reset_index(drop=True)
    frame["geom_wkb"] = frame.geometry.to_wkb()
    return pd.DataFrame(frame.drop(columns=frame.geometry.name))
