"""Everything wrong with a region, at once: ``dualuse validate``.

:func:`dualuse.inputs.region.check_region` collects the schema problems of the
parcels and communities; this module adds the geometry checks that it calls
(repair of invalid polygons, coordinates, slivers, a stored area column that
disagrees with the geometry, implausible units), and turns all of them,
together with the pre-solve checks of a scenario
(:func:`dualuse.diagnose.explain.presolve_checks`), into one report: a table of
severity, layer, column, count, example ids and the fix, or JSON.

``dualuse solve`` runs the same checks before it solves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dualuse.errors import InputError
from dualuse.inputs.region import DEFAULT_LAYER, Problem, Region, _ids, check_region, equal_area_ha

#: A parcel smaller than this is a sliver [ha] (100 m²).
SLIVER_HA = 0.01
#: A parcel whose Polsby–Popper compactness 4πA/P² is below this is a sliver: a strip about
#: π / 0.01 ≈ 300 times as long as it is wide.
SLIVER_COMPACTNESS = 0.01
#: A stored area that differs from the geometry's by more than this share is reported.
AREA_TOLERANCE = 0.05
#: Columns that may hold a stored area, and their factor to hectares.
STORED_AREA_COLUMNS: dict[str, float] = {"area_ha": 1.0, "area_m2": 1e-4, "area_km2": 100.0}
#: PV yields below this [kWh/kWp] look like daily totals (the world's lowest yearly PVOUT is about 700).
DAILY_PV_YIELD_KWH_KWP = 15.0

_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon


# --------------------------------------------------------------------------- geometry checks


def usable_geometry(geometry: np.ndarray) -> np.ndarray:
    """Boolean per geometry: present, not empty, polygonal and with finite coordinates."""
    present = ~shapely.is_missing(geometry)
    present &= ~pd.isna(geometry)
    ok = present.copy()
    ok[present] = ~shapely.is_empty(geometry[present]) & np.isin(shapely.get_type_id(geometry[present]),
                                                                 _POLYGONAL)
    ok[ok] &= finite_coordinates(geometry[ok])
    return ok


def finite_coordinates(geometry: np.ndarray) -> np.ndarray:
    """Boolean per geometry: every coordinate is finite (no NaN, no infinity)."""
    coords, index = shapely.get_coordinates(geometry, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    return np.bincount(index[bad], minlength=len(geometry)) == 0


def check_geometry(frame: gpd.GeoDataFrame, layer: str, problems: list[Problem]) -> gpd.GeoDataFrame:
    """Report polygons with non-finite coordinates; repair invalid ones.

    Self-intersecting polygons (a "bowtie" has area 0) are repaired with
    ``shapely.make_valid(method="structure")``, which keeps polygons polygons,
    and reported as a warning naming the parcels and the area
    change; a polygon that the repair reduces to nothing is an error.
    Rows that are missing, empty or not polygonal are left to
    :func:`dualuse.inputs.region._check_parcels`.  Returns the frame with repaired
    geometries (a copy when any was repaired).
    """
    geometry = np.asarray(frame.geometry.array, dtype=object)
    present = ~shapely.is_missing(geometry) & ~pd.isna(geometry)
    polygonal = present.copy()
    polygonal[present] = ~shapely.is_empty(geometry[present]) & np.isin(
        shapely.get_type_id(geometry[present]), _POLYGONAL)
    finite = np.ones(len(geometry), dtype=bool)
    finite[polygonal] = finite_coordinates(geometry[polygonal])
    not_finite = polygonal & ~finite
    if not_finite.any():
        problems.append(Problem("error", layer, "geometry",
                                f"{not_finite.sum()} parcel(s) have coordinates that are NaN or infinite",
                                "repair or redraw these polygons, or drop them", _ids(frame, not_finite),
                                int(not_finite.sum())))
    candidates = polygonal & finite
    invalid = np.zeros(len(geometry), dtype=bool)
    invalid[candidates] = ~shapely.is_valid(geometry[candidates])
    if not invalid.any():
        return frame
    before = geometry[invalid]
    reasons = sorted({str(r).split("[")[0] for r in shapely.is_valid_reason(before)})
    repaired = shapely.make_valid(before, method="structure", keep_collapsed=False)
    lost = shapely.is_empty(repaired) | ~np.isin(shapely.get_type_id(repaired), _POLYGONAL)
    positions = np.flatnonzero(invalid)
    if lost.any():
        mask = np.zeros(len(geometry), dtype=bool)
        mask[positions[lost]] = True
        problems.append(Problem("error", layer, "geometry",
                                f"{lost.sum()} invalid polygon(s) ({', '.join(reasons)}) have no area left "
                                "once repaired (they collapse to lines or points)",
                                "redraw these parcels or drop them", _ids(frame, mask), int(lost.sum())))
    fixed = ~lost
    if fixed.any():
        crs = frame.crs
        with np.errstate(invalid="ignore", over="ignore"):
            area_before = equal_area_ha(gpd.GeoSeries(before[fixed], crs=crs))
            area_after = equal_area_ha(gpd.GeoSeries(repaired[fixed], crs=crs))
        change = area_after - area_before
        largest = int(np.argmax(np.abs(change)))
        mask = np.zeros(len(geometry), dtype=bool)
        mask[positions[fixed]] = True
        example = np.zeros(len(geometry), dtype=bool)
        example[positions[fixed][largest]] = True
        problems.append(Problem(
            "warning", layer, "geometry",
            f"{fixed.sum()} invalid polygon(s) ({', '.join(reasons)}) were repaired with make_valid "
            f"(structure method, polygons kept); their area changed by {change.sum():+,.4g} ha in all "
            f"(largest change: parcel {_ids(frame, example)[0]}, {area_before[largest]:,.4g} → "
            f"{area_after[largest]:,.4g} ha)",
            "check the repaired parcels, or fix them at the source (QGIS 'Fix geometries') so that the "
            "areas are the ones you expect", _ids(frame, mask), int(fixed.sum())))
        geometry = geometry.copy()
        geometry[positions[fixed]] = repaired[fixed]
        frame = frame.copy()
        frame[frame.geometry.name] = gpd.GeoSeries(geometry, index=frame.index, crs=crs)
    return frame


def check_areas(frame: gpd.GeoDataFrame, area_ha: np.ndarray, layer: str, problems: list[Problem],
                usable: np.ndarray | None = None, zero_is_error: bool = False) -> None:
    """Areas that cannot be computed (error), slivers, and a stored area column that disagrees.

    Parameters
    ----------
    frame : GeoDataFrame — the parcels
    area_ha : ndarray — area of each parcel from an equal-area CRS [ha] (NaN where not computed)
    usable : ndarray of bool, optional — the rows whose geometry could be measured (default: all)
    zero_is_error : bool — also report zero areas (when the region was not built, which reports them)
    """
    usable = np.ones(len(frame), dtype=bool) if usable is None else usable
    not_finite = usable & ~np.isfinite(area_ha)
    if not_finite.any():
        problems.append(Problem("error", layer, "geometry",
                                f"{not_finite.sum()} parcel(s) have an area that cannot be computed (the "
                                "coordinates lie outside the range of the layer's CRS)",
                                "check that the layer's CRS is the one its coordinates are in",
                                _ids(frame, not_finite), int(not_finite.sum())))
    measured = usable & np.isfinite(area_ha)
    if zero_is_error:
        zero = measured & (area_ha <= 0)
        if zero.any():
            problems.append(Problem("error", layer, "geometry",
                                    f"{zero.sum()} parcel(s) have zero area (degenerate or self-intersecting)",
                                    "repair the polygons (e.g. QGIS 'Fix geometries') or drop them",
                                    _ids(frame, zero), int(zero.sum())))
    positive = measured & (area_ha > 0)
    geometry = np.asarray(frame.geometry.array, dtype=object)
    compactness = np.ones(len(frame))
    if positive.any():
        plane_area = shapely.area(geometry[positive])
        perimeter = shapely.length(geometry[positive])
        with np.errstate(divide="ignore", invalid="ignore"):
            compactness[positive] = np.where(perimeter > 0, 4 * np.pi * plane_area / perimeter ** 2, 1.0)
    sliver = positive & ((area_ha < SLIVER_HA) | (compactness < SLIVER_COMPACTNESS))
    if sliver.any():
        problems.append(Problem("warning", layer, "geometry",
                                f"{sliver.sum()} parcel(s) are slivers (smaller than {SLIVER_HA:g} ha, or strips "
                                f"over ~300 times as long as wide; smallest {area_ha[sliver].min():.3g} ha): "
                                "each adds variables to the model but hardly any land",
                                "merge them into a neighbour (QGIS 'Eliminate selected polygons') or drop them",
                                _ids(frame, sliver), int(sliver.sum())))
    _check_stored_area(frame, area_ha, positive, layer, problems)


def _check_stored_area(frame: gpd.GeoDataFrame, area_ha: np.ndarray, positive: np.ndarray, layer: str,
                       problems: list[Problem]) -> None:
    column = next((c for c in STORED_AREA_COLUMNS if c in frame.columns), None)
    if column is None:
        return
    stored = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    not_numeric = frame[column].notna().to_numpy() & ~np.isfinite(stored)
    if not_numeric.any():
        problems.append(Problem("warning", layer, column,
                                f"{not_numeric.sum()} stored area(s) are not finite numbers; dualuse uses the "
                                "area of the geometry", f"store '{column}' as numbers, or drop the column",
                                _ids(frame, not_numeric), int(not_numeric.sum())))
    stored_ha = stored * STORED_AREA_COLUMNS[column]
    compare = positive & np.isfinite(stored_ha)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.abs(stored_ha - area_ha) / area_ha
    off = compare & (relative > AREA_TOLERANCE)
    if not off.any():
        return
    k = int(np.flatnonzero(off)[np.argmax(relative[off])])
    ratio = np.median(stored_ha[off] / area_ha[off])
    hint = (f"; most differ by the same factor ({ratio:.3g}), which points to a wrong CRS or another unit"
            if off.sum() > 1 and np.allclose(stored_ha[off] / area_ha[off], ratio, rtol=0.02) else "")
    problems.append(Problem("warning", layer, column,
                            f"{off.sum()} parcel(s) have a stored {column} that differs from the area of their "
                            f"geometry by more than {AREA_TOLERANCE:.0%} (worst: {stored[k]:,.4g} stored, "
                            f"{area_ha[k] / STORED_AREA_COLUMNS[column]:,.4g} from the geometry){hint}; dualuse "
                            "uses the geometry's area, computed in an equal-area CRS",
                            f"check the layer's CRS, or recompute '{column}' from the polygons",
                            _ids(frame, off), int(off.sum())))


def check_units(frame: pd.DataFrame, layer: str, problems: list[Problem]) -> None:
    """Values that are in range but probably in another unit (warnings)."""
    if "pv_yield_kwh_kwp" in frame.columns:
        values = pd.to_numeric(frame["pv_yield_kwh_kwp"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        daily = (values > 0) & (values < DAILY_PV_YIELD_KWH_KWP)
        if daily.any():
            problems.append(Problem("warning", layer, "pv_yield_kwh_kwp",
                                    f"{daily.sum()} value(s) are below {DAILY_PV_YIELD_KWH_KWP:g} kWh/kWp, which "
                                    "looks like daily totals (PVOUT is 700–2,500 kWh/kWp a year)",
                                    "give yearly totals: multiply daily PVOUT by 365", _ids(frame, daily),
                                    int(daily.sum())))


def measure_unbuilt(frame: gpd.GeoDataFrame, layer: str, problems: list[Problem]) -> None:
    """The area checks for a region that was not built because of other errors."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        return
    geometry = np.asarray(frame.geometry.array, dtype=object)
    usable = usable_geometry(geometry)
    area_ha = np.full(len(frame), np.nan)
    if usable.any():
        with np.errstate(invalid="ignore", over="ignore"):  # reported below as areas that cannot be computed
            area_ha[usable] = equal_area_ha(gpd.GeoSeries(geometry[usable], crs=frame.crs))
    check_areas(frame, area_ha, layer, problems, usable=usable, zero_is_error=True)


# --------------------------------------------------------------------------- the report

_SEVERITY_ORDER = {"error": 0, "warning": 1}


@dataclass
class ValidationReport:
    """Every problem found in a region file (and, when given, with a scenario on it).

    Attributes
    ----------
    problems : list of Problem — errors first; a problem of layer ``scenario`` comes from the pre-solve checks
    region : Region or None — the region, when it has no errors
    """

    path: str
    layer: str
    problems: list[Problem] = field(default_factory=list)
    region: Region | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def exit_code(self) -> int:
        """2 for an error in the input, 3 when only the scenario is certainly infeasible, else 0."""
        if any(p.layer != "scenario" for p in self.errors):
            return 2
        return 3 if self.errors else 0

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "layer": self.layer, "ok": not self.errors,
                "n_parcels": None if self.region is None else self.region.n_parcels,
                "errors": len(self.errors), "warnings": len(self.warnings),
                "problems": [p.to_dict() for p in self.problems]}

    def table(self) -> str:
        """The report as a text table: one row per problem, its message and fix beneath."""
        parcels = "" if self.region is None else f", {self.region.n_parcels:,} parcels"
        head = (f"{self.path}, layer '{self.layer}'{parcels}: {len(self.errors)} error(s), "
                f"{len(self.warnings)} warning(s)")
        if not self.problems:
            return head + "\nno problems found"
        rows = [("severity", "layer", "column", "count", "example ids")]
        for p in self.problems:
            ids = ", ".join(str(i) for i in p.ids[:5]) + (" …" if p.count > 5 else "")
            rows.append((p.severity, p.layer or "-", p.column or "-", f"{p.count:,}" if p.count else "-",
                         ids or "-"))
        widths = [max(len(r[k]) for r in rows) for k in range(4)]
        lines = [head, ""]
        for k, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[c]) if c < 4 else cell for c, cell in enumerate(row)).rstrip())
            if k:
                p = self.problems[k - 1]
                lines.append(f"    {p.message}")
                if p.fix:
                    lines.append(f"    fix: {p.fix}")
        return "\n".join(lines)


def validate_region(path: str | os.PathLike[str], layer: str | None = None, *, scenario: Any = None,
                    catalogue: Any = None) -> ValidationReport:
    """Check a region file, and a scenario on it, collecting every problem.

    Parameters
    ----------
    path : path of the region GeoPackage
    layer : the parcel layer (default ``parcels``)
    scenario : Scenario, optional — when given and the region has no errors, the pre-solve checks
        of :func:`dualuse.diagnose.explain.presolve_checks` are added (layer ``scenario``)
    catalogue : Catalogue or path, optional — the land-use catalogue for the pre-solve checks

    Returns
    -------
    ValidationReport — never raises for a bad file: an unreadable file is one error in the report
    """
    layer_name = layer or DEFAULT_LAYER
    try:
        region, problems = check_region(path, layer)
    except InputError as exc:
        problem = Problem("error", exc.layer or "", exc.column or "", exc.problem, exc.fix or "",
                          tuple(exc.ids), exc.count)
        return ValidationReport(str(path), layer_name, [problem])
    if region is not None and scenario is not None:
        from dualuse.inputs.catalogue import Catalogue, load_catalogue
        from dualuse.model.coefficients import compute_coefficients
        from dualuse.diagnose.presolve import presolve_checks

        try:
            cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
        except InputError as exc:
            problems.append(Problem("error", "catalogue", exc.column or "", str(exc), exc.fix or ""))
        else:
            coef = compute_coefficients(region, cat, scenario)
            problems += [f.to_problem() for f in presolve_checks(coef, scenario, region)]
    problems = sorted(problems, key=lambda p: _SEVERITY_ORDER.get(p.severity, 2))
    return ValidationReport(str(path), layer_name, problems, region)
