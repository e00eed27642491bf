"""Opening a region's layers with pyogrio: the parcel layer and the communities layer.

Before GDAL reads a layer, :func:`dualuse.inputs.geopackage.read_contents`
says what the file holds, so that a file with no polygon layer (empty, only
tiles, only tables), a view that the GeoPackage does not register, an
undefined SRS or text that is not UTF-8 each get their own message instead
of "truncated or corrupt".  Two kinds of geometry are read and changed, with
a warning: curved geometries (CurvePolygon, MultiSurface, CompoundCurve
rings) are linearised by GDAL on a row-by-row read, as ``ogr2ogr -nlt
CONVERT_TO_LINEAR`` does, and 3-D (Z or M) geometries are flattened to 2-D.
"""

from __future__ import annotations

import math
import os
import sqlite3
import warnings
from typing import Any, NoReturn

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from dualuse.errors import InputError, has_extra
from dualuse.inputs.geopackage import (
    GeoPackageContents,
    LayerEntry,
    geometry_survey,
    read_contents,
    undecodable_text,
)
from dualuse.inputs.schema import Problem, example_ids

#: GDAL's default arc step when it linearises a curve (``OGR_ARC_STEPSIZE``) [degrees of arc].
ARC_STEP_DEG = 4.0
#: The share of a circle's area lost when its arcs are replaced by chords every ARC_STEP_DEG.
CIRCLE_AREA_LOSS = 1.0 - math.sin(math.radians(ARC_STEP_DEG)) / math.radians(ARC_STEP_DEG)
LINEARISE_FIX = "ogr2ogr -nlt CONVERT_TO_LINEAR out.gpkg in.gpkg"


def open_parcels(path: str, layer: str, problems: list[Problem]) -> gpd.GeoDataFrame:
    """Read the parcel layer, turning every way a file can be unreadable into one InputError.

    Warnings for linearised curves and flattened 3-D geometries join ``problems``.
    """
    check_file(path)
    contents = read_contents(path)
    entry = _parcel_entry(path, contents, layer)
    _check_srs(path, entry)
    frame = _read_layer(path, entry, problems, layer)
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise InputError("has no geometry column: it is a table, not a polygon layer", path=path,
                         layer=layer, fix="give the layer of parcel polygons with --layer NAME")
    if len(frame) == 0:
        raise InputError("is empty: it has no parcels", path=path, layer=layer,
                         fix="give a layer with at least one parcel polygon")
    if frame.crs is None:
        raise InputError("has no coordinate reference system, so areas cannot be computed", path=path,
                         layer=layer, fix="assign the CRS the coordinates are in, e.g. "
                                          "`ogr2ogr -a_srs EPSG:32632 out.gpkg in.gpkg`")
    if entry.is_view and not frame.index.is_unique:
        raise InputError("is a view without a feature id column, so its parcels cannot be told apart",
                         path=path, layer=layer, fix="select the source table's fid in the view "
                         "(CREATE VIEW ... AS SELECT fid, ...), or save the view as a layer: "
                         f"`ogr2ogr -f GPKG out.gpkg in.gpkg -sql \"SELECT * FROM {entry.name}\" -nln parcels`")
    frame.index.name = "fid"
    return frame


def check_file(path: str) -> None:
    """Refuse a path that is missing, a folder, or not an SQLite file."""
    if not os.path.exists(path):
        raise InputError("no such file", path=path, fix="check the path")
    if os.path.isdir(path):
        raise InputError("is a folder, not a GeoPackage file", path=path, fix="name the .gpkg file")
    with open(path, "rb") as fh:
        head = fh.read(100)
    if not (len(head) == 100 and head.startswith(b"SQLite format 3\x00")):
        raise InputError("is not a GeoPackage (not an SQLite file with GeoPackage tables)", path=path,
                         fix="give a .gpkg file; convert other formats with "
                             "`ogr2ogr -f GPKG region.gpkg input.shp -nln parcels`")


def _parcel_entry(path: str, contents: GeoPackageContents, layer: str) -> LayerEntry:
    """The parcel layer's entry, or an InputError naming what the file holds instead."""
    entry = contents.get(layer)
    polygons = contents.polygon_layers
    elsewhere = (f"polygon layers here: {', '.join(e.describe() for e in polygons)}" if polygons else
                 f"no polygon layer here; these layers exist: {contents.listing()}")
    choose = "name the parcel layer with --layer NAME"
    add = ("add the parcels as a Polygon or MultiPolygon layer, e.g. "
           "`ogr2ogr -f GPKG -update -nln parcels region.gpkg parcels.shp`")
    if entry is None:
        if polygons:
            there = ", ".join(f"'{e.name}'" for e in contents.layers if e.kind != "view")
            raise InputError(f"has no layer '{layer}' (layers there: {there})", path=path, fix=choose)
        raise InputError(elsewhere, path=path, layer=layer, fix=add)
    if entry.kind == "view":
        raise InputError("is an SQLite view that the GeoPackage does not register as a feature layer (in "
                         f"gpkg_contents and gpkg_geometry_columns), so it has no geometry GDAL can read; {elsewhere}",
                         path=path, layer=layer, fix="save the view as a layer: `ogr2ogr -f GPKG out.gpkg in.gpkg "
                         f"-sql \"SELECT * FROM {entry.name}\" -nln parcels`, or " + (choose if polygons else add))
    if entry.kind in ("tiles", "2d-gridded-coverage"):
        raise InputError(f"is a raster layer ({entry.describe()}), not polygons; {elsewhere}", path=path,
                         layer=layer, fix=choose if polygons else add)
    if entry.kind != "features":
        suffix = f"; {elsewhere}" if not polygons else ""
        raise InputError(f"has no geometry column: it is a table, not a polygon layer{suffix}", path=path,
                         layer=layer, fix="give the layer of parcel polygons with --layer NAME" if polygons else add)
    return entry


def _check_srs(path: str, entry: LayerEntry) -> None:
    """Refuse a geometry column whose SRS is undefined (srs_id 0 or −1, or one with no definition)."""
    if entry.srs_defined:
        return
    meaning = {0: "the GeoPackage's 'undefined geographic SRS'", -1: "the GeoPackage's 'undefined Cartesian SRS'"}
    what = meaning.get(entry.srs_id or 0, "an SRS that gpkg_spatial_ref_sys does not define")
    raise InputError(f"has an undefined coordinate reference system (srs_id {entry.srs_id} in "
                     f"gpkg_geometry_columns: {what}), so areas cannot be computed", path=path, layer=entry.name,
                     fix="assign the CRS the coordinates are in, e.g. `ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg` "
                         "for longitudes and latitudes, or the EPSG code of the projection for metres")


def _read_layer(path: str, entry: LayerEntry, problems: list[Problem], label: str,
                read_geometry: bool = True) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a layer (curved ones row by row, so that GDAL linearises them), 3-D geometries flattened."""
    curved = entry.curved
    try:
        frame = _read(path, entry.name, arrow=not curved and has_extra("arrow"), read_geometry=read_geometry)
    except NotImplementedError:  # on the Arrow path, pyogrio and shapely refuse curved geometries they meet
        curved = True
        try:
            frame = _read(path, entry.name, arrow=False, read_geometry=read_geometry)
        except Exception as exc:  # pyogrio raises several classes for a broken file
            _refuse_unreadable(path, entry, exc, label)
    except Exception as exc:  # any other failure: the text, a broken view, or corruption
        _refuse_unreadable(path, entry, exc, label)
    _check_utf8(path, entry, frame, label)
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        if curved:
            _note_linearised(path, entry, len(frame), problems, label)
        frame = _flatten(frame, label, problems)
    return frame


def _read(path: str, name: str, *, arrow: bool, read_geometry: bool) -> gpd.GeoDataFrame | pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pyogrio.read_dataframe(path, layer=name, fid_as_index=True, use_arrow=arrow,
                                      read_geometry=read_geometry)


def _check_utf8(path: str, entry: LayerEntry, frame: pd.DataFrame, label: str) -> None:
    """Refuse text columns that Arrow holds without having checked them (their bytes are not UTF-8)."""
    if not has_extra("arrow"):  # read without Arrow: the text was decoded as it was read
        return
    import pyarrow as pa

    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_string_dtype(values) and hasattr(values.array, "__arrow_array__"):
            try:
                pa.array(values).validate(full=True)
            except (pa.ArrowInvalid, pa.ArrowException) as exc:
                _refuse_unreadable(path, entry, exc, label)


def _refuse_unreadable(path: str, entry: LayerEntry, exc: Exception, label: str) -> NoReturn:
    """The InputError for a layer GDAL could not read: text that is not UTF-8, a broken view, or corruption."""
    try:
        bad = undecodable_text(path, entry)
    except sqlite3.DatabaseError:
        bad = {}
    if bad:
        column, fids = next(iter(bad.items()))
        also = f" (and in {', '.join(repr(c) for c in list(bad)[1:])})" if len(bad) > 1 else ""
        raise InputError(f"{len(fids)} value(s) are text that is not UTF-8{also}, as a GeoPackage's text must be "
                         "(Latin-1 or another legacy encoding, e.g. from a shapefile without its .cpg)",
                         path=path, layer=label, column=column, ids=fids[:5], count=len(fids),
                         fix="re-export the layer from its source with the source's encoding declared (for a "
                             "shapefile: `ogr2ogr -f GPKG region.gpkg in.shp -oo ENCODING=ISO-8859-1`), or retype "
                             "these values") from None
    if entry.is_view:
        raise InputError(f"is a view that cannot be read ({short(exc)})", path=path, layer=label,
                         fix="check the view's SQL (the tables it selects from must exist), or save it as a "
                             "layer with `ogr2ogr -sql`") from None
    raise InputError(f"cannot be read ({short(exc)}); the file may be truncated or corrupt", path=path,
                     layer=label, fix="re-export the layer from its source") from None


def short(exc: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _note_linearised(path: str, entry: LayerEntry, n_rows: int, problems: list[Problem], label: str) -> None:
    try:
        kinds = geometry_survey(path, entry)
    except sqlite3.DatabaseError:
        kinds = {}
    count = sum(kinds.values()) or n_rows
    names = ", ".join(sorted(kinds)) or entry.geometry_type.title() or "curves"
    problems.append(Problem(
        "warning", label, "geometry",
        f"{count} geometries have curved edges ({names}); GDAL replaced every arc by straight segments every "
        f"{ARC_STEP_DEG:g}° of arc, as `ogr2ogr -nlt CONVERT_TO_LINEAR` does (a circle's area comes out "
        f"{CIRCLE_AREA_LOSS:.2%} smaller), and the plan holds the straight-edged polygons",
        f"nothing to do if that is close enough; to choose the approximation yourself: `{LINEARISE_FIX}` "
        "(finer arcs with --config OGR_ARC_STEPSIZE 1)", (), count))


def _flatten(frame: gpd.GeoDataFrame, label: str, problems: list[Problem]) -> gpd.GeoDataFrame:
    """3-D (Z) or measured (M) geometries flattened to 2-D, with a warning naming them."""
    geometry = frame.geometry.array
    present = ~shapely.is_missing(geometry)
    raised = present & (shapely.has_z(geometry) | shapely.has_m(geometry))
    if not raised.any():
        return frame
    problems.append(Problem(
        "warning", label, "geometry",
        f"{raised.sum()} geometries have 3-D coordinates (Z or M values); dualuse reads them flattened to 2-D: "
        "areas are measured on the map, the heights are dropped, and the plan is written in 2-D",
        "nothing to do if the heights are not needed; to store the layer in 2-D: `ogr2ogr -dim XY out.gpkg in.gpkg`",
        example_ids(frame, raised), int(raised.sum())))
    frame = frame.copy()
    frame[frame.geometry.name] = gpd.GeoSeries(shapely.force_2d(geometry), index=frame.index, crs=frame.crs)
    return frame


def read_communities(path: str, parcel_layer: str, parcel_crs: Any, layer: str,
                     problems: list[Problem]) -> pd.DataFrame | None:
    """The communities layer or table as read (points reprojected to the parcels' CRS); an empty frame when the
    file has none, None (with an error in ``problems``) when it cannot be read."""
    entry = read_contents(path).get(layer)
    if entry is None or entry.name.lower() == parcel_layer.lower():
        return pd.DataFrame()
    if entry.kind not in ("features", "attributes", "table"):
        problems.append(Problem("error", layer, "", f"is {entry.describe()}, not a table of communities",
                                "store the communities as a table or a point layer"))
        return None
    try:
        frame = _read_layer(path, entry, problems, layer, read_geometry=entry.kind == "features")
    except InputError as exc:
        problems.append(Problem("error", layer, exc.column or "", exc.problem, exc.fix or "", tuple(exc.ids),
                                exc.count))
        return None
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        frame = _in_parcel_crs(frame, entry, parcel_crs, layer, problems)
    return pd.DataFrame(frame).reset_index(drop=True)


def _in_parcel_crs(frame: gpd.GeoDataFrame, entry: LayerEntry, parcel_crs: Any, layer: str,
                   problems: list[Problem]) -> gpd.GeoDataFrame:
    """The communities' points in the parcels' CRS; dropped, with a warning, when their own CRS is unknown."""
    if not frame.geometry.notna().any():
        return frame
    if frame.crs is None or not entry.srs_defined:
        problems.append(Problem("warning", layer, "geometry",
                                "the communities' points have no defined CRS, so they are not used: the plan "
                                "places each community at the centre of its parcels",
                                "assign the points' CRS, e.g. `ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg communities`"))
        return frame.drop(columns=frame.geometry.name)
    if parcel_crs is not None and not frame.crs.equals(parcel_crs):
        frame = frame.to_crs(parcel_crs)
    return frame
