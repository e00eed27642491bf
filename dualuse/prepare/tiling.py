"""The area of interest → parcels: cells of a fixed lattice in a projected CRS, clipped, slivers merged, numbered.

Cells lie on a square or pointy-top hexagonal lattice anchored at the CRS
origin, so the same cells come out for any area of interest; cells are
clipped to the area of interest and clipped pieces too small to stand alone
join the neighbour with which they share the longest border.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import LambertAzimuthalEqualAreaConversion

from dualuse.errors import InputError, UsageError
from dualuse.prepare.geometry import polygonal, to_crs
from dualuse.prepare.vectors import read_vector
from dualuse.vocabulary import M2_PER_HA


def read_aoi(path: str, layer: str | None = None) -> tuple[shapely.Geometry, pyproj.CRS]:
    """The area of interest as one valid (Multi)Polygon and its CRS."""
    frame = read_vector(path, "AOI", layer, "--aoi-layer")
    geoms = np.asarray(frame.geometry.values)
    kinds = set(shapely.get_type_id(geoms).tolist())
    if not kinds or not kinds <= {3, 6, 7}:
        raise InputError("has no polygons: the area of interest must be a polygon layer", path=path,
                         layer=frame.attrs["layer"], fix="give the boundary polygon(s) of the area to plan")
    geoms = shapely.make_valid(geoms, method="structure")
    aoi = polygonal(shapely.union_all(geoms))
    if aoi.is_empty or aoi.area <= 0:
        raise InputError("its polygons have no area", path=path, layer=layer,
                         fix="repair the polygons (QGIS 'Fix geometries')")
    assert frame.crs is not None
    return aoi, pyproj.CRS.from_user_input(frame.crs)


def tiling_crs(aoi: shapely.Geometry, aoi_crs: pyproj.CRS, requested: str | None) -> pyproj.CRS:
    """The projected CRS to tile in: ``requested``, or a Lambert azimuthal equal-area CRS centred on the AOI.

    An azimuthal equal-area projection keeps every parcel's area exact and its
    shape and distances within a fraction of a percent across a region a few
    hundred km wide.
    """
    if requested is not None:
        try:
            crs = pyproj.CRS.from_user_input(requested)
        except pyproj.exceptions.CRSError as exc:
            raise UsageError(f"--crs {requested!r} is not a CRS ({exc})") from None
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        if not crs.is_projected or unit not in ("metre", "meter"):
            raise UsageError(f"--crs {requested} must be a projected CRS in metres (it is "
                             f"{'projected in ' + unit if crs.is_projected else 'geographic'}); e.g. a UTM zone "
                             "or a national equal-area CRS")
        return crs
    centre = to_crs(aoi.envelope.centroid, aoi_crs, pyproj.CRS.from_epsg(4326))
    lon, lat = round(centre.x, 2), round(centre.y, 2)
    conversion = LambertAzimuthalEqualAreaConversion(latitude_natural_origin=lat, longitude_natural_origin=lon)
    return ProjectedCRS(conversion=conversion, geodetic_crs=pyproj.CRS.from_epsg(4326),
                        name=f"Lambert azimuthal equal-area on {lat:g}, {lon:g} (WGS 84)")


def tile_parcels(aoi: shapely.Geometry, crs: pyproj.CRS, cell_ha: float, shape: str, sliver_share: float
                 ) -> gpd.GeoDataFrame:
    """The parcels of an area of interest (in ``crs``), with a text ``parcel_id`` P0000001, P0000002, … in
    tiling order (as ``dualuse example`` writes them).

    See :func:`tile_polygon` for the cells and their order.
    """
    geometry = tile_polygon(aoi, cell_ha, shape, sliver_share)
    return gpd.GeoDataFrame({"parcel_id": parcel_ids(geometry.size)}, geometry=geometry, crs=crs)


def parcel_ids(count: int) -> np.ndarray:
    """Text ids P0000001 … for ``count`` parcels, zero-padded to at least 7 digits so they sort as numbers."""
    width = max(7, len(str(count)))
    return np.array([f"P{k:0{width}d}" for k in range(1, count + 1)], dtype=object)


def tile_polygon(aoi: shapely.Geometry, cell_ha: float, shape: str = "hex", sliver_share: float = 0.25
                 ) -> np.ndarray:
    """Cover a polygon (in a projected CRS in metres) with parcels of ``cell_ha`` hectares.

    Cells lie on a lattice anchored at the CRS origin (the same cells for any
    AOI), are clipped to the polygon, and every clipped piece smaller than
    ``sliver_share × cell_ha`` is merged into the neighbouring parcel with
    which it shares the longest border (a piece that touches no full-size
    parcel stays a parcel of its own).

    Returns
    -------
    ndarray of shapely geometries — Polygon or MultiPolygon, ordered north to south, west to east
    """
    cell_m2 = cell_ha * M2_PER_HA
    lattice = _square_lattice if shape == "square" else _hex_lattice
    clipped = [_clip_cells(cells, row, col, aoi) for cells, row, col in lattice(aoi.bounds, cell_m2)]
    pieces = np.concatenate([c[0] for c in clipped] + [np.empty(0, dtype=object)])
    row = np.concatenate([c[1] for c in clipped] + [np.empty(0, dtype=np.int64)])
    col = np.concatenate([c[2] for c in clipped] + [np.empty(0, dtype=np.int64)])
    real = shapely.area(pieces) > 0
    pieces, row, col = pieces[real], row[real], col[real]
    if pieces.size == 0:
        return pieces
    # a sliver touching only other slivers joins a full-size parcel once one of those has joined it
    while True:
        kept = _merge_slivers(pieces, sliver_share * cell_m2)
        if kept["index"].size == pieces.size:
            break
        pieces, row, col = kept["geometry"], row[kept["index"]], col[kept["index"]]
    # lattice row (north first), then column, then west to east among pieces of one cell
    order = np.lexsort((shapely.get_x(shapely.centroid(pieces)), col, -row))
    return pieces[order]


#: Lattice cells made at once (a strip of whole rows).
MAX_CELLS_PER_STRIP = 200_000


def _square_lattice(bounds: tuple[float, float, float, float], cell_m2: float
                    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Cells of a square lattice covering ``bounds``, in strips of rows, with their lattice rows and columns.

    Vertices are integer multiples of the side from the origin, so neighbouring
    cells share exactly the same vertex coordinates.
    """
    minx, miny, maxx, maxy = bounds
    step = math.sqrt(cell_m2)
    cols = np.arange(math.floor(minx / step), math.ceil(maxx / step))
    rows = np.arange(math.floor(miny / step), math.ceil(maxy / step))
    per_strip = max(1, MAX_CELLS_PER_STRIP // max(cols.size, 1))
    offsets = np.array([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)])
    for first in range(0, rows.size, per_strip):
        r, c = np.meshgrid(rows[first:first + per_strip], cols, indexing="ij")
        ix = c.reshape(-1, 1) + offsets[:, 0]
        iy = r.reshape(-1, 1) + offsets[:, 1]
        yield shapely.polygons(np.stack([ix * step, iy * step], axis=-1)), r.ravel(), c.ravel()


def _hex_lattice(bounds: tuple[float, float, float, float], cell_m2: float
                 ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Cells of a pointy-top hexagonal lattice covering ``bounds``, in strips of rows, with their rows and columns.

    A hexagon of circumradius R has area 3√3/2 R²; its vertices are integer
    multiples of the half-steps hx = √3 R / 2 across and hy = R / 2 up, so
    neighbouring cells share exactly the same vertex coordinates.  Odd rows
    are shifted by hx.
    """
    minx, miny, maxx, maxy = bounds
    radius = math.sqrt(2.0 * cell_m2 / (3.0 * math.sqrt(3.0)))
    hx, hy = math.sqrt(3.0) * radius / 2.0, radius / 2.0
    rows = np.arange(math.floor((miny - radius) / (3 * hy)), math.ceil((maxy + radius) / (3 * hy)) + 1)
    cols = np.arange(math.floor((minx - 2 * hx) / (2 * hx)), math.ceil((maxx + 2 * hx) / (2 * hx)) + 1)
    per_strip = max(1, MAX_CELLS_PER_STRIP // max(cols.size, 1))
    offsets = np.array([(0, 2), (-1, 1), (-1, -1), (0, -2), (1, -1), (1, 1), (0, 2)])
    for first in range(0, rows.size, per_strip):
        r, c = np.meshgrid(rows[first:first + per_strip], cols, indexing="ij")
        centre_x = (2 * c + (r & 1)).reshape(-1, 1)
        centre_y = (3 * r).reshape(-1, 1)
        ix = centre_x + offsets[:, 0]
        iy = centre_y + offsets[:, 1]
        yield shapely.polygons(np.stack([ix * hx, iy * hy], axis=-1)), r.ravel(), c.ravel()


def _clip_cells(cells: np.ndarray, row: np.ndarray, col: np.ndarray, aoi: shapely.Geometry
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The polygonal pieces of the cells inside ``aoi``, with their cell's lattice row and column.

    Cells wholly inside are kept as they are; the others are clipped, and a
    cell cut into several pieces gives one piece each.
    """
    shapely.prepare(aoi)
    touching = shapely.intersects(aoi, cells)
    cells, row, col = cells[touching], row[touching], col[touching]
    inside = shapely.contains_properly(aoi, cells)
    clipped = shapely.intersection(cells[~inside], aoi)
    parts, of = shapely.get_parts(clipped, return_index=True)
    polygonal_part = np.isin(shapely.get_type_id(parts), (3, 6))
    parts, of = parts[polygonal_part], of[polygonal_part]
    parts, sub = shapely.get_parts(parts, return_index=True)
    of = of[sub]
    edge_row, edge_col = row[~inside][of], col[~inside][of]
    return (np.concatenate([cells[inside], parts]), np.concatenate([row[inside], edge_row]),
            np.concatenate([col[inside], edge_col]))


def _merge_slivers(pieces: np.ndarray, min_area_m2: float) -> dict[str, np.ndarray]:
    """Merge every piece smaller than ``min_area_m2`` into its full-size neighbour with the longest shared border.

    Returns the resulting ``geometry`` and, for each, the ``index`` of the piece it grew from.
    """
    small = shapely.area(pieces) < min_area_m2
    unchanged = {"geometry": pieces, "index": np.arange(pieces.size)}
    if not small.any() or small.all():
        return unchanged
    sliver, receiver = _receivers(pieces, small)
    if sliver.size == 0:
        return unchanged
    merged = pieces.copy()
    # a receiver may take several slivers: union them one round at a time, vectorised per round
    order = np.argsort(receiver, kind="stable")
    sliver, receiver = sliver[order], receiver[order]
    start = np.r_[0, np.flatnonzero(receiver[1:] != receiver[:-1]) + 1]
    rank = np.arange(receiver.size) - np.repeat(start, np.diff(np.r_[start, receiver.size]))
    for k in range(int(rank.max()) + 1):
        this = rank == k
        merged[receiver[this]] = shapely.union(merged[receiver[this]], pieces[sliver[this]])
    dropped = np.zeros(pieces.size, dtype=bool)
    dropped[sliver] = True
    return {"geometry": merged[~dropped], "index": np.flatnonzero(~dropped)}


def _receivers(pieces: np.ndarray, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each small piece that borders a full-size one, and the full-size neighbour with the longest shared border."""
    big_index = np.flatnonzero(~small)
    small_index = np.flatnonzero(small)
    s, b = shapely.STRtree(pieces[big_index]).query(pieces[small_index], predicate="intersects")
    if s.size == 0:
        return s, b
    shared_m = shapely.length(shapely.intersection(shapely.boundary(pieces[small_index[s]]),
                                                   shapely.boundary(pieces[big_index[b]])))
    ok = shared_m > 0
    s, b, shared_m = s[ok], b[ok], shared_m[ok]
    if s.size == 0:  # slivers that touch full-size pieces only at points
        return s, b
    order = np.lexsort((-shared_m, s))
    s, b = s[order], b[order]
    first = np.r_[True, s[1:] != s[:-1]]
    return small_index[s[first]], big_index[b[first]]
