"""Polygon areas in another CRS, from the projected coordinates alone.

Projecting a million parcels with ``GeoSeries.to_crs`` and asking for
``.area`` builds a second set of geometries only to measure them; here the
vertices are taken out as one array (``shapely.to_ragged_array``), projected
by the same ``pyproj`` transformation (axis order x, y), and each ring's area
is the shoelace sum over them, the exterior ring counted positive and the
holes negative, as GEOS measures a polygon.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

POLYGON, MULTIPOLYGON = shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON


def projected_area_m2(geometry: np.ndarray, crs_from: Any, crs_to: Any) -> np.ndarray | None:
    """Area of each (multi)polygon of ``geometry`` once projected from ``crs_from`` to ``crs_to``, in the
    unit² of ``crs_to`` (NaN for a missing geometry, 0 for an empty one); None for any other geometry type.

    Each ring's shoelace sum runs over coordinates taken relative to the
    ring's first vertex, which keeps the precision of large projected
    coordinates (as GEOS does).
    """
    present = ~shapely.is_missing(geometry)
    if np.all(shapely.get_type_id(geometry[present]) == POLYGON) and not shapely.get_num_interior_rings(
            geometry[present]).any():
        return _simple_polygon_areas(geometry, present, crs_from, crs_to)  # one ring each: no ring objects
    try:
        kind, coords, offsets = shapely.to_ragged_array(geometry)
    except ValueError:  # a mix of types that are not all (multi)polygons
        return None
    if kind == POLYGON:
        ring_start, part_start, geometry_start = offsets[0], offsets[1], np.arange(geometry.size + 1)
    elif kind == MULTIPOLYGON:
        ring_start, part_start, geometry_start = offsets
    else:
        return None
    x, y = Transformer.from_crs(crs_from, crs_to, always_xy=True).transform(coords[:, 0], coords[:, 1])
    ring_area = _ring_areas(np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(ring_start))
    exterior = np.zeros(ring_area.size, dtype=bool)
    exterior[np.asarray(part_start[:-1])[np.diff(part_start) > 0]] = True
    signed = np.where(exterior, ring_area, -ring_area)
    area = _sums(_sums(signed, np.asarray(part_start)), np.asarray(geometry_start))
    area[shapely.is_missing(geometry)] = np.nan
    return area


def _simple_polygon_areas(geometry: np.ndarray, present: np.ndarray, crs_from: Any, crs_to: Any) -> np.ndarray:
    """:func:`projected_area_m2` of polygons without holes (``present``: not missing), one ring each."""
    coords, owner = shapely.get_coordinates(geometry, return_index=True)
    x, y = Transformer.from_crs(crs_from, crs_to, always_xy=True).transform(coords[:, 0], coords[:, 1])
    ring_start = np.zeros(geometry.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=geometry.size), out=ring_start[1:])
    area = _ring_areas(np.asarray(x, dtype=float), np.asarray(y, dtype=float), ring_start)
    area[~present] = np.nan
    return area


def _ring_areas(x: np.ndarray, y: np.ndarray, ring_start: np.ndarray) -> np.ndarray:
    """The unsigned shoelace area of each closed ring, the vertices of ring r at ``ring_start[r]:ring_start[r+1]``."""
    n_rings = ring_start.size - 1
    if not x.size:
        return np.zeros(n_rings)
    counts = np.diff(ring_start)
    origin = np.repeat(ring_start[:-1], counts)
    dx, dy = x - x[origin], y - y[origin]
    cross = dx[:-1] * dy[1:] - dx[1:] * dy[:-1]
    ring_of = np.repeat(np.arange(n_rings), counts)
    same = ring_of[1:] == ring_of[:-1]
    return 0.5 * np.abs(np.bincount(ring_of[:-1][same], weights=cross[same], minlength=n_rings))


def _sums(values: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Sums of ``values[start[k]:start[k+1]]`` for each k (0 for an empty range)."""
    counts = np.diff(start)
    return np.bincount(np.repeat(np.arange(counts.size), counts), weights=values, minlength=counts.size)
