"""Polygon edges grouped by the segment they run along, in either direction.

:func:`edge_groups` puts together the edges whose two ends are the same two
points.  Each point gets a 64-bit hash of its coordinates' bits, each edge
a hash of its two ends' hashes (the smaller first, so that both directions
agree); the edges are sorted on that hash with their direction and their
index packed into its low bits, which one ``np.sort`` of 64-bit integers
does far faster than an ``argsort``.  The hash only proposes the groups:
every edge is then compared, coordinate by coordinate, with the one before
it in its group, and a group that holds more than one segment (a collision
of the shortened hashes) is sorted out on the exact coordinates.  The
groups are exactly those of the exact coordinates.
"""

from __future__ import annotations

import numpy as np

_M1, _M2, _SEED = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)
#: Edges compared per block.
_BLOCK = 1 << 20


def edge_groups(coords: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The edges from ``coords[start[k]]`` to ``coords[end[k]]`` grouped by segment.

    Returns
    -------
    order : ndarray of int64 — the edges sorted by group, then direction, then index
    group : ndarray of int64 — the group of each sorted edge, 0, 1, … in order
    forward : ndarray of bool — the direction of each sorted edge (one direction of a segment is forward, the
        other not; an edge of length 0 is not forward)
    """
    n = int(start.size)
    point = _point_hashes(coords)
    head = point[start]
    high = point[end]
    del point
    forward = head < high
    low = np.minimum(head, high)
    np.maximum(head, high, out=high)
    del head
    high += _SEED
    low ^= _mix(high)
    del high
    packed = _mix(low)
    index_bits = max(1, (n - 1).bit_length())
    shift = np.uint64(index_bits + 1)
    packed >>= shift
    packed <<= shift
    packed |= forward.astype(np.uint64) << np.uint64(index_bits)
    del forward
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64((1 << index_bits) - 1)).astype(start.dtype)
    forward_sorted = ((packed >> np.uint64(index_bits)) & np.uint64(1)).astype(bool)
    packed >>= shift
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(packed[1:], packed[:-1], out=new[1:])
    del packed
    _separate_collisions(coords, start, end, forward_sorted, new, order)
    return order, np.cumsum(new, dtype=start.dtype) - 1, forward_sorted


def _point_hashes(coords: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each point's coordinates (−0.0 hashed as 0.0, which it equals)."""
    x = (coords[:, 0] + 0.0).view(np.uint64)
    y = (coords[:, 1] + 0.0).view(np.uint64)
    return _mix(x ^ _mix(y + _SEED))


def _mix(h: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser of each value, in place."""
    h ^= h >> np.uint64(30)
    h *= _M1
    h ^= h >> np.uint64(27)
    h *= _M2
    h ^= h >> np.uint64(31)
    return h


def _separate_collisions(coords: np.ndarray, start: np.ndarray, end: np.ndarray, forward: np.ndarray,
                         new: np.ndarray, order: np.ndarray) -> None:
    """Check every sorted edge against the one before it in its group (``new``: starts a group); sort the groups
    that hold more than one segment out on the exact coordinates, in place of ``order``, ``forward``, ``new``."""
    point = np.ascontiguousarray(coords).view(np.complex128).ravel()  # x + iy: one comparison per point
    same = np.ones(new.size, dtype=bool)
    for lo in range(0, new.size, _BLOCK):  # in blocks that overlap by one edge, to bound the temporaries
        block = slice(max(lo - 1, 0), min(lo + _BLOCK, new.size))
        edge, ahead = order[block], forward[block]
        head, tail = start[edge], end[edge]
        for ends in (np.where(ahead, head, tail), np.where(ahead, tail, head)):
            values = point[ends]
            same[block][1:] &= values[1:] == values[:-1]
    mixed = ~same & ~new
    if not mixed.any():
        return
    group = np.cumsum(new) - 1
    at = np.flatnonzero(np.isin(group, group[mixed]))
    edges = order[at]
    a, b = coords[start[edges]], coords[end[edges]]
    ahead = (a[:, 0] < b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] < b[:, 1]))  # a before b: forward
    ends = np.column_stack([np.where(ahead[:, None], a, b), np.where(ahead[:, None], b, a)]) + 0.0  # −0.0 is 0.0
    _, segment = np.unique(ends, axis=0, return_inverse=True)
    segment = segment.ravel()
    resort = np.lexsort((edges, ahead, segment, group[at]))
    order[at], forward[at] = edges[resort], ahead[resort]
    key = np.column_stack([group[at][resort], segment[resort]])
    new[at] = np.r_[True, (key[1:] != key[:-1]).any(axis=1)]
