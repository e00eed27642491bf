"""Everything wrong with a region, and with a scenario on it, at once: ``dualuse validate``.

The checks of :func:`dualuse.inputs.region.check_region` (schema, geometry,
areas, units) and, when a scenario is given, the pre-solve checks of
:func:`dualuse.diagnose.presolve.presolve_checks`, in one report: a table of
severity, layer, column, count, example ids and the fix, or JSON.

``dualuse solve`` runs the same checks before it solves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from dualuse.diagnose.presolve import presolve_checks
from dualuse.errors import InputError
from dualuse.inputs.catalogue import Catalogue, load_catalogue
from dualuse.inputs.region import Region, check_region
from dualuse.inputs.schema import DEFAULT_LAYER, Problem
from dualuse.model.coefficients import compute_coefficients
from dualuse.model.drought import drought_input_problem

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
                    catalogue: Any = None, overlap_tolerance: float | None = None) -> ValidationReport:
    """Check a region file, and a scenario on it, collecting every problem.

    Parameters
    ----------
    path : path of the region GeoPackage
    layer : the parcel layer (default ``parcels``)
    scenario : Scenario, optional — when given and the region has no errors, the pre-solve checks
        of :func:`dualuse.diagnose.presolve.presolve_checks` are added (layer ``scenario``)
    catalogue : Catalogue or path, optional — the land-use catalogue for the pre-solve checks
    overlap_tolerance : share of the region's area that overlapping parcels may count twice
        [default: :data:`~dualuse.inputs.overlaps.OVERLAP_TOLERANCE`]

    Returns
    -------
    ValidationReport — never raises for a bad file: an unreadable file is one error in the report
    """
    layer_name = layer or DEFAULT_LAYER
    try:
        region, problems = (check_region(path, layer) if overlap_tolerance is None
                            else check_region(path, layer, overlap_tolerance=overlap_tolerance))
    except InputError as exc:
        problem = Problem("error", exc.layer or "", exc.column or "", exc.problem, exc.fix or "",
                          tuple(exc.ids), exc.count)
        return ValidationReport(str(path), layer_name, [problem])
    if region is not None and scenario is not None:
        problems += _scenario_problems(region, scenario, catalogue)
    problems = sorted(problems, key=lambda p: _SEVERITY_ORDER.get(p.severity, 2))
    return ValidationReport(str(path), layer_name, problems, region)


def _scenario_problems(region: Region, scenario: Any, catalogue: Any) -> list[Problem]:
    """The pre-solve findings of ``scenario`` on ``region``, or the catalogue's error."""
    try:
        cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    except InputError as exc:
        return [Problem("error", "catalogue", exc.column or "", str(exc), exc.fix or "")]
    coef = compute_coefficients(region, cat, scenario)
    findings = [f.to_problem() for f in presolve_checks(coef, scenario, region)]
    drought = drought_input_problem(coef, scenario)
    if drought is not None:  # `solve` refuses it before its checks: an error of the input (exit 2)
        table, message, fix = drought
        findings.insert(0, Problem("error", table, "", message, fix))
    return findings
