"""Three drought years for the example region: losses that are spatially correlated and worst on degraded land.

Each year's loss of the current use's productivity on parcel :math:`i` is

.. math:: L_{si} = \\min\\big(0.95,\\; \\bar L_s\\,(1 + 0.4 f_{si})\\,(1 + 0.5 (v_i - \\tfrac12))\\, d_i\\big)

with :math:`\\bar L_s` the year's mean loss (0.25, 0.45, 0.65 for the
``moderate``, ``severe`` and ``extreme`` years, of probability 0.5, 0.35
and 0.15 among the drought years: planning values for the example, in the
range of the 30–60 % millet and sorghum losses of Sahelian drought years),
:math:`f_{si} \\in [-1, 1]` a smooth field that the years share in part (a
drought hits the same districts hardest), :math:`v_i` the parcel's
position from south (0) to north (1), drier to the north, and :math:`d_i`
1.35 on degraded land, 0.8 on improving land, 1 elsewhere.  The years are
drawn from their own random stream of the seed, so the parcels stay as
they are without them.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: (name, probability among the drought years, mean loss of the current use's productivity)
EXAMPLE_DROUGHTS: tuple[tuple[str, float, float], ...] = (
    ("moderate", 0.5, 0.25), ("severe", 0.35, 0.45), ("extreme", 0.15, 0.65))
#: Loss multiplier on degraded (−1), stable (0) and improving (+1) land.
DEGRADATION_FACTOR = {-1: 1.35, 0: 1.0, 1: 0.8}
#: How much of each year's spatial pattern is shared with the other years.
SHARED_PATTERN = 0.6


def _field(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, modes: int = 5) -> np.ndarray:
    """A smooth field on the unit square, scaled to [−1, 1]."""
    out = np.zeros(u.size)
    for _ in range(modes):
        fx, fy = rng.uniform(-3.0, 3.0, size=2)
        out += rng.uniform(0.5, 1.0) * np.sin(2 * math.pi * (fx * u + fy * v) + rng.uniform(0, 2 * math.pi))
    largest = float(np.abs(out).max()) if out.size else 0.0
    return out / largest if largest > 0 else out


def example_drought_years(parcels: gpd.GeoDataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The example's ``productivity_scenarios`` and ``scenarios`` tables, the same for the same seed."""
    rng = np.random.default_rng([seed, 14])
    centres = shapely.centroid(np.asarray(parcels.geometry.array, dtype=object))
    x, y = shapely.get_x(centres), shapely.get_y(centres)
    u = (x - x.min()) / max(float(np.ptp(x)), 1.0)
    v = (y - y.min()) / max(float(np.ptp(y)), 1.0)
    shared = _field(rng, u, v)
    factor = pd.Series(parcels["degradation"].to_numpy()).map(DEGRADATION_FACTOR).to_numpy(dtype=float)
    productivity = parcels["productivity_t_ha"].to_numpy(dtype=float)
    frames = []
    for name, _, mean_loss in EXAMPLE_DROUGHTS:
        pattern = SHARED_PATTERN * shared + (1 - SHARED_PATTERN) * _field(rng, u, v)
        loss = np.clip(mean_loss * (1 + 0.4 * pattern) * (1 + 0.5 * (v - 0.5)) * factor, 0.0, 0.95)
        frames.append(pd.DataFrame({"parcel_id": parcels["parcel_id"].to_numpy(), "scenario": name,
                                    "productivity_t_ha": np.round(productivity * (1 - loss), 3)}))
    table = pd.concat(frames, ignore_index=True).astype({"parcel_id": object, "scenario": object})
    weights = pd.DataFrame({"scenario": [n for n, _, _ in EXAMPLE_DROUGHTS],
                            "probability": [p for _, p, _ in EXAMPLE_DROUGHTS]}).astype({"scenario": object})
    return table, weights
