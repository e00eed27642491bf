"""Drought years of a region: the optional tables ``productivity_scenarios`` and ``scenarios``, read and checked.

``productivity_scenarios`` has one row per (parcel, drought year):
``parcel_id``, ``scenario`` (the year's name), ``productivity_t_ha`` (that
year's productivity under the current use) and, optionally,
``pv_yield_kwh_kwp`` (that year's PV yield; empty: the parcel's normal
yield).  ``scenarios`` gives each year's ``probability``; without it the
years are equally likely.  Every parcel must be in every year, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyogrio

from dualuse.errors import has_extra
from dualuse.inputs.drought_arrow import in_layer_order
from dualuse.inputs.geopackage import read_contents
from dualuse.inputs.schema import Column, Problem
from dualuse.vocabulary import DROUGHT_SCENARIOS_TABLE, PRODUCTIVITY_SCENARIOS_TABLE

#: The columns of ``productivity_scenarios``.
PRODUCTIVITY_SCENARIO_COLUMNS: tuple[Column, ...] = (
    Column("parcel_id", "id", "—", "the parcel, as in the parcel layer", True),
    Column("scenario", "text", "text", "name of the drought year (e.g. 1984, or a return period)", True),
    Column("productivity_t_ha", "float", "t DM/ha/yr",
           "the parcel's productivity under its current use in that year", True, lo=0.0, hi=100.0),
    Column("pv_yield_kwh_kwp", "float", "kWh/kWp/yr", "the parcel's PV yield in that year; default: its "
           "normal yield", False, lo=0.0, hi=3500.0),
)
#: The columns of ``scenarios``.
DROUGHT_SCENARIO_COLUMNS: tuple[Column, ...] = (
    Column("scenario", "text", "text", "name of the drought year, as in productivity_scenarios", True),
    Column("probability", "float", "share", "probability of the year among the drought years; the "
           "probabilities sum to 1; default: all years equally likely", True, lo=0.0, hi=1.0),
)
#: How far the probabilities' sum may be from 1.
PROBABILITY_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class DroughtYears:
    """The drought years of a region, aligned with its parcels.

    Attributes
    ----------
    names : tuple of str — the years, in the order of ``scenarios`` (else of first appearance)
    probability : ndarray — per year, its probability (sums to 1)
    productivity_t_ha : ndarray [year, parcel] — productivity under the current use [t DM/ha/yr]
    pv_yield_kwh_kwp : ndarray [year, parcel] — PV yield [kWh/kWp/yr] (the normal yield where none was given)
    """

    names: tuple[str, ...]
    probability: np.ndarray
    productivity_t_ha: np.ndarray
    pv_yield_kwh_kwp: np.ndarray

    @property
    def n_years(self) -> int:
        return len(self.names)


def read_drought_years(path: str, parcel_id: np.ndarray, pv_yield_kwh_kwp: np.ndarray,
                       problems: list[Problem]) -> DroughtYears | None:
    """The region's drought years, or None when it has none or they are refused (errors in ``problems``)."""
    contents = read_contents(path)
    if contents.get(PRODUCTIVITY_SCENARIOS_TABLE) is None:
        if contents.get(DROUGHT_SCENARIOS_TABLE) is not None:
            problems.append(Problem("warning", DROUGHT_SCENARIOS_TABLE, "", f"the file has a "
                                    f"'{DROUGHT_SCENARIOS_TABLE}' table but no '{PRODUCTIVITY_SCENARIOS_TABLE}', "
                                    "so no drought year is used",
                                    f"add '{PRODUCTIVITY_SCENARIOS_TABLE}' (parcel_id, scenario, "
                                    "productivity_t_ha)"))
        return None
    before = len(problems)
    fast = in_layer_order(path, PRODUCTIVITY_SCENARIOS_TABLE, PRODUCTIVITY_SCENARIO_COLUMNS, parcel_id)
    years = (None if fast is not None
             else _read(path, PRODUCTIVITY_SCENARIOS_TABLE, PRODUCTIVITY_SCENARIO_COLUMNS, problems))
    weights = (_read(path, DROUGHT_SCENARIOS_TABLE, DROUGHT_SCENARIO_COLUMNS, problems)
               if contents.get(DROUGHT_SCENARIOS_TABLE) is not None else None)
    if len(problems) > before:
        return None
    names = fast[0] if fast is not None else list(dict.fromkeys(years["scenario"].tolist()))
    if weights is not None:
        names = _check_probabilities(weights, names, problems)
        if names is None:
            return None
        probability = weights.set_index("scenario").loc[names, "probability"].to_numpy(dtype=float)
    else:
        probability = np.full(len(names), 1.0 / len(names))
    if fast is not None:  # rows in the order of the names as the probabilities list them
        order = [fast[0].index(name) for name in names]
        grid = fast[1][order], fast[2][order]
    else:
        grid = _aligned(years, names, parcel_id, problems)
    if grid is None:
        return None
    productivity, pv = grid
    return DroughtYears(tuple(names), probability, productivity, np.where(np.isnan(pv), pv_yield_kwh_kwp, pv))


def _read(path: str, table: str, columns: tuple[Column, ...], problems: list[Problem]) -> pd.DataFrame | None:
    """A drought table with its columns typed and checked (text ids stripped; numbers in range)."""
    try:
        frame = pd.DataFrame(pyogrio.read_dataframe(path, layer=table, read_geometry=False,
                                                    use_arrow=has_extra("arrow")))
    except Exception as exc:  # pyogrio raises several classes for an unreadable table
        problems.append(Problem("error", table, "", f"cannot be read ({exc})", "rewrite the table"))
        return None
    if frame.empty:
        problems.append(Problem("error", table, "", "has no rows", f"fill it, or drop the '{table}' table"))
        return None
    found = len(problems)
    for column in columns:
        if column.name not in frame.columns:
            if column.required:
                problems.append(Problem("error", table, column.name, "the column is missing",
                                        f"add {column.name} [{column.unit}]: {column.meaning}"))
            else:
                frame[column.name] = np.nan
            continue
        if column.kind in ("id", "text"):
            text = frame[column.name].astype("string").str.strip()
            empty = text.isna() | (text == "")
            _flag(problems, table, column.name, empty.to_numpy(), frame, "empty", f"give every row a {column.name}")
            frame[column.name] = text.astype(object)
            continue
        values = pd.to_numeric(frame[column.name], errors="coerce")
        bad = (frame[column.name].notna() & values.isna()).to_numpy()
        missing = values.isna().to_numpy() & ~bad
        low, high = (values < column.lo).to_numpy(), (values > column.hi).to_numpy()
        fix = f"give {column.name} in {column.unit}, {column.lo:g} to {column.hi:g}"
        _flag(problems, table, column.name, bad, frame, "not a number", f"give {column.name} in {column.unit}")
        if column.required:
            _flag(problems, table, column.name, missing, frame, "empty", f"give {column.name} in {column.unit}")
        _flag(problems, table, column.name, low, frame, "negative" if column.lo == 0.0 else f"below {column.lo:g}",
              fix)
        _flag(problems, table, column.name, high, frame, f"above {column.hi:g} {column.unit}", fix)
        frame[column.name] = values.astype(float)
    return frame if len(problems) == found else None


def _flag(problems: list[Problem], table: str, column: str, mask: np.ndarray, frame: pd.DataFrame, what: str,
          fix: str) -> None:
    if mask.any():
        problems.append(Problem("error", table, column, f"{int(mask.sum())} row(s) are {what}", fix,
                                _row_names(frame, mask), int(mask.sum())))


def _row_names(frame: pd.DataFrame, mask: np.ndarray) -> tuple[Any, ...]:
    """The first few rows under ``mask``, named ``parcel_id/scenario`` where the table has both."""
    rows = frame.loc[mask].head(5)
    if {"parcel_id", "scenario"} <= set(rows.columns):
        return tuple(f"{p}/{s}" for p, s in zip(rows["parcel_id"].tolist(), rows["scenario"].tolist()))
    if "scenario" in rows.columns:
        return tuple(rows["scenario"].tolist())
    return tuple(int(i) + 1 for i in rows.index)


def _check_probabilities(weights: pd.DataFrame, names: list[str], problems: list[Problem]) -> list[str] | None:
    """The years in the order of ``scenarios``, or None (an error) when the two tables disagree or the
    probabilities do not sum to 1."""
    table = DROUGHT_SCENARIOS_TABLE
    listed = weights["scenario"].tolist()
    repeated = weights["scenario"].duplicated().to_numpy()
    _flag(problems, table, "scenario", repeated, weights, "repeated", "list each drought year once")
    unknown = sorted(set(listed) - set(names))
    unlisted = sorted(set(names) - set(listed))
    if unknown:
        problems.append(Problem("error", table, "scenario", f"{len(unknown)} year(s) have no productivity in "
                                f"'{PRODUCTIVITY_SCENARIOS_TABLE}'", f"add their rows to "
                                f"'{PRODUCTIVITY_SCENARIOS_TABLE}', or drop them here", tuple(unknown[:5]),
                                len(unknown)))
    if unlisted:
        problems.append(Problem("error", table, "scenario", f"{len(unlisted)} year(s) of "
                                f"'{PRODUCTIVITY_SCENARIOS_TABLE}' have no probability",
                                "give every drought year a probability", tuple(unlisted[:5]), len(unlisted)))
    total = float(weights["probability"].sum())
    if abs(total - 1.0) > PROBABILITY_TOLERANCE:
        problems.append(Problem("error", table, "probability", f"the probabilities sum to {total:.6g}, not 1",
                                "scale them so that they sum to 1 (the probabilities of the drought years "
                                "among themselves)", tuple(listed[:5]), len(listed)))
    if repeated.any() or unknown or unlisted or abs(total - 1.0) > PROBABILITY_TOLERANCE:
        return None
    return listed


def _aligned(years: pd.DataFrame, names: list[str], parcel_id: np.ndarray,
             problems: list[Problem]) -> tuple[np.ndarray, np.ndarray] | None:
    """Productivity and PV yield as [year, parcel] arrays, or None when a parcel is missing from a year,
    listed twice in one, or unknown."""
    table = PRODUCTIVITY_SCENARIOS_TABLE
    ids = pd.Index(pd.Series(parcel_id).astype(str).str.strip())
    listed = years["parcel_id"].astype(str).to_numpy(dtype=object)
    if _in_layer_order(listed, years["scenario"].to_numpy(dtype=object), ids, names):
        n = ids.size  # each year's rows are the parcel layer's, in its order: nothing to look up
        position, year = np.tile(np.arange(n), len(names)), np.repeat(np.arange(len(names)), n)
        unknown = twice = np.zeros(listed.size, dtype=bool)
    else:
        position = ids.get_indexer(listed)
        unknown = position < 0
        _flag(problems, table, "parcel_id", unknown, years, "parcels that are not in the parcel layer",
              "use the parcel layer's parcel_id, or drop those rows")
        twice = years.duplicated(["parcel_id", "scenario"]).to_numpy()
        _flag(problems, table, "parcel_id", twice, years, "repeated (parcel_id, scenario) pairs",
              "give each parcel one row per drought year")
        year = pd.Index(names).get_indexer(years["scenario"])
    seen = np.zeros((len(names), ids.size), dtype=bool)
    keep = ~unknown & ~twice
    seen[year[keep], position[keep]] = True
    lacking = np.argwhere(~seen)
    if lacking.size:
        examples = tuple(f"{parcel_id[p]}/{names[y]}" for y, p in lacking[:5])
        problems.append(Problem("error", table, "parcel_id", f"{len(lacking)} (parcel, drought year) pair(s) "
                                "have no row: every parcel must be in every drought year",
                                "add the missing rows (parcel_id/scenario shown)", examples, len(lacking)))
    if unknown.any() or twice.any() or lacking.size:
        return None
    productivity = np.full((len(names), ids.size), np.nan)
    pv = np.full((len(names), ids.size), np.nan)
    productivity[year, position] = years["productivity_t_ha"].to_numpy(dtype=float)
    pv[year, position] = years["pv_yield_kwh_kwp"].to_numpy(dtype=float)
    return productivity, pv


def _in_layer_order(listed: np.ndarray, scenario: np.ndarray, ids: pd.Index, names: list[str]) -> bool:
    """Whether the table lists the drought years one after another, each with every parcel once, in the
    parcel layer's order (as ``dualuse example`` and ``prepare`` write it)."""
    n = ids.size
    if listed.size != n * len(names):
        return False
    order = ids.to_numpy(dtype=object)
    return all(bool((listed[k * n:(k + 1) * n] == order).all()) and bool((scenario[k * n:(k + 1) * n] == name).all())
               for k, name in enumerate(names))
