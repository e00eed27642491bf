"""A plausible dryland region, made from a seed: ``dualuse example``.

Parcels are cells of about 100 ha on a jittered grid in UTM zone 32N (a
Sahelian setting near 13.5°N, 8°E), tiled without gaps.  Fields are smooth:
PV yield rises and rainfall falls to the north; land cover follows rainfall,
a river and the settlements; degradation comes in hot spots; a hill range
gives slope; a forest reserve is protected; a transmission line gives grid
distances; settlements with unserved households form the communities.
Everything is vectorised numpy, so a million parcels take seconds.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from dualuse.errors import has_extra
from dualuse.export.layer_meta import describe_region
from dualuse.files import atomic_path, check_output_path
from dualuse.prepare.example_droughts import example_drought_years
from dualuse.vocabulary import (
    COMMUNITIES_LAYER,
    DROUGHT_SCENARIOS_TABLE,
    LAND_TYPES,
    PARCELS_LAYER,
    PRODUCTIVITY_SCENARIOS_TABLE,
)

CRS = "EPSG:32632"  # WGS 84 / UTM zone 32N
ORIGIN_M = (350_000.0, 1_450_000.0)
CELL_M = 1000.0  # 1 km cells: 100 ha
REACH_KM = 12.0  # a settlement's mini-grid serves parcels within this distance

# Typical dryland productivity by land type [t DM/ha/yr] at average rainfall (planning values for the example).
_BASE_PRODUCTIVITY = {"cropland": 1.6, "grassland": 1.2, "shrubland": 0.7, "forest": 2.0, "wetland": 3.0,
                      "bare": 0.1, "artificial": 0.0, "water": 0.0}
_SOC_OFFSET = {"cropland": -3.0, "grassland": 0.0, "shrubland": 0.0, "forest": 15.0, "wetland": 25.0,
               "bare": -6.0, "artificial": -8.0, "water": 0.0}


@dataclass(frozen=True)
class ExampleRegion:
    """An example region: the parcel layer and the communities table, as ``dualuse`` reads them."""

    parcels: gpd.GeoDataFrame
    communities: pd.DataFrame


@dataclass(frozen=True)
class _Cells:
    """The example's cells: polygons, centres in km from the south-west corner and on the unit square."""

    geometry: np.ndarray
    x_km: np.ndarray
    y_km: np.ndarray
    centres: np.ndarray
    u: np.ndarray
    v: np.ndarray
    nx: int
    extent_km: tuple[float, float]


@dataclass(frozen=True)
class _Settlements:
    """The example's settlements: how many, and each cell's nearest one and its distance [km]."""

    count: int
    nearest: np.ndarray
    distance_km: np.ndarray


def _smooth_field(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, modes: int = 6,
                  max_frequency: float = 3.0) -> np.ndarray:
    """A smooth random field on the unit square, scaled to about [-1, 1]."""
    out = np.zeros_like(u)
    for _ in range(modes):
        fx, fy = rng.uniform(-max_frequency, max_frequency, size=2)
        phase = rng.uniform(0, 2 * math.pi)
        out += rng.uniform(0.5, 1.0) * np.sin(2 * math.pi * (fx * u + fy * v) + phase)
    return out / max(np.abs(out).max(), 1e-9)


#: Beyond this many widths a Gaussian blob's exp(−d²/2w²) is exactly 0.0 in float64 (exp(−746) underflows).
_BLOB_REACH = math.sqrt(2 * 746.0)


def _blobs(rng: np.random.Generator, x_km: np.ndarray, y_km: np.ndarray, count: int, width_km: tuple[float, float],
           extent_km: tuple[float, float], nx: int) -> np.ndarray:
    """A sum of ``count`` Gaussian blobs at random centres over the cells (``nx`` to a row of the grid).

    Each blob is evaluated only on the rows and columns within the distance
    at which it underflows to exactly 0, so the sum is bitwise the one over
    every cell, at a fraction of the cost on large regions.
    """
    rows = -(-x_km.size // nx)
    grid_x, grid_y = x_km[:nx], y_km[::nx]  # cell centres along a row and up a column
    out = np.zeros(rows * nx)
    grid = out.reshape(rows, nx)
    for _ in range(count):
        cx, cy = rng.uniform(0, extent_km[0]), rng.uniform(0, extent_km[1])
        w = rng.uniform(*width_km)
        reach = _BLOB_REACH * w
        c0, c1 = np.searchsorted(grid_x, [cx - reach, cx + reach], side="right")
        r0, r1 = np.searchsorted(grid_y, [cy - reach, cy + reach], side="right")
        grid[r0:r1, c0:c1] += np.exp(-((grid_x[None, c0:c1] - cx) ** 2 + (grid_y[r0:r1, None] - cy) ** 2)
                                     / (2 * w * w))
    return out[:x_km.size]


def make_example(parcels: int = 2000, seed: int = 42) -> ExampleRegion:
    """An example region of ``parcels`` parcels, the same for the same seed."""
    if parcels < 4:
        raise ValueError("an example region needs at least 4 parcels")
    rng = np.random.default_rng(seed)
    cells = _cells(rng, parcels)
    rain = np.clip(1.0 - 0.75 * cells.v + 0.15 * _smooth_field(rng, cells.u, cells.v), 0.0, 1.0)
    texture = _smooth_field(rng, cells.u, cells.v, modes=8, max_frequency=6.0)
    settlements = _settlements(rng, cells, parcels)
    land = _land_types(rng, cells, rain, texture, settlements.distance_km)
    degradation = _degradation(rng, cells, land)
    community, communities = _communities(rng, settlements)
    frame = gpd.GeoDataFrame({
        "parcel_id": np.char.add("P", np.char.zfill(np.arange(1, parcels + 1).astype(str), 7)).astype(object),
        "land_type": land,
        "pv_yield_kwh_kwp": np.round(1680 + 230 * cells.v + 25 * texture, 1),
        "productivity_t_ha": np.round(_productivity_t_ha(land, rain, texture, degradation), 3),
        "soc_t_ha": np.round(_soc_t_ha(land, rain, texture, degradation), 2),
        "degradation": degradation,
        "slope_deg": np.round(_slope_deg(cells, texture), 2),
        "protected": _protected(cells, land),
        "grid_km": np.round(_grid_km(cells), 3),
        "community_id": community,
    }, geometry=cells.geometry, crs=CRS)
    assert set(np.unique(land)) <= set(LAND_TYPES)
    return ExampleRegion(frame, communities)


def _cells(rng: np.random.Generator, parcels: int) -> _Cells:
    """``parcels`` cells on a jittered grid, rows of ``nx`` from the south-west corner.

    The jitter moves the vertices of the lattice, so neighbouring cells share
    their corners and the parcels tile without gaps; the outer edges stay straight.
    """
    ny = max(2, int(round(math.sqrt(parcels / 1.5))))
    nx = int(math.ceil(parcels / ny))
    jitter = rng.uniform(-0.1, 0.1, size=(ny + 1, nx + 1, 2)) * CELL_M
    jitter[[0, -1], :, 1] = 0.0
    jitter[:, [0, -1], 0] = 0.0
    gx, gy = np.meshgrid(np.arange(nx + 1) * CELL_M, np.arange(ny + 1) * CELL_M)
    vx = ORIGIN_M[0] + gx + jitter[..., 0]
    vy = ORIGIN_M[1] + gy + jitter[..., 1]
    rows, cols = np.divmod(np.arange(parcels), nx)
    corners = [(rows, cols), (rows, cols + 1), (rows + 1, cols + 1), (rows + 1, cols), (rows, cols)]
    ring = np.stack([np.stack([vx[r, c], vy[r, c]], axis=-1) for r, c in corners], axis=1)
    geometry = shapely.from_ragged_array(shapely.GeometryType.POLYGON, ring.reshape(-1, 2),
                                         (np.arange(0, 5 * parcels + 1, 5), np.arange(parcels + 1)))
    x_km = (cols + 0.5) * CELL_M / 1000.0
    y_km = (rows + 0.5) * CELL_M / 1000.0
    extent_km = (nx * CELL_M / 1000.0, ny * CELL_M / 1000.0)
    return _Cells(geometry, x_km, y_km, shapely.points(x_km, y_km), x_km / extent_km[0], y_km / extent_km[1],
                  nx, extent_km)


def _settlements(rng: np.random.Generator, cells: _Cells, parcels: int) -> _Settlements:
    """Settlements at random south of the desert edge (one per 250 parcels, 4 to 400), and each cell's nearest."""
    count = int(np.clip(parcels // 250, 4, 400))
    extent_km = cells.extent_km
    points = shapely.points(rng.uniform(0.05, 0.95, count) * extent_km[0],
                            rng.uniform(0.05, 0.75, count) * extent_km[1])
    (cell, settlement), distance_km = shapely.STRtree(points).query_nearest(
        cells.centres, all_matches=False, return_distance=True)
    nearest = np.empty(cells.centres.size, dtype=np.int64)
    nearest[cell] = settlement
    nearest_km = np.empty(cells.centres.size)
    nearest_km[cell] = distance_km
    return _Settlements(count, nearest, nearest_km)


def _land_types(rng: np.random.Generator, cells: _Cells, rain: np.ndarray, texture: np.ndarray,
                settlement_km: np.ndarray) -> np.ndarray:
    """Land cover from rainfall, texture, a river, a lake and the settlements (towns and their fields)."""
    u, x_km, y_km, extent_km = cells.u, cells.x_km, cells.y_km, cells.extent_km
    river_y = extent_km[1] * (0.22 + 0.06 * np.sin(2 * math.pi * u * 1.5 + rng.uniform(0, 6)))
    river_km = np.abs(y_km - river_y)
    lake = (x_km - 0.7 * extent_km[0]) ** 2 + (y_km - 0.35 * extent_km[1]) ** 2 < (0.04 * extent_km[0]) ** 2 + 1.0
    land = np.full(x_km.size, "grassland", dtype=object)
    land[rain <= 0.35] = "shrubland"
    land[rain <= 0.2] = "bare"
    land[(rain > 0.45) & ((settlement_km < 10) | (texture > 0.25))] = "cropland"
    land[(rain > 0.75) & (texture < -0.35)] = "forest"
    land[(river_km < 0.7) & (rain > 0.5)] = "wetland"
    land[settlement_km < 1.1] = "artificial"
    land[lake] = "water"
    return land


def _degradation(rng: np.random.Generator, cells: _Cells, land: np.ndarray) -> np.ndarray:
    """SDG 15.3.1 status: degraded hot spots (the top 15 %), a few improving cells (the bottom 6 %).

    Water is never assessed (SDG 15.3.1 leaves inland water out of the land
    area); settlements in a hot spot are degraded too, as real status maps
    show where towns grow into farmland.
    """
    hot = _blobs(rng, cells.x_km, cells.y_km, count=max(3, cells.x_km.size // 400), width_km=(2.0, 5.0),
                 extent_km=cells.extent_km, nx=cells.nx)
    score = hot + 0.35 * _smooth_field(rng, cells.u, cells.v, modes=5, max_frequency=5.0)
    degradation = np.zeros(cells.x_km.size, dtype=np.int8)
    degradation[score > np.quantile(score, 0.85)] = -1
    degradation[score < np.quantile(score, 0.06)] = 1
    degradation[land == "water"] = 0
    degradation[(land == "artificial") & (degradation > 0)] = 0
    return degradation


def _productivity_t_ha(land: np.ndarray, rain: np.ndarray, texture: np.ndarray, degradation: np.ndarray
                       ) -> np.ndarray:
    """Productivity [t DM/ha/yr]: the land type's typical value, with rainfall and texture; degraded × 0.7."""
    base = pd.Series(land).map(_BASE_PRODUCTIVITY).to_numpy(dtype=float)
    productivity = base * (0.5 + rain) * (1 + 0.12 * texture)
    return np.where(degradation < 0, productivity * 0.7, productivity)


def _soc_t_ha(land: np.ndarray, rain: np.ndarray, texture: np.ndarray, degradation: np.ndarray) -> np.ndarray:
    """Soil organic carbon [t C/ha]: rising with rainfall, offset by land type, at least 1.5; degraded × 0.85."""
    soc = np.clip(8 + 22 * rain + pd.Series(land).map(_SOC_OFFSET).to_numpy(dtype=float) + 3 * texture, 1.5, None)
    return np.where(degradation < 0, soc * 0.85, soc)


def _slope_deg(cells: _Cells, texture: np.ndarray) -> np.ndarray:
    """Slope [degrees]: a hill range in the east, and a little everywhere from the texture."""
    u, v = cells.u, cells.v
    ridge = np.exp(-((u - 0.8) ** 2) / (2 * 0.06 ** 2)) * (0.6 + 0.4 * np.sin(6 * math.pi * v) ** 2)
    return np.clip(0.8 + 22 * ridge + 1.5 * np.abs(texture), 0.0, 45.0)


def _protected(cells: _Cells, land: np.ndarray) -> np.ndarray:
    """A forest reserve: an ellipse in the west, without towns and water."""
    protected = ((cells.u - 0.25) / 0.12) ** 2 + ((cells.v - 0.55) / 0.10) ** 2 < 1.0
    return protected & ~np.isin(land, ("artificial", "water"))


def _grid_km(cells: _Cells) -> np.ndarray:
    """Distance to a transmission line entering from the south-west [km]."""
    extent_km = cells.extent_km
    line = shapely.LineString([(0.0, 0.05 * extent_km[1]), (0.55 * extent_km[0], 0.4 * extent_km[1])])
    return shapely.distance(cells.centres, line)


def _communities(rng: np.random.Generator, settlements: _Settlements) -> tuple[np.ndarray, pd.DataFrame]:
    """Each cell's community (its nearest settlement within :data:`REACH_KM`), and the communities table.

    Unserved households are log-normal around 2,500; a fifth of the
    settlements are market towns with a household demand of 2,117 kWh/yr
    (MTF tier 4, as in OnSSET); the others leave it to the catalogue.
    """
    count = settlements.count
    community_ids = np.array([f"C{k + 1:03d}" for k in range(count)], dtype=object)
    community = np.where(settlements.distance_km <= REACH_KM, community_ids[settlements.nearest], None)
    households = np.round(rng.lognormal(mean=math.log(2500), sigma=0.6, size=count)).astype(int)
    household_kwh = np.full(count, np.nan)
    household_kwh[rng.random(count) < 0.2] = 2117.0  # market towns at MTF tier 4 (OnSSET)
    return community, pd.DataFrame({"community_id": community_ids, "unserved_households": households,
                                    "household_kwh_yr": household_kwh})


def write_example(path: str | os.PathLike[str], parcels: int = 2000, seed: int = 42) -> None:
    """Write an example region GeoPackage (layer ``parcels``, tables ``communities``, and the drought years
    ``productivity_scenarios`` and ``scenarios``), atomically."""
    region = make_example(parcels, seed)
    destination = check_output_path(path)
    with atomic_path(destination) as temp:
        region.parcels.to_file(temp, layer=PARCELS_LAYER, driver="GPKG", engine="pyogrio", geometry_type="Polygon",
                               use_arrow=has_extra("arrow"))
        pyogrio.write_dataframe(region.communities, temp, layer=COMMUNITIES_LAYER, driver="GPKG")
        years, weights = example_drought_years(region.parcels, seed)
        pyogrio.write_dataframe(years, temp, layer=PRODUCTIVITY_SCENARIOS_TABLE, driver="GPKG")
        pyogrio.write_dataframe(weights, temp, layer=DROUGHT_SCENARIOS_TABLE, driver="GPKG")
        describe_region(temp)
