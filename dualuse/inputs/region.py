"""Reading and validating a region GeoPackage into a :class:`Region`.

The input schema is declared once, in :data:`PARCEL_COLUMNS` and
:data:`COMMUNITY_COLUMNS`; validation, the README table and ``dualuse
prepare`` all read it from there.  Validation collects every problem it finds
(:func:`check_region`); :func:`read_region` refuses the input with the first
error and counts the rest.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from dualuse.errors import InputError
from dualuse.files import file_sha256
from dualuse.vocabulary import COMMUNITIES_LAYER, EQUAL_AREA_CRS, LAND_TYPES, M2_PER_HA, PARCELS_LAYER

DEFAULT_LAYER = PARCELS_LAYER


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
           "demand per household; default: the scenario's Multi-Tier Framework tier", False,
           lo=0.0, hi=1e6),
)

_FIXES = {
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
        return InputError(self.message, path=path, layer=self.layer, column=self.column or None,
                          ids=self.ids, count=self.count or len(self.ids), fix=self.fix)

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "layer": self.layer, "column": self.column,
                "count": self.count, "ids": [i.item() if hasattr(i, "item") else i for i in self.ids],
                "message": self.message, "fix": self.fix}


@dataclass(frozen=True, eq=False)
class Region:
    """A validated region: the parcels with aligned numpy arrays, areas in ha.

    Attributes
    ----------
    parcels : GeoDataFrame — the input layer as read, in its own CRS, one row per parcel
    communities : DataFrame — ``community_id``, ``unserved_households``, ``household_kwh_yr`` (NaN = tier default)
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


# --------------------------------------------------------------------------- reading


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
    from dualuse.inputs.checks import check_areas, check_units, measure_unbuilt  # validate builds on this module

    path = str(path)
    layer_name = layer or DEFAULT_LAYER
    frame = _open_layer(path, layer_name)
    problems: list[Problem] = []
    parcels = _check_parcels(frame, layer_name, problems)
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


def _ids(frame: pd.DataFrame, mask: np.ndarray) -> tuple[Any, ...]:
    """The ids of the first few rows under ``mask`` (parcel_id if valid, else the feature id)."""
    idx = np.flatnonzero(mask)[:5]
    col = frame["parcel_id"] if "parcel_id" in frame.columns else pd.Series(frame.index, index=frame.index)
    return tuple(col.iloc[idx].tolist())


def _check_parcels(frame: gpd.GeoDataFrame, layer: str, problems: list[Problem]
                   ) -> gpd.GeoDataFrame | None:
    """Check geometry and every schema column; return the frame with clean, typed columns."""
    frame = frame.copy()
    if "parcel_id" not in frame.columns:
        frame["parcel_id"] = frame.index.to_numpy()
    else:
        ids = frame["parcel_id"]
        null = ids.isna().to_numpy()
        if null.any():
            problems.append(Problem("error", layer, "parcel_id", f"{null.sum()} parcel(s) have no id",
                                    "give every parcel an id, or drop the column to use feature ids",
                                    tuple(frame.index[null][:5]), int(null.sum())))
        dup = ids.duplicated(keep=False).to_numpy() & ~null
        if dup.any():
            problems.append(Problem("error", layer, "parcel_id",
                                    f"{ids[dup].nunique()} id(s) are used by more than one parcel",
                                    "make parcel ids unique", tuple(pd.unique(ids[dup])[:5]),
                                    int(ids[dup].nunique())))

    geom = frame.geometry.array
    null = shapely.is_missing(geom) | pd.isna(frame.geometry).to_numpy()
    if null.any():
        problems.append(Problem("error", layer, "geometry",
                                f"{null.sum()} parcel(s) have no geometry (NULL, or bytes that are not a geometry)",
                                "drop these rows or give them polygons", _ids(frame, null), int(null.sum())))
    empty = ~null & shapely.is_empty(geom)
    if empty.any():
        problems.append(Problem("error", layer, "geometry", f"{empty.sum()} parcel(s) have empty geometry",
                                "drop these rows or give them polygons", _ids(frame, empty), int(empty.sum())))
    type_ids = shapely.get_type_id(geom)
    polygonal = np.isin(type_ids, (3, 6))  # Polygon, MultiPolygon
    bad_type = ~null & ~empty & ~polygonal
    if bad_type.any():
        kinds = sorted(set(shapely.get_type_id(geom[bad_type]).tolist()))
        names = ", ".join(_GEOM_NAMES.get(k, str(k)) for k in kinds)
        problems.append(Problem("error", layer, "geometry",
                                f"{bad_type.sum()} parcel(s) are not polygons ({names})",
                                "parcels must be Polygon or MultiPolygon: buffer points and lines into areas, "
                                "or drop them", _ids(frame, bad_type), int(bad_type.sum())))
    from dualuse.inputs.checks import check_geometry  # validate builds on this module
    frame = check_geometry(frame, layer, problems)

    for column in PARCEL_COLUMNS:
        if column.name == "parcel_id":
            continue
        _check_column(frame, column, layer, problems)
    return frame


_GEOM_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 4: "MultiPoint", 5: "MultiLineString",
               7: "GeometryCollection"}


def _check_column(frame: pd.DataFrame, column: Column, layer: str, problems: list[Problem]) -> None:
    """Check one schema column in place: presence, type, finiteness, range, allowed values.

    On success the column is replaced by its clean typed values (defaults filled).
    """
    name = column.name
    fix = _FIXES.get(name, "")
    if name not in frame.columns:
        if column.required:
            have = ", ".join(c for c in frame.columns if c != frame.geometry.name) if isinstance(
                frame, gpd.GeoDataFrame) else ", ".join(frame.columns)
            problems.append(Problem("error", layer, name, f"required column is missing (columns there: {have})",
                                    f"add column '{name}' [{column.unit}]: {column.meaning}"))
        elif column.default is not None:
            frame[name] = column.default
        return

    values = frame[name]
    missing = values.isna().to_numpy()
    if column.kind == "text":
        text = values.astype("string").str.strip().str.lower() if name == "land_type" else values.astype("string")
        if column.required and missing.any():
            problems.append(Problem("error", layer, name, f"{missing.sum()} value(s) are empty", fix,
                                    _ids(frame, missing), int(missing.sum())))
        if column.allowed:
            unknown = ~missing & ~text.isin(column.allowed).to_numpy()
            if unknown.any():
                seen = sorted(set(values[unknown].astype(str).tolist()))[:5]
                problems.append(Problem("error", layer, name,
                                        f"{unknown.sum()} value(s) are not a known land type "
                                        f"({', '.join(repr(s) for s in seen)}); known: {', '.join(column.allowed)}",
                                        fix, _ids(frame, unknown), int(unknown.sum())))
        frame[name] = text
        return

    if column.kind == "bool":
        parsed = _parse_bool(values)
        bad = ~missing & parsed.isna().to_numpy()
        if bad.any():
            seen = sorted(set(values[bad].astype(str).tolist()))[:5]
            problems.append(Problem("error", layer, name,
                                    f"{bad.sum()} value(s) are not booleans ({', '.join(repr(s) for s in seen)})",
                                    fix, _ids(frame, bad), int(bad.sum())))
            return
        if missing.any():
            problems.append(Problem("warning", layer, name,
                                    f"{missing.sum()} value(s) are empty; the default "
                                    f"{str(column.default).lower()} is used for them",
                                    f"fill them in if the default is not right: {fix}", _ids(frame, missing),
                                    int(missing.sum())))
        frame[name] = parsed.fillna(bool(column.default)).astype(bool)
        return

    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        numeric = pd.to_numeric(values, errors="coerce")
        bad = ~missing & numeric.isna().to_numpy()
        if bad.any() or pd.api.types.is_bool_dtype(values):
            seen = sorted(set(values[bad].astype(str).tolist()))[:5]
            problems.append(Problem("error", layer, name,
                                    f"column is not numeric ({values.dtype}; e.g. {', '.join(repr(s) for s in seen)})",
                                    f"store '{name}' as numbers [{column.unit}]", _ids(frame, bad), int(bad.sum())))
            return
        values = numeric
    array = values.to_numpy(dtype=float, na_value=np.nan)
    before = len(problems)
    if missing.any():
        if column.required:
            problems.append(Problem("error", layer, name, f"{missing.sum()} value(s) are empty (NULL or NaN)",
                                    fix, _ids(frame, missing), int(missing.sum())))
        else:
            problems.append(Problem("warning", layer, name,
                                    f"{missing.sum()} value(s) are empty (NULL or NaN); the default "
                                    f"{column.default:g} [{column.unit}] is used for them",
                                    f"fill them in if the default is not right: {fix}", _ids(frame, missing),
                                    int(missing.sum())))
            array = np.where(missing, float(column.default), array)
    infinite = np.isinf(array)
    if infinite.any():
        problems.append(Problem("error", layer, name, f"{infinite.sum()} value(s) are infinite", fix,
                                _ids(frame, infinite), int(infinite.sum())))
    finite = np.isfinite(array)
    if column.allowed:
        bad = finite & ~np.isin(array, column.allowed)
        if bad.any():
            seen = sorted(set(array[bad].tolist()))[:5]
            problems.append(Problem("error", layer, name,
                                    f"{bad.sum()} value(s) are not one of {column.allowed} (e.g. {seen})",
                                    fix, _ids(frame, bad), int(bad.sum())))
    outside = np.zeros(array.shape, dtype=bool)
    if column.lo is not None:
        outside |= finite & (array < column.lo)
    if column.hi is not None:
        outside |= finite & (array > column.hi)
    if outside.any():
        seen = sorted(set(array[outside].tolist()))[:3]
        lo = "−∞" if column.lo is None else f"{column.lo:g}"
        hi = "∞" if column.hi is None else f"{column.hi:g}"
        problems.append(Problem("error", layer, name,
                                f"{outside.sum()} value(s) are outside {lo}–{hi} "
                                f"{column.unit} (e.g. {', '.join(f'{v:g}' for v in seen)})",
                                fix, _ids(frame, outside), int(outside.sum())))
    if any(p.severity == "error" for p in problems[before:]):
        return
    frame[name] = array.astype(np.int8) if column.kind == "int" else array


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _parse_bool(values: pd.Series) -> pd.Series:
    """Booleans from bool, 0/1 or true/false/yes/no text; NA where a value is none of those."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False).to_numpy()] = True
    out[text.isin(_FALSE).fillna(False).to_numpy()] = False
    return out


def _read_communities(path: str, parcel_layer: str, problems: list[Problem]) -> pd.DataFrame | None:
    """The optional communities layer or table, checked; an empty frame when absent."""
    empty = pd.DataFrame({"community_id": pd.Series([], dtype="string"),
                          "unserved_households": pd.Series([], dtype=float),
                          "household_kwh_yr": pd.Series([], dtype=float)})
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
    for column in COMMUNITY_COLUMNS:
        if column.name == "community_id":
            if "community_id" not in frame.columns:
                problems.append(Problem("error", layer, "community_id", "required column is missing",
                                        "add column 'community_id' matching the parcels' community_id"))
                continue
            ids = frame["community_id"]
            null = ids.isna().to_numpy()
            if null.any():
                problems.append(Problem("error", layer, "community_id", f"{null.sum()} community(ies) have no id",
                                        "give every community an id", (), int(null.sum())))
            dup = ids.duplicated(keep=False).to_numpy() & ~null
            if dup.any():
                problems.append(Problem("error", layer, "community_id",
                                        f"{ids[dup].nunique()} id(s) are used by more than one community",
                                        "make community ids unique", tuple(pd.unique(ids[dup])[:5]),
                                        int(ids[dup].nunique())))
            frame["community_id"] = ids.astype("string")
            continue
        if column.name not in frame.columns and not column.required:
            frame[column.name] = np.nan
            continue
        if column.name in frame.columns and not column.required:
            # an empty household_kwh_yr means "the tier default", so keep NaN
            raw = frame[column.name]
            vals = pd.to_numeric(raw, errors="coerce")
            bad_text = raw.notna().to_numpy() & vals.isna().to_numpy()
            if pd.api.types.is_bool_dtype(raw):
                bad_text = np.ones(len(raw), dtype=bool)
            arr = vals.to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                bad = bad_text | np.isinf(arr) | (arr < (column.lo or 0.0)) | (
                    arr > (column.hi if column.hi is not None else np.inf))
            if bad.any():
                ids = frame["community_id"] if "community_id" in frame.columns else pd.Series(frame.index)
                hi = f" up to {column.hi:g}" if column.hi is not None else ""
                problems.append(Problem("error", layer, column.name,
                                        f"{bad.sum()} value(s) are not numbers from {column.lo or 0.0:g}{hi} "
                                        f"[{column.unit}]", _FIXES[column.name],
                                        tuple(ids.to_numpy()[bad][:5]), int(bad.sum())))
            frame[column.name] = arr
            continue
        _check_column(frame, column, layer, problems)
    if any(p.severity == "error" and p.column == "community_id" for p in problems[before:]):
        return None  # the parcels cannot be linked to communities without usable ids
    keep = ["community_id", "unserved_households", "household_kwh_yr"]
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
                                _ids(parcels, unknown), int(unknown.sum())))
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
                                _ids(parcels, tiny), int(tiny.sum())))
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


def equal_area_ha(geometry: gpd.GeoSeries) -> np.ndarray:
    """Area of each geometry in hectares, computed in an equal-area CRS whatever the input CRS."""
    projected = geometry.to_crs(EQUAL_AREA_CRS)
    return np.asarray(projected.area, dtype=float) / M2_PER_HA


def schema_markdown() -> str:
    """The input schema as a Markdown table (for the README)."""
    rows = ["| layer | column | unit | meaning | if missing |", "|---|---|---|---|---|"]
    for layer, columns in ((DEFAULT_LAYER, PARCEL_COLUMNS), (COMMUNITIES_LAYER, COMMUNITY_COLUMNS)):
        for c in columns:
            rng = f" ({c.lo:g}–{c.hi:g})" if c.lo is not None and c.hi is not None else ""
            rows.append(f"| `{layer}` | `{c.name}` | {c.unit}{rng} | {c.meaning} | {c.if_missing} |")
    return "\n".join(rows)
