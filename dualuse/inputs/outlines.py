"""The rings of an array of polygons and multipolygons as one array of vertices, read once.

Areas in another CRS (:mod:`dualuse.inputs.areas`) and the edge test for
overlapping parcels (:mod:`dualuse.inputs.overlaps`) both walk every ring of
every parcel; :func:`polygon_outlines` takes the vertices out of GEOS once,
in one pass for polygons without holes (the common case) and ring by ring
for the others, and :func:`ring_sums` sums per-edge values ring by ring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

POLYGON, MULTIPOLYGON = shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON


@dataclass(frozen=True, eq=False)
class Outlines:
    """Every ring of ``n_geometries`` (multi)polygons.

    Attributes
    ----------
    xy : ndarray [vertex, 2] — the vertices, ring after ring, each ring closed (its last vertex is its first)
    ring_start : ndarray of int64 [ring + 1] — ring r is ``xy[ring_start[r]:ring_start[r + 1]]``
    ring_geometry : ndarray of int64 [ring] — the geometry each ring belongs to
    exterior : ndarray of bool [ring] — an exterior ring (else a hole)
    n_geometries : the number of geometries (a missing or empty one has no ring)
    """

    xy: np.ndarray
    ring_start: np.ndarray
    ring_geometry: np.ndarray
    exterior: np.ndarray
    n_geometries: int

    @property
    def n_rings(self) -> int:
        return int(self.ring_geometry.size)

    def finite_geometries(self) -> np.ndarray:
        """Per geometry: every coordinate is finite (no NaN, no infinity)."""
        finite = np.ones(self.n_geometries, dtype=bool)
        bad = np.flatnonzero(~np.isfinite(self.xy).all(axis=1))
        if bad.size:
            finite[self.ring_geometry[np.searchsorted(self.ring_start, bad, side="right") - 1]] = False
        return finite

    def edge_ring(self) -> np.ndarray:
        """Of each pair of consecutive vertices ``xy[k], xy[k + 1]``, the ring they bound as an edge, −1 where
        they belong to two rings."""
        dtype = np.int32 if len(self.xy) < 2 ** 31 else np.int64
        ring = np.repeat(np.arange(self.n_rings, dtype=dtype), np.diff(self.ring_start))[:-1]
        ring[self.ring_start[1:-1] - 1] = -1
        return ring


def polygon_outlines(geometry: np.ndarray) -> Outlines | None:
    """The rings of ``geometry`` (Polygon, MultiPolygon, empty or missing), or None when any geometry is of
    another type."""
    present = ~shapely.is_missing(geometry)
    kinds = shapely.get_type_id(geometry)
    if not np.all(np.isin(kinds[present], (POLYGON, MULTIPOLYGON))):
        return None
    simple = (kinds == POLYGON) & (shapely.get_num_interior_rings(geometry) == 0)
    simple_at = np.flatnonzero(simple)
    if simple.all():  # one ring per polygon: the geometries' coordinates are the rings'
        xy, owner = shapely.get_coordinates(geometry, return_index=True)
        counts = np.bincount(owner, minlength=geometry.size)
        del owner
        has = counts > 0
        ring_start = np.zeros(int(has.sum()) + 1, dtype=np.int64)
        np.cumsum(counts[has], out=ring_start[1:])
        ring_geometry = np.flatnonzero(has).astype(np.int64)
        return Outlines(xy, ring_start, ring_geometry, np.ones(ring_geometry.size, dtype=bool), int(geometry.size))
    pieces = [_rings(geometry[simple], simple_at, one_ring=True), _rings(geometry[~simple], np.flatnonzero(~simple))]
    xy = np.concatenate([p[0] for p in pieces])
    counts = np.concatenate([p[1] for p in pieces])
    ring_start = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=ring_start[1:])
    return Outlines(xy, ring_start, np.concatenate([p[2] for p in pieces]), np.concatenate([p[3] for p in pieces]),
                    int(geometry.size))


def _rings(geometry: np.ndarray, at: np.ndarray,
           one_ring: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The vertices, each ring's vertex count, geometry (``at``: the positions of ``geometry``) and kind."""
    if one_ring:
        xy, owner = shapely.get_coordinates(geometry, return_index=True)
        counts = np.bincount(owner, minlength=geometry.size)
        has = counts > 0
        return xy, counts[has], at[has].astype(np.int64), np.ones(int(has.sum()), dtype=bool)
    parts, part_owner = shapely.get_parts(geometry, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)  # each part's exterior, then its holes
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(ring_of, minlength=rings.size)
    exterior = np.r_[True, ring_part[1:] != ring_part[:-1]] if rings.size else np.zeros(0, dtype=bool)
    has = counts > 0
    return xy, counts[has], at[part_owner[ring_part]][has].astype(np.int64), exterior[has]


def ring_sums(values: np.ndarray, outlines: Outlines) -> np.ndarray:
    """Per ring, the sum of ``values`` over its edges: ``values[k]`` belongs to the edge from vertex k to k + 1,
    and the values of pairs that span two rings must be zero."""
    n = outlines.n_rings
    if n == 0:
        return np.zeros(0)
    padded = np.concatenate([values, [0.0]])
    return np.add.reduceat(padded, outlines.ring_start[:-1])
