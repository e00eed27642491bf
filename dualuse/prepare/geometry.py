"""Geometry between CRSs: reprojection, polygonal parts, extents, and a CRS's name for the sources table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyproj
import shapely

M_PER_KM = 1_000.0


def to_crs(geometry: Any, source: pyproj.CRS, target: pyproj.CRS) -> Any:
    """Geometry (or an array of them) from one CRS to another."""
    if source == target:
        return geometry
    transformer = pyproj.Transformer.from_crs(source, target, always_xy=True)
    return shapely.transform(geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def polygonal(geometry: shapely.Geometry) -> shapely.Geometry:
    """Only the polygonal parts of a geometry, as a Polygon or MultiPolygon."""
    parts = shapely.get_parts(geometry)
    polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    polys = shapely.get_parts(polys)
    if polys.size == 1:
        return polys[0]
    return shapely.multipolygons(polys)


def span(geometry: shapely.Geometry) -> float:
    """The longer side of a geometry's bounding box, at least 1 [CRS units]."""
    minx, miny, maxx, maxy = geometry.bounds
    return max(maxx - minx, maxy - miny, 1.0)


def expanded(bounds: tuple[float, float, float, float], by_m: float) -> tuple[float, float, float, float]:
    """``bounds`` (minx, miny, maxx, maxy) grown by ``by_m`` on every side."""
    return bounds[0] - by_m, bounds[1] - by_m, bounds[2] + by_m, bounds[3] + by_m


def crs_name(crs: Any) -> str:
    """A CRS as ``AUTHORITY:CODE (name)``, or its name alone; empty for None."""
    if crs is None:
        return ""
    crs = pyproj.CRS.from_user_input(crs)
    code = crs.to_authority()
    return f"{code[0]}:{code[1]} ({crs.name})" if code else crs.name
