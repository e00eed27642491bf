r"""The no-regret map: for every parcel, how often the plans of a study give it to each use.

From the plan GeoPackages of a portfolio, a sweep or a front (the folders
``dualuse portfolio``, ``dualuse sweep`` and ``dualuse pareto`` write), for
plans :math:`k = 1 \dots K` with shares :math:`x^k_{iu}` and dominant uses
:math:`d^k_i`:

- ``share_<use>`` :math:`= \frac1K \sum_k x^k_{iu}`: the mean share, so that
  ``share_<use> × area_ha`` is the area the average plan gives to the use;
- ``dominant_<use>`` :math:`= \frac1K |\{k : d^k_i = u\}|`: the share of plans
  in which the use is the parcel's dominant use;
- ``most_frequent_use``, the use of the largest ``dominant_<use>`` (ties in
  the order of the uses), ``agreement`` its share of plans, and
  ``no_regret_use``: that use where every plan agrees, else ``differs``;
- ``always_<use>_ha`` :math:`= A_i \min_k x^k_{iu}`: the area that every
  plan gives to the use.

The table ``no_regret_summary`` adds these up per use: the hectares in
every plan, as the dominant use in every plan and in at least half of them.
The layer's QGIS default style shows the agreed parcels in their use's colour
and the others faded (:mod:`dualuse.export.no_regret_style`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from dualuse.errors import InputError
from dualuse.export.no_regret_style import DIFFERS, write_no_regret_style
from dualuse.files import atomic_path, check_output_path
from dualuse.vocabulary import PLAN_LAYER, USES

#: The layer and the table of a no-regret GeoPackage.
NO_REGRET_LAYER = "no_regret"
NO_REGRET_SUMMARY = "no_regret_summary"
#: Its file name when a study writes it into its folder.
NO_REGRET_FILE = "no_regret.gpkg"
#: The study tables whose ``plan`` column lists a study's plans, in the order they are looked for.
STUDY_TABLES: tuple[str, ...] = ("portfolio.csv", "results.csv", "front.csv")
#: Columns of a plan file kept on the no-regret layer when present.
KEPT_COLUMNS: tuple[str, ...] = ("parcel_id", "land_type", "community_id", "area_ha")


@dataclass
class NoRegret:
    """A no-regret map: the layer (one row per parcel), the summary per use and the plans it was made from."""

    layer: gpd.GeoDataFrame
    summary: pd.DataFrame
    plans: list[Path]
    output: Path | None = None


def study_plans(folder: str | os.PathLike[str]) -> list[Path]:
    """The plan files of a study folder.

    The ``plan`` column of the study's table (:data:`STUDY_TABLES`: a
    portfolio's plans within the slack only, a sweep's or a front's plans
    that exist), else every ``plans/*.gpkg``, else every GeoPackage in the
    folder with a ``plan`` layer.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("is not a folder", path=str(folder),
                         fix="give the folder that `dualuse portfolio`, `dualuse sweep` or `dualuse pareto` wrote")
    for name in STUDY_TABLES:
        table_path = folder / name
        if table_path.is_file():
            table = pd.read_csv(table_path)
            if "plan" not in table:
                continue
            keep = table["plan"].notna() & (table["plan"].astype(str).str.strip() != "")
            if "within_slack" in table:
                keep &= table["within_slack"].astype(str).str.lower().isin(("true", "1"))
            paths = [folder / str(p) for p in table.loc[keep, "plan"]]
            return [p for p in paths if p.is_file()]
    plans = sorted((folder / "plans").glob("*.gpkg"))
    if plans:
        return plans
    return [p for p in sorted(folder.glob("*.gpkg"))
            if p.name != NO_REGRET_FILE and PLAN_LAYER in pyogrio.list_layers(p)[:, 0]]


def no_regret(plans: Sequence[str | os.PathLike[str]]) -> NoRegret:
    """The no-regret layer and summary of plan files of one region (see the module docstring).

    Raises
    ------
    InputError — no plans, a file without a plan layer, or plans of different regions
    """
    paths = [Path(p) for p in plans]
    if not paths:
        raise InputError("no plans to compare", fix="give a folder with plan GeoPackages (a portfolio, sweep or "
                                                  "front written with its plans)")
    first = _read_plan(paths[0], geometry=True)
    shares = np.empty((len(paths), len(first), len(USES)))
    dominant = np.empty((len(paths), len(first)), dtype=np.int64)
    for k, path in enumerate(paths):
        plan = first if k == 0 else _read_plan(path, geometry=False)
        if len(plan) != len(first) or ("parcel_id" in first and not np.array_equal(
                plan["parcel_id"].astype(str).to_numpy(), first["parcel_id"].astype(str).to_numpy())):
            raise InputError(f"is not a plan of the same region as {paths[0].name} (its parcels differ)",
                             path=str(path), layer=PLAN_LAYER, fix="compare plans of one region only")
        shares[k] = plan[[f"share_{u}" for u in USES]].to_numpy(dtype=float)
        dominant[k] = pd.Categorical(plan["use"].astype(str), categories=list(USES)).codes
    layer = _layer(first, shares, dominant)
    return NoRegret(layer=layer, summary=_summary(layer, len(paths)), plans=paths)


def _read_plan(path: Path, geometry: bool) -> pd.DataFrame:
    """A plan file's ``plan`` layer: the kept columns, the shares and the dominant use (with the geometry)."""
    try:
        columns = pyogrio.read_info(path, layer=PLAN_LAYER)["fields"].tolist()
    except Exception:  # pyogrio raises several classes for a missing file or layer
        raise InputError("has no readable 'plan' layer", path=str(path), layer=PLAN_LAYER,
                         fix="give plan GeoPackages written by dualuse") from None
    wanted = [f"share_{u}" for u in USES] + ["use"]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise InputError(f"lacks the column(s) {', '.join(missing)}", path=str(path), layer=PLAN_LAYER,
                         fix="give plan GeoPackages written by dualuse")
    read = [c for c in KEPT_COLUMNS if c in columns] + wanted
    return pyogrio.read_dataframe(path, layer=PLAN_LAYER, columns=read, read_geometry=geometry)


def _layer(first: gpd.GeoDataFrame, shares: np.ndarray, dominant: np.ndarray) -> gpd.GeoDataFrame:
    """The per-parcel columns of the module docstring, on the first plan's geometry."""
    area = first["area_ha"].to_numpy(dtype=float)
    count = len(shares)
    frequency = np.stack([(dominant == u).mean(axis=0) for u in range(len(USES))], axis=1)  # [parcel, use]
    most = np.argmax(frequency, axis=1)
    agreement = frequency[np.arange(len(most)), most]
    out = gpd.GeoDataFrame({c: first[c] for c in KEPT_COLUMNS if c in first}, geometry=first.geometry,
                           crs=first.crs)
    out["plans"] = count
    for u, use in enumerate(USES):
        out[f"share_{use}"] = shares[:, :, u].mean(axis=0)
    for u, use in enumerate(USES):
        out[f"dominant_{use}"] = frequency[:, u]
    out["most_frequent_use"] = np.asarray(USES, dtype=object)[most]
    out["agreement"] = agreement
    out["no_regret_use"] = np.where(agreement >= 1.0, out["most_frequent_use"], DIFFERS).astype(object)
    for u, use in enumerate(USES):
        out[f"always_{use}_ha"] = area * shares[:, :, u].min(axis=0)
    return out


def _summary(layer: gpd.GeoDataFrame, count: int) -> pd.DataFrame:
    """Per use: the area every plan gives it, the area where it is dominant in every plan and in at least
    half of them, the area the average plan gives it [ha], and the parcels agreed on."""
    area = layer["area_ha"].to_numpy(dtype=float)
    rows = []
    for use in USES:
        every = layer["no_regret_use"].to_numpy() == use
        rows.append({"use": use, "plans": count,
                     "always_ha": float(layer[f"always_{use}_ha"].sum()),
                     "dominant_every_plan_ha": float(area[every].sum()),
                     "dominant_every_plan_parcels": int(every.sum()),
                     "dominant_half_of_plans_ha": float(area[layer[f"dominant_{use}"].to_numpy() >= 0.5].sum()),
                     "mean_ha": float((area * layer[f"share_{use}"].to_numpy()).sum())})
    return pd.DataFrame(rows).astype({"use": object})


def write_no_regret(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                    output: str | os.PathLike[str]) -> NoRegret:
    """Write the no-regret GeoPackage of a study folder (:func:`study_plans`) or of plan files, atomically:
    layer ``no_regret`` with its QGIS default style, and table ``no_regret_summary``."""
    plans = study_plans(source) if isinstance(source, (str, os.PathLike)) else list(source)
    if isinstance(source, (str, os.PathLike)) and not plans:
        raise InputError("holds no plan GeoPackages", path=str(source),
                         fix="run the portfolio, sweep or front with its plans (without --no-plans)")
    made = no_regret(plans)
    destination = check_output_path(output, tuple(str(p) for p in made.plans))
    with atomic_path(destination) as temp:
        pyogrio.write_dataframe(made.layer, temp, layer=NO_REGRET_LAYER, driver="GPKG")
        pyogrio.write_dataframe(made.summary, temp, layer=NO_REGRET_SUMMARY, driver="GPKG")
        write_no_regret_style(temp, NO_REGRET_LAYER, "geom")
    made.output = destination
    return made
