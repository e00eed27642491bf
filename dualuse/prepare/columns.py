"""The parcel table as it is filled: one step per raster column, the rule for missing data, the final layer.

Continuous rasters give exact area-weighted means, with the covered share of
each parcel in ``<column>_coverage``; land cover gives the land type covering
most of the parcel (and every type's share, ``lc_share_<type>``); SDG 15.3.1
status gives the status covering most of it (and ``degraded_share``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from dualuse.errors import InputError
from dualuse.inputs.schema import PARCEL_COLUMNS
from dualuse.prepare.geometry import span, to_crs
from dualuse.prepare.legends import DEGRADATION_CLASSES, read_legend
from dualuse.prepare.terrain import slope_from_dem
from dualuse.prepare.zonal import Zones, open_raster
from dualuse.vocabulary import LAND_TYPES

DAYS_PER_YEAR = 365.0

#: Columns a parcel cannot do without: a parcel lacking one is an error, or left out with --allow-missing.
REQUIRED_COLUMNS = ("pv_yield_kwh_kwp", "productivity_t_ha", "soc_t_ha", "land_type")

_COLUMN = {c.name: c for c in PARCEL_COLUMNS}

_SCALE_FIX = {
    "pv_yield_kwh_kwp": "check --pvout-unit and that the raster holds PVOUT in kWh/kWp",
    "productivity_t_ha": "set --productivity-scale so that stored value × scale = t DM/ha/yr",
    "soc_t_ha": "set --soc-scale so that stored value × scale = t C/ha (see `dualuse prepare --help`)",
    "slope_deg": "give slope in degrees (from percent: degrees = atan(percent / 100)), or give --dem instead",
}


@dataclass
class ParcelColumns:
    """The parcel columns filled so far, with their coverage, the extra columns, the sources and the notes.

    Attributes
    ----------
    parcels : GeoDataFrame — the tiled parcels (``parcel_id`` and geometry), in ``crs``
    crs : pyproj.CRS — the tiling CRS
    aoi : shapely geometry — the area of interest, in ``crs``
    columns : dict — schema column → values per parcel
    coverage : dict — schema column → share of each parcel its input covered (0 to 1)
    extra : dict — ``*_share`` columns written after the schema columns
    sources : list of dict — rows of the ``prepare_sources`` table
    notes : list of str — what the user should know
    """

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
    zones: Zones = field(init=False)

    def __post_init__(self) -> None:
        self.geometry = np.asarray(self.parcels.geometry.values)
        self.centroids = shapely.centroid(self.geometry)
        self.zones = Zones(self.parcels)

    def add(self, column: str, values: np.ndarray, cover: np.ndarray, source: dict[str, Any]) -> None:
        """One filled column, the share of each parcel its input covered, and the input's description."""
        self.columns[column] = values
        self.coverage[column] = cover
        self.sources.append({**source, "parcels_without_data": int((cover <= 0).sum())})


def fill_mean(filled: ParcelColumns, column: str, path: str, option: str, factor: float, conversion: str,
              pvout_unit: str = "yearly") -> None:
    """``column`` = area-weighted mean of a raster × ``factor``, refused when out of the schema's range."""
    with open_raster(path, option, filled.aoi, filled.crs) as raster:
        mean, cover = filled.zones.mean(raster, factor)
        source = raster.describe(conversion)
    if column == "pv_yield_kwh_kwp":
        _check_pvout_unit(mean, path, pvout_unit)
    _check_range(mean, column, path, filled.parcels)
    filled.add(column, mean, cover, source)


def fill_slope_from_dem(filled: ParcelColumns, dem: str) -> None:
    """``slope_deg`` = area-weighted mean of the slope computed from a DEM (see :func:`slope_from_dem`)."""
    with tempfile.TemporaryDirectory(prefix="dualuse-slope-") as workdir:
        slope_path = os.path.join(workdir, "slope_deg.tif")
        source = slope_from_dem(dem, filled.aoi, filled.crs, slope_path)
        with open_raster(slope_path, "--dem", filled.aoi, filled.crs, display_path=dem) as raster:
            mean, cover = filled.zones.mean(raster, 1.0)
    filled.add("slope_deg", mean, cover, source)


def fill_land_type(filled: ParcelColumns, land_cover: str, legend_spec: str) -> None:
    """``land_type`` = the land type covering most of the parcel; ``lc_share_<type>`` = each type's share."""
    legend, legend_name = read_legend(legend_spec)
    with open_raster(land_cover, "--land-cover", filled.aoi, filled.crs) as raster:
        shares, cover = filled.zones.class_shares(
            raster, legend, len(LAND_TYPES), legend_name,
            unknown_fix="declare the raster's nodata value if these mean 'no data' "
                        "(`gdal_edit.py -a_nodata VALUE FILE`), or give --land-cover-legend TABLE.csv with "
                        "columns value,land_type that maps every value")
        source = raster.describe(f"classes → land types by the {legend_name} legend")
    filled.add("land_type", np.asarray(LAND_TYPES, dtype=object)[np.argmax(shares, axis=1)], cover, source)
    filled.extra.update({f"lc_share_{t}": shares[:, k] for k, t in enumerate(LAND_TYPES)})


def fill_degradation(filled: ParcelColumns, path: str) -> None:
    """``degradation`` = the SDG 15.3.1 status covering most of the parcel (ties: −1, then 0, then 1)."""
    status_legend: dict[int, int | None] = {value: k for k, value in enumerate(DEGRADATION_CLASSES)}
    with open_raster(path, "--degradation", filled.aoi, filled.crs) as raster:
        shares, cover = filled.zones.class_shares(
            raster, status_legend, len(DEGRADATION_CLASSES), "SDG 15.3.1 status (−1, 0, 1)",
            unknown_fix="declare the raster's nodata value (`gdal_edit.py -a_nodata VALUE FILE`); "
                        "SDG 15.3.1 status is −1 (degraded), 0 (stable) or 1 (improving)")
        source = raster.describe("−1 degraded, 0 stable, 1 improving")
    status = np.asarray(DEGRADATION_CLASSES, dtype=np.int8)[np.argmax(shares, axis=1)]
    filled.add("degradation", status, cover, source)
    filled.extra["degraded_share"] = shares[:, DEGRADATION_CLASSES.index(-1)]


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


def resolve_missing(filled: ParcelColumns, origin: Mapping[str, tuple[str, str | None]], allow_missing: bool,
                    aoi_path: str) -> np.ndarray:
    """Which parcels to keep; fail (naming the parcels) on missing data unless ``allow_missing``.

    With ``allow_missing``, parcels lacking a required column are left out and
    parcels lacking an optional one (degradation, slope) get the schema default.
    ``origin`` gives, for each filled column, the option and path of its input.
    """
    parcels = filled.parcels
    ids = parcels["parcel_id"].to_numpy()
    keep = np.ones(len(parcels), dtype=bool)
    for column, cover in filled.coverage.items():
        missing = cover <= 0
        if not missing.any():
            continue
        option, path = origin[column]
        if not allow_missing:
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
        raise InputError("no parcel has data in every required raster", path=aoi_path,
                         fix="give rasters that cover the area of interest")
    return keep


def _where(parcels: gpd.GeoDataFrame, mask: np.ndarray) -> str:
    """Where some parcels are, as a lon/lat box, for messages."""
    box = shapely.box(*shapely.total_bounds(parcels.geometry.values[mask]))
    minx, miny, maxx, maxy = to_crs(shapely.segmentize(box, span(box) / 8),
                                    pyproj.CRS.from_user_input(parcels.crs), pyproj.CRS.from_epsg(4326)).bounds
    return f"within lon {minx:.4f} to {maxx:.4f}, lat {miny:.4f} to {maxy:.4f}"


#: The option that fills each optional column without a raster, for the note that it took the default.
_OPTIONAL_SOURCE = {"degradation": "--degradation", "slope_deg": "--dem or --slope", "protected": "--protected",
                    "grid_km": "--grid-lines"}


def parcel_layer(filled: ParcelColumns, keep: np.ndarray) -> gpd.GeoDataFrame:
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
            filled.notes.append(f"no {_OPTIONAL_SOURCE[spec.name]}: {spec.name} is {spec.default} for every "
                                "parcel (the schema default)")
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
