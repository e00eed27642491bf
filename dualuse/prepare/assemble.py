"""Rasters and vectors → a region GeoPackage in the input schema.

``dualuse prepare`` tiles an area of interest into parcels of a given size in
a projected CRS, then fills every column of the parcel schema
(:data:`dualuse.inputs.schema.PARCEL_COLUMNS`) from the layers planners already hold:

* continuous rasters (PV yield, productivity, SOC, slope) → exact area-weighted
  means over each parcel, nodata ignored, the covered share recorded in
  ``<column>_coverage``;
* land cover → the LDN land type covering most of the parcel, through a legend
  table (ESA CCI LCCS built in, a CSV accepted); the share of every land type in
  ``lc_share_<type>``;
* SDG 15.3.1 status (−1/0/1) → the status covering most of the parcel; the
  degraded share in ``degraded_share``;
* a DEM → slope in degrees, computed on a projected grid;
* protected-area polygons → ``protected`` where more than half of a parcel lies
  inside them (``protected_share``);
* grid lines → ``grid_km``, the distance from the parcel's centroid;
* settlement points → communities: every parcel belongs to the nearest
  settlement within reach; unserved households from population, electrified
  share and household size.

Zonal statistics are exactextract's (partial-pixel coverage fractions, area
weights for rasters in degrees); rasters are read through rasterio one window
at a time (exactextract's raster-sequential strategy), never whole.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import rasterio
import shapely
from exactextract import exact_extract
from exactextract.feature import Feature, FeatureSource
from exactextract.raster import RasterSource
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import LambertAzimuthalEqualAreaConversion
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from dualuse.errors import InputError, OutputError, UsageError
from dualuse.vocabulary import LAND_TYPES
from dualuse.files import is_open_elsewhere
from dualuse.inputs.schema import COMMUNITIES_LAYER, DEFAULT_LAYER, PARCEL_COLUMNS, equal_area_ha

M2_PER_HA = 10_000.0
M_PER_KM = 1_000.0
DAYS_PER_YEAR = 365.0
#: Mean Earth radius [m] (IUGG), for the metre size of a pixel in degrees.
EARTH_RADIUS_M = 6_371_008.8
#: Raster cells exactextract holds in memory at once (one window of the raster).
MAX_CELLS_IN_MEMORY = 4_000_000
#: A covered share below this is floating-point noise where a parcel edge meets a raster edge: no data.
MIN_COVERAGE = 1e-6
#: GDAL's raster block cache [MB] while preparing (GDAL's default is 5 % of the machine's memory).
GDAL_CACHE_MB = 128
#: DEM cells processed at once when computing slope (one square block).
SLOPE_BLOCK = 1024
#: A parcel is ``protected`` when more than this share of it lies in protected areas.
PROTECTED_MAJORITY = 0.5
SOURCES_LAYER = "prepare_sources"

# --------------------------------------------------------------------------- legends

#: ESA CCI Land Cover LCCS classes → LDN land type (None: no data).
#:
#: Classes and labels: ESA CCI Land Cover Product User Guide v2.0 (2017),
#: table of the LCCS legend (also used unchanged by the C3S land cover maps from
#: 2016 on).  Aggregation: the UNCCD/Trends.Earth default nesting of the LCCS
#: classes into the 7 IPCC/UNCCD classes (Trends.Earth,
#: ``LDMP/data/land_cover_nesting_unccd_esa.json``): tree-covered → forest,
#: grassland, cropland, wetland, artificial, other land → bare, water body →
#: water; except that shrubland (120, 121, 122), which that nesting counts as
#: grassland, is kept apart as shrubland.
ESA_CCI_LEGEND: tuple[tuple[int, str, str | None], ...] = (
    (0, "No data", None),
    (10, "Cropland, rainfed", "cropland"),
    (11, "Cropland, rainfed, herbaceous cover", "cropland"),
    (12, "Cropland, rainfed, tree or shrub cover", "cropland"),
    (20, "Cropland, irrigated or post-flooding", "cropland"),
    (30, "Mosaic cropland (>50%) / natural vegetation (<50%)", "cropland"),
    (40, "Mosaic natural vegetation (>50%) / cropland (<50%)", "cropland"),
    (50, "Tree cover, broadleaved, evergreen, closed to open (>15%)", "forest"),
    (60, "Tree cover, broadleaved, deciduous, closed to open (>15%)", "forest"),
    (61, "Tree cover, broadleaved, deciduous, closed (>40%)", "forest"),
    (62, "Tree cover, broadleaved, deciduous, open (15-40%)", "forest"),
    (70, "Tree cover, needleleaved, evergreen, closed to open (>15%)", "forest"),
    (71, "Tree cover, needleleaved, evergreen, closed (>40%)", "forest"),
    (72, "Tree cover, needleleaved, evergreen, open (15-40%)", "forest"),
    (80, "Tree cover, needleleaved, deciduous, closed to open (>15%)", "forest"),
    (81, "Tree cover, needleleaved, deciduous, closed (>40%)", "forest"),
    (82, "Tree cover, needleleaved, deciduous, open (15-40%)", "forest"),
    (90, "Tree cover, mixed leaf type (broadleaved and needleleaved)", "forest"),
    (100, "Mosaic tree and shrub (>50%) / herbaceous cover (<50%)", "forest"),
    (110, "Mosaic herbaceous cover (>50%) / tree and shrub (<50%)", "grassland"),
    (120, "Shrubland", "shrubland"),
    (121, "Shrubland, evergreen", "shrubland"),
    (122, "Shrubland, deciduous", "shrubland"),
    (130, "Grassland", "grassland"),
    (140, "Lichens and mosses", "grassland"),
    (150, "Sparse vegetation (tree, shrub, herbaceous cover) (<15%)", "grassland"),
    (151, "Sparse tree (<15%)", "grassland"),
    (152, "Sparse shrub (<15%)", "grassland"),
    (153, "Sparse herbaceous cover (<15%)", "grassland"),
    (160, "Tree cover, flooded, fresh or brackish water", "wetland"),
    (170, "Tree cover, flooded, saline water", "wetland"),
    (180, "Shrub or herbaceous cover, flooded, fresh/saline/brackish water", "wetland"),
    (190, "Urban areas", "artificial"),
    (200, "Bare areas", "bare"),
    (201, "Consolidated bare areas", "bare"),
    (202, "Unconsolidated bare areas", "bare"),
    (210, "Water bodies", "water"),
    (220, "Permanent snow and ice", "bare"),
)

#: Names accepted by ``--land-cover-legend`` for a built-in legend.
BUILTIN_LEGENDS: dict[str, tuple[tuple[int, str, str | None], ...]] = {"esa-cci": ESA_CCI_LEGEND}
#: Land-type entries of a legend CSV that mean "no data".
_NODATA_WORDS = {"", "nodata", "no data", "none", "null"}

#: SDG 15.3.1 status values in the order ties are broken (degraded first).
DEGRADATION_CLASSES: tuple[int, ...] = (-1, 0, 1)

_COLUMN = {c.name: c for c in PARCEL_COLUMNS}


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class PrepareOptions:
    """Everything ``dualuse prepare`` needs; paths as given by the user.

    Attributes
    ----------
    aoi : str — area of interest, a polygon layer (GeoPackage or any OGR vector)
    cell_ha : float — parcel size [ha]
    shape : str — ``"hex"`` or ``"square"``
    pvout : str — PV specific yield raster (Global Solar Atlas PVOUT) [kWh/kWp per day or year]
    pvout_unit : str — ``"yearly"`` [kWh/kWp/yr] or ``"daily"`` [kWh/kWp/day, ×365]
    productivity : str — productivity raster; stored value × ``productivity_scale`` = t DM/ha/yr
    soc : str — soil organic carbon stock raster; stored value × ``soc_scale`` = t C/ha
    land_cover : str — land cover class raster
    land_cover_legend : str — ``"esa-cci"`` or a CSV with columns ``value,land_type``
    degradation : str or None — SDG 15.3.1 status raster (−1, 0, 1)
    dem : str or None — elevation raster [m]; slope is computed from it
    slope : str or None — slope raster [degrees]
    protected : str or None — protected-area polygons (e.g. WDPA)
    grid_lines : str or None — power lines
    settlements : str or None — settlement points with population
    household_size : float or None — people per household
    reach_km : float or None — how far from a settlement a parcel may supply it [km]
    sliver_share : float — clipped cells smaller than this share of ``cell_ha`` join a neighbour
    crs : str or None — projected CRS (metres) to tile in; default a local Lambert equal-area
    allow_missing : bool — drop parcels without data in a required raster instead of failing
    """

    aoi: str
    cell_ha: float
    pvout: str
    productivity: str
    soc: str
    land_cover: str
    shape: str = "hex"
    aoi_layer: str | None = None
    pvout_unit: str = "yearly"
    productivity_scale: float = 1.0
    soc_scale: float = 1.0
    land_cover_legend: str = "esa-cci"
    degradation: str | None = None
    dem: str | None = None
    slope: str | None = None
    protected: str | None = None
    protected_layer: str | None = None
    protected_where: str | None = None
    grid_lines: str | None = None
    grid_lines_layer: str | None = None
    settlements: str | None = None
    settlements_layer: str | None = None
    population_field: str | None = None
    electrified_field: str | None = None
    settlement_id_field: str | None = None
    household_size: float | None = None
    reach_km: float | None = None
    sliver_share: float = 0.25
    crs: str | None = None
    allow_missing: bool = False


@dataclass
class PreparedRegion:
    """A region built in memory, ready to write.

    Attributes
    ----------
    parcels : GeoDataFrame — the schema columns, then the extra ``*_coverage``/``*_share`` columns
    communities : GeoDataFrame or None — ``community_id``, ``unserved_households``, ``household_kwh_yr``, …
    sources : DataFrame — one row per input: path, CRS, resolution, unit conversion, parcels without data
    crs : pyproj.CRS — the projected CRS the parcels were tiled in
    timings_s : dict — seconds per stage
    notes : list of str — what the user should know (dropped parcels, defaults used)
    """

    parcels: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None
    sources: pd.DataFrame
    crs: pyproj.CRS
    timings_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


Log = Callable[[str], None]


def _quiet(_: str) -> None:
    """A log that says nothing."""


# --------------------------------------------------------------------------- entry points


def prepare(options: PrepareOptions, output: str | os.PathLike[str], log: Log = _quiet) -> PreparedRegion:
    """Build a region from rasters and vectors and write it as a GeoPackage.

    The output is written to a temporary ``.gpkg`` in the destination folder and
    renamed into place, so a failure never leaves a partial file.

    Raises
    ------
    UsageError, InputError, OutputError
        With one message naming the file, band or layer, what is wrong and the fix.
    """
    out = check_output(output, options)
    prepared = prepare_region(options, log)
    start = time.perf_counter()
    write_region(prepared, out)
    prepared.timings_s["write"] = time.perf_counter() - start
    return prepared


def prepare_region(options: PrepareOptions, log: Log = _quiet) -> PreparedRegion:
    """Tile the area of interest and fill every parcel column (in memory)."""
    check_options(options)
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
        return _prepare_region(options, log)


def _prepare_region(options: PrepareOptions, log: Log) -> PreparedRegion:
    """The stages of ``prepare``, in order, each timed."""
    clock = _Clock(log)
    with clock("tile"):
        aoi, aoi_crs = read_aoi(options.aoi, options.aoi_layer)
        crs = tiling_crs(aoi, aoi_crs, options.crs)
        aoi_m = _to_crs(aoi, aoi_crs, crs)
        geometry = tile_polygon(aoi_m, options.cell_ha, options.shape, options.sliver_share)
        parcels = gpd.GeoDataFrame({"parcel_id": np.arange(1, geometry.size + 1, dtype=np.int64)},
                                   geometry=geometry, crs=crs)
    log(f"{len(parcels):,} {options.shape} parcels of about {options.cell_ha:g} ha in {crs.name}")
    filled = _Filled(parcels, crs, aoi_m)
    filled.sources.append({"input": "aoi", "path": options.aoi, "crs": _crs_name(aoi_crs), "resolution": "",
                           "conversion": f"{options.shape} cells of {options.cell_ha:g} ha in {_crs_name(crs)}",
                           "parcels_without_data": 0})
    if options.crs is not None:
        _note_area_distortion(filled, options.cell_ha)

    for column, path, option, factor, conversion in _continuous_inputs(options):
        with clock(column):
            fill_mean(filled, column, path, option, factor, conversion, options.pvout_unit)
    if options.dem is not None:
        with clock("slope_deg"):
            fill_slope_from_dem(filled, options.dem)
    with clock("land_type"):
        fill_land_type(filled, options.land_cover, options.land_cover_legend)
    if options.degradation is not None:
        with clock("degradation"):
            fill_degradation(filled, options.degradation)
    if options.protected is not None:
        with clock("protected"):
            share, description = protected_share(options, filled.geometry, crs, aoi_m)
            filled.extra["protected_share"] = share
            filled.columns["protected"] = share > PROTECTED_MAJORITY
            filled.sources.append({"input": "protected", **description, "parcels_without_data": 0})
    if options.grid_lines is not None:
        with clock("grid_km"):
            filled.columns["grid_km"], description = grid_distance_km(options, filled.centroids, crs, aoi_m)
            filled.sources.append({"input": "grid_km", **description, "parcels_without_data": 0})

    keep = _resolve_missing(filled, options)
    communities = None
    if options.settlements is not None:
        with clock("communities"):
            filled.columns["community_id"], communities, description = assign_communities(
                options, filled.centroids, keep, crs, aoi_m, filled.notes)
            filled.sources.append({"input": "communities", **description, "parcels_without_data": 0})
    with clock("assemble"):
        parcels = _assemble(filled, keep)
    return PreparedRegion(parcels=parcels, communities=communities,
                          sources=pd.DataFrame(filled.sources, columns=["input", "path", "crs", "resolution",
                                                                        "conversion", "parcels_without_data"]),
                          crs=crs, timings_s=clock.timings_s, notes=filled.notes)


class _Clock:
    """Times named stages and logs each as it ends: ``with clock("tile"): ...``."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.timings_s: dict[str, float] = {}
        self._name = ""
        self._start = 0.0

    def __call__(self, name: str) -> _Clock:
        self._name = name
        return self

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, kind: object, *rest: object) -> None:
        self.timings_s[self._name] = time.perf_counter() - self._start
        if kind is None:
            self.log(f"{self._name}: {self.timings_s[self._name]:.1f} s")


@dataclass
class _Filled:
    """The parcel columns filled so far, with their coverage, the extra columns, the sources and the notes."""

    parcels: gpd.GeoDataFrame
    crs: pyproj.CRS
    aoi: shapely.Geometry
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    coverage: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    geometry: np.ndarray = field(init=False)
    centroids: np.ndarray = field(init=False)
    zones: _Zones = field(init=False)

    def __post_init__(self) -> None:
        self.geometry = np.asarray(self.parcels.geometry.values)
        self.centroids = shapely.centroid(self.geometry)
        self.zones = _Zones(self.parcels)

    def add(self, column: str, values: np.ndarray, cover: np.ndarray, source: dict[str, Any]) -> None:
        """One filled column, the share of each parcel its input covered, and the input's description."""
        self.columns[column] = values
        self.coverage[column] = cover
        self.sources.append({**source, "parcels_without_data": int((cover <= 0).sum())})


#: Columns a parcel cannot do without: a parcel lacking one is an error, or left out with --allow-missing.
REQUIRED_COLUMNS = ("pv_yield_kwh_kwp", "productivity_t_ha", "soc_t_ha", "land_type")


def _continuous_inputs(options: PrepareOptions) -> list[tuple[str, str, str, float, str]]:
    """(column, path, option, factor to the column's unit, conversion text) of each continuous raster."""
    pv_factor = DAYS_PER_YEAR if options.pvout_unit == "daily" else 1.0
    inputs = [
        ("pv_yield_kwh_kwp", options.pvout, "--pvout", pv_factor,
         f"× {pv_factor:g} (PVOUT {options.pvout_unit} totals → kWh/kWp/yr)"),
        ("productivity_t_ha", options.productivity, "--productivity", options.productivity_scale,
         f"× {options.productivity_scale:g} (--productivity-scale) → t DM/ha/yr"),
        ("soc_t_ha", options.soc, "--soc", options.soc_scale, f"× {options.soc_scale:g} (--soc-scale) → t C/ha"),
    ]
    if options.slope is not None:
        inputs.append(("slope_deg", options.slope, "--slope", 1.0, "degrees, as stored"))
    return inputs


def _note_area_distortion(filled: _Filled, cell_ha: float) -> None:
    """Say so when a user-given CRS makes the cells notably larger or smaller than ``cell_ha`` on the ground."""
    ground_ha = float(equal_area_ha(gpd.GeoSeries([filled.aoi], crs=filled.crs))[0])
    stretch = ground_ha / (filled.aoi.area / M2_PER_HA) - 1.0
    if abs(stretch) > 0.005:
        filled.notes.append(f"{_crs_name(filled.crs)} is not equal-area: here its cells are {stretch:+.1%} larger "
                            f"on the ground than {cell_ha:g} ha; leave out --crs for cells of exactly that area")


def fill_mean(filled: _Filled, column: str, path: str, option: str, factor: float, conversion: str,
              pvout_unit: str = "yearly") -> None:
    """``column`` = area-weighted mean of a raster × ``factor``, refused when out of the schema's range."""
    with open_raster(path, option, filled.aoi, filled.crs) as raster:
        mean, cover = filled.zones.mean(raster, factor)
        source = raster.describe(conversion)
    if column == "pv_yield_kwh_kwp":
        _check_pvout_unit(mean, path, pvout_unit)
    _check_range(mean, column, path, filled.parcels)
    filled.add(column, mean, cover, source)


def fill_slope_from_dem(filled: _Filled, dem: str) -> None:
    """``slope_deg`` = area-weighted mean of the slope computed from a DEM (see :func:`slope_from_dem`)."""
    with tempfile.TemporaryDirectory(prefix="dualuse-slope-") as workdir:
        slope_path = os.path.join(workdir, "slope_deg.tif")
        source = slope_from_dem(dem, filled.aoi, filled.crs, slope_path)
        with open_raster(slope_path, "--dem", filled.aoi, filled.crs, display_path=dem) as raster:
            mean, cover = filled.zones.mean(raster, 1.0)
    filled.add("slope_deg", mean, cover, source)


def fill_land_type(filled: _Filled, land_cover: str, legend_spec: str) -> None:
    """``land_type`` = the land type covering most of the parcel; ``lc_share_<type>`` = each type's share."""
    legend, legend_name = read_legend(legend_spec)
    with open_raster(land_cover, "--land-cover", filled.aoi, filled.crs) as raster:
        shares, cover = filled.zones.class_shares(raster, legend, "--land-cover", legend_name)
        source = raster.describe(f"classes → land types by the {legend_name} legend")
    filled.add("land_type", np.asarray(LAND_TYPES, dtype=object)[np.argmax(shares, axis=1)], cover, source)
    filled.extra.update({f"lc_share_{t}": shares[:, k] for k, t in enumerate(LAND_TYPES)})


def fill_degradation(filled: _Filled, path: str) -> None:
    """``degradation`` = the SDG 15.3.1 status covering most of the parcel (ties: −1, then 0, then 1)."""
    status_legend: dict[int, int | None] = {value: k for k, value in enumerate(DEGRADATION_CLASSES)}
    with open_raster(path, "--degradation", filled.aoi, filled.crs) as raster:
        shares, cover = filled.zones.class_shares(raster, status_legend, "--degradation",
                                                  "SDG 15.3.1 status (−1, 0, 1)")
        source = raster.describe("−1 degraded, 0 stable, 1 improving")
    status = np.asarray(DEGRADATION_CLASSES, dtype=np.int8)[np.argmax(shares, axis=1)]
    filled.add("degradation", status, cover, source)
    filled.extra["degraded_share"] = shares[:, DEGRADATION_CLASSES.index(-1)]


def write_region(prepared: PreparedRegion, output: str | os.PathLike[str]) -> None:
    """Write ``parcels``, ``communities`` and ``prepare_sources`` to a fresh GeoPackage, atomically."""
    out = Path(output)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.gpkg")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pyogrio.write_dataframe(prepared.parcels, tmp, layer=DEFAULT_LAYER, driver="GPKG",
                                    promote_to_multi=True)
            if prepared.communities is not None:
                pyogrio.write_dataframe(prepared.communities, tmp, layer=COMMUNITIES_LAYER, driver="GPKG")
            pyogrio.write_dataframe(prepared.sources, tmp, layer=SOURCES_LAYER, driver="GPKG")
        os.replace(tmp, out)
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise OutputError(f"cannot write {out}: {_first_line(exc)}. Fix: choose a folder you can "
                          "write to, with free space") from None
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            if leftover.exists():
                leftover.unlink()


# --------------------------------------------------------------------------- checks


def check_options(options: PrepareOptions) -> None:
    """Refuse bad option combinations and missing files before any work is done."""
    if not (options.cell_ha > 0 and math.isfinite(options.cell_ha)):
        raise UsageError(f"--cell-ha must be a positive number of hectares, not {options.cell_ha:g}")
    if options.shape not in ("hex", "square"):
        raise UsageError(f"--shape must be hex or square, not {options.shape!r}")
    if options.pvout_unit not in ("daily", "yearly"):
        raise UsageError(f"--pvout-unit must be daily or yearly, not {options.pvout_unit!r}")
    if not 0 <= options.sliver_share < 1:
        raise UsageError(f"--sliver-share must be at least 0 and below 1, not {options.sliver_share:g}")
    for name, value in (("--soc-scale", options.soc_scale), ("--productivity-scale", options.productivity_scale)):
        if not (value > 0 and math.isfinite(value)):
            raise UsageError(f"{name} must be a positive factor, not {value:g}")
    if options.dem is not None and options.slope is not None:
        raise UsageError("give --dem or --slope, not both: slope is either computed from the DEM or read as given")
    settlement_options = {"--population-field": options.population_field,
                          "--electrified-field": options.electrified_field,
                          "--household-size": options.household_size, "--reach-km": options.reach_km}
    if options.settlements is None:
        given = [k for k, v in settlement_options.items() if v is not None]
        if given:
            raise UsageError(f"{', '.join(given)} need --settlements POINTS.gpkg")
    else:
        absent = [k for k, v in settlement_options.items() if v is None]
        if absent:
            raise UsageError(f"--settlements also needs {', '.join(absent)} (communities are built from "
                             "population, electrified share and household size within reach)")
        assert options.household_size is not None and options.reach_km is not None
        if not options.household_size > 0:
            raise UsageError(f"--household-size must be a positive number of people, not {options.household_size:g}")
        if not options.reach_km > 0:
            raise UsageError(f"--reach-km must be a positive distance in km, not {options.reach_km:g}")
    if options.protected is None and (options.protected_layer or options.protected_where):
        raise UsageError("--protected-layer and --protected-where need --protected POLYGONS.gpkg")
    if options.grid_lines is None and options.grid_lines_layer:
        raise UsageError("--grid-lines-layer needs --grid-lines LINES.gpkg")
    for option, path in _input_paths(options):
        _require_file(path, option)
    if options.land_cover_legend not in BUILTIN_LEGENDS:
        _require_file(options.land_cover_legend, "--land-cover-legend")


def check_output(output: str | os.PathLike[str], options: PrepareOptions) -> Path:
    """The output path, refused when it cannot be written safely."""
    out = Path(output)
    if out.suffix.lower() != ".gpkg":
        raise UsageError(f"the output {out} must end in .gpkg (a GeoPackage)")
    if not out.parent.exists() or not out.parent.is_dir():
        raise OutputError(f"cannot write {out}: the folder {out.parent} does not exist. Fix: create it first")
    if out.is_dir():
        raise OutputError(f"cannot write {out}: it is a folder. Fix: name a .gpkg file")
    if is_open_elsewhere(out):
        raise OutputError(f"cannot replace {out}: another program (QGIS?) has it open ({out}-wal exists). "
                          "Fix: close it there, or write to another name")
    resolved = out.resolve()
    for option, path in _input_paths(options):
        if Path(path).resolve() == resolved:
            raise UsageError(f"the output {out} is also the input of {option}; write to another file")
    return out


def _input_paths(options: PrepareOptions) -> list[tuple[str, str]]:
    pairs = [("AOI", options.aoi), ("--pvout", options.pvout), ("--productivity", options.productivity),
             ("--soc", options.soc), ("--land-cover", options.land_cover),
             ("--degradation", options.degradation), ("--dem", options.dem), ("--slope", options.slope),
             ("--protected", options.protected), ("--grid-lines", options.grid_lines),
             ("--settlements", options.settlements)]
    return [(option, path) for option, path in pairs if path is not None]


def _require_file(path: str, option: str) -> None:
    if not os.path.exists(path):
        raise InputError("no such file", path=path, fix=f"check the path given to {option}")
    if os.path.isdir(path):
        raise InputError("is a folder, not a file", path=path, fix=f"give {option} a file")


# --------------------------------------------------------------------------- area of interest and CRS


def read_aoi(path: str, layer: str | None = None) -> tuple[shapely.Geometry, pyproj.CRS]:
    """The area of interest as one valid (Multi)Polygon and its CRS."""
    frame = read_vector(path, "AOI", layer, "--aoi-layer")
    geoms = np.asarray(frame.geometry.values)
    kinds = set(shapely.get_type_id(geoms).tolist())
    if not kinds or not kinds <= {3, 6, 7}:
        raise InputError("has no polygons: the area of interest must be a polygon layer", path=path,
                         layer=frame.attrs["layer"], fix="give the boundary polygon(s) of the area to plan")
    geoms = shapely.make_valid(geoms, method="structure")
    aoi = _polygonal(shapely.union_all(geoms))
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
    centre = _to_crs(aoi.envelope.centroid, aoi_crs, pyproj.CRS.from_epsg(4326))
    lon, lat = round(centre.x, 2), round(centre.y, 2)
    conversion = LambertAzimuthalEqualAreaConversion(latitude_natural_origin=lat, longitude_natural_origin=lon)
    return ProjectedCRS(conversion=conversion, geodetic_crs=pyproj.CRS.from_epsg(4326),
                        name=f"Lambert azimuthal equal-area on {lat:g}, {lon:g} (WGS 84)")


def _to_crs(geometry: Any, source: pyproj.CRS, target: pyproj.CRS) -> Any:
    """Geometry (or an array of them) from one CRS to another."""
    if source == target:
        return geometry
    transformer = pyproj.Transformer.from_crs(source, target, always_xy=True)
    return shapely.transform(geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def _polygonal(geometry: shapely.Geometry) -> shapely.Geometry:
    """Only the polygonal parts of a geometry, as a Polygon or MultiPolygon."""
    parts = shapely.get_parts(geometry)
    polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    polys = shapely.get_parts(polys)
    if polys.size == 1:
        return polys[0]
    return shapely.multipolygons(polys)


def _crs_name(crs: Any) -> str:
    if crs is None:
        return ""
    crs = pyproj.CRS.from_user_input(crs)
    code = crs.to_authority()
    return f"{code[0]}:{code[1]} ({crs.name})" if code else crs.name


# --------------------------------------------------------------------------- tiling


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
    clipped = [_clip_cells(cells, row, col, aoi) for cells, row, col in _lattice(aoi.bounds, cell_m2, shape)]
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


def _lattice(bounds: tuple[float, float, float, float], cell_m2: float, shape: str,
             max_cells: int = 200_000) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Cells of a square or pointy-top hexagonal lattice covering ``bounds``, in strips of rows.

    Vertices are integer multiples of one step from the origin, so neighbouring
    cells share exactly the same vertex coordinates.  Yields the cells and
    their lattice row and column numbers.
    """
    minx, miny, maxx, maxy = bounds
    if shape == "square":
        step = math.sqrt(cell_m2)
        cols = np.arange(math.floor(minx / step), math.ceil(maxx / step))
        rows = np.arange(math.floor(miny / step), math.ceil(maxy / step))
        per_strip = max(1, max_cells // max(cols.size, 1))
        offsets = np.array([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)])
        for first in range(0, rows.size, per_strip):
            r, c = np.meshgrid(rows[first:first + per_strip], cols, indexing="ij")
            ix = c.reshape(-1, 1) + offsets[:, 0]
            iy = r.reshape(-1, 1) + offsets[:, 1]
            yield shapely.polygons(np.stack([ix * step, iy * step], axis=-1)), r.ravel(), c.ravel()
        return
    # hexagon of circumradius R: area 3√3/2 R²; half-steps hx = √3 R / 2 across, hy = R / 2 up
    radius = math.sqrt(2.0 * cell_m2 / (3.0 * math.sqrt(3.0)))
    hx, hy = math.sqrt(3.0) * radius / 2.0, radius / 2.0
    rows = np.arange(math.floor((miny - radius) / (3 * hy)), math.ceil((maxy + radius) / (3 * hy)) + 1)
    cols = np.arange(math.floor((minx - 2 * hx) / (2 * hx)), math.ceil((maxx + 2 * hx) / (2 * hx)) + 1)
    per_strip = max(1, max_cells // max(cols.size, 1))
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
    polygonal = np.isin(shapely.get_type_id(parts), (3, 6))
    parts, of = parts[polygonal], of[polygonal]
    parts, sub = shapely.get_parts(parts, return_index=True)
    of = of[sub]
    edge_row, edge_col = row[~inside][of], col[~inside][of]
    return (np.concatenate([cells[inside], parts]), np.concatenate([row[inside], edge_row]),
            np.concatenate([col[inside], edge_col]))


def _merge_slivers(pieces: np.ndarray, min_area_m2: float) -> dict[str, np.ndarray]:
    """Merge every piece smaller than ``min_area_m2`` into its full-size neighbour with the longest shared border.

    Returns the resulting ``geometry`` and, for each, the ``index`` of the piece it grew from.
    """
    area = shapely.area(pieces)
    small = area < min_area_m2
    unchanged = {"geometry": pieces, "index": np.arange(pieces.size)}
    if not small.any() or small.all():
        return unchanged
    big_index = np.flatnonzero(~small)
    small_index = np.flatnonzero(small)
    tree = shapely.STRtree(pieces[big_index])
    s, b = tree.query(pieces[small_index], predicate="intersects")
    if s.size == 0:
        return unchanged
    shared_m = shapely.length(shapely.intersection(shapely.boundary(pieces[small_index[s]]),
                                                   shapely.boundary(pieces[big_index[b]])))
    ok = shared_m > 0
    s, b, shared_m = s[ok], b[ok], shared_m[ok]
    # for each sliver, the neighbour with the longest shared border
    order = np.lexsort((-shared_m, s))
    s, b = s[order], b[order]
    first = np.r_[True, s[1:] != s[:-1]]
    sliver, receiver = small_index[s[first]], big_index[b[first]]
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


# --------------------------------------------------------------------------- rasters


class _Raster:
    """An open raster band checked for use as a zonal-statistics source."""

    def __init__(self, dataset: rasterio.DatasetReader, path: str, option: str) -> None:
        self.dataset = dataset
        self.path = path
        self.option = option
        self.crs = pyproj.CRS.from_user_input(dataset.crs.to_wkt())
        self.geographic = self.crs.is_geographic

    def source(self, scaled: bool) -> _WindowSource:
        return _WindowSource(self.dataset, scaled)

    def describe(self, conversion: str) -> dict[str, Any]:
        unit = "°" if self.geographic else " " + (self.crs.axis_info[0].unit_name if self.crs.axis_info else "")
        xres, yres = self.dataset.res
        return {"input": self.option.lstrip("-"), "path": self.path, "crs": _crs_name(self.crs),
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

    def __enter__(self) -> _Raster:
        _require_file(self.path, self.option)
        try:
            self.dataset = rasterio.open(self.path)
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(f"cannot be opened as a raster ({_first_line(exc)})", path=self.display,
                             fix=f"give {self.option} a GeoTIFF (or another raster GDAL reads)") from None
        ds = self.dataset
        if ds.count != 1:
            self.__exit__()
            raise InputError(f"has {ds.count} bands; {self.option} reads a single band", path=self.display,
                             fix="extract the band you mean, e.g. `gdal_translate -b 1 in.tif band1.tif`")
        if ds.crs is None:
            self.__exit__()
            raise InputError("has no coordinate reference system", path=self.display, layer="band 1",
                             fix="assign the CRS its coordinates are in, e.g. "
                                 "`gdal_edit.py -a_srs EPSG:4326 FILE`")
        t = ds.transform
        if t.b != 0 or t.d != 0 or t.e >= 0:
            self.__exit__()
            raise InputError("has a rotated or south-up grid", path=self.display, layer="band 1",
                             fix="warp it to a north-up grid: `gdalwarp in.tif north_up.tif`")
        raster = _Raster(ds, self.display, self.option)
        aoi_there = _to_crs(shapely.segmentize(self.aoi.envelope, _span(self.aoi) / 16), self.aoi_crs, raster.crs)
        if not shapely.intersects(aoi_there, shapely.box(*ds.bounds)):
            b = ds.bounds
            a = aoi_there.bounds
            self.__exit__()
            raise InputError(
                f"does not overlap the area of interest at all (raster bounds {b.left:.6g}, {b.bottom:.6g}, "
                f"{b.right:.6g}, {b.top:.6g}; area of interest {a[0]:.6g}, {a[1]:.6g}, {a[2]:.6g}, {a[3]:.6g}, "
                f"both in {_crs_name(raster.crs)})", path=self.display, layer="band 1",
                fix="give a raster that covers the area of interest, and check that its CRS is the one its "
                    "coordinates are in")
        return raster

    def __exit__(self, *args: object) -> None:
        if self.dataset is not None:
            self.dataset.close()
            self.dataset = None


def _span(geometry: shapely.Geometry) -> float:
    minx, miny, maxx, maxy = geometry.bounds
    return max(maxx - minx, maxy - miny, 1.0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


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


class _Zones:
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
            geoms = _to_crs(self.geometry, self.crs, crs)
            self._cache[key] = (shapely.to_wkb(geoms), shapely.area(geoms))
        return self._cache[key]

    def _extract(self, raster: _Raster, ops: list[str], scaled: bool) -> pd.DataFrame:
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

    def _coverage(self, raster: _Raster, count: np.ndarray) -> np.ndarray:
        """Share of each parcel's area with valid pixels, from exactextract's coverage-weighted pixel count."""
        _, area = self._in(raster.crs)
        xres, yres = raster.dataset.res
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.nan_to_num(count) * (xres * yres) / area
        share = np.clip(share, 0.0, 1.0)
        share[share < MIN_COVERAGE] = 0.0
        return share

    def mean(self, raster: _Raster, factor: float) -> tuple[np.ndarray, np.ndarray]:
        """Area-weighted mean × ``factor`` of every parcel (NaN without data), and the covered share."""
        table = self._extract(raster, ["mean", "count"], scaled=True)
        mean = table.iloc[:, 0].to_numpy(dtype=float) * factor
        cover = self._coverage(raster, table["count"].to_numpy(dtype=float))
        mean[~(cover > 0)] = np.nan
        return mean, cover

    def class_shares(self, raster: _Raster, legend: dict[int, int | None], option: str, legend_name: str
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Share of each parcel's covered area in each class group, and the covered share.

        ``legend`` maps a raster value to a group index (None: no data).  Returns
        ``shares`` of shape (parcels, groups), rows summing to 1 where there is
        data, and the share of the parcel covered by pixels of a known class.
        """
        table = self._extract(raster, ["unique", "frac", "count"], scaled=False)
        values = table.iloc[:, 0].to_numpy(dtype=object)
        fracs = table.iloc[:, 1].to_numpy(dtype=object)
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=values.size)
        flat_values = np.concatenate([*values, np.empty(0)]).astype(float)
        flat_fracs = np.concatenate([*fracs, np.empty(0)]).astype(float)
        owner = np.repeat(np.arange(self.n), lengths)
        known = np.array(sorted(legend), dtype=float)
        position = np.clip(np.searchsorted(known, flat_values), 0, max(known.size - 1, 0))
        found = known.size > 0
        matched = (known[position] == flat_values) if found else np.zeros(flat_values.size, dtype=bool)
        if not matched.all():
            unknown = np.unique(flat_values[~matched])
            shown = ", ".join(f"{v:g}" for v in unknown[:8]) + (" …" if unknown.size > 8 else "")
            parcels_hit = np.unique(owner[~matched]).size
            raise InputError(f"has values that the {legend_name} legend does not know: {shown} "
                             f"(in {parcels_hit} parcel(s))", path=raster.path, layer="band 1",
                             fix=f"declare the raster's nodata value if these mean 'no data' "
                                 f"(`gdal_edit.py -a_nodata VALUE FILE`), or give {option}-legend TABLE.csv with "
                                 "columns value,land_type that maps every value"
                             if option == "--land-cover" else
                             "declare the raster's nodata value (`gdal_edit.py -a_nodata VALUE FILE`); "
                             "SDG 15.3.1 status is −1 (degraded), 0 (stable) or 1 (improving)")
        groups = np.array([-1 if legend[int(v)] is None else legend[int(v)] for v in known], dtype=np.int64)
        group = groups[position] if found else np.empty(0, dtype=np.int64)
        n_groups = max(int(groups.max()) + 1, 1) if groups.size else 1
        n_groups = max(n_groups, len(LAND_TYPES) if option == "--land-cover" else len(DEGRADATION_CLASSES))
        valid = group >= 0
        shares = np.bincount(owner[valid] * n_groups + group[valid], weights=flat_fracs[valid],
                             minlength=self.n * n_groups).reshape(self.n, n_groups)
        known_share = shares.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(known_share[:, None] > 0, shares / known_share[:, None], 0.0)
        cover = self._coverage(raster, table["count"].to_numpy(dtype=float)) * np.clip(known_share, 0.0, 1.0)
        cover[cover < MIN_COVERAGE] = 0.0
        return shares, cover


def _check_pvout_unit(mean: np.ndarray, path: str, unit: str) -> None:
    """Refuse PVOUT values that belong to the other unit (daily totals are ~2–7, yearly ~700–2,500)."""
    values = mean[np.isfinite(mean)]
    if values.size == 0:
        return
    typical = float(np.median(values))  # kWh/kWp/yr, after the daily → yearly conversion
    if unit == "yearly" and typical < 20:
        raise InputError(f"the typical PV yield is {typical:.3g} kWh/kWp, which looks like daily totals, not "
                         "yearly", path=path, layer="band 1",
                         fix="pass --pvout-unit daily (Global Solar Atlas 'LTAy_AvgDailyTotals' PVOUT)")
    if unit == "daily" and typical > 7_000:
        raise InputError(f"the typical PV yield is {typical / DAYS_PER_YEAR:.4g} kWh/kWp per day, which looks "
                         "like yearly totals, not daily", path=path, layer="band 1",
                         fix="pass --pvout-unit yearly (Global Solar Atlas 'LTAy_YearlyMonthlyTotals' PVOUT)")


_SCALE_FIX = {
    "pv_yield_kwh_kwp": "check --pvout-unit and that the raster holds PVOUT in kWh/kWp",
    "productivity_t_ha": "set --productivity-scale so that stored value × scale = t DM/ha/yr",
    "soc_t_ha": "set --soc-scale so that stored value × scale = t C/ha (see `dualuse prepare --help`)",
    "slope_deg": "give slope in degrees (from percent: degrees = atan(percent / 100)), or give --dem instead",
}


def _check_range(mean: np.ndarray, column: str, path: str, parcels: gpd.GeoDataFrame) -> None:
    """Refuse parcel values outside the schema's range: a unit or scale mistake."""
    spec = _COLUMN[column]
    lo = -np.inf if spec.lo is None else spec.lo
    hi = np.inf if spec.hi is None else spec.hi
    bad = np.isfinite(mean) & ((mean < lo) | (mean > hi))
    if bad.any():
        seen = ", ".join(f"{v:.4g}" for v in np.unique(mean[bad])[:3])
        raise InputError(f"gives {bad.sum()} parcel(s) a {column} outside {spec.lo:g}–{spec.hi:g} {spec.unit} "
                         f"(e.g. {seen})", path=path, layer="band 1", column=column,
                         ids=parcels["parcel_id"].to_numpy()[bad], count=int(bad.sum()), fix=_SCALE_FIX[column])


# --------------------------------------------------------------------------- legends


def read_legend(spec: str) -> tuple[dict[int, int | None], str]:
    """A land-cover legend as {raster value: index into LAND_TYPES or None for no data}, and its name.

    ``spec`` is a built-in legend name (``esa-cci``) or a CSV file with columns
    ``value`` (integer class) and ``land_type`` (one of LAND_TYPES, or empty /
    ``nodata`` for no data); other columns (e.g. ``label``) are ignored.
    """
    index = {t: k for k, t in enumerate(LAND_TYPES)}
    if spec in BUILTIN_LEGENDS:
        return {value: (None if t is None else index[t]) for value, _, t in BUILTIN_LEGENDS[spec]}, spec
    try:
        table = pd.read_csv(spec, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read as a CSV table ({_first_line(exc)})", path=spec,
                         fix="give a CSV with a header line `value,land_type`") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    absent = [c for c in ("value", "land_type") if c not in table.columns]
    if absent:
        raise InputError(f"lacks column(s) {', '.join(absent)} (columns there: {', '.join(table.columns)})",
                         path=spec, column=absent[0],
                         fix="give a CSV with a header line `value,land_type` (and optionally `label`)")
    if table.empty:
        raise InputError("has no rows", path=spec, fix="list every class of the land cover raster")
    line = np.arange(len(table)) + 2  # line numbers in the file, after the header
    values = pd.to_numeric(table["value"].str.strip(), errors="coerce")
    bad = values.isna().to_numpy() | (values.fillna(0) % 1 != 0).to_numpy()
    if bad.any():
        raise InputError("has values that are not integer class codes", path=spec, column="value",
                         ids=line[bad], fix="give each raster class code as a whole number")
    dup = values.duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError("lists a class code more than once", path=spec, column="value", ids=line[dup],
                         fix="map every class code to exactly one land type")
    types = table["land_type"].str.strip().str.lower()
    nodata = types.isin(_NODATA_WORDS).to_numpy()
    unknown = ~nodata & ~types.isin(LAND_TYPES).to_numpy()
    if unknown.any():
        seen = ", ".join(repr(s) for s in sorted(set(table["land_type"][unknown]))[:5])
        raise InputError(f"has land types that are not LDN land types ({seen})", path=spec, column="land_type",
                         ids=line[unknown], fix="use one of " + ", ".join(LAND_TYPES) + ", or leave it empty "
                                               "(or write nodata) for a class that means no data")
    legend = {int(v): (None if nd else index[t]) for v, t, nd in zip(values, types, nodata, strict=True)}
    return legend, os.path.basename(spec)


# --------------------------------------------------------------------------- slope


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
        src = raster.dataset
        margin_px = 2
        if raster.geographic:
            lat = math.radians(_to_crs(aoi.centroid, crs, pyproj.CRS.from_epsg(4326)).y)
            xres_deg, yres_deg = src.res
            res_m = math.sqrt(math.radians(xres_deg) * math.cos(lat) * math.radians(yres_deg)) * EARTH_RADIUS_M
            minx, miny, maxx, maxy = aoi.bounds
            left, top = minx - margin_px * res_m, maxy + margin_px * res_m
            width = math.ceil((maxx - minx) / res_m) + 2 * margin_px
            height = math.ceil((maxy - miny) / res_m) + 2 * margin_px
            transform = Affine(res_m, 0.0, left, 0.0, -res_m, top)
            extra: dict[str, Any] = {"src_nodata": src.nodata, "nodata": src.nodata} if src.nodata is not None \
                else {"add_alpha": True}
            reader: Any = WarpedVRT(src, crs=crs.to_wkt(), transform=transform, width=width, height=height,
                                    resampling=Resampling.bilinear, **extra)
            col_off = row_off = 0
            dx_m = dy_m = res_m
            grid_crs = crs.to_wkt()
            conversion = f"warped to {crs.name} at {res_m:.4g} m (bilinear), Horn slope in degrees"
        else:
            to_metres = raster.crs.axis_info[0].unit_conversion_factor if raster.crs.axis_info else 1.0
            there = _to_crs(shapely.segmentize(aoi.envelope, _span(aoi) / 16), crs, raster.crs).bounds
            window = rasterio.windows.from_bounds(*there, transform=src.transform)
            window = Window(math.floor(window.col_off) - margin_px, math.floor(window.row_off) - margin_px,
                            math.ceil(window.width) + 2 * margin_px + 1, math.ceil(window.height) + 2 * margin_px + 1)
            window = window.intersection(Window(0, 0, src.width, src.height))
            reader = src
            col_off, row_off = int(window.col_off), int(window.row_off)
            width, height = int(window.width), int(window.height)
            transform = src.transform @ Affine.translation(col_off, row_off)
            dx_m, dy_m = src.res[0] * to_metres, src.res[1] * to_metres
            grid_crs = src.crs
            conversion = "Horn slope in degrees on the DEM's own grid"
        profile = {"driver": "GTiff", "dtype": "float32", "count": 1, "width": width, "height": height,
                   "crs": grid_crs, "transform": transform, "nodata": float("nan"), "tiled": True,
                   "blockxsize": 256, "blockysize": 256, "compress": "deflate"}
        try:
            with rasterio.open(out_path, "w", **profile) as dst:
                for r0 in range(0, height, SLOPE_BLOCK):
                    for c0 in range(0, width, SLOPE_BLOCK):
                        nr, nc = min(SLOPE_BLOCK, height - r0), min(SLOPE_BLOCK, width - c0)
                        z = _read_padded(reader, col_off, row_off, width, height, c0 - 1, r0 - 1, nc + 2, nr + 2)
                        dst.write(horn_slope_deg(z, dx_m, dy_m).astype(np.float32), 1,
                                  window=Window(c0, r0, nc, nr))
        finally:
            if reader is not src:
                reader.close()
        return raster.describe(conversion)


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


# --------------------------------------------------------------------------- vectors


def read_vector(path: str, option: str, layer: str | None, layer_option: str, *, where: str | None = None,
                bbox: tuple[float, float, float, float] | None = None, bbox_crs: pyproj.CRS | None = None
                ) -> gpd.GeoDataFrame:
    """Read one vector layer (optionally only features within ``bbox``, given in ``bbox_crs``).

    Raises :class:`InputError` for an unreadable file, an ambiguous or missing
    layer, a layer without CRS, a bad ``where`` filter.
    """
    _require_file(path, option)
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises several classes for unreadable files
        raise InputError(f"cannot be opened as a vector file ({_first_line(exc)})", path=path,
                         fix=f"give {option} a GeoPackage (or another vector format GDAL reads)") from None
    names = [str(n) for n in layers[:, 0]]
    if layer is None and len(names) > 1:
        raise InputError(f"has {len(names)} layers ({', '.join(names[:8])}); which one is meant?", path=path,
                         fix=f"name it with {layer_option} NAME")
    if layer is not None and layer not in names:
        raise InputError(f"has no layer '{layer}' (layers there: {', '.join(names)})", path=path,
                         fix=f"name one of those with {layer_option}")
    layer = layer or names[0]
    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:
        raise InputError(f"cannot be read ({_first_line(exc)})", path=path, layer=layer,
                         fix="re-export the layer from its source") from None
    if info.get("crs") is None:
        raise InputError("has no coordinate reference system", path=path, layer=layer,
                         fix="assign the CRS the coordinates are in, e.g. "
                             "`ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg`")
    file_crs = pyproj.CRS.from_user_input(info["crs"])
    read_bbox = None
    if bbox is not None and bbox_crs is not None:
        box = shapely.segmentize(shapely.box(*bbox), max(bbox[2] - bbox[0], bbox[3] - bbox[1], 1.0) / 16)
        read_bbox = tuple(_to_crs(box, bbox_crs, file_crs).bounds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pyogrio.read_dataframe(path, layer=layer, where=where, bbox=read_bbox, use_arrow=True,
                                           fid_as_index=True)
    except Exception as exc:
        if where:
            raise InputError(f"cannot be filtered with {where!r} ({_first_line(exc)})", path=path, layer=layer,
                             fix="give an OGR SQL condition on the layer's columns, e.g. "
                                 "\"STATUS <> 'Proposed'\"") from None
        raise InputError(f"cannot be read ({_first_line(exc)})", path=path, layer=layer,
                         fix="re-export the layer from its source") from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError("has no geometry", path=path, layer=layer, fix=f"give {option} a layer with geometries")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame.attrs["layer"] = layer
    return frame


def _expanded(bounds: tuple[float, float, float, float], by_m: float) -> tuple[float, float, float, float]:
    return bounds[0] - by_m, bounds[1] - by_m, bounds[2] + by_m, bounds[3] + by_m


def protected_share(options: PrepareOptions, parcels: np.ndarray, crs: pyproj.CRS, aoi: shapely.Geometry
                    ) -> tuple[np.ndarray, dict[str, Any]]:
    """Share of each parcel's area inside the union of the protected-area polygons."""
    assert options.protected is not None
    frame = read_vector(options.protected, "--protected", options.protected_layer, "--protected-layer",
                        where=options.protected_where, bbox=aoi.bounds, bbox_crs=crs)
    layer = frame.attrs["layer"]
    kinds = shapely.get_type_id(frame.geometry.values)
    if (~np.isin(kinds, (3, 6, 7))).any():
        raise InputError(f"has {int((~np.isin(kinds, (3, 6, 7))).sum())} feature(s) that are not polygons",
                         path=options.protected, layer=layer,
                         fix="give protected areas as polygons (WDPA: the polygon layer; drop point records, "
                             "or pass --protected-where to select polygons)")
    description = {"path": options.protected, "crs": _crs_name(frame.crs), "resolution": "",
                   "conversion": f"{len(frame)} polygon(s)"
                                 + (f" where {options.protected_where}" if options.protected_where else "")
                                 + f"; protected when more than {PROTECTED_MAJORITY:.0%} of a parcel is inside"}
    share = np.zeros(parcels.size)
    if len(frame) == 0:
        return share, description
    polygons = _to_crs(shapely.make_valid(frame.geometry.values, method="structure"),
                       pyproj.CRS.from_user_input(frame.crs), crs)
    polygons = shapely.intersection(polygons, shapely.box(*aoi.bounds))
    union = _polygonal(shapely.union_all(polygons))
    parts = shapely.get_parts(union)
    if parts.size == 0:
        return share, description
    tree = shapely.STRtree(parts)
    p, q = tree.query(parcels, predicate="intersects")
    inside = shapely.area(shapely.intersection(parcels[p], parts[q]))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.bincount(p, weights=inside, minlength=parcels.size) / shapely.area(parcels)
    return np.clip(share, 0.0, 1.0), description


def grid_distance_km(options: PrepareOptions, centroids: np.ndarray, crs: pyproj.CRS, aoi: shapely.Geometry
                     ) -> tuple[np.ndarray, dict[str, Any]]:
    """Distance from each parcel's centroid to the nearest grid line [km].

    Lines are first read within a margin of the AOI as wide as the AOI itself;
    if some parcel's nearest line is farther than that margin, every line is read.
    """
    assert options.grid_lines is not None
    margin_m = _span(aoi)
    frame = read_vector(options.grid_lines, "--grid-lines", options.grid_lines_layer, "--grid-lines-layer",
                        bbox=_expanded(aoi.bounds, margin_m), bbox_crs=crs)
    distance_m = _nearest_distance_m(frame, centroids, crs, options.grid_lines)
    if distance_m is None or float(distance_m.max()) > margin_m:
        frame = read_vector(options.grid_lines, "--grid-lines", options.grid_lines_layer, "--grid-lines-layer")
        distance_m = _nearest_distance_m(frame, centroids, crs, options.grid_lines)
    if distance_m is None:
        raise InputError("has no lines", path=options.grid_lines, layer=frame.attrs.get("layer"),
                         fix="give the power lines of the region (e.g. gridfinder or OpenStreetMap power=line), "
                             "or leave out --grid-lines")
    description = {"path": options.grid_lines, "crs": _crs_name(frame.crs), "resolution": "",
                   "conversion": f"{len(frame)} line(s); distance from each parcel's centroid"}
    return distance_m / M_PER_KM, description


def _nearest_distance_m(frame: gpd.GeoDataFrame, points: np.ndarray, crs: pyproj.CRS, path: str
                        ) -> np.ndarray | None:
    if len(frame) == 0:
        return None
    kinds = shapely.get_type_id(frame.geometry.values)
    if (~np.isin(kinds, (1, 2, 5, 7))).any():
        raise InputError(f"has {int((~np.isin(kinds, (1, 2, 5, 7))).sum())} feature(s) that are not lines",
                         path=path, layer=frame.attrs.get("layer"), fix="give the power lines as lines")
    lines = _to_crs(frame.geometry.values, pyproj.CRS.from_user_input(frame.crs), crs)
    _, distance_m = shapely.STRtree(lines).query_nearest(points, return_distance=True, all_matches=False)
    return np.asarray(distance_m, dtype=float)


def assign_communities(options: PrepareOptions, centroids: np.ndarray, keep: np.ndarray, crs: pyproj.CRS,
                       aoi: shapely.Geometry, notes: list[str]
                       ) -> tuple[np.ndarray, gpd.GeoDataFrame, dict[str, Any]]:
    """Each kept parcel's community (the nearest settlement within reach) and the communities table.

    Unserved households of a settlement = population × (1 − electrified share)
    / household size.  A settlement that no parcel has as its nearest (another
    settlement is nearer to all of them) joins the community of its nearest
    parcel within reach, households included; a settlement beyond reach of
    every parcel is left out.

    Returns
    -------
    community_id : ndarray of object — per parcel (all parcels; None outside every reach)
    communities : GeoDataFrame — community_id, unserved_households, household_kwh_yr (null),
        population, settlements, at the point of the settlement the community is named after
    description : dict — for the ``prepare_sources`` table
    """
    assert options.settlements is not None and options.reach_km is not None
    assert options.household_size is not None and options.population_field is not None
    assert options.electrified_field is not None
    reach_m = options.reach_km * M_PER_KM
    frame = read_vector(options.settlements, "--settlements", options.settlements_layer, "--settlements-layer",
                        bbox=_expanded(aoi.bounds, reach_m), bbox_crs=crs)
    layer = frame.attrs["layer"]
    kinds = shapely.get_type_id(frame.geometry.values)
    if (~np.isin(kinds, (0, 4))).any():
        raise InputError(f"has {int((~np.isin(kinds, (0, 4))).sum())} feature(s) that are not points",
                         path=options.settlements, layer=layer,
                         fix="give settlements as points (QGIS 'Centroids' turns footprints into points)")
    population = _numeric_field(frame, options.population_field, options.settlements, "--population-field",
                                0.0, np.inf, "people, 0 or more")
    electrified = _electrified_share(frame, options.electrified_field, options.settlements)
    if options.settlement_id_field is not None:
        if options.settlement_id_field not in frame.columns:
            raise InputError(f"has no field '{options.settlement_id_field}' (fields there: "
                             f"{', '.join(c for c in frame.columns if c != frame.geometry.name)})",
                             path=options.settlements, layer=layer, column=options.settlement_id_field,
                             fix="name the id field with --settlement-id-field")
        ids = frame[options.settlement_id_field].astype("string")
        bad = ids.isna().to_numpy() | ids.duplicated(keep=False).to_numpy()
        if bad.any():
            raise InputError("has empty or repeated settlement ids", path=options.settlements, layer=layer,
                             column=options.settlement_id_field, ids=frame.index.to_numpy()[bad],
                             fix="give every settlement a unique id, or leave out --settlement-id-field to "
                                 "use the feature ids")
        settlement_id = ids.to_numpy(dtype=object)
    else:
        settlement_id = ("S" + pd.Series(frame.index.to_numpy()).astype(str)).to_numpy(dtype=object)
    households = population * (1.0 - electrified) / options.household_size
    points = shapely.centroid(_to_crs(frame.geometry.values, pyproj.CRS.from_user_input(frame.crs), crs))
    n = centroids.size
    owner = np.full(n, -1, dtype=np.int64)
    kept = np.flatnonzero(keep)
    if points.size and kept.size:
        p, s = shapely.STRtree(points).query_nearest(centroids[kept], max_distance=reach_m, all_matches=False)
        owner[kept[p]] = s
    has_parcels = np.zeros(points.size, dtype=bool)
    has_parcels[owner[owner >= 0]] = True
    community = np.where(has_parcels, np.arange(points.size), -1)
    lone = np.flatnonzero(~has_parcels)
    if lone.size and kept.size:
        s, p = shapely.STRtree(centroids[kept]).query_nearest(points[lone], max_distance=reach_m,
                                                              all_matches=False)
        community[lone[s]] = owner[kept[p]]
    reached = community >= 0
    dropped_households = float(households[~reached].sum())
    if (~reached).any():
        notes.append(f"{int((~reached).sum())} settlement(s) with {dropped_households:,.0f} unserved households "
                     f"are beyond {options.reach_km:g} km of every parcel and are left out")
    merged = int((reached & ~has_parcels).sum())
    if merged:
        notes.append(f"{merged} settlement(s) have no parcel of their own (a neighbour is nearer) and join "
                     "the community of their nearest parcel")
    named = np.flatnonzero(has_parcels)
    slot = np.full(points.size, -1, dtype=np.int64)
    slot[named] = np.arange(named.size)
    into = slot[community[reached]]
    communities = gpd.GeoDataFrame({
        "community_id": settlement_id[named],
        "unserved_households": np.bincount(into, weights=households[reached], minlength=named.size),
        "household_kwh_yr": np.full(named.size, np.nan),
        "population": np.bincount(into, weights=population[reached], minlength=named.size),
        "settlements": np.bincount(into, minlength=named.size).astype(np.int64),
    }, geometry=points[named], crs=crs)
    community_id = np.full(n, None, dtype=object)
    community_id[owner >= 0] = settlement_id[owner[owner >= 0]]
    description = {"path": options.settlements, "crs": _crs_name(frame.crs), "resolution": "",
                   "conversion": f"{len(frame)} settlement(s); households = {options.population_field} × "
                                 f"(1 − {options.electrified_field}) / {options.household_size:g}; parcels join the "
                                 f"nearest settlement within {options.reach_km:g} km"}
    return community_id, communities, description


def _numeric_field(frame: gpd.GeoDataFrame, name: str, path: str, option: str, lo: float, hi: float,
                   meaning: str) -> np.ndarray:
    layer = frame.attrs.get("layer")
    if name not in frame.columns:
        raise InputError(f"has no field '{name}' (fields there: "
                         f"{', '.join(c for c in frame.columns if c != frame.geometry.name)})",
                         path=path, layer=layer, column=name, fix=f"name the field with {option}")
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < lo) | (values > hi)
    if bad.any():
        raise InputError(f"has {int(bad.sum())} empty or invalid value(s)", path=path, layer=layer, column=name,
                         ids=frame.index.to_numpy()[bad], fix=f"give {meaning} for every settlement")
    return values


def _electrified_share(frame: gpd.GeoDataFrame, name: str, path: str) -> np.ndarray:
    """The electrified share 0–1 (true/false read as 1/0); percentages are refused with the fix."""
    if name in frame.columns and pd.api.types.is_bool_dtype(frame[name]):
        return frame[name].to_numpy(dtype=float)
    values = _numeric_field(frame, name, path, "--electrified-field", 0.0, np.inf,
                            "the electrified share of the population (0 to 1)")
    if (values > 1).any():
        bad = values > 1
        raise InputError(f"has {int(bad.sum())} value(s) above 1 (e.g. {values[bad][0]:g}); a share from 0 to 1 "
                         "is expected", path=path, layer=frame.attrs.get("layer"), column=name,
                         ids=frame.index.to_numpy()[bad], fix="divide percentages by 100")
    return values


# --------------------------------------------------------------------------- assembling


def _resolve_missing(filled: _Filled, options: PrepareOptions) -> np.ndarray:
    """Which parcels to keep; fail (naming the parcels) on missing data unless ``allow_missing``.

    With ``allow_missing``, parcels lacking a required column are left out and
    parcels lacking an optional one (degradation, slope) get the schema default.
    """
    option_of = {"pv_yield_kwh_kwp": ("--pvout", options.pvout),
                 "productivity_t_ha": ("--productivity", options.productivity),
                 "soc_t_ha": ("--soc", options.soc), "land_type": ("--land-cover", options.land_cover),
                 "degradation": ("--degradation", options.degradation),
                 "slope_deg": ("--dem" if options.dem else "--slope", options.dem or options.slope)}
    parcels = filled.parcels
    ids = parcels["parcel_id"].to_numpy()
    keep = np.ones(len(parcels), dtype=bool)
    for column, cover in filled.coverage.items():
        missing = cover <= 0
        if not missing.any():
            continue
        option, path = option_of[column]
        if not options.allow_missing:
            raise InputError(
                f"has no data for {int(missing.sum())} of {missing.size} parcel(s) (nodata or outside the raster; "
                f"{_where(parcels, missing)})", path=path, layer="band 1", column=column, ids=ids[missing],
                count=int(missing.sum()),
                fix="give a raster that covers the whole area of interest, or pass --allow-missing to leave "
                    "parcels without PV yield, productivity, SOC or land cover out of the region (and give "
                    "parcels without degradation or slope data the schema default, 0)")
        if column in REQUIRED_COLUMNS:
            keep &= ~missing
        else:
            default = _COLUMN[column].default
            values = filled.columns[column]
            filled.columns[column] = np.where(missing, default, values).astype(values.dtype)
            filled.notes.append(f"{int(missing.sum())} parcel(s) have no {column} data in {path}; they get the "
                                f"schema default {default} ({column}_coverage = 0)")
    if not keep.all():
        filled.notes.append(f"{int((~keep).sum())} parcel(s) without PV yield, productivity, SOC or land cover "
                            f"data are left out (--allow-missing; {_where(parcels, ~keep)})")
    if not keep.any():
        raise InputError("no parcel has data in every required raster", path=options.aoi,
                         fix="give rasters that cover the area of interest")
    return keep


def _where(parcels: gpd.GeoDataFrame, mask: np.ndarray) -> str:
    """Where some parcels are, as a lon/lat box, for messages."""
    box = shapely.box(*shapely.total_bounds(parcels.geometry.values[mask]))
    minx, miny, maxx, maxy = _to_crs(shapely.segmentize(box, _span(box) / 8),
                                     pyproj.CRS.from_user_input(parcels.crs), pyproj.CRS.from_epsg(4326)).bounds
    return f"within lon {minx:.4f} to {maxx:.4f}, lat {miny:.4f} to {maxy:.4f}"


def _assemble(filled: _Filled, keep: np.ndarray) -> gpd.GeoDataFrame:
    """The parcel layer: schema columns in schema order, then coverage and share columns; kept parcels only."""
    parcels = filled.parcels
    n = len(parcels)
    data: dict[str, Any] = {"parcel_id": parcels["parcel_id"].to_numpy()}
    for spec in PARCEL_COLUMNS[1:]:
        if spec.name in filled.columns:
            data[spec.name] = filled.columns[spec.name]
        elif spec.name == "community_id":
            data[spec.name] = np.full(n, None, dtype=object)
        else:
            data[spec.name] = np.full(n, spec.default)
            source = {"degradation": "--degradation", "slope_deg": "--dem or --slope",
                      "protected": "--protected", "grid_km": "--grid-lines"}[spec.name]
            filled.notes.append(f"no {source}: {spec.name} is {spec.default} for every parcel (the schema default)")
    data["degradation"] = np.asarray(data["degradation"], dtype=np.int8)
    data["protected"] = np.asarray(data["protected"], dtype=bool)
    for name, values in filled.coverage.items():
        data[f"{name}_coverage"] = values
    data.update(filled.extra)
    frame = gpd.GeoDataFrame(data, geometry=filled.geometry, crs=parcels.crs)
    frame = frame.loc[keep].reset_index(drop=True)
    for name, values in filled.coverage.items():
        partial = int(((values[keep] > 0) & (values[keep] < 0.5)).sum())
        if partial:
            filled.notes.append(f"{partial} parcel(s) have {name} data over less than half their area "
                                f"(see {name}_coverage)")
    return frame
