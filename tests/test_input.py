"""Reading a region: every refused input gets exit 2 and one message; areas do not depend on the CRS."""

from __future__ import annotations

import json
import shutil
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from helpers import parcel, write_region

from dualuse.cli import cli
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import make_scenario
from dualuse.run import solve_region

GOOD = [parcel("cropland", productivity_t_ha=1.5, community_id="A"), parcel("grassland", productivity_t_ha=1.0),
        parcel("bare", community_id="B")]
COMMUNITIES = [{"community_id": "A", "unserved_households": 50}, {"community_id": "B", "unserved_households": 10}]


def _region(tmp_path, parcels=None, communities=COMMUNITIES, **kwargs):
    return write_region(tmp_path / "region.gpkg", parcels or [dict(p) for p in GOOD], communities, **kwargs)


def _with(column, values):
    rows = [dict(p) for p in GOOD]
    for row, value in zip(rows, values):
        if value is _DROP:
            row.pop(column, None)
        else:
            row[column] = value
    return rows


_DROP = object()


def _text_file(tmp_path):
    path = tmp_path / "region.gpkg"
    path.write_text("parcel_id,land_type\n1,cropland\n")
    return path


def _truncated(tmp_path):
    good = _region(tmp_path)
    data = good.read_bytes()
    bad = tmp_path / "truncated.gpkg"
    bad.write_bytes(data[: len(data) // 3])
    return bad


def _missing_layer(tmp_path):
    path = tmp_path / "region.gpkg"
    frame = gpd.GeoDataFrame([dict(p) for p in GOOD], geometry=shapely.box(range(3), 0, [x + 1 for x in range(3)], 1),
                             crs="EPSG:32632")
    frame.to_file(path, layer="fields", engine="pyogrio")
    return path


def _empty_layer(tmp_path):
    path = tmp_path / "region.gpkg"
    frame = gpd.GeoDataFrame([dict(p) for p in GOOD], geometry=shapely.box(range(3), 0, [x + 1 for x in range(3)], 1),
                             crs="EPSG:32632")
    frame.iloc[:0].to_file(path, layer="parcels", engine="pyogrio", geometry_type="Polygon")
    return path


def _no_crs(tmp_path):
    path = tmp_path / "region.gpkg"
    frame = gpd.GeoDataFrame([dict(p) for p in GOOD], geometry=shapely.box(range(3), 0, [x + 1 for x in range(3)], 1))
    with pytest.warns(UserWarning, match="crs"):
        frame.to_file(path, layer="parcels", engine="pyogrio")
    return path


def _geometry(tmp_path, geoms):
    path = _region(tmp_path)
    frame = gpd.read_file(path, layer="parcels", engine="pyogrio")
    frame = frame.set_geometry(gpd.GeoSeries(geoms, crs=frame.crs))
    path.unlink()
    frame.to_file(path, layer="parcels", engine="pyogrio", geometry_type="Unknown")
    pyogrio.write_dataframe(pd.DataFrame(COMMUNITIES), path, layer="communities")
    return path


BOX = shapely.box(400_000, 1_500_000, 401_000, 1_501_000)

#: (case name, how to make the file, words the message must contain)
BAD_INPUTS = [
    ("missing file", lambda t: t / "nothere.gpkg", ["no such file"]),
    ("not a geopackage", _text_file, ["not a GeoPackage"]),
    ("truncated", _truncated, ["truncated"]),
    ("missing layer", _missing_layer, ["no layer 'parcels'", "'fields'", "--layer"]),
    ("empty layer", _empty_layer, ["empty"]),
    ("no crs", _no_crs, ["coordinate reference system"]),
    ("null geometry", lambda t: _geometry(t, [BOX, None, BOX]), ["no geometry", "geometry"]),
    ("empty geometry", lambda t: _geometry(t, [BOX, shapely.Polygon(), BOX]), ["empty geometry"]),
    ("point geometry", lambda t: _geometry(t, [BOX, shapely.Point(400_500, 1_500_500), BOX]), ["not polygons", "Point"]),
    ("missing land_type", lambda t: _region(t, _with("land_type", [_DROP] * 3)), ["land_type", "missing"]),
    ("missing pv yield", lambda t: _region(t, _with("pv_yield_kwh_kwp", [_DROP] * 3)), ["pv_yield_kwh_kwp"]),
    ("non-numeric soc", lambda t: _region(t, _with("soc_t_ha", ["high", "low", "20"])), ["soc_t_ha", "not numeric"]),
    ("nan productivity", lambda t: _region(t, _with("productivity_t_ha", [1.0, float("nan"), 1.0])),
     ["productivity_t_ha", "empty"]),
    ("infinite yield", lambda t: _region(t, _with("pv_yield_kwh_kwp", [1800.0, float("inf"), 1800.0])),
     ["pv_yield_kwh_kwp", "infinite"]),
    ("negative yield", lambda t: _region(t, _with("pv_yield_kwh_kwp", [1800.0, -5.0, 1800.0])),
     ["pv_yield_kwh_kwp", "outside"]),
    ("negative soc", lambda t: _region(t, _with("soc_t_ha", [20.0, 20.0, -1.0])), ["soc_t_ha", "outside"]),
    ("negative productivity", lambda t: _region(t, _with("productivity_t_ha", [-0.5, 1.0, 1.0])),
     ["productivity_t_ha", "outside"]),
    ("slope over 90", lambda t: _region(t, _with("slope_deg", [95.0, 1.0, 1.0])), ["slope_deg", "not percent"]),
    ("degradation 2", lambda t: _region(t, _with("degradation", [0, 2, 0])), ["degradation", "−1"]),
    ("protected maybe", lambda t: _region(t, _with("protected", ["yes", "maybe", "no"])), ["protected", "'maybe'"]),
    ("unknown land type", lambda t: _region(t, _with("land_type", ["cropland", "savanna", "bare"])),
     ["'savanna'", "grassland"]),
    ("duplicate parcel ids", lambda t: _region(t, _with("parcel_id", ["p1", "p1", "p2"])), ["parcel_id", "p1"]),
    ("duplicate community ids",
     lambda t: _region(t, communities=[{"community_id": "A", "unserved_households": 5},
                                       {"community_id": "A", "unserved_households": 6},
                                       {"community_id": "B", "unserved_households": 1}]),
     ["community_id", "'A'" if False else "A", "unique"]),
    ("negative households",
     lambda t: _region(t, communities=[{"community_id": "A", "unserved_households": -5},
                                       {"community_id": "B", "unserved_households": 6}]),
     ["unserved_households", "outside"]),
    ("unknown community", lambda t: _region(t, _with("community_id", ["A", "Z", "B"])), ["community_id", "'Z'"]),
]


@pytest.mark.parametrize("name,make,words", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_refused_with_one_message(tmp_path, name, make, words):
    path = make(tmp_path)
    out = tmp_path / "out" / "plan.gpkg"
    out.parent.mkdir()
    result = CliRunner().invoke(cli, ["solve", str(path), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    message = result.stderr
    assert message.startswith("error: ") and message.count("error: ") == 1
    assert str(path) in message and "Fix:" in message or "check the path" in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert not out.exists() and not any(out.parent.iterdir())


def test_bad_input_as_json(tmp_path):
    path = _region(tmp_path, _with("slope_deg", [95.0, 1.0, 1.0]))
    result = CliRunner().invoke(cli, ["solve", str(path), "-o", str(tmp_path / "p.gpkg"), "--json"])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["column"] == "slope_deg" and payload["layer"] == "parcels" and payload["ids"] == [1]  # the feature id


def test_optional_columns_take_their_defaults(tmp_path):
    rows = [{k: v for k, v in p.items() if k in ("land_type", "pv_yield_kwh_kwp", "productivity_t_ha", "soc_t_ha")}
            for p in GOOD]
    region = read_region(write_region(tmp_path / "r.gpkg", rows))
    assert region.degradation.tolist() == [0, 0, 0] and region.slope_deg.tolist() == [0, 0, 0]
    assert region.protected.tolist() == [False] * 3 and region.grid_km.tolist() == [0, 0, 0]
    assert region.community.tolist() == [-1, -1, -1]
    assert region.parcel_id.tolist() == [1, 2, 3]  # the feature ids


def test_protected_accepts_the_usual_spellings(tmp_path):
    region = read_region(_region(tmp_path, _with("protected", ["Yes", "0", "TRUE"])))
    assert region.protected.tolist() == [True, False, True]


def test_land_types_are_matched_case_blind(tmp_path):
    region = read_region(_region(tmp_path, _with("land_type", [" Cropland", "GRASSLAND", "bare"])))
    assert region.land_type.tolist() == [0, 1, 5]


def _reproject(src, dst, crs):
    frame = gpd.read_file(src, layer="parcels", engine="pyogrio").to_crs(crs)
    frame.to_file(dst, layer="parcels", engine="pyogrio")
    pyogrio.write_dataframe(pd.DataFrame(pyogrio.read_dataframe(src, layer="communities", read_geometry=False)),
                            dst, layer="communities")
    return dst


def test_same_parcels_in_three_crs_give_the_same_areas_and_plan(tmp_path):
    """UTM metres (EPSG:32614), geographic degrees (EPSG:4326), Texas Central in US survey feet (EPSG:2277).

    The parcels lie in central Texas so that every CRS is valid there.  Areas
    agree to 1e-7 (edges are straight in each CRS, which bends them by
    millimetres), and so do the plans.
    """
    rows = [parcel("cropland", productivity_t_ha=1.0 + k % 3, pv_yield_kwh_kwp=1500 + 20 * k,
                   degradation=-1 if k % 4 == 0 else 0, community_id="A" if k < 3 else None) for k in range(8)]
    utm = write_region(tmp_path / "utm.gpkg", rows, [{"community_id": "A", "unserved_households": 300}],
                       crs="EPSG:32614", areas_ha=[50 + 10 * k for k in range(8)])
    # move the squares to central Texas (UTM 14N: x 600 km, y 3,400 km)
    frame = gpd.read_file(utm, layer="parcels", engine="pyogrio")
    frame = frame.set_geometry(frame.geometry.translate(600_000 - 400_000, 3_400_000 - 1_500_000))
    frame.to_file(utm, layer="parcels", engine="pyogrio")
    wgs = _reproject(utm, tmp_path / "wgs84.gpkg", "EPSG:4326")
    feet = _reproject(utm, tmp_path / "feet.gpkg", "EPSG:2277")
    assert gpd.read_file(feet, layer="parcels", engine="pyogrio").crs.axis_info[0].unit_name == "US survey foot"

    areas = [read_region(p).area_ha for p in (utm, wgs, feet)]
    np.testing.assert_allclose(areas[1], areas[0], rtol=1e-7)
    np.testing.assert_allclose(areas[2], areas[0], rtol=1e-7)

    scenario = make_scenario({"food_floor": 0.5})
    plans = [solve_region(p, tmp_path / f"plan_{p.stem}.gpkg", scenario=scenario) for p in (utm, wgs, feet)]
    for plan in plans[1:]:
        assert plan.objective == pytest.approx(plans[0].objective, rel=1e-6)
        np.testing.assert_allclose(plan.shares, plans[0].shares, atol=1e-5)


def test_wal_file_beside_the_output_is_refused(tmp_path):
    region = _region(tmp_path)
    out = tmp_path / "plan.gpkg"
    shutil.copy(region, out)
    (tmp_path / "plan.gpkg-wal").write_bytes(b"")
    result = CliRunner().invoke(cli, ["solve", str(region), "-o", str(out)])
    assert result.exit_code == 2 and "open in another program" in result.stderr
    assert out.read_bytes() == region.read_bytes()


def test_writing_over_the_input_is_refused(tmp_path):
    region = _region(tmp_path)
    before = region.read_bytes()
    result = CliRunner().invoke(cli, ["solve", str(region), "-o", str(region)])
    assert result.exit_code == 2 and "input" in result.stderr
    assert region.read_bytes() == before


def test_plan_opens_styled_in_qgis(tmp_path):
    """The style table is registered and matches the plan layer the way QGIS looks it up."""
    region = _region(tmp_path)
    out = tmp_path / "plan.gpkg"
    assert CliRunner().invoke(cli, ["solve", str(region), "-o", str(out)]).exit_code == 0
    with sqlite3.connect(out) as con:
        rows = con.execute("SELECT f_table_schema, f_table_name, f_geometry_column, useAsDefault, styleQML "
                           "FROM layer_styles WHERE f_table_name = 'plan'").fetchall()
        kind = con.execute("SELECT data_type FROM gpkg_contents WHERE table_name='layer_styles'").fetchone()
        geom = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name='plan'").fetchone()
    assert kind == ("attributes",)
    (schema, table, column, default, qml), = rows
    assert (schema, table, column, default) == ("", "plan", geom[0], 1)
    assert 'type="RuleRenderer"' in qml
    for use in ("current", "solar", "agrivoltaic", "grazing", "restoration"):
        assert f"filter=\"&quot;use&quot; = '{use}'\"" in qml
    assert not list(tmp_path.glob("*.aux.xml"))
    assert sorted(pyogrio.list_layers(out)[:, 0].tolist()) == ["communities", "layer_styles", "ldn_balance", "plan",
                                                               "run", "summary"]
