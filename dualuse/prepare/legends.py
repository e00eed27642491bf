"""Legends of class rasters: land-cover classes → LDN land types, and the SDG 15.3.1 status classes.

A land-cover legend maps each raster value to an index into
:data:`dualuse.vocabulary.LAND_TYPES` (None: no data).  The ESA CCI LCCS
legend is built in; any other comes as a CSV table.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from dualuse.errors import InputError
from dualuse.prepare.input_files import first_line
from dualuse.vocabulary import LAND_TYPES

#: ESA CCI Land Cover LCCS classes → LDN land type (None: no data).
#:
#: Classes and labels: ESA CCI Land Cover Product User Guide v2.0 (2017),
#: table of the LCCS legend (also used unchanged by the C3S land cover maps from
#: 2016 on).  Aggregation: the UNCCD/Trends.Earth default nesting of the LCCS
#: classes into the 7 IPCC/UNCCD classes (Trends.Earth,
#: ``LDMP/data/land_cover_nesting_unccd_esa.json``): tree-covered → forest,
#: grassland, cropland, wetland, artificial, other land → bare, water body →
#: water; except that shrubland (120, 121, 122), which that nesting counts as
#: grassland, is kept apart as shrubland.
ESA_CCI_LEGEND: tuple[tuple[int, str, str | None], ...] = (
    (0, "No data", None),
    (10, "Cropland, rainfed", "cropland"),
    (11, "Cropland, rainfed, herbaceous cover", "cropland"),
    (12, "Cropland, rainfed, tree or shrub cover", "cropland"),
    (20, "Cropland, irrigated or post-flooding", "cropland"),
    (30, "Mosaic cropland (>50%) / natural vegetation (<50%)", "cropland"),
    (40, "Mosaic natural vegetation (>50%) / cropland (<50%)", "cropland"),
    (50, "Tree cover, broadleaved, evergreen, closed to open (>15%)", "forest"),
    (60, "Tree cover, broadleaved, deciduous, closed to open (>15%)", "forest"),
    (61, "Tree cover, broadleaved, deciduous, closed (>40%)", "forest"),
    (62, "Tree cover, broadleaved, deciduous, open (15-40%)", "forest"),
    (70, "Tree cover, needleleaved, evergreen, closed to open (>15%)", "forest"),
    (71, "Tree cover, needleleaved, evergreen, closed (>40%)", "forest"),
    (72, "Tree cover, needleleaved, evergreen, open (15-40%)", "forest"),
    (80, "Tree cover, needleleaved, deciduous, closed to open (>15%)", "forest"),
    (81, "Tree cover, needleleaved, deciduous, closed (>40%)", "forest"),
    (82, "Tree cover, needleleaved, deciduous, open (15-40%)", "forest"),
    (90, "Tree cover, mixed leaf type (broadleaved and needleleaved)", "forest"),
    (100, "Mosaic tree and shrub (>50%) / herbaceous cover (<50%)", "forest"),
    (110, "Mosaic herbaceous cover (>50%) / tree and shrub (<50%)", "grassland"),
    (120, "Shrubland", "shrubland"),
    (121, "Shrubland, evergreen", "shrubland"),
    (122, "Shrubland, deciduous", "shrubland"),
    (130, "Grassland", "grassland"),
    (140, "Lichens and mosses", "grassland"),
    (150, "Sparse vegetation (tree, shrub, herbaceous cover) (<15%)", "grassland"),
    (151, "Sparse tree (<15%)", "grassland"),
    (152, "Sparse shrub (<15%)", "grassland"),
    (153, "Sparse herbaceous cover (<15%)", "grassland"),
    (160, "Tree cover, flooded, fresh or brackish water", "wetland"),
    (170, "Tree cover, flooded, saline water", "wetland"),
    (180, "Shrub or herbaceous cover, flooded, fresh/saline/brackish water", "wetland"),
    (190, "Urban areas", "artificial"),
    (200, "Bare areas", "bare"),
    (201, "Consolidated bare areas", "bare"),
    (202, "Unconsolidated bare areas", "bare"),
    (210, "Water bodies", "water"),
    (220, "Permanent snow and ice", "bare"),
)

#: Names accepted by ``--land-cover-legend`` for a built-in legend.
BUILTIN_LEGENDS: dict[str, tuple[tuple[int, str, str | None], ...]] = {"esa-cci": ESA_CCI_LEGEND}
#: Land-type entries of a legend CSV that mean "no data".
_NODATA_WORDS = {"", "nodata", "no data", "none", "null"}

#: SDG 15.3.1 status values in the order ties are broken (degraded first).
DEGRADATION_CLASSES: tuple[int, ...] = (-1, 0, 1)


def read_legend(spec: str) -> tuple[dict[int, int | None], str]:
    """A land-cover legend as {raster value: index into LAND_TYPES or None for no data}, and its name.

    ``spec`` is a built-in legend name (``esa-cci``) or a CSV file with columns
    ``value`` (integer class) and ``land_type`` (one of LAND_TYPES, or empty /
    ``nodata`` for no data); other columns (e.g. ``label``) are ignored.
    """
    index = {t: k for k, t in enumerate(LAND_TYPES)}
    if spec in BUILTIN_LEGENDS:
        return {value: (None if t is None else index[t]) for value, _, t in BUILTIN_LEGENDS[spec]}, spec
    try:
        table = pd.read_csv(spec, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read as a CSV table ({first_line(exc)})", path=spec,
                         fix="give a CSV with a header line `value,land_type`") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    absent = [c for c in ("value", "land_type") if c not in table.columns]
    if absent:
        raise InputError(f"lacks column(s) {', '.join(absent)} (columns there: {', '.join(table.columns)})",
                         path=spec, column=absent[0],
                         fix="give a CSV with a header line `value,land_type` (and optionally `label`)")
    if table.empty:
        raise InputError("has no rows", path=spec, fix="list every class of the land cover raster")
    line = np.arange(len(table)) + 2  # line numbers in the file, after the header
    values = pd.to_numeric(table["value"].str.strip(), errors="coerce")
    bad = values.isna().to_numpy() | (values.fillna(0) % 1 != 0).to_numpy()
    if bad.any():
        raise InputError("has values that are not integer class codes", path=spec, column="value",
                         ids=line[bad], fix="give each raster class code as a whole number")
    dup = values.duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError("lists a class code more than once", path=spec, column="value", ids=line[dup],
                         fix="map every class code to exactly one land type")
    types = table["land_type"].str.strip().str.lower()
    nodata = types.isin(_NODATA_WORDS).to_numpy()
    unknown = ~nodata & ~types.isin(LAND_TYPES).to_numpy()
    if unknown.any():
        seen = ", ".join(repr(s) for s in sorted(set(table["land_type"][unknown]))[:5])
        raise InputError(f"has land types that are not LDN land types ({seen})", path=spec, column="land_type",
                         ids=line[unknown], fix="use one of " + ", ".join(LAND_TYPES) + ", or leave it empty "
                                               "(or write nodata) for a class that means no data")
    legend = {int(v): (None if nd else index[t]) for v, t, nd in zip(values, types, nodata, strict=True)}
    return legend, os.path.basename(spec)
