"""The checks of one schema column, each adding what it finds to a list of :class:`Problem`.

:func:`check_column`: presence, type, finiteness, range and allowed values,
the clean typed values replacing the column (defaults filled).  An empty
value is NULL, NaN or blank text: a column read from a CSV or a spreadsheet
stores a missing number as ``''``, and such values take the column's default
like NULLs do.  :func:`check_column_names`: the names the plan file cannot
hold beside its own (the feature id, the geometry, the plan's columns, in
any case), and more columns than a GeoPackage table holds.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from dualuse.inputs.schema import (
    FIXES,
    MAX_INPUT_COLUMNS,
    PLAN_COLUMNS,
    RESERVED_COLUMNS,
    SQLITE_MAX_COLUMNS,
    Column,
    Problem,
    example_ids,
)

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def check_column(frame: pd.DataFrame, column: Column, layer: str, problems: list[Problem]) -> None:
    """Check one schema column in place: presence, type, finiteness, range, allowed values.

    On success the column is replaced by its clean typed values (defaults filled).
    """
    if column.name not in frame.columns:
        _missing_column(frame, column, layer, problems)
        return
    blank = blank_as_missing(frame, column.name)
    if column.kind == "text":
        _check_text(frame, column, layer, problems)
    elif column.kind == "bool":
        _check_bool(frame, column, layer, problems)
    else:
        _check_number(frame, column, layer, problems, blank)


def blank_as_missing(frame: pd.DataFrame, name: str) -> bool:
    """Blank text (``''``, spaces) in a column becomes missing, in place; True when there was any."""
    values = frame[name]
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return False
    codes, uniques = pd.factorize(values)
    blank = [k for k, v in enumerate(uniques) if isinstance(v, str) and not v.strip()]
    if blank:
        frame[name] = values.mask(np.isin(codes, blank))
    return bool(blank)


def _missing_column(frame: pd.DataFrame, column: Column, layer: str, problems: list[Problem]) -> None:
    """A required column that is missing is an error; an optional one takes its default."""
    name = column.name
    if column.required:
        have = ", ".join(c for c in frame.columns if c != frame.geometry.name) if isinstance(
            frame, gpd.GeoDataFrame) else ", ".join(frame.columns)
        problems.append(Problem("error", layer, name, f"required column is missing (columns there: {have})",
                                f"add column '{name}' [{column.unit}]: {column.meaning}"))
    elif column.default is not None:
        frame[name] = column.default


def _check_text(frame: pd.DataFrame, column: Column, layer: str, problems: list[Problem]) -> None:
    name, fix = column.name, FIXES.get(column.name, "")
    values = frame[name]
    missing = values.isna().to_numpy()
    text = values.astype("string").str.strip().str.lower() if name == "land_type" else values.astype("string")
    if column.required and missing.any():
        problems.append(Problem("error", layer, name, f"{missing.sum()} value(s) are empty", fix,
                                example_ids(frame, missing), int(missing.sum())))
    if column.allowed:
        unknown = ~missing & ~text.isin(column.allowed).to_numpy()
        if unknown.any():
            seen = sorted(set(values[unknown].astype(str).tolist()))[:5]
            problems.append(Problem("error", layer, name,
                                    f"{unknown.sum()} value(s) are not a known land type "
                                    f"({', '.join(repr(s) for s in seen)}); known: {', '.join(column.allowed)}",
                                    fix, example_ids(frame, unknown), int(unknown.sum())))
    frame[name] = text


def _check_bool(frame: pd.DataFrame, column: Column, layer: str, problems: list[Problem]) -> None:
    name, fix = column.name, FIXES.get(column.name, "")
    values = frame[name]
    missing = values.isna().to_numpy()
    parsed = _parse_bool(values)
    bad = ~missing & parsed.isna().to_numpy()
    if bad.any():
        seen = sorted(set(values[bad].astype(str).tolist()))[:5]
        problems.append(Problem("error", layer, name,
                                f"{bad.sum()} value(s) are not booleans ({', '.join(repr(s) for s in seen)})",
                                fix, example_ids(frame, bad), int(bad.sum())))
        return
    if missing.any():
        problems.append(Problem("warning", layer, name,
                                f"{missing.sum()} value(s) are empty; the default "
                                f"{str(column.default).lower()} is used for them",
                                f"fill them in if the default is not right: {fix}", example_ids(frame, missing),
                                int(missing.sum())))
    frame[name] = parsed.fillna(bool(column.default)).astype(bool)


def _parse_bool(values: pd.Series) -> pd.Series:
    """Booleans from bool, 0/1 or true/false/yes/no text; NA where a value is none of those."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False).to_numpy()] = True
    out[text.isin(_FALSE).fillna(False).to_numpy()] = False
    return out


def _check_number(frame: pd.DataFrame, column: Column, layer: str, problems: list[Problem],
                  blank: bool = False) -> None:
    """A float or int column: empty values (defaults filled), infinite values, allowed values, range."""
    name = column.name
    missing = frame[name].isna().to_numpy()
    array = _numbers(frame, column, missing, layer, problems)
    if array is None:
        return
    before = len(problems)
    array = _fill_missing(frame, column, array, missing, layer, problems, blank)
    _check_values(frame, column, array, layer, problems)
    if any(p.severity == "error" for p in problems[before:]):
        return
    frame[name] = array.astype(np.int8) if column.kind == "int" else array


def _numbers(frame: pd.DataFrame, column: Column, missing: np.ndarray, layer: str,
             problems: list[Problem]) -> np.ndarray | None:
    """The column as floats (NaN where empty); None, with an error, when it is not numeric."""
    name = column.name
    values = frame[name]
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        numeric = pd.to_numeric(values, errors="coerce")
        bad = ~missing & numeric.isna().to_numpy()
        if bad.any() or pd.api.types.is_bool_dtype(values):
            seen = sorted(set(values[bad].astype(str).tolist()))[:5]
            problems.append(Problem("error", layer, name,
                                    f"column is not numeric ({values.dtype}; e.g. {', '.join(repr(s) for s in seen)})",
                                    f"store '{name}' as numbers [{column.unit}]", example_ids(frame, bad),
                                    int(bad.sum())))
            return None
        values = numeric
    return values.to_numpy(dtype=float, na_value=np.nan)


def _fill_missing(frame: pd.DataFrame, column: Column, array: np.ndarray, missing: np.ndarray, layer: str,
                  problems: list[Problem], blank: bool = False) -> np.ndarray:
    """Empty values: an error in a required column, else a warning and the default."""
    if not missing.any():
        return array
    name, fix = column.name, FIXES.get(column.name, "")
    empty = "(NULL, NaN or blank text)" if blank else "(NULL or NaN)"
    if column.required:
        problems.append(Problem("error", layer, name, f"{missing.sum()} value(s) are empty {empty}",
                                fix, example_ids(frame, missing), int(missing.sum())))
        return array
    problems.append(Problem("warning", layer, name,
                            f"{missing.sum()} value(s) are empty {empty}; the default "
                            f"{column.default:g} [{column.unit}] is used for them",
                            f"fill them in if the default is not right: {fix}", example_ids(frame, missing),
                            int(missing.sum())))
    return np.where(missing, float(column.default), array)


def _check_values(frame: pd.DataFrame, column: Column, array: np.ndarray, layer: str,
                  problems: list[Problem]) -> None:
    """Infinite values, values not among the allowed ones, values outside the column's range."""
    name, fix = column.name, FIXES.get(column.name, "")
    infinite = np.isinf(array)
    if infinite.any():
        problems.append(Problem("error", layer, name, f"{infinite.sum()} value(s) are infinite", fix,
                                example_ids(frame, infinite), int(infinite.sum())))
    finite = np.isfinite(array)
    if column.allowed:
        bad = finite & ~np.isin(array, column.allowed)
        if bad.any():
            seen = sorted(set(array[bad].tolist()))[:5]
            problems.append(Problem("error", layer, name,
                                    f"{bad.sum()} value(s) are not one of {column.allowed} (e.g. {seen})",
                                    fix, example_ids(frame, bad), int(bad.sum())))
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
                                fix, example_ids(frame, outside), int(outside.sum())))


def check_optional_number(frame: pd.DataFrame, column: Column, layer: str, problems: list[Problem]) -> None:
    """A number column whose empty values (NULL, NaN, blank) stay NaN: text, infinite or out-of-range values
    are errors, and so are fractions in a column of whole numbers."""
    blank_as_missing(frame, column.name)
    raw = frame[column.name]
    vals = pd.to_numeric(raw, errors="coerce")
    bad_text = raw.notna().to_numpy() & vals.isna().to_numpy()
    if pd.api.types.is_bool_dtype(raw):
        bad_text = np.ones(len(raw), dtype=bool)
    arr = vals.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad = bad_text | np.isinf(arr) | (arr < (column.lo or 0.0)) | (
            arr > (column.hi if column.hi is not None else np.inf))
        if column.kind == "int":
            bad |= np.isfinite(arr) & (arr != np.round(arr))
    if bad.any():
        ids = frame["community_id"] if "community_id" in frame.columns else pd.Series(frame.index)
        hi = f" up to {column.hi:g}" if column.hi is not None else ""
        whole = "whole " if column.kind == "int" else ""
        problems.append(Problem("error", layer, column.name,
                                f"{bad.sum()} value(s) are not {whole}numbers from {column.lo or 0.0:g}{hi} "
                                f"[{column.unit}]", FIXES[column.name],
                                tuple(ids.to_numpy()[bad][:5]), int(bad.sum())))
    frame[column.name] = arr


# --------------------------------------------------------------------------- column names


def check_column_names(frame: gpd.GeoDataFrame, layer: str, problems: list[Problem]) -> None:
    """Names the plan layer cannot hold beside its own, and more columns than one GeoPackage table holds.

    The plan writes every input column, an input column named like one of
    :data:`PLAN_COLUMNS` as ``input_<name>``, then its own columns, its
    feature id ``fid`` and its geometry ``geom``; SQLite column names ignore
    case.  ``frame`` is the checked layer, with the schema's columns that were
    missing added.
    """
    names = [str(c) for c in frame.columns if c != frame.geometry.name]
    reserved = [c for c in names if c.lower() in RESERVED_COLUMNS]
    if reserved:
        problems.append(Problem("error", layer, reserved[0],
                                f"column(s) {', '.join(repr(c) for c in reserved)} have a name that the plan file "
                                "keeps for its feature id and geometry ('fid', 'geom')",
                                "rename them (e.g. to 'source_fid', 'source_geom'), in QGIS (Layer Properties › Fields) or with "
                                "`ogr2ogr -sql`"))
    written = [f"input_{c}" if c in PLAN_COLUMNS else c for c in names]
    groups: dict[str, list[str]] = {}
    for source, target in [*zip(names, written), *((p, p) for p in PLAN_COLUMNS)]:
        groups.setdefault(target.lower(), []).append(source if source == target else f"{source} → {target}")
    clashes = [members for key, members in groups.items() if len(members) > 1 and key not in RESERVED_COLUMNS]
    if clashes:
        shown = "; ".join(" and ".join(repr(m) for m in members) for members in clashes[:3])
        problems.append(Problem("error", layer, clashes[0][0].split(" → ")[0],
                                f"{len(clashes)} column name(s) collide in the plan layer ({shown}): the plan adds "
                                "its own columns (area_ha, use, share_<use>, capacity_mwp, …), keeps an input column "
                                "of the same name as input_<name>, and GeoPackage column names ignore case",
                                "rename the input columns so that no two names differ only in case and none is "
                                "input_<a plan column>"))
    if len(names) > MAX_INPUT_COLUMNS:
        problems.append(Problem("error", layer, "",
                                f"has {len(names):,} columns, and the plan adds {len(PLAN_COLUMNS)}: a GeoPackage "
                                f"table holds at most {SQLITE_MAX_COLUMNS:,} (SQLite's limit), its fid and geometry "
                                "included",
                                f"keep at most {MAX_INPUT_COLUMNS:,} columns, e.g. `ogr2ogr -select parcel_id,"
                                "land_type,pv_yield_kwh_kwp,productivity_t_ha,soc_t_ha out.gpkg in.gpkg`"))
