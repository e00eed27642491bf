"""Reading a region GeoPackage into a validated :class:`Region`.

:func:`check_region` opens the parcel layer and the optional communities
table, runs every check of :mod:`dualuse.inputs.checks` and collects the
problems they find; :func:`read_region` refuses the input with the first
error and counts the rest.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from dualuse.errors import InputError
from dualuse.files import file_sha256
from dualuse.inputs.checks import check_areas, check_communities, check_parcels, check_units, measure_unbuilt
from dualuse.inputs.schema import DEFAULT_LAYER, Problem, equal_area_ha, example_ids
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

    @property
    def n_parcels(self) -> int:
        return int(self.area_ha.size)

    @property
    def n_communities(self) -> int:
        return len(self.communities)


def read_region(path: str | os.PathLike[str], layer: str | None = None) -> Region:
    """Read and validate a region GeoPackage.

    Raises
    ------
    InputError
        On the first error found, with the number of further problems;
        ``dualuse validate`` lists them all.
    """
    region, problems = check_region(path, layer)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        err = errors[0].as_error(str(path))
        if len(errors) > 1:
            err = InputError(f"{err}. {len(errors) - 1} more problem(s): run `dualuse validate {path}` "
                             "to list them all")
        raise err
    assert region is not None
    return region


def check_region(path: str | os.PathLike[str], layer: str | None = None
                 ) -> tuple[Region | None, list[Problem]]:
    """Validate a region file, collecting every problem.

    Returns the region (None when any error was found) and the problems,
    errors first.
    """
    path = str(path)
    layer_name = layer or DEFAULT_LAYER
    frame = _open_layer(path, layer_name)
    problems: list[Problem] = []
    parcels = check_parcels(frame, layer_name, problems)
    communities = _read_communities(path, layer_name, problems)
    community_index = (_link_communities(parcels, communities, layer_name, problems)
                       if communities is not None else None)
    check_units(frame, layer_name, problems)
    if community_index is None or any(p.severity == "error" for p in problems):
        measure_unbuilt(parcels, layer_name, problems)
        return None, _sorted(problems)
    with np.errstate(invalid="ignore", over="ignore"):  # areas out of the CRS's range: check_areas names them
        region = _build_region(path, layer_name, parcels, communities, community_index, problems)
    check_areas(region.parcels, region.area_ha, layer_name, problems)
    if any(p.severity == "error" for p in problems):
        return None, _sorted(problems)
    region = replace(region, warnings=tuple(p for p in problems if p.severity == "warning"))
    return region, _sorted(problems)


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.severity != "error")


def _open_layer(path: str, layer: str) -> gpd.GeoDataFrame:
    """Read one layer, turning every way a file can be unreadable into one InputError."""
    if not os.path.exists(path):
        raise InputError("no such file", path=path, fix="check the path")
    if os.path.isdir(path):
        raise InputError("is a folder, not a GeoPackage file", path=path, fix="name the .gpkg file")
    if not _looks_like_geopackage(path):
        raise InputError("is not a GeoPackage (not an SQLite file with GeoPackage tables)", path=path,
                         fix="give a .gpkg file; convert other formats with "
                             "`ogr2ogr -f GPKG region.gpkg input.shp -nln parcels`")
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises several classes for a broken file
        raise InputError(f"cannot be opened as a GeoPackage ({_short(exc)}); it may be truncated or corrupt",
                         path=path, fix="re-export the file from its source") from None
    names = [str(n) for n in layers[:, 0]]
    if layer not in names:
        there = ", ".join(f"'{n}'" for n in names) or "none"
        raise InputError(f"has no layer '{layer}' (layers there: {there})", path=path,
                         fix="name the parcel layer with --layer NAME")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pyogrio.read_dataframe(path, layer=layer, fid_as_index=True, use_arrow=True)
    except Exception as exc:
        raise InputError(f"cannot be read ({_short(exc)}); the file may be truncated or corrupt",
                         path=path, layer=layer, fix="re-export the layer from its source") from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise InputError("has no geometry column: it is a table, not a polygon layer", path=path,
                         layer=layer, fix="give the layer of parcel polygons with --layer NAME")
    if len(frame) == 0:
        raise InputError("is empty: it has no parcels", path=path, layer=layer,
                         fix="give a layer with at least one parcel polygon")
    if frame.crs is None:
        raise InputError("has no coordinate reference system, so areas cannot be computed", path=path,
                         layer=layer, fix="assign the CRS the coordinates are in, e.g. "
                                          "`ogr2ogr -a_srs EPSG:32632 out.gpkg in.gpkg`")
    frame.index.name = "fid"
    return frame


def _looks_like_geopackage(path: str) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(100)
    return len(head) == 100 and head.startswith(b"SQLite format 3\x00")


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _read_communities(path: str, parcel_layer: str, problems: list[Problem]) -> pd.DataFrame | None:
    """The optional communities layer or table, checked; an empty frame when absent."""
    empty = pd.DataFrame({"community_id": pd.Series([], dtype="string"),
                          "unserved_households": pd.Series([], dtype=float),
                          "household_kwh_yr": pd.Series([], dtype=float),
                          "mtf_tier": pd.Series([], dtype=float)})
    names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    if COMMUNITIES_LAYER not in names or COMMUNITIES_LAYER == parcel_layer:
        return empty
    layer = COMMUNITIES_LAYER
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=True, use_arrow=True)
    except Exception as exc:
        problems.append(Problem("error", layer, "", f"cannot be read ({_short(exc)})",
                                "re-export the communities table"))
        return None
    frame = pd.DataFrame(frame)
    before = len(problems)
    check_communities(frame, layer, problems)
    if any(p.severity == "error" and p.column == "community_id" for p in problems[before:]):
        return None  # the parcels cannot be linked to communities without usable ids
    keep = ["community_id", "unserved_households", "household_kwh_yr", "mtf_tier"]
    if "geometry" in frame.columns and frame["geometry"].notna().any():
        keep.append("geometry")
    return frame.reindex(columns=keep).reset_index(drop=True)


def _link_communities(parcels: pd.DataFrame, communities: pd.DataFrame, layer: str,
                      problems: list[Problem]) -> np.ndarray:
    """Each parcel's index into ``communities`` (−1 for none)."""
    n = len(parcels)
    if "community_id" not in parcels.columns:
        return np.full(n, -1, dtype=np.int64)
    ids = parcels["community_id"]
    has = ids.notna().to_numpy() & (ids.astype("string").str.strip() != "").fillna(False).to_numpy()
    if has.any() and len(communities) == 0:
        problems.append(Problem("warning", COMMUNITIES_LAYER, "",
                                "parcels name communities but the file has no 'communities' table, "
                                "so energy access is not modelled (all energy goes to the grid)",
                                "add a 'communities' table with community_id and unserved_households"))
        return np.full(n, -1, dtype=np.int64)
    lookup = pd.Index(communities["community_id"].astype("string"))
    index = lookup.get_indexer(ids.astype("string"))
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


def _build_region(path: str, layer: str, parcels: gpd.GeoDataFrame, communities: pd.DataFrame,
                  community_index: np.ndarray, problems: list[Problem]) -> Region:
    area_ha = equal_area_ha(parcels.geometry)
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
