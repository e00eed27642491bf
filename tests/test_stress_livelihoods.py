"""The stress test's livelihoods: each community's land-based income and jobs in every drought year of a fixed plan.

The region: cropland parcels A (community north, 2 t/ha) and B (south, 1 t/ha) that may take PV, and protected
grassland C (south) that keeps its use.  The catalogue pays the communities a lease on solar land and 1 % of the PV
energy's value.  Year d1 is a dry year (harvest down, the normal PV yield); year d2 a dusty one (the normal
harvest, half the PV yield).  With energy and access as the objective the plan covers A and B with solar: north's income is
the lease and the sales share, well above today's harvest value in a normal year, but in d2 the sales share halves
while today's harvest does not, so north falls below a livelihood floor of 0.9 there and nowhere else.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from helpers import parcel, write_region

from dualuse.cli import cli
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.scenario import load_scenario
from dualuse.run import solve_region
from dualuse.vocabulary import LAND_TYPES

YEARS = {"A": {"d1": (1.0, None), "d2": (2.0, 900.0)}, "B": {"d1": (0.4, None), "d2": (1.0, 900.0)},
         "C": {"d1": (0.5, None), "d2": (2.0, 900.0)}}
SCHEMES = (("sales_share_to_community = 0.0", "sales_share_to_community = 0.01", 2),
           ("land_lease_usd_ha_yr = 0.0", "land_lease_usd_ha_yr = 80.0", 1))
FLOORS = dict(livelihood_floor=0.9, jobs_floor=0.5)
SCENARIO = dict(ldn_scope="off", weight_access=1.0, weight_productivity=0.0, weight_energy=1.0, food_floor=0.0,
                budget_usd=1e9, grid_export_mwh=1e9, **FLOORS)


@pytest.fixture(scope="module")
def stressed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("stress_livelihoods")
    text = open(load_catalogue().path, encoding="utf-8").read()
    for old, new, count in SCHEMES:
        assert old in text
        text = text.replace(old, new, count)
    (folder / "schemes.toml").write_text(text, encoding="utf-8")
    catalogue = load_catalogue(folder / "schemes.toml")
    region = write_region(folder / "region.gpkg", [
        parcel("cropland", parcel_id="A", productivity_t_ha=2.0, community_id="north"),
        parcel("cropland", parcel_id="B", productivity_t_ha=1.0, community_id="south"),
        parcel("grassland", parcel_id="C", productivity_t_ha=2.0, protected=True, community_id="south")],
        communities=[{"community_id": "north", "unserved_households": 10},
                     {"community_id": "south", "unserved_households": 10}])
    rows = [{"parcel_id": p, "scenario": s, "productivity_t_ha": v, "pv_yield_kwh_kwp": pv}
            for p, by in YEARS.items() for s, (v, pv) in by.items()]
    pyogrio.write_dataframe(pd.DataFrame(rows), region, layer="productivity_scenarios", driver="GPKG")
    plan_path = folder / "plan.gpkg"
    solve_region(region, plan_path, scenario=load_scenario().replace(**SCENARIO), catalogue=catalogue)
    out = folder / "stressed.gpkg"
    result = CliRunner().invoke(cli, ["stress", str(plan_path), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    printed = CliRunner().invoke(cli, ["stress", str(plan_path), "-o", str(folder / "again.gpkg")])
    assert printed.exit_code == 0, printed.output
    return {"catalogue": catalogue, "region": region, "plan": plan_path, "out": out,
            "json": json.loads(result.stdout), "text": printed.stdout}


def year_income(plan: pd.DataFrame, years: pd.DataFrame, catalogue, year: str) -> pd.DataFrame:
    """Per community, the plan's and today's land-based income in a drought year [USD/yr], from the plan layer,
    the region's drought table and the catalogue's figures alone."""
    year_rows = years[years["scenario"] == year].set_index("parcel_id")
    p = plan.set_index("parcel_id")
    productivity = year_rows["productivity_t_ha"].reindex(p.index)
    pv_yield = year_rows["pv_yield_kwh_kwp"].reindex(p.index).fillna(p["pv_yield_kwh_kwp"])
    lt = p["land_type"].str.lower()
    value_usd_t = pd.Series(catalogue.harvest_value_usd_t, index=list(LAND_TYPES))[lt].to_numpy()
    harvest_usd_ha = productivity * value_usd_t
    price_usd_mwh = load_scenario().price_export_usd_mwh
    income = pd.Series(0.0, index=p.index)
    for u in catalogue.uses:
        retention = pd.Series(u.drought_retention_or_normal, index=list(LAND_TYPES))[lt].to_numpy()
        share_ha = p[f"share_{u.name}"] * p["area_ha"]
        income += share_ha * (harvest_usd_ha * retention + u.land_lease_usd_ha_yr + u.pes_usd_ha_yr
                              + u.sales_share_to_community * price_usd_mwh * u.density_mwp_ha * pv_yield)
    out = pd.DataFrame({"income": income, "today": p["area_ha"] * harvest_usd_ha,
                        "community_id": p["community_id"]})
    return out.groupby("community_id").sum()


def test_the_income_of_each_drought_year_is_rechecked_from_the_plan_and_the_catalogue(stressed) -> None:
    plan = pd.DataFrame(pyogrio.read_dataframe(stressed["plan"], layer="plan", read_geometry=False))
    assert plan.set_index("parcel_id").loc[["A", "B"], "share_solar"].tolist() == pytest.approx([1.0, 1.0])
    years = pd.DataFrame(pyogrio.read_dataframe(stressed["region"], layer="productivity_scenarios",
                                                read_geometry=False))
    table = pd.DataFrame(pyogrio.read_dataframe(stressed["out"], layer="stress_communities", read_geometry=False))
    table = table.set_index(["scenario", "community_id"])
    layer = pd.DataFrame(pyogrio.read_dataframe(stressed["plan"], layer="communities", read_geometry=False))
    layer = layer.set_index("community_id")
    for year in ("d1", "d2"):
        expected = year_income(plan, years, stressed["catalogue"], year)
        written = table.xs(year, level="scenario").loc[expected.index]
        np.testing.assert_allclose(written["income_usd_yr"], expected["income"], rtol=1e-9)
        np.testing.assert_allclose(written["today_income_usd_yr"], expected["today"], rtol=1e-9)
        np.testing.assert_allclose(written["income_share"], expected["income"] / expected["today"], rtol=1e-9)
        np.testing.assert_allclose(written["income_ratio_normal"],
                                   expected["income"] / layer.loc[expected.index, "income_usd_yr"], rtol=1e-9)
        assert written["below_livelihood_floor"].tolist() == \
            (expected["income"] / expected["today"] < FLOORS["livelihood_floor"]).tolist()
        # work does not change with one year's rain: the plan's jobs, and today's, as in the communities layer
        np.testing.assert_allclose(written["jobs_fte"], layer.loc[expected.index, "jobs_fte"], rtol=1e-9)
        np.testing.assert_allclose(written["jobs_share"], layer.loc[expected.index, "jobs_fte"]
                                   / layer.loc[expected.index, "jobs_fte_today"], rtol=1e-9)
    normal = table.xs("normal", level="scenario")
    np.testing.assert_allclose(normal["income_usd_yr"], layer.loc[normal.index, "income_usd_yr"], rtol=1e-9)
    flagged = table.index[table["below_livelihood_floor"].astype(bool)].tolist()
    assert flagged == [("d2", "north")]           # the dusty year halves north's sales share, not today's harvest
    assert not table["below_jobs_floor"].astype(bool).any()


def test_the_region_rows_json_and_printed_table_carry_the_livelihoods(stressed) -> None:
    payload = stressed["json"]
    assert payload["livelihood_floor"] == FLOORS["livelihood_floor"] and payload["jobs_floor"] == FLOORS["jobs_floor"]
    years = pd.DataFrame(payload["years"]).set_index("scenario")
    communities = pd.DataFrame(payload["communities"])
    assert years.loc["d2", "communities_below_livelihood_floor"] == 1
    assert years.loc[["normal", "d1"], "communities_below_livelihood_floor"].tolist() == [0, 0]
    by_year = communities.groupby("scenario")["income_usd_yr"].sum()
    np.testing.assert_allclose(years.loc[by_year.index, "income_usd_yr"], by_year, rtol=1e-9)  # every parcel linked
    np.testing.assert_allclose(years["income_ratio_normal"], years["income_usd_yr"] / years.loc["normal",
                                                                                                 "income_usd_yr"])
    written = pd.DataFrame(pyogrio.read_dataframe(stressed["out"], layer="stress", read_geometry=False))
    assert written["communities_below_livelihood_floor"].tolist() == [0, 0, 1]
    text = stressed["text"]
    assert "income USD/yr" in text and "livelihood_floor 0.9" in text
    assert "d2: community north below the livelihood floor" in text
