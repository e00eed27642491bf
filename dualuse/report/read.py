"""Reading what a report is made of: a plan GeoPackage, or a sweep or Pareto results folder, into plain tables.

Every layer, table and column the report needs is checked here, so that a
missing one is one :class:`~dualuse.errors.InputError` naming it and saying
how to get a file that has it, before anything is drawn or written.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from dualuse.errors import InputError, has_extra
from dualuse.vocabulary import (
    COMMUNITIES_LAYER,
    PLAN_LAYER,
    RUN_TABLE,
    SUMMARY_TABLE,
    SWEEP_TABLE,
    USES,
)

#: Plan-layer columns the report needs.
REQUIRED_COLUMNS: tuple[str, ...] = ("land_type", "area_ha", "use", *(f"share_{u}" for u in USES), "ldn_gain_ha",
                                     "ldn_loss_ha")
#: Plan-layer columns the report uses where present: the baseline SDG 15.3.1 status.
OPTIONAL_COLUMNS: tuple[str, ...] = ("degradation",)
#: Columns of the communities layer the report needs.
COMMUNITY_COLUMNS: tuple[str, ...] = ("community_id", "demand_mwh", "served_mwh", "unserved_households",
                                      "households_served")
#: Statuses of a run that has a plan.
PLAN_STATUSES = ("optimal", "feasible")
#: The files of a sweep folder and of a Pareto front folder.
SWEEP_CSV = "results.csv"
SWEEP_GPKG = "results.gpkg"
FRONT_PNG = "front.png"
#: The parallel coordinates of a front in three or more KPIs, beside its ``front.png``.
PARALLEL_PNG = "front_parallel.png"
_REWRITE_PLAN = "write the plan again with `dualuse solve`"


@dataclass
class PlanFile:
    """What the report reads from a plan GeoPackage.

    Attributes
    ----------
    path : Path — the plan file
    plan : GeoDataFrame — the plan layer (the columns the report uses, and the geometry)
    communities : GeoDataFrame or DataFrame or None — the communities layer
    summary : DataFrame — kpi, unit, baseline, plan (and meaning)
    run : dict — the run record
    scenario : dict — the scenario parameters of the run
    """

    path: Path
    plan: gpd.GeoDataFrame
    communities: pd.DataFrame | None
    summary: pd.DataFrame
    run: dict[str, Any]
    scenario: dict[str, Any]

    def kpi(self, name: str, column: str = "plan") -> float:
        """One value of the summary table (NaN when the row is absent)."""
        rows = self.summary.loc[self.summary["kpi"] == name, column]
        return float(rows.iloc[0]) if len(rows) and pd.notna(rows.iloc[0]) else math.nan

    def unit(self, name: str) -> str:
        """The unit of one row of the summary table ("" when the row is absent)."""
        rows = self.summary.loc[self.summary["kpi"] == name, "unit"]
        return str(rows.iloc[0]) if len(rows) else ""

    @property
    def region_name(self) -> str:
        """The name of the region: the stem of the run's input file, else of the plan file."""
        source = str(self.run.get("input_path") or "")
        return Path(source).stem if source else self.path.stem

    @property
    def has_communities(self) -> bool:
        """Whether the plan has at least one community."""
        return self.communities is not None and len(self.communities) > 0


def list_layers(path: Path) -> list[str]:
    """The layers and tables of a GeoPackage, refusing a path that is missing or that GDAL cannot open."""
    if not path.exists():
        raise InputError("no such file", path=str(path), fix="give the path of a plan GeoPackage written by "
                                                              "`dualuse solve`, or of a sweep results folder")
    try:
        return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # GDAL cannot open it at all
        raise InputError(f"not a GeoPackage that GDAL can read ({str(exc).splitlines()[0][:160]})", path=str(path),
                         fix="give a plan file written by `dualuse solve`") from None


def read_plan_file(path: str | os.PathLike[str]) -> PlanFile:
    """Read the layers and tables of a plan GeoPackage that the report needs, checking each.

    Raises
    ------
    InputError
        When the file, a layer, a table or a column is missing; the message
        names it and says how to get a plan file that has it.
    """
    path = Path(path)
    layers = list_layers(path)
    for needed in (PLAN_LAYER, SUMMARY_TABLE, RUN_TABLE):
        if needed not in layers:
            raise InputError(f"there is no layer or table '{needed}' (layers: {', '.join(layers) or 'none'}): "
                             "this is not a dualuse plan file", path=str(path), layer=needed,
                             fix="make a plan with `dualuse solve REGION.gpkg -o PLAN.gpkg` and report on PLAN.gpkg")
    plan = _read_plan_layer(path)
    summary = _read_summary(path)
    run, scenario = _read_run(path)
    communities = _read_communities(path) if COMMUNITIES_LAYER in layers else None
    return PlanFile(path, plan, communities, summary, run, scenario)


def _read_plan_layer(path: Path) -> gpd.GeoDataFrame:
    """The plan layer: the columns the report needs (refused when missing), those it can use, the geometry."""
    fields = [str(f) for f in pyogrio.read_info(path, layer=PLAN_LAYER)["fields"]]
    missing = [c for c in REQUIRED_COLUMNS if c not in fields]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path=str(path), layer=PLAN_LAYER,
                         column=missing[0], fix="write the plan again with `dualuse solve` (the plan layer of "
                                                "this dualuse version has them)")
    columns = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, "community_id") if c in fields]
    plan = pyogrio.read_dataframe(path, layer=PLAN_LAYER, columns=columns, use_arrow=has_extra("arrow"))
    if not isinstance(plan, gpd.GeoDataFrame) or plan.geometry.isna().all():
        raise InputError("the layer has no geometry", path=str(path), layer=PLAN_LAYER, fix=_REWRITE_PLAN)
    if len(plan) == 0:
        raise InputError("the layer has no parcels", path=str(path), layer=PLAN_LAYER,
                         fix="solve a region with at least one parcel")
    return plan


def _read_summary(path: Path) -> pd.DataFrame:
    """The summary table: one row per KPI with its unit, baseline and plan value."""
    summary = pd.DataFrame(pyogrio.read_dataframe(path, layer=SUMMARY_TABLE, read_geometry=False))
    for column in ("kpi", "unit", "baseline", "plan"):
        if column not in summary:
            raise InputError("missing column", path=str(path), layer=SUMMARY_TABLE, column=column,
                             fix=_REWRITE_PLAN)
    return summary


def _read_run(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run record as plain Python values, and the scenario parameters it holds as JSON."""
    run_frame = pd.DataFrame(pyogrio.read_dataframe(path, layer=RUN_TABLE, read_geometry=False))
    if len(run_frame) == 0 or "scenario" not in run_frame:
        raise InputError("the run record or its 'scenario' column is missing", path=str(path), layer=RUN_TABLE,
                         column="scenario", fix=_REWRITE_PLAN)
    run = {k: _plain(v) for k, v in run_frame.iloc[0].items()}
    try:
        scenario = json.loads(run["scenario"])
    except (TypeError, ValueError):
        raise InputError("the scenario is not valid JSON", path=str(path), layer=RUN_TABLE, column="scenario",
                         fix=_REWRITE_PLAN) from None
    return run, scenario


def _read_communities(path: Path) -> pd.DataFrame:
    """The communities layer, with its demand and what the plan serves."""
    communities = pyogrio.read_dataframe(path, layer=COMMUNITIES_LAYER, use_arrow=has_extra("arrow"))
    for column in COMMUNITY_COLUMNS:
        if column not in communities:
            raise InputError("missing column", path=str(path), layer=COMMUNITIES_LAYER, column=column,
                             fix=_REWRITE_PLAN)
    return communities


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


# --------------------------------------------------------------------------- sweeps and fronts


@dataclass
class SweepFolder:
    """What the report reads from a sweep or Pareto results folder (any piece may be missing).

    Attributes
    ----------
    path : Path — the folder
    table : DataFrame or None — one row per scenario
    table_source : str — the file (and table) the rows were read from
    fronts : list of (Path, DataFrame or None) — each ``front.png`` with the points table beside it
    units : dict — the unit of each results column, where known
    """

    path: Path
    table: pd.DataFrame | None
    table_source: str
    fronts: list[tuple[Path, pd.DataFrame | None]]
    units: dict[str, str]


def read_sweep_folder(folder: str | os.PathLike[str]) -> SweepFolder:
    """Read ``results.csv`` (or the ``sweep`` table of ``results.gpkg``), Pareto fronts (``front.png`` and
    the points table beside it) and KPI units (from a plan's summary table), whichever are present.

    Raises
    ------
    InputError
        When the folder holds neither sweep results nor a Pareto front, or a results table cannot be read.
    """
    folder = Path(folder)
    table, source = _read_results_table(folder)
    fronts = _read_fronts(folder)
    if table is None and not fronts:
        raise InputError(f"folder {folder} holds neither sweep results ({SWEEP_CSV} or {SWEEP_GPKG}) nor a "
                         f"Pareto front ({FRONT_PNG})",
                         fix="give the folder that `dualuse sweep … -o RESULTS_DIR` or `dualuse pareto … -o "
                             "FRONT_DIR` wrote, or a plan file")
    return SweepFolder(folder, table, source, fronts, _units(folder))


def _read_results_table(folder: Path) -> tuple[pd.DataFrame | None, str]:
    """The scenario rows of a sweep, from ``results.csv`` or else ``results.gpkg``, and where they came from."""
    csv = folder / SWEEP_CSV
    gpkg = folder / SWEEP_GPKG
    if csv.is_file():
        try:
            return pd.read_csv(csv), str(csv)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot be read as CSV ({str(exc).splitlines()[0][:160]})", path=str(csv),
                             fix="run the sweep again to rewrite it") from None
    if gpkg.is_file():
        layers = list_layers(gpkg)
        if SWEEP_TABLE not in layers:
            raise InputError(f"there is no table '{SWEEP_TABLE}' (layers: {', '.join(layers) or 'none'})",
                             path=str(gpkg), layer=SWEEP_TABLE, fix="run the sweep again to rewrite it")
        table = pd.DataFrame(pyogrio.read_dataframe(gpkg, layer=SWEEP_TABLE, read_geometry=False))
        return table, f"{gpkg} (table {SWEEP_TABLE})"
    return None, ""


def _read_fronts(folder: Path) -> list[tuple[Path, pd.DataFrame | None]]:
    """Each ``front.png`` in the folder or one level down, with the first other CSV beside it (its points)."""
    fronts: list[tuple[Path, pd.DataFrame | None]] = []
    for png in sorted([*folder.glob(FRONT_PNG), *folder.glob(f"*/{FRONT_PNG}")]):
        points = None
        for candidate in sorted(png.parent.glob("*.csv")):
            if candidate.name != SWEEP_CSV:
                with contextlib.suppress(Exception):
                    points = pd.read_csv(candidate)
                break
        fronts.append((png, points))
    return fronts


def _units(folder: Path) -> dict[str, str]:
    """Units of the results columns: from the ``sweep_columns`` table of ``results.gpkg``, else from the
    summary table of one plan of the sweep; empty when neither is there."""
    with contextlib.suppress(Exception):
        columns = pd.DataFrame(pyogrio.read_dataframe(folder / SWEEP_GPKG, layer=f"{SWEEP_TABLE}_columns",
                                                      read_geometry=False))
        return {str(c): str(u) for c, u in zip(columns["column"], columns["unit"]) if u and u not in ("—", "-")}
    for plan in sorted(folder.glob("plans/*.gpkg"))[:1]:
        with contextlib.suppress(Exception):
            summary = pd.DataFrame(pyogrio.read_dataframe(plan, layer=SUMMARY_TABLE, read_geometry=False))
            return {str(k): str(u) for k, u in zip(summary["kpi"], summary["unit"])}
    return {}
