"""Parcels that overlap, or are the same polygon twice: land the plan would count twice.

Testing every pair of neighbours with GEOS (``overlaps``, ``relate``) costs
seconds at 100,000 parcels; most regions are tilings whose neighbours share
their edges exactly.  :func:`candidate_pairs` therefore looks at edges first:
with every ring oriented so that its polygon lies on its left, the number of
polygons covering a point changes only across an edge that is not matched by
the same edge in the opposite direction of another polygon.  Where two
parcels overlap, the border of the land covered twice runs along such
unmatched edges with two parcels on their left, or along an edge that two
parcels share in the same direction.  So only the parcels that the inner
side of an unmatched edge touches, and those sharing an edge in the same
direction, are candidates; GEOS measures the overlap of these few pairs.  An
overlap thinner than a millionth of an edge's length is not found (its area
is negligible).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from dualuse.inputs.edges import edge_groups
from dualuse.inputs.outlines import Outlines, polygon_outlines, ring_sums
from dualuse.inputs.schema import Problem, example_ids

#: The share of the region's area that overlapping parcels may count twice before the region is refused.
OVERLAP_TOLERANCE = 0.01
#: An overlap smaller than this share of the smaller parcel is numerical noise along a shared edge.
_NOISE = 1e-6
#: How far the probe of an unmatched edge lies inside its polygon, and how much of each end it leaves out,
#: as shares of the edge's length.
_INSET, _TRIM = 1e-6, 1e-3


def _directed_edges(outlines: Outlines) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ring edge, oriented so that its polygon lies on its left: each edge's start and end as indices into
    ``outlines.xy``, and each edge's polygon."""
    ring = outlines.edge_ring()
    x, y = outlines.xy[:, 0], outlines.xy[:, 1]
    twice = x[:-1] * y[1:] - x[1:] * y[:-1]
    twice[ring < 0] = 0.0
    twice_area = ring_sums(twice, outlines)
    del twice
    start = np.flatnonzero(ring >= 0).astype(ring.dtype)
    ring = ring[start]
    flip = ((twice_area < 0) == outlines.exterior)[ring]  # exteriors counter-clockwise, holes clockwise
    end = start + 1
    return np.where(flip, end, start), np.where(flip, start, end), outlines.ring_geometry[ring]


def candidate_pairs(geometry: np.ndarray, outlines: Outlines | None = None) -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, of polygons that may overlap: a superset of those that do.

    Parameters
    ----------
    geometry : ndarray of valid Polygon / MultiPolygon, in one planar frame
    outlines : the rings of ``geometry``, when they have been taken out already
    """
    outlines = polygon_outlines(geometry) if outlines is None else outlines
    assert outlines is not None, "candidate_pairs measures polygons and multipolygons only"
    coords = outlines.xy
    start, end, owner = _directed_edges(outlines)
    if len(owner) == 0:
        return np.empty((0, 2), dtype=np.int64)
    order, group, forward_sorted = edge_groups(coords, start, end)
    n_all = np.bincount(group)
    n_forward = np.bincount(group, weights=forward_sorted).astype(np.int64)
    n_backward = n_all - n_forward
    unmatched = np.empty(len(owner), dtype=bool)
    unmatched[order] = (n_all == 1)[group]
    stacked = ((n_forward > 1) | (n_backward > 1))[group]
    pairs = [_probe_unmatched(geometry, coords[start[unmatched]], coords[end[unmatched]], owner[unmatched]),
             _stacked_pairs(owner[order][stacked], group[stacked], forward_sorted[stacked])]
    both = np.concatenate(pairs)
    both = both[both[:, 0] != both[:, 1]]
    return np.unique(np.sort(both, axis=1), axis=0)


def _probe_unmatched(geometry: np.ndarray, start: np.ndarray, end: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """The polygons that a probe just inside each unmatched edge touches, as pairs with the edge's owner."""
    if len(owner) == 0:
        return np.empty((0, 2), dtype=np.int64)
    along = end - start
    left = np.column_stack([-along[:, 1], along[:, 0]])
    probes = np.stack([start + _TRIM * along + _INSET * left, end - _TRIM * along + _INSET * left], axis=1)
    polygon, line = shapely.STRtree(shapely.linestrings(probes)).query(geometry, predicate="intersects")
    return np.column_stack([owner[line], polygon]).astype(np.int64)  # each polygon prepared once, tested on probes


def _stacked_pairs(owner: np.ndarray, group: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Pairs of polygons that share an edge in the same direction (both on the same side of it).

    The edges come sorted by edge, then direction; each is paired with the next one of the same edge and
    direction.
    """
    same = (group[1:] == group[:-1]) & (forward[1:] == forward[:-1])
    return np.column_stack([owner[:-1][same], owner[1:][same]]).astype(np.int64)


def check_overlaps(frame: gpd.GeoDataFrame, geometry: np.ndarray, area_ha: np.ndarray, layer: str,
                   problems: list[Problem], tolerance: float = OVERLAP_TOLERANCE,
                   outlines: Outlines | None = None) -> None:
    """Overlapping and duplicate parcels: a warning, or an error when they count more than ``tolerance`` of
    the region's area twice.

    Parameters
    ----------
    frame : GeoDataFrame — the parcels (for their ids)
    geometry : ndarray — the parcels as measured (valid, in one planar frame)
    area_ha : ndarray — each parcel's area from an equal-area CRS [ha]
    tolerance : share of the region's area that may be counted twice
    outlines : the rings of ``geometry``, when they have been taken out already
    """
    pairs = candidate_pairs(geometry, outlines)
    if len(pairs) == 0:
        return
    i, j = pairs[:, 0], pairs[:, 1]
    plane = shapely.area(geometry[i])
    with np.errstate(divide="ignore", invalid="ignore"):
        ha_per_unit = np.where(plane > 0, area_ha[i] / plane, 0.0)
    overlap_ha = shapely.area(shapely.intersection(geometry[i], geometry[j])) * ha_per_unit
    real = overlap_ha > _NOISE * np.minimum(area_ha[i], area_ha[j])
    if not real.any():
        return
    order = np.argsort(-overlap_ha[real], kind="stable")
    i, j, overlap_ha = i[real][order], j[real][order], overlap_ha[real][order]
    duplicate = shapely.equals(geometry[i], geometry[j])
    share = overlap_ha.sum() / area_ha.sum() if area_ha.sum() > 0 else np.inf
    ids = frame["parcel_id"].to_numpy() if "parcel_id" in frame.columns else frame.index.to_numpy()
    largest = ", ".join(f"{ids[a]} & {ids[b]} ({ha:,.4g} ha)" for a, b, ha in zip(i[:3], j[:3], overlap_ha[:3]))
    dup = f", {int(duplicate.sum())} of them the same polygon twice" if duplicate.any() else ""
    text = (f"{len(i)} pair(s) of parcels overlap{dup}: {overlap_ha.sum():,.4g} ha in all ({share:.2%} of the "
            f"region's area), which the plan would count twice (largest: {largest})")
    fix = ("clip the overlaps away or drop the duplicates (QGIS: 'Topology Checker' finds them, 'Delete duplicate "
           "geometries' and 'Difference' remove them)")
    involved = np.zeros(len(frame), dtype=bool)
    involved[i] = involved[j] = True
    if share > tolerance:
        text += f", more than the overlap tolerance of {tolerance:.2%} of the region's area"
        fix += f"; if the land is meant to count twice, raise the overlap tolerance (overlap_tolerance={tolerance:g})"
    problems.append(Problem("error" if share > tolerance else "warning", layer, "geometry", text, fix,
                            example_ids(frame, involved), int(involved.sum())))
