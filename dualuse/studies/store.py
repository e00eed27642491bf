"""A study's results on disk: one row (and plan) per finished solve, and the tables gathered from them.

A finished scenario is kept as ``<folder>/rows/<id>.json`` (and its plan as
``plans/<id>.gpkg``), each written atomically as soon as it completes, so a
re-run skips what is there.  The gathered table is written as
``<stem>.gpkg`` (with a ``<table>_columns`` table of units and meanings) and
``<stem>.csv``.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio

from dualuse.export.gpkg import read_table
from dualuse.files import atomic_path, atomic_write, check_output_path, remove_stale_in
from dualuse.inputs.scenario import PARAMETER_BY_NAME
from dualuse.model.kpis import KPI_UNITS
from dualuse.studies.spec import Variation
from dualuse.vocabulary import SWEEP_TABLE

ROWS_DIR = "rows"
PLANS_DIR = "plans"
#: The file stem of a sweep's table: ``results.gpkg`` and ``results.csv``.
RESULTS_STEM = "results"
#: Statuses that are results (kept for a re-run); an "error" is retried.
FINAL_STATUSES = frozenset({"optimal", "feasible", "infeasible", "unbounded", "time_limit"})
PLAN_STATUSES = frozenset({"optimal", "feasible"})
#: Columns that differ between two runs of the same scenario.
TIMING_COLUMNS: tuple[str, ...] = ("solve_s", "seeded", "structured_rounds")


class ResultStore:
    """Finished rows and plans in a results folder, each written atomically as it completes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for sub in (ROWS_DIR, PLANS_DIR):
            (folder / sub).mkdir(exist_ok=True)
            remove_stale_in(folder / sub)

    def row_path(self, id_: str) -> Path:
        return self.folder / ROWS_DIR / f"{id_}.json"

    def plan_path(self, id_: str) -> Path:
        return self.folder / PLANS_DIR / f"{id_}.gpkg"

    def load(self, id_: str, want_plan: bool) -> dict[str, Any] | None:
        """The stored result of ``id_``, or None when it must be solved (again)."""
        try:
            stored = json.loads(self.row_path(id_).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        row = stored.get("row", {})
        if row.get("id") != id_ or row.get("status") not in FINAL_STATUSES:
            return None
        if want_plan and row["status"] in PLAN_STATUSES and not self.plan_path(id_).exists():
            return None
        return stored

    def save(self, result: dict[str, Any]) -> None:
        """The plan first, then the row: a stored row means its plan is there too."""
        row = result["row"]
        if result.get("plan") is not None:
            atomic_write(self.plan_path(row["id"]), result["plan"])
        if row["status"] in FINAL_STATUSES:
            stored = {"row": row, "units": result.get("units", {}),
                      "finished_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
            atomic_write(self.row_path(row["id"]), json.dumps(stored, sort_keys=True).encode())



def results_frame(variations: Sequence[Variation], varied: Sequence[str], results: Mapping[str, dict[str, Any]],
                  plans_folder: str | None = None) -> pd.DataFrame:
    """One row per variation: id, name, the varied parameters, status, message, objective, KPIs,
    shadow prices, solve time, plan file and the scenario as canonical JSON."""
    shadow: list[str] = []
    for result in results.values():
        shadow += [k for k in result["row"] if k.startswith("shadow_") and k not in shadow]
    kpis = [k for k in KPI_UNITS if k not in varied]
    records = []
    for v in variations:
        row = results.get(v.id, {}).get("row", {"status": "error", "message": "not solved"})
        record: dict[str, Any] = {"id": v.id, "name": v.name}
        record.update({p: getattr(v.scenario, p) for p in varied})
        record.update(status=row.get("status", "error"), message=row.get("message", ""),
                      objective=row.get("objective", math.nan), gap=row.get("gap", math.nan))
        record.update({k: row.get(k, math.nan) for k in kpis})
        record.update({k: row.get(k, math.nan) for k in shadow})
        record["solve_s"] = row.get("solve_s", math.nan)
        record["seeded"] = bool(row.get("seeded", False))
        record["structured_rounds"] = int(row.get("structured_rounds", 0))
        has_plan = plans_folder is not None and record["status"] in PLAN_STATUSES
        record["plan"] = f"{plans_folder}/{v.id}.gpkg" if has_plan else ""
        record["scenario"] = v.scenario.to_json()
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    for column in ("id", "name", "status", "message", "plan", "scenario"):
        frame[column] = frame[column].astype(object)
    return frame


def column_units(frame: pd.DataFrame, units: Mapping[str, str],
                 described: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """The unit and meaning of every column of a results table (``described``: more columns' unit, meaning)."""
    fixed = {**(described or {}), **{
        "id": ("—", "result id: hash of the scenario's parameters, the input region and the catalogue"),
        "name": ("—", "scenario name: its named set and grid values"),
        "status": ("—", "optimal, feasible (time limit with a plan), infeasible, unbounded, time_limit, error"),
        "message": ("—", "why there is no plan, or a warning"),
        "objective": ("—", "weighted sum of the unit-free KPIs less the cost tie-break"),
        "gap": ("relative", "MILP optimality gap (0 for an LP)"),
        "solve_s": ("s", "wall time of the worker for this scenario (coefficients, pre-solve checks, model, HiGHS, plan)"),
        "seeded": ("—", "the structured solve started from the coupling duals of the scenario before it in its chain"),
        "structured_rounds": ("—", "column-generation rounds of the structured solve (0: the generic path)"),
        "plan": ("—", "the plan GeoPackage, relative to the results folder"),
        "scenario": ("—", "every parameter of the scenario, as canonical JSON"),
    }}
    rows = []
    for column in frame.columns:
        if column in fixed:
            unit, meaning = fixed[column]
        elif column in PARAMETER_BY_NAME:
            unit, meaning = PARAMETER_BY_NAME[column].unit, PARAMETER_BY_NAME[column].help
        elif column in KPI_UNITS:
            unit, meaning = KPI_UNITS[column]
        elif column.startswith("shadow_"):
            unit, meaning = units.get(column, ""), f"shadow price of {column[len('shadow_'):]}"
        else:
            unit, meaning = units.get(column, ""), ""
        rows.append({"column": column, "unit": unit, "meaning": meaning})
    return pd.DataFrame(rows).astype(object)


def write_table(folder: Path, stem: str, layer: str, frame: pd.DataFrame, units: Mapping[str, str],
                described: Mapping[str, tuple[str, str]] | None = None) -> None:
    """``<stem>.gpkg`` (table ``layer`` and ``<layer>_columns``) and ``<stem>.csv``, each written atomically."""
    destination = check_output_path(folder / f"{stem}.gpkg")
    with atomic_path(destination) as temp:
        pyogrio.write_dataframe(_plain(frame), temp, layer=layer, driver="GPKG")
        pyogrio.write_dataframe(column_units(frame, units, described), temp, layer=f"{layer}_columns",
                                driver="GPKG")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    atomic_write(folder / f"{stem}.csv", buffer.getvalue().encode("utf-8"))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns GeoPackage can store: numbers as float or int, everything else as text."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = out[column].astype(np.int32)
        elif out[column].dtype.kind not in "fiu":
            out[column] = out[column].astype(str).astype(object)
    return out


def read_results(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """The ``sweep`` table of a results folder."""
    return read_table(Path(folder) / f"{RESULTS_STEM}.gpkg", SWEEP_TABLE)
