"""The plan layer as one Arrow table, for GDAL's Arrow writer.

The table holds what :meth:`dualuse.plan.Plan.to_geodataframe` holds, in
its order and with the Arrow types ``pyogrio.write_dataframe`` gives that
frame (text as ``large_string``, NaN as null, the geometry as WKB, polygons
promoted to multipolygons in a layer that mixes both), so that the file is
the same whichever way it is written.  The columns are taken from the
input frame and the plan's arrays without a pandas frame in between: the
numeric ones without a copy, the text ones as the Arrow arrays they were
read into; simple polygons' WKB is assembled from their vertices
(:mod:`dualuse.export.polygons`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from dualuse.export.polygons import SimplePolygons, polygon_wkb
from dualuse.plan import Plan

if TYPE_CHECKING:
    import pyarrow as pa

#: The name of the plan layer's geometry column.
GEOMETRY_COLUMN = "geom"


@dataclass(frozen=True)
class LayerTable:
    """A layer ready for ``pyogrio.write_arrow``.

    Attributes
    ----------
    table : pyarrow.Table — the fields in order, then the geometry column (WKB)
    geometry_type : str — "Polygon" or "MultiPolygon"
    crs : str or None — "EPSG:<code>", or WKT1 where the CRS has no EPSG code
    """

    table: pa.Table
    geometry_type: str
    crs: str | None


def plan_table(plan: Plan, polygons: SimplePolygons | None = None) -> LayerTable | None:
    """The plan layer as an Arrow table; None where a column needs the conversions of
    ``pyogrio.write_dataframe`` (a Python-object, categorical or time-zone column of the input), a
    column is named as the geometry column, or a geometry is not a polygon or multipolygon.

    Parameters
    ----------
    plan : Plan
    polygons : SimplePolygons, optional — the vertices of the parcels when every one is a simple polygon
        (:func:`~dualuse.export.polygons.simple_vertices`), whose WKB is then assembled from them
    """
    import pyarrow as pa  # an optional dependency (the ``arrow`` extra)

    source = plan.region.parcels
    geometry_name = source.geometry.name
    values = plan.parcel_values()
    names: list[str] = []
    arrays: list[Any] = []
    for column in source.columns:
        if column == geometry_name:
            continue
        array = _input_column(source[column])
        if array is None:
            return None
        names.append(f"input_{column}" if column in values else column)
        arrays.append(array)
    for column, array in values.items():
        names.append(column)
        arrays.append(pa.array(array, from_pandas=True))
    del values
    if GEOMETRY_COLUMN in names:  # geopandas refuses a second column of the geometry's name
        return None
    geometry = _geometry(np.asarray(source.geometry.array), polygons)
    if geometry is None:
        return None
    wkb, geometry_type = geometry
    names.append(GEOMETRY_COLUMN)
    arrays.append(wkb)
    return LayerTable(pa.table(arrays, names=names), geometry_type, _crs(source.crs))


def _input_column(values: pd.Series) -> pa.Array | pa.ChunkedArray | None:
    """An input column as Arrow: numbers, flags and naive times from their numpy array, text as large
    strings; None for a column pyogrio would first convert (objects, categories, time zones)."""
    import pyarrow as pa

    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):
        return pa.array(values).cast(pa.large_string())
    if isinstance(dtype, np.dtype) and dtype.kind in "biufM":
        return pa.array(values.to_numpy(), from_pandas=True)
    return None


def _geometry(geometry: np.ndarray, polygons: SimplePolygons | None) -> tuple[pa.Array, str] | None:
    """The WKB column and the layer's geometry type; None unless every geometry is a polygon or
    multipolygon."""
    import pyarrow as pa

    if polygons is not None:
        built = polygon_wkb(polygons)
        if built is not None:
            buffer, offsets = built
            if offsets[-1] < np.iinfo(np.int32).max:
                return pa.Array.from_buffers(pa.binary(), polygons.n,
                                             [None, pa.py_buffer(offsets.astype(np.int32)),
                                              pa.py_buffer(buffer)]), "Polygon"
    kinds = shapely.get_type_id(geometry)
    polygon = kinds == shapely.GeometryType.POLYGON
    multi = kinds == shapely.GeometryType.MULTIPOLYGON
    if not (polygon | multi).all():
        return None
    if multi.any() and polygon.any():  # a GeoPackage layer holds one type: pyogrio promotes the polygons
        geometry = geometry.copy()
        geometry[polygon] = shapely.multipolygons(np.atleast_2d(geometry[polygon]), axis=0)
    return pa.array(shapely.to_wkb(geometry), type=pa.binary()), "MultiPolygon" if multi.any() else "Polygon"


def _crs(crs: Any) -> str | None:
    """The CRS as ``pyogrio.write_dataframe`` hands it to GDAL."""
    if not crs:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt("WKT1_GDAL")
