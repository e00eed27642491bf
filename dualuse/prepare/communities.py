"""Settlements → communities: every parcel belongs to the nearest settlement within reach.

Unserved households of a settlement = population × (1 − electrified share)
/ household size.  A settlement that no parcel has as its nearest (another
settlement is nearer to all of them) joins the community of its nearest
parcel within reach, households included; a settlement beyond reach of every
parcel is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from dualuse.errors import InputError
from dualuse.prepare.geometry import M_PER_KM, crs_name, expanded, to_crs
from dualuse.prepare.vectors import read_vector


@dataclass(frozen=True)
class Settlements:
    """Where the settlements are and how to read them.

    Attributes
    ----------
    path : str — settlement points (``--settlements``)
    layer : str or None — their layer (``--settlements-layer``)
    population_field : str — field of the population [people]
    electrified_field : str — field of the electrified share of the population [0–1]
    household_size : float — people per household
    reach_km : float — how far from a settlement a parcel may supply it [km]
    id_field : str or None — field of unique ids used as ``community_id``; default ``S<feature id>``
    """

    path: str
    layer: str | None
    population_field: str
    electrified_field: str
    household_size: float
    reach_km: float
    id_field: str | None = None


@dataclass
class _Read:
    """The settlements as read: their points in the tiling CRS, ids, population and unserved households."""

    frame: gpd.GeoDataFrame
    points: np.ndarray
    settlement_id: np.ndarray
    population: np.ndarray
    households: np.ndarray


def assign_communities(settlements: Settlements, centroids: np.ndarray, keep: np.ndarray, crs: pyproj.CRS,
                       aoi: shapely.Geometry, notes: list[str]
                       ) -> tuple[np.ndarray, gpd.GeoDataFrame, dict[str, Any]]:
    """Each kept parcel's community (the nearest settlement within reach) and the communities table.

    ``centroids`` (of every parcel) and ``aoi`` are in ``crs``; ``keep`` marks
    the parcels in the region.  What the user should know (settlements left
    out or merged) is appended to ``notes``.

    Returns
    -------
    community_id : ndarray of object — per parcel (all parcels; None outside every reach)
    communities : GeoDataFrame — community_id, unserved_households, household_kwh_yr (null),
        population, settlements, at the point of the settlement the community is named after
    description : dict — for the ``prepare_sources`` table
    """
    reach_m = settlements.reach_km * M_PER_KM
    read = _read_settlements(settlements, crs, aoi)
    owner = _nearest_settlement(read.points, centroids, keep, reach_m)
    has_parcels = np.zeros(read.points.size, dtype=bool)
    has_parcels[owner[owner >= 0]] = True
    community = _community_of_settlement(read.points, has_parcels, owner, centroids, keep, reach_m)
    _note_unserved(community, has_parcels, read.households, settlements.reach_km, notes)
    communities = _communities_table(read, has_parcels, community, crs)
    community_id = np.full(centroids.size, None, dtype=object)
    community_id[owner >= 0] = read.settlement_id[owner[owner >= 0]]
    description = {"path": settlements.path, "crs": crs_name(read.frame.crs), "resolution": "",
                   "conversion": f"{len(read.frame)} settlement(s); households = {settlements.population_field} × "
                                 f"(1 − {settlements.electrified_field}) / {settlements.household_size:g}; parcels "
                                 f"join the nearest settlement within {settlements.reach_km:g} km"}
    return community_id, communities, description


def _read_settlements(settlements: Settlements, crs: pyproj.CRS, aoi: shapely.Geometry) -> _Read:
    """The settlement points within reach of the area of interest, checked, with their households."""
    path = settlements.path
    frame = read_vector(path, "--settlements", settlements.layer, "--settlements-layer",
                        bbox=expanded(aoi.bounds, settlements.reach_km * M_PER_KM), bbox_crs=crs)
    kinds = shapely.get_type_id(frame.geometry.values)
    if (~np.isin(kinds, (0, 4))).any():
        raise InputError(f"has {int((~np.isin(kinds, (0, 4))).sum())} feature(s) that are not points",
                         path=path, layer=frame.attrs["layer"],
                         fix="give settlements as points (QGIS 'Centroids' turns footprints into points)")
    population = _numeric_field(frame, settlements.population_field, path, "--population-field",
                                0.0, np.inf, "people, 0 or more")
    electrified = _electrified_share(frame, settlements.electrified_field, path)
    settlement_id = _settlement_ids(frame, settlements.id_field, path)
    households = population * (1.0 - electrified) / settlements.household_size
    points = shapely.centroid(to_crs(frame.geometry.values, pyproj.CRS.from_user_input(frame.crs), crs))
    return _Read(frame, points, settlement_id, population, households)


def _settlement_ids(frame: gpd.GeoDataFrame, id_field: str | None, path: str) -> np.ndarray:
    """The settlements' ids: the values of ``id_field``, refused when empty or repeated, or ``S<feature id>``."""
    if id_field is None:
        return ("S" + pd.Series(frame.index.to_numpy()).astype(str)).to_numpy(dtype=object)
    layer = frame.attrs["layer"]
    if id_field not in frame.columns:
        raise InputError(f"has no field '{id_field}' (fields there: "
                         f"{', '.join(c for c in frame.columns if c != frame.geometry.name)})",
                         path=path, layer=layer, column=id_field, fix="name the id field with --settlement-id-field")
    ids = frame[id_field].astype("string")
    bad = ids.isna().to_numpy() | ids.duplicated(keep=False).to_numpy()
    if bad.any():
        raise InputError("has empty or repeated settlement ids", path=path, layer=layer, column=id_field,
                         ids=frame.index.to_numpy()[bad],
                         fix="give every settlement a unique id, or leave out --settlement-id-field to "
                             "use the feature ids")
    return ids.to_numpy(dtype=object)


def _nearest_settlement(points: np.ndarray, centroids: np.ndarray, keep: np.ndarray, reach_m: float
                        ) -> np.ndarray:
    """Per parcel, the index of the nearest settlement within reach; −1 for none or a parcel not kept."""
    owner = np.full(centroids.size, -1, dtype=np.int64)
    kept = np.flatnonzero(keep)
    if points.size and kept.size:
        p, s = shapely.STRtree(points).query_nearest(centroids[kept], max_distance=reach_m, all_matches=False)
        owner[kept[p]] = s
    return owner


def _community_of_settlement(points: np.ndarray, has_parcels: np.ndarray, owner: np.ndarray,
                             centroids: np.ndarray, keep: np.ndarray, reach_m: float) -> np.ndarray:
    """Per settlement, the settlement whose community it belongs to; −1 when beyond reach of every parcel.

    A settlement with parcels of its own is its own community; one without
    joins the community of its nearest kept parcel within reach.
    """
    community = np.where(has_parcels, np.arange(points.size), -1)
    lone = np.flatnonzero(~has_parcels)
    kept = np.flatnonzero(keep)
    if lone.size and kept.size:
        s, p = shapely.STRtree(centroids[kept]).query_nearest(points[lone], max_distance=reach_m,
                                                              all_matches=False)
        community[lone[s]] = owner[kept[p]]
    return community


def _note_unserved(community: np.ndarray, has_parcels: np.ndarray, households: np.ndarray, reach_km: float,
                   notes: list[str]) -> None:
    """Note the settlements left out (beyond reach) and those merged into a neighbour's community."""
    reached = community >= 0
    dropped_households = float(households[~reached].sum())
    if (~reached).any():
        notes.append(f"{int((~reached).sum())} settlement(s) with {dropped_households:,.0f} unserved households "
                     f"are beyond {reach_km:g} km of every parcel and are left out")
    merged = int((reached & ~has_parcels).sum())
    if merged:
        notes.append(f"{merged} settlement(s) have no parcel of their own (a neighbour is nearer) and join "
                     "the community of their nearest parcel")


def _communities_table(read: _Read, has_parcels: np.ndarray, community: np.ndarray, crs: pyproj.CRS
                       ) -> gpd.GeoDataFrame:
    """One row per settlement with parcels of its own, totalling the settlements that join it."""
    reached = community >= 0
    named = np.flatnonzero(has_parcels)
    slot = np.full(read.points.size, -1, dtype=np.int64)
    slot[named] = np.arange(named.size)
    into = slot[community[reached]]
    return gpd.GeoDataFrame({
        "community_id": read.settlement_id[named],
        "unserved_households": np.bincount(into, weights=read.households[reached], minlength=named.size),
        "household_kwh_yr": np.full(named.size, np.nan),
        "population": np.bincount(into, weights=read.population[reached], minlength=named.size),
        "settlements": np.bincount(into, minlength=named.size).astype(np.int64),
    }, geometry=read.points[named], crs=crs)


def _numeric_field(frame: gpd.GeoDataFrame, name: str, path: str, option: str, lo: float, hi: float,
                   meaning: str) -> np.ndarray:
    """The values of a numeric field, refused when the field is absent or a value is empty or out of range."""
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
