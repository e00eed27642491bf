"""The checks of a region's layers, each adding what it finds to a list of :class:`Problem`.

Per column, :mod:`dualuse.inputs.columns`: presence, type, finiteness, range
and allowed values, the clean typed values replacing the column.  Per parcel
geometry: missing, empty or not polygonal, coordinates that are not finite,
invalid polygons (repaired), areas that cannot be computed, slivers, a stored
area column that disagrees with the geometry, and areas that cannot be right
(coordinates in degrees under a CRS in metres, parcels the size of a
country); and values that are in range but probably in another unit.
:func:`dualuse.inputs.region.check_region` runs them all.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dualuse.inputs.columns import check_column, check_optional_number
from dualuse.inputs.convex import certainly_valid
from dualuse.inputs.outlines import Outlines, polygon_outlines
from dualuse.inputs.schema import (
    COMMUNITY_COLUMNS,
    PARCEL_COLUMNS,
    Problem,
    equal_area_ha,
    example_ids,
    measuring_geometry,
)

#: A parcel smaller than this is a sliver [ha] (100 m²).
SLIVER_HA = 0.01
#: A parcel whose Polsby–Popper compactness 4πA/P² is below this is a sliver: a strip about
#: π / 0.01 ≈ 300 times as long as it is wide.
SLIVER_COMPACTNESS = 0.01
#: A stored area that differs from the geometry's by more than this share is reported.
AREA_TOLERANCE = 0.05
#: Columns that may hold a stored area, and their factor to hectares.
STORED_AREA_COLUMNS: dict[str, float] = {"area_ha": 1.0, "area_m2": 1e-4, "area_km2": 100.0}
#: PV yields below this [kWh/kWp] look like daily totals (the world's lowest yearly PVOUT is about 700).
DAILY_PV_YIELD_KWH_KWP = 15.0
#: A parcel larger than this is refused as a likely CRS or unit error [ha] (10,000 km²).
MAX_PARCEL_HA = 1e6
#: A region larger than this is refused as a likely CRS or unit error [ha] (10 million km², Canada's size).
MAX_REGION_HA = 1e9
#: A projected layer whose coordinates all lie within ±180, ±90 and whose median parcel is smaller than this [ha]
#: holds degrees, not metres or feet.
DEGREE_SIZED_HA = 0.01

_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon
_GEOM_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 4: "MultiPoint", 5: "MultiLineString",
               7: "GeometryCollection"}


# --------------------------------------------------------------------------- the parcel layer


def check_parcels(frame: gpd.GeoDataFrame, layer: str, problems: list[Problem]) -> gpd.GeoDataFrame:
    """Check geometry and every schema column; return the frame with clean, typed columns."""
    return checked_parcels(frame, layer, problems)[0]


def checked_parcels(frame: gpd.GeoDataFrame, layer: str,
                    problems: list[Problem]) -> tuple[gpd.GeoDataFrame, Outlines | None]:
    """:func:`check_parcels`, and the rings of the checked frame's geometries when every one is a polygon or
    multipolygon and none was repaired (else None)."""
    frame = frame.copy()
    _check_parcel_ids(frame, layer, problems)
    _check_geometry_kinds(frame, layer, problems)
    frame, outlines = _checked_geometry(frame, layer, problems)
    for column in PARCEL_COLUMNS:
        if column.name == "parcel_id":
            continue
        check_column(frame, column, layer, problems)
    return frame, outlines


def _check_parcel_ids(frame: gpd.GeoDataFrame, layer: str, problems: list[Problem]) -> None:
    """Ids that are missing or used twice; the feature ids become ``parcel_id`` when there is none."""
    if "parcel_id" not in frame.columns:
        frame["parcel_id"] = frame.index.to_numpy()
        return
    ids = frame["parcel_id"]
    null = ids.isna().to_numpy()
    if null.any():
        problems.append(Problem("error", layer, "parcel_id", f"{null.sum()} parcel(s) have no id",
                                "give every parcel an id, or drop the column to use feature ids",
                                tuple(frame.index[null][:5]), int(null.sum())))
    dup = ids.duplicated(keep=False).to_numpy() & ~null
    if dup.any():
        problems.append(Problem("error", layer, "parcel_id",
                                f"{ids[dup].nunique()} id(s) are used by more than one parcel",
                                "make parcel ids unique", tuple(pd.unique(ids[dup])[:5]),
                                int(ids[dup].nunique())))


def _check_geometry_kinds(frame: gpd.GeoDataFrame, layer: str, problems: list[Problem]) -> None:
    """Geometries that are missing, empty or not polygons."""
    geom = frame.geometry.array
    null = shapely.is_missing(geom) | pd.isna(frame.geometry).to_numpy()
    if null.any():
        problems.append(Problem("error", layer, "geometry",
                                f"{null.sum()} parcel(s) have no geometry (NULL, or bytes that are not a geometry)",
                                "drop these rows or give them polygons", example_ids(frame, null), int(null.sum())))
    empty = ~null & shapely.is_empty(geom)
    if empty.any():
        problems.append(Problem("error", layer, "geometry", f"{empty.sum()} parcel(s) have empty geometry",
                                "drop these rows or give them polygons", example_ids(frame, empty),
                                int(empty.sum())))
    polygonal = np.isin(shapely.get_type_id(geom), _POLYGONAL)
    bad_type = ~null & ~empty & ~polygonal
    if bad_type.any():
        kinds = sorted(set(shapely.get_type_id(geom[bad_type]).tolist()))
        names = ", ".join(_GEOM_NAMES.get(k, str(k)) for k in kinds)
        problems.append(Problem("error", layer, "geometry",
                                f"{bad_type.sum()} parcel(s) are not polygons ({names})",
                                "parcels must be Polygon or MultiPolygon: buffer points and lines into areas, "
                                "or drop them", example_ids(frame, bad_type), int(bad_type.sum())))


# --------------------------------------------------------------------------- the communities layer


def check_communities(frame: pd.DataFrame, layer: str, problems: list[Problem]) -> None:
    """Check every column of the communities table in place.

    An empty ``household_kwh_yr`` means "the tier default", so it stays NaN.
    """
    for column in COMMUNITY_COLUMNS:
        if column.name == "community_id":
            _check_community_ids(frame, layer, problems)
        elif column.required:
            check_column(frame, column, layer, problems)
        elif column.name not in frame.columns:
            frame[column.name] = np.nan
        else:
            check_optional_number(frame, column, layer, problems)


def _check_community_ids(frame: pd.DataFrame, layer: str, problems: list[Problem]) -> None:
    if "community_id" not in frame.columns:
        problems.append(Problem("error", layer, "community_id", "required column is missing",
                                "add column 'community_id' matching the parcels' community_id"))
        return
    ids = frame["community_id"]
    null = ids.isna().to_numpy()
    if null.any():
        problems.append(Problem("error", layer, "community_id", f"{null.sum()} community(ies) have no id",
                                "give every community an id", (), int(null.sum())))
    dup = ids.duplicated(keep=False).to_numpy() & ~null
    if dup.any():
        problems.append(Problem("error", layer, "community_id",
                                f"{ids[dup].nunique()} id(s) are used by more than one community",
                                "make community ids unique", tuple(pd.unique(ids[dup])[:5]),
                                int(ids[dup].nunique())))
    frame["community_id"] = ids.astype("string")


# --------------------------------------------------------------------------- geometry


def usable_geometry(geometry: np.ndarray) -> np.ndarray:
    """Boolean per geometry: present, not empty, polygonal and with finite coordinates."""
    ok = _polygonal(geometry)
    ok[ok] &= finite_coordinates(geometry[ok])
    return ok


def _polygonal(geometry: np.ndarray) -> np.ndarray:
    """Boolean per geometry: present, not empty and a Polygon or MultiPolygon."""
    present = ~shapely.is_missing(geometry) & ~pd.isna(geometry)
    polygonal = present.copy()
    polygonal[present] = ~shapely.is_empty(geometry[present]) & np.isin(
        shapely.get_type_id(geometry[present]), _POLYGONAL)
    return polygonal


def finite_coordinates(geometry: np.ndarray) -> np.ndarray:
    """Boolean per geometry: every coordinate is finite (no NaN, no infinity)."""
    if np.isfinite(shapely.get_coordinates(geometry)).all():  # the common case, without an index per vertex
        return np.ones(len(geometry), dtype=bool)
    coords, index = shapely.get_coordinates(geometry, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    return np.bincount(index[bad], minlength=len(geometry)) == 0


def check_geometry(frame: gpd.GeoDataFrame, layer: str, problems: list[Problem]) -> gpd.GeoDataFrame:
    """Report polygons with non-finite coordinates; repair invalid ones.

    Self-intersecting polygons (a "bowtie" has area 0) are repaired with
    ``shapely.make_valid(method="structure")``, which keeps polygons polygons,
    and reported as a warning naming the parcels and the area
    change; a polygon that the repair reduces to nothing is an error.
    Rows that are missing, empty or not polygonal are left to
    :func:`check_parcels`.  Returns the frame with repaired
    geometries (a copy when any was repaired).
    """
    return _checked_geometry(frame, layer, problems)[0]


def _checked_geometry(frame: gpd.GeoDataFrame, layer: str,
                      problems: list[Problem]) -> tuple[gpd.GeoDataFrame, Outlines | None]:
    """:func:`check_geometry`, and the rings of the geometries when all are polygonal and none was repaired.

    The rings, read once, serve the test of finite coordinates and clear the
    strictly convex polygons of :func:`dualuse.inputs.convex.certainly_valid`;
    GEOS tests the validity of the others.
    """
    geometry = np.asarray(frame.geometry.array, dtype=object)
    polygonal = _polygonal(geometry)
    outlines = polygon_outlines(geometry) if polygonal.all() else None
    finite = np.ones(len(geometry), dtype=bool)
    if outlines is not None:
        finite = outlines.finite_geometries()
    else:
        finite[polygonal] = finite_coordinates(geometry[polygonal])
    not_finite = polygonal & ~finite
    if not_finite.any():
        problems.append(Problem("error", layer, "geometry",
                                f"{not_finite.sum()} parcel(s) have coordinates that are NaN or infinite",
                                "repair or redraw these polygons, or drop them", example_ids(frame, not_finite),
                                int(not_finite.sum())))
    candidates = polygonal & finite
    if outlines is not None:
        candidates &= ~certainly_valid(outlines)
    invalid = np.zeros(len(geometry), dtype=bool)
    invalid[candidates] = ~shapely.is_valid(geometry[candidates])
    if not invalid.any():
        return frame, outlines
    return _repair_invalid(frame, geometry, invalid, layer, problems), None


def _repair_invalid(frame: gpd.GeoDataFrame, geometry: np.ndarray, invalid: np.ndarray, layer: str,
                    problems: list[Problem]) -> gpd.GeoDataFrame:
    """Repair the ``invalid`` polygons; an error for those left without area, a warning for the rest."""
    before = geometry[invalid]
    reasons = sorted({str(r).split("[")[0] for r in shapely.is_valid_reason(before)})
    repaired = shapely.make_valid(before, method="structure", keep_collapsed=False)
    lost = shapely.is_empty(repaired) | ~np.isin(shapely.get_type_id(repaired), _POLYGONAL)
    positions = np.flatnonzero(invalid)
    if lost.any():
        mask = np.zeros(len(geometry), dtype=bool)
        mask[positions[lost]] = True
        problems.append(Problem("error", layer, "geometry",
                                f"{lost.sum()} invalid polygon(s) ({', '.join(reasons)}) have no area left "
                                "once repaired (they collapse to lines or points)",
                                "redraw these parcels or drop them", example_ids(frame, mask), int(lost.sum())))
    fixed = ~lost
    if not fixed.any():
        return frame
    _report_repairs(frame, before[fixed], repaired[fixed], positions[fixed], reasons, layer, problems)
    geometry = geometry.copy()
    geometry[positions[fixed]] = repaired[fixed]
    crs = frame.crs
    frame = frame.copy()
    frame[frame.geometry.name] = gpd.GeoSeries(geometry, index=frame.index, crs=crs)
    return frame


def _report_repairs(frame: gpd.GeoDataFrame, before: np.ndarray, after: np.ndarray, positions: np.ndarray,
                    reasons: list[str], layer: str, problems: list[Problem]) -> None:
    """The warning for repaired polygons: how many, why, and how their area changed."""
    crs = frame.crs
    with np.errstate(invalid="ignore", over="ignore"):
        area_before = equal_area_ha(gpd.GeoSeries(before, crs=crs))
        area_after = equal_area_ha(gpd.GeoSeries(after, crs=crs))
    change = area_after - area_before
    largest = int(np.argmax(np.abs(change)))
    mask = np.zeros(len(frame), dtype=bool)
    mask[positions] = True
    example = np.zeros(len(frame), dtype=bool)
    example[positions[largest]] = True
    problems.append(Problem(
        "warning", layer, "geometry",
        f"{len(positions)} invalid polygon(s) ({', '.join(reasons)}) were repaired with make_valid "
        f"(structure method, polygons kept); their area changed by {change.sum():+,.4g} ha in all "
        f"(largest change: parcel {example_ids(frame, example)[0]}, {area_before[largest]:,.4g} → "
        f"{area_after[largest]:,.4g} ha)",
        "check the repaired parcels, or fix them at the source (QGIS 'Fix geometries') so that the "
        "areas are the ones you expect", example_ids(frame, mask), len(positions)))


# --------------------------------------------------------------------------- areas and units


def check_areas(frame: gpd.GeoDataFrame, area_ha: np.ndarray, layer: str, problems: list[Problem],
                usable: np.ndarray | None = None, zero_is_error: bool = False) -> None:
    """Areas that cannot be computed (error), slivers, and a stored area column that disagrees.

    Parameters
    ----------
    frame : GeoDataFrame — the parcels
    area_ha : ndarray — area of each parcel from an equal-area CRS [ha] (NaN where not computed)
    usable : ndarray of bool, optional — the rows whose geometry could be measured (default: all)
    zero_is_error : bool — also report zero areas (when the region was not built, which reports them)
    """
    usable = np.ones(len(frame), dtype=bool) if usable is None else usable
    not_finite = usable & ~np.isfinite(area_ha)
    if not_finite.any():
        problems.append(Problem("error", layer, "geometry",
                                f"{not_finite.sum()} parcel(s) have an area that cannot be computed (the "
                                "coordinates lie outside the range of the layer's CRS)",
                                "check that the layer's CRS is the one its coordinates are in, and assign the right "
                                "one: `ogr2ogr -a_srs EPSG:<code> out.gpkg in.gpkg`",
                                example_ids(frame, not_finite), int(not_finite.sum())))
    measured = usable & np.isfinite(area_ha)
    if zero_is_error:
        zero = measured & (area_ha <= 0)
        if zero.any():
            problems.append(Problem("error", layer, "geometry",
                                    f"{zero.sum()} parcel(s) have zero area (degenerate or self-intersecting)",
                                    "repair the polygons (e.g. QGIS 'Fix geometries') or drop them",
                                    example_ids(frame, zero), int(zero.sum())))
    positive = measured & (area_ha > 0)
    geometry = np.asarray(measuring_geometry(frame.geometry)[0].array, dtype=object)
    compactness = np.ones(len(frame))
    if positive.any():
        plane_area = shapely.area(geometry[positive])
        perimeter = shapely.length(geometry[positive])
        with np.errstate(divide="ignore", invalid="ignore"):
            compactness[positive] = np.where(perimeter > 0, 4 * np.pi * plane_area / perimeter ** 2, 1.0)
    sliver = positive & ((area_ha < SLIVER_HA) | (compactness < SLIVER_COMPACTNESS))
    if sliver.any():
        problems.append(Problem("warning", layer, "geometry",
                                f"{sliver.sum()} parcel(s) are slivers (smaller than {SLIVER_HA:g} ha, or strips "
                                f"over ~300 times as long as wide; smallest {area_ha[sliver].min():.3g} ha): "
                                "each adds variables to the model but hardly any land",
                                "merge them into a neighbour (QGIS 'Eliminate selected polygons') or drop them",
                                example_ids(frame, sliver), int(sliver.sum())))
    _check_stored_area(frame, area_ha, positive, layer, problems)
    check_plausible_areas(frame, area_ha, positive, layer, problems)


def _check_stored_area(frame: gpd.GeoDataFrame, area_ha: np.ndarray, positive: np.ndarray, layer: str,
                       problems: list[Problem]) -> None:
    column = next((c for c in STORED_AREA_COLUMNS if c in frame.columns), None)
    if column is None:
        return
    stored = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    not_numeric = frame[column].notna().to_numpy() & ~np.isfinite(stored)
    if not_numeric.any():
        problems.append(Problem("warning", layer, column,
                                f"{not_numeric.sum()} stored area(s) are not finite numbers; dualuse uses the "
                                "area of the geometry", f"store '{column}' as numbers, or drop the column",
                                example_ids(frame, not_numeric), int(not_numeric.sum())))
    stored_ha = stored * STORED_AREA_COLUMNS[column]
    compare = positive & np.isfinite(stored_ha)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.abs(stored_ha - area_ha) / area_ha
    off = compare & (relative > AREA_TOLERANCE)
    if not off.any():
        return
    k = int(np.flatnonzero(off)[np.argmax(relative[off])])
    ratio = np.median(stored_ha[off] / area_ha[off])
    hint = (f"; most differ by the same factor ({ratio:.3g}), which points to a wrong CRS or another unit"
            if off.sum() > 1 and np.allclose(stored_ha[off] / area_ha[off], ratio, rtol=0.02) else "")
    problems.append(Problem("warning", layer, column,
                            f"{off.sum()} parcel(s) have a stored {column} that differs from the area of their "
                            f"geometry by more than {AREA_TOLERANCE:.0%} (worst: {stored[k]:,.4g} stored, "
                            f"{area_ha[k] / STORED_AREA_COLUMNS[column]:,.4g} from the geometry){hint}; dualuse "
                            "uses the geometry's area, computed in an equal-area CRS",
                            f"check the layer's CRS, or recompute '{column}' from the polygons",
                            example_ids(frame, off), int(off.sum())))


def check_plausible_areas(frame: gpd.GeoDataFrame, area_ha: np.ndarray, measured: np.ndarray, layer: str,
                          problems: list[Problem]) -> None:
    """Areas that cannot be right: coordinates in degrees under a projected CRS, parcels or a region too large.

    ``measured`` marks the parcels whose area is known and positive.
    """
    if not measured.any():
        return
    crs = frame.crs
    assign = "assign the CRS the coordinates are in: `ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg` for degrees"
    if crs is not None and not crs.is_geographic:
        bounds = shapely.bounds(np.asarray(frame.geometry.array, dtype=object)[measured])
        in_degrees = bool((np.abs(bounds[:, [0, 2]]) <= 180.0).all() and (np.abs(bounds[:, [1, 3]]) <= 90.0).all())
        if in_degrees and np.median(area_ha[measured]) < DEGREE_SIZED_HA:
            unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
            problems.append(Problem("error", layer, "geometry",
                                    f"every coordinate lies within ±180, ±90 and the parcels measure "
                                    f"{area_ha[measured].sum():.3g} ha in all: the coordinates look like degrees, "
                                    f"but the layer's CRS ({crs.name}) has the unit {unit}", assign,
                                    (), int(measured.sum())))
            return
    huge = measured & (area_ha > MAX_PARCEL_HA)
    if huge.any():
        problems.append(Problem("error", layer, "geometry",
                                f"{huge.sum()} parcel(s) are larger than {MAX_PARCEL_HA:,.0f} ha (10,000 km²; the "
                                f"largest {area_ha[huge].max():,.4g} ha), which points to a wrong CRS or unit",
                                "check the layer's CRS and assign the right one (`ogr2ogr -a_srs EPSG:... out.gpkg "
                                "in.gpkg`), or split such parcels", example_ids(frame, huge), int(huge.sum())))
    total_ha = float(area_ha[measured].sum())
    if total_ha > MAX_REGION_HA:
        problems.append(Problem("error", layer, "geometry",
                                f"the parcels measure {total_ha:,.4g} ha in all, more than {MAX_REGION_HA:,.0f} ha "
                                "(10 million km²), which points to a wrong CRS or unit",
                                "check the layer's CRS and assign the right one (`ogr2ogr -a_srs EPSG:... out.gpkg "
                                "in.gpkg`), or plan a smaller region", (), int(measured.sum())))


def check_units(frame: pd.DataFrame, layer: str, problems: list[Problem]) -> None:
    """Values that are in range but probably in another unit (warnings)."""
    if "pv_yield_kwh_kwp" in frame.columns:
        values = pd.to_numeric(frame["pv_yield_kwh_kwp"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        daily = (values > 0) & (values < DAILY_PV_YIELD_KWH_KWP)
        if daily.any():
            problems.append(Problem("warning", layer, "pv_yield_kwh_kwp",
                                    f"{daily.sum()} value(s) are below {DAILY_PV_YIELD_KWH_KWP:g} kWh/kWp, which "
                                    "looks like daily totals (PVOUT is 700–2,500 kWh/kWp a year)",
                                    "give yearly totals: multiply daily PVOUT by 365", example_ids(frame, daily),
                                    int(daily.sum())))


def measure_unbuilt(frame: gpd.GeoDataFrame, layer: str, problems: list[Problem]) -> None:
    """The area checks for a region that was not built because of other errors."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        return
    geometry = np.asarray(frame.geometry.array, dtype=object)
    usable = usable_geometry(geometry)
    area_ha = np.full(len(frame), np.nan)
    if usable.any():
        with np.errstate(invalid="ignore", over="ignore"):  # reported below as areas that cannot be computed
            area_ha[usable] = equal_area_ha(gpd.GeoSeries(geometry[usable], crs=frame.crs))
    check_areas(frame, area_ha, layer, problems, usable=usable, zero_is_error=True)
