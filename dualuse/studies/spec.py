"""The sweep file: a base scenario, a grid and named sets of overrides, expanded into identified scenarios.

A sweep file (TOML) names a base scenario and its variations::

    base = "strict.toml"            # a scenario file, relative to the sweep file; or inline:
    [base]
    food_floor = 0.9

    [grid]                          # the product of these lists is swept
    budget_usd = {start = 1e7, stop = 1e8, num = 10}
    ldn_target = [0.0, 0.02, 0.05]

    [[scenarios]]                   # named sets of overrides (each crossed with the grid)
    name = "no restoration floor"
    min_restored_ha = 0

Every scenario has an id: a hash of its canonical parameters, the input
region and the catalogue (:func:`scenario_id`, :func:`input_key`), under which
its result is stored and found again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dualuse.errors import UsageError
from dualuse.inputs.catalogue import Catalogue, load_catalogue
from dualuse.inputs.region import Region, read_region
from dualuse.inputs.scenario import (
    PARAMETER_BY_NAME,
    Scenario,
    default_scenario_path,
    load_scenario,
    make_scenario,
    read_scenario_file,
)

#: Parameters a sweep fixes: one solver thread per worker, whatever the scenario says.
FIXED_IN_SWEEP: dict[str, Any] = {"threads": 1}
ID_LENGTH = 16


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file.

    Attributes
    ----------
    base : Scenario — the scenario every variation starts from
    grid : dict — parameter -> values; their product is swept
    named : tuple of (name, overrides) — named sets of overrides, each crossed with the grid
    source : str — the sweep file, for messages
    """

    base: Scenario
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    named: tuple[tuple[str, dict[str, Any]], ...] = ()
    source: str = ""

    @property
    def varied(self) -> list[str]:
        """The parameters this sweep varies, in the order the file gives them."""
        out = list(self.grid)
        for _, overrides in self.named:
            out += [k for k in overrides if k not in out]
        return out


def read_sweep(path: str | os.PathLike[str], sets: Mapping[str, Any] | None = None) -> SweepSpec:
    """Read and check a sweep TOML file (see the module docstring for its form).

    Parameters
    ----------
    path : the sweep file
    sets : overrides of the base scenario (``--set``), applied after the file's base
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"sweep file {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"sweep file {path}: is a folder; name the .toml file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"sweep file {path}: not valid TOML ({exc})") from None
    return parse_sweep(raw, origin=f"sweep file {path}", folder=path.parent, sets=sets)


def parse_sweep(raw: Mapping[str, Any], origin: str = "sweep", folder: Path = Path("."),
                sets: Mapping[str, Any] | None = None) -> SweepSpec:
    """A :class:`SweepSpec` from the mapping of a sweep file; every value is checked here."""
    unknown = sorted(set(raw) - {"base", "grid", "scenarios", "description"})
    if unknown:
        raise UsageError(f"{origin}: unknown key(s) {', '.join(unknown)}; a sweep file has 'base' (a scenario "
                         "file or an inline table), [grid] and [[scenarios]]")
    base_raw = raw.get("base")
    if base_raw is None or isinstance(base_raw, dict):
        base_values = dict(base_raw or {})
        _check_names(base_values, f"{origin}, [base]", allow_fixed=True)
        values = {**read_scenario_file(default_scenario_path()), **base_values}
        base = make_scenario(values, origin=f"{origin}, [base]")
        if sets:
            base = make_scenario({**values, **dict(sets)}, origin="--set")
    elif isinstance(base_raw, str):
        base_path = Path(base_raw) if Path(base_raw).is_absolute() else folder / base_raw
        base = load_scenario(base_path, dict(sets or {}))
    else:
        raise UsageError(f"{origin}: 'base' must be a scenario file name or a [base] table, not {base_raw!r}")

    grid_raw = raw.get("grid", {})
    if not isinstance(grid_raw, dict):
        raise UsageError(f"{origin}: [grid] must be a table of parameter = [values] or {{start, stop, num}}")
    _check_names(grid_raw, f"{origin}, [grid]")
    grid = {name: _grid_values(name, value, f"{origin}, [grid] {name}") for name, value in grid_raw.items()}

    named_raw = raw.get("scenarios", [])
    if not isinstance(named_raw, list) or not all(isinstance(s, dict) for s in named_raw):
        raise UsageError(f"{origin}: scenarios must be [[scenarios]] tables, each a name and overrides")
    named: list[tuple[str, dict[str, Any]]] = []
    for k, item in enumerate(named_raw):
        overrides = {key: value for key, value in item.items() if key != "name"}
        name = str(item.get("name", f"scenario {k + 1}"))
        where = f"{origin}, [[scenarios]] '{name}'"
        _check_names(overrides, where)
        clash = sorted(set(overrides) & set(grid))
        if clash:
            raise UsageError(f"{where}: sets {', '.join(clash)}, which [grid] also varies; remove it from one")
        for key, value in overrides.items():
            PARAMETER_BY_NAME[key].check(value, where)
        named.append((name, overrides))
    names = [n for n, _ in named]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UsageError(f"{origin}: scenario name(s) {', '.join(repeated)} used more than once; name each once")
    return SweepSpec(base=base, grid=grid, named=tuple(named), source=origin)


def _check_names(values: Mapping[str, Any], where: str, allow_fixed: bool = False) -> None:
    unknown = sorted(set(values) - set(PARAMETER_BY_NAME))
    if unknown:
        raise UsageError(f"{where}: unknown parameter(s) {', '.join(unknown)}; valid parameters: "
                         + ", ".join(PARAMETER_BY_NAME))
    fixed = sorted(set(values) & set(FIXED_IN_SWEEP)) if not allow_fixed else []
    if fixed:
        raise UsageError(f"{where}: {', '.join(fixed)} cannot be swept: a sweep solves every scenario with one "
                         "solver thread per worker (use --workers or a cluster for more parallelism)")


def _grid_values(name: str, value: Any, where: str) -> tuple[Any, ...]:
    """The values of one grid axis: a list, a single value, or a range ``{start, stop, num}`` (inclusive)."""
    parameter = PARAMETER_BY_NAME[name]
    if isinstance(value, dict):
        missing = sorted({"start", "stop", "num"} - set(value))
        extra = sorted(set(value) - {"start", "stop", "num"})
        if missing or extra:
            raise UsageError(f"{where}: a range is {{start = A, stop = B, num = N}}"
                             + (f"; missing {', '.join(missing)}" if missing else "")
                             + (f"; unknown {', '.join(extra)}" if extra else ""))
        num = value["num"]
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise UsageError(f"{where}: num must be a whole number of values, 1 or more (got {num!r})")
        for key in ("start", "stop"):
            if isinstance(value[key], bool) or not isinstance(value[key], (int, float)):
                raise UsageError(f"{where}: {key} must be a number (got {value[key]!r})")
        values: list[Any] = [float(f"{v:.12g}") for v in np.linspace(value["start"], value["stop"], num)]
    elif isinstance(value, list):
        values = list(value)
    else:
        values = [value]
    if not values:
        raise UsageError(f"{where}: no values; give at least one")
    checked = [parameter.check(v, f"{where}[{k}]") for k, v in enumerate(values)]
    if len(set(checked)) < len(checked):
        raise UsageError(f"{where}: a value is repeated; give each value once")
    return tuple(checked)


# --------------------------------------------------------------------------- variations and ids


@dataclass(frozen=True)
class Variation:
    """One scenario of a sweep: its id and name, and the scenario."""

    id: str
    name: str
    scenario: Scenario


def read_input(region: str | os.PathLike[str] | Region, catalogue: str | os.PathLike[str] | Catalogue | None,
               layer: str | None = None) -> tuple[Region, Catalogue]:
    """The region and catalogue of a study, read unless they already are (the bundled catalogue for None)."""
    if not isinstance(catalogue, Catalogue):
        catalogue = load_catalogue(catalogue)
    if not isinstance(region, Region):
        region = read_region(region, layer)
    return region, catalogue


def input_key(region: Region, catalogue: Catalogue) -> str:
    """A digest of the input that every result depends on: the region file and layer, and the catalogue."""
    source = region.input_sha256 or _region_digest(region)
    text = json.dumps({"input_sha256": source, "layer": region.layer, "catalogue_sha256": catalogue.sha256},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _region_digest(region: Region) -> str:
    """A content digest of a region that was not read from a file."""
    digest = hashlib.sha256()
    for array in (region.area_ha, region.land_type, region.pv_yield_kwh_kwp, region.productivity_t_ha,
                  region.soc_t_ha, region.degradation, region.slope_deg, region.protected, region.grid_km,
                  region.community):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(region.communities.to_csv(index=False).encode())
    return digest.hexdigest()


def scenario_id(scenario: Scenario, key: str, extra: str = "") -> str:
    """The id of a scenario's result: a hash of its canonical parameters and the input (and ``extra``)."""
    text = json.dumps({"scenario": scenario.to_dict(), "input": key, "extra": extra}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:ID_LENGTH]


def value_text(value: Any) -> str:
    """A parameter value as it appears in a scenario's name: floats in their shortest form."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def expand(spec: SweepSpec, key: str) -> list[Variation]:
    """The variations of a sweep: each named set (or the base alone) crossed with the grid's product."""
    named = list(spec.named) or [("", {})]
    axes = list(spec.grid.items())
    out: list[Variation] = []
    for name, overrides in named:
        for values in itertools.product(*(v for _, v in axes)):
            point = dict(zip((k for k, _ in axes), values))
            merged = {**overrides, **point}
            scenario = spec.base.replace(**merged, **FIXED_IN_SWEEP)
            label = ", ".join(f"{k}={value_text(v)}" for k, v in point.items())
            full = f"{name}: {label}" if name and label else (name or label or "base")
            out.append(Variation(id=scenario_id(scenario, key), name=full, scenario=scenario))
    return out


def variations_from(scenarios: SweepSpec | str | os.PathLike[str] | Mapping[str, Scenario] | Iterable[Scenario],
                    key: str) -> tuple[list[Variation], list[str]]:
    """The variations and the varied parameters of what :func:`dualuse.studies.sweep.run_sweep` was given."""
    if isinstance(scenarios, (str, os.PathLike)):
        scenarios = read_sweep(scenarios)
    if isinstance(scenarios, SweepSpec):
        return expand(scenarios, key), scenarios.varied
    if isinstance(scenarios, Mapping):
        items = [(str(n), s) for n, s in scenarios.items()]
    else:
        items = [("", s) for s in scenarios]
    if not all(isinstance(s, Scenario) for _, s in items):
        raise UsageError("scenarios must be a sweep file, a SweepSpec, or Scenario objects")
    items = [(n, s.replace(**FIXED_IN_SWEEP)) for n, s in items]
    dicts = [s.to_dict() for _, s in items]
    varied = [p for p in PARAMETER_BY_NAME if len({json.dumps(d[p]) for d in dicts}) > 1]
    out = []
    for name, scenario in items:
        overrides = {p: getattr(scenario, p) for p in varied}
        label = name or ", ".join(f"{k}={value_text(v)}" for k, v in overrides.items()) or "base"
        out.append(Variation(id=scenario_id(scenario, key), name=label, scenario=scenario))
    return out, varied
