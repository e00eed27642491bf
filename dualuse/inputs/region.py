"""Reading a region GeoPackage into a validated :class:`Region`.

:func:`check_region` opens the parcel layer and the optional communities
table (:mod:`dualuse.inputs.layers`), runs every check of
:mod:`dualuse.inputs.checks`, :mod:`dualuse.inputs.columns` and
:mod:`dualuse.inputs.overlaps` and collects the problems they find;
:func:`read_region` refuses the input with the first error and counts the
rest.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dualuse.errors import InputError, UsageError, has_extra
from dualuse.files import file_sha256
from dualuse.inputs.checks import (
    check_areas,
    check_communities,
    checked_parcels,
    check_units,
    measure_unbuilt,
)
from dualuse.inputs.columns import check_column_names
from dualuse.inputs.drought import DroughtYears, read_drought_years
from dualuse.inputs.layers import open_parcels, read_communities
from dualuse.inputs.outlines import Outlines, polygon_outlines
from dualuse.inputs.overlaps import OVERLAP_TOLERANCE, check_overlaps
from dualuse.inputs.schema import (
    DEFAULT_LAYER,
    Problem,
    crosses_antimeridian,
    equal_area_ha,
    example_ids,
    measuring_geometry,
)
from dualuse.vocabulary import COMMUNITIES_LAYER, LAND_TYPES


@dataclass(frozen=True, eq=False)
class Region:
    """A validated region: the parcels with aligned numpy arrays, areas in ha.

    Attributes
    ----------
    parcels : GeoDataFrame — the input layer as read, in its own CRS, one row per parcel
    communities : DataFrame — ``community_id``, ``unserved_households``, ``household_kwh_yr`` (NaN = tier default),
        ``mtf_tier`` (NaN = the scenario's)
    area_ha : ndarray — parcel area from an equal-area CRS [ha]
    land_type : ndarray of int8 — index into :data:`LAND_TYPES`
    community : ndarray of int64 — index into ``communities``, −1 for none
    drought : DroughtYears or None — the region's drought years (:mod:`dualuse.inputs.drought`), if any
    """

    parcels: gpd.GeoDataFrame
    communities: pd.DataFrame
    parcel_id: np.ndarray
    area_ha: np.ndarray
    land_type: np.ndarray
    pv_yield_kwh_kwp: np.ndarray
    productivity_t_ha: np.ndarray
    soc_t_ha: np.ndarray
    degradation: np.ndarray
    slope_deg: np.ndarray
    protected: np.ndarray
    grid_km: np.ndarray
    community: np.ndarray
    path: str = ""
    layer: str = DEFAULT_LAYER
    input_sha256: str = ""
    warnings: tuple[Problem, ...] = field(default_factory=tuple)
    drought: DroughtYears | None = None

    @property
    def n_parcels(self) -> int:
        return int(self.area_ha.size)

    @property
    def n_communities(self) -> int:
        return len(self.communities)


def read_region(path: str | os.PathLike[str], layer: str | None = None, *,
                overlap_tolerance: float = OVERLAP_TOLERANCE) -> Region:
    """Read and validate a region GeoPackage.

    Parameters
    ----------
    path : the region GeoPackage
    layer : the parcel layer [default: ``parcels``]
    overlap_tolerance : share of the region's area that overlapping parcels may count twice (a warning); more
        is an error [default: 0.01]

    Raises
    ------
    InputError
        On the first error found, with the number of further problems;
        ``dualuse validate`` lists them all.
    """
    region, problems = check_region(path, layer, overlap_tolerance=overlap_tolerance)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        err = errors[0].as_error(str(path))
        if len(errors) > 1:
            err = InputError(f"{err}. {len(errors) - 1} more problem(s): run `dualuse validate {path}` "
                             "to list them all")
        raise err
    assert region is not None
    return region


def check_region(path: str | os.PathLike[str], layer: str | None = None, *,
                 overlap_tolerance: float = OVERLAP_TOLERANCE) -> tuple[Region | None, list[Problem]]:
    """Validate a region file, collecting every problem.

    Returns the region (None when any error was found) and the problems,
    errors first.  ``overlap_tolerance`` is as in :func:`read_region`.
    """
    if not (isinstance(overlap_tolerance, (int, float)) and math.isfinite(overlap_tolerance)
            and 0.0 <= overlap_tolerance <= 1.0):
        raise UsageError(f"overlap_tolerance must be a share of the region's area from 0 to 1, not "
                         f"{overlap_tolerance!r}")
    path = str(path)
    layer_name = layer or DEFAULT_LAYER
    problems: list[Problem] = []
    frame = open_parcels(path, layer_name, problems)
    parcels, outlines = checked_parcels(frame, layer_name, problems)
    check_column_names(parcels, layer_name, problems)
    communities = _read_communities(path, layer_name, parcels.crs, problems)
    community_index = (_link_communities(parcels, communities, layer_name, problems)
                       if communities is not None else None)
    check_units(frame, layer_name, problems)
    if community_index is None or any(p.severity == "error" for p in problems):
        measure_unbuilt(parcels, layer_name, problems)
        return None, _sorted(problems)
    measured = np.asarray(measuring_geometry(parcels.geometry)[0].array, dtype=object)
    if outlines is None or crosses_antimeridian(parcels.geometry):  # measured on other coordinates
        outlines = polygon_outlines(measured)  # read once, for the areas and the overlaps
    with np.errstate(invalid="ignore", over="ignore"):  # areas out of the CRS's range: check_areas names them
        region = _build_region(path, layer_name, parcels, communities, community_index, problems, outlines)
    check_areas(region.parcels, region.area_ha, layer_name, problems)
    drought = read_drought_years(path, region.parcel_id, region.pv_yield_kwh_kwp, problems)
    if drought is not None:
        region = replace(region, drought=drought)
    if not any(p.severity == "error" for p in problems):
        check_overlaps(region.parcels, measured, region.area_ha, layer_name, problems, overlap_tolerance, outlines)
    del measured, outlines
    if any(p.severity == "error" for p in problems):
        return None, _sorted(problems)
    region = replace(region, warnings=tuple(p for p in problems if p.severity == "warning"))
    return region, _sorted(problems)


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.severity != "error")


def _read_communities(path: str, parcel_layer: str, parcel_crs: Any,
                      problems: list[Problem]) -> pd.DataFrame | None:
    """The optional communities layer or table, checked; an empty frame when absent."""
    empty = pd.DataFrame({"community_id": pd.Series([], dtype="string"),
                          "unserved_households": pd.Series([], dtype=float),
                          "household_kwh_yr": pd.Series([], dtype=float),
                          "mtf_tier": pd.Series([], dtype=float),
                          "rural_households": pd.Series([], dtype=float)})
    frame = read_communities(path, parcel_layer, parcel_crs, COMMUNITIES_LAYER, problems)
    if frame is None:
        return None
    if frame.empty and len(frame.columns) == 0:
        return empty
    layer = COMMUNITIES_LAYER
    before = len(problems)
    check_communities(frame, layer, problems)
    if any(p.severity == "error" and p.column == "community_id" for p in problems[before:]):
        return None  # the parcels cannot be linked to communities without usable ids
    keep = ["community_id", "unserved_households", "household_kwh_yr", "mtf_tier", "rural_households"]
    if "geometry" in frame.columns and frame["geometry"].notna().any():
        keep.append("geometry")
    return frame.reindex(columns=keep).reset_index(drop=True)


def _link_communities(parcels: pd.DataFrame, communities: pd.DataFrame, layer: str,
                      problems: list[Problem]) -> np.ndarray:
    """Each parcel's index into ``communities`` (−1 for none)."""
    n = len(parcels)
    if "community_id" not in parcels.columns:
        return np.full(n, -1, dtype=np.int64)
    ids = parcels["community_id"].astype("string")
    if len(communities) == 0:
        has = ids.notna().to_numpy() & (ids.str.strip() != "").fillna(False).to_numpy()
        if has.any():
            problems.append(Problem("warning", COMMUNITIES_LAYER, "",
                                    "parcels name communities but the file has no 'communities' table, "
                                    "so energy access is not modelled (all energy goes to the grid)",
                                    "add a 'communities' table with community_id and unserved_households"))
        return np.full(n, -1, dtype=np.int64)
    index, has = _community_index(ids, communities["community_id"].astype("string"))
    unknown = has & (index < 0)
    if unknown.any():
        seen = sorted(set(ids[unknown].astype(str).tolist()))[:5]
        problems.append(Problem("error", layer, "community_id",
                                f"{unknown.sum()} parcel(s) name communities that are not in the "
                                f"'communities' table ({', '.join(repr(s) for s in seen)})",
                                "add those communities to the table, or clear the parcels' community_id",
                                example_ids(parcels, unknown), int(unknown.sum())))
    index = np.where(has, index, -1)
    return index.astype(np.int64)


def _community_index(ids: pd.Series, names: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each id's position among ``names`` (−1 when absent), and whether it names a community at all (not
    missing, not blank).  The ids are looked up in Arrow; only those not found are stripped one by one
    (without pyarrow, every id is looked up and stripped through pandas)."""
    if not has_extra("arrow"):
        has = ids.notna().to_numpy() & (ids.astype("string").str.strip() != "").fillna(False).to_numpy()
        return pd.Index(names).get_indexer(ids.astype("string")).astype(np.int64), has
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.array(ids.array)
    found = pc.index_in(values, value_set=pa.array(names.array).cast(values.type))
    index = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    blank_name = np.array([not str(s).strip() for s in names.fillna("").tolist()] + [False])
    has = ~ids.isna().to_numpy() & ~blank_name[index]  # index −1: the last entry, False
    elsewhere = has & (index < 0)
    if elsewhere.any():
        has[elsewhere] = (ids[elsewhere].str.strip() != "").fillna(False).to_numpy()
    return index, has


def _build_region(path: str, layer: str, parcels: gpd.GeoDataFrame, communities: pd.DataFrame,
                  community_index: np.ndarray, problems: list[Problem], outlines: Outlines | None = None) -> Region:
    area_ha = equal_area_ha(parcels.geometry, outlines)
    tiny = area_ha <= 0
    if tiny.any():
        problems.append(Problem("error", layer, "geometry",
                                f"{tiny.sum()} parcel(s) have zero area (degenerate or self-intersecting)",
                                "repair the polygons (e.g. QGIS 'Fix geometries') or drop them",
                                example_ids(parcels, tiny), int(tiny.sum())))
    land_type = pd.Categorical(parcels["land_type"], categories=LAND_TYPES).codes.astype(np.int8)
    return Region(
        parcels=parcels,
        communities=communities,
        parcel_id=parcels["parcel_id"].to_numpy(),
        area_ha=area_ha,
        land_type=land_type,
        pv_yield_kwh_kwp=parcels["pv_yield_kwh_kwp"].to_numpy(dtype=float),
        productivity_t_ha=parcels["productivity_t_ha"].to_numpy(dtype=float),
        soc_t_ha=parcels["soc_t_ha"].to_numpy(dtype=float),
        degradation=parcels["degradation"].to_numpy(dtype=np.int8),
        slope_deg=parcels["slope_deg"].to_numpy(dtype=float),
        protected=parcels["protected"].to_numpy(dtype=bool),
        grid_km=parcels["grid_km"].to_numpy(dtype=float),
        community=community_index,
        path=path,
        layer=layer,
        input_sha256=file_sha256(path),
        warnings=tuple(p for p in problems if p.severity == "warning"),
    )
