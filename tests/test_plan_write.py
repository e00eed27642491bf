"""The plan GeoPackage written straight from Arrow holds what geopandas would write of the same frame.

The plan layer is assembled as an Arrow table (simple polygons' WKB from
their vertices) and the communities are placed at centroids computed from
the vertices; both are held here to their references: ``shapely.to_wkb``
and ``shapely.centroid`` bit for bit, ``GeoDataFrame.to_file`` of
:meth:`Plan.to_geodataframe` row for row, and the geopandas path of
:func:`write_plan` (without pyarrow) table for table.  The regions mix
polygon shapes on purpose: clockwise and anticlockwise rings of 4 to 40
vertices, holes, multipolygons, 3-D coordinates, text with nulls and
numbers with NaN.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import dualuse.export.gpkg as gpkg
from dualuse.export.gpkg import write_plan
from dualuse.export.plan_table import plan_table
from dualuse.export.polygons import centroids, polygon_wkb, simple, simple_vertices
from dualuse.inputs.scenario import load_scenario
from dualuse.run import solve_region
from helpers import parcel

CRS = "EPSG:32632"
ORIGIN = (400_000.0, 1_500_000.0)
CELL_M = 2_000.0


def _star(rng: np.random.Generator, centre: tuple[float, float], radius_m: float,
          clockwise: bool) -> shapely.Polygon:
    """A star-shaped ring of 4 to 40 vertices around ``centre``."""
    k = int(rng.integers(4, 41))
    angle = np.sort(rng.uniform(0.0, 2.0 * np.pi, k))
    r = rng.uniform(0.5, 1.0, k) * radius_m
    if clockwise:
        angle, r = angle[::-1], r[::-1]
    return shapely.Polygon(np.c_[centre[0] + r * np.cos(angle), centre[1] + r * np.sin(angle)])


def _shapes(kind: str, n: int, seed: int) -> list[shapely.Geometry]:
    """``n`` parcels on a grid of cells: simple stars, or (``awkward``) stars with holes, two-part
    multipolygons and plain stars, all with heights."""
    rng = np.random.default_rng(seed)
    shapes = []
    for i in range(n):
        centre = (ORIGIN[0] + CELL_M * (i % 6), ORIGIN[1] + CELL_M * (i // 6))
        star = _star(rng, centre, 800.0, clockwise=bool(i % 2))
        if kind == "awkward" and i % 3 == 1:
            star = star.difference(shapely.Point(centre).buffer(150.0, quad_segs=5))
        elif kind == "awkward" and i % 3 == 2:
            small = _star(rng, (centre[0] + 650.0, centre[1] + 650.0), 200.0, clockwise=False)
            star = shapely.MultiPolygon([_star(rng, centre, 500.0, clockwise=True), small])
        shapes.append(star)
    if kind == "awkward":
        shapes = list(shapely.force_3d(np.asarray(shapes, dtype=object), 12.5))
    return shapes


def _region(path: Path, kind: str, n: int = 18, seed: int = 3) -> Path:
    land = ["bare", "cropland", "grassland"]
    rows = [parcel(land[i % 3], parcel_id=f"p{i:02d}", productivity_t_ha=1.0 + i % 4,
                   grid_km=0.5 * (i % 5), community_id=f"c{i % 3}" if i % 4 else None,
                   note=None if i % 5 == 0 else f"note {i}", score=np.nan if i % 7 == 0 else float(i))
            for i in range(n)]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=_shapes(kind, n, seed), crs=CRS)
    frame["surveyed"] = pd.to_datetime([None if i % 6 == 0 else f"2024-0{1 + i % 9}-1{i % 10}" for i in range(n)])
    frame.to_file(path, layer="parcels", driver="GPKG", engine="pyogrio", promote_to_multi=False)
    communities = pd.DataFrame({"community_id": ["c0", "c1", "c2"], "unserved_households": [40.0, 25.0, 60.0]})
    pyogrio.write_dataframe(communities, path, layer="communities", driver="GPKG")
    return path


@pytest.fixture(scope="module", params=["simple", "awkward"])
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp(f"write-{request.param}")
    region = _region(folder / "region.gpkg", request.param)
    plan = solve_region(region, folder / "plan.gpkg", scenario=load_scenario(), explain=False)
    return request.param, plan, folder / "plan.gpkg"


def _rows(path: Path, table: str) -> tuple[list[tuple], list[tuple]]:
    """A table's declared columns (name, type) and its rows in fid order."""
    with sqlite3.connect(path) as con:
        columns = [(r[1], r[2]) for r in con.execute(f'PRAGMA table_info("{table}")')]
        rows = con.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
    return columns, rows


def _layer_meta(path: Path, table: str) -> tuple:
    with sqlite3.connect(path) as con:
        return (con.execute("SELECT geometry_type_name, srs_id, z, m FROM gpkg_geometry_columns WHERE "
                            "table_name = ?", (table,)).fetchone(),
                con.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?",
                            (table,)).fetchone())


def test_the_region_reads_as_the_kind_of_geometry_it_was_made_of(written) -> None:
    kind, plan, _ = written
    geometry = np.asarray(plan.region.parcels.geometry.array)
    assert simple(geometry).all() == (kind == "simple")
    assert plan.region.parcels["surveyed"].dtype.kind == "M"
    layer = plan_table(plan, simple_vertices(geometry))  # the file is written from Arrow, not through geopandas
    assert layer is not None and layer.geometry_type == ("Polygon" if kind == "simple" else "MultiPolygon")
    if kind == "awkward":
        assert set(shapely.get_type_id(geometry).tolist()) == {3, 6}  # polygons beside multipolygons
        assert (shapely.get_num_interior_rings(shapely.get_parts(geometry)) > 0).any()
        assert not shapely.has_z(geometry).any()  # flattened as read
        assert any("3-D coordinates" in w.message for w in plan.region.warnings)


def test_the_plan_layer_is_what_geopandas_writes_of_the_plan_frame(written, tmp_path: Path) -> None:
    """Geometry, attributes, field types, geometry type, CRS and extent as ``to_file`` writes them."""
    _, plan, path = written
    reference = tmp_path / "reference.gpkg"
    plan.to_geodataframe().to_file(reference, layer="plan", driver="GPKG", engine="pyogrio")
    assert _rows(path, "plan") == _rows(reference, "plan")
    assert _layer_meta(path, "plan") == _layer_meta(reference, "plan")
    read = gpd.read_file(path, layer="plan", engine="pyogrio")
    assert read.crs == plan.region.parcels.crs
    expected = np.asarray(plan.region.parcels.geometry.array).copy()
    if (shapely.get_type_id(expected) == 6).any():  # a layer of one type: lone polygons as multipolygons
        lone = shapely.get_type_id(expected) == 3
        expected[lone] = [shapely.MultiPolygon([g]) for g in expected[lone]]
    assert shapely.equals_exact(np.asarray(read.geometry.array), expected, tolerance=0).all()
    assert read["note"].isna().sum() == 4 and read["score"].isna().sum() == 3 and read["surveyed"].isna().sum() == 3


def test_the_file_is_the_same_without_pyarrow(written, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The geopandas path (no pyarrow) writes every layer and table as the Arrow path does."""
    _, plan, path = written
    monkeypatch.setattr(gpkg, "has_extra", lambda extra: False)
    slow = write_plan(plan, tmp_path / "slow.gpkg")
    for table in ("plan", "communities", "summary", "ldn_balance", "gpkg_data_columns"):
        assert _rows(path, table) == _rows(slow, table), table
    with sqlite3.connect(path) as fast_con, sqlite3.connect(slow) as slow_con:
        style = "SELECT f_table_name, f_geometry_column, styleName, styleQML FROM layer_styles ORDER BY 1"
        assert fast_con.execute(style).fetchall() == slow_con.execute(style).fetchall()


def test_communities_sit_at_the_area_weighted_centre_of_their_parcels(written) -> None:
    """Recomputed from the written plan layer with shapely's centroids."""
    _, plan, path = written
    parcels = gpd.read_file(path, layer="plan", engine="pyogrio")
    communities = gpd.read_file(path, layer="communities", engine="pyogrio").set_index("community_id")
    centre = shapely.centroid(parcels.geometry.array)
    frame = pd.DataFrame({"c": parcels["community_id"], "w": parcels["area_ha"],
                          "x": shapely.get_x(centre), "y": shapely.get_y(centre)}).dropna(subset=["c"])
    for community, group in frame.groupby("c"):
        point = communities.loc[community, "geometry"]
        assert point.x == pytest.approx(np.average(group["x"], weights=group["w"]), rel=1e-12)
        assert point.y == pytest.approx(np.average(group["y"], weights=group["w"]), rel=1e-12)


def _odd_geometries() -> np.ndarray:
    rng = np.random.default_rng(11)
    stars = [_star(rng, (rng.uniform(-1e6, 1e6), rng.uniform(0, 9e6)), rng.uniform(1.0, 5e3), bool(i % 2))
             for i in range(300)]
    degrees = [_star(rng, (rng.uniform(-170, 170), rng.uniform(-80, 80)), 0.01, bool(i % 2)) for i in range(50)]
    odd = [shapely.box(0, 0, 10, 10).difference(shapely.box(2, 2, 4, 4)),  # a hole
           shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(3, 3, 5, 4)]),
           shapely.Polygon([(0, 0, 1), (4, 0, 2), (4, 3, 3), (0, 0, 1)]),  # 3-D
           shapely.Polygon([(0, 0), (1, 1), (2, 2), (0, 0)]),  # no area: the centre of its length
           shapely.Polygon([(5, 5), (5, 5), (6, 5), (6, 6), (5, 5)]),  # a repeated vertex
           shapely.Polygon(), None]
    return np.array(stars + degrees + odd, dtype=object)


def test_vertex_wkb_is_shapelys_byte_for_byte() -> None:
    geometry = _odd_geometries()
    easy = simple(geometry)
    assert easy.sum() == 352  # the stars, the flat ring and the one with a repeated vertex
    assert simple_vertices(geometry) is None and simple_vertices(geometry[-2:-1]) is None  # an empty polygon
    buffer, offsets = polygon_wkb(simple_vertices(geometry[easy]))
    expected = shapely.to_wkb(geometry[easy])
    assert [bytes(buffer[offsets[i]:offsets[i + 1]]) for i in range(easy.sum())] == list(expected)


def test_vertex_centroids_are_shapelys_to_the_last_bit() -> None:
    geometry = _odd_geometries()
    x, y = centroids(geometry)
    points = shapely.centroid(geometry)
    points[shapely.is_empty(points)] = None
    np.testing.assert_array_equal(x, shapely.get_x(points))
    np.testing.assert_array_equal(y, shapely.get_y(points))
    assert np.isnan(x[-2:]).all()
