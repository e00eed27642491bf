"""Test helpers: tiny regions written as GeoPackages, and an independent re-check of a written plan."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from dualuse.inputs.catalogue import load_catalogue
from dualuse.vocabulary import USES

#: Tolerance for constraints re-checked from a written plan: the LP is solved to HiGHS's default
#: feasibility tolerance (1e-7, scaled), and the GeoPackage stores float64.
RTOL = 1e-6


def square_parcels(areas_ha: Sequence[float], crs: str = "EPSG:32632",
                   origin: tuple[float, float] = (400_000.0, 1_500_000.0)) -> gpd.GeoSeries:
    """Side-by-side squares of the given areas [ha] in a projected metre CRS."""
    sides = np.sqrt(np.asarray(areas_ha, dtype=float) * 10_000.0)
    x0 = origin[0] + np.concatenate([[0.0], np.cumsum(sides[:-1] + 10.0)])
    boxes = shapely.box(x0, origin[1], x0 + sides, origin[1] + sides)
    return gpd.GeoSeries(boxes, crs=crs)


def write_region(path: str | Path, parcels: list[dict[str, Any]], communities: list[dict[str, Any]] | None = None,
                 crs: str = "EPSG:32632", areas_ha: Sequence[float] | None = None) -> Path:
    """Write a region of square parcels; each dict gives the parcel's columns (plus ``area_ha`` for its size)."""
    frame = pd.DataFrame(parcels)
    if areas_ha is None:
        areas_ha = frame.pop("area_ha").to_numpy() if "area_ha" in frame else np.full(len(frame), 100.0)
    geo = gpd.GeoDataFrame(frame, geometry=square_parcels(areas_ha, crs=crs).to_numpy(), crs=crs)
    geo.to_file(path, layer="parcels", driver="GPKG", engine="pyogrio")
    if communities:
        pyogrio.write_dataframe(pd.DataFrame(communities), path, layer="communities", driver="GPKG")
    return Path(path)


def parcel(land_type: str = "bare", **columns: Any) -> dict[str, Any]:
    """One parcel's columns, with neutral defaults for those not given."""
    row: dict[str, Any] = {"land_type": land_type, "pv_yield_kwh_kwp": 1800.0, "productivity_t_ha": 0.0,
                           "soc_t_ha": 20.0, "degradation": 0, "slope_deg": 1.0, "protected": False, "grid_km": 0.0}
    row.update(columns)
    return row


def read_plan(path: str | Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, Any]]:
    """The plan layer, the summary table and the run record (scenario parsed) of a plan file."""
    plan = gpd.read_file(path, layer="plan", engine="pyogrio")
    summary = pd.DataFrame(pyogrio.read_dataframe(path, layer="summary", read_geometry=False))
    run = pd.DataFrame(pyogrio.read_dataframe(path, layer="run", read_geometry=False)).iloc[0].to_dict()
    run["scenario"] = json.loads(run["scenario"])
    return plan, summary, run


def recheck_plan(path: str | Path, region_path: str | Path) -> dict[str, float]:
    """Re-check every constraint of a written plan with plain pandas/numpy, independent of the model.

    Reads the plan file and the input region; recomputes areas, costs,
    harvest, LDN balance and deliveries from the shares and the catalogue
    recorded in the plan, and asserts each constraint holds.  Returns the
    recomputed totals.
    """
    plan, summary, run = read_plan(path)
    scenario = run["scenario"]
    catalogue_path = Path(path).with_suffix(".catalogue.toml")
    catalogue_path.write_text(run["catalogue_toml"], encoding="utf-8")
    catalogue = load_catalogue(catalogue_path)
    catalogue_path.unlink()
    region = gpd.read_file(region_path, layer=run["input_layer"], engine="pyogrio")
    assert len(region) == len(plan)

    shares = plan[[f"share_{u}" for u in USES]].to_numpy()
    area = plan["area_ha"].to_numpy()
    # 1. allocation, and shares in [0, 1]
    assert np.all(shares >= -1e-9) and np.all(shares <= 1 + 1e-9)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-6)
    # area from an equal-area CRS, independent of the code under test
    geod_area = np.abs(region.to_crs("EPSG:4326").geometry.apply(
        lambda g: __import__("pyproj").Geod(ellps="WGS84").geometry_area_perimeter(g)[0])).to_numpy() / 1e4
    np.testing.assert_allclose(area, geod_area, rtol=1e-5)

    land = plan["land_type"].str.lower().to_numpy()
    protected = plan["protected"].astype(bool).to_numpy() if "protected" in plan else np.zeros(len(plan), bool)
    slope = plan["slope_deg"].to_numpy() if "slope_deg" in plan else np.zeros(len(plan))
    for k, use in enumerate(catalogue.uses):
        allowed = np.isin(land, use.allowed_land_types) & (slope <= use.max_slope_deg)
        if not use.allowed_in_protected:
            allowed &= ~protected
        if use.name != "current":
            assert np.all(shares[~allowed, k] <= 1e-9), f"{use.name} on a parcel where it is not allowed"
    # no PV on protected land
    pv = shares[:, USES.index("solar")] + shares[:, USES.index("agrivoltaic")]
    assert np.all(pv[protected] <= 1e-9)

    # capacity, energy and cost recomputed from the catalogue
    density = np.array([u.density_mwp_ha for u in catalogue.uses])
    capacity = (shares * area[:, None] * density).sum(axis=1)
    np.testing.assert_allclose(plan["capacity_mwp"], capacity, rtol=RTOL, atol=1e-9)
    energy = capacity * plan["pv_yield_kwh_kwp"].to_numpy()
    np.testing.assert_allclose(plan["energy_mwh"], energy, rtol=RTOL, atol=1e-6)
    capex_ha = np.array([u.capex_usd_ha for u in catalogue.uses])
    capex_mwp = np.array([u.capex_usd_mwp for u in catalogue.uses])
    grid_km = plan["grid_km"].to_numpy() if "grid_km" in plan else np.zeros(len(plan))
    cost = (shares * area[:, None] * (capex_ha + density * capex_mwp
                                      + density * scenario["grid_cost_usd_mw_km"] * grid_km[:, None])).sum(axis=1)
    np.testing.assert_allclose(plan["cost_usd"], cost, rtol=RTOL, atol=1e-3)

    # 2. budget, delivery included
    served = 0.0
    communities = None
    if "communities" in pyogrio.list_layers(path)[:, 0]:
        communities = pd.DataFrame(pyogrio.read_dataframe(path, layer="communities", read_geometry=False))
        served = float(communities["served_mwh"].sum())
    connected = 0.0
    if communities is not None:
        household_mwh = communities["household_kwh_yr"].to_numpy(dtype=float) / 1000.0
        served_c = communities["served_mwh"].to_numpy(dtype=float)
        connected = float(np.divide(served_c, household_mwh, out=np.zeros_like(served_c),
                                    where=household_mwh > 0).sum())
    total_cost = (float(cost.sum()) + scenario["delivery_cost_usd_mwh"] * served
                  + scenario.get("connection_cost_usd", 0.0) * connected)
    assert total_cost <= scenario["budget_usd"] * (1 + RTOL) + 1e-3

    # 3. LDN per land type (water is not land; a land type that no use can move is reported, not held)
    net = (plan["ldn_gain_ha"] - plan["ldn_loss_ha"]).to_numpy()
    assert np.all(plan["ldn_gain_ha"] <= area * (1 + RTOL)) and np.all(plan["ldn_loss_ha"] >= 0)
    balance = pd.DataFrame(pyogrio.read_dataframe(path, layer="ldn_balance", read_geometry=False))
    held = set(balance.loc[balance["in_constraint"].astype(bool), "land_type"])
    if scenario["ldn_scope"] != "off":
        land_only = land != "water"
        groups = land if scenario["ldn_scope"] == "land_type" else np.where(land_only, "region", "water")
        checked = held if scenario["ldn_scope"] == "land_type" else {"region"}
        for group in set(np.unique(groups[land_only])) & checked:
            members = groups == group
            target = scenario["ldn_target"] * area[members].sum()
            assert net[members].sum() >= target - RTOL * max(area[members].sum(), 1.0), \
                f"LDN fails in {group}: net {net[members].sum():.3f} < {target:.3f}"

    # 4. energy access: served ≤ demand, served ≤ η × own generation; export + deliveries ≤ generation
    if communities is not None:
        assert np.all(communities["served_mwh"] <= communities["demand_mwh"] * (1 + RTOL) + 1e-6)
        eta = scenario["delivery_efficiency"]
        by_community = pd.Series(energy).groupby(plan["community_id"].to_numpy()).sum()
        for _, row in communities.iterrows():
            own = float(by_community.get(row["community_id"], 0.0))
            assert row["served_mwh"] <= eta * own * (1 + RTOL) + 1e-6
            # the fairness floor: its share of demand, or all its own parcels deliver where that is less
            floor = min(scenario.get("min_access_share", 0.0) * row["demand_mwh"], eta * own)
            assert row["served_mwh"] >= floor * (1 - RTOL) - 1e-6, f"fairness floor fails in {row['community_id']}"
    export = float(summary.loc[summary["kpi"] == "export_mwh", "plan"].iloc[0])
    assert export <= scenario["grid_export_mwh"] * (1 + RTOL) + 1e-6
    assert served / scenario["delivery_efficiency"] + export <= energy.sum() * (1 + RTOL) + 1e-6

    # 5. food floor
    retention = np.stack([u.retention for u in catalogue.uses])  # [use, land type]
    from dualuse.vocabulary import LAND_TYPES
    codes = np.array([LAND_TYPES.index(t) for t in land])
    harvest_ha = plan["productivity_t_ha"].to_numpy()
    harvest = (shares * area[:, None] * harvest_ha[:, None] * retention[:, codes].T).sum(axis=1)
    np.testing.assert_allclose(plan["productivity_t"], harvest, rtol=RTOL, atol=1e-6)
    baseline = float((area * harvest_ha).sum())
    if scenario["food_floor"] > 0 and baseline > 0:
        assert harvest.sum() >= scenario["food_floor"] * baseline * (1 - RTOL) - 1e-6

    # 6. policy caps
    if scenario["max_pv_share"] < 1:
        assert (pv * area).sum() <= scenario["max_pv_share"] * area.sum() * (1 + RTOL) + 1e-6
    restored = float((shares[:, USES.index("restoration")] * area).sum())
    assert restored >= scenario["min_restored_ha"] * (1 - RTOL) - 1e-6
    if scenario["mode"] == "whole":
        assert np.all(np.isclose(shares, 0, atol=1e-6) | np.isclose(shares, 1, atol=1e-6))

    # 7. livelihoods per community: the written figures, and the floors
    if communities is not None and "community_id" in plan:
        written = communities.set_index("community_id")
        again = livelihoods_by_community(plan, catalogue, scenario, written["households_served"])
        for ours, theirs in LIVELIHOOD_FIGURES:
            np.testing.assert_allclose(again[ours], written.loc[again.index, theirs], rtol=RTOL, atol=1e-6,
                                       err_msg=theirs)
        for floor, today, planned in (("livelihood_floor", "income_usd_yr_today", "income_usd_yr"),
                                      ("jobs_floor", "jobs_fte_today", "jobs_fte")):
            held = written[today] > 0
            assert (written.loc[held, planned] >= scenario.get(floor, 0.0) * written.loc[held, today] * (1 - RTOL)
                    - 1e-6).all(), f"{floor} fails"
    return {"cost_usd": total_cost, "served_mwh": served, "households_connected": connected, "energy_mwh": float(energy.sum()),
            "productivity_t": float(harvest.sum()), "restored_ha": restored, "ldn_net_ha": float(net.sum()),
            "export_mwh": export}


#: The livelihood figures :func:`livelihoods_by_community` recomputes, and their columns in the communities layer.
LIVELIHOOD_FIGURES = (("income_today", "income_usd_yr_today"), ("income", "income_usd_yr"),
                      ("jobs_today", "jobs_fte_today"), ("jobs", "jobs_fte"),
                      ("construction", "construction_job_years"))


def livelihoods_by_community(plan: pd.DataFrame, catalogue: Any, scenario: dict[str, Any],
                             households_served: pd.Series) -> pd.DataFrame:
    """Per community, today's and the plan's income [USD/yr], jobs [FTE] and construction [job-years], from the
    plan layer's shares and input columns and the catalogue's figures alone (parcels without a community left
    out)."""
    from dualuse.vocabulary import LAND_TYPES

    def per_use(name: str) -> pd.DataFrame:
        return pd.DataFrame({u.name: getattr(u, name) for u in catalogue.uses}, index=list(LAND_TYPES))

    retention, labour, soc_rate = per_use("retention"), per_use("labour_fte_ha_yr"), per_use("soc_rate_t_ha_yr")
    lt = plan["land_type"].str.lower()
    harvest_usd_ha = (plan["productivity_t_ha"]
                      * pd.Series(catalogue.harvest_value_usd_t, index=list(LAND_TYPES))[lt].to_numpy())
    out = pd.DataFrame({"income_today": plan["area_ha"] * harvest_usd_ha,
                        "jobs_today": plan["area_ha"] * labour.loc[lt, "current"].to_numpy()}, index=plan.index)
    out["income"] = out["jobs"] = out["construction"] = 0.0
    for u in catalogue.uses:
        share_ha = plan[f"share_{u.name}"] * plan["area_ha"]
        capacity_mwp = share_ha * u.density_mwp_ha
        carbon_t_co2_yr = share_ha * soc_rate.loc[lt, u.name].clip(lower=0).to_numpy() * 44.0 / 12.0
        out["income"] += (share_ha * (harvest_usd_ha * retention.loc[lt, u.name].to_numpy() + u.land_lease_usd_ha_yr
                                      + u.pes_usd_ha_yr)
                          + u.sales_share_to_community * scenario["price_export_usd_mwh"] * capacity_mwp
                          * plan["pv_yield_kwh_kwp"] + catalogue.carbon_price_usd_t_co2 * carbon_t_co2_yr)
        out["jobs"] += share_ha * labour.loc[lt, u.name].to_numpy() + capacity_mwp * u.operation_fte_mwp
        out["construction"] += capacity_mwp * u.construction_job_years_mwp
    out["community_id"] = plan["community_id"]
    totals = out.dropna(subset=["community_id"]).groupby("community_id").sum()
    totals["jobs"] += catalogue.minigrid_fte_household * households_served.reindex(totals.index).fillna(0.0)
    return totals


def five_parcels(path: str | Path) -> Path:
    """Five parcels of distinct sun, harvest and status, one village of 200 households in two of them."""
    return write_region(path, [
        parcel("bare", community_id="village", pv_yield_kwh_kwp=1900.0, area_ha=20.0),
        parcel("bare", pv_yield_kwh_kwp=1800.0, area_ha=50.0),
        parcel("cropland", productivity_t_ha=2.0, degradation=-1, pv_yield_kwh_kwp=1750.0, area_ha=100.0),
        parcel("grassland", productivity_t_ha=1.5, pv_yield_kwh_kwp=1700.0, area_ha=80.0, community_id="village"),
        parcel("cropland", productivity_t_ha=3.0, pv_yield_kwh_kwp=1850.0, area_ha=60.0),
    ], communities=[{"community_id": "village", "unserved_households": 200}])


def shadow_prices_by_name(plan: Any) -> dict[str, float]:
    """A plan's shadow prices, name -> value."""
    return {s["name"]: s["value"] for s in plan.shadow_prices}
