"""Polygon areas in another CRS, from the projected coordinates alone.

Projecting a million parcels with ``GeoSeries.to_crs`` and asking for
``.area`` builds a second set of geometries only to measure them; here the
vertices are taken out once (:func:`dualuse.inputs.outlines.polygon_outlines`),
projected by the same ``pyproj`` transformation (axis order x, y), and each
ring's area is the trapezoid sum over its edges, the exterior ring counted
positive and the holes negative, as GEOS measures a polygon.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from dualuse.inputs.outlines import Outlines, polygon_outlines


def projected_area_m2(geometry: np.ndarray, crs_from: Any, crs_to: Any,
                      outlines: Outlines | None = None) -> np.ndarray | None:
    """Area of each (multi)polygon of ``geometry`` once projected from ``crs_from`` to ``crs_to``, in the
    unit² of ``crs_to`` (NaN for a missing geometry, 0 for an empty one); None for any other geometry type.

    ``outlines`` are the rings of ``geometry`` when they have been taken out already.
    """
    outlines = polygon_outlines(geometry) if outlines is None else outlines
    if outlines is None:  # a geometry that is not a (multi)polygon
        return None
    n_rings = outlines.n_rings
    opened = np.ones(len(outlines.xy), dtype=bool)
    opened[outlines.ring_start[1:] - 1] = False  # a ring's last vertex repeats its first: projected once
    x, y = outlines.xy[opened, 0], outlines.xy[opened, 1]
    del opened
    Transformer.from_crs(crs_from, crs_to, always_xy=True).transform(x, y, inplace=True)
    ring_area = open_ring_areas(x, y, outlines.ring_start - np.arange(n_rings + 1))
    del x, y
    if outlines.exterior.all() and np.all(np.diff(outlines.ring_geometry) > 0):  # one ring per geometry
        area = np.zeros(outlines.n_geometries)
        area[outlines.ring_geometry] = ring_area
    else:
        signed = np.where(outlines.exterior, ring_area, -ring_area)
        area = np.bincount(outlines.ring_geometry, weights=signed, minlength=outlines.n_geometries)
    area[shapely.is_missing(geometry)] = np.nan
    return area


def open_ring_areas(x: np.ndarray, y: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The unsigned area of each ring whose vertices, without the closing one, are ``x[start[r]:start[r + 1]]``,
    ``y[…]`` (changed in place).

    Twice a ring's area is the sum over its edges of (x₀ + x₁ − 2c)(y₁ − y₀) for any constant c; with c one of
    the vertices, the products stay at the scale of the region, not of the CRS's false origin.
    """
    n_rings = start.size - 1
    area = np.zeros(n_rings)
    if x.size == 0:
        return area
    cx, cy = _reference(x, y)
    x -= cx
    y -= cy
    twice = np.empty(x.size)
    np.multiply(x[:-1] + x[1:], y[1:] - y[:-1], out=twice[:-1])
    twice[-1] = 0.0
    twice[start[1:-1] - 1] = 0.0  # the pairs that span two rings
    has = np.flatnonzero(start[1:] > start[:-1])
    first, last = start[has], start[has + 1] - 1
    closing = (x[last] + x[first]) * (y[first] - y[last])
    area[has] = 0.5 * np.abs(np.add.reduceat(twice, first) + closing)
    return area


def _reference(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """A vertex with finite coordinates (0, 0 when there is none)."""
    if np.isfinite(x[0]) and np.isfinite(y[0]):
        return float(x[0]), float(y[0])
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    return (float(x[finite[0]]), float(y[finite[0]])) if finite.size else (0.0, 0.0)
