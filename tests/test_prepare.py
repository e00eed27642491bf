"""``dualuse prepare``: rasters and vectors → a region GeoPackage, checked against hand-worked values.

The inputs are in ``tests/prepare_fixtures.py``: a 2 km square AOI (stored in
lon/lat) tiled into four 1 km parcels in UTM 33N, rasters in UTM at 500 m and
250 m and in degrees, each built so that the expected parcel values follow
from a line of arithmetic given next to each assertion.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import prepare_fixtures as fx
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualuse.cli import cli
from dualuse.errors import InputError
from dualuse.inputs.region import check_region, read_region
from dualuse.inputs.schema import equal_area_ha
from dualuse.prepare.assemble import PrepareOptions, prepare_region
from dualuse.prepare.legends import ESA_CCI_LEGEND, read_legend
from dualuse.prepare.terrain import horn_slope_deg
from dualuse.prepare.tiling import tile_polygon, tiling_crs
from dualuse.vocabulary import LAND_TYPES

SQUARE = ["--crs", fx.UTM, "--shape", "square", "--cell-ha", "100"]


# --------------------------------------------------------------------------- inputs and runners


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every input file, written once for the module."""
    d = tmp_path_factory.mktemp("inputs")
    files = {
        "aoi": fx.aoi_square(d / "aoi.gpkg"),
        "pvout": fx.pvout_yearly(d / "pvout.tif"),
        "productivity": fx.productivity_degrees(d / "productivity.tif"),
        "soc": fx.soc_with_nodata(d / "soc.tif"),
        "land_cover": fx.land_cover_esa(d / "land_cover.tif"),
        "degradation": fx.degradation_status(d / "sdg.tif"),
        "dem": fx.dem_plane_utm(d / "dem.tif"),
    }
    x0, y0 = fx.X0, fx.Y0
    # 60 % of parcel 1 and 40 % of parcel 2; the second polygon overlaps the first and must not count twice
    files["protected"] = fx.write_vector(
        d / "wdpa.gpkg",
        [shapely.box(x0, y0 + 1000, x0 + 600, y0 + 2000), shapely.box(x0 + 300, y0 + 1000, x0 + 600, y0 + 2000),
         shapely.box(x0 + 1000, y0 + 1000, x0 + 1400, y0 + 2000), shapely.box(x0, y0, x0 + 1000, y0 + 1000)],
        fx.UTM, STATUS=["Designated", "Designated", "Designated", "Proposed"])
    # a straight line 1 km north of the AOI, stored in lon/lat
    files["grid"] = fx.write_vector(d / "grid.gpkg", [shapely.LineString([(x0 - 1000, y0 + 3000),
                                                                            (x0 + 3000, y0 + 3000)])],
                                    fx.UTM, to_crs=fx.LONLAT)
    # A at parcel 1's centroid; B 100 m east of parcel 4's centroid; C near A (A is nearer to every parcel);
    # D 20 km away
    files["settlements"] = fx.write_vector(
        d / "villages.gpkg",
        [shapely.Point(499_500, 5_001_500), shapely.Point(500_600, 5_000_500), shapely.Point(499_400, 5_001_600),
         shapely.Point(520_000, 5_001_000)], fx.UTM, to_crs=fx.LONLAT,
        name=["A", "B", "C", "D"], pop=[1000, 500, 100, 50], elec=[0.2, 0.5, 0.0, 0.0])
    return files


def run(*args: object) -> Any:
    """Run the CLI; the result (exit code, output) for the test to check."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def base_args(inputs: dict[str, Path], out: Path, **override: object) -> list[object]:
    """A prepare command line over the standard inputs; ``override`` replaces or adds options (None drops)."""
    options: dict[str, object] = {"--pvout": inputs["pvout"], "--productivity": inputs["productivity"],
                                  "--soc": inputs["soc"], "--land-cover": inputs["land_cover"]}
    for key, value in override.items():
        options["--" + key.replace("_", "-")] = value
    args: list[object] = ["prepare", inputs["aoi"], "-o", out, *SQUARE]
    for key, value in options.items():
        if value is True:
            args.append(key)
        elif value is not None:
            args += [key, value]
    return args


def parcels_of(path: Path) -> gpd.GeoDataFrame:
    """The parcels of a prepared region, indexed by the number of their text id (P0000001 → 1)."""
    frame = gpd.read_file(path, layer="parcels", engine="pyogrio")
    assert frame["parcel_id"].str.fullmatch(r"P\d{7,}").all()
    return frame.set_index(frame["parcel_id"].str[1:].astype(int).rename("parcel_id"))


@pytest.fixture(scope="module")
def full(inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The region prepared from every input."""
    out = tmp_path_factory.mktemp("full") / "region.gpkg"
    result = run(*base_args(inputs, out, degradation=inputs["degradation"], dem=inputs["dem"],
                            protected=inputs["protected"], protected_where="STATUS <> 'Proposed'",
                            grid_lines=inputs["grid"], settlements=inputs["settlements"],
                            settlement_id_field="name", population_field="pop", electrified_field="elec",
                            household_size=5, reach_km=3))
    assert result.exit_code == 0, result.output
    return out


# --------------------------------------------------------------------------- the full region


def test_four_square_parcels_of_100_ha(full: Path) -> None:
    parcels = parcels_of(full)
    assert list(parcels.index) == [1, 2, 3, 4]
    assert parcels.crs.to_epsg() == 32633
    np.testing.assert_allclose(parcels.area.to_numpy(), 1e6, rtol=1e-6)
    centroids = parcels.geometry.centroid
    for pid, (x, y) in fx.CENTROIDS.items():
        assert centroids[pid].x == pytest.approx(x, abs=0.01) and centroids[pid].y == pytest.approx(y, abs=0.01)


def test_continuous_layers_are_exact_area_weighted_means(full: Path) -> None:
    parcels = parcels_of(full)
    # PV: weights 0.5, 1, 0.5 per pixel column and row (see pvout_yearly)
    for pid, expected in fx.PV_EXPECTED.items():
        assert parcels.loc[pid, "pv_yield_kwh_kwp"] == pytest.approx(expected, rel=1e-9)
    # productivity: a raster in degrees split at 15° E = x 500,000 m: west 2, east 4
    assert parcels["productivity_t_ha"].to_dict() == pytest.approx({1: 2.0, 2: 4.0, 3: 2.0, 4: 4.0})
    # SOC: parcel 1 has 4 nodata pixels of 16 (mean of the other 12 = 40); parcel 2: (8·30 + 8·60)/16 = 45
    assert parcels["soc_t_ha"].to_dict() == pytest.approx({1: 40.0, 2: 45.0, 3: 20.0, 4: 20.0})
    assert parcels["soc_t_ha_coverage"].to_dict() == pytest.approx({1: 0.75, 2: 1.0, 3: 1.0, 4: 1.0})
    assert parcels["pv_yield_kwh_kwp_coverage"].to_numpy() == pytest.approx(1.0)


def test_land_cover_majority_by_area_through_the_esa_cci_legend(full: Path) -> None:
    parcels = parcels_of(full)
    assert parcels["land_type"].to_dict() == {1: "cropland", 2: "shrubland", 3: "forest", 4: "bare"}
    # parcel 1: 12 × class 10, 4 × 130; parcel 2: 8 shrubland (120, 122), 5 grassland, 3 urban
    assert parcels.loc[1, "lc_share_cropland"] == pytest.approx(0.75)
    assert parcels.loc[1, "lc_share_grassland"] == pytest.approx(0.25)
    assert parcels.loc[2, ["lc_share_shrubland", "lc_share_grassland", "lc_share_artificial"]].tolist() == \
        pytest.approx([8 / 16, 5 / 16, 3 / 16])
    # parcel 3: half of it is class 0 (no data in the ESA legend): shares over the rest, coverage 0.5
    assert parcels.loc[3, "lc_share_forest"] == pytest.approx(1.0)
    assert parcels.loc[3, "land_type_coverage"] == pytest.approx(0.5)
    # permanent snow (220) counts as bare, as in the UNCCD/Trends.Earth nesting
    assert parcels.loc[4, "lc_share_bare"] == pytest.approx(1.0)
    shares = parcels[[f"lc_share_{t}" for t in LAND_TYPES]].to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)


def test_degradation_majority_with_ties_towards_degraded(full: Path) -> None:
    parcels = parcels_of(full)
    # 1: 10 of 16 degraded; 2: tie of 1 and 0 → 0; 3: tie of −1 and 1 over its half with data → −1; 4: all 1
    assert parcels["degradation"].to_dict() == {1: -1, 2: 0, 3: -1, 4: 1}
    assert parcels["degraded_share"].to_dict() == pytest.approx({1: 0.625, 2: 0.0, 3: 0.5, 4: 0.0})
    assert parcels.loc[3, "degradation_coverage"] == pytest.approx(0.5)


def test_slope_from_a_projected_dem(full: Path) -> None:
    # plane with gradients 0.05 and 0.1: slope = atan(√(0.05² + 0.1²))
    expected = math.degrees(math.atan(math.hypot(0.05, 0.1)))
    assert parcels_of(full)["slope_deg"].to_numpy() == pytest.approx(expected, rel=1e-6)


def test_protected_when_mostly_inside_the_union_of_polygons(full: Path) -> None:
    parcels = parcels_of(full)
    # parcel 1: 600 m of 1000 m inside (two overlapping polygons count once); parcel 2: 400 m;
    # parcel 3's polygon is 'Proposed' and filtered out by --protected-where
    assert parcels["protected_share"].to_dict() == pytest.approx({1: 0.6, 2: 0.4, 3: 0.0, 4: 0.0})
    assert parcels["protected"].to_dict() == {1: True, 2: False, 3: False, 4: False}


def test_grid_km_from_parcel_centroids(full: Path) -> None:
    # the line runs 1 km north of the AOI, at y = Y0 + 3 km; centroids at Y0 + 1.5 km and Y0 + 0.5 km
    assert parcels_of(full)["grid_km"].to_dict() == pytest.approx({1: 1.5, 2: 1.5, 3: 2.5, 4: 2.5}, abs=1e-3)


def test_communities_from_settlements(full: Path) -> None:
    parcels = parcels_of(full)
    # A sits on parcel 1's centroid; parcel 2 is 1,000 m from A and 1,005 m from B; parcel 4 is 100 m from B
    assert parcels["community_id"].to_dict() == {1: "A", 2: "A", 3: "A", 4: "B"}
    communities = gpd.read_file(full, layer="communities", engine="pyogrio").set_index("community_id")
    # A: 1000 × (1 − 0.2) / 5 = 160, plus C (no parcel of its own, joins A): 100 × 1 / 5 = 20
    # B: 500 × (1 − 0.5) / 5 = 50; D is 20 km away, beyond the 3 km reach
    assert communities["unserved_households"].to_dict() == pytest.approx({"A": 180.0, "B": 50.0})
    assert communities["settlements"].to_dict() == {"A": 2, "B": 1}
    assert communities["household_kwh_yr"].isna().all()


def test_output_is_a_valid_region(full: Path) -> None:
    region, problems = check_region(full)
    assert region is not None, [p.message for p in problems]
    assert not [p for p in problems if p.severity == "error"]
    assert region.n_parcels == 4 and region.n_communities == 2
    # UTM's scale factor 0.9996 makes a 1 km grid square 100 / 0.9996² = 100.08 ha on the ground
    np.testing.assert_allclose(region.area_ha, 100 / 0.9996**2, rtol=1e-4)
    assert list(region.community) == [0, 0, 0, 1]
    sources = pyogrio.read_dataframe(full, layer="prepare_sources")
    assert {"pvout", "soc", "land-cover", "dem", "protected", "grid_km", "communities"} <= set(sources["input"])


def test_nodata_on_an_internal_mask_and_stored_scale_are_honoured(inputs: dict[str, Path], tmp_path: Path) -> None:
    # SOC stored as tenths (scale 0.1 in the metadata); the west half of parcel 1 masked out by a mask band
    data = np.full((8, 8), 300, dtype=np.int16)
    data[0:4, 0:2] = 900
    mask = np.ones((8, 8), dtype=bool)
    mask[0:4, 0:2] = False
    soc = fx.write_raster(tmp_path / "soc_masked.tif", data, fx.UTM, fx.X0, fx.Y0 + fx.SIDE_M, 250.0,
                          dtype="int16", mask=mask, scale=0.1)
    out = tmp_path / "r.gpkg"
    result = run(*base_args(inputs, out, soc=soc))
    assert result.exit_code == 0, result.output
    parcels = parcels_of(out)
    assert parcels["soc_t_ha"].to_numpy() == pytest.approx(30.0)  # 300 × 0.1, the 900s masked
    assert parcels.loc[1, "soc_t_ha_coverage"] == pytest.approx(0.5)


def test_custom_legend_csv(inputs: dict[str, Path], tmp_path: Path) -> None:
    legend = tmp_path / "legend.csv"
    table = pd.DataFrame([(v, t or "", label) for v, label, t in ESA_CCI_LEGEND if v not in (10, 130)]
                         + [(10, "grassland", "remapped"), (130, "nodata", "remapped")],
                         columns=["value", "land_type", "label"])
    table.to_csv(legend, index=False)
    out = tmp_path / "r.gpkg"
    result = run(*base_args(inputs, out, land_cover_legend=legend))
    assert result.exit_code == 0, result.output
    parcels = parcels_of(out)
    # parcel 1: class 10 now grassland, class 130 no data → all grassland over 12 of 16 pixels
    assert parcels.loc[1, "land_type"] == "grassland"
    assert parcels.loc[1, "land_type_coverage"] == pytest.approx(0.75)
    # parcel 2: 8 shrubland of 11 pixels with a class (5 × 130 are no data now)
    assert parcels.loc[2, "lc_share_shrubland"] == pytest.approx(8 / 11)


def test_pvout_daily_totals_times_365(inputs: dict[str, Path], tmp_path: Path) -> None:
    daily = fx.write_raster(tmp_path / "pv_daily.tif", np.full((3, 3), 4.5), fx.UTM, fx.X0 - 500,
                            fx.Y0 + fx.SIDE_M + 500, 1000.0, dtype="float32")
    out = tmp_path / "r.gpkg"
    result = run(*base_args(inputs, out, pvout=daily, pvout_unit="daily"))
    assert result.exit_code == 0, result.output
    assert parcels_of(out)["pv_yield_kwh_kwp"].to_numpy() == pytest.approx(4.5 * 365)
    result = run(*base_args(inputs, tmp_path / "r2.gpkg", pvout=daily))
    assert result.exit_code == 2
    assert "looks like daily totals" in result.output and "--pvout-unit daily" in result.output


def test_soc_scale_converts_a_concentration(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.gpkg"
    # SoilGrids 'soc' in dg/kg with bulk density 1.3 g/cm³ over 30 cm: 0.01 × 1.3 × 30 = 0.39
    result = run(*base_args(inputs, out, soc_scale=0.39))
    assert result.exit_code == 0, result.output
    assert parcels_of(out)["soc_t_ha"].to_dict() == pytest.approx({1: 15.6, 2: 17.55, 3: 7.8, 4: 7.8})


def test_slope_from_a_dem_in_degrees(inputs: dict[str, Path], tmp_path: Path) -> None:
    # z rises 9,723 m per degree of latitude; a degree of latitude near 45° N is 111,132 m → slope ≈ 5°
    dem = fx.dem_plane_degrees(tmp_path / "dem_deg.tif", 9_723.0)
    out = tmp_path / "r.gpkg"
    result = run(*base_args(inputs, out, dem=dem))
    assert result.exit_code == 0, result.output
    expected = math.degrees(math.atan(9_723.0 / 111_132.0))
    assert parcels_of(out)["slope_deg"].to_numpy() == pytest.approx(expected, abs=0.05)


def test_slope_raster_in_percent_is_refused(inputs: dict[str, Path], tmp_path: Path) -> None:
    slope = fx.write_raster(tmp_path / "slope_pct.tif", np.full((3, 3), 120.0), fx.UTM, fx.X0 - 500,
                            fx.Y0 + fx.SIDE_M + 500, 1000.0, dtype="float32")
    result = run(*base_args(inputs, tmp_path / "r.gpkg", slope=slope))
    assert result.exit_code == 2
    assert "slope_deg outside 0–90" in result.output and "atan(percent / 100)" in result.output


# --------------------------------------------------------------------------- partial coverage


def test_raster_not_covering_part_of_the_aoi_names_the_parcels(inputs: dict[str, Path], tmp_path: Path) -> None:
    west_only = fx.productivity_degrees(tmp_path / "prod_west.tif", east=-1.0, nodata=-1.0)
    out = tmp_path / "r.gpkg"
    result = run(*base_args(inputs, out, productivity=west_only))
    assert result.exit_code == 2
    message = result.output
    assert "prod_west.tif" in message and "no data for 2 of 4 parcel(s)" in message
    assert "(rows: P0000002, P0000004)" in message and "--allow-missing" in message
    assert "Traceback" not in message and not out.exists()

    result = run(*base_args(inputs, out, productivity=west_only, allow_missing=True))
    assert result.exit_code == 0, result.output
    assert list(parcels_of(out).index) == [1, 3]
    assert "2 parcel(s) without PV yield, productivity, SOC or land cover data are left out" in result.output


def test_optional_layer_gaps_get_the_default_with_allow_missing(inputs: dict[str, Path], tmp_path: Path) -> None:
    dem = fx.dem_plane_degrees(tmp_path / "dem_deg.tif", 9_723.0, nodata_east_of=15.0)
    out = tmp_path / "r.gpkg"
    result = run(*base_args(inputs, out, dem=dem))
    assert result.exit_code == 2 and "no data for 2 of 4 parcel(s)" in result.output
    result = run(*base_args(inputs, out, dem=dem, allow_missing=True))
    assert result.exit_code == 0, result.output
    parcels = parcels_of(out)
    assert parcels.loc[[2, 4], "slope_deg"].tolist() == [0.0, 0.0]
    assert parcels.loc[[2, 4], "slope_deg_coverage"].tolist() == [0.0, 0.0]
    assert parcels.loc[1, "slope_deg"] == pytest.approx(5.0, abs=0.05)
    # Horn's window needs both neighbours, so the pixels along 15° E have no slope: a little under 1
    assert 0.9 < parcels.loc[1, "slope_deg_coverage"] <= 1.0


def test_raster_beside_the_aoi_is_refused(inputs: dict[str, Path], tmp_path: Path) -> None:
    far = fx.write_raster(tmp_path / "far.tif", np.full((2, 2), 3.0), fx.LONLAT, 30.0, 10.0, 0.5)
    result = run(*base_args(inputs, tmp_path / "r.gpkg", productivity=far))
    assert result.exit_code == 2
    assert "far.tif" in result.output and "does not overlap the area of interest" in result.output


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("override", "expected"), [
    ({"soc": "missing.tif"}, "missing.tif: no such file. Fix: check the path given to --soc"),
    ({"land_cover_legend": "missing.csv"}, "no such file. Fix: check the path given to --land-cover-legend"),
    ({"dem": "DEM", "slope": "SLOPE"}, "give --dem or --slope, not both"),
    ({"household_size": 5}, "--household-size need --settlements"),
    ({"settlements": "SETTLEMENTS", "population_field": "pop"}, "--settlements also needs --electrified-field, "
                                                               "--household-size, --reach-km"),
    ({"cell_ha": -1}, "--cell-ha must be a positive number"),
])
def test_usage_and_missing_files(inputs: dict[str, Path], tmp_path: Path, override: dict[str, object],
                                 expected: str) -> None:
    names = {"DEM": inputs["dem"], "SLOPE": inputs["dem"], "SETTLEMENTS": inputs["settlements"]}
    override = {k: names.get(str(v), tmp_path / str(v) if str(v).startswith("missing") else v)
                for k, v in override.items()}
    out = tmp_path / "r.gpkg"
    result = run(*base_args(inputs, out, **override))
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert result.output.count("error:") == 1 and not out.exists()


def test_output_must_be_a_geopackage(inputs: dict[str, Path], tmp_path: Path) -> None:
    result = run(*base_args(inputs, tmp_path / "r.shp"))
    assert result.exit_code == 2 and "must end in .gpkg" in result.output


def test_failure_leaves_an_existing_output_untouched(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.gpkg"
    out.write_bytes(b"previous plan")
    result = run(*base_args(inputs, out, productivity=fx.productivity_degrees(tmp_path / "p.tif", east=-1.0,
                                                                             nodata=-1.0)))
    assert result.exit_code == 2
    assert out.read_bytes() == b"previous plan"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.tif", "r.gpkg"]


@pytest.mark.parametrize(("text", "expected"), [
    ("class,type\n10,cropland\n", "lacks column(s) value, land_type"),
    ("value,land_type\n10,cropland\n20,farmland\n", "not LDN land types ('farmland') (rows: 3)"),
    ("value,land_type\n10,cropland\n10,grassland\n", "lists a class code more than once (rows: 2, 3)"),
    ("value,land_type\nten,cropland\n", "not integer class codes (rows: 2)"),
    ("value,land_type\n", "has no rows"),
])
def test_bad_legend_csv(tmp_path: Path, text: str, expected: str) -> None:
    legend = tmp_path / "legend.csv"
    legend.write_text(text)
    with pytest.raises(InputError, match=None) as caught:
        read_legend(str(legend))
    assert expected in str(caught.value) and str(legend) in str(caught.value)


def test_land_cover_class_missing_from_the_legend(inputs: dict[str, Path], tmp_path: Path) -> None:
    legend = tmp_path / "legend.csv"
    legend.write_text("value,land_type\n10,cropland\n130,grassland\n")
    result = run(*base_args(inputs, tmp_path / "r.gpkg", land_cover_legend=legend))
    assert result.exit_code == 2
    assert "legend.csv legend does not know: 0, 60, 120, 122, 190, 200, 220" in result.output
    assert "--land-cover-legend TABLE.csv" in result.output


def test_degradation_values_other_than_status_are_refused(inputs: dict[str, Path], tmp_path: Path) -> None:
    sdg = fx.write_raster(tmp_path / "sdg.tif", np.full((8, 8), 7, dtype=np.int16), fx.UTM, fx.X0,
                          fx.Y0 + fx.SIDE_M, 250.0)
    result = run(*base_args(inputs, tmp_path / "r.gpkg", degradation=sdg))
    assert result.exit_code == 2
    assert "does not know: 7" in result.output and "gdal_edit.py -a_nodata" in result.output


def test_aoi_without_crs(inputs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        aoi = fx.write_vector(tmp_path / "aoi_nocrs.gpkg", [shapely.box(0, 0, 1000, 1000)], None)
    args = base_args(inputs, tmp_path / "r.gpkg")
    args[1] = aoi
    result = run(*args)
    assert result.exit_code == 2
    assert "aoi_nocrs.gpkg" in result.output and "has no coordinate reference system" in result.output


def test_aoi_with_several_layers_needs_one_named(inputs: dict[str, Path], tmp_path: Path) -> None:
    aoi = fx.aoi_square(tmp_path / "two.gpkg")
    fx.write_vector(aoi, [shapely.Point(0, 0)], fx.UTM, layer="other")
    args = base_args(inputs, tmp_path / "r.gpkg")
    args[1] = aoi
    result = run(*args)
    assert result.exit_code == 2 and "has 2 layers" in result.output and "--aoi-layer" in result.output
    result = run(*args, "--aoi-layer", "data")
    assert result.exit_code == 0, result.output


def test_multiband_raster(inputs: dict[str, Path], tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import Affine

    path = tmp_path / "rgb.tif"
    with rasterio.open(path, "w", driver="GTiff", width=2, height=2, count=3, dtype="float32", crs=fx.UTM,
                       transform=Affine(1000.0, 0.0, fx.X0, 0.0, -1000.0, fx.Y0 + 2000)) as dst:
        dst.write(np.ones((3, 2, 2), dtype=np.float32))
    result = run(*base_args(inputs, tmp_path / "r.gpkg", pvout=path))
    assert result.exit_code == 2 and "has 3 bands" in result.output and "gdal_translate -b" in result.output


def test_bad_protected_filter_and_non_polygons(inputs: dict[str, Path], tmp_path: Path) -> None:
    result = run(*base_args(inputs, tmp_path / "r.gpkg", protected=inputs["protected"],
                            protected_where="NO_SUCH_COLUMN = 1"))
    assert result.exit_code == 2
    assert "wdpa.gpkg" in result.output and "cannot be filtered with 'NO_SUCH_COLUMN = 1'" in result.output
    points = fx.write_vector(tmp_path / "wdpa_points.gpkg", [shapely.Point(fx.X0 + 10, fx.Y0 + 10)], fx.UTM)
    result = run(*base_args(inputs, tmp_path / "r.gpkg", protected=points))
    assert result.exit_code == 2 and "1 feature(s) that are not polygons" in result.output


def test_electrified_share_in_percent_is_refused(inputs: dict[str, Path], tmp_path: Path) -> None:
    villages = fx.write_vector(tmp_path / "v.gpkg", [shapely.Point(499_500, 5_001_500)], fx.UTM, pop=[100],
                               elec=[40.0])
    result = run(*base_args(inputs, tmp_path / "r.gpkg", settlements=villages, population_field="pop",
                            electrified_field="elec", household_size=5, reach_km=3))
    assert result.exit_code == 2
    assert "column 'elec'" in result.output and "divide percentages by 100" in result.output


def test_reach_leaves_far_parcels_without_community(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.gpkg"
    result = run(*base_args(inputs, out, settlements=inputs["settlements"], population_field="pop",
                            electrified_field="elec", household_size=5, reach_km=0.5, json=True))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["parcels"] == 4 and summary["communities"] == 2
    ids = parcels_of(out)["community_id"]
    # feature ids as community ids: A is S1, B is S2; parcels 2 and 3 are 1 km from every settlement
    assert ids[1] == "S1" and ids[4] == "S2" and ids[[2, 3]].isna().all()


# --------------------------------------------------------------------------- tiling


def test_hexagons_in_a_local_equal_area_crs(tmp_path: Path) -> None:
    # a 5 km circle near 45° N, stored in lon/lat; default CRS: Lambert equal-area on the AOI
    circle = shapely.Point(500_000, 5_000_000).buffer(5_000, quad_segs=64)
    aoi = fx.write_vector(tmp_path / "circle.gpkg", [circle], fx.UTM, to_crs=fx.LONLAT)
    frame = gpd.read_file(aoi)
    crs = tiling_crs(frame.geometry.iloc[0], frame.crs, None)
    assert crs.is_projected and "Lambert" in crs.name
    aoi_m = frame.to_crs(crs).geometry.iloc[0]
    parcels = tile_polygon(aoi_m, 100.0, "hex", 0.25)
    area_ha = equal_area_ha(gpd.GeoSeries(parcels, crs=crs))
    # the parcels cover the AOI exactly, without overlaps
    assert area_ha.sum() == pytest.approx(aoi_m.area / 1e4, rel=1e-6)
    assert shapely.union_all(parcels).symmetric_difference(aoi_m).area < 1e-3
    # whole hexagons are 100 ha in any equal-area CRS; no piece under a quarter cell is left alone
    whole = np.isclose(area_ha, 100.0, rtol=1e-6)
    assert whole.sum() >= 50
    assert area_ha.min() >= 25.0
    assert set(shapely.get_type_id(parcels).tolist()) <= {3, 6}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width_m=st.floats(300, 6_000), height_m=st.floats(300, 6_000), angle=st.floats(0, 90),
       cell_ha=st.sampled_from([10.0, 50.0, 100.0]), shape=st.sampled_from(["hex", "square"]),
       sliver=st.sampled_from([0.0, 0.25, 0.5]))
def test_tiling_covers_any_aoi_exactly(width_m: float, height_m: float, angle: float, cell_ha: float,
                                       shape: str, sliver: float) -> None:
    from shapely import affinity

    aoi = affinity.rotate(shapely.box(0, 0, width_m, height_m), angle, origin=(0, 0))
    aoi = affinity.translate(aoi, 12_345.6, 7_890.1)
    parcels = tile_polygon(aoi, cell_ha, shape, sliver)
    areas = shapely.area(parcels)
    assert areas.sum() == pytest.approx(aoi.area, rel=1e-9)
    assert shapely.union_all(parcels).symmetric_difference(aoi).area < 1e-6 * aoi.area
    assert areas.max() <= cell_ha * 1e4 * (1 + 6 * max(sliver, 1e-9)) + 1e-6
    # a small piece survives only when it touches no full-size parcel
    small = np.flatnonzero(areas < sliver * cell_ha * 1e4)
    big = np.flatnonzero(areas >= sliver * cell_ha * 1e4)
    for i in small:
        shared = shapely.length(shapely.intersection(shapely.boundary(parcels[i]), shapely.boundary(parcels[big])))
        assert not (shared > 1e-6).any()


def test_a_sliver_touching_a_parcel_only_at_a_corner_stays_a_parcel() -> None:
    cell = shapely.box(0, 0, 1_000, 1_000)  # one whole 100 ha square cell of the lattice
    corner = shapely.box(1_000, 1_000, 1_010, 1_010)  # 0.01 ha of the next cell, meeting it at one point
    parcels = tile_polygon(shapely.union_all([cell, corner]), 100.0, "square", 0.25)
    assert sorted(shapely.area(parcels).tolist()) == [100.0, 1_000_000.0]


def test_horn_slope_of_a_plane() -> None:
    y, x = np.mgrid[0:5, 0:5].astype(float)
    z = 3.0 * x * 30.0 - 2.0 * y * 20.0  # 3 m per 30 m pixel east, north-down rows rising 2 m per 20 m pixel
    slope = horn_slope_deg(z, 30.0, 20.0)
    assert slope.shape == (3, 3)
    np.testing.assert_allclose(slope, math.degrees(math.atan(math.hypot(3.0, 2.0))))
    z[2, 2] = np.nan
    assert np.isnan(horn_slope_deg(z, 30.0, 20.0)).sum() == 8  # every window that sees the hole


def test_api_returns_timings_and_notes(inputs: dict[str, Path]) -> None:
    options = PrepareOptions(aoi=str(inputs["aoi"]), cell_ha=100.0, shape="square", crs=fx.UTM,
                             pvout=str(inputs["pvout"]), productivity=str(inputs["productivity"]),
                             soc=str(inputs["soc"]), land_cover=str(inputs["land_cover"]))
    prepared = prepare_region(options)
    assert len(prepared.parcels) == 4 and prepared.communities is None
    assert {"tile", "pv_yield_kwh_kwp", "land_type"} <= set(prepared.timings_s)
    assert any("grid_km is 0.0 for every parcel" in note for note in prepared.notes)
    assert isinstance(prepared.sources, pd.DataFrame)


# --------------------------------------------------------------------------- prepare → solve → plan


def test_prepare_then_solve(inputs: dict[str, Path], tmp_path: Path) -> None:
    if "solve" not in cli.commands:
        pytest.skip("the solve command is not available")
    region_path = tmp_path / "region.gpkg"
    result = run(*base_args(inputs, region_path, dem=inputs["dem"], protected=inputs["protected"],
                            grid_lines=inputs["grid"], settlements=inputs["settlements"],
                            population_field="pop", electrified_field="elec", household_size=5, reach_km=3))
    assert result.exit_code == 0, result.output
    plan = tmp_path / "plan.gpkg"
    result = run("solve", region_path, "-o", plan)
    assert result.exit_code == 0, result.output
    layer = gpd.read_file(plan, layer="plan", engine="pyogrio")
    layer = layer.set_index(layer["parcel_id"].str[1:].astype(int).rename("parcel_id"))
    assert sorted(layer.index) == [1, 2, 3, 4]
    region = read_region(region_path)
    assert layer["area_ha"].sum() == pytest.approx(region.area_ha.sum(), rel=1e-6)
    # the prepared values travel into the plan unchanged
    assert layer["pv_yield_kwh_kwp"].to_dict() == pytest.approx(fx.PV_EXPECTED)
    assert layer["land_type"].to_dict() == {1: "cropland", 2: "shrubland", 3: "forest", 4: "bare"}


def test_a_prepared_region_with_degraded_settlements_solves_under_either_baseline(inputs: dict[str, Path],
                                                                                  tmp_path: Path) -> None:
    """Real status maps have degraded towns.  With a legend that reads the rainfed-cropland class as settlement,
    parcel 1 (degraded) becomes degraded artificial land, where no use but the current one is allowed: the
    region still solves under the default scenario and under ``ldn_baseline = persist`` (there with no food floor:
    restoring the degraded woodland of parcel 3 costs harvest), with the settlement's balance reported and its
    land type left out of the constraint."""

    legend = tmp_path / "legend.csv"
    rows = ["value,land_type"] + [f"{value},{'artificial' if value == 10 else (land or 'nodata')}"
                                  for value, _, land in ESA_CCI_LEGEND]
    legend.write_text("\n".join(rows) + "\n", encoding="utf-8")
    region_path = tmp_path / "region.gpkg"
    result = run(*base_args(inputs, region_path, land_cover_legend=legend, degradation=inputs["degradation"]))
    assert result.exit_code == 0, result.output
    region = read_region(region_path)
    artificial = region.land_type == LAND_TYPES.index("artificial")
    assert artificial.any() and (region.degradation[artificial] == -1).all()
    for baseline, food_floor in (("stable", 0.95), ("persist", 0.0)):
        plan = tmp_path / f"plan_{baseline}.gpkg"
        result = run("solve", region_path, "-o", plan, "--set", f"ldn_baseline={baseline}",
                     "--set", f"food_floor={food_floor}")
        assert result.exit_code == 0, result.output
        assert "'artificial' is left out of the LDN constraint" in result.output
        balance = pyogrio.read_dataframe(plan, layer="ldn_balance", read_geometry=False)
        row = balance[(balance["land_type"] == "artificial") & balance["held_to"].astype(bool)].iloc[0]
        assert not row["in_constraint"]
        expected = -region.area_ha[artificial].sum() if baseline == "persist" else 0.0
        assert row["net_ha"] == pytest.approx(expected, rel=1e-9)
