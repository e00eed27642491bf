"""The HTML report of a plan or of a sweep: maps, the LDN balance, energy access and trade-offs.

``dualuse report PLAN.gpkg`` writes one self-contained HTML file (every image
embedded as a base64 PNG, no script, no network) and the same figures as PNG
files beside it.  ``dualuse report RESULTS_DIR`` does the same for a sweep:
each KPI against each varied parameter, the Pareto front where there is one,
and the table of scenarios.

The report reads plan and sweep files only: it is downstream of
:mod:`dualuse.export.gpkg` and never builds or solves a model.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from dualuse import __version__
from dualuse.vocabulary import USES
from dualuse.errors import InputError, OutputError
from dualuse.report.figures import (DPI, LABELLED_COMMUNITIES, Figure, KpiPanel, access_chart, kpi_panels, land_use_map,
                             ldn_chart, sweep_chart)
from dualuse.palette import USE_COLOURS, USE_LABELS
from dualuse.vocabulary import LAND_TYPES
from dualuse.inputs.scenario import PARAMETER_BY_NAME, PARAMETERS

PLAN_LAYER = "plan"
COMMUNITIES_LAYER = "communities"
SUMMARY_TABLE = "summary"
RUN_TABLE = "run"
#: Plan-layer columns the report needs.
REQUIRED_COLUMNS: tuple[str, ...] = ("land_type", "area_ha", "use", *(f"share_{u}" for u in USES), "ldn_net")
#: Plan-layer columns the report uses where present: per-parcel shares improving and degrading
#: (``ldn_net = ldn_gain − ldn_loss``) and the baseline SDG 15.3.1 status.
OPTIONAL_COLUMNS: tuple[str, ...] = ("ldn_gain", "ldn_loss", "degradation")
#: Statuses of a run that has a plan.
PLAN_STATUSES = ("optimal", "feasible")
SWEEP_CSV = "results.csv"
SWEEP_GPKG = "results.gpkg"
SWEEP_TABLE = "sweep"
FRONT_PNG = "front.png"
#: Shares of a parcel closer to 1 than this count as a parcel under one use.
WHOLE_SHARE_TOL = 1e-6


# --------------------------------------------------------------------------- reading a plan


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
        rows = self.summary.loc[self.summary["kpi"] == name, "unit"]
        return str(rows.iloc[0]) if len(rows) else ""


def _layers(path: Path) -> list[str]:
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
    layers = _layers(path)
    for needed in (PLAN_LAYER, SUMMARY_TABLE, RUN_TABLE):
        if needed not in layers:
            raise InputError(f"there is no layer or table '{needed}' (layers: {', '.join(layers) or 'none'}): "
                             "this is not a dualuse plan file", path=str(path), layer=needed,
                             fix="make a plan with `dualuse solve REGION.gpkg -o PLAN.gpkg` and report on PLAN.gpkg")
    fields = [str(f) for f in pyogrio.read_info(path, layer=PLAN_LAYER)["fields"]]
    missing = [c for c in REQUIRED_COLUMNS if c not in fields]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path=str(path), layer=PLAN_LAYER,
                         column=missing[0], fix="write the plan again with `dualuse solve` (the plan layer of "
                                                "this dualuse version has them)")
    columns = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, "community_id") if c in fields]
    plan = pyogrio.read_dataframe(path, layer=PLAN_LAYER, columns=columns, use_arrow=True)
    if not isinstance(plan, gpd.GeoDataFrame) or plan.geometry.isna().all():
        raise InputError("the layer has no geometry", path=str(path), layer=PLAN_LAYER,
                         fix="write the plan again with `dualuse solve`")
    if len(plan) == 0:
        raise InputError("the layer has no parcels", path=str(path), layer=PLAN_LAYER,
                         fix="solve a region with at least one parcel")
    summary = pd.DataFrame(pyogrio.read_dataframe(path, layer=SUMMARY_TABLE, read_geometry=False))
    for column in ("kpi", "unit", "baseline", "plan"):
        if column not in summary:
            raise InputError("missing column", path=str(path), layer=SUMMARY_TABLE, column=column,
                             fix="write the plan again with `dualuse solve`")
    run_frame = pd.DataFrame(pyogrio.read_dataframe(path, layer=RUN_TABLE, read_geometry=False))
    if len(run_frame) == 0 or "scenario" not in run_frame:
        raise InputError("the run record or its 'scenario' column is missing", path=str(path), layer=RUN_TABLE,
                         column="scenario", fix="write the plan again with `dualuse solve`")
    run = {k: _plain(v) for k, v in run_frame.iloc[0].items()}
    try:
        scenario = json.loads(run["scenario"])
    except (TypeError, ValueError):
        raise InputError("the scenario is not valid JSON", path=str(path), layer=RUN_TABLE, column="scenario",
                         fix="write the plan again with `dualuse solve`") from None
    communities = None
    if COMMUNITIES_LAYER in layers:
        communities = pyogrio.read_dataframe(path, layer=COMMUNITIES_LAYER, use_arrow=True)
        for column in ("community_id", "demand_mwh", "served_mwh", "unserved_households", "households_served"):
            if column not in communities:
                raise InputError("missing column", path=str(path), layer=COMMUNITIES_LAYER, column=column,
                                 fix="write the plan again with `dualuse solve`")
    return PlanFile(path, plan, communities, summary, run, scenario)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


# --------------------------------------------------------------------------- the numbers


def area_by_use_ha(plan: pd.DataFrame) -> dict[str, float]:
    """Area allocated to each use, all shares counted [ha]."""
    area = plan["area_ha"].to_numpy(float)
    return {u: float(area @ plan[f"share_{u}"].to_numpy(float)) for u in USES}


def ldn_balance(plan: pd.DataFrame, scenario: dict[str, Any], improved_ha: float | None = None
                ) -> tuple[pd.DataFrame, dict[str, Any]]:
    r"""The LDN balance per land type: gains, losses and net against the target, and the verdict.

    The net of a land type is exact: :math:`\sum_{i \in t} A_i \, \mathrm{ldn\_net}_i` with
    ``ldn_net`` :math:`= \sum_u q_{iu} x_{iu}`.  Gains and losses come from the
    ``ldn_gain`` and ``ldn_loss`` columns where the plan has them; otherwise
    from the sign of each parcel's net, which is exact for every parcel under
    a single use and, for a parcel split between an improving and a
    degrading use, counts only what is left after they cancel.  Water is
    not land and is left out (SDG 15.3.1).  The target is ``ldn_target`` ×
    the land type's area; a land type is neutral when net ≥ target (within
    1e-6 of its area, the solver's tolerance).

    Parameters
    ----------
    plan : DataFrame — the plan layer: ``land_type``, ``area_ha``, ``ldn_net``, ``share_<use>``
      (and optionally ``ldn_gain``, ``ldn_loss``, ``degradation``)
    scenario : dict — the run's scenario (``ldn_target``, ``ldn_scope``)
    improved_ha : float, optional — the plan's total improving area from the summary (water
      included), to measure what split parcels leave unattributed

    Returns
    -------
    (DataFrame, dict)
        One row per land type, then a row ``all land``: ``land_type``,
        ``label``, ``area_ha``, ``gains_ha``, ``losses_ha``, ``net_ha``,
        ``target_ha``, ``baseline_gains_ha``, ``baseline_losses_ha``,
        ``baseline_net_ha``, ``neutral``, ``shortfall_ha``, ``verdict``;
        and notes: ``exact``, ``split_ha``, ``unattributed_ha``, ``water_ha``,
        ``scope``, ``target``.
    """
    land = plan["land_type"].astype(str).str.strip().str.lower().to_numpy()
    area = plan["area_ha"].to_numpy(float)
    net_share = plan["ldn_net"].to_numpy(float)
    exact = "ldn_gain" in plan and "ldn_loss" in plan
    if exact:
        gain_share = plan["ldn_gain"].to_numpy(float)
        loss_share = plan["ldn_loss"].to_numpy(float)
    else:
        gain_share = np.clip(net_share, 0.0, None)
        loss_share = np.clip(-net_share, 0.0, None)
    shares = plan[[f"share_{u}" for u in USES]].to_numpy(float)
    split = shares.max(axis=1) < 1.0 - WHOLE_SHARE_TOL
    baseline = plan["degradation"].to_numpy(float) if "degradation" in plan else np.zeros(len(plan))
    baseline = np.nan_to_num(baseline)
    frame = pd.DataFrame({
        "land_type": land, "area_ha": area, "gains_ha": area * gain_share, "losses_ha": area * loss_share,
        "net_ha": area * net_share, "baseline_gains_ha": area * (baseline > 0),
        "baseline_losses_ha": area * (baseline < 0)})
    unattributed = 0.0
    if improved_ha is not None and math.isfinite(improved_ha) and not exact:
        unattributed = max(0.0, improved_ha - float(frame["gains_ha"].sum()))
    water = frame["land_type"] == "water"
    water_ha = float(frame.loc[water, "area_ha"].sum())
    by_type = frame[~water].groupby("land_type", sort=False).sum(numeric_only=True)
    order = [t for t in LAND_TYPES if t in by_type.index] + sorted(t for t in by_type.index if t not in LAND_TYPES)
    by_type = by_type.loc[order]
    total = by_type.sum().to_frame("all land").T
    table = pd.concat([by_type, total])
    table.index.name = "land_type"
    table = table.reset_index()
    target_share = float(scenario.get("ldn_target", 0.0) or 0.0)
    scope = str(scenario.get("ldn_scope", "land_type"))
    table["baseline_net_ha"] = table["baseline_gains_ha"] - table["baseline_losses_ha"]
    table["target_ha"] = target_share * table["area_ha"]
    tolerance = 1e-6 * np.maximum(table["area_ha"].to_numpy(float), 1.0)
    table["neutral"] = table["net_ha"].to_numpy(float) >= table["target_ha"].to_numpy(float) - tolerance
    table["shortfall_ha"] = np.clip(table["target_ha"] - table["net_ha"], 0.0, None).where(~table["neutral"], 0.0)
    table["label"] = [t.capitalize() if t != "all land" else "All land" for t in table["land_type"]]
    table["verdict"] = [_verdict(row, target_share) for row in table.itertuples()]
    notes = {"exact": exact or not bool(split.any()), "split_ha": float(area[split].sum()),
             "unattributed_ha": unattributed, "water_ha": water_ha, "scope": scope, "target": target_share}
    return table, notes


def _signed(value: float) -> str:
    """A whole number of ha with its sign; magnitudes under 0.5 print as 0."""
    return "0" if abs(value) < 0.5 else f"{value:+,.0f}"


def _verdict(row: Any, target_share: float) -> str:
    if target_share == 0:
        met, missed = "is neutral", "is not neutral"
    elif target_share > 0:
        met, missed = "meets the net-gain target", "falls short of the net-gain target"
    else:
        met, missed = "stays within the allowed net loss", "loses more than the allowed net loss"
    numbers = (f"gains {row.gains_ha:,.0f} ha, losses {row.losses_ha:,.0f} ha, net {_signed(row.net_ha)} ha "
               f"against a target of {_signed(row.target_ha)} ha")
    if row.neutral:
        return f"{row.label} {met}: {numbers}."
    return f"{row.label} {missed}: {numbers}, {row.shortfall_ha:,.0f} ha short."


#: The headline KPIs: (summary kpi, label, as a percentage).
HEADLINE_KPIS: tuple[tuple[str, str, bool], ...] = (
    ("energy_mwh", "PV generation", False),
    ("capacity_mw", "Installed PV capacity", False),
    ("served_mwh", "Energy delivered to households", False),
    ("export_mwh", "Energy sent to the grid", False),
    ("households_served", "Households gaining access", False),
    ("unserved_households", "Households still without electricity", False),
    ("access", "Share of unserved demand met", True),
    ("productivity_t", "Harvest", False),
    ("productivity", "Harvest relative to today", True),
    ("restored_ha", "Restored area", False),
    ("improved_ha", "Area improving at the horizon", False),
    ("degraded_ha", "Area degraded at the horizon", False),
    ("ldn_net_ha", "Net LDN balance (improving − degraded)", False),
    ("soc_change_t", "Soil organic carbon change", False),
    ("cost_usd", "Cost, delivery included", False),
    ("budget_usd", "Budget", False),
)


def kpi_table(pf: PlanFile) -> pd.DataFrame:
    """Baseline and plan of the headline KPIs, read from the summary table (absent rows left out)."""
    rows = []
    for key, label, percent in HEADLINE_KPIS:
        if not (pf.summary["kpi"] == key).any():
            continue
        today, plan = pf.kpi(key, "baseline"), pf.kpi(key)
        rows.append({"kpi": key, "label": label, "unit": "%" if percent else pf.unit(key), "today": today,
                     "plan": plan, "change": plan - today, "percent": percent})
    return pd.DataFrame(rows)


def kpi_chart(pf: PlanFile) -> Figure:
    """The KPI small multiples: energy, PV, households, demand met, harvest, restored, degraded, cost."""
    scenario = pf.scenario
    panels = [
        KpiPanel("PV generation", "MWh/yr", pf.kpi("energy_mwh", "baseline"), pf.kpi("energy_mwh")),
        KpiPanel("Installed PV", "MWp", pf.kpi("capacity_mw", "baseline"), pf.kpi("capacity_mw")),
        KpiPanel("Households with access", "households gaining access", pf.kpi("households_served", "baseline"),
                 pf.kpi("households_served"), reference=pf.kpi("unserved_households", "baseline"),
                 reference_label="all"),
        KpiPanel("Demand met", "share of unserved demand", pf.kpi("access", "baseline"), pf.kpi("access"),
                 reference=1.0, reference_label="all", percent=True),
        KpiPanel("Harvest", "thousand t dry matter/yr", pf.kpi("productivity_t", "baseline"), pf.kpi("productivity_t"),
                 reference=float(scenario.get("food_floor", math.nan)) * pf.kpi("productivity_t", "baseline"),
                 reference_label="floor", scale=1000.0),
        KpiPanel("Restored area", "ha", pf.kpi("restored_ha", "baseline"), pf.kpi("restored_ha"),
                 reference=float(scenario.get("min_restored_ha", 0.0)) or None, reference_label="min."),
        KpiPanel("Degraded area", "ha at the horizon", pf.kpi("degraded_ha", "baseline"), pf.kpi("degraded_ha")),
        KpiPanel("Cost", "USD million, delivery included", pf.kpi("cost_usd", "baseline"), pf.kpi("cost_usd"),
                 reference=pf.kpi("budget_usd"), reference_label="budget", scale=1e6),
    ]
    return kpi_panels([p for p in panels if math.isfinite(p.plan)])


def access_table(communities: pd.DataFrame) -> pd.DataFrame:
    """Per community: households without electricity, demand, served, households gaining access, share met."""
    frame = pd.DataFrame(communities).drop(columns=["geometry", "geom"], errors="ignore")
    out = frame[["community_id", "unserved_households", "demand_mwh", "served_mwh", "households_served"]].copy()
    demand = out["demand_mwh"].to_numpy(float)
    out["access_share"] = np.divide(out["served_mwh"].to_numpy(float), demand, out=np.zeros_like(demand),
                                    where=demand > 0)
    return out.reset_index(drop=True)


def household_objective(pf: PlanFile) -> float:
    """Objective value of one more household gaining access, at the region's average household demand.

    Access is served energy over total demand, weighted by ``weight_access``;
    a household of average demand D/H adds ``weight_access / H`` to the
    objective (H: households without electricity today).  NaN where there is
    no such household or access has no weight.
    """
    households = pf.kpi("unserved_households", "baseline")
    weight = float(pf.scenario.get("weight_access", math.nan))
    if not (math.isfinite(households) and households > 0 and math.isfinite(weight) and weight > 0):
        return math.nan
    return weight / households


def shadow_price_sentences(pf: PlanFile) -> list[str]:
    """One plain sentence per shadow price of the summary table (``shadow_*`` rows)."""
    rows = pf.summary[pf.summary["kpi"].astype(str).str.startswith("shadow_")]
    per_household = household_objective(pf)

    def households(objective: float) -> str:
        if not math.isfinite(per_household):
            return ""
        count = objective / per_household
        text = f"{count:,.0f}" if count >= 9.5 else f"{count:.2g}"
        return f" — worth as much as about {text} more household{'' if text == '1' else 's'} gaining access"

    sentences = []
    for row in rows.itertuples():
        name = str(row.kpi)[len("shadow_"):]
        value = float(row.plan) if pd.notna(row.plan) else math.nan
        idle = not math.isfinite(value) or abs(value) < 1e-12
        if name == "budget":
            spent, budget = pf.kpi("cost_usd"), pf.kpi("budget_usd")
            sentences.append(
                f"The budget is not binding: the plan spends USD {spent / 1e6:,.1f} M of USD {budget / 1e6:,.1f} M, "
                "and more money would not improve it." if idle else
                f"Each extra USD 1 M of budget would raise the objective by about {value:.3g}{households(value)}"
                + (f", or USD {per_household * 1e6 / value:,.0f} for each household's worth of objective."
                   if math.isfinite(per_household) else "."))
        elif name.startswith("ldn_"):
            group = name[len("ldn_"):]
            where = "the region" if group == "region" else group
            sentences.append(
                f"The LDN requirement in {where} is not binding: relaxing it would not improve the plan."
                if idle else
                f"Requiring 1,000 ha less net LDN gain in {where} would raise the objective by about "
                f"{1000 * value:.3g}{households(1000 * value)}: LDN there is a binding limit of the plan.")
        elif name == "food_floor":
            floor = float(pf.scenario.get("food_floor", math.nan))
            sentences.append(
                f"The food-security floor ({floor:.0%} of today's harvest) is not binding." if idle else
                f"Lowering the food-security floor by one percentage point of today's harvest (now {floor:.0%}) "
                f"would raise the objective by about {value:.3g}{households(value)}.")
        elif name == "grid_export":
            sentences.append(
                "More generation would not improve the plan." if idle else
                f"Each extra 1,000 MWh/yr that the region's PV could generate and deliver would raise the "
                f"objective by about {1000 * value:.3g}{households(1000 * value)}.")
        else:
            meaning = str(getattr(row, "meaning", "") or name)
            sentences.append(f"{meaning[:1].upper()}{meaning[1:]}: {value:.3g} ({row.unit}).")
    return sentences


def objective_sentence(pf: PlanFile) -> str:
    """What the objective is, with this run's weights."""
    s = pf.scenario
    parts = [f"{s.get('weight_access', '?')} × the share of unserved demand met",
             f"{s.get('weight_energy', '?')} × energy delivered as a share of the most possible",
             f"{s.get('weight_productivity', '?')} × harvest relative to today"]
    text = ("The objective is " + ", plus ".join(parts) + f", less {s.get('weight_cost', '?')} × the share of the "
            f"budget spent; this plan scores {_num(pf.kpi('objective'))}.")
    per_household = household_objective(pf)
    if math.isfinite(per_household):
        text += (f" One more household gaining access is worth about {per_household:.3g} of objective "
                 f"({s.get('weight_access')} ÷ {pf.kpi('unserved_households', 'baseline'):,.0f} households "
                 "without electricity today, at the region's average household demand); the sentences below use "
                 "it to put each shadow price in households.")
    return text


# --------------------------------------------------------------------------- figures of a plan


def plan_figures(pf: PlanFile, ldn: pd.DataFrame, seconds: dict[str, float] | None = None) -> list[Figure]:
    """Every figure of a plan report, in the order they appear; ``seconds`` receives each one's drawing time."""
    plan = pf.plan
    communities = pf.communities if isinstance(pf.communities, gpd.GeoDataFrame) else None
    steps = [
        ("map", lambda: land_use_map(plan.geometry, plan["use"].astype(str).to_numpy(), area_by_use_ha(plan),
                                     communities, title=f"Land use in the plan — {_region_name(pf)}",
                                     pv_share=(plan["share_solar"] + plan["share_agrivoltaic"]).to_numpy(float))),
        ("kpis", lambda: kpi_chart(pf)),
        ("ldn", lambda: ldn_chart(ldn)),
    ]
    if pf.communities is not None and len(pf.communities):
        steps.append(("access", lambda: access_chart(access_table(pf.communities))))
    figures = []
    for name, draw in steps:
        t = time.perf_counter()
        figures.append(draw())
        if seconds is not None:
            seconds[f"{name}_s"] = time.perf_counter() - t
    return figures


def _region_name(pf: PlanFile) -> str:
    source = str(pf.run.get("input_path") or "")
    return Path(source).stem if source else pf.path.stem


# --------------------------------------------------------------------------- writing


@dataclass
class Report:
    """A written report: the HTML file, the PNG files beside it, and what went into it."""

    html: Path
    pngs: list[Path]
    figures: list[Figure]
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def check_report_path(output: str | os.PathLike[str]) -> Path:
    """Refuse an output that cannot be written, before any work."""
    out = Path(output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise OutputError(f"output {out}: the name must end in .html")
    if out.is_dir():
        raise OutputError(f"output {out} is a folder; give a file name ending in .html")
    folder = out.resolve().parent
    if not folder.is_dir():
        raise OutputError(f"output folder {folder} does not exist; create it or choose another -o PATH")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {folder} is not writable; choose another -o PATH")
    return out


def _write_all(files: dict[Path, bytes]) -> None:
    """Write every file to a temporary name beside it, then rename them all: no half-written output."""
    temps: list[tuple[Path, Path]] = []
    try:
        for destination, content in files.items():
            fd, name = tempfile.mkstemp(prefix=f".{destination.name}.tmp-", dir=destination.resolve().parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.chmod(name, 0o644)
            temps.append((Path(name), destination))
        for temp, destination in temps:
            os.replace(temp, destination)
    finally:
        for temp, _ in temps:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


def write_report(source: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> Report:
    """Write the report of a plan file or of a sweep results folder.

    Parameters
    ----------
    source : path — a plan GeoPackage (``dualuse solve``) or a folder of sweep or Pareto results
    output : path, optional — the HTML file; default ``<plan>.html`` beside the plan, or
      ``<folder>/report.html``

    Returns
    -------
    Report
    """
    source = Path(source)
    if source.is_dir():
        return write_sweep_report(source, output)
    return write_plan_report(source, output)


def write_plan_report(plan_path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> Report:
    """Read a plan file and write its HTML report and PNG figures (see :func:`write_report`)."""
    plan_path = Path(plan_path)
    out = check_report_path(output if output is not None else plan_path.with_suffix(".html"))
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    pf = read_plan_file(plan_path)
    seconds["read_s"] = time.perf_counter() - t
    ldn, ldn_notes = ldn_balance(pf.plan, pf.scenario, pf.kpi("improved_ha"))
    figures = plan_figures(pf, ldn, seconds)
    t = time.perf_counter()
    page = plan_html(pf, figures, ldn, ldn_notes)
    seconds["html_s"] = time.perf_counter() - t
    files = {out.with_name(f"{out.stem}_{f.name}.png"): f.png for f in figures}
    files[out] = page.encode("utf-8")
    t = time.perf_counter()
    _write_all(files)
    seconds["write_s"] = time.perf_counter() - t
    return Report(out, [p for p in files if p != out], figures, seconds)


# --------------------------------------------------------------------------- HTML


_CSS = """
:root { --ink:#222; --muted:#666; --line:#e2e4e8; --plan:#1f4e79; --ok:#1a9641; --bad:#c0392b; }
* { box-sizing: border-box; }
body { margin:0; background:#eef0f3; color:var(--ink);
  font: 15px/1.5 "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 24px auto; background:#fff; padding: 36px 48px 48px;
  box-shadow: 0 1px 3px rgba(0,0,0,.08); }
header { border-bottom: 3px solid var(--plan); padding-bottom: 14px; margin-bottom: 22px; }
h1 { font-size: 27px; margin: 0 0 4px; font-weight: 650; }
h2 { font-size: 20px; margin: 38px 0 10px; padding-bottom: 5px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
.sub { color: var(--muted); margin: 0; }
.cards { display:grid; grid-template-columns: repeat(3, 1fr); gap: 12px; margin: 18px 0 6px; }
.card { border:1px solid var(--line); border-left: 5px solid var(--plan); padding: 10px 14px; border-radius: 3px; }
.card .v { font-size: 24px; font-weight: 650; line-height: 1.2; }
.card .k { color: var(--muted); font-size: 13px; }
.card.ok { border-left-color: var(--ok); } .card.bad { border-left-color: var(--bad); }
figure { margin: 14px 0 8px; break-inside: avoid; }
figure img { display:block; max-width:100%; height:auto; border:1px solid var(--line); }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 10px 0; }
th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f5f6f8; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 650; border-top: 2px solid #bbb; }
.ok { color: var(--ok); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; }
.swatch { display:inline-block; width: 12px; height: 12px; border:1px solid #888; vertical-align: -1px;
  margin-right: 6px; }
ul.sentences li { margin: 6px 0; }
code, .mono { font-family: "DejaVu Sans Mono", Consolas, Menlo, monospace; font-size: 12.5px; word-break: break-all; }
.note { color: var(--muted); font-size: 13.5px; }
.changed { font-weight: 650; }
.scroll { overflow-x: auto; }
details summary { cursor: pointer; color: var(--plan); margin: 8px 0; }
@media print { details > *:not(summary) { display: block; } }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; border-top: 1px solid var(--line);
  padding-top: 10px; }
@media (max-width: 720px) { .cards { grid-template-columns: 1fr; } main { padding: 20px; } }
td:first-child code { white-space: nowrap; }
@media print { body { background: #fff; } main { box-shadow: none; margin: 0; padding: 0; max-width: none; }
  h2 { break-after: avoid; } }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float, percent: bool = False, digits: int | None = None) -> str:
    if value is None or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        return "–"
    if percent:
        return f"{value:.1%}"
    if digits is not None:
        return f"{value:,.{digits}f}"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG image [px], from its header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        return 0, 0
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _img(figure: Figure, alt: str, caption: str, png_name: str, print_size: bool = True) -> str:
    """A figure embedded as base64 PNG, shown at its print size (CSS px at 96 per inch), at most the page's width."""
    data = base64.b64encode(figure.png).decode("ascii")
    width_px, height_px = _png_size(figure.png)
    css_scale = 96.0 / DPI
    size = (f' width="{round(width_px * css_scale)}" height="{round(height_px * css_scale)}"'
            if width_px and print_size else "")
    legend = ";".join(figure.legend)
    uses = ",".join(figure.data.get("uses", []))
    extra = f' data-uses="{_e(uses)}"' if uses else ""
    return (f'<figure><img src="data:image/png;base64,{data}"{size} alt="{_e(alt)}" data-figure="{_e(figure.name)}" '
            f'data-legend="{_e(legend)}"{extra}>'
            f'<figcaption>{caption} <span class="mono">({_e(png_name)})</span></figcaption></figure>')


def _table(header: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str]], total: bool = False) -> str:
    head = "".join(f'<th class="num">{_e(h)}</th>' if num else f"<th>{_e(h)}</th>" for h, num in header)
    body = []
    for k, row in enumerate(rows):
        cls = ' class="total"' if total and k == len(rows) - 1 else ""
        cells = "".join(f'<td class="num">{c}</td>' if num else f"<td>{c}</td>" for c, (_, num) in zip(row, header))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _page(title: str, body: str) -> str:
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="dualuse {__version__}">\n<title>{_e(title)}</title>\n'
            f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n{body}\n"
            f"<footer>Made by dualuse {__version__} on {created}. This file is self-contained: its figures are "
            "embedded and it needs no network; the same figures are saved as PNG files beside it.</footer>\n"
            "</main>\n</body>\n</html>\n")


def plan_html(pf: PlanFile, figures: list[Figure], ldn: pd.DataFrame, ldn_notes: dict[str, Any],
              stem: str | None = None) -> str:
    """The plan report as one HTML page (figures embedded)."""
    stem = stem or pf.path.stem
    by_name = {f.name: f for f in figures}
    run, s = pf.run, pf.scenario
    region = _region_name(pf)
    land = ldn[ldn["land_type"] != "all land"]
    neutral_count = int(land["neutral"].sum())
    status = str(run.get("status", ""))
    parts: list[str] = []
    parts.append(f"<header><h1>Land-use plan for {_e(region)}</h1>"
                 f'<p class="sub">Solar PV, agrivoltaics, grazing management and restoration under land '
                 f"degradation neutrality · {len(pf.plan):,} parcels, {pf.plan['area_ha'].sum():,.0f} ha · "
                 f"solved {_e(run.get('created_utc', ''))} · status {_e(status)}"
                 f"{'' if status == 'optimal' else ' (gap ' + _num(float(run.get('gap', math.nan)), True) + ')'}"
                 "</p></header>")
    households, unserved = pf.kpi("households_served"), pf.kpi("unserved_households", "baseline")
    cards = [
        ("", _num(households, digits=0), f"households gaining access, of {_num(unserved, digits=0)} without "
                                         "electricity"),
        ("", _num(pf.kpi("access"), True), "of the unserved households' demand met"),
        ("", f"{_num(pf.kpi('capacity_mw'))} MWp", f"PV installed, {_num(pf.kpi('energy_mwh'), digits=0)} MWh/yr"),
        ("", _num(pf.kpi("productivity"), True), "of today's harvest kept"),
        ("ok" if neutral_count == len(land) else "bad", f"{neutral_count} of {len(land)}",
         "land types land-degradation neutral" if float(s.get("ldn_target", 0) or 0) == 0 else
         "land types meet the LDN target"),
        ("", f"USD {pf.kpi('cost_usd') / 1e6:,.1f} M", f"spent of a USD {pf.kpi('budget_usd') / 1e6:,.1f} M budget"),
    ]
    parts.append('<div class="cards">' + "".join(
        f'<div class="card {cls}"><div class="v">{value}</div><div class="k">{_e(text)}</div></div>'
        for cls, value, text in cards) + "</div>")

    # map
    parts.append("<h2>1. Where each use goes</h2>")
    areas = area_by_use_ha(pf.plan)
    total_area = max(sum(areas.values()), 1e-12)
    map_figure = by_name["map"]
    parts.append(_img(map_figure, "Land-use map of the plan; legend: " + ", ".join(map_figure.legend),
                      "Each parcel is coloured by its dominant use, in the colours of the plan's QGIS style; "
                      "the legend gives the area of each use counting every share of every parcel.",
                      f"{stem}_map.png"))
    parts.append(_table([("Use", False), ("Area [ha]", True), ("Share of the region", True),
                         ("Parcels where it dominates", True)],
                        [[f'<span class="swatch" style="background:{USE_COLOURS[u]}"></span>{_e(USE_LABELS[u])}',
                          _num(areas[u], digits=0), _num(areas[u] / total_area, True),
                          f"{int((pf.plan['use'] == u).sum()):,}"] for u in USES]))

    # KPIs
    parts.append("<h2>2. Headline indicators: today and with the plan</h2>")
    parts.append(_img(by_name["kpis"], "Headline indicators, today and with the plan",
                      "Grey: today (every parcel under its current use, nothing delivered). Blue: the plan. "
                      "Dashed lines: the reference named beside them.", f"{stem}_kpis.png"))
    table = kpi_table(pf)
    parts.append(_table([("Indicator", False), ("Unit", False), ("Today", True), ("Plan", True), ("Change", True)],
                        [[_e(r.label), _e(r.unit), _num(r.today, r.percent), _num(r.plan, r.percent),
                          ("+" if r.change > 0 else "") + _num(r.change, r.percent)] for r in table.itertuples()]))

    # LDN
    parts.append("<h2>3. Land degradation neutrality</h2>")
    scope_text = {"land_type": "within each land type (like for like)", "region": "over the whole region, pooled",
                  "off": "not at all (LDN was off in this scenario; the balance is shown for information)"}
    parts.append(f'<p>The scenario requires the net LDN balance — area improving minus area degraded at the '
                 f'{_e(_short(s.get("horizon_years", "")))}-year horizon (SDG 15.3.1) — to reach '
                 f'{float(s.get("ldn_target", 0) or 0):.1%} of the area, '
                 f'{_e(scope_text.get(str(s.get("ldn_scope")), str(s.get("ldn_scope"))))}.</p>')
    parts.append(_img(by_name["ldn"], "LDN balance per land type",
                      "Bars: area improving (green) and degraded (red) with the plan; black diamond: the net; "
                      "white diamond: the net today; bar: the target.", f"{stem}_ldn.png"))
    parts.append('<ul class="sentences">' + "".join(
        f'<li><span class="{"ok" if r.neutral else "bad"}">{"✔" if r.neutral else "✘"}</span> {_e(r.verdict)}</li>'
        for r in ldn.itertuples()) + "</ul>")
    parts.append(_table(
        [("Land type", False), ("Area [ha]", True), ("Gains [ha]", True), ("Losses [ha]", True), ("Net [ha]", True),
         ("Target [ha]", True), ("Net today [ha]", True), ("Verdict", False)],
        [[_e(r.label), _num(r.area_ha, digits=0), _num(r.gains_ha, digits=0), _num(r.losses_ha, digits=0),
          _signed(r.net_ha), _signed(r.target_ha), _signed(r.baseline_net_ha),
          '<span class="ok">neutral</span>' if r.neutral else f'<span class="bad">{r.shortfall_ha:,.0f} ha short'
                                                              "</span>"] for r in ldn.itertuples()], total=True))
    notes = []
    if ldn_notes["water_ha"] > 0:
        notes.append(f"Water bodies ({ldn_notes['water_ha']:,.0f} ha) are not land and are left out (SDG 15.3.1).")
    if not ldn_notes["exact"] and ldn_notes["unattributed_ha"] > 0.5:
        notes.append(f"{ldn_notes['split_ha']:,.0f} ha of parcels are split between uses; within them "
                     f"{ldn_notes['unattributed_ha']:,.0f} ha of gains and as many of losses cancel and are not "
                     "shown by land type. The net of every land type is exact.")
    if notes:
        parts.append('<p class="note">' + " ".join(_e(n) for n in notes) + "</p>")

    # access
    if pf.communities is not None and len(pf.communities):
        parts.append("<h2>4. Energy access by community</h2>")
        parts.append(f"<p>Power from a community's own parcels reaches its households through a mini-grid and "
                     f"storage ({float(s.get('delivery_efficiency', math.nan)):.0%} of generation arrives); the "
                     f"rest goes to the grid.</p>")
        parts.append(_img(by_name["access"], "Energy access by community",
                          "Light bars: the yearly demand of the households without electricity today; blue: "
                          "the part the plan serves.", f"{stem}_access.png"))
        access = access_table(pf.communities)
        rows = [[_e(r.community_id), _num(r.unserved_households, digits=0), _num(r.demand_mwh, digits=0),
                 _num(r.served_mwh, digits=0), _num(r.households_served, digits=0), _num(r.access_share, True)]
                for r in access.itertuples()]
        totals = access[["unserved_households", "demand_mwh", "served_mwh", "households_served"]].sum()
        demand_total = float(totals["demand_mwh"])
        rows.append(["All communities", _num(totals["unserved_households"], digits=0), _num(demand_total, digits=0),
                     _num(totals["served_mwh"], digits=0), _num(totals["households_served"], digits=0),
                     _num(float(totals["served_mwh"]) / demand_total if demand_total > 0 else math.nan, True)])
        access_html = _table([("Community", False), ("Households without electricity", True),
                              ("Demand [MWh/yr]", True), ("Served [MWh/yr]", True),
                              ("Households gaining access", True), ("Demand met", True)], rows, total=True)
        if len(access) > LABELLED_COMMUNITIES:
            access_html = f"<details><summary>Every community ({len(access):,})</summary>{access_html}</details>"
        parts.append(access_html)

    # shadow prices
    sentences = shadow_price_sentences(pf)
    parts.append("<h2>5. What would buy more: the shadow prices</h2>")
    parts.append(f"<p>{_e(objective_sentence(pf))}</p>")
    if sentences:
        parts.append('<ul class="sentences">' + "".join(f"<li>{_e(t)}</li>" for t in sentences) + "</ul>")
        parts.append('<p class="note">Shadow prices hold for small changes around this plan; a larger change is '
                     "best measured with a sweep (<code>dualuse sweep</code>).</p>")
    else:
        parts.append('<p class="note">This run has no shadow prices (a whole-parcel or minimum-plant-size plan is '
                     "a MILP, which has none); a sweep over the parameter measures the same trade-off.</p>")

    # scenario and run
    parts.append("<h2>6. Scenario and run</h2>")
    parts.append("<h3>Scenario parameters</h3>")
    parts.append(_scenario_table(s))
    parts.append("<h3>Run</h3>")
    parts.append(_run_table(run))
    return _page(f"Land-use plan for {region}", "\n".join(parts))


def _scenario_table(scenario: dict[str, Any]) -> str:
    rows = []
    known = [p for p in PARAMETERS if p.name in scenario]
    for p in known:
        value = scenario[p.name]
        changed = value != p.default
        text = _e(_short(value))
        rows.append([f"<code>{_e(p.name)}</code>", f'<span class="changed">{text}</span>' if changed else text,
                     _e(p.unit), _e(p.help) + (f' <span class="note">(default {_e(p.default)})</span>'
                                               if changed else "")])
    for name in sorted(set(scenario) - {p.name for p in known}):
        rows.append([f"<code>{_e(name)}</code>", _e(scenario[name]), "", ""])
    return _table([("Parameter", False), ("Value", True), ("Unit", False), ("Meaning", False)], rows)


#: Run facts shown in the report, in order: (run column, label).
RUN_FACTS: tuple[tuple[str, str], ...] = (
    ("status", "Status"), ("objective", "Objective"), ("gap", "Relative gap"), ("solver", "Solver"),
    ("solver_version", "Solver version"), ("solver_interface", "Interface"), ("solver_options", "Solver options"),
    ("threads", "Threads"), ("seed", "Seed"), ("dualuse_version", "dualuse version"),
    ("created_utc", "Solved at"), ("input_path", "Input"), ("input_layer", "Input layer"),
    ("input_sha256", "Input SHA-256"), ("scenario_sha256", "Scenario SHA-256"),
    ("catalogue_path", "Catalogue"), ("catalogue_sha256", "Catalogue SHA-256"), ("n_parcels", "Parcels"),
    ("n_variables", "Variables"), ("n_constraints", "Constraints"), ("n_nonzeros", "Non-zeros"),
    ("command", "Command"),
)


def _run_table(run: dict[str, Any]) -> str:
    rows = []
    for key, label in RUN_FACTS:
        if key not in run or run[key] is None or (isinstance(run[key], float) and math.isnan(run[key])):
            continue
        value = run[key]
        text = (f"{value:.6g}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int)
                and not isinstance(value, bool) else str(value))
        cell = f'<span class="mono">{_e(text)}</span>' if "sha256" in key or key in ("command", "solver_options") \
            else _e(text)
        rows.append([_e(label), cell])
    versions = ", ".join(f"{k[len('version_'):]} {v}" for k, v in run.items() if k.startswith("version_") and v)
    if versions:
        rows.append(["Library versions", _e(versions)])
    timings = [(k[len("time_"):].removesuffix("_s"), v) for k, v in run.items()
               if k.startswith("time_") and isinstance(v, (int, float))]
    if timings:
        total = sum(v for _, v in timings)
        rows.append(["Time [s]", _e(f"{total:.2f} in all: " + ", ".join(f"{k} {v:.2f}" for k, v in timings))])
    return _table([("Fact", False), ("Value", False)], rows)


# --------------------------------------------------------------------------- sweeps


@dataclass
class SweepFolder:
    """What the report reads from a sweep or Pareto results folder (any piece may be missing)."""

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
    table: pd.DataFrame | None = None
    source = ""
    csv = folder / SWEEP_CSV
    gpkg = folder / SWEEP_GPKG
    if csv.is_file():
        try:
            table = pd.read_csv(csv)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot be read as CSV ({str(exc).splitlines()[0][:160]})", path=str(csv),
                             fix="run the sweep again to rewrite it") from None
        source = str(csv)
    elif gpkg.is_file():
        layers = _layers(gpkg)
        if SWEEP_TABLE not in layers:
            raise InputError(f"there is no table '{SWEEP_TABLE}' (layers: {', '.join(layers) or 'none'})",
                             path=str(gpkg), layer=SWEEP_TABLE, fix="run the sweep again to rewrite it")
        table = pd.DataFrame(pyogrio.read_dataframe(gpkg, layer=SWEEP_TABLE, read_geometry=False))
        source = f"{gpkg} (table {SWEEP_TABLE})"
    fronts: list[tuple[Path, pd.DataFrame | None]] = []
    for png in sorted([*folder.glob(FRONT_PNG), *folder.glob(f"*/{FRONT_PNG}")]):
        points = None
        for candidate in sorted(png.parent.glob("*.csv")):
            if candidate.name != SWEEP_CSV:
                with contextlib.suppress(Exception):
                    points = pd.read_csv(candidate)
                break
        fronts.append((png, points))
    if table is None and not fronts:
        raise InputError(f"folder {folder} holds neither sweep results ({SWEEP_CSV} or {SWEEP_GPKG}) nor a "
                         f"Pareto front ({FRONT_PNG})",
                         fix="give the folder that `dualuse sweep … -o RESULTS_DIR` or `dualuse pareto … -o "
                             "FRONT_DIR` wrote, or a plan file")
    return SweepFolder(folder, table, source, fronts, _units(folder))


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


#: KPIs plotted against each varied parameter, in order, where the results have them.
SWEEP_KPIS: tuple[str, ...] = ("objective", "access", "households_served", "energy_mwh", "capacity_mw",
                               "productivity", "restored_ha", "ldn_net_ha", "cost_usd")
_META = {"id", "name", "status", "message", "scenario", "explanation", "plan", "plan_path", "gap", "point", "knee"}
_LABELS = {"objective": "Objective", "access": "Unserved demand met [share]",
           "households_served": "Households gaining access", "energy_mwh": "PV generation [MWh/yr]",
           "capacity_mw": "Installed PV [MWp]", "productivity": "Harvest relative to today",
           "productivity_t": "Harvest [t DM/yr]", "restored_ha": "Restored [ha]", "degraded_ha": "Degraded [ha]",
           "improved_ha": "Improving [ha]", "ldn_net_ha": "Net LDN balance [ha]", "cost_usd": "Cost [USD]",
           "served_mwh": "Delivered to households [MWh/yr]", "export_mwh": "Sent to the grid [MWh/yr]",
           "soc_change_t": "Soil carbon change [t C]"}
_PARAMETER_LABELS = {"budget_usd": "Budget", "ldn_target": "LDN net-gain target", "food_floor": "Food-security floor",
                     "max_pv_share": "Largest PV share", "min_restored_ha": "Smallest restored area",
                     "grid_export_mwh": "Grid export limit", "delivery_cost_usd_mwh": "Delivery cost",
                     "delivery_efficiency": "Delivery efficiency", "grid_cost_usd_mw_km": "Grid connection cost",
                     "weight_access": "Weight of access", "weight_energy": "Weight of energy",
                     "weight_productivity": "Weight of harvest", "weight_cost": "Weight of cost",
                     "horizon_years": "LDN horizon", "mtf_tier": "MTF tier", "min_plant_mwp": "Smallest PV plant"}
_SUFFIX_UNITS = (("_usd", "USD"), ("_mwh", "MWh/yr"), ("_mw", "MWp"), ("_ha", "ha"), ("_t", "t"), ("_s", "s"),
                 ("_km", "km"))


#: Shadow prices plotted per 1,000 units, so that their values read as ordinary numbers.
_SHADOW_PER_THOUSAND = ("shadow_ldn_", "shadow_grid_export")


def _shadow_scale(name: str) -> float:
    return 1000.0 if name.startswith(_SHADOW_PER_THOUSAND) else 1.0


def column_label(name: str, units: dict[str, str]) -> str:
    """A readable axis label with the unit, for a results column."""
    if name in _LABELS:
        return _LABELS[name]
    if name == "shadow_budget":
        return "Budget [objective per USD 1 M]"
    if name.startswith("shadow_ldn_"):
        return f"LDN in {name[len('shadow_ldn_'):]} [objective per 1,000 ha]"
    if name == "shadow_grid_export":
        return "Generation [objective per 1,000 MWh/yr]"
    if name == "shadow_food_floor":
        return "Food floor [objective per point of today's harvest]"
    if name in PARAMETER_BY_NAME:
        p = PARAMETER_BY_NAME[name]
        label = _PARAMETER_LABELS.get(name, name)
        return f"{label} [{p.unit}]" if p.unit not in ("—", "-", "") else label
    unit = units.get(name) or next((u for suffix, u in _SUFFIX_UNITS if name.endswith(suffix)), "")
    return f"{name} [{unit}]" if unit else name


def classify_columns(table: pd.DataFrame) -> dict[str, list[str]]:
    """Sort the columns of a results table: varied parameters (numeric and categorical), KPIs, shadow prices.

    A parameter is a column named like a scenario parameter (:data:`PARAMETERS`);
    it is varied when it takes more than one value.  Every other numeric
    column but times and ids is a KPI; ``shadow_*`` columns are shadow prices.
    """
    parameters = [c for c in table.columns if c in PARAMETER_BY_NAME]
    varied = [c for c in parameters if table[c].nunique(dropna=True) > 1]
    numeric = [c for c in varied if pd.api.types.is_numeric_dtype(table[c])]
    categorical = [c for c in varied if c not in numeric]
    shadows = [c for c in table.columns if str(c).startswith("shadow_") and pd.api.types.is_numeric_dtype(table[c])]
    kpis = [c for c in table.columns if c not in parameters and c not in _META and c not in shadows
            and pd.api.types.is_numeric_dtype(table[c]) and not str(c).startswith("time")
            and not str(c).endswith("_s")]
    return {"varied": numeric, "categorical": categorical, "kpis": kpis, "shadows": shadows,
            "parameters": parameters}


def _has_plan(table: pd.DataFrame) -> pd.Series:
    if "status" in table:
        return table["status"].astype(str).str.lower().isin(PLAN_STATUSES)
    if "objective" in table:
        return table["objective"].notna()
    return pd.Series(True, index=table.index)


def sweep_figures(sweep: SweepFolder) -> list[Figure]:
    """Each headline KPI (and each shadow price) against each varied numeric parameter."""
    if sweep.table is None or not len(sweep.table):
        return []
    table = sweep.table[_has_plan(sweep.table)]
    if not len(table):
        return []
    columns = classify_columns(sweep.table)
    labels = {c: column_label(c, sweep.units) for c in sweep.table.columns}
    kpis = [k for k in SWEEP_KPIS if k in columns["kpis"] and table[k].notna().any()]
    if not kpis:
        kpis = [k for k in columns["kpis"] if table[k].notna().any()][:9]
    shadows = [c for c in columns["shadows"] if table[c].notna().any() and (table[c].abs() > 1e-12).any()][:9]
    figures = []
    for parameter in columns["varied"]:
        if table[parameter].nunique() < 2:  # the scenarios with a plan all share one value: nothing to plot
            continue
        others = [c for c in (*columns["varied"], *columns["categorical"]) if c != parameter]
        group = min(others, key=lambda c: table[c].nunique()) if others else None
        if group is not None and table[group].nunique() > 8:
            group = None
        if kpis:
            figures.append(sweep_chart(table, parameter, kpis, labels, group))
        if shadows:
            scaled = table.assign(**{c: table[c] * _shadow_scale(c) for c in shadows})
            chart = sweep_chart(scaled, parameter, shadows, labels, group,
                                title=f"Shadow prices against {labels[parameter]}")
            chart.name = f"sweep_{parameter}_shadow"
            figures.append(chart)
    return figures


def write_sweep_report(folder: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> Report:
    """Read a sweep or Pareto results folder and write its HTML report and PNG figures."""
    folder = Path(folder)
    out = check_report_path(output if output is not None else folder / "report.html")
    t = time.perf_counter()
    sweep = read_sweep_folder(folder)
    figures = sweep_figures(sweep)
    page = sweep_html(sweep, figures, out.stem)
    files = {out.with_name(f"{out.stem}_{f.name}.png"): f.png for f in figures}
    files[out] = page.encode("utf-8")
    _write_all(files)
    return Report(out, [p for p in files if p != out], figures, {"total_s": time.perf_counter() - t})


def sweep_html(sweep: SweepFolder, figures: list[Figure], stem: str) -> str:
    """The sweep report as one HTML page."""
    parts = [f"<header><h1>Policy sweep: {_e(sweep.path.name)}</h1>"
             f'<p class="sub">{_e(sweep.table_source or str(sweep.path))}</p></header>']
    table = sweep.table
    if table is not None:
        columns = classify_columns(table)
        statuses = table["status"].astype(str).value_counts() if "status" in table else pd.Series(dtype=int)
        cards = [("", f"{len(table):,}", "scenarios")]
        cards += [("ok" if s in PLAN_STATUSES else "bad", f"{n:,}", s) for s, n in statuses.items()]
        parts.append('<div class="cards">' + "".join(
            f'<div class="card {c}"><div class="v">{_e(v)}</div><div class="k">{_e(k)}</div></div>'
            for c, v, k in cards) + "</div>")
        varied = columns["varied"] + columns["categorical"]
        if varied:
            parts.append("<p>Varied: " + "; ".join(
                f"<code>{_e(c)}</code> over {_e(', '.join(_short(v) for v in sorted(table[c].dropna().unique())))}"
                for c in varied) + ".</p>")
        else:
            parts.append('<p class="note">No scenario parameter varies between the rows: there is nothing to plot '
                         "against.</p>")
    if figures:
        parts.append("<h2>Indicators against the varied parameters</h2>")
        for figure in figures:
            parts.append(_img(figure, figure.title, _e(figure.title) + ". Only scenarios with a plan are drawn.",
                              f"{stem}_{figure.name}.png"))
    if sweep.fronts:
        parts.append("<h2>Trade-off (Pareto) fronts</h2>")
        for png, points in sweep.fronts:
            data = png.read_bytes()
            front = Figure("front", f"Pareto front ({png.parent.name})", data)
            parts.append(_img(front, front.title, "Every point is a plan that no other plan beats on both "
                                                  "indicators.", str(png.relative_to(sweep.path)), print_size=False))
            if points is not None and len(points):
                parts.append(_frame_table(points[_front_columns(points)], status=True))
    if table is not None:
        parts.append("<h2>Scenarios</h2>")
        shown = _scenario_columns(table)
        parts.append(_frame_table(table[shown], status=True))
        if len(shown) < len(table.columns):
            parts.append(f'<p class="note">{len(table.columns) - len(shown)} more columns (every KPI and the '
                         f"scenario of each row) are in {_e(Path(sweep.table_source.split(' ')[0]).name)}.</p>")
        if "message" in table:
            failed = table[table["message"].notna() & (table["message"].astype(str).str.strip() != "")]
            if len(failed):
                parts.append("<h3>Messages</h3><ul class=\"sentences\">" + "".join(
                    f"<li><b>{_e(r.get('name', r.get('id', '')))}</b> ({_e(r.get('status', ''))}): "
                    f"{_e(r['message'])}</li>" for _, r in failed.iterrows()) + "</ul>")
    return _page(f"Policy sweep: {sweep.path.name}", "\n".join(parts))


def _front_columns(points: pd.DataFrame) -> list[str]:
    """The columns of a front's points table in the report: the two KPIs traded, and how each point was made."""
    traded = [str(points[c].iloc[0]) for c in ("maximise", "against") if c in points and len(points)]
    wanted = ["point", "role", "status", *traded, "epsilon", *[c for c in points.columns if str(c).startswith("rate_")],
              "objective", "knee", "message"]
    shown = [c for c in dict.fromkeys(wanted) if c in points.columns]
    return shown if len(shown) > 2 else [c for c in points.columns if c != "scenario"]


def _scenario_columns(table: pd.DataFrame) -> list[str]:
    """The columns of the scenario table in the report: who, what varied, the outcome, the headline KPIs."""
    columns = classify_columns(table)
    wanted = ["id", "name", *columns["varied"], *columns["categorical"], "status", "objective",
              *[k for k in SWEEP_KPIS if k != "objective"], *columns["shadows"], "solve_s", "message"]
    return [c for c in dict.fromkeys(wanted) if c in table.columns]


def _short(value: Any) -> str:
    """A number in few characters: whole numbers with thousands separators, others to 6 significant digits."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    if not math.isfinite(value):
        return "–"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{value:,.0f}"
    return f"{value:,.6g}"


def _frame_table(frame: pd.DataFrame, status: bool = False) -> str:
    header = [(str(c), pd.api.types.is_numeric_dtype(frame[c])) for c in frame.columns]
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for (name, numeric), value in zip(header, record):
            if numeric:
                cells.append(_short(value) if pd.notna(value) else "–")
            elif status and name == "status":
                ok = str(value).lower() in PLAN_STATUSES
                cells.append(f'<span class="{"ok" if ok else "bad"}">{_e(value)}</span>')
            elif status and name == "message" and pd.notna(value) and len(str(value)) > 60:
                cells.append(_e(str(value)[:57].rstrip() + "…") + " (below)")
            else:
                cells.append(_e(value) if pd.notna(value) else "")
        rows.append(cells)
    return _table(header, rows)
