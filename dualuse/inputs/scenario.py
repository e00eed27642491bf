"""The policy parameters of one run.

Every parameter is declared once, in :data:`PARAMETERS` (type, unit, default,
range, help); defaults, validation, ``--set`` parsing, ``dualuse parameters``
and the README table are all read from there.  A scenario file is TOML with
the same keys (``models/scenarios/default.toml``).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from dualuse.errors import UsageError
from dualuse.inputs.catalogue import matrix_names
from dualuse.vocabulary import LDN_BASELINES


@dataclass(frozen=True)
class Parameter:
    """One scenario parameter."""

    name: str
    kind: type
    unit: str
    default: Any
    help: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    source: str = ""

    def describe_range(self) -> str:
        if self.choices:
            return " | ".join(self.choices)
        if self.kind is bool:
            return "true | false"
        if self.kind is tuple:
            return "list of names"
        lo = "−∞" if self.lo is None else f"{self.lo:g}"
        hi = "∞" if self.hi is None else f"{self.hi:g}"
        return f"{lo} … {hi}"

    def check(self, value: Any, origin: str) -> Any:
        """The value converted to this parameter's type, or a UsageError naming the fix."""
        def fail(problem: str) -> UsageError:
            return UsageError(f"{origin}: parameter '{self.name}' {problem}; expected "
                              f"{self.kind.__name__} in {self.describe_range()} [{self.unit}]")

        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.strip().lower() in ("true", "1", "yes")
            raise fail(f"got {value!r}")
        if self.kind is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise fail(f"got {value!r}")
            return value
        if self.kind is tuple:
            if isinstance(value, str):  # from --set: names separated by commas
                value = [v.strip() for v in value.strip().strip("[]").split(",") if v.strip()]
            names = [v.strip().strip("'\"") if isinstance(v, str) else v for v in value] \
                if isinstance(value, (list, tuple)) else None
            if not names or not all(isinstance(v, str) and v for v in names) or len(set(names)) < len(names):
                raise fail(f"got {value!r}, not a list of distinct names")
            return tuple(names)
        if isinstance(value, bool):
            raise fail(f"got {value!r}")
        if isinstance(value, str):
            try:
                value = float(value.replace("_", ""))
            except ValueError:
                raise fail(f"got {value!r}, not a number") from None
        if not isinstance(value, (int, float)):
            raise fail(f"got {value!r}")
        if value != value or value in (float("inf"), float("-inf")):
            raise fail(f"got {value!r}")
        if self.kind is int:
            if float(value) != int(value):
                raise fail(f"got {value!r}, not a whole number")
            value = int(value)
        else:
            value = float(value)
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise fail(f"is {value:g}, out of range")
        return value


#: Household electricity use by Multi-Tier Framework tier [kWh/household/yr] (OnSSET demand table).
MTF_TIER_KWH_YR: dict[int, float] = {1: 39.0, 2: 219.0, 3: 803.0, 4: 2117.0, 5: 3000.0}
MTF_SOURCE = ("Multi-Tier Framework tiers as used by OnSSET (Mentis et al. 2017, Environ. Res. Lett. 12 085003; "
              "ESMAP 2015 Beyond Connections)")

PARAMETERS: tuple[Parameter, ...] = (
    Parameter("budget_usd", float, "USD", 60e6, "capital budget for every action and for delivery to communities",
              lo=0.0),
    Parameter("ldn_scope", str, "—", "land_type",
              "where LDN must hold: within each land type (like for like), pooled over the region, or off",
              choices=("land_type", "region", "off")),
    Parameter("ldn_target", float, "share of area", 0.0,
              "net improvement target τ: (area improved − area degraded) ≥ τ × area, per scope; 0 = neutrality",
              lo=-1.0, hi=1.0),
    Parameter("ldn_baseline", str, "—", "stable",
              "how the baseline trend enters the LDN status at the horizon: stable (the baseline status holds, so "
              "only what the plan changes counts) or persist (business as usual: baseline trends recur)",
              choices=LDN_BASELINES,
              source="the GPG-addendum 7-class status as Trends.Earth keeps it (sdg_status_expanded): a degraded "
                     "parcel left alone is class 3 (neutral in counterbalancing) under stable, class 1 (a loss) "
                     "under persist"),
    Parameter("land_cover_matrix", str, "—", "catalogue",
              "the LDN land-cover transition matrix: the catalogue's own, or a file of models/transitions/ by name",
              choices=("catalogue", *matrix_names())),
    Parameter("horizon_years", float, "years", 15.0,
              "years from baseline to the LDN assessment (SDG 15.3 runs 2015–2030)", lo=1.0, hi=100.0),
    Parameter("productivity_threshold", float, "relative NPP change", 0.10,
              "NPP change beyond ±this counts as productivity improvement or decline", lo=0.0, hi=1.0),
    Parameter("soc_threshold", float, "relative SOC change", 0.10,
              "SOC change beyond ±this over the horizon counts as improvement or degradation", lo=0.0, hi=1.0,
              source="Trends.Earth: SOC change of −10 % or worse is degraded, +10 % or better improved"),
    Parameter("food_floor", float, "share of today", 0.95,
              "food-security floor φ: the plan's harvest ≥ φ × today's", lo=0.0, hi=10.0),
    Parameter("drought_food_floor", float, "share of today's in the year", 0.0,
              "drought food floor φ_d: in the region's drought years (table productivity_scenarios) the plan's "
              "harvest ≥ φ_d × today's harvest in the same year, as drought_scope says (0 = off)", lo=0.0, hi=10.0),
    Parameter("drought_scope", str, "—", "every_scenario",
              "how the drought floor holds: in every drought year, on the probability-weighted mean of the "
              "years' harvest ratios (expected), or on the mean of the worst cvar_alpha share of them (cvar)",
              choices=("every_scenario", "expected", "cvar")),
    Parameter("cvar_alpha", float, "share of probability", 0.2,
              "with drought_scope = cvar: the share of the drought years' probability, worst first, whose mean "
              "harvest ratio must reach drought_food_floor (1 = expected; towards 0 = the worst year)",
              lo=1e-6, hi=1.0),
    Parameter("mtf_tier", int, "tier", 3,
              "Multi-Tier Framework tier of household supply, for communities without household_kwh_yr",
              lo=1, hi=5, source=MTF_SOURCE),
    Parameter("delivery_efficiency", float, "ratio", 0.85,
              "share of generation that reaches households through mini-grid and storage (losses)",
              lo=0.01, hi=1.0,
              source="planning assumption: distribution and battery round-trip losses of about 15 %"),
    Parameter("connection_cost_usd", float, "USD per household", 733.0,
              "capital cost of connecting one household (distribution and customer connection), paid for "
              "every household served", lo=0.0,
              source="AMDA 2019 benchmarking of African mini-grids: USD 733 per connection (Africa Minigrid "
                     "Developers Association, Benchmarking Africa's Minigrids)"),
    Parameter("delivery_cost_usd_mwh", float, "USD per MWh/yr", 580.0,
              "capital cost that grows with the energy delivered: storage for the evening and distribution "
              "sized to the load, per MWh/yr delivered to households", lo=0.0,
              source="planning assumption: the rest of about USD 1,200 per connection (ESMAP 2019, Mini Grids "
                     "for Half a Billion People) once USD 733 per connection (connection_cost_usd) is counted, "
                     "over 0.8 MWh/yr per tier-3 household: (1,200 − 733) / 0.803 ≈ USD 580 per MWh/yr"),
    Parameter("grid_export_mwh", float, "MWh/yr", 300_000.0,
              "largest yearly energy the grid can take from the region's PV", lo=0.0),
    Parameter("grid_cost_usd_mw_km", float, "USD per MWp·km", 5000.0,
              "cost of connecting 1 MWp of PV over 1 km to the grid", lo=0.0,
              source="planning assumption: OnSSET medium-voltage line cost USD 7,000/km (Mentis et al. 2017) "
                     "shared by about 1.4 MW"),
    Parameter("min_access_share", float, "share of demand", 0.0,
              "fairness floor: every community with demand gets at least this share of its unserved demand, "
              "or as much as its own parcels can deliver if that is less (0 = off)", lo=0.0, hi=1.0),
    Parameter("max_pv_share", float, "share of area", 1.0,
              "largest share of the region's area under solar and agrivoltaics", lo=0.0, hi=1.0),
    Parameter("min_restored_ha", float, "ha", 0.0, "smallest area under restoration", lo=0.0),
    Parameter("restoration_boundary_weight", float, "objective per km", 0.0,
              "penalty on the boundary between restored and unrestored land, per km of boundary shared by two parcels times the difference of their restoration shares, in the objective's own units (unit-free in weighted mode, USD/yr in net_benefit mode); 0 = none, and the LP keeps its structured solve", lo=0.0),
    Parameter("weight_access", float, "—", 1.0, "objective weight of energy access (share of unserved demand met)",
              lo=0.0),
    Parameter("weight_energy", float, "—", 0.5,
              "objective weight of energy delivered (share of the most the region could generate)", lo=0.0),
    Parameter("weight_productivity", float, "—", 1.0,
              "objective weight of land productivity (harvest relative to today)", lo=0.0),
    Parameter("weight_cost", float, "—", 0.001,
              "objective weight of cost (share of the costliest plan's cost): a small tie-break toward cheaper plans", lo=0.0),
    Parameter("objective_mode", str, "—", "weighted",
              "what the plan optimises: weighted (the weighted sum of the unit-free KPIs, weight_*), priorities "
              "(the KPIs of priorities one after another, lexicographically) or net_benefit (USD/yr: energy and "
              "harvest at their prices less annualised capital and operating costs)",
              choices=("weighted", "priorities", "net_benefit")),
    Parameter("priorities", tuple, "KPI names", ("access", "productivity", "cost_usd"),
              "with objective_mode = priorities: KPIs in order of priority (names of the plan's KPI table; each "
              "maximised, or minimised when less is better), e.g. access,productivity,cost_usd"),
    Parameter("priority_tolerance", float, "relative", 1e-6,
              "with objective_mode = priorities: the share of a level's optimum that later levels may give up",
              lo=0.0, hi=1.0),
    Parameter("price_household_usd_mwh", float, "USD/MWh", 200.0,
              "with objective_mode = net_benefit: value of energy delivered to households", lo=0.0,
              source="planning assumption, range USD 200-450/MWh: mini-grid tariffs of about USD 0.20/kWh as "
                     "the target (ESMAP 2019, Mini Grids for Half a Billion People) to about USD 0.45/kWh "
                     "(Malawi Integrated Energy Plan 2024)"),
    Parameter("price_export_usd_mwh", float, "USD/MWh", 50.0,
              "with objective_mode = net_benefit: value of energy sent to the grid", lo=0.0,
              source="planning assumption, range USD 40-60/MWh: grid sale prices of utility solar in Africa, "
                     "Scaling Solar Zambia USD 60.15/MWh (2016), Senegal EUR 38-40/MWh (2018)"),
    Parameter("discount_rate", float, "per year", 0.08,
              "with objective_mode = net_benefit: discount rate r of the capital recovery factor "
              "r(1+r)^n / ((1+r)^n − 1) that annualises capital costs", lo=0.0, hi=1.0,
              source="planning assumption, range 6-12 %: 8 % is a common public planning choice for West "
                     "Africa (e.g. World Bank appraisals)"),
    Parameter("delivery_lifetime_years", float, "years", 20.0,
              "with objective_mode = net_benefit: life n of the delivery assets and household connections, over "
              "which their capital cost is annualised", lo=1.0, hi=100.0,
              source="planning assumption, range 10-25 years: mini-grid distribution lasts 20-25 years, "
                     "batteries about 10"),
    Parameter("mode", str, "—", "share",
              "share: parcels may be split between uses (LP, with shadow prices); whole: one use per parcel (MILP)",
              choices=("share", "whole")),
    Parameter("min_plant_mwp", float, "MWp", 0.0,
              "smallest PV plant on a parcel (0 = none); any other value makes the model a MILP", lo=0.0),
    Parameter("lp_method", str, "—", "structured",
              "how a share-mode LP is solved: structured (column generation over parcels, certified optimal on the "
              "whole LP, falling back to generic when it cannot certify) or generic (HiGHS interior point IPX with "
              "crossover)", choices=("structured", "generic")),
    Parameter("mip_gap", float, "relative", 1e-4, "relative optimality gap at which a MILP stops", lo=0.0, hi=1.0),
    Parameter("time_limit_s", float, "s", 600.0, "solver time limit", lo=0.0),
    Parameter("threads", int, "—", 1, "solver threads", lo=1, hi=256),
    Parameter("seed", int, "—", 0, "solver random seed", lo=0, hi=2**31 - 1),
    Parameter("livelihood_floor", float, "share of today", 0.0,
              "livelihood floor: every community keeps at least this share of today's land-based income (harvest "
              "value, PV lease and sales share, payments for ecosystem services and soil carbon) (0 = off)",
              lo=0.0, hi=10.0),
    Parameter("jobs_floor", float, "share of today", 0.0,
              "jobs floor: every community keeps at least this share of today's work on its land (farming, herding, "
              "restoration, PV and mini-grid operation, in FTE) (0 = off)", lo=0.0, hi=10.0),
    Parameter("weight_livelihoods", float, "—", 0.0,
              "objective weight of livelihoods (the region's land-based income relative to today's)", lo=0.0),
)

PARAMETER_BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}


@dataclass(frozen=True)
class Scenario:
    """The validated parameters of one run (see :data:`PARAMETERS` for units and meaning)."""

    budget_usd: float
    ldn_scope: str
    ldn_target: float
    ldn_baseline: str
    land_cover_matrix: str
    horizon_years: float
    productivity_threshold: float
    soc_threshold: float
    food_floor: float
    drought_food_floor: float
    drought_scope: str
    cvar_alpha: float
    mtf_tier: int
    delivery_efficiency: float
    connection_cost_usd: float
    delivery_cost_usd_mwh: float
    grid_export_mwh: float
    grid_cost_usd_mw_km: float
    min_access_share: float
    max_pv_share: float
    min_restored_ha: float
    restoration_boundary_weight: float
    weight_access: float
    weight_energy: float
    weight_productivity: float
    weight_cost: float
    objective_mode: str
    priorities: tuple[str, ...]
    priority_tolerance: float
    price_household_usd_mwh: float
    price_export_usd_mwh: float
    discount_rate: float
    delivery_lifetime_years: float
    mode: str
    min_plant_mwp: float
    lp_method: str
    mip_gap: float
    time_limit_s: float
    threads: int
    seed: int
    livelihood_floor: float
    jobs_floor: float
    weight_livelihoods: float

    @property
    def household_kwh_yr(self) -> float:
        """Default household demand from the MTF tier [kWh/household/yr]."""
        return MTF_TIER_KWH_YR[self.mtf_tier]

    @property
    def is_mip(self) -> bool:
        return self.mode == "whole" or self.min_plant_mwp > 0

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, so equal scenarios give equal text."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def replace(self, **overrides: Any) -> Scenario:
        """A copy with some parameters changed, each checked."""
        return make_scenario({**self.to_dict(), **overrides}, origin="override")

    def to_toml(self) -> str:
        lines = []
        for p in PARAMETERS:
            value = getattr(self, p.name)
            text = (f'"{value}"' if isinstance(value, str) else str(value).lower() if isinstance(value, bool)
                    else json.dumps(list(value)) if isinstance(value, tuple) else repr(value))
            lines.append(f"{p.name} = {text}  # [{p.unit}] {p.help}")
        return "\n".join(lines) + "\n"


# Parameters that are not part of the policy question (they do not change the optimum's meaning).
assert set(PARAMETER_BY_NAME) == {f.name for f in fields(Scenario)}, "PARAMETERS and Scenario disagree"


def make_scenario(values: dict[str, Any], origin: str = "scenario") -> Scenario:
    """A Scenario from a mapping of parameter values (missing ones take their defaults)."""
    unknown = sorted(set(values) - set(PARAMETER_BY_NAME))
    if unknown:
        raise UsageError(f"{origin}: unknown parameter(s) {', '.join(unknown)}; valid parameters: "
                         + ", ".join(PARAMETER_BY_NAME))
    checked = {p.name: p.check(values.get(p.name, p.default), origin) for p in PARAMETERS}
    return Scenario(**checked)


def default_scenario_path() -> Path:
    return Path(str(resources.files("dualuse.models").joinpath("scenarios", "default.toml")))


def read_scenario_file(path: str | Path) -> dict[str, Any]:
    """The raw parameter mapping of a scenario TOML file (a top-level table or a [scenario] table)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"scenario file {path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"scenario file {path}: not valid TOML ({exc})") from None
    if "scenario" in raw and isinstance(raw["scenario"], dict):
        raw = raw["scenario"]
    return raw


def parse_sets(assignments: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``key=value`` strings as a mapping (values stay text; :func:`make_scenario` types them)."""
    out: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: write key=value, e.g. --set budget_usd=2e7")
        out[key.strip()] = value.strip()
    return out


def load_scenario(path: str | Path | None = None, sets: dict[str, Any] | None = None) -> Scenario:
    """The default scenario, overlaid by a scenario file, then by ``--set`` overrides."""
    values = read_scenario_file(default_scenario_path())
    if path is not None:
        file_values = read_scenario_file(path)
        make_scenario({**values, **file_values}, origin=f"scenario file {path}")
        values.update(file_values)
    if sets:
        values.update(sets)
        return make_scenario(values, origin="--set")
    return make_scenario(values, origin="scenario")


def parameters_markdown() -> str:
    """The parameter table, for the README and ``dualuse parameters``."""
    rows = ["| parameter | unit | default | range | meaning |", "|---|---|---|---|---|"]
    for p in PARAMETERS:
        default = (f"{p.default:g}" if isinstance(p.default, float)
                   else ", ".join(p.default) if isinstance(p.default, tuple) else str(p.default))
        meaning = p.help + (f" (source: {p.source})" if p.source else "")
        rows.append(f"| `{p.name}` | {p.unit} | {default} | {p.describe_range().replace('|', '/')} | {meaning} |")
    return "\n".join(rows)
