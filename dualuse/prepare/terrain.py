"""Slope from a DEM: Horn's finite difference on a projected grid, written block by block to a GeoTIFF."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import rasterio
import shapely
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from dualuse.prepare.geometry import span, to_crs
from dualuse.prepare.zonal import Raster, open_raster

#: Mean Earth radius [m] (IUGG), for the metre size of a pixel in degrees.
EARTH_RADIUS_M = 6_371_008.8
#: DEM cells processed at once when computing slope (one square block).
SLOPE_BLOCK = 1024
#: Pixels of DEM read beyond the area of interest on every side, so that edge pixels have neighbours.
MARGIN_PX = 2


@dataclass
class _SlopeGrid:
    """The grid slope is computed on: a window of ``reader`` and its pixel size in metres."""

    reader: Any
    col_off: int
    row_off: int
    width: int
    height: int
    transform: Affine
    dx_m: float
    dy_m: float
    crs: Any
    conversion: str


def slope_from_dem(dem_path: str, aoi: shapely.Geometry, crs: pyproj.CRS, out_path: str) -> dict[str, Any]:
    """Write a slope raster [degrees] over the area of interest, computed on a projected grid.

    A DEM in a projected CRS is used on its own grid (horizontal units converted
    to metres); a DEM in degrees is warped (bilinear) to ``crs`` at about its own
    resolution in metres.  Slope is Horn's (1981) 3×3 finite difference, the
    method of ``gdaldem slope``; a pixel next to a nodata pixel gets no slope.
    Elevations must be in metres.  The DEM is read block by block.

    Returns a description of the input for the ``prepare_sources`` table.
    """
    with open_raster(dem_path, "--dem", aoi, crs) as raster:
        grid = _warped_grid(raster, aoi, crs) if raster.geographic else _own_grid(raster, aoi, crs)
        try:
            _write_slope(grid, out_path)
        finally:
            if grid.reader is not raster.dataset:
                grid.reader.close()
        return raster.describe(grid.conversion)


def _warped_grid(raster: Raster, aoi: shapely.Geometry, crs: pyproj.CRS) -> _SlopeGrid:
    """A DEM in degrees, warped (bilinear) to ``crs`` at about its own resolution in metres."""
    src = raster.dataset
    lat = math.radians(to_crs(aoi.centroid, crs, pyproj.CRS.from_epsg(4326)).y)
    xres_deg, yres_deg = src.res
    res_m = math.sqrt(math.radians(xres_deg) * math.cos(lat) * math.radians(yres_deg)) * EARTH_RADIUS_M
    minx, miny, maxx, maxy = aoi.bounds
    left, top = minx - MARGIN_PX * res_m, maxy + MARGIN_PX * res_m
    width = math.ceil((maxx - minx) / res_m) + 2 * MARGIN_PX
    height = math.ceil((maxy - miny) / res_m) + 2 * MARGIN_PX
    transform = Affine(res_m, 0.0, left, 0.0, -res_m, top)
    extra: dict[str, Any] = {"src_nodata": src.nodata, "nodata": src.nodata} if src.nodata is not None \
        else {"add_alpha": True}
    reader = WarpedVRT(src, crs=crs.to_wkt(), transform=transform, width=width, height=height,
                       resampling=Resampling.bilinear, **extra)
    return _SlopeGrid(reader, 0, 0, width, height, transform, res_m, res_m, crs.to_wkt(),
                      f"warped to {crs.name} at {res_m:.4g} m (bilinear), Horn slope in degrees")


def _own_grid(raster: Raster, aoi: shapely.Geometry, crs: pyproj.CRS) -> _SlopeGrid:
    """A projected DEM on its own grid: the window over the area of interest, with a margin."""
    src = raster.dataset
    to_metres = raster.crs.axis_info[0].unit_conversion_factor if raster.crs.axis_info else 1.0
    there = to_crs(shapely.segmentize(aoi.envelope, span(aoi) / 16), crs, raster.crs).bounds
    window = rasterio.windows.from_bounds(*there, transform=src.transform)
    window = Window(math.floor(window.col_off) - MARGIN_PX, math.floor(window.row_off) - MARGIN_PX,
                    math.ceil(window.width) + 2 * MARGIN_PX + 1, math.ceil(window.height) + 2 * MARGIN_PX + 1)
    window = window.intersection(Window(0, 0, src.width, src.height))
    col_off, row_off = int(window.col_off), int(window.row_off)
    return _SlopeGrid(src, col_off, row_off, int(window.width), int(window.height),
                      src.transform @ Affine.translation(col_off, row_off),
                      src.res[0] * to_metres, src.res[1] * to_metres, src.crs,
                      "Horn slope in degrees on the DEM's own grid")


def _write_slope(grid: _SlopeGrid, out_path: str) -> None:
    """Compute slope block by block over ``grid`` and write it as a tiled float32 GeoTIFF (NaN: no slope)."""
    width, height = grid.width, grid.height
    profile = {"driver": "GTiff", "dtype": "float32", "count": 1, "width": width, "height": height,
               "crs": grid.crs, "transform": grid.transform, "nodata": float("nan"), "tiled": True,
               "blockxsize": 256, "blockysize": 256, "compress": "deflate"}
    with rasterio.open(out_path, "w", **profile) as dst:
        for r0 in range(0, height, SLOPE_BLOCK):
            for c0 in range(0, width, SLOPE_BLOCK):
                nr, nc = min(SLOPE_BLOCK, height - r0), min(SLOPE_BLOCK, width - c0)
                z = _read_padded(grid.reader, grid.col_off, grid.row_off, width, height,
                                 c0 - 1, r0 - 1, nc + 2, nr + 2)
                dst.write(horn_slope_deg(z, grid.dx_m, grid.dy_m).astype(np.float32), 1,
                          window=Window(c0, r0, nc, nr))


def _read_padded(reader: Any, col_off: int, row_off: int, width: int, height: int,
                 c0: int, r0: int, nc: int, nr: int) -> np.ndarray:
    """Elevations of a block of the slope grid plus a one-pixel halo, NaN where there are none."""
    out = np.full((nr, nc), np.nan)
    c1, r1 = max(c0, 0), max(r0, 0)
    c2, r2 = min(c0 + nc, width), min(r0 + nr, height)
    if c2 <= c1 or r2 <= r1:
        return out
    block = reader.read(1, window=Window(col_off + c1, row_off + r1, c2 - c1, r2 - r1), masked=True)
    out[r1 - r0:r2 - r0, c1 - c0:c2 - c0] = block.astype(np.float64).filled(np.nan)
    return out


def horn_slope_deg(z: np.ndarray, dx_m: float, dy_m: float) -> np.ndarray:
    r"""Slope [degrees] of the inner pixels of an elevation block [m] with a one-pixel halo.

    Horn (1981):

    .. math::
        \frac{\partial z}{\partial x} = \frac{(c + 2f + i) - (a + 2d + g)}{8\,\Delta x},\quad
        \frac{\partial z}{\partial y} = \frac{(g + 2h + i) - (a + 2b + c)}{8\,\Delta y},\quad
        \text{slope} = \arctan\sqrt{(\partial z/\partial x)^2 + (\partial z/\partial y)^2}

    with ``a b c / d e f / g h i`` the 3×3 window, north up.  NaN in the window gives NaN.
    """
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    dz_dx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * dx_m)
    dz_dy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * dy_m)
    return np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))
