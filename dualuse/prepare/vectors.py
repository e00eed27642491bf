"""Vector inputs: reading one layer, the protected share of each parcel, the distance to the grid."""

from __future__ import annotations

import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import shapely

from dualuse.errors import InputError, has_extra
from dualuse.prepare.geometry import (
    M_PER_KM,
    crs_name,
    expanded,
    polygonal,
    span,
    to_crs,
)
from dualuse.prepare.input_files import first_line, require_file

#: A parcel is ``protected`` when more than this share of it lies in protected areas.
PROTECTED_MAJORITY = 0.5


def read_vector(path: str, option: str, layer: str | None, layer_option: str, *, where: str | None = None,
                bbox: tuple[float, float, float, float] | None = None, bbox_crs: pyproj.CRS | None = None
                ) -> gpd.GeoDataFrame:
    """Read one vector layer (optionally only features within ``bbox``, given in ``bbox_crs``).

    The layer's name is kept in ``frame.attrs["layer"]``; features without
    geometry are left out.

    Raises :class:`InputError` for an unreadable file, an ambiguous or missing
    layer, a layer without CRS, a bad ``where`` filter.
    """
    layer = _layer_to_read(path, option, layer, layer_option)
    file_crs = _layer_crs(path, layer)
    read_bbox = None
    if bbox is not None and bbox_crs is not None:
        box = shapely.segmentize(shapely.box(*bbox), max(bbox[2] - bbox[0], bbox[3] - bbox[1], 1.0) / 16)
        read_bbox = tuple(to_crs(box, bbox_crs, file_crs).bounds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pyogrio.read_dataframe(path, layer=layer, where=where, bbox=read_bbox, use_arrow=has_extra("arrow"),
                                           fid_as_index=True)
    except Exception as exc:
        if where:
            raise InputError(f"cannot be filtered with {where!r} ({first_line(exc)})", path=path, layer=layer,
                             fix="give an OGR SQL condition on the layer's columns, e.g. "
                                 "\"STATUS <> 'Proposed'\"") from None
        raise InputError(f"cannot be read ({first_line(exc)})", path=path, layer=layer,
                         fix="re-export the layer from its source") from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError("has no geometry", path=path, layer=layer, fix=f"give {option} a layer with geometries")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame.attrs["layer"] = layer
    return frame


def _layer_to_read(path: str, option: str, layer: str | None, layer_option: str) -> str:
    """``layer``, checked to be in the file, or the file's only layer."""
    require_file(path, option)
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises several classes for unreadable files
        raise InputError(f"cannot be opened as a vector file ({first_line(exc)})", path=path,
                         fix=f"give {option} a GeoPackage (or another vector format GDAL reads)") from None
    names = [str(n) for n in layers[:, 0]]
    if layer is None and len(names) > 1:
        raise InputError(f"has {len(names)} layers ({', '.join(names[:8])}); which one is meant?", path=path,
                         fix=f"name it with {layer_option} NAME")
    if layer is not None and layer not in names:
        raise InputError(f"has no layer '{layer}' (layers there: {', '.join(names)})", path=path,
                         fix=f"name one of those with {layer_option}")
    return layer or names[0]


def _layer_crs(path: str, layer: str) -> pyproj.CRS:
    """The CRS of a layer, refused when it has none."""
    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:
        raise InputError(f"cannot be read ({first_line(exc)})", path=path, layer=layer,
                         fix="re-export the layer from its source") from None
    if info.get("crs") is None:
        raise InputError("has no coordinate reference system", path=path, layer=layer,
                         fix="assign the CRS the coordinates are in, e.g. "
                             "`ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg`")
    return pyproj.CRS.from_user_input(info["crs"])


def protected_share(path: str, layer: str | None, where: str | None, parcels: np.ndarray, crs: pyproj.CRS,
                    aoi: shapely.Geometry) -> tuple[np.ndarray, dict[str, Any]]:
    """Share of each parcel's area inside the union of the protected-area polygons.

    Parameters
    ----------
    path, layer, where : the protected-area polygons (``--protected``, ``--protected-layer``,
        ``--protected-where``: an OGR SQL filter)
    parcels : ndarray of shapely geometries — the parcels, in ``crs``
    crs : pyproj.CRS — the tiling CRS
    aoi : shapely geometry — the area of interest, in ``crs``

    Returns
    -------
    share : ndarray — per parcel, 0 to 1
    description : dict — for the ``prepare_sources`` table
    """
    frame = read_vector(path, "--protected", layer, "--protected-layer", where=where, bbox=aoi.bounds,
                        bbox_crs=crs)
    kinds = shapely.get_type_id(frame.geometry.values)
    if (~np.isin(kinds, (3, 6, 7))).any():
        raise InputError(f"has {int((~np.isin(kinds, (3, 6, 7))).sum())} feature(s) that are not polygons",
                         path=path, layer=frame.attrs["layer"],
                         fix="give protected areas as polygons (WDPA: the polygon layer; drop point records, "
                             "or pass --protected-where to select polygons)")
    description = {"path": path, "crs": crs_name(frame.crs), "resolution": "",
                   "conversion": f"{len(frame)} polygon(s)" + (f" where {where}" if where else "")
                                 + f"; protected when more than {PROTECTED_MAJORITY:.0%} of a parcel is inside"}
    share = np.zeros(parcels.size)
    if len(frame) == 0:
        return share, description
    polygons = to_crs(shapely.make_valid(frame.geometry.values, method="structure"),
                      pyproj.CRS.from_user_input(frame.crs), crs)
    polygons = shapely.intersection(polygons, shapely.box(*aoi.bounds))
    parts = shapely.get_parts(polygonal(shapely.union_all(polygons)))
    if parts.size == 0:
        return share, description
    p, q = shapely.STRtree(parts).query(parcels, predicate="intersects")
    inside = shapely.area(shapely.intersection(parcels[p], parts[q]))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.bincount(p, weights=inside, minlength=parcels.size) / shapely.area(parcels)
    return np.clip(share, 0.0, 1.0), description


def grid_distance_km(path: str, layer: str | None, centroids: np.ndarray, crs: pyproj.CRS, aoi: shapely.Geometry
                     ) -> tuple[np.ndarray, dict[str, Any]]:
    """Distance from each parcel's centroid to the nearest grid line [km].

    Lines (``--grid-lines``, ``--grid-lines-layer``) are first read within a
    margin of the AOI as wide as the AOI itself; if some parcel's nearest line
    is farther than that margin, every line is read.  ``centroids`` and
    ``aoi`` are in ``crs``.  Also returns the description for the
    ``prepare_sources`` table.
    """
    margin_m = span(aoi)
    frame = read_vector(path, "--grid-lines", layer, "--grid-lines-layer", bbox=expanded(aoi.bounds, margin_m),
                        bbox_crs=crs)
    distance_m = _nearest_distance_m(frame, centroids, crs, path)
    if distance_m is None or float(distance_m.max()) > margin_m:
        frame = read_vector(path, "--grid-lines", layer, "--grid-lines-layer")
        distance_m = _nearest_distance_m(frame, centroids, crs, path)
    if distance_m is None:
        raise InputError("has no lines", path=path, layer=frame.attrs.get("layer"),
                         fix="give the power lines of the region (e.g. gridfinder or OpenStreetMap power=line), "
                             "or leave out --grid-lines")
    description = {"path": path, "crs": crs_name(frame.crs), "resolution": "",
                   "conversion": f"{len(frame)} line(s); distance from each parcel's centroid"}
    return distance_m / M_PER_KM, description


def _nearest_distance_m(frame: gpd.GeoDataFrame, points: np.ndarray, crs: pyproj.CRS, path: str
                        ) -> np.ndarray | None:
    """Distance from each point to the nearest line of ``frame`` [m]; None when there are no lines."""
    if len(frame) == 0:
        return None
    kinds = shapely.get_type_id(frame.geometry.values)
    if (~np.isin(kinds, (1, 2, 5, 7))).any():
        raise InputError(f"has {int((~np.isin(kinds, (1, 2, 5, 7))).sum())} feature(s) that are not lines",
                         path=path, layer=frame.attrs.get("layer"), fix="give the power lines as lines")
    lines = to_crs(frame.geometry.values, pyproj.CRS.from_user_input(frame.crs), crs)
    _, distance_m = shapely.STRtree(lines).query_nearest(points, return_distance=True, all_matches=False)
    return np.asarray(distance_m, dtype=float)
