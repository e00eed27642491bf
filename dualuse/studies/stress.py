"""The stress test of a written plan: its shares held fixed, evaluated in every drought year of its region.

:func:`stress_plan` reads the plan's ``run`` record (scenario, catalogue,
input), the region (the recorded input, or another file with the same
parcels and new drought years), and the plan's shares per parcel and
deliveries per community.  For the normal year and each drought year
:math:`s` it computes

- the harvest :math:`\\sum_j p_{s,j} x_j` against today's harvest in the
  same year, and whether its ratio falls below the floor (the scenario's
  ``drought_food_floor``, or its ``food_floor`` when that is 0);
- the PV generation :math:`\\sum_j e_{s,j} x_j`, and for each community the
  deliveries the plan made, as far as the year's generation of its own
  parcels still covers them: :math:`\\min(s_c, \\eta \\sum_{j \\in c} e_{s,j} x_j)`;
- per community, its harvest ratio and access share, and whether either
  falls below its floor (``min_access_share`` for access);
- per community and for the region, the land-based income and the jobs
  (:mod:`dualuse.studies.stress_livelihoods`) against today's in the same
  year and the plan's normal year, and which communities fall below
  ``livelihood_floor`` and ``jobs_floor`` when those are above 0.

:func:`write_stress` writes the two tables into a copy of the plan.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from dualuse.errors import InputError
from dualuse.export.gpkg import read_table
from dualuse.files import atomic_path, check_output_path, file_sha256
from dualuse.inputs.catalogue import Catalogue, load_catalogue
from dualuse.inputs.region import Region, read_region
from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients, compute_coefficients
from dualuse.model.drought_livelihoods import income_by_year
from dualuse.run import RunRecord, read_run_record
from dualuse.studies.stress_livelihoods import FLOOR_TOLERANCE, stress_livelihoods
from dualuse.vocabulary import COMMUNITIES_LAYER, PLAN_LAYER, STRESS_COMMUNITIES_TABLE, STRESS_TABLE, USES

#: The name of the normal year in the stress tables.
NORMAL_YEAR = "normal"


@dataclass(frozen=True, eq=False)
class StressResult:
    """A plan's stress test.

    Attributes
    ----------
    plan_path, region_path : the files read
    region_is_recorded : bool — the region is the input the plan was made from (same SHA-256)
    food_floor : float — the harvest ratio the drought years are held to (``drought_food_floor``, or
        ``food_floor`` when it is 0; the normal year is held to ``food_floor``)
    access_floor : float — the access share every community with demand is held to (``min_access_share``)
    livelihood_floor, jobs_floor : float — the shares of today's income and jobs (in the same year) every
        community with some today is held to (0: off)
    years : DataFrame — one row per year (``normal`` first), region totals
    communities : DataFrame — one row per (year, community)
    """

    plan_path: str
    region_path: str
    region_is_recorded: bool
    food_floor: float
    access_floor: float
    livelihood_floor: float
    jobs_floor: float
    years: pd.DataFrame
    communities: pd.DataFrame


def stress_plan(plan_path: str | os.PathLike[str], region: str | os.PathLike[str] | None = None) -> StressResult:
    """Evaluate a plan file, its shares fixed, in the normal year and every drought year of its region.

    Raises
    ------
    InputError
        The plan has no usable run record or shares, the region is not there, lacks drought years, or
        does not hold the plan's parcels.
    """
    record = read_run_record(plan_path)
    source = str(region) if region is not None else record.input_path
    if not source or not os.path.isfile(source):
        raise InputError("the plan's region is not there", path=source or str(plan_path),
                         fix="give the region file: `dualuse stress PLAN.gpkg --region REGION.gpkg`")
    the_region = read_region(source, record.input_layer)
    if the_region.drought is None:
        raise InputError("the region has no drought years (table 'productivity_scenarios'), so there is nothing "
                         "to stress the plan with", path=source, layer="productivity_scenarios",
                         fix="add drought years (`dualuse prepare --productivity-scenario NAME=FILE.tif`), or "
                             "give another region with --region")
    catalogue = _recorded_catalogue(record)
    scenario = record.scenario
    coef = compute_coefficients(the_region, catalogue, scenario)
    x = _plan_shares(str(plan_path), the_region, coef)
    served = _plan_deliveries(str(plan_path), coef)
    food = scenario.drought_food_floor if scenario.drought_food_floor > 0 else scenario.food_floor
    years, communities = evaluate(coef, scenario, x, served, food,
                                  the_region.area_ha * the_region.productivity_t_ha)
    years_income, communities_income = stress_livelihoods(coef, scenario, x, served,
                                                          income_by_year(coef, catalogue, scenario))
    years = pd.concat([years, years_income], axis=1)
    if not communities.empty:
        communities = pd.concat([communities, communities_income], axis=1)
    return StressResult(plan_path=str(plan_path), region_path=source,
                        region_is_recorded=file_sha256(source) == record.input_sha256, food_floor=food,
                        access_floor=scenario.min_access_share, livelihood_floor=scenario.livelihood_floor,
                        jobs_floor=scenario.jobs_floor, years=years, communities=communities)


def evaluate(coef: Coefficients, scenario: Scenario, x: np.ndarray, served_mwh: np.ndarray, food_floor: float,
             normal_today_t: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-year and per-(year, community) tables of shares ``x`` per pair and deliveries per community
    [MWh/yr]; ``normal_today_t`` is each parcel's harvest today in a normal year [t DM/yr].  The normal
    year is held to the scenario's ``food_floor``, the drought years to ``food_floor`` given here."""
    drought = coef.drought
    assert drought is not None
    names = [NORMAL_YEAR, *drought.names]
    harvest = np.vstack([coef.productivity_t, drought.harvest_t])             # [year, pair]
    energy = np.vstack([coef.energy_mwh, drought.energy_mwh])
    today = np.vstack([normal_today_t, drought.parcel_baseline_t])            # [year, parcel]
    probability = np.concatenate([[math.nan], drought.probability])
    community = coef.pair_community
    n_c = coef.demand_mwh.size
    rows, per_community = [], []
    floors = np.concatenate([[scenario.food_floor], np.full(drought.n_years, food_floor)])
    for s, name in enumerate(names):
        floor = float(floors[s])
        generation_c = np.bincount(community[community >= 0], weights=(energy[s] * x)[community >= 0], minlength=n_c)
        delivered = np.minimum(served_mwh, scenario.delivery_efficiency * generation_c)
        harvest_c = np.bincount(community[community >= 0], weights=(harvest[s] * x)[community >= 0], minlength=n_c)
        today_c = np.bincount(coef.community[coef.community >= 0], weights=today[s][coef.community >= 0],
                              minlength=n_c)
        ratio_c = _ratio(harvest_c, today_c)
        access_c = _ratio(delivered, coef.demand_mwh)
        below_food = ratio_c < floor - FLOOR_TOLERANCE
        below_access = (coef.demand_mwh > 0) & (access_c < scenario.min_access_share - FLOOR_TOLERANCE)
        total_harvest, total_today = float(harvest[s] @ x), float(today[s].sum())
        ratio = total_harvest / total_today if total_today > 0 else math.nan
        rows.append({"scenario": name, "probability": probability[s], "harvest_t": total_harvest,
                     "today_harvest_t": total_today, "harvest_ratio": ratio, "food_floor": floor,
                     "below_food_floor": bool(ratio < floor - FLOOR_TOLERANCE),
                     "energy_mwh": float(energy[s] @ x), "served_mwh": float(delivered.sum()),
                     "access_share": float(delivered.sum() / coef.demand_mwh.sum()) if coef.demand_mwh.sum() > 0
                     else math.nan,
                     "communities_below_food_floor": int(below_food.sum()),
                     "communities_below_access_floor": int(below_access.sum())})
        per_community.append(pd.DataFrame({
            "scenario": name, "community_id": list(coef.community_id), "harvest_t": harvest_c,
            "today_harvest_t": today_c, "harvest_ratio": ratio_c, "food_floor": floor, "below_food_floor": below_food,
            "generation_mwh": generation_c, "served_mwh": delivered, "demand_mwh": coef.demand_mwh,
            "access_share": access_c, "below_access_floor": below_access}))
    communities = pd.concat(per_community, ignore_index=True) if n_c else pd.DataFrame()
    return pd.DataFrame(rows), communities


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def _recorded_catalogue(record: RunRecord) -> Catalogue:
    """The catalogue the plan was made with: its recorded text, else its recorded file if unchanged."""
    if record.catalogue_toml:
        with tempfile.TemporaryDirectory(prefix="dualuse-stress-") as folder:
            path = Path(folder) / "catalogue.toml"
            path.write_bytes(record.catalogue_toml.encode("utf-8"))
            return load_catalogue(path)
    if record.catalogue_path and os.path.isfile(record.catalogue_path) \
            and file_sha256(record.catalogue_path) == record.catalogue_sha256:
        return load_catalogue(record.catalogue_path)
    raise InputError("the run record holds neither the catalogue's text nor an unchanged catalogue file, so the "
                     "plan's uses cannot be evaluated", path=record.plan_path, layer="run", column="catalogue_toml",
                     fix="re-solve the plan from its region and scenario")


def _plan_shares(plan_path: str, region: Region, coef: Coefficients) -> np.ndarray:
    """The plan's share of each eligible pair, its parcels matched to the region's by ``parcel_id``."""
    columns = [f"share_{u}" for u in USES]
    try:
        plan = pd.DataFrame(pyogrio.read_dataframe(plan_path, layer=PLAN_LAYER, read_geometry=False))
    except Exception:  # pyogrio raises several classes for a missing or broken layer
        raise InputError("has no readable 'plan' layer", path=plan_path, layer=PLAN_LAYER,
                         fix="give a plan GeoPackage written by `dualuse solve`") from None
    missing = [c for c in ["parcel_id", *columns] if c not in plan.columns]
    if missing:
        raise InputError(f"the plan layer lacks {', '.join(missing)}", path=plan_path, layer=PLAN_LAYER,
                         fix="give a plan GeoPackage written by `dualuse solve`")
    ids = pd.Index(pd.Series(region.parcel_id).astype(str))
    position = ids.get_indexer(plan["parcel_id"].astype(str))
    if (position < 0).any() or len(plan) != region.n_parcels or len(set(position.tolist())) != len(position):
        unknown = plan.loc[position < 0, "parcel_id"].head(5).tolist()
        raise InputError("the plan's parcels are not the region's", path=plan_path, layer=PLAN_LAYER,
                         column="parcel_id", ids=tuple(unknown), count=int((position < 0).sum()),
                         fix="give the region the plan was made from with --region")
    shares = np.zeros((region.n_parcels, len(USES)))
    shares[position] = plan[columns].to_numpy(dtype=float)
    eligible = np.zeros_like(shares, dtype=bool)
    eligible[coef.parcel, coef.use] = True
    stray = (shares > FLOOR_TOLERANCE) & ~eligible
    if stray.any():
        rows = np.flatnonzero(stray.any(axis=1))
        raise InputError(f"{rows.size} parcel(s) of the plan have a use the region's data do not allow there",
                         path=plan_path, layer=PLAN_LAYER, column="share_*", ids=tuple(region.parcel_id[rows[:5]]),
                         count=int(rows.size), fix="give the region the plan was made from with --region")
    return shares[coef.parcel, coef.use]


def _plan_deliveries(plan_path: str, coef: Coefficients) -> np.ndarray:
    """The plan's deliveries per community [MWh/yr], in the coefficients' community order (0 without any)."""
    served = np.zeros(coef.demand_mwh.size)
    if not coef.demand_mwh.size:
        return served
    try:
        table = read_table(plan_path, COMMUNITIES_LAYER)
    except Exception:  # no communities layer: nothing was delivered
        return served
    lookup = dict(zip(table["community_id"].astype(str), table["served_mwh"].astype(float)))
    return np.array([lookup.get(c, 0.0) for c in coef.community_id])


def default_stress_output(plan_path: str | os.PathLike[str]) -> Path:
    """``PLAN_stress.gpkg`` beside the plan."""
    path = Path(plan_path)
    return path.with_name(f"{path.stem}_stress.gpkg")


def write_stress(result: StressResult, output: str | os.PathLike[str]) -> Path:
    """A copy of the plan with the tables ``stress`` and ``stress_communities`` (replaced if there), atomically."""
    destination = check_output_path(output, (result.plan_path, result.region_path))
    with atomic_path(destination) as temp:
        shutil.copyfile(result.plan_path, temp)
        tables = [(STRESS_TABLE, result.years), (STRESS_COMMUNITIES_TABLE, result.communities)]
        for name, frame in tables:
            if frame.empty:
                continue
            frame = frame.astype({c: object for c in ("scenario", "community_id") if c in frame.columns})
            pyogrio.write_dataframe(frame, temp, layer=name, driver="GPKG", layer_options={"OVERWRITE": "YES"})
    return destination
