"""The region GeoPackage's schema: its columns, what is wrong with them, and how areas are measured.

The input schema is declared once, in :data:`PARCEL_COLUMNS` and
:data:`COMMUNITY_COLUMNS`; validation, the README table and ``dualuse
prepare`` all read it from there.  A :class:`Problem` is one thing wrong (or
doubtful) with the input, named by layer, column and example ids, with its fix.
Areas are measured in an equal-area CRS (:func:`equal_area_ha`), across the
antimeridian too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dualuse.inputs.areas import projected_area_m2
from dualuse.inputs.outlines import Outlines
from dualuse.errors import InputError
from dualuse.vocabulary import (
    COMMUNITIES_LAYER,
    EQUAL_AREA_CRS,
    LAND_TYPES,
    M2_PER_HA,
    PARCELS_LAYER,
    USES,
)

DEFAULT_LAYER = PARCELS_LAYER

#: The columns that the plan layer adds to the input's, in order (:meth:`dualuse.plan.Plan.parcel_values`); an
#: input column of one of these names is kept as ``input_<name>``.
PLAN_COLUMNS: tuple[str, ...] = (
    "area_ha", "use", *(f"share_{u}" for u in USES), "capacity_mwp", "energy_mwh", "productivity_t", "ldn_class",
    "sdg_status", "ldn_gain_ha", "ldn_loss_ha", "sdg_degraded_ha", "soc_change_t", "cost_usd",
)
#: The equal-area CRS of a region in a geographic CRS that crosses the antimeridian: EPSG:6933's cylindrical
#: equal-area projection (true scale at 30°, WGS 84) centred on 180° instead of 0°.
ANTIMERIDIAN_EQUAL_AREA_CRS = "+proj=cea +lat_ts=30 +lon_0=180 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs +type=crs"
#: The plan file's own columns: its feature id and its geometry.
RESERVED_COLUMNS: tuple[str, ...] = ("fid", "geom")
#: The most columns an SQLite table (so a GeoPackage layer) holds (SQLITE_MAX_COLUMN).
SQLITE_MAX_COLUMNS = 2000
#: The most attribute columns a parcel layer may have so that its plan layer fits in one table.
MAX_INPUT_COLUMNS = SQLITE_MAX_COLUMNS - len(PLAN_COLUMNS) - len(RESERVED_COLUMNS)


@dataclass(frozen=True)
class Column:
    """One column of the input schema."""

    name: str
    kind: str  # "float", "int", "bool", "text", "id"
    unit: str
    meaning: str
    required: bool
    default: Any = None
    lo: float | None = None
    hi: float | None = None
    allowed: tuple[Any, ...] = ()

    @property
    def if_missing(self) -> str:
        """What a missing column means, for the README table."""
        if self.required:
            return "error"
        if self.default is None:
            return "none" if self.name != "parcel_id" else "the feature id"
        return str(self.default).lower() if isinstance(self.default, bool) else str(self.default)


PARCEL_COLUMNS: tuple[Column, ...] = (
    Column("parcel_id", "id", "—", "unique parcel id", False),
    Column("land_type", "text", "text", "LDN land type: " + ", ".join(LAND_TYPES), True,
           allowed=LAND_TYPES),
    Column("pv_yield_kwh_kwp", "float", "kWh/kWp/yr",
           "specific PV yield, e.g. Global Solar Atlas PVOUT (yearly total)", True, lo=0.0, hi=3500.0),
    Column("productivity_t_ha", "float", "t DM/ha/yr",
           "current productivity: crop or forage yield, or an NPP proxy", True, lo=0.0, hi=100.0),
    Column("soc_t_ha", "float", "t C/ha", "soil organic carbon stock, 0–30 cm (e.g. SoilGrids)", True,
           lo=0.0, hi=1000.0),
    Column("degradation", "int", "−1, 0, 1",
           "SDG 15.3.1 status at baseline (e.g. Trends.Earth): degraded, stable, improving", False,
           default=0, allowed=(-1, 0, 1)),
    Column("slope_deg", "float", "degrees", "terrain slope", False, default=0.0, lo=0.0, hi=90.0),
    Column("protected", "bool", "bool", "protected area: only current use or restoration", False,
           default=False),
    Column("grid_km", "float", "km", "distance to the nearest grid connection point", False,
           default=0.0, lo=0.0, hi=5000.0),
    Column("community_id", "text", "text", "the community (service area) this parcel's power can supply",
           False),
)

COMMUNITY_COLUMNS: tuple[Column, ...] = (
    Column("community_id", "id", "—", "unique community id, as used in the parcels' community_id", True),
    Column("unserved_households", "float", "households", "households without electricity", True,
           lo=0.0, hi=1e9),
    Column("household_kwh_yr", "float", "kWh/household/yr",
           "demand per household; default: the community's Multi-Tier Framework tier", False,
           lo=0.0, hi=1e6),
    Column("mtf_tier", "int", "tier", "Multi-Tier Framework tier of the community's household supply "
           "(1–5, a whole number), for its household demand when household_kwh_yr is empty; default: the "
           "scenario's mtf_tier", False, lo=1.0, hi=5.0),
    Column("rural_households", "float", "households", "households that live from the community's land (farming, "
           "herding), for the livelihood figures per household", False, lo=0.0, hi=1e9),
)

#: How to fix a wrong value, per column.
FIXES: dict[str, str] = {
    "land_type": "use one of " + ", ".join(LAND_TYPES) + " (map other classes to these)",
    "pv_yield_kwh_kwp": "give the yearly specific yield in kWh/kWp (PVOUT daily totals × 365)",
    "productivity_t_ha": "give productivity in t dry matter per ha per year, 0 or more",
    "soc_t_ha": "give soil organic carbon in t C/ha, 0 or more",
    "degradation": "use −1 (degraded), 0 (stable) or 1 (improving)",
    "slope_deg": "give the slope in degrees, 0 to 90 (not percent)",
    "protected": "use true/false (or 1/0)",
    "grid_km": "give the distance to the grid in km, 0 or more",
    "unserved_households": "give a household count, 0 or more",
    "household_kwh_yr": "give kWh per household per year, 0 or more, or leave it empty for the tier default",
    "mtf_tier": "give a Multi-Tier Framework tier as a whole number 1 to 5, or leave it empty for the scenario's",
    "rural_households": "give a household count, 0 or more, or leave it empty",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or doubtful) with the input."""

    severity: str  # "error" or "warning"
    layer: str
    column: str
    message: str
    fix: str
    ids: tuple[Any, ...] = ()
    count: int = 0

    def as_error(self, path: str) -> InputError:
        """The problem as the :class:`~dualuse.errors.InputError` that refuses the file at ``path``."""
        return InputError(self.message, path=path, layer=self.layer, column=self.column or None,
                          ids=self.ids, count=self.count or len(self.ids), fix=self.fix)

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict."""
        return {"severity": self.severity, "layer": self.layer, "column": self.column,
                "count": self.count, "ids": [i.item() if hasattr(i, "item") else i for i in self.ids],
                "message": self.message, "fix": self.fix}


def example_ids(frame: pd.DataFrame, mask: np.ndarray) -> tuple[Any, ...]:
    """The ids of the first few rows under ``mask`` (parcel_id if valid, else the feature id)."""
    idx = np.flatnonzero(mask)[:5]
    col = frame["parcel_id"] if "parcel_id" in frame.columns else pd.Series(frame.index, index=frame.index)
    return tuple(col.iloc[idx].tolist())


def crosses_antimeridian(geometry: gpd.GeoSeries) -> bool:
    """In a geographic CRS: whether any geometry spans more than 180° of longitude or reaches past ±180°
    (a parcel across the antimeridian, wrapped as −179°…179° or written as 179°…181°)."""
    if geometry.crs is None or not geometry.crs.is_geographic or len(geometry) == 0:
        return False
    bounds = shapely.bounds(np.asarray(geometry.array, dtype=object))
    with np.errstate(invalid="ignore"):
        across = (bounds[:, 2] - bounds[:, 0] > 180.0) | (bounds[:, 2] > 180.0) | (bounds[:, 0] < -180.0)
    return bool(np.any(across))


def measuring_geometry(geometry: gpd.GeoSeries) -> tuple[gpd.GeoSeries, str]:
    """The geometries as they are measured, and the equal-area CRS to project them to.

    A region in a geographic CRS that crosses the antimeridian has its
    negative longitudes moved by +360°, so that every parcel is one piece
    on longitudes 0–360°, and is measured in :data:`ANTIMERIDIAN_EQUAL_AREA_CRS`;
    any other region is measured as it is, in :data:`~dualuse.vocabulary.EQUAL_AREA_CRS`.
    """
    if not crosses_antimeridian(geometry):
        return geometry, EQUAL_AREA_CRS
    east = shapely.transform(np.asarray(geometry.array, dtype=object),
                             lambda xy: np.where(xy[:, :1] < 0.0, xy + np.array([360.0, 0.0]), xy))
    return gpd.GeoSeries(east, index=geometry.index, crs=geometry.crs), ANTIMERIDIAN_EQUAL_AREA_CRS


def equal_area_ha(geometry: gpd.GeoSeries, outlines: Outlines | None = None) -> np.ndarray:
    """Area of each geometry in hectares, computed in an equal-area CRS whatever the input CRS
    (and wherever the region lies, across the antimeridian included); ``outlines``: the rings of the geometries
    as :func:`measuring_geometry` gives them, when they have been taken out already."""
    measured, crs = measuring_geometry(geometry)
    if measured.crs is not None:
        area_m2 = projected_area_m2(np.asarray(measured.array, dtype=object), measured.crs, crs, outlines)
        if area_m2 is not None:
            return area_m2 / M2_PER_HA
    projected = measured.to_crs(crs)
    return np.asarray(projected.area, dtype=float) / M2_PER_HA


def schema_markdown() -> str:
    """The input schema as a Markdown table (for the README)."""
    rows = ["| layer | column | unit | meaning | if missing |", "|---|---|---|---|---|"]
    for layer, columns in ((DEFAULT_LAYER, PARCEL_COLUMNS), (COMMUNITIES_LAYER, COMMUNITY_COLUMNS)):
        for c in columns:
            rng = f" ({c.lo:g}–{c.hi:g})" if c.lo is not None and c.hi is not None else ""
            rows.append(f"| `{layer}` | `{c.name}` | {c.unit}{rng} | {c.meaning} | {c.if_missing} |")
    return "\n".join(rows)
