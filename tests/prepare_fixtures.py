"""Small inputs for ``dualuse prepare`` whose results can be worked out by hand.

The area of interest is a 2 km × 2 km square in UTM zone 33N (EPSG:32633),
x 499,000–501,000 m, y 5,000,000–5,002,000 m, stored in longitude/latitude
(EPSG:4326).  Tiled with ``--crs EPSG:32633 --shape square --cell-ha 100`` it
gives four 1 km × 1 km parcels, numbered north to south, west to east:

    1 NW  x 499,000–500,000  y 5,001,000–5,002,000
    2 NE  x 500,000–501,000  y 5,001,000–5,002,000
    3 SW  x 499,000–500,000  y 5,000,000–5,001,000
    4 SE  x 500,000–501,000  y 5,000,000–5,001,000

The line x = 500,000 m is the zone's central meridian, 15° E, so a raster in
degrees split at 15° E splits the parcels west | east exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import Affine

UTM = "EPSG:32633"
LONLAT = "EPSG:4326"
X0, Y0 = 499_000.0, 5_000_000.0  # south-west corner of the AOI [m, UTM 33N]
SIDE_M = 2_000.0
#: Parcel centroids [m, UTM 33N] by parcel_id.
CENTROIDS = {1: (499_500.0, 5_001_500.0), 2: (500_500.0, 5_001_500.0),
             3: (499_500.0, 5_000_500.0), 4: (500_500.0, 5_000_500.0)}


def write_raster(path: Path, data: np.ndarray, crs: str, left: float, top: float, res: float,
                 nodata: float | None = None, dtype: str | None = None, mask: np.ndarray | None = None,
                 scale: float | None = None) -> Path:
    """Write a one-band GeoTIFF, north up, with square pixels of ``res`` CRS units."""
    dtype = dtype or str(data.dtype)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=dtype, crs=crs, transform=Affine(res, 0.0, left, 0.0, -res, top), nodata=nodata) as dst:
        dst.write(data.astype(dtype), 1)
        if mask is not None:
            dst.write_mask(np.where(mask, 255, 0).astype(np.uint8))
        if scale is not None:
            dst.scales = (scale,)
    return path


def write_vector(path: Path, geometries: Sequence[shapely.Geometry], crs: str | None, layer: str = "data",
                 to_crs: str | None = None, **columns: Sequence[object]) -> Path:
    """Write geometries given in ``crs`` to a GeoPackage, reprojected to ``to_crs`` if given."""
    frame = gpd.GeoDataFrame(dict(columns), geometry=list(geometries), crs=crs)
    if to_crs is not None:
        frame = frame.set_geometry(frame.geometry.segmentize(10.0)).to_crs(to_crs)
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    return path


def aoi_square(path: Path, to_crs: str = LONLAT) -> Path:
    """The 2 km AOI square, stored in ``to_crs``."""
    return write_vector(path, [shapely.box(X0, Y0, X0 + SIDE_M, Y0 + SIDE_M)], UTM, to_crs=to_crs, name=["aoi"])


def pvout_yearly(path: Path) -> Path:
    """500 m pixels offset by 250 m from the parcels, so each parcel covers 3 × 3 pixels partly.

    A parcel covers its centre pixel wholly, the four edge pixels by half and
    the four corner pixels by a quarter: weights (0.5, 1, 0.5) per column and
    per row.  Values = column value + row value, so the parcel mean is
    (0.5 c0 + c1 + 0.5 c2) / 2 + (0.5 r0 + r1 + 0.5 r2) / 2.
    """
    columns = np.array([1000.0, 1600.0, 1300.0, 1900.0, 1200.0])
    rows = np.array([0.0, 0.0, 0.0, 100.0, 100.0])
    return write_raster(path, rows[:, None] + columns[None, :], UTM, X0 - 250, Y0 + SIDE_M + 250, 500.0,
                        dtype="float32")


PV_EXPECTED = {1: 1375.0, 2: 1575.0, 3: 1450.0, 4: 1650.0}


def productivity_degrees(path: Path, west: float = 2.0, east: float = 4.0, nodata: float | None = None) -> Path:
    """0.5° pixels in EPSG:4326, split at 15° E: ``west`` on parcels 1 and 3, ``east`` on 2 and 4."""
    data = np.array([[west, east], [west, east]])
    return write_raster(path, data, LONLAT, 14.5, 45.5, 0.5, nodata=nodata, dtype="float32")


def soc_with_nodata(path: Path) -> Path:
    """250 m pixels aligned with the parcels (4 × 4 per parcel), int16, nodata −1.

    Parcel 1: 12 pixels of 40 and 4 nodata pixels → mean 40, coverage 0.75.
    Parcel 2: 8 pixels of 30 and 8 of 60 → mean 45.
    Parcels 3 and 4: 20.
    """
    data = np.full((8, 8), 20, dtype=np.int16)
    data[0:4, 0:4] = 40
    data[0, 0:4] = -1
    data[0:4, 4:8] = 30
    data[0:4, 6:8] = 60
    return write_raster(path, data, UTM, X0, Y0 + SIDE_M, 250.0, nodata=-1, dtype="int16")


def land_cover_esa(path: Path) -> Path:
    """ESA CCI classes on 250 m pixels aligned with the parcels (16 per parcel).

    Parcel 1: 12 × 10 (cropland), 4 × 130 (grassland) → cropland 0.75.
    Parcel 2: 6 × 120 + 2 × 122 (shrubland 0.5), 5 × 130 (grassland), 3 × 190 (artificial) → shrubland.
    Parcel 3: 8 × 0 (no data), 8 × 60 (forest) → forest, coverage 0.5.
    Parcel 4: 10 × 200 + 6 × 220 (bare) → bare.
    """
    data = np.zeros((8, 8), dtype=np.uint8)
    p1 = np.array([10] * 12 + [130] * 4)
    p2 = np.array([120] * 6 + [122] * 2 + [130] * 5 + [190] * 3)
    p3 = np.array([0] * 8 + [60] * 8)
    p4 = np.array([200] * 10 + [220] * 6)
    data[0:4, 0:4] = p1.reshape(4, 4)
    data[0:4, 4:8] = p2.reshape(4, 4)
    data[4:8, 0:4] = p3.reshape(4, 4)
    data[4:8, 4:8] = p4.reshape(4, 4)
    return write_raster(path, data, UTM, X0, Y0 + SIDE_M, 250.0, dtype="uint8")


def degradation_status(path: Path) -> Path:
    """SDG 15.3.1 status, int16, nodata −32768, 250 m pixels aligned with the parcels.

    Parcel 1: 10 × −1, 6 × 0 → −1, degraded share 0.625.
    Parcel 2: 8 × 1, 8 × 0 → a tie, broken towards 0 (order −1, 0, 1); degraded share 0.
    Parcel 3: 4 × −1, 4 × 1, 8 nodata → a tie of −1 and 1 → −1; degraded share 0.5, coverage 0.5.
    Parcel 4: 16 × 1 → 1.
    """
    data = np.zeros((8, 8), dtype=np.int16)
    data[0:4, 0:4] = np.array([-1] * 10 + [0] * 6).reshape(4, 4)
    data[0:4, 4:8] = np.array([1] * 8 + [0] * 8).reshape(4, 4)
    data[4:8, 0:4] = np.array([-1] * 4 + [1] * 4 + [-32768] * 8).reshape(4, 4)
    data[4:8, 4:8] = 1
    return write_raster(path, data, UTM, X0, Y0 + SIDE_M, 250.0, nodata=-32768, dtype="int16")


def dem_plane_utm(path: Path, dz_dx: float = 0.05, dz_dy: float = 0.1) -> Path:
    """A tilted plane z = 100 + dz_dx·(x − X0) + dz_dy·(y − Y0) [m] on 100 m pixels, 500 m beyond the AOI."""
    left, top, res = X0 - 500, Y0 + SIDE_M + 500, 100.0
    n = int((SIDE_M + 1000) / res)
    x = left + res * (np.arange(n) + 0.5)
    y = top - res * (np.arange(n) + 0.5)
    z = 100 + dz_dx * (x[None, :] - X0) + dz_dy * (y[:, None] - Y0)
    return write_raster(path, z, UTM, left, top, res, dtype="float64")


def dem_plane_degrees(path: Path, metres_per_degree_lat: float, nodata_east_of: float | None = None) -> Path:
    """z = metres_per_degree_lat · (lat − 45) on 0.001° pixels; nodata (−9999) east of a longitude if given."""
    left, top, res = 14.97, 45.19, 0.001
    nx, ny = 60, 70
    lat = top - res * (np.arange(ny) + 0.5)
    lon = left + res * (np.arange(nx) + 0.5)
    z = np.repeat((metres_per_degree_lat * (lat - 45.0))[:, None], nx, axis=1)
    if nodata_east_of is not None:
        z[:, lon > nodata_east_of] = -9999.0
    return write_raster(path, z, LONLAT, left, top, res, nodata=-9999.0, dtype="float32")
