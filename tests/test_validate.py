"""``dualuse validate``: every problem of a region at once, each with its rows and its fix."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod

from dualuse.cli import cli
from dualuse.diagnose.validate import validate_region
from dualuse.inputs.scenario import load_scenario
from dualuse.prepare.example import make_example, write_example
from dualuse.run import solve_region

#: (severity, layer, column, words in the message, ids) of every problem planted in `many_problems`.
PLANTED = [
    ("error", "parcels", "parcel_id", "used by more than one parcel", ("P0000002",)),
    ("error", "parcels", "geometry", "have no geometry", ("P0000004",)),
    ("error", "parcels", "geometry", "are not polygons (Point)", ("P0000005",)),
    ("error", "parcels", "geometry", "NaN or infinite", ("P0000006",)),
    ("error", "parcels", "land_type", "not a known land type ('urban')", ("P0000007", "P0000008")),
    ("error", "parcels", "pv_yield_kwh_kwp", "infinite", ("P0000009",)),
    ("error", "parcels", "pv_yield_kwh_kwp", "outside 0–3500", ("P0000010",)),
    ("error", "parcels", "productivity_t_ha", "empty (NULL or NaN)", ("P0000011",)),
    ("error", "parcels", "soc_t_ha", "required column is missing", ()),
    ("error", "parcels", "degradation", "not one of (-1, 0, 1)", ("P0000012",)),
    ("error", "parcels", "protected", "not booleans ('maybe')", ("P0000013",)),
    ("error", "parcels", "grid_km", "outside 0–5000", ("P0000014",)),
    ("error", "parcels", "community_id", "not in the 'communities' table ('NOWHERE')", ("P0000015",)),
    ("error", "communities", "unserved_households", "outside 0–1e+09", ()),
    ("error", "communities", "household_kwh_yr", "not numbers", ("C002",)),
    ("warning", "parcels", "geometry", "repaired with make_valid", ("P0000016",)),
    ("warning", "parcels", "geometry", "slivers", ("P0000017",)),
    ("warning", "parcels", "slope_deg", "empty (NULL or NaN); the default 0", ("P0000018",)),
    ("warning", "parcels", "pv_yield_kwh_kwp", "looks like daily totals", ("P0000019",)),
    # the bowtie's stored area is that of the twisted ring, nearly 0: the repair shows it was wrong
    ("warning", "parcels", "area_ha", "differs from the area of their geometry", ("P0000016", "P0000020")),
]


def bowtie(polygon: shapely.Polygon) -> shapely.Polygon:
    x0, y0, x1, y1 = polygon.bounds
    return shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])


def many_problems(path: Path) -> Path:
    """An example region with one problem of each kind planted in its own rows, in both layers."""
    example = make_example(parcels=30, seed=2)
    parcels, communities = example.parcels.copy(), example.communities.copy()
    geometry = np.asarray(parcels.geometry.array, dtype=object).copy()
    parcels.loc[2, "parcel_id"] = "P0000002"                      # a duplicate of row 1
    geometry[3] = None
    geometry[4] = shapely.Point(geometry[4].centroid)
    x0, y0, x1, y1 = geometry[5].bounds
    geometry[5] = shapely.Polygon([(x0, y0), (x1, np.nan), (x1, y1), (x0, y0)])
    parcels.loc[[6, 7], "land_type"] = "urban"
    parcels.loc[8, "pv_yield_kwh_kwp"] = np.inf
    parcels.loc[9, "pv_yield_kwh_kwp"] = -5.0
    parcels.loc[10, "productivity_t_ha"] = np.nan
    parcels = parcels.drop(columns="soc_t_ha")
    parcels.loc[11, "degradation"] = 2
    parcels["protected"] = parcels["protected"].map({True: "yes", False: "no"}).astype(object)
    parcels.loc[12, "protected"] = "maybe"
    parcels.loc[13, "grid_km"] = -1.0
    parcels.loc[14, "community_id"] = "NOWHERE"
    geometry[15] = bowtie(geometry[15])
    x0, y0, *_ = geometry[16].bounds
    geometry[16] = shapely.box(x0, y0, x0 + 5.0, y0 + 5.0)  # 25 m²
    parcels.loc[17, "slope_deg"] = np.nan
    parcels.loc[18, "pv_yield_kwh_kwp"] = 5.1
    parcels["area_ha"] = gpd.GeoSeries(geometry, crs=parcels.crs).to_crs("EPSG:6933").area.to_numpy() / 1e4
    parcels.loc[19, "area_ha"] *= 1.2
    communities.loc[0, "unserved_households"] = -10.0
    communities["household_kwh_yr"] = communities["household_kwh_yr"].astype(object)
    communities.loc[1, "household_kwh_yr"] = "lots"
    parcels = parcels.set_geometry(gpd.GeoSeries(geometry, index=parcels.index, crs=parcels.crs))
    pyogrio.write_dataframe(parcels, path, layer="parcels", driver="GPKG")
    pyogrio.write_dataframe(communities, path, layer="communities", driver="GPKG")
    return path


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # planting a NaN coordinate
def test_validate_reports_every_problem_at_once(tmp_path: Path) -> None:
    region = many_problems(tmp_path / "region.gpkg")
    report = validate_region(region)
    found = [(p.severity, p.layer, p.column) for p in report.problems]
    assert sorted(found) == sorted((s, lay, c) for s, lay, c, _, _ in PLANTED)
    for severity, layer, column, words, ids in PLANTED:
        matches = [p for p in report.problems if (p.severity, p.layer, p.column) == (severity, layer, column)
                   and words in p.message]
        assert len(matches) == 1, (column, words, [p.message for p in report.problems if p.column == column])
        problem = matches[0]
        assert problem.fix, problem
        if ids:
            assert tuple(str(i) for i in problem.ids) == ids
            assert problem.count == len(ids)
    assert report.region is None and report.exit_code == 2
    # errors first, then warnings
    assert [p.severity for p in report.problems] == sorted((p.severity for p in report.problems),
                                                            key=lambda s: s != "error")

    result = CliRunner().invoke(cli, ["validate", str(region)])
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert "15 error(s), 5 warning(s)" in lines[0]
    assert lines[2].split() == ["severity", "layer", "column", "count", "example", "ids"]
    assert sum(line.startswith("    fix: ") for line in lines) == len(PLANTED)

    payload = json.loads(CliRunner().invoke(cli, ["validate", str(region), "--json"]).stdout)
    assert (payload["ok"], payload["errors"], payload["warnings"]) == (False, 15, 5)
    assert {(p["severity"], p["layer"], p["column"]) for p in payload["problems"]} == set(found)

    solved = CliRunner().invoke(cli, ["solve", str(region), "-o", str(tmp_path / "p.gpkg")])
    assert solved.exit_code == 2 and "14 more problem(s): run `dualuse validate" in solved.stderr
    assert not (tmp_path / "p.gpkg").exists()


def test_warnings_only_exit_0_and_solve_repairs_and_reports_them(tmp_path: Path) -> None:
    """A bowtie is repaired into its two triangles; solve plans on the repaired area and says so."""
    example = make_example(parcels=30, seed=2)
    parcels = example.parcels.copy()
    geometry = np.asarray(parcels.geometry.array, dtype=object).copy()
    twisted = bowtie(geometry[3])
    geometry[3] = twisted
    parcels = parcels.set_geometry(gpd.GeoSeries(geometry, crs=parcels.crs))
    parcels.loc[5, "slope_deg"] = np.nan
    region = tmp_path / "region.gpkg"
    pyogrio.write_dataframe(parcels, region, layer="parcels", driver="GPKG")
    pyogrio.write_dataframe(example.communities, region, layer="communities", driver="GPKG")

    result = CliRunner().invoke(cli, ["validate", str(region), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] and payload["errors"] == 0
    repaired = next(p for p in payload["problems"] if "make_valid" in p["message"])
    assert repaired["ids"] == ["P0000004"]

    # the two triangles of the bowtie, measured on the ellipsoid, independently of the code under test
    x0, y0, x1, y1 = twisted.bounds
    xm, ym = shapely.intersection(shapely.LineString([(x0, y0), (x1, y1)]),
                                  shapely.LineString([(x1, y0), (x0, y1)])).coords[0]
    triangles = gpd.GeoSeries([shapely.Polygon([(x0, y0), (xm, ym), (x0, y1)]),
                               shapely.Polygon([(x1, y0), (x1, y1), (xm, ym)])], crs=parcels.crs).to_crs(4326)
    expected_ha = sum(abs(Geod(ellps="WGS84").geometry_area_perimeter(t)[0]) for t in triangles) / 1e4

    output = tmp_path / "plan.gpkg"
    solved = CliRunner().invoke(cli, ["solve", str(region), "-o", str(output), "--json", "--set", "food_floor=0.8"])
    assert solved.exit_code == 0, solved.output
    assert "repaired with make_valid" in solved.stderr and "P0000004" in json.dumps(json.loads(solved.stdout))
    plan = pyogrio.read_dataframe(output, layer="plan")
    row = plan.loc[plan["parcel_id"] == "P0000004"].iloc[0]
    assert row["area_ha"] == pytest.approx(expected_ha, rel=1e-6)
    assert shapely.is_valid(row.geometry) and row.geometry.geom_type == "MultiPolygon"
    assert plan.loc[plan["parcel_id"] == "P0000006", "slope_deg"].iloc[0] == 0.0


@pytest.mark.parametrize("factor,warned", [(1.04, False), (0.9, True), (1.2, True)])
def test_a_stored_area_is_checked_against_the_geometry(tmp_path: Path, factor: float, warned: bool) -> None:
    example = make_example(parcels=12, seed=3)
    parcels = example.parcels.copy()
    true_ha = parcels.geometry.to_crs("EPSG:6933").area.to_numpy() / 1e4
    parcels["area_m2"] = true_ha * 1e4  # a stored area in m² is converted before comparing
    parcels.loc[4, "area_m2"] *= factor
    region = tmp_path / "region.gpkg"
    pyogrio.write_dataframe(parcels, region, layer="parcels", driver="GPKG")
    report = validate_region(region)
    stored = [p for p in report.problems if p.column == "area_m2"]
    assert report.exit_code == 0
    assert bool(stored) is warned
    if warned:
        assert stored[0].ids == ("P0000005",) and stored[0].severity == "warning"


def _text_file(folder: Path) -> Path:
    path = folder / "region.gpkg"
    path.write_text("parcel_id,land_type\n1,cropland\n", encoding="utf-8")
    return path


def _truncated(folder: Path) -> Path:
    write_example(folder / "good.gpkg", parcels=12, seed=1)
    data = (folder / "good.gpkg").read_bytes()
    (folder / "region.gpkg").write_bytes(data[: len(data) // 3])
    return folder / "region.gpkg"


def _layers(folder: Path, **layers: pd.DataFrame) -> Path:
    path = folder / "region.gpkg"
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")
    return path


def _no_crs(folder: Path) -> Path:
    parcels = make_example(parcels=12, seed=1).parcels.set_crs(None, allow_override=True)
    return _layers(folder, parcels=parcels)


UNREADABLE = [
    ("no file", lambda f: f / "missing.gpkg", "no such file"),
    ("a folder", lambda f: f, "is a folder"),
    ("a text file", _text_file, "is not a GeoPackage"),
    ("truncated", _truncated, "may be truncated or corrupt"),
    ("no parcels layer", lambda f: _layers(f, fields=make_example(parcels=12, seed=1).parcels),
     "has no layer 'parcels' (layers there: 'fields')"),
    ("a table, not polygons", lambda f: _layers(f, parcels=pd.DataFrame({"land_type": ["bare"]})),
     "has no geometry column"),
    ("no parcels", lambda f: _layers(f, parcels=make_example(parcels=12, seed=1).parcels.iloc[:0]), "is empty"),
    ("no CRS", _no_crs, "has no coordinate reference system"),
]


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")  # the no-CRS file is written so
@pytest.mark.parametrize("name,make,words", UNREADABLE, ids=[c[0] for c in UNREADABLE])
def test_a_file_that_cannot_be_read_is_one_error(tmp_path: Path, name: str, make, words: str) -> None:
    region = make(tmp_path)
    result = CliRunner().invoke(cli, ["validate", str(region), "--json"])
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["errors"] == 1 and words in payload["problems"][0]["message"]
    assert payload["problems"][0]["fix"]
    solved = CliRunner().invoke(cli, ["solve", str(region), "-o", str(tmp_path / "p.gpkg")])
    assert solved.exit_code == 2 and "Traceback" not in solved.output
    assert words in solved.stderr or (name == "a folder" and "is a directory" in solved.stderr)  # click says it


def test_validate_runs_the_presolve_checks_of_the_scenario(tmp_path: Path) -> None:
    region = tmp_path / "region.gpkg"
    write_example(region, parcels=80, seed=6)
    result = CliRunner().invoke(cli, ["validate", str(region), "--set", "food_floor=5", "--json"])
    assert result.exit_code == 3, result.output
    (error,) = [p for p in json.loads(result.stdout)["problems"] if p["severity"] == "error"]
    assert (error["layer"], error["column"]) == ("scenario", "food_floor") and "at most" in error["message"]
    warnings = [p for p in json.loads(result.stdout)["problems"] if p["column"] == "ldn_scope"]
    assert warnings and "'artificial' is left out of the LDN constraint" in warnings[0]["message"]
    result = CliRunner().invoke(cli, ["validate", str(region), "--set", "budget_usd=1e12"])
    assert result.exit_code == 0
    assert "never binds" in result.stdout and "scenario" in result.stdout
    plan = solve_region(region, scenario=load_scenario(sets={"budget_usd": "1e12"}))
    assert any("never binds" in w.message for w in plan.region.warnings)
