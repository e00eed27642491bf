"""Zonal statistics over the parcels: exact area-weighted means and class shares of a raster band.

Rasters are opened through rasterio and checked (one band, a CRS, a north-up
grid, overlap with the area of interest); exactextract reads them one window
at a time (its raster-sequential strategy), never whole, and weighs partial
pixels by the share of each pixel a parcel covers (by spherical area for
rasters in degrees).  Masked pixels (nodata value, internal mask, NaN) are
left out of every statistic; the share of each parcel with valid pixels is
returned as its coverage.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import shapely
from exactextract import exact_extract
from exactextract.feature import Feature, FeatureSource
from exactextract.raster import RasterSource
from rasterio.windows import Window

from dualuse.errors import InputError
from dualuse.prepare.geometry import crs_name, span, to_crs
from dualuse.prepare.input_files import first_line, require_file

#: Raster cells exactextract holds in memory at once (one window of the raster).
MAX_CELLS_IN_MEMORY = 4_000_000
#: A covered share below this is floating-point noise where a parcel edge meets a raster edge: no data.
MIN_COVERAGE = 1e-6
#: GDAL's raster block cache [MB] while preparing (GDAL's default is 5 % of the machine's memory).
GDAL_CACHE_MB = 128


def raster_environment() -> rasterio.Env:
    """The GDAL settings under which rasters are read while preparing (a bounded block cache)."""
    return rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB)


class Raster:
    """An open raster band checked for use as a zonal-statistics source."""

    def __init__(self, dataset: rasterio.DatasetReader, path: str, option: str) -> None:
        self.dataset = dataset
        self.path = path
        self.option = option
        self.crs = pyproj.CRS.from_user_input(dataset.crs.to_wkt())
        self.geographic = self.crs.is_geographic

    def source(self, scaled: bool) -> _WindowSource:
        """The band as an exactextract raster source (with its stored scale and offset when ``scaled``)."""
        return _WindowSource(self.dataset, scaled)

    def describe(self, conversion: str) -> dict[str, Any]:
        """The band's row of the ``prepare_sources`` table, without the count of parcels lacking data."""
        unit = "°" if self.geographic else " " + (self.crs.axis_info[0].unit_name if self.crs.axis_info else "")
        xres, yres = self.dataset.res
        return {"input": self.option.lstrip("-"), "path": self.path, "crs": crs_name(self.crs),
                "resolution": f"{xres:.6g} × {yres:.6g}{unit}", "conversion": conversion}


class open_raster:  # noqa: N801 - used as a context manager, like open()
    """Open a single-band raster for ``option`` and check it can serve the area of interest.

    Raises :class:`InputError` naming the file and the fix when the raster
    cannot be read, has several bands, no CRS, a rotated grid, or does not
    overlap the area of interest at all.
    """

    def __init__(self, path: str, option: str, aoi: shapely.Geometry, aoi_crs: pyproj.CRS,
                 display_path: str | None = None) -> None:
        self.path, self.option, self.aoi, self.aoi_crs = path, option, aoi, aoi_crs
        self.display = display_path or path
        self.dataset: rasterio.DatasetReader | None = None

    def __enter__(self) -> Raster:
        require_file(self.path, self.option)
        try:
            self.dataset = rasterio.open(self.path)
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(f"cannot be opened as a raster ({first_line(exc)})", path=self.display,
                             fix=f"give {self.option} a GeoTIFF (or another raster GDAL reads)") from None
        try:
            self._check_grid(self.dataset)
            raster = Raster(self.dataset, self.display, self.option)
            self._check_overlap(raster)
        except Exception:
            self.__exit__()
            raise
        return raster

    def _check_grid(self, ds: rasterio.DatasetReader) -> None:
        """Refuse several bands, a missing CRS, a rotated or south-up grid."""
        if ds.count != 1:
            raise InputError(f"has {ds.count} bands; {self.option} reads a single band", path=self.display,
                             fix="extract the band you mean, e.g. `gdal_translate -b 1 in.tif band1.tif`")
        if ds.crs is None:
            raise InputError("has no coordinate reference system", path=self.display, layer="band 1",
                             fix="assign the CRS its coordinates are in, e.g. "
                                 "`gdal_edit.py -a_srs EPSG:4326 FILE`")
        t = ds.transform
        if t.b != 0 or t.d != 0 or t.e >= 0:
            raise InputError("has a rotated or south-up grid", path=self.display, layer="band 1",
                             fix="warp it to a north-up grid: `gdalwarp in.tif north_up.tif`")

    def _check_overlap(self, raster: Raster) -> None:
        """Refuse a raster that does not overlap the area of interest at all."""
        ds = raster.dataset
        aoi_there = to_crs(shapely.segmentize(self.aoi.envelope, span(self.aoi) / 16), self.aoi_crs, raster.crs)
        if not shapely.intersects(aoi_there, shapely.box(*ds.bounds)):
            b = ds.bounds
            a = aoi_there.bounds
            raise InputError(
                f"does not overlap the area of interest at all (raster bounds {b.left:.6g}, {b.bottom:.6g}, "
                f"{b.right:.6g}, {b.top:.6g}; area of interest {a[0]:.6g}, {a[1]:.6g}, {a[2]:.6g}, {a[3]:.6g}, "
                f"both in {crs_name(raster.crs)})", path=self.display, layer="band 1",
                fix="give a raster that covers the area of interest, and check that its CRS is the one its "
                    "coordinates are in")

    def __exit__(self, *args: object) -> None:
        if self.dataset is not None:
            self.dataset.close()
            self.dataset = None


class _WindowSource(RasterSource):
    """exactextract raster source reading one window at a time through rasterio.

    Masked pixels (nodata value, internal mask, NaN) come back as NaN, which
    exactextract leaves out of every statistic; the band's scale and offset
    are applied when ``scaled``.
    """

    def __init__(self, dataset: rasterio.DatasetReader, scaled: bool) -> None:
        super().__init__()
        self.ds = dataset
        self.scale = float(dataset.scales[0]) if scaled else 1.0
        self.offset = float(dataset.offsets[0]) if scaled else 0.0
        self.set_name("v")

    def res(self) -> tuple[float, float]:
        return abs(self.ds.transform.a), abs(self.ds.transform.e)

    def extent(self) -> tuple[float, float, float, float]:
        b = self.ds.bounds
        return b.left, b.bottom, b.right, b.top

    def srs_wkt(self) -> str:
        return str(self.ds.crs.wkt)

    def nodata_value(self) -> None:
        return None

    def read_window(self, x0: int, y0: int, nx: int, ny: int) -> np.ndarray:
        band = self.ds.read(1, window=Window(x0, y0, nx, ny), masked=True)
        values = band.astype(np.float64).filled(np.nan)
        if self.scale != 1.0 or self.offset != 0.0:
            values = values * self.scale + self.offset
        return values


class _ParcelFeature(Feature):
    """One parcel handed to exactextract as WKB."""

    def __init__(self, index: int, wkb: bytes) -> None:
        Feature.__init__(self)
        self.index = index
        self.wkb = wkb

    def geometry(self) -> bytes:
        return self.wkb

    def get(self, name: str) -> int:
        return self.index

    def fields(self) -> list[str]:
        return ["pid"]

    def set_geometry_format(self) -> str:
        return "wkb"


class _ParcelSource(FeatureSource):
    """The parcels, in a raster's CRS, as an exactextract feature source (no GeoJSON round trip)."""

    def __init__(self, wkb: np.ndarray, srs_wkt: str) -> None:
        super().__init__()
        self.wkb = wkb
        self.wkt = srs_wkt

    def count(self) -> int:
        return int(self.wkb.size)

    def __iter__(self) -> Iterator[_ParcelFeature]:
        return (_ParcelFeature(i, w) for i, w in enumerate(self.wkb))

    def srs_wkt(self) -> str:
        return self.wkt


class Zones:
    """The parcels as zones for exactextract, reprojected once per raster CRS."""

    def __init__(self, parcels: gpd.GeoDataFrame) -> None:
        self.geometry = np.asarray(parcels.geometry.values)
        self.crs = pyproj.CRS.from_user_input(parcels.crs)
        self.n = len(parcels)
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _in(self, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
        """WKB of the parcels in ``crs`` and their planar areas there [CRS units²]."""
        key = crs.to_wkt()
        if key not in self._cache:
            geoms = to_crs(self.geometry, self.crs, crs)
            self._cache[key] = (shapely.to_wkb(geoms), shapely.area(geoms))
        return self._cache[key]

    def _extract(self, raster: Raster, ops: list[str], scaled: bool) -> pd.DataFrame:
        wkb, _ = self._in(raster.crs)
        source = raster.source(scaled)
        weight = "(coverage_weight=area_spherical_m2)" if raster.geographic else ""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            table = exact_extract(source, _ParcelSource(wkb, source.srs_wkt()),
                                  [op + weight if op in ("mean", "frac") else op for op in ops],
                                  include_cols=["pid"], output="pandas", strategy="raster-sequential",
                                  max_cells_in_memory=MAX_CELLS_IN_MEMORY)
        table = table.set_index("pid").sort_index()
        assert len(table) == self.n, "exactextract returned a row per parcel"
        return table

    def _coverage(self, raster: Raster, count: np.ndarray) -> np.ndarray:
        """Share of each parcel's area with valid pixels, from exactextract's coverage-weighted pixel count."""
        _, area = self._in(raster.crs)
        xres, yres = raster.dataset.res
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.nan_to_num(count) * (xres * yres) / area
        share = np.clip(share, 0.0, 1.0)
        share[share < MIN_COVERAGE] = 0.0
        return share

    def mean(self, raster: Raster, factor: float) -> tuple[np.ndarray, np.ndarray]:
        """Area-weighted mean × ``factor`` of every parcel (NaN without data), and the covered share."""
        table = self._extract(raster, ["mean", "count"], scaled=True)
        mean = table.iloc[:, 0].to_numpy(dtype=float) * factor
        cover = self._coverage(raster, table["count"].to_numpy(dtype=float))
        mean[~(cover > 0)] = np.nan
        return mean, cover

    def class_shares(self, raster: Raster, legend: dict[int, int | None], min_groups: int, legend_name: str,
                     unknown_fix: str) -> tuple[np.ndarray, np.ndarray]:
        """Share of each parcel's covered area in each class group, and the covered share.

        ``legend`` maps a raster value to a group index (None: no data).  Returns
        ``shares`` of shape (parcels, groups), at least ``min_groups`` groups,
        rows summing to 1 where there is data, and the share of the parcel
        covered by pixels of a known class.  A raster value the legend lacks is
        refused, with ``unknown_fix`` as the fix.
        """
        table = self._extract(raster, ["unique", "frac", "count"], scaled=False)
        values = table.iloc[:, 0].to_numpy(dtype=object)
        fracs = table.iloc[:, 1].to_numpy(dtype=object)
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=values.size)
        flat_values = np.concatenate([*values, np.empty(0)]).astype(float)
        flat_fracs = np.concatenate([*fracs, np.empty(0)]).astype(float)
        owner = np.repeat(np.arange(self.n), lengths)
        group, n_groups = _groups_of(flat_values, owner, legend, min_groups, legend_name, raster.path, unknown_fix)
        valid = group >= 0
        shares = np.bincount(owner[valid] * n_groups + group[valid], weights=flat_fracs[valid],
                             minlength=self.n * n_groups).reshape(self.n, n_groups)
        known_share = shares.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(known_share[:, None] > 0, shares / known_share[:, None], 0.0)
        cover = self._coverage(raster, table["count"].to_numpy(dtype=float)) * np.clip(known_share, 0.0, 1.0)
        cover[cover < MIN_COVERAGE] = 0.0
        return shares, cover


def _groups_of(values: np.ndarray, owner: np.ndarray, legend: dict[int, int | None], min_groups: int,
               legend_name: str, path: str, unknown_fix: str) -> tuple[np.ndarray, int]:
    """The legend group of each pixel value (−1: no data), and how many groups there are.

    ``owner`` is the parcel of each value, for the message that refuses values the legend lacks.
    """
    known = np.array(sorted(legend), dtype=float)
    position = np.clip(np.searchsorted(known, values), 0, max(known.size - 1, 0))
    found = known.size > 0
    matched = (known[position] == values) if found else np.zeros(values.size, dtype=bool)
    if not matched.all():
        unknown = np.unique(values[~matched])
        shown = ", ".join(f"{v:g}" for v in unknown[:8]) + (" …" if unknown.size > 8 else "")
        parcels_hit = np.unique(owner[~matched]).size
        raise InputError(f"has values that the {legend_name} legend does not know: {shown} "
                         f"(in {parcels_hit} parcel(s))", path=path, layer="band 1", fix=unknown_fix)
    groups = np.array([-1 if legend[int(v)] is None else legend[int(v)] for v in known], dtype=np.int64)
    group = groups[position] if found else np.empty(0, dtype=np.int64)
    n_groups = max(int(groups.max()) + 1, 1) if groups.size else 1
    return group, max(n_groups, min_groups)
