"""Which parcels touch, and along how much boundary: the adjacency of a region's parcels, from their geometry.

Two parcels are adjacent when their boundaries share a line; the length of
that line [km] is the edge's weight.  Parcels that meet at a corner only
share no length and are not adjacent.  Boundaries are intersected in the input's
own CRS, as they are stored: two parcels separated by a gap or a sliver, or
whose common side was digitised twice with vertices that do not coincide,
share nothing along it (snap the layer first, e.g. QGIS "Snap geometries to
layer").  The shared lines' lengths are measured in an azimuthal
equidistant projection centred on the region (scale error below 0.1 % within
700 km of the centre), whatever the input CRS.

The adjacency is computed once per region and kept beside the region file,
in ``<region file>.adjacency.npz``, keyed by the region file's SHA-256 and
the parcel layer's name: any change to the file's bytes makes the cache stale
and it is computed again.  (A table inside the region GeoPackage would change
the input's digest that every plan records, and would go stale without
notice when the parcels are edited in a GIS.)  The cache is written when a
model needs the adjacency (a scenario with a boundary penalty); computed only
for a plan's connectivity figures, it stays in the process's memory.  A cache
that cannot be written (a read-only folder) is not an error: the adjacency is
then computed again by the next process that needs it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from dualuse.errors import OutputError
from dualuse.files import atomic_path
from dualuse.inputs.region import Region
from dualuse.inputs.schema import measuring_geometry

M_PER_KM = 1000.0
#: The suffix of the adjacency cache beside a region file.
CACHE_SUFFIX = ".adjacency.npz"
#: Shared lengths shorter than this [km] are corners or rounding, not boundary (1 cm).
SHORTEST_EDGE_KM = 1e-5

_MEMORY: dict[tuple[str, str], Adjacency] = {}


@dataclass(frozen=True, eq=False)
class Adjacency:
    """The edges between adjacent parcels: ``a[e] < b[e]`` (parcel indices, in the layer's order) and the
    length of the boundary they share, ``shared_km[e]`` [km]."""

    n_parcels: int
    a: np.ndarray
    b: np.ndarray
    shared_km: np.ndarray

    @property
    def n_edges(self) -> int:
        return int(self.a.size)


def parcel_adjacency(geometry: gpd.GeoSeries) -> Adjacency:
    """The adjacency of polygons: every pair whose boundaries share a line, with its length [km].

    Candidate pairs come from a shapely ``STRtree`` query (``intersects``);
    each candidate's shared line is the intersection of the two boundaries in
    the input's own CRS (where a vertex of one parcel on the side of another
    lies on it exactly, as the data were drawn), and its length is measured
    once that line is projected to the equidistant CRS of :func:`length_crs`.
    """
    measured, _ = measuring_geometry(geometry)
    shapes = np.asarray(measured.array, dtype=object)
    tree = shapely.STRtree(shapes)
    a, b = tree.query(shapes, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    boundary = shapely.boundary(shapes)
    shared = shapely.intersection(boundary[a], boundary[b])
    line = shapely.length(shared) > 0  # not a corner
    a, b = a[line], b[line]
    lines = gpd.GeoSeries(shared[line], crs=measured.crs)
    if measured.crs is not None and a.size:
        lines = lines.to_crs(length_crs(measured))
    shared_km = np.asarray(lines.length, dtype=float) / M_PER_KM
    edge = shared_km > SHORTEST_EDGE_KM
    order = np.lexsort((b[edge], a[edge]))
    return Adjacency(len(shapes), a[edge][order].astype(np.int64), b[edge][order].astype(np.int64),
                     shared_km[edge][order])


def length_crs(geometry: gpd.GeoSeries) -> str:
    """An azimuthal equidistant projection centred on the geometries' bounding box (in WGS 84)."""
    west, south, east, north = geometry.to_crs("EPSG:4326").total_bounds
    lon = (west + east) / 2.0
    lon = (lon + 180.0) % 360.0 - 180.0
    return f"+proj=aeqd +lat_0={(south + north) / 2.0:.8f} +lon_0={lon:.8f} +datum=WGS84 +units=m +no_defs"


def region_adjacency(region: Region, *, store: bool = True) -> Adjacency:
    """The adjacency of a region's parcels: from this process's memory, the cache beside the region file,
    or computed from the geometry (and then cached beside the file when ``store``)."""
    key = (region.input_sha256, region.layer)
    cache = cache_path(region)
    found = _MEMORY.get(key) if region.input_sha256 else None
    if found is not None and found.n_parcels != region.n_parcels:
        found = None
    on_disk = _read_cache(cache, region) if cache is not None and (found is None or store) else None
    found = found or on_disk
    if found is None:
        found = parcel_adjacency(region.parcels.geometry)
    if store and cache is not None and on_disk is None:
        _write_cache(cache, region, found)
    if region.input_sha256:
        _MEMORY[key] = found
    return found


def cache_path(region: Region) -> Path | None:
    """``<region file>.adjacency.npz`` for a region read from a file, None for one made in memory."""
    if not region.path or not region.input_sha256:
        return None
    return Path(os.fspath(region.path) + CACHE_SUFFIX)


def _read_cache(path: Path, region: Region) -> Adjacency | None:
    """The cached adjacency when it was made from these very bytes and this layer, else None."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if (str(data["input_sha256"]) != region.input_sha256 or str(data["layer"]) != region.layer
                    or int(data["n_parcels"]) != region.n_parcels):
                return None
            return Adjacency(region.n_parcels, data["a"].astype(np.int64), data["b"].astype(np.int64),
                             data["shared_km"].astype(float))
    except (OSError, KeyError, ValueError):
        return None


def _write_cache(path: Path, region: Region, adjacency: Adjacency) -> None:
    """Write the cache atomically; a folder that cannot be written is left alone."""
    with contextlib.suppress(OSError, OutputError):
        with atomic_path(path) as temp, open(temp, "wb") as fh:
            np.savez(fh, input_sha256=np.array(region.input_sha256), layer=np.array(region.layer),
                     n_parcels=np.array(region.n_parcels), a=adjacency.a, b=adjacency.b,
                     shared_km=adjacency.shared_km)
