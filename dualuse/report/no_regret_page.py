"""The report of what a study's plans agree on (its no-regret map), and the page of a near-optimal portfolio.

Read from the files only: ``no_regret.gpkg`` (layer ``no_regret``, table
``no_regret_summary``, written by ``dualuse portfolio`` or ``dualuse
no-regret``) and a portfolio's ``portfolio.csv``.  For each use, one
sentence says how much land every plan gives it ("2,140 ha are restored in
all 20 near-optimal plans"); two maps show the parcels every plan agrees on
and each parcel's most frequent use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from dualuse.errors import InputError
from dualuse.export.no_regret_style import DIFFERS
from dualuse.report.figure import Figure
from dualuse.report.maps import land_use_map
from dualuse.report.page import cards_html, escape, figure_html, frame_table_html, page_html, sentences_html
from dualuse.vocabulary import USES

#: The file, layer and table a study's no-regret map is read from.
NO_REGRET_FILE, NO_REGRET_LAYER, NO_REGRET_SUMMARY = "no_regret.gpkg", "no_regret", "no_regret_summary"
#: A portfolio's table.
PORTFOLIO_CSV = "portfolio.csv"
#: What land under each use "is", in a sentence: "2,140 ha are restored in all 20 plans".
USE_VERBS: dict[str, str] = {
    "current": "keep their current use",
    "solar": "carry utility solar PV",
    "agrivoltaic": "carry agrivoltaics",
    "grazing": "are under sustainable grazing management",
    "restoration": "are restored",
}
#: The portfolio table's columns shown in the report.
PORTFOLIO_SHOWN: tuple[str, ...] = ("alternative", "role", "status", "objective", "gap", "within_slack",
                                    "differs_from_optimum_ha", "nearest_plan_ha", "access", "energy",
                                    "productivity", "restored_ha", "cost_usd")


@dataclass
class NoRegretFile:
    """A no-regret GeoPackage as read: the layer, the summary per use and where it came from."""

    path: Path
    layer: gpd.GeoDataFrame
    summary: pd.DataFrame

    @property
    def plans(self) -> int:
        return int(self.summary["plans"].iloc[0]) if len(self.summary) else 0


def read_no_regret_file(path: str | os.PathLike[str]) -> NoRegretFile:
    """Read a no-regret GeoPackage; InputError naming what is missing."""
    path = Path(path)
    try:
        layer = pyogrio.read_dataframe(path, layer=NO_REGRET_LAYER)
        summary = pd.DataFrame(pyogrio.read_dataframe(path, layer=NO_REGRET_SUMMARY, read_geometry=False))
    except Exception:  # pyogrio raises several classes for a missing file or layer
        raise InputError(f"has no readable '{NO_REGRET_LAYER}' layer and '{NO_REGRET_SUMMARY}' table",
                         path=str(path), fix="write it with `dualuse no-regret FOLDER -o FILE.gpkg`") from None
    needed = ["area_ha", "no_regret_use", "most_frequent_use"]
    missing = [c for c in needed if c not in layer.columns]
    if missing:
        raise InputError(f"lacks the column(s) {', '.join(missing)}", path=str(path), layer=NO_REGRET_LAYER,
                         fix="write it again with `dualuse no-regret FOLDER -o FILE.gpkg`")
    return NoRegretFile(path, layer, summary)


def folder_no_regret(folder: str | os.PathLike[str]) -> NoRegretFile | None:
    """The no-regret map a study folder holds, or None."""
    path = Path(folder) / NO_REGRET_FILE
    return read_no_regret_file(path) if path.is_file() else None


def no_regret_sentences(summary: pd.DataFrame, plans_word: str = "plans") -> list[str]:
    """One sentence per use that some plan gives land to: the hectares every plan gives it, and on how many
    parcels it is the main use in every plan."""
    sentences = []
    for _, row in summary.iterrows():
        use, count = str(row["use"]), int(row["plans"])
        if use not in USE_VERBS or float(row["mean_ha"]) <= 0.05:
            continue
        every = "both" if count == 2 else f"all {count}"
        text = f"{float(row['always_ha']):,.0f} ha {USE_VERBS[use]} in {every} {plans_word}"
        parcels = int(row["dominant_every_plan_parcels"])
        if parcels:
            text += (f"; on {parcels:,} parcel{'s' if parcels != 1 else ''} "
                     f"({float(row['dominant_every_plan_ha']):,.0f} ha) it is the main use in every plan")
        text += f"; the average plan gives it {float(row['mean_ha']):,.0f} ha."
        sentences.append(escape(text))
    return sentences


def no_regret_figures(nr: NoRegretFile) -> list[Figure]:
    """The map of the parcels every plan agrees on (the others outlined on white) and the map of each
    parcel's most frequent use."""
    layer = nr.layer
    area = layer["area_ha"].to_numpy(dtype=float)
    agreed = layer["no_regret_use"].astype(str).to_numpy()
    frequent = layer["most_frequent_use"].astype(str).to_numpy()
    agreed_ha = {u: float(area[agreed == u].sum()) for u in USES}
    frequent_ha = {u: float(area[frequent == u].sum()) for u in USES}
    agree = land_use_map(layer.geometry, agreed, agreed_ha, other_label="Plans differ",
                         title=f"Where all {nr.plans} plans agree on the main use")
    agree.name = "no_regret"
    most = land_use_map(layer.geometry, frequent, frequent_ha,
                        title=f"The most frequent main use in {nr.plans} plans")
    most.name = "most_frequent"
    return [agree, most]


def no_regret_parts(nr: NoRegretFile, figures: list[Figure], stem: str, plans_word: str = "plans") -> list[str]:
    """The no-regret section of a page: the sentences, then the two maps."""
    agreed = int((nr.layer["no_regret_use"].astype(str) != DIFFERS).sum())
    parts = ["<h2>What every plan agrees on</h2>",
             f"<p>From {nr.plans} {escape(plans_word)} ({escape(nr.path.name)}): {agreed:,} of {len(nr.layer):,} "
             "parcels have the same main use in every one of them.</p>",
             sentences_html(no_regret_sentences(nr.summary, plans_word))]
    captions = ("Parcels coloured by the main use that every plan gives them; a white parcel is one the plans "
                "disagree on. The legend gives the area agreed on for each use.",
                "Each parcel coloured by the main use most plans give it (ties in the order of the legend).")
    for figure, caption in zip(figures, captions):
        parts.append(figure_html(figure, figure.title, caption, f"{stem}_{figure.name}.png"))
    return parts


def read_portfolio_table(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """A portfolio folder's table; InputError when it cannot be read."""
    path = Path(folder) / PORTFOLIO_CSV
    try:
        return pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read as CSV ({str(exc).splitlines()[0][:160]})", path=str(path),
                         fix="run `dualuse portfolio` again to rewrite it") from None


def portfolio_html(folder: Path, table: pd.DataFrame, nr: NoRegretFile | None, figures: list[Figure],
                   stem: str) -> str:
    """The page of a near-optimal portfolio: how many plans within the slack, their table, the no-regret section."""
    within = table["within_slack"].astype(str).str.lower().isin(("true", "1")) if "within_slack" in table else \
        pd.Series(False, index=table.index)
    method = str(table["method"].iloc[0]) if "method" in table and len(table) else ""
    slack = float(table["slack"].iloc[0]) if "slack" in table and len(table) else np.nan
    parts = [f"<header><h1>Near-optimal portfolio: {escape(folder.name)}</h1>"
             f'<p class="sub">{escape(str(folder / PORTFOLIO_CSV))}</p></header>',
             cards_html([("", f"{len(table):,}", "solves"), ("ok", f"{int(within.sum()):,}",
                                                              f"plans within {slack:.1%} of the optimum"),
                         ("", escape(method), "method")])]
    if len(table) and "differs_from_optimum_ha" in table:
        far = table.loc[within, "differs_from_optimum_ha"].max()
        parts.append(f"<p>Every plan below is within {slack:.1%} of the optimal objective; the one farthest from "
                     f"the optimum gives {far:,.0f} ha another main use.</p>")
    shown = table[[c for c in PORTFOLIO_SHOWN if c in table.columns]].copy()
    if "gap" in shown:  # in percent, the solver's rounding (±1e-16) shown as the 0 it is
        shown["gap"] = [f"{max(g, 0.0):.2%}" if np.isfinite(g) else "" for g in shown["gap"].astype(float)]
    parts.append(frame_table_html(shown, status=True))
    if nr is not None:
        parts += no_regret_parts(nr, figures, stem, "near-optimal plans")
    return page_html(f"Near-optimal portfolio: {folder.name}", "\n".join(parts))
