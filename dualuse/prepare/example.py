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
import shapely
from scipy.spatial import cKDTree

from dualuse.vocabulary import LAND_TYPES

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
    parcels: gpd.GeoDataFrame
    communities: pd.DataFrame


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
    ny = max(2, int(round(math.sqrt(parcels / 1.5))))
    nx = int(math.ceil(parcels / ny))
    # a jittered vertex lattice: neighbouring cells share their corners, so the parcels tile without gaps
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

    # cell centres in km from the south-west corner, and on the unit square
    x_km = (cols + 0.5) * CELL_M / 1000.0
    y_km = (rows + 0.5) * CELL_M / 1000.0
    extent_km = (nx * CELL_M / 1000.0, ny * CELL_M / 1000.0)
    u, v = x_km / extent_km[0], y_km / extent_km[1]

    rain = np.clip(1.0 - 0.75 * v + 0.15 * _smooth_field(rng, u, v), 0.0, 1.0)
    texture = _smooth_field(rng, u, v, modes=8, max_frequency=6.0)
    n_settlements = int(np.clip(parcels // 250, 4, 400))
    settle_xy = np.column_stack([rng.uniform(0.05, 0.95, n_settlements) * extent_km[0],
                                 rng.uniform(0.05, 0.75, n_settlements) * extent_km[1]])
    dist_settle_km, nearest = cKDTree(settle_xy).query(np.column_stack([x_km, y_km]))
    river_y = extent_km[1] * (0.22 + 0.06 * np.sin(2 * math.pi * u * 1.5 + rng.uniform(0, 6)))
    dist_river_km = np.abs(y_km - river_y)
    lake = (x_km - 0.7 * extent_km[0]) ** 2 + (y_km - 0.35 * extent_km[1]) ** 2 < (0.04 * extent_km[0]) ** 2 + 1.0

    land = np.full(parcels, "grassland", dtype=object)
    land[rain <= 0.35] = "shrubland"
    land[rain <= 0.2] = "bare"
    land[(rain > 0.45) & ((dist_settle_km < 10) | (texture > 0.25))] = "cropland"
    land[(rain > 0.75) & (texture < -0.35)] = "forest"
    land[(dist_river_km < 0.7) & (rain > 0.5)] = "wetland"
    land[dist_settle_km < 1.1] = "artificial"
    land[lake] = "water"

    base = pd.Series(land).map(_BASE_PRODUCTIVITY).to_numpy(dtype=float)
    productivity = base * (0.5 + rain) * (1 + 0.12 * texture)

    hot = _blobs(rng, x_km, y_km, count=max(3, parcels // 400), width_km=(2.0, 5.0), extent_km=extent_km, nx=nx)
    score = hot + 0.35 * _smooth_field(rng, u, v, modes=5, max_frequency=5.0)
    degradation = np.zeros(parcels, dtype=np.int8)
    degradation[score > np.quantile(score, 0.85)] = -1
    degradation[score < np.quantile(score, 0.06)] = 1
    degradation[np.isin(land, ("water", "artificial"))] = 0
    productivity = np.where(degradation < 0, productivity * 0.7, productivity)

    soc = np.clip(8 + 22 * rain + pd.Series(land).map(_SOC_OFFSET).to_numpy(dtype=float) + 3 * texture, 1.5, None)
    soc = np.where(degradation < 0, soc * 0.85, soc)

    ridge = np.exp(-((u - 0.8) ** 2) / (2 * 0.06 ** 2)) * (0.6 + 0.4 * np.sin(6 * math.pi * v) ** 2)
    slope = np.clip(0.8 + 22 * ridge + 1.5 * np.abs(texture), 0.0, 45.0)

    protected = ((u - 0.25) / 0.12) ** 2 + ((v - 0.55) / 0.10) ** 2 < 1.0
    protected &= ~np.isin(land, ("artificial", "water"))

    # a transmission line entering from the south-west: grid_km is the distance to it
    line = shapely.LineString([(0.0, 0.05 * extent_km[1]), (0.55 * extent_km[0], 0.4 * extent_km[1])])
    grid_km = shapely.distance(shapely.points(x_km, y_km), line)

    community_ids = np.array([f"C{k + 1:03d}" for k in range(n_settlements)], dtype=object)
    community = np.where(dist_settle_km <= REACH_KM, community_ids[nearest], None)
    households = np.round(rng.lognormal(mean=math.log(2500), sigma=0.6, size=n_settlements)).astype(int)
    household_kwh = np.full(n_settlements, np.nan)
    household_kwh[rng.random(n_settlements) < 0.2] = 2117.0  # market towns at MTF tier 4 (OnSSET)

    frame = gpd.GeoDataFrame({
        "parcel_id": np.char.add("P", np.char.zfill(np.arange(1, parcels + 1).astype(str), 7)).astype(object),
        "land_type": land,
        "pv_yield_kwh_kwp": np.round(1680 + 230 * v + 25 * texture, 1),
        "productivity_t_ha": np.round(productivity, 3),
        "soc_t_ha": np.round(soc, 2),
        "degradation": degradation,
        "slope_deg": np.round(slope, 2),
        "protected": protected,
        "grid_km": np.round(grid_km, 3),
        "community_id": community,
    }, geometry=geometry, crs=CRS)
    communities = pd.DataFrame({"community_id": community_ids, "unserved_households": households,
                                "household_kwh_yr": household_kwh})
    assert set(np.unique(land)) <= set(LAND_TYPES)
    return ExampleRegion(frame, communities)


def write_example(path: str | os.PathLike[str], parcels: int = 2000, seed: int = 42) -> None:
    """Write an example region GeoPackage (layer ``parcels``, table ``communities``), atomically."""
    from dualuse.files import atomic_path, check_output_path

    region = make_example(parcels, seed)
    destination = check_output_path(path)
    with atomic_path(destination) as temp:
        region.parcels.to_file(temp, layer="parcels", driver="GPKG", engine="pyogrio", geometry_type="Polygon",
                               use_arrow=True)
        import pyogrio
        pyogrio.write_dataframe(region.communities, temp, layer="communities", driver="GPKG")
