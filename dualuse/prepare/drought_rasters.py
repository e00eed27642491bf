"""Drought years from rasters: ``dualuse prepare --productivity-scenario NAME=FILE.tif``.

Each raster (e.g. the NPP or yield of a historical drought year, in the
same unit as ``--productivity``) gives every parcel its area-weighted mean,
scaled by ``--productivity-scale``, as the parcel's ``productivity_t_ha``
in that year: one row per (parcel, year) of the region's
``productivity_scenarios`` table.  The years are equally likely until a
``scenarios`` table gives their probabilities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dualuse.errors import InputError, UsageError
from dualuse.inputs.drought import PRODUCTIVITY_SCENARIO_COLUMNS
from dualuse.prepare.columns import ParcelColumns
from dualuse.prepare.zonal import open_raster

OPTION = "--productivity-scenario"
_RANGE = next(c for c in PRODUCTIVITY_SCENARIO_COLUMNS if c.name == "productivity_t_ha")


def parse_scenarios(items: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``NAME=FILE`` items as (name, path) pairs, refused when a name is empty or repeated."""
    out: list[tuple[str, str]] = []
    for item in items:
        name, sep, path = item.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise UsageError(f"{OPTION} {item!r}: write NAME=FILE.tif, e.g. {OPTION} 1984=npp_1984.tif")
        if name in {n for n, _ in out}:
            raise UsageError(f"{OPTION}: the drought year {name!r} is given twice; give each year once")
        out.append((name, path))
    return tuple(out)


def fill_productivity_scenarios(filled: ParcelColumns, scenarios: tuple[tuple[str, str], ...],
                                scale: float) -> dict[str, np.ndarray]:
    """Per drought year, every parcel's productivity [t DM/ha/yr] (NaN without data); a source row each."""
    out = {}
    for name, path in scenarios:
        with open_raster(path, f"{OPTION} {name}", filled.aoi, filled.crs) as raster:
            mean, cover = filled.zones.mean(raster, scale)
            source = raster.describe(f"× {scale:g} (--productivity-scale) → t DM/ha/yr in drought year {name}")
        bad = np.isfinite(mean) & ((mean < _RANGE.lo) | (mean > _RANGE.hi))
        if bad.any():
            raise InputError(f"gives {int(bad.sum())} parcel(s) a drought-year productivity outside "
                             f"{_RANGE.lo:g}–{_RANGE.hi:g} {_RANGE.unit}", path=path, layer="band 1",
                             column="productivity_t_ha", ids=tuple(filled.parcels["parcel_id"].to_numpy()[bad][:5]),
                             count=int(bad.sum()),
                             fix="give the same unit as --productivity, or set --productivity-scale")
        filled.sources.append({"input": f"productivity_scenario {name}", **source,
                               "parcels_without_data": int((~(cover > 0)).sum())})
        out[name] = mean
    return out


def keep_with_scenarios(values: dict[str, np.ndarray], keep: np.ndarray, allow_missing: bool,
                        parcel_id: np.ndarray, paths: dict[str, str], notes: list[str]) -> np.ndarray:
    """The parcels kept: every kept parcel needs data in every drought year (else an error, or with
    ``allow_missing`` the parcel is left out, with a note)."""
    keep = keep.copy()
    for name, mean in values.items():
        lacking = keep & np.isnan(mean)
        if not lacking.any():
            continue
        if not allow_missing:
            raise InputError(f"has no data under {int(lacking.sum())} parcel(s)", path=paths[name],
                             layer="band 1", column="productivity_t_ha", ids=tuple(parcel_id[lacking][:5]),
                             count=int(lacking.sum()),
                             fix="give a raster that covers the area of interest, or --allow-missing to leave "
                                 "those parcels out")
        notes.append(f"{int(lacking.sum())} parcel(s) without data in drought year {name} are left out")
        keep &= ~lacking
    return keep


def scenarios_table(values: dict[str, np.ndarray], parcel_id: np.ndarray, keep: np.ndarray) -> pd.DataFrame:
    """The ``productivity_scenarios`` table of the kept parcels: one row per (parcel, drought year)."""
    frames = [pd.DataFrame({"parcel_id": parcel_id[keep], "scenario": name, "productivity_t_ha": mean[keep]})
              for name, mean in values.items()]
    table = pd.concat(frames, ignore_index=True)
    return table.astype({"parcel_id": object, "scenario": object})
