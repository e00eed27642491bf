"""Polygons that are valid because they are strictly convex, told from their vertices without GEOS.

GEOS's ``is_valid`` walks every ring for self-intersections; most parcels
of a prepared region are triangles and quadrilaterals whose every turn goes
the same way.  A closed ring of three or four distinct vertices that turns
strictly to the same side at each of them is convex and simple (each turn
is less than half a revolution, so the turns add up to one revolution), and
a polygon of one such ring, with finite coordinates, is valid.  Each turn's
side is the sign of the orientation determinant, trusted only where it
exceeds Shewchuk's bound on its floating-point error (the "orient2d" filter,
J. R. Shewchuk 1997, Adaptive precision floating-point arithmetic and fast
robust geometric predicates), so that the sign is that of the exact
determinant; every other polygon is left to GEOS.
"""

from __future__ import annotations

import numpy as np

from dualuse.inputs.outlines import Outlines

#: Shewchuk's error bound of the floating-point orientation determinant, relative to its two products' sizes.
_ORIENT_BOUND = (3.0 + 16.0 * 2.0 ** -53) * 2.0 ** -53


def certainly_valid(outlines: Outlines) -> np.ndarray:
    """Per geometry: one ring of three or four distinct vertices (four or five with the closing one), turning
    strictly to the same side at every vertex beyond doubt — a valid polygon.  False says "not known"."""
    valid = np.zeros(outlines.n_geometries, dtype=bool)
    counts = np.diff(outlines.ring_start)
    geometry = outlines.ring_geometry
    alone = np.ones(outlines.n_rings, dtype=bool)  # the geometry's only ring
    alone[1:] &= geometry[1:] != geometry[:-1]
    alone[:-1] &= geometry[:-1] != geometry[1:]
    for size in (4, 5):
        rings = np.flatnonzero(alone & (counts == size))
        if rings.size == 0:
            continue
        if rings.size == outlines.n_rings:  # every ring: the vertices as they are, without a copy
            xy = outlines.xy.reshape(-1, size, 2)[:, :-1]
        else:
            xy = outlines.xy[outlines.ring_start[rings][:, None] + np.arange(size - 1)]
        valid[geometry[rings]] = _turns_one_way(xy[..., 0], xy[..., 1])
    return valid


def _turns_one_way(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row of vertices (a ring without its closing vertex): every turn certainly to the left, or every turn
    certainly to the right."""
    cx, cy = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    ax, ay = np.roll(x, 1, axis=1) - cx, np.roll(y, 1, axis=1) - cy
    left = ax * (y - cy)
    right = ay * (x - cx)
    det = left - right
    bound = _ORIENT_BOUND * (np.abs(left) + np.abs(right))
    return (det > bound).all(axis=1) | (-det > bound).all(axis=1)
