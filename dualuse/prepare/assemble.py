"""Rasters and vectors → a region GeoPackage in the input schema.

``dualuse prepare`` tiles an area of interest into parcels of a given size in
a projected CRS, then fills every column of the parcel schema
(:data:`dualuse.inputs.region.PARCEL_COLUMNS`) from the layers planners already hold:

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

This module runs those stages in order (:mod:`~dualuse.prepare.tiling`,
:mod:`~dualuse.prepare.columns` with :mod:`~dualuse.prepare.zonal`,
:mod:`~dualuse.prepare.vectors`, :mod:`~dualuse.prepare.communities`) and
writes the region GeoPackage.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj

from dualuse.errors import OutputError, UsageError
from dualuse.export.layer_meta import describe_region
from dualuse.files import atomic_path, is_open_elsewhere
from dualuse.inputs.schema import equal_area_ha
from dualuse.prepare.columns import (
    DAYS_PER_YEAR,
    ParcelColumns,
    fill_degradation,
    fill_land_type,
    fill_mean,
    fill_slope_from_dem,
    parcel_layer,
    resolve_missing,
)
from dualuse.prepare.communities import Settlements, assign_communities
from dualuse.prepare.drought_rasters import fill_productivity_scenarios, keep_with_scenarios, scenarios_table
from dualuse.prepare.geometry import crs_name, to_crs
from dualuse.prepare.input_files import first_line, require_file
from dualuse.prepare.legends import BUILTIN_LEGENDS
from dualuse.prepare.tiling import read_aoi, tile_parcels, tiling_crs
from dualuse.prepare.vectors import (
    PROTECTED_MAJORITY,
    grid_distance_km,
    protected_share,
)
from dualuse.prepare.zonal import raster_environment
from dualuse.vocabulary import (
    COMMUNITIES_LAYER,
    M2_PER_HA,
    PARCELS_LAYER,
    PRODUCTIVITY_SCENARIOS_TABLE,
    SOURCES_TABLE,
)

#: The columns of the ``prepare_sources`` table.
SOURCE_COLUMNS = ("input", "path", "crs", "resolution", "conversion", "parcels_without_data")


@dataclass(frozen=True)
class PrepareOptions:
    """Everything ``dualuse prepare`` needs; paths as given by the user.

    Attributes
    ----------
    aoi : str — area of interest, a polygon layer (GeoPackage or any OGR vector)
    aoi_layer : str or None — its layer, when the file has several
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
    protected_layer, protected_where : str or None — their layer, and an OGR SQL filter on it
    grid_lines : str or None — power lines
    grid_lines_layer : str or None — their layer
    settlements : str or None — settlement points with population
    settlements_layer : str or None — their layer
    population_field, electrified_field : str or None — fields of population [people] and electrified share [0–1]
    settlement_id_field : str or None — field of unique ids used as ``community_id``
    household_size : float or None — people per household
    reach_km : float or None — how far from a settlement a parcel may supply it [km]
    sliver_share : float — clipped cells smaller than this share of ``cell_ha`` join a neighbour
    crs : str or None — projected CRS (metres) to tile in; default a local Lambert equal-area
    allow_missing : bool — drop parcels without data in a required raster instead of failing
    productivity_scenarios : tuple of (name, path) — a productivity raster per drought year, in the unit of
        ``productivity`` (:mod:`~dualuse.prepare.drought_rasters`)
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
    productivity_scenarios: tuple[tuple[str, str], ...] = ()


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
    productivity_scenarios : DataFrame or None — one row per (parcel, drought year), when drought rasters were given
    """

    parcels: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None
    sources: pd.DataFrame
    crs: pyproj.CRS
    timings_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    productivity_scenarios: pd.DataFrame | None = None


Log = Callable[[str], None]


def _quiet(_: str) -> None:
    """A log that says nothing."""


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
    with raster_environment():
        return _prepare_region(options, log)


def _prepare_region(options: PrepareOptions, log: Log) -> PreparedRegion:
    """The stages of ``prepare``, in order, each timed."""
    clock = _Clock(log)
    with clock("tile"):
        filled = _tile(options)
    log(f"{len(filled.parcels):,} {options.shape} parcels of about {options.cell_ha:g} ha in {filled.crs.name}")
    if options.crs is not None:
        _note_area_distortion(filled, options.cell_ha)
    _fill_rasters(filled, options, clock)
    _fill_vectors(filled, options, clock)
    keep = resolve_missing(filled, _origins(options), options.allow_missing, options.aoi)
    drought_years = None
    if options.productivity_scenarios:
        with clock("productivity_scenarios"):
            values = fill_productivity_scenarios(filled, options.productivity_scenarios, options.productivity_scale)
            parcel_id = filled.parcels["parcel_id"].to_numpy()
            keep = keep_with_scenarios(values, keep, options.allow_missing, parcel_id,
                                       dict(options.productivity_scenarios), filled.notes)
            drought_years = scenarios_table(values, parcel_id, keep)
    communities = None
    if options.settlements is not None:
        with clock("communities"):
            filled.columns["community_id"], communities, description = assign_communities(
                _settlements(options), filled.centroids, keep, filled.crs, filled.aoi, filled.notes)
            filled.sources.append({"input": "communities", **description, "parcels_without_data": 0})
    with clock("assemble"):
        parcels = parcel_layer(filled, keep)
    return PreparedRegion(parcels=parcels, communities=communities,
                          sources=pd.DataFrame(filled.sources, columns=list(SOURCE_COLUMNS)),
                          crs=filled.crs, timings_s=clock.timings_s, notes=filled.notes,
                          productivity_scenarios=drought_years)


def _tile(options: PrepareOptions) -> ParcelColumns:
    """The area of interest tiled into parcels in the tiling CRS, with the AOI's row of the sources table."""
    aoi, aoi_crs = read_aoi(options.aoi, options.aoi_layer)
    crs = tiling_crs(aoi, aoi_crs, options.crs)
    aoi_m = to_crs(aoi, aoi_crs, crs)
    parcels = tile_parcels(aoi_m, crs, options.cell_ha, options.shape, options.sliver_share)
    filled = ParcelColumns(parcels, crs, aoi_m)
    filled.sources.append({"input": "aoi", "path": options.aoi, "crs": crs_name(aoi_crs), "resolution": "",
                           "conversion": f"{options.shape} cells of {options.cell_ha:g} ha in {crs_name(crs)}",
                           "parcels_without_data": 0})
    return filled


def _fill_rasters(filled: ParcelColumns, options: PrepareOptions, clock: _Clock) -> None:
    """The columns from rasters: PV yield, productivity, SOC, slope, land type, degradation."""
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


def _fill_vectors(filled: ParcelColumns, options: PrepareOptions, clock: _Clock) -> None:
    """The columns from vectors: protected, grid_km."""
    if options.protected is not None:
        with clock("protected"):
            share, description = protected_share(options.protected, options.protected_layer,
                                                 options.protected_where, filled.geometry, filled.crs, filled.aoi)
            filled.extra["protected_share"] = share
            filled.columns["protected"] = share > PROTECTED_MAJORITY
            filled.sources.append({"input": "protected", **description, "parcels_without_data": 0})
    if options.grid_lines is not None:
        with clock("grid_km"):
            filled.columns["grid_km"], description = grid_distance_km(
                options.grid_lines, options.grid_lines_layer, filled.centroids, filled.crs, filled.aoi)
            filled.sources.append({"input": "grid_km", **description, "parcels_without_data": 0})


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


def _origins(options: PrepareOptions) -> dict[str, tuple[str, str | None]]:
    """The option and path of the raster behind each column that records its coverage."""
    return {"pv_yield_kwh_kwp": ("--pvout", options.pvout),
            "productivity_t_ha": ("--productivity", options.productivity),
            "soc_t_ha": ("--soc", options.soc), "land_type": ("--land-cover", options.land_cover),
            "degradation": ("--degradation", options.degradation),
            "slope_deg": ("--dem" if options.dem else "--slope", options.dem or options.slope)}


def _settlements(options: PrepareOptions) -> Settlements:
    """The settlement options, checked complete by :func:`check_options`."""
    assert options.settlements is not None and options.reach_km is not None
    assert options.household_size is not None and options.population_field is not None
    assert options.electrified_field is not None
    return Settlements(path=options.settlements, layer=options.settlements_layer,
                       population_field=options.population_field, electrified_field=options.electrified_field,
                       household_size=options.household_size, reach_km=options.reach_km,
                       id_field=options.settlement_id_field)


def _note_area_distortion(filled: ParcelColumns, cell_ha: float) -> None:
    """Say so when a user-given CRS makes the cells notably larger or smaller than ``cell_ha`` on the ground."""
    ground_ha = float(equal_area_ha(gpd.GeoSeries([filled.aoi], crs=filled.crs))[0])
    stretch = ground_ha / (filled.aoi.area / M2_PER_HA) - 1.0
    if abs(stretch) > 0.005:
        filled.notes.append(f"{crs_name(filled.crs)} is not equal-area: here its cells are {stretch:+.1%} larger "
                            f"on the ground than {cell_ha:g} ha; leave out --crs for cells of exactly that area")


def write_region(prepared: PreparedRegion, output: str | os.PathLike[str]) -> None:
    """Write ``parcels``, ``communities`` and ``prepare_sources`` to a fresh GeoPackage, atomically."""
    out = Path(output)
    try:
        with atomic_path(out) as temp, warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            parcels, communities = in_authority_crs(prepared.parcels, prepared.communities)
            pyogrio.write_dataframe(parcels, temp, layer=PARCELS_LAYER, driver="GPKG", promote_to_multi=True)
            if communities is not None:
                pyogrio.write_dataframe(communities, temp, layer=COMMUNITIES_LAYER, driver="GPKG")
            pyogrio.write_dataframe(prepared.sources, temp, layer=SOURCES_TABLE, driver="GPKG")
            if prepared.productivity_scenarios is not None:
                pyogrio.write_dataframe(prepared.productivity_scenarios, temp, layer=PRODUCTIVITY_SCENARIOS_TABLE,
                                        driver="GPKG")
            describe_region(temp)
    except (OSError, sqlite3.Error, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise OutputError(f"cannot write {out}: {first_line(exc)}. Fix: choose a folder you can "
                          "write to, with free space") from None


def in_authority_crs(parcels: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None
                     ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """The layers in a CRS with an authority code, as every GIS can name it: a CRS that has one is kept; the
    default local equal-area CRS is replaced by the UTM zone (an EPSG code) of the region's centre.

    The cells were cut in the equal-area CRS and keep their area on the ground: only their vertices move.
    """
    crs = pyproj.CRS.from_user_input(parcels.crs) if parcels.crs is not None else None
    if crs is None or crs.to_authority() is not None or not len(parcels):
        return parcels, communities
    utm = parcels.estimate_utm_crs()
    moved = communities.to_crs(utm) if isinstance(communities, gpd.GeoDataFrame) and communities.crs else communities
    return parcels.to_crs(utm), moved


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
    _check_settlement_options(options)
    if options.protected is None and (options.protected_layer or options.protected_where):
        raise UsageError("--protected-layer and --protected-where need --protected POLYGONS.gpkg")
    if options.grid_lines is None and options.grid_lines_layer:
        raise UsageError("--grid-lines-layer needs --grid-lines LINES.gpkg")
    for option, path in _input_paths(options):
        require_file(path, option)
    if options.land_cover_legend not in BUILTIN_LEGENDS:
        require_file(options.land_cover_legend, "--land-cover-legend")


def _check_settlement_options(options: PrepareOptions) -> None:
    """Settlements come with population, electrified share, household size and reach, or none of these."""
    settlement_options = {"--population-field": options.population_field,
                          "--electrified-field": options.electrified_field,
                          "--household-size": options.household_size, "--reach-km": options.reach_km}
    if options.settlements is None:
        given = [k for k, v in settlement_options.items() if v is not None]
        if given:
            raise UsageError(f"{', '.join(given)} need --settlements POINTS.gpkg")
        return
    absent = [k for k, v in settlement_options.items() if v is None]
    if absent:
        raise UsageError(f"--settlements also needs {', '.join(absent)} (communities are built from "
                         "population, electrified share and household size within reach)")
    assert options.household_size is not None and options.reach_km is not None
    if not options.household_size > 0:
        raise UsageError(f"--household-size must be a positive number of people, not {options.household_size:g}")
    if not options.reach_km > 0:
        raise UsageError(f"--reach-km must be a positive distance in km, not {options.reach_km:g}")


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
    """(option, path) of every input file given."""
    pairs = [("AOI", options.aoi), ("--pvout", options.pvout), ("--productivity", options.productivity),
             ("--soc", options.soc), ("--land-cover", options.land_cover),
             ("--degradation", options.degradation), ("--dem", options.dem), ("--slope", options.slope),
             ("--protected", options.protected), ("--grid-lines", options.grid_lines),
             ("--settlements", options.settlements),
             *((f"--productivity-scenario {name}", path) for name, path in options.productivity_scenarios)]
    return [(option, path) for option, path in pairs if path is not None]
