"""What a GeoPackage holds, read from its own tables with sqlite3 before GDAL opens a layer.

GDAL lists only what it can read and says little about the rest: an empty
GeoPackage or one with only tiles is "not recognized", a view that the
GeoPackage does not register is a layer without geometry, and an undefined
SRS (``srs_id`` 0 or −1) reads as a made-up CRS.  :func:`read_contents`
reads ``gpkg_contents``, ``gpkg_geometry_columns``, ``gpkg_spatial_ref_sys``
and ``gpkg_extensions`` directly, so that each of these cases gets its own
message; :func:`geometry_survey` counts the geometry types stored in a
layer's blobs, and :func:`undecodable_text` finds text that is not UTF-8.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dualuse.errors import InputError

#: Declared geometry types that may hold polygons.
POLYGONAL_TYPES = frozenset({"POLYGON", "MULTIPOLYGON", "CURVEPOLYGON", "MULTISURFACE", "SURFACE", "GEOMETRY",
                             "GEOMETRYCOLLECTION"})
#: Declared geometry types with arcs, which GDAL linearises on a row-by-row read only.
CURVED_TYPES = frozenset({"CIRCULARSTRING", "COMPOUNDCURVE", "CURVEPOLYGON", "MULTICURVE", "MULTISURFACE",
                          "CURVE", "SURFACE"})
#: ISO WKB type codes (modulo 1000) of the curved geometry types, with their names.
CURVED_WKB = {8: "CircularString", 9: "CompoundCurve", 10: "CurvePolygon", 11: "MultiCurve", 12: "MultiSurface",
              13: "Curve", 14: "Surface"}
_TYPE_NAMES = {t.upper(): t for t in (
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "Geometry",
    "GeometryCollection", "CircularString", "CompoundCurve", "CurvePolygon", "MultiCurve", "MultiSurface", "Curve",
    "Surface")}
_KIND_NAMES = {"features": "features", "attributes": "attribute table", "tiles": "tiles (raster)",
               "2d-gridded-coverage": "gridded coverage (raster)", "view": "view, not registered",
               "table": "table, not registered"}


@dataclass(frozen=True)
class LayerEntry:
    """One layer or table of a GeoPackage, as its own tables describe it.

    Attributes
    ----------
    kind : "features", "attributes", "tiles", "2d-gridded-coverage", or "view" / "table" for an SQLite view or
        table that ``gpkg_contents`` does not register
    geometry_type : the declared geometry type, upper case ("" when there is none)
    srs_id : the geometry column's SRS id (None when there is none); 0 and −1 are "undefined"
    srs_defined : whether that SRS has a definition (not "undefined", and present in gpkg_spatial_ref_sys)
    """

    name: str
    kind: str
    is_view: bool = False
    geometry_column: str = ""
    geometry_type: str = ""
    srs_id: int | None = None
    srs_defined: bool = True
    curved_extension: bool = False

    @property
    def polygonal(self) -> bool:
        """A feature layer whose declared type may hold polygons."""
        return self.kind == "features" and self.geometry_type in POLYGONAL_TYPES

    @property
    def curved(self) -> bool:
        """Declared with a curved type, or registered with a curved-geometry extension."""
        return self.geometry_type in CURVED_TYPES or self.curved_extension

    def describe(self) -> str:
        """``'name' (Polygon features)``, ``'name' (tiles (raster))`` …"""
        kind = _KIND_NAMES.get(self.kind, self.kind)
        if self.kind == "features" and self.geometry_type:
            kind = f"{_TYPE_NAMES.get(self.geometry_type, self.geometry_type)} features"
        return f"'{self.name}' ({kind})"


@dataclass(frozen=True)
class GeoPackageContents:
    """Every layer and table of a GeoPackage, registered or not."""

    layers: tuple[LayerEntry, ...]

    def get(self, name: str) -> LayerEntry | None:
        """The layer of this name (GeoPackage table names ignore case), or None."""
        return next((e for e in self.layers if e.name.lower() == name.lower()), None)

    @property
    def polygon_layers(self) -> tuple[LayerEntry, ...]:
        return tuple(e for e in self.layers if e.polygonal)

    def listing(self) -> str:
        """Every layer with its kind, for a message: ``'a' (Polygon features), 'b' (tiles (raster))``."""
        return ", ".join(e.describe() for e in self.layers) or "none (the GeoPackage is empty)"


@contextlib.contextmanager
def _connect(path: str) -> Iterator[sqlite3.Connection]:
    """A read-only connection; a file that SQLite cannot open so (in WAL mode, in a read-only folder) is read as
    it stands on disk."""
    uri = Path(path).resolve().as_uri()
    con = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    try:
        con.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.OperationalError:
        con.close()
        con = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
    try:
        yield con
    finally:
        con.close()


def read_contents(path: str) -> GeoPackageContents:
    """The layers of the GeoPackage at ``path``.

    Raises
    ------
    InputError
        When the file is an SQLite database without GeoPackage tables, or cannot be read as one.
    """
    try:
        with _connect(path) as con:
            tables = {name.lower(): (name, kind) for name, kind in con.execute(
                "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')")}
            if "gpkg_contents" not in tables:
                raise InputError("is an SQLite database but not a GeoPackage (it has no gpkg_contents table)",
                                 path=path, fix="give a .gpkg file; convert other formats with "
                                                "`ogr2ogr -f GPKG region.gpkg input -nln parcels`")
            return GeoPackageContents(_registered(con, tables) + _unregistered(con, tables))
    except sqlite3.DatabaseError as exc:
        raise InputError(f"cannot be opened as a GeoPackage ({exc}); it may be truncated or corrupt", path=path,
                         fix="re-export the file from its source") from None


def _registered(con: sqlite3.Connection, tables: dict[str, tuple[str, str]]) -> tuple[LayerEntry, ...]:
    """The layers that ``gpkg_contents`` registers, with their geometry columns and SRS."""
    geometry: dict[str, tuple[str, str, int]] = {}
    if "gpkg_geometry_columns" in tables:
        for table, column, type_name, srs_id in con.execute(
                "SELECT table_name, column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns"):
            geometry[str(table).lower()] = (str(column), str(type_name).upper(), int(srs_id))
    defined = _defined_srs(con, tables)
    curved = _curved_extensions(con, tables)
    out = []
    for name, data_type in con.execute("SELECT table_name, data_type FROM gpkg_contents ORDER BY table_name"):
        name, key = str(name), str(name).lower()
        column, type_name, srs_id = geometry.get(key, ("", "", None))
        kind = str(data_type).lower()
        if kind == "features" and not column:
            kind = "attributes"  # a features entry without a geometry column is read as a table
        out.append(LayerEntry(name, kind, tables.get(key, ("", ""))[1] == "view", column, type_name, srs_id,
                              srs_id is None or srs_id in defined, key in curved))
    return tuple(out)


def _defined_srs(con: sqlite3.Connection, tables: dict[str, tuple[str, str]]) -> set[int]:
    """The SRS ids with a real definition (not the GeoPackage's "undefined" rows 0 and −1)."""
    if "gpkg_spatial_ref_sys" not in tables:
        return set()
    rows = con.execute("SELECT srs_id, organization, definition FROM gpkg_spatial_ref_sys").fetchall()
    return {int(srs_id) for srs_id, organization, definition in rows
            if int(srs_id) not in (0, -1) and str(definition or "").strip().lower() not in ("", "undefined")
            and str(organization or "").strip().upper() != "NONE"}


def _curved_extensions(con: sqlite3.Connection, tables: dict[str, tuple[str, str]]) -> set[str]:
    """Tables registered with a curved-geometry extension (``gpkg_geom_CURVEPOLYGON`` …)."""
    if "gpkg_extensions" not in tables:
        return set()
    names = tuple(f"gpkg_geom_{t}" for t in CURVED_TYPES)
    rows = con.execute(f"SELECT table_name FROM gpkg_extensions WHERE upper(extension_name) IN "
                       f"({', '.join('?' * len(names))})", [n.upper() for n in names]).fetchall()
    return {str(r[0]).lower() for r in rows if r[0] is not None}


def _unregistered(con: sqlite3.Connection, tables: dict[str, tuple[str, str]]) -> tuple[LayerEntry, ...]:
    """User tables and views that ``gpkg_contents`` does not register (GDAL reads them, if at all, as tables)."""
    registered = {str(r[0]).lower() for r in con.execute("SELECT table_name FROM gpkg_contents")}
    out = []
    for key, (name, kind) in sorted(tables.items()):
        internal = key.startswith(("gpkg_", "rtree_", "sqlite_")) or key in ("layer_styles", "ogr_empty_table")
        if not internal and key not in registered:
            out.append(LayerEntry(name, kind, kind == "view"))
    return tuple(out)


def geometry_survey(path: str, entry: LayerEntry) -> dict[str, int]:
    """How many rows of a layer store each curved geometry type, read from the blobs' WKB headers.

    Each GeoPackage geometry blob is a header of 8 bytes plus an envelope of
    0, 32, 48 or 64 bytes (flags bits 1–3), then the WKB, whose byte 0 is the
    byte order and bytes 1–4 the ISO type code.
    """
    table, column = entry.name.replace('"', '""'), entry.geometry_column.replace('"', '""')
    offset = (f"9 + CASE ((instr('0123456789ABCDEF', substr(hex(substr(\"{column}\", 4, 1)), 2, 1)) - 1) >> 1) & 7 "
              "WHEN 1 THEN 32 WHEN 2 THEN 48 WHEN 3 THEN 48 WHEN 4 THEN 64 ELSE 0 END")
    sql = (f'SELECT hex(substr("{column}", {offset}, 5)), count(*) FROM "{table}" '
           f'WHERE "{column}" IS NOT NULL GROUP BY 1')
    counts: dict[str, int] = {}
    with _connect(path) as con:
        for head, count in con.execute(sql):
            code = _wkb_type(str(head or ""))
            if code is not None and code % 1000 in CURVED_WKB:
                name = CURVED_WKB[code % 1000]
                counts[name] = counts.get(name, 0) + int(count)
    return counts


def _wkb_type(head: str) -> int | None:
    """The WKB type code from the hex of its first 5 bytes (byte order, then the type)."""
    if len(head) != 10 or head[:2] not in ("00", "01"):
        return None
    raw = bytes.fromhex(head[2:])
    return int.from_bytes(raw, "little" if head[:2] == "01" else "big") & 0x0FFFFFFF


def undecodable_text(path: str, entry: LayerEntry) -> dict[str, list[int]]:
    """The text columns of a layer that hold values which are not valid UTF-8, with the feature ids of those rows."""
    table = entry.name.replace('"', '""')
    found: dict[str, list[int]] = {}
    with _connect(path) as con:
        info = con.execute(f'PRAGMA table_info("{table}")').fetchall()
        key = next((str(r[1]) for r in info if r[5] == 1), "rowid")
        for _, column, declared, *_ in info:
            textual = not declared or any(t in str(declared).upper() for t in ("TEXT", "CHAR", "CLOB"))
            if not textual or str(column) in (entry.geometry_column, key):
                continue
            name = str(column).replace('"', '""')
            rows = con.execute(f'SELECT "{key}", CAST("{name}" AS BLOB) FROM "{table}" '
                               f'WHERE typeof("{name}") IN (\'text\', \'blob\')')
            bad = [int(fid) for fid, raw in rows if not _is_utf8(raw)]
            if bad:
                found[str(column)] = bad
    return found


def _is_utf8(raw: bytes | None) -> bool:
    try:
        (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
