"""Livelihoods: jobs and land-based income per community, and the floors that keep them.

Hand-solved cases (the shipped catalogue, whose PV pays no sales share, with
the mini-grid work set to 0, so that a parcel's income is its harvest value
and its jobs are its labour):

* One 10 ha cropland parcel of community A, whose unbounded demand makes the
  objective the parcel's delivered energy.  Under solar the harvest is lost,
  under agrivoltaics 90 % of it is kept (0.39 against 0.87 MWp/ha).  Without
  a floor the whole parcel goes to solar.  A floor φ on A's income asks
  ``x_current + 0.9 x_agri ≥ φ`` (restoration of cropland keeps the harvest
  too but makes no energy): agrivoltaics buy 0.39/0.1 = 3.9 MWp per unit of
  income given up, solar 0.87, so the plan takes ``x_agri = (1 − φ) / 0.1``
  and no solar; the objective η e_a x_agri / D falls by 0.1 η e_a / D per
  percentage point of the floor — A's shadow price.  A jobs floor works the
  same with PV operation work set to 0, but regenerated cropland (farming and
  tending the trees) needs more work than farming alone, so it, not the
  current use, takes the rest of the parcel.
* Community A's sunny cropland and community B's bare land, a budget for
  5 MWp and only energy in the objective: without a floor the plant goes on
  A's cropland; with A held to all of today's income it moves to B's bare
  land, which earns nothing today and so has no floor.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyogrio
import pytest
from helpers import LIVELIHOOD_FIGURES, livelihoods_by_community, parcel, read_plan, recheck_plan, write_region

from dualuse.errors import InfeasibleError, InputError
from dualuse.inputs.catalogue import load_catalogue
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import make_scenario
from dualuse.run import run_scenario, solve_region
from dualuse.report.html import write_plan_report
from dualuse.report.livelihoods import livelihood_section, livelihood_table
from dualuse.vocabulary import LAND_TYPES, USES

SHIPPED = load_catalogue()
AREA_HA = 10.0
YIELD = 2000.0
#: Only energy to households counts: LDN, the food floor, export and the cost tie-break off.
ACCESS_ONLY = dict(weight_access=1.0, weight_energy=0.0, weight_productivity=0.0, weight_cost=0.0, ldn_scope="off",
                   food_floor=0.0, grid_export_mwh=0.0, budget_usd=1e12)


def edited(text: str, *changes: tuple[str, str, int]) -> str:
    """The catalogue text with each (old, new, count) replacement made (count −1: the last occurrence only)."""
    for old, new, count in changes:
        assert old in text, old
        if count == -1:
            head, _, tail = text.rpartition(old)
            text = head + new + tail
        else:
            text = text.replace(old, new, count)
    return text


#: The shipped catalogue without mini-grid work (its PV pays no sales share: income is the harvest, jobs the labour);
#: without PV operation work too; and with a soil-carbon price, a payment for restored land, a lease for solar and
#: a 1 % sales share.
EDITS = {
    "plain": (("minigrid_fte_household = 0.01", "minigrid_fte_household = 0.0", 1),),
    "no_pv_work": (("minigrid_fte_household = 0.01", "minigrid_fte_household = 0.0", 1),
                   ("operation_fte_mwp = 0.3", "operation_fte_mwp = 0.0", 2)),
    "schemes": (("carbon_price_usd_t_co2 = 0.0", "carbon_price_usd_t_co2 = 12.0", 1),
                ("sales_share_to_community = 0.0", "sales_share_to_community = 0.01", 2),
                ("land_lease_usd_ha_yr = 0.0", "land_lease_usd_ha_yr = 80.0", 1),
                ("pes_usd_ha_yr = 0.0", "pes_usd_ha_yr = 25.0", -1)),
}


@pytest.fixture(scope="module")
def catalogues(tmp_path_factory):
    folder = tmp_path_factory.mktemp("catalogues")
    text = open(SHIPPED.path, encoding="utf-8").read()
    out = {}
    for name, changes in EDITS.items():
        (folder / f"{name}.toml").write_text(edited(text, *changes), encoding="utf-8")
        out[name] = load_catalogue(folder / f"{name}.toml")
    return out


@pytest.fixture(scope="module")
def cropland_region(tmp_path_factory):
    path = tmp_path_factory.mktemp("livelihoods") / "cropland.gpkg"
    write_region(path, [parcel("cropland", community_id="A", productivity_t_ha=1.0, pv_yield_kwh_kwp=YIELD,
                               area_ha=AREA_HA)], [{"community_id": "A", "unserved_households": 1e6}])
    return read_region(path)


def shares(plan, parcel_index=0):
    return dict(zip(USES, plan.shares[parcel_index]))


def test_the_edited_catalogues_say_what_the_tests_need(catalogues) -> None:
    plain, no_pv_work, schemes = catalogues["plain"], catalogues["no_pv_work"], catalogues["schemes"]
    assert plain.minigrid_fte_household == 0.0 and all(u.sales_share_to_community == 0.0 for u in plain.uses)
    assert schemes.use("solar").sales_share_to_community == schemes.use("agrivoltaic").sales_share_to_community == 0.01
    assert all(u.operation_fte_mwp == 0.0 for u in no_pv_work.uses)
    assert schemes.carbon_price_usd_t_co2 == 12.0 and schemes.use("restoration").pes_usd_ha_yr == 25.0
    assert schemes.use("solar").land_lease_usd_ha_yr == 80.0 and schemes.use("agrivoltaic").land_lease_usd_ha_yr == 0


def test_without_a_floor_the_cropland_goes_to_solar(cropland_region, catalogues) -> None:
    plan = run_scenario(cropland_region, catalogues["plain"], make_scenario(ACCESS_ONLY))
    assert shares(plan)["solar"] == pytest.approx(1.0, abs=1e-7)
    assert plan.kpis["livelihoods"] == pytest.approx(0.0, abs=1e-9)


FARMING, AGRI, REGENERATION = (SHIPPED.use(u).labour_fte_ha_yr[LAND_TYPES.index("cropland")]
                                for u in ("current", "agrivoltaic", "restoration"))


@pytest.mark.parametrize("floor, catalogue, parameter, agri, agri_per_point", [
    # income: current use and regenerated cropland keep the whole harvest, agrivoltaics 0.9 of it
    (0.95, "plain", "livelihood_floor", (1.0 - 0.95) / 0.1, 0.01 / 0.1),
    # jobs: regenerated cropland needs more work than farming alone, so it takes the rest of the parcel:
    # REGENERATION (1 − x_agri) + AGRI x_agri = floor × FARMING
    (0.97, "no_pv_work", "jobs_floor", (REGENERATION - 0.97 * FARMING) / (REGENERATION - AGRI),
     0.01 * FARMING / (REGENERATION - AGRI)),
])
def test_the_floor_moves_solar_to_agrivoltaics_and_its_price_is_the_slope(cropland_region, catalogues, floor, catalogue,
                                                                          parameter, agri, agri_per_point) -> None:
    catalogue = catalogues[catalogue]
    scenario = make_scenario({**ACCESS_ONLY, parameter: floor})
    plan = run_scenario(cropland_region, catalogue, scenario)
    x = shares(plan)
    assert x["agrivoltaic"] == pytest.approx(agri, rel=1e-6)
    assert x["solar"] == pytest.approx(0.0, abs=1e-7)
    assert x["current"] + x["restoration"] == pytest.approx(1.0 - agri, rel=1e-6)
    demand_mwh = 1e6 * scenario.household_kwh_yr / 1000.0
    area_ha = float(cropland_region.area_ha[0])  # measured in an equal-area CRS: about AREA_HA
    energy_agri_mwh = area_ha * catalogue.use("agrivoltaic").density_mwp_ha * YIELD
    # each percentage point of the floor costs agri_per_point of the parcel's agrivoltaics, each worth η e_a / D
    expected = agri_per_point * scenario.delivery_efficiency * energy_agri_mwh / demand_mwh
    prices = {p["name"]: p["value"] for p in plan.shadow_prices}
    assert prices[f"{parameter}_A"] == pytest.approx(expected, rel=1e-6)
    step = 0.005
    up = run_scenario(cropland_region, catalogue, scenario.replace(**{parameter: floor - step})).objective
    down = run_scenario(cropland_region, catalogue, scenario.replace(**{parameter: floor + step})).objective
    for slope in ((up - plan.objective) / (100 * step), (plan.objective - down) / (100 * step)):
        assert slope == pytest.approx(prices[f"{parameter}_A"], rel=1e-4)


@pytest.fixture(scope="module")
def two_communities(tmp_path_factory, catalogues):
    """A's sunny cropland and B's bare land, a budget for 5 MWp, only energy counts: the plans without a floor
    and with A held to all of today's income."""
    folder = tmp_path_factory.mktemp("two")
    path = write_region(folder / "two.gpkg", [
        parcel("cropland", community_id="A", productivity_t_ha=1.0, pv_yield_kwh_kwp=2200.0, area_ha=AREA_HA),
        parcel("bare", community_id="B", pv_yield_kwh_kwp=1800.0, area_ha=AREA_HA)],
        [{"community_id": "A", "unserved_households": 0}, {"community_id": "B", "unserved_households": 0}])
    base = dict(weight_access=0.0, weight_energy=1.0, weight_productivity=0.0, weight_cost=0.0, ldn_scope="off",
                food_floor=0.0, budget_usd=PLANT_MWP * SHIPPED.use("solar").capex_usd_mwp)
    free = solve_region(path, folder / "free.gpkg", scenario=make_scenario(base), catalogue=catalogues["plain"])
    held = solve_region(path, folder / "held.gpkg", scenario=make_scenario({**base, "livelihood_floor": 1.0}),
                        catalogue=catalogues["plain"])
    for name in ("free", "held"):
        recheck_plan(folder / f"{name}.gpkg", path)
    return folder, free, held


PLANT_MWP = 5.0


def communities_layer(path) -> pd.DataFrame:
    return pd.DataFrame(pyogrio.read_dataframe(path, layer="communities",
                                               read_geometry=False)).set_index("community_id")


def test_the_floor_moves_the_plant_to_another_communitys_bare_land(two_communities) -> None:
    folder, free, held = two_communities
    area_ha = free.region.area_ha
    solar = USES.index("solar")
    share = PLANT_MWP / (area_ha[0] * SHIPPED.use("solar").density_mwp_ha)
    assert free.shares[0, solar] == pytest.approx(share, rel=1e-6)
    assert free.shares[1, solar] == pytest.approx(0.0, abs=1e-7)
    assert held.shares[0, USES.index("current")] + held.shares[0, USES.index("restoration")] == pytest.approx(1.0)
    assert held.shares[1, solar] == pytest.approx(PLANT_MWP / (area_ha[1] * SHIPPED.use("solar").density_mwp_ha),
                                                  rel=1e-6)
    communities = communities_layer(folder / "held.gpkg")
    harvest_usd_yr = area_ha[0] * 1.0 * SHIPPED.harvest_value_usd_t[LAND_TYPES.index("cropland")]
    assert communities.loc["A", "income_usd_yr_today"] == pytest.approx(harvest_usd_yr)
    assert communities.loc["A", "income_usd_yr"] == pytest.approx(harvest_usd_yr, rel=1e-6)
    assert communities.loc["B", "income_usd_yr_today"] == 0.0
    assert communities.loc["B", "construction_job_years"] == pytest.approx(
        PLANT_MWP * SHIPPED.use("solar").construction_job_years_mwp, rel=1e-6)
    free_communities = communities_layer(folder / "free.gpkg")
    assert free_communities.loc["A", "income_usd_yr_change"] == pytest.approx(-share * harvest_usd_yr, rel=1e-6)


def test_the_report_maps_the_change_and_lists_the_communities_that_lose(two_communities) -> None:
    folder, _, _ = two_communities
    report = write_plan_report(folder / "free.gpkg")
    figure = next(f for f in report.figures if f.name == "livelihoods")
    communities = communities_layer(folder / "free.gpkg")
    falls = communities["income_usd_yr"] < communities["income_usd_yr_today"]
    assert falls.tolist() == [True, False]
    assert figure.data["classes"] == {"A": "falls by more than 10 %", "B": "no land-based income today"}
    page = report.html.read_text(encoding="utf-8")
    section = page[page.index("Livelihoods: who may lose"):]
    assert "1 of the 2 communities lose land-based income" in section
    assert "<td>A</td>" in section and "<td>B</td>" not in section
    held = livelihood_table(communities_layer(folder / "held.gpkg").reset_index())
    assert not held["at_risk"].any()
    assert "No community of the 2 loses land-based income or jobs" in livelihood_section(held, figure, "held")


# --------------------------------------------------------------------------- the written plan, re-checked


RECHECKED = dict(livelihood_floor=0.9, jobs_floor=0.8, budget_usd=3e6, min_restored_ha=20.0)


@pytest.fixture(scope="module")
def written(tmp_path_factory, catalogues):
    folder = tmp_path_factory.mktemp("recheck")
    rows = [parcel("cropland", community_id="A", productivity_t_ha=1.2, pv_yield_kwh_kwp=2100.0),
            parcel("grassland", community_id="A", productivity_t_ha=1.5, degradation=-1),
            parcel("cropland", community_id="B", productivity_t_ha=0.8, pv_yield_kwh_kwp=1900.0, degradation=-1),
            parcel("bare", community_id="B", pv_yield_kwh_kwp=2050.0),
            parcel("shrubland", community_id="C", productivity_t_ha=0.6, degradation=-1),
            parcel("bare", community_id="C", pv_yield_kwh_kwp=1950.0, degradation=-1),
            parcel("grassland", productivity_t_ha=1.0)]
    communities = [{"community_id": "A", "unserved_households": 300, "rural_households": 120},
                   {"community_id": "B", "unserved_households": 200, "rural_households": 80},
                   {"community_id": "C", "unserved_households": 150}]
    region_path = write_region(folder / "region.gpkg", rows, communities,
                               areas_ha=[40.0, 120.0, 30.0, 60.0, 80.0, 50.0, 70.0])
    plan = solve_region(region_path, folder / "plan.gpkg", scenario=make_scenario(RECHECKED),
                        catalogue=catalogues["schemes"])
    recheck_plan(folder / "plan.gpkg", region_path)
    return folder / "plan.gpkg", plan


def test_every_communitys_income_and_jobs_recomputed_from_the_written_plan(written, catalogues) -> None:
    path, _ = written
    layer, summary, run = read_plan(path)
    communities = pd.DataFrame(pyogrio.read_dataframe(path, layer="communities",
                                                      read_geometry=False)).set_index("community_id")
    scenario = run["scenario"]
    schemes = catalogues["schemes"]
    again = livelihoods_by_community(layer, schemes, scenario, communities["households_served"])
    assert sorted(again.index) == ["A", "B", "C"]
    for ours, theirs in LIVELIHOOD_FIGURES:
        np.testing.assert_allclose(again[ours], communities.loc[again.index, theirs], rtol=1e-6, atol=1e-6,
                                   err_msg=theirs)
    np.testing.assert_allclose(communities["income_usd_yr_change"],
                               communities["income_usd_yr"] - communities["income_usd_yr_today"], atol=1e-6)
    np.testing.assert_allclose(communities["jobs_fte_change"], communities["jobs_fte"] - communities["jobs_fte_today"],
                               atol=1e-9)
    # the floors hold, community by community
    held = communities["income_usd_yr_today"] > 0
    assert (communities.loc[held, "income_usd_yr"]
            >= scenario["livelihood_floor"] * communities.loc[held, "income_usd_yr_today"] * (1 - 1e-6)).all()
    assert (communities["jobs_fte"] >= scenario["jobs_floor"] * communities["jobs_fte_today"] * (1 - 1e-6)).all()
    # per household where the community says how many live from the land
    assert communities.loc["A", "income_usd_yr_per_household"] == pytest.approx(
        communities.loc["A", "income_usd_yr"] / 120.0)
    assert math.isnan(communities.loc["C", "income_usd_yr_per_household"])
    # the region's totals count the parcel outside every community too
    kpi = summary.set_index("kpi")
    unassigned = layer["community_id"].isna()
    grass = schemes.harvest_value_usd_t[LAND_TYPES.index("grassland")]
    region_today = again["income_today"].sum() + float((layer.loc[unassigned, "area_ha"] * 1.0 * grass).sum())
    assert kpi.loc["income_usd_yr", "baseline"] == pytest.approx(region_today, rel=1e-6)
    assert kpi.loc["livelihoods", "plan"] == pytest.approx(kpi.loc["income_usd_yr", "plan"] / region_today, rel=1e-6)
    assert kpi.loc["min_income_share", "plan"] == pytest.approx(
        (communities.loc[held, "income_usd_yr"] / communities.loc[held, "income_usd_yr_today"]).min(), rel=1e-6)


def test_restoration_payments_count_only_where_a_scheme_pays(written) -> None:
    _, plan = written
    restored = plan.shares[:, USES.index("restoration")] * plan.region.area_ha
    assert restored.sum() >= RECHECKED["min_restored_ha"] * (1 - 1e-9)
    unpaid = run_scenario(plan.region, SHIPPED, make_scenario(RECHECKED))
    assert unpaid.kpis["income_usd_yr"] < plan.kpis["income_usd_yr"]


def test_an_unreachable_floor_is_explained_with_the_parameter_to_lower(cropland_region, catalogues) -> None:
    with pytest.raises(InfeasibleError) as caught:
        run_scenario(cropland_region, catalogues["plain"], make_scenario({**ACCESS_ONLY, "livelihood_floor": 1.5}))
    assert "cannot keep 1.5 × today's land-based income" in str(caught.value)  # the pre-solve check
    assert "lower livelihood_floor from 1.5 to 1" in str(caught.value)  # and the solver's explanation


def test_livelihood_kpis_weigh_in_the_objective_and_lead_priorities(cropland_region, catalogues) -> None:
    plain = catalogues["plain"]
    weighted = run_scenario(cropland_region, plain, make_scenario({**ACCESS_ONLY, "weight_livelihoods": 10.0}))
    assert shares(weighted)["solar"] == pytest.approx(0.0, abs=1e-7)
    first = run_scenario(cropland_region, plain, make_scenario({**ACCESS_ONLY, "objective_mode": "priorities",
                                                                "priorities": ("livelihoods", "access")}))
    assert first.kpis["livelihoods"] == pytest.approx(1.0, rel=10 * first.scenario.priority_tolerance)
    assert shares(first)["solar"] == pytest.approx(0.0, abs=1e-7)


def test_a_catalogue_without_livelihood_figures_counts_none_and_a_wrong_one_is_refused(tmp_path) -> None:
    text = open(SHIPPED.path, encoding="utf-8").read()
    bare = "\n".join(line for line in text.splitlines()
                     if not line.startswith(("labour_fte_ha_yr", "construction_job_years_mwp", "operation_fte_mwp",
                                             "land_lease_usd_ha_yr", "sales_share_to_community", "pes_usd_ha_yr",
                                             "carbon_price_usd_t_co2", "minigrid_fte_household")))
    (tmp_path / "bare.toml").write_text(bare, encoding="utf-8")
    catalogue = load_catalogue(tmp_path / "bare.toml")
    assert all(not u.labour_fte_ha_yr.any() and u.operation_fte_mwp == 0.0 for u in catalogue.uses)
    (tmp_path / "wrong.toml").write_text(text.replace("sales_share_to_community = 0.0",
                                                      "sales_share_to_community = 2.0", 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_catalogue(tmp_path / "wrong.toml")
    assert caught.value.column == "uses.solar.sales_share_to_community"
