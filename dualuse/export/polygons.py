"""Polygons' WKB and centroids straight from their vertices, for layers of a million parcels.

A region's parcels are mostly simple polygons: one exterior ring, no hole,
2-D.  For those the vertices come out as one array
(``shapely.get_coordinates``), and both what the writer needs of each
parcel are computed on that array at once:

- its WKB, byte for byte what ``shapely.to_wkb`` writes (byte order of the
  machine, 2-D), assembled in one buffer that Arrow takes as a binary
  column without a Python object per parcel;
- its centroid, the area-weighted centre of the ring's triangles fanned
  from its first vertex, in the order and with the operations of GEOS, so
  that it equals ``shapely.centroid`` to the last bit.

Any other geometry (holes, several parts, Z or M values, empty, missing)
is left to shapely.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import shapely

#: WKB header of a polygon with one ring: byte order, geometry type (3), ring count (1), point count.
_HEADER_BYTES = 13
#: Bytes of one 2-D vertex in WKB.
_POINT_BYTES = 16


@dataclass(frozen=True)
class SimplePolygons:
    """The vertices of polygons of one ring each.

    Attributes
    ----------
    xy : ndarray [vertex, 2] — every ring's vertices in order, each ring closed (last = first)
    start : ndarray [polygon + 1] — polygon ``p``'s vertices are ``xy[start[p]:start[p + 1]]``
    """

    xy: np.ndarray
    start: np.ndarray

    @property
    def n(self) -> int:
        return int(self.start.size - 1)


def simple(geometry: np.ndarray) -> np.ndarray:
    """Which geometries are 2-D polygons with one ring and no hole (missing and empty ones are not)."""
    one_ring = _one_ring(geometry)
    one_ring[one_ring] = ~shapely.is_empty(geometry[one_ring])
    return one_ring


def _one_ring(geometry: np.ndarray) -> np.ndarray:
    """Which geometries are 2-D polygons without holes (empty ones included)."""
    one_ring = shapely.get_type_id(geometry) == shapely.GeometryType.POLYGON
    one_ring[one_ring] = shapely.get_num_interior_rings(geometry[one_ring]) == 0
    one_ring[one_ring] = shapely.get_coordinate_dimension(geometry[one_ring]) == 2  # neither Z nor M
    return one_ring


def vertices(geometry: np.ndarray) -> SimplePolygons:
    """The vertices of geometries that are all :func:`simple`."""
    xy, owner = shapely.get_coordinates(geometry, return_index=True)
    start = np.zeros(geometry.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=geometry.size), out=start[1:])
    return SimplePolygons(xy, start)


def simple_vertices(geometry: np.ndarray) -> SimplePolygons | None:
    """The vertices of the geometries when every one is :func:`simple`, else None."""
    if not _one_ring(geometry).all():
        return None
    polygons = vertices(geometry)
    return polygons if (np.diff(polygons.start) > 0).all() else None  # an empty polygon has no vertex


def polygon_wkb(polygons: SimplePolygons) -> tuple[np.ndarray, np.ndarray] | None:
    """The WKB of each polygon as one byte buffer and its offsets (polygon ``p`` is
    ``buffer[offsets[p]:offsets[p + 1]]``): what ``shapely.to_wkb`` writes on this machine.  None on a
    big-endian machine.

    The vertices are laid out 16 bytes a slot with one slot more per polygon
    ahead of its vertices; that slot's last 13 bytes take the polygon's
    header (byte order, type 3, one ring, the point count), and dropping
    the 3 bytes before each header leaves the WKB of one polygon after the
    other.
    """
    if sys.byteorder != "little":
        return None
    n, n_points = polygons.n, polygons.xy.shape[0]
    counts = np.diff(polygons.start)
    head = polygons.start[:-1] + np.arange(n, dtype=np.int64)
    is_point = np.ones(n_points + n, dtype=bool)
    is_point[head] = False
    slots = np.empty((n_points + n, 2), dtype=np.float64)
    slots[is_point] = polygons.xy
    del is_point
    raw = slots.view(np.uint8).reshape(n_points + n, _POINT_BYTES)
    header = np.zeros((n, _POINT_BYTES), dtype=np.uint8)
    pad = _POINT_BYTES - _HEADER_BYTES
    header[:, pad] = 1  # little-endian
    header[:, pad + 1] = shapely.GeometryType.POLYGON  # the type's other three bytes are 0
    header[:, pad + 5] = 1  # one ring
    header[:, pad + 9:] = counts.astype("<u4").view(np.uint8).reshape(n, 4)
    raw[head] = header
    del header
    keep = np.ones((n_points + n, _POINT_BYTES), dtype=bool)
    keep[head, :pad] = False
    buffer = raw.reshape(-1)[keep.reshape(-1)]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(_HEADER_BYTES + _POINT_BYTES * counts, out=offsets[1:])
    return buffer, offsets


def polygon_centroids(polygons: SimplePolygons) -> tuple[np.ndarray, np.ndarray]:
    """Each polygon's centroid (x, y), computed as GEOS computes it, to the last bit; NaN where the ring
    encloses no area (GEOS then takes the centre of the ring's length, which this leaves to shapely).

    The ring is fanned into triangles from its first vertex ``p0``: triangle
    ``(p0, p_i, p_i+1)`` has twice the signed area ``a_i`` (from the
    differences to ``p0``) and three times its centre at ``p0 + p_i +
    p_i+1``; the centroid is ``(sum a_i c_i) / 3 / (sum a_i)``, each sum
    taken in the ring's order.
    """
    n, start = polygons.n, polygons.start
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(start))
    same = owner[1:] == owner[:-1]
    ring = owner[:-1][same]
    first = polygons.xy[start[:-1]]
    x, y = polygons.xy[:, 0], polygons.xy[:, 1]
    x0, y0 = first[:, 0][owner], first[:, 1][owner]
    del owner
    dx, dy = x - x0, y - y0
    twice_area = (dx[:-1] * dy[1:] - dx[1:] * dy[:-1])[same]
    del dx, dy
    sum_area = np.bincount(ring, weights=twice_area, minlength=n)
    sum_x = np.bincount(ring, weights=twice_area * ((x0[:-1] + x[:-1]) + x[1:])[same], minlength=n)
    sum_y = np.bincount(ring, weights=twice_area * ((y0[:-1] + y[:-1]) + y[1:])[same], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx, cy = sum_x / 3.0 / sum_area, sum_y / 3.0 / sum_area
    flat = ~(sum_area != 0) | ~np.isfinite(cx) | ~np.isfinite(cy)
    cx[flat], cy[flat] = np.nan, np.nan
    return cx, cy


def centroids(geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The centroid (x, y) of every geometry, as ``shapely.centroid`` gives it: simple
    polygons from their vertices, any other geometry (and a ring without area) by shapely; NaN for a
    missing or empty geometry."""
    x, y = np.full(geometry.size, np.nan), np.full(geometry.size, np.nan)
    easy = simple(geometry)
    if easy.any():
        x[easy], y[easy] = polygon_centroids(vertices(geometry[easy]))
    rest = ~easy | np.isnan(x)
    if rest.any():
        points = shapely.centroid(geometry[rest])
        points[shapely.is_empty(points)] = None  # shapely has no x of an empty point; NaN for a missing one
        x[rest], y[rest] = shapely.get_x(points), shapely.get_y(points)
    return x, y
