"""A corpus of region GeoPackages that are unusual in form: one maker per kind of file, and what dualuse says.

Each maker writes one file into a folder and returns its path.  They are
made with pyogrio (GDAL) and finished with sqlite3 where GDAL will not write
the case: curved geometries are written by GDAL from hand-made ISO WKB (as
GDAL writes the OGC GeoPackage 1.2 conformance samples, with the
``gpkg_geom_CURVEPOLYGON`` extension) and then declared with their curved
type; views, tiles, undefined SRS ids and Latin-1 bytes are put in with SQL.
:data:`CORPUS` lists every file with the exit code and the words that
``dualuse validate`` and ``dualuse solve`` must answer with.
"""

from __future__ import annotations

import math
import sqlite3
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from helpers import parcel, square_parcels
from pyogrio import raw

CRS = "EPSG:32632"
ROWS = [parcel("cropland", productivity_t_ha=1.5, community_id="A"), parcel("grassland", productivity_t_ha=1.0),
        parcel("bare", community_id="B"), parcel("bare")]
COMMUNITIES = [{"community_id": "A", "unserved_households": 50}, {"community_id": "B", "unserved_households": 10}]
#: The radius of the circular parcels [m]: 100 ha each.
RADIUS_M = math.sqrt(1e6 / math.pi)


@dataclass(frozen=True)
class Case:
    """One file of the corpus: how to make it, the exit code, and words of the message (error or warning)."""

    name: str
    kind: str
    make: Callable[[Path], Path]
    exit_code: int
    words: tuple[str, ...]


# --------------------------------------------------------------------------- writing


def frame(rows: list[dict] | None = None, geometry: object = None, crs: str = CRS) -> gpd.GeoDataFrame:
    rows = [dict(r) for r in (rows or ROWS)]
    if geometry is None:
        geometry = square_parcels([100.0] * len(rows), crs=crs).to_numpy()
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=np.asarray(geometry, dtype=object), crs=crs)


def write(path: Path, parcels: gpd.GeoDataFrame, communities: list[dict] | None = COMMUNITIES,
          layer: str = "parcels", **options: object) -> Path:
    pyogrio.write_dataframe(parcels, path, layer=layer, driver="GPKG", **options)
    if communities:
        pyogrio.write_dataframe(pd.DataFrame(communities), path, layer="communities", driver="GPKG")
    return path


def _envelope(k: int) -> Callable[[bytes | None], float | None]:
    """The k-th value (min x, max x, min y, max y) of a GeoPackage blob's envelope, as GDAL's R-tree triggers ask."""
    def value(blob: bytes | None) -> float | None:
        if not blob or not (blob[3] >> 1) & 7:
            return None
        return struct.unpack_from("<d" if blob[3] & 1 else ">d", blob, 8 + 8 * k)[0]
    return value


@contextmanager
def sql(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a GeoPackage with the functions that GDAL's R-tree triggers call."""
    con = sqlite3.connect(path)
    con.create_function("ST_IsEmpty", 1, lambda blob: None if blob is None else int(bool(blob[3] & 0x10)))
    for k, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, _envelope(k))
    try:
        yield con
        con.commit()
    finally:
        con.close()


def declare_geometry(path: Path, layer: str, type_name: str) -> None:
    """Declare a layer's geometry column with another type, in gpkg_geometry_columns and the table's schema."""
    with sql(path) as con:
        con.execute("UPDATE gpkg_geometry_columns SET geometry_type_name = ? WHERE table_name = ?", (type_name, layer))
        con.execute("PRAGMA writable_schema = ON")
        con.execute("UPDATE sqlite_master SET sql = replace(sql, '\"geom\" GEOMETRY', ?) WHERE name = ?",
                    (f'"geom" {type_name}', layer))
        con.execute("PRAGMA writable_schema = OFF")


# --------------------------------------------------------------------------- ISO WKB, by hand


def _wkb(code: int, body: bytes) -> bytes:
    return struct.pack("<BI", 1, code) + body


def _points(points: list[tuple[float, float]]) -> bytes:
    return struct.pack("<I", len(points)) + b"".join(struct.pack("<dd", x, y) for x, y in points)


def _many(code: int, items: list[bytes]) -> bytes:
    return _wkb(code, struct.pack("<I", len(items)) + b"".join(items))


def circle_ring(cx: float, cy: float, r: float) -> bytes:
    """A COMPOUNDCURVE ring: two CIRCULARSTRING half circles."""
    upper = _wkb(8, _points([(cx - r, cy), (cx, cy + r), (cx + r, cy)]))
    lower = _wkb(8, _points([(cx + r, cy), (cx, cy - r), (cx - r, cy)]))
    return _many(9, [upper, lower])


def arched_square_ring(x0: float, y0: float, side: float) -> bytes:
    """A COMPOUNDCURVE ring: three straight sides and a semicircular top."""
    sides = _wkb(2, _points([(x0 + side, y0 + side), (x0 + side, y0), (x0, y0), (x0, y0 + side)]))
    arch = _wkb(8, _points([(x0, y0 + side), (x0 + side / 2, y0 + 1.5 * side), (x0 + side, y0 + side)]))
    return _many(9, [sides, arch])


def curve_polygon(ring: bytes) -> bytes:
    return _many(10, [ring])


def write_wkb(path: Path, wkb: list[bytes], rows: list[dict] | None = None, crs: str = CRS) -> Path:
    """Write WKB geometries (any type GDAL parses, curves included) with the rows' columns, then the communities."""
    table = pd.DataFrame(rows or ROWS[:len(wkb)])
    raw.write(path, geometry=np.array(wkb, dtype=object), field_data=[table[c].to_numpy() for c in table.columns],
              fields=list(table.columns), geometry_type="Unknown", crs=crs, driver="GPKG", layer="parcels")
    pyogrio.write_dataframe(pd.DataFrame(COMMUNITIES), path, layer="communities", driver="GPKG")
    return path


# --------------------------------------------------------------------------- 1–2: 3-D and curved geometries


def polygon_z(folder: Path) -> Path:
    return write(folder / "polygon_z.gpkg", frame(geometry=shapely.force_3d(frame().geometry.array, 350.0)))


def multipolygon_z(folder: Path) -> Path:
    parts = shapely.multipolygons([[p] for p in shapely.force_3d(frame().geometry.array, 12.5)])
    return write(folder / "multipolygon_z.gpkg", frame(geometry=parts))


def circles(n: int = 4) -> list[tuple[float, float]]:
    return [(400_000.0 + 2_000.0 * k, 1_500_000.0) for k in range(n)]


def curvepolygon(folder: Path) -> Path:
    path = folder / "curvepolygon.gpkg"
    wkb = [curve_polygon(circle_ring(x, y, RADIUS_M)) for x, y in circles(3)]
    wkb.append(curve_polygon(arched_square_ring(410_000.0, 1_500_000.0, 1_000.0)))
    write_wkb(path, wkb)
    declare_geometry(path, "parcels", "CURVEPOLYGON")
    return path


def polygon(ring: list[tuple[float, float]]) -> bytes:
    return _wkb(3, struct.pack("<I", 1) + _points(ring))


def multisurface(folder: Path) -> Path:
    """Each parcel a MULTISURFACE of a circle (CURVEPOLYGON) and a 25 ha square (POLYGON) beside it."""
    path = folder / "multisurface.gpkg"
    wkb = []
    for x, y in circles():
        square = polygon([(x + 600, y), (x + 1_100, y), (x + 1_100, y + 500), (x + 600, y + 500), (x + 600, y)])
        wkb.append(_many(12, [curve_polygon(circle_ring(x, y, RADIUS_M)), square]))
    write_wkb(path, wkb)
    declare_geometry(path, "parcels", "MULTISURFACE")
    return path


# --------------------------------------------------------------------------- 3: no polygon layer


def _move_parcels(path: Path, name: str = "parcels_src") -> None:
    with sql(path) as con:
        con.execute(f"ALTER TABLE parcels RENAME TO {name}")
        for table in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_ogr_contents"):
            con.execute(f"UPDATE {table} SET table_name = ? WHERE table_name = 'parcels'", (name,))
        con.execute("UPDATE gpkg_contents SET identifier = ? WHERE table_name = ?", (name, name))


def unregistered_view(folder: Path) -> Path:
    path = write(folder / "view.gpkg", frame(), SPATIAL_INDEX="NO")
    _move_parcels(path)
    with sql(path) as con:
        con.execute("CREATE VIEW parcels AS SELECT * FROM parcels_src")
    return path


def _register_view(path: Path, select: str) -> Path:
    _move_parcels(path)
    with sql(path) as con:
        con.execute(f"CREATE VIEW parcels AS SELECT {select} FROM parcels_src")
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                    "VALUES ('parcels', 'features', 'parcels', 32632)")
        con.execute("INSERT INTO gpkg_geometry_columns VALUES ('parcels', 'geom', 'POLYGON', 32632, 0, 0)")
    return path


def registered_view(folder: Path) -> Path:
    return _register_view(write(folder / "registered_view.gpkg", frame(), SPATIAL_INDEX="NO"), "*")


def view_without_fid(folder: Path) -> Path:
    columns = ", ".join(["geom", *ROWS[0]])
    return _register_view(write(folder / "view_no_fid.gpkg", frame(), SPATIAL_INDEX="NO"), columns)


def _drop_parcels(path: Path) -> None:
    with sql(path) as con:
        con.execute("DROP TABLE parcels")
        for table in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_ogr_contents"):
            con.execute(f"DELETE FROM {table} WHERE table_name = 'parcels'")


def empty_geopackage(folder: Path) -> Path:
    path = write(folder / "empty.gpkg", frame(), communities=None, SPATIAL_INDEX="NO")
    _drop_parcels(path)
    return path


def tiles_only(folder: Path) -> Path:
    path = empty_geopackage(folder)
    with sql(path) as con:
        con.execute("CREATE TABLE elevation (id INTEGER PRIMARY KEY AUTOINCREMENT, zoom_level INTEGER NOT NULL, "
                    "tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL, "
                    "UNIQUE (zoom_level, tile_column, tile_row))")
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id, min_x, min_y, max_x, max_y) "
                    "VALUES ('elevation', 'tiles', 'elevation', 32632, 400000, 1500000, 401000, 1501000)")
        con.execute("INSERT INTO gpkg_tile_matrix_set VALUES ('elevation', 32632, 400000, 1500000, 401000, 1501000)")
        con.execute("INSERT INTO gpkg_tile_matrix VALUES ('elevation', 0, 1, 1, 256, 256, 3.90625, 3.90625)")
    return path.rename(folder / "tiles.gpkg")


def tables_only(folder: Path) -> Path:
    path = folder / "tables.gpkg"
    pyogrio.write_dataframe(pd.DataFrame(ROWS), path, layer="parcel_table", driver="GPKG")
    pyogrio.write_dataframe(pd.DataFrame(COMMUNITIES), path, layer="communities", driver="GPKG")
    return path


def points_only(folder: Path) -> Path:
    points = gpd.GeoDataFrame(pd.DataFrame(ROWS), geometry=shapely.centroid(frame().geometry.array), crs=CRS)
    return write(folder / "points.gpkg", points, layer="villages")


# --------------------------------------------------------------------------- 4: text, SRS, names, sizes


def latin1_text(folder: Path, layer: str = "parcels") -> Path:
    rows = [dict(r, name="plain") for r in ROWS]
    communities = [dict(c, name="plain") for c in COMMUNITIES]
    path = write(folder / f"latin1_{layer}.gpkg", frame(rows), communities, SPATIAL_INDEX="NO")
    with sql(path) as con:  # "Bogotá" and "Côte" as Latin-1 bytes, stored as TEXT
        con.execute(f"UPDATE {layer} SET name = CAST(X'426F676F74E1' AS TEXT) WHERE fid = 2")
        con.execute(f"UPDATE {layer} SET name = CAST(X'43F474C3' AS TEXT) WHERE fid = 1")
    return path


def undefined_srs(srs_id: int) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = write(folder / f"srs_{srs_id}.gpkg", frame())
        with sql(path) as con:
            con.execute("UPDATE gpkg_geometry_columns SET srs_id = ? WHERE table_name = 'parcels'", (srs_id,))
            con.execute("UPDATE gpkg_contents SET srs_id = ? WHERE table_name = 'parcels'", (srs_id,))
        return path
    return make


def column_named_geom(folder: Path) -> Path:
    rows = [dict(r, geom="a field") for r in ROWS]
    return write(folder / "column_geom.gpkg", frame(rows), GEOMETRY_NAME="shape")


def column_named_fid(folder: Path) -> Path:
    rows = [dict(r, fid=f"F{k}") for k, r in enumerate(ROWS)]
    return write(folder / "column_fid.gpkg", frame(rows), layer_options={"FID": "objectid"})


def use_and_input_use(folder: Path) -> Path:
    rows = [dict(r, use="farm", input_use="pasture") for r in ROWS]
    return write(folder / "use_input_use.gpkg", frame(rows))


def names_differing_in_case(folder: Path) -> Path:
    rows = [dict(r, SLOPE_DEG=r.pop("slope_deg")) for r in (dict(r) for r in ROWS)]
    return write(folder / "case.gpkg", frame(rows))


def too_many_columns(folder: Path, extra: int = 1_980) -> Path:
    wide = pd.concat([frame(), pd.DataFrame(np.zeros((len(ROWS), extra)),
                                            columns=[f"band_{k:04d}" for k in range(extra)])], axis=1)
    return write(folder / "wide.gpkg", gpd.GeoDataFrame(wide, geometry="geometry", crs=CRS))


def continent_parcel(folder: Path) -> Path:
    geometry = [shapely.box(-20.0, -30.0, 40.0, 10.0), *shapely.box([50.0, 50.1, 50.2], 0.0, [50.05, 50.15, 50.25],
                                                                    0.05)]
    return write(folder / "continent.gpkg", frame(geometry=geometry, crs="EPSG:4326"))


def metres_under_degrees(folder: Path) -> Path:
    return write(folder / "metres_as_degrees.gpkg", frame().set_crs("EPSG:4326", allow_override=True))


# --------------------------------------------------------------------------- 5: overlaps


def overlapping(folder: Path) -> Path:
    geometry = frame().geometry.to_numpy().copy()
    geometry[1] = shapely.affinity.translate(geometry[1], xoff=-11.0)  # 1 m over its neighbour, 1,000 m long
    return write(folder / "overlap.gpkg", frame(geometry=geometry))


def duplicated(folder: Path) -> Path:
    geometry = frame().geometry.to_numpy().copy()
    geometry[3] = geometry[2]
    return write(folder / "duplicate.gpkg", frame(geometry=geometry))


# --------------------------------------------------------------------------- 6: where the parcels lie


def fiji(folder: Path, past_180: bool = False) -> Path:
    """Parcels around the antimeridian at 17°S; the second crosses it, wrapped (179.95, −179.95) or past 180."""
    west = shapely.box(179.80, -17.10, 179.90, -17.00)
    east = shapely.box(-179.90, -17.10, -179.80, -17.00)
    if past_180:
        crossing = shapely.box(179.95, -17.10, 180.05, -17.00)
    else:
        crossing = shapely.Polygon([(179.95, -17.10), (-179.95, -17.10), (-179.95, -17.00), (179.95, -17.00)])
    south = shapely.box(179.80, -17.30, 179.90, -17.20)
    name = "antimeridian_past_180.gpkg" if past_180 else "antimeridian_wrapped.gpkg"
    return write(folder / name, frame(geometry=[west, crossing, east, south], crs="EPSG:4326"))


def degrees_under_metres(folder: Path) -> Path:
    geometry = shapely.box([8.0, 8.01, 8.02, 8.03], 13.5, [8.009, 8.019, 8.029, 8.039], 13.509)
    return write(folder / "degrees_as_metres.gpkg", frame(geometry=geometry, crs=CRS))


def communities_elsewhere(folder: Path) -> Path:
    path = write(folder / "communities_4326.gpkg", frame(), communities=None)
    parcels = frame()
    centres = gpd.GeoSeries(shapely.centroid(parcels.geometry.array[[0, 2]]), crs=CRS).to_crs("EPSG:4326")
    points = gpd.GeoDataFrame(pd.DataFrame(COMMUNITIES), geometry=centres.to_numpy(), crs="EPSG:4326")
    pyogrio.write_dataframe(points, path, layer="communities", driver="GPKG")
    return path


# --------------------------------------------------------------------------- 7: blank values


def blank_optional_values(folder: Path) -> Path:
    rows = [dict(r) for r in ROWS]
    for row in rows:
        for column in ("slope_deg", "grid_km", "degradation", "protected"):
            row[column] = str(row[column])
    rows[1].update(slope_deg="", grid_km=" ", degradation="", protected="")
    communities = [dict(c, household_kwh_yr="800") for c in COMMUNITIES]
    communities[1]["household_kwh_yr"] = ""
    return write(folder / "blank.gpkg", frame(rows), communities)


CORPUS: tuple[Case, ...] = (
    Case("polygon z", "3-D", polygon_z, 0, ("3-D coordinates", "flattened to 2-D")),
    Case("multipolygon z", "3-D", multipolygon_z, 0, ("3-D coordinates", "flattened to 2-D")),
    Case("curvepolygon", "curved", curvepolygon, 0, ("curved edges", "CurvePolygon", "CONVERT_TO_LINEAR")),
    Case("multisurface", "curved", multisurface, 0, ("curved edges", "MultiSurface", "CONVERT_TO_LINEAR")),
    Case("unregistered view", "no polygon layer", unregistered_view, 2,
         ("view", "does not register", "polygon layers here: 'parcels_src'", "-sql")),
    Case("view without fid", "no polygon layer", view_without_fid, 2, ("view without a feature id",)),
    Case("registered view", "no polygon layer", registered_view, 0, ()),
    Case("empty geopackage", "no polygon layer", empty_geopackage, 2,
         ("no polygon layer here; these layers exist: none",)),
    Case("tiles only", "no polygon layer", tiles_only, 2,
         ("no polygon layer here; these layers exist: 'elevation' (tiles (raster))",)),
    Case("tables only", "no polygon layer", tables_only, 2, ("no polygon layer here; these layers exist:",
                                                            "'parcel_table' (attribute table)")),
    Case("points only", "no polygon layer", points_only, 2, ("no polygon layer here", "'villages' (Point features)")),
    Case("latin-1 parcels", "text", latin1_text, 2, ("not UTF-8", "name", "1, 2", "ENCODING=ISO-8859-1")),
    Case("latin-1 communities", "text", lambda f: latin1_text(f, "communities"), 2,
         ("communities", "not UTF-8", "name")),
    Case("srs_id 0", "SRS", undefined_srs(0), 2, ("undefined coordinate reference system", "srs_id 0", "-a_srs")),
    Case("srs_id -1", "SRS", undefined_srs(-1), 2, ("undefined coordinate reference system", "srs_id -1")),
    Case("column geom", "names", column_named_geom, 2, ("'geom'", "feature id and geometry")),
    Case("column fid", "names", column_named_fid, 2, ("'fid'", "feature id and geometry")),
    Case("use and input_use", "names", use_and_input_use, 2, ("collide", "'use → input_use' and 'input_use'")),
    Case("names differing in case", "names", names_differing_in_case, 2, ("collide", "'SLOPE_DEG' and 'slope_deg'")),
    Case("1,990 columns", "columns", too_many_columns, 2, ("columns", "at most 2,000", "-select")),
    Case("continent-sized parcel", "areas", continent_parcel, 2, ("larger than 1,000,000 ha", "wrong CRS")),
    Case("metres under degrees", "areas", metres_under_degrees, 2, ("CRS",)),
    Case("overlapping parcels", "overlaps", overlapping, 0, ("1 pair(s) of parcels overlap", "largest: 1 & 2 (0.1001 ha)")),
    Case("duplicate parcels", "overlaps", duplicated, 2, ("the same polygon twice", "overlap tolerance",
                                                          "overlap_tolerance")),
    Case("antimeridian wrapped", "where", fiji, 0, ()),
    Case("antimeridian past 180", "where", lambda f: fiji(f, past_180=True), 0, ()),
    Case("degrees under metres", "where", degrees_under_metres, 2, ("look like degrees", "-a_srs EPSG:4326")),
    Case("communities in EPSG:4326", "where", communities_elsewhere, 0, ()),
    Case("blank optional values", "blanks", blank_optional_values, 0, ("the default",)),
)
