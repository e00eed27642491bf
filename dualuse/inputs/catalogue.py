"""The land-use options and their coefficients, loaded from ``models/landuses.toml``.

Per-land-type tables become arrays indexed by the land-type codes of
:data:`dualuse.vocabulary.LAND_TYPES`, so that coefficients are looked up for all
parcels at once (``use.retention[region.land_type]``).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from dualuse.errors import InputError
from dualuse.vocabulary import LAND_TYPES, LDN_RESPONSES, USES

#: The scalar coefficients of a use: name -> (unit, lowest allowed, highest allowed).
SCALARS: dict[str, tuple[str, float, float]] = {
    "density_mwp_ha": ("MWp/ha", 0.0, 5.0),
    "capex_usd_ha": ("USD/ha", 0.0, 1e8),
    "capex_usd_mwp": ("USD/MWp", 0.0, 1e9),
    "max_slope_deg": ("degrees", 0.0, 90.0),
    "lifetime_years": ("years", 1.0, 100.0),
    "opex_usd_mwp_yr": ("USD/MWp/yr", 0.0, 1e8),
    "opex_usd_ha_yr": ("USD/ha/yr", 0.0, 1e7),
}
#: The per-land-type coefficients: name -> (unit, lowest, highest).
TABLES: dict[str, tuple[str, float, float]] = {
    "retention": ("ratio of today's harvest", 0.0, 10.0),
    "npp_change": ("relative change of NPP", -1.0, 10.0),
    "soc_rate_t_ha_yr": ("t C/ha/yr", -10.0, 10.0),
}
FLAGS = ("allowed_in_protected",)
#: A use's harvest in a drought year, per land type, as a ratio of the current use's harvest in that year: name,
#: unit, lowest, highest.  A land type it does not name keeps the use's normal-year ``retention``.
DROUGHT_RETENTION = ("drought_retention", "ratio of the drought year's current-use harvest", 0.0, 10.0)
#: The livelihood coefficients of a use (optional: a catalogue without them counts no work or income for the use):
#: name -> (unit, lowest, highest).
LIVELIHOOD_SCALARS: dict[str, tuple[str, float, float]] = {
    "construction_job_years_mwp": ("job-years/MWp", 0.0, 1e4),
    "operation_fte_mwp": ("FTE/MWp", 0.0, 1e3),
    "land_lease_usd_ha_yr": ("USD/ha/yr", 0.0, 1e7),
    "sales_share_to_community": ("share of PV sales", 0.0, 1.0),
    "pes_usd_ha_yr": ("USD/ha/yr", 0.0, 1e7),
}
#: The per-land-type labour of a use (optional, as the livelihood scalars): name, unit, lowest, highest.
LABOUR = ("labour_fte_ha_yr", "FTE/ha/yr", 0.0, 100.0)
#: The catalogue-level livelihood coefficients (optional): name -> (unit, lowest, highest).
LIVELIHOOD_GLOBALS: dict[str, tuple[str, float, float]] = {
    "carbon_price_usd_t_co2": ("USD/t CO2", 0.0, 1e5),
    "minigrid_fte_household": ("FTE/household served", 0.0, 10.0),
}
#: The value of a tonne of harvest, per land type (a catalogue-level table, for the net-benefit objective).
HARVEST_VALUE = ("harvest_value_usd_t", "USD/t DM", 0.0, 1e6)
#: The land-cover transition matrix of a catalogue that names none.
DEFAULT_MATRIX = "trends_earth_unccd"


@dataclass(frozen=True, eq=False)
class LandUse:
    """One land-use option; per-land-type tables are arrays over :data:`LAND_TYPES`."""

    name: str
    label: str
    description: str
    density_mwp_ha: float
    capex_usd_ha: float
    capex_usd_mwp: float
    max_slope_deg: float
    lifetime_years: float
    opex_usd_mwp_yr: float
    opex_usd_ha_yr: float
    allowed_land_types: tuple[str, ...]
    allowed_in_protected: bool
    response: str  # place in the LDN response hierarchy, one of LDN_RESPONSES
    retention: np.ndarray
    npp_change: np.ndarray
    soc_rate_t_ha_yr: np.ndarray
    cover: np.ndarray  # land-type code of the cover left behind, per land type
    sources: dict[str, str] = field(default_factory=dict)
    drought_retention: np.ndarray | None = None  # per land type; None: the normal-year retention

    @property
    def drought_retention_or_normal(self) -> np.ndarray:
        """Per land type, the use's harvest ratio in a drought year (its ``retention`` where none is given)."""
        return self.retention if self.drought_retention is None else self.drought_retention
    labour_fte_ha_yr: np.ndarray = field(default_factory=lambda: np.zeros(len(LAND_TYPES)))
    construction_job_years_mwp: float = 0.0
    operation_fte_mwp: float = 0.0
    land_lease_usd_ha_yr: float = 0.0
    sales_share_to_community: float = 0.0
    pes_usd_ha_yr: float = 0.0

    @property
    def allowed(self) -> np.ndarray:
        """Boolean array over land types: may this use go on that land type?"""
        return np.isin(np.array(LAND_TYPES), self.allowed_land_types)


@dataclass(frozen=True, eq=False)
class Catalogue:
    """The land uses (in :data:`USES` order) and the LDN land-cover transition matrix.

    ``land_cover_matrix`` names the matrix: a file of ``models/transitions/``
    (:func:`named_matrix`), or ``"inline"`` for a table in the catalogue itself;
    ``matrix_source`` says where its cells come from.  ``harvest_value_usd_t``
    is the value of a tonne of harvest per land type [USD/t DM] (used by the
    net-benefit objective), ``harvest_value_source`` where it comes from.
    """

    uses: tuple[LandUse, ...]
    land_cover_transition: np.ndarray  # int8 [from land type, to land type]
    land_cover_matrix: str
    matrix_source: str
    name: str
    version: str
    path: str
    sha256: str
    harvest_value_usd_t: np.ndarray = field(default_factory=lambda: np.zeros(len(LAND_TYPES)))
    harvest_value_source: str = ""
    carbon_price_usd_t_co2: float = 0.0
    minigrid_fte_household: float = 0.0
    livelihood_sources: dict[str, str] = field(default_factory=dict)

    def use(self, name: str) -> LandUse:
        return self.uses[USES.index(name)]

    def to_dict(self) -> dict[str, Any]:
        """The catalogue as plain data (for ``dualuse catalogue --json`` and reports)."""
        return {
            "name": self.name, "version": self.version, "path": self.path, "sha256": self.sha256,
            "land_cover_matrix": self.land_cover_matrix, "matrix_source": self.matrix_source,
            HARVEST_VALUE[0]: dict(zip(LAND_TYPES, self.harvest_value_usd_t.tolist())),
            "harvest_value_source": self.harvest_value_source,
            **{k: getattr(self, k) for k in LIVELIHOOD_GLOBALS},
            "livelihood_sources": self.livelihood_sources,
            "land_cover_transition": {t: dict(zip(LAND_TYPES, row)) for t, row in
                                      zip(LAND_TYPES, self.land_cover_transition.tolist())},
            "uses": {u.name: {
                "label": u.label, **{k: getattr(u, k) for k in SCALARS}, **{k: getattr(u, k) for k in FLAGS},
                "response": u.response,
                "allowed_land_types": list(u.allowed_land_types),
                **{k: dict(zip(LAND_TYPES, getattr(u, k).tolist())) for k in TABLES},
                **{k: getattr(u, k) for k in LIVELIHOOD_SCALARS},
                LABOUR[0]: dict(zip(LAND_TYPES, u.labour_fte_ha_yr.tolist())),
                "cover": dict(zip(LAND_TYPES, (LAND_TYPES[c] for c in u.cover))),
                DROUGHT_RETENTION[0]: dict(zip(LAND_TYPES, u.drought_retention_or_normal.tolist())),
                "sources": u.sources,
            } for u in self.uses},
        }


def default_catalogue_path() -> Path:
    """The catalogue shipped with dualuse."""
    return Path(str(resources.files("dualuse.models").joinpath("landuses.toml")))


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load and check a land-use catalogue (the default one when ``path`` is None)."""
    path = Path(path) if path is not None else default_catalogue_path()
    where = str(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the catalogue ({exc.strerror})", path=where,
                         fix="give an existing TOML file with --catalogue") from None
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"is not valid TOML ({exc})", path=where, fix="correct the TOML syntax") from None

    uses_raw = raw.get("uses", {})
    missing = [u for u in USES if u not in uses_raw]
    extra = [u for u in uses_raw if u not in USES]
    if missing or extra:
        raise InputError(f"the catalogue must define exactly the uses {', '.join(USES)} "
                         f"(missing: {', '.join(missing) or 'none'}; unknown: {', '.join(extra) or 'none'})",
                         path=where, column="uses", fix="add or rename the [uses.NAME] tables")
    uses = tuple(_load_use(name, uses_raw[name], where) for name in USES)
    matrix = raw.get("land_cover_transition", DEFAULT_MATRIX)
    if isinstance(matrix, str):
        transition, source = named_matrix(matrix, where)
    else:
        transition, source = _load_transition(matrix, where), str(raw.get("land_cover_transition_source", ""))
        matrix = "inline"
    key, unit, lo, hi = HARVEST_VALUE
    harvest_value = _per_land_type(raw.get(key), lo, hi, lambda p: InputError(
        p, path=where, column=key, fix=f"give {key} [{unit}] as {{ default = <number>, <land type> = <number> }}"))
    livelihood = {name: _optional_number(raw, name, unit, lo, hi, lambda problem, fix, name=name: InputError(
        problem, path=where, column=name, fix=fix)) for name, (unit, lo, hi) in LIVELIHOOD_GLOBALS.items()}
    livelihood_sources = {name: str(raw[f"{name}_source"]) for name in LIVELIHOOD_GLOBALS if f"{name}_source" in raw}
    return Catalogue(harvest_value_usd_t=harvest_value, harvest_value_source=str(raw.get(f"{key}_source", "")),
                     livelihood_sources=livelihood_sources, **livelihood,
                     uses=uses, land_cover_transition=transition, land_cover_matrix=matrix, matrix_source=source,
                     name=str(raw.get("catalogue", path.stem)), version=str(raw.get("version", "")), path=where,
                     sha256=hashlib.sha256(raw_bytes).hexdigest())


def matrix_names() -> tuple[str, ...]:
    """The land-cover transition matrices shipped in ``models/transitions/``."""
    folder = resources.files("dualuse.models").joinpath("transitions")
    return tuple(sorted(Path(str(f)).stem for f in folder.iterdir() if str(f).endswith(".toml")))


def transition_matrix(catalogue: Catalogue, choice: str = "catalogue") -> np.ndarray:
    """The land-cover transition matrix a scenario's ``land_cover_matrix`` chooses: the catalogue's own
    (``"catalogue"``) or a shipped one by name."""
    return catalogue.land_cover_transition if choice == "catalogue" else named_matrix(choice)[0]


def named_matrix(name: str, where: str = "catalogue") -> tuple[np.ndarray, str]:
    """A shipped land-cover transition matrix by name: its cells [from, to] and its source."""
    if name not in matrix_names():
        raise InputError(f"names the land-cover matrix {name!r}, which is not one of {', '.join(matrix_names())}",
                         path=where, column="land_cover_transition",
                         fix="name a shipped matrix, or give the matrix itself as a [land_cover_transition] table")
    file = Path(str(resources.files("dualuse.models").joinpath("transitions", f"{name}.toml")))
    raw = tomllib.loads(file.read_text(encoding="utf-8"))
    return _load_transition(raw.get("land_cover_transition"), str(file)), str(raw.get("source", ""))


def _load_use(name: str, raw: dict[str, Any], where: str) -> LandUse:
    def fail(key: str, problem: str, fix: str) -> InputError:
        return InputError(problem, path=where, column=f"uses.{name}.{key}", fix=fix)

    values: dict[str, Any] = {}
    for key, (unit, lo, hi) in SCALARS.items():
        value = raw.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not lo <= value <= hi:
            raise fail(key, f"must be a number from {lo:g} to {hi:g} [{unit}], got {value!r}",
                       f"set {key} = <number in {unit}>")
        values[key] = float(value)
    for key in FLAGS:
        value = raw.get(key)
        if not isinstance(value, bool):
            raise fail(key, f"must be true or false, got {value!r}", f"set {key} = true or false")
        values[key] = value
    response = raw.get("response")
    if response not in LDN_RESPONSES:
        raise fail("response", f"must be one of {', '.join(LDN_RESPONSES)} (the use's place in the LDN response "
                   f"hierarchy), got {response!r}",
                   'set response = "reverse" (restoration: creates gains), "reduce" or "avoid" (halts decline, '
                   'no gains) or "none"')
    values["response"] = response
    allowed = raw.get("allowed_land_types")
    if not isinstance(allowed, list) or not all(isinstance(a, str) and a in LAND_TYPES for a in allowed):
        raise fail("allowed_land_types", f"must be a list of land types, got {allowed!r}",
                   "list some of " + ", ".join(LAND_TYPES))
    if name == "current":
        allowed = list(LAND_TYPES)  # keeping the current use is always possible
    for key, (unit, lo, hi) in TABLES.items():
        values[key] = _per_land_type(raw.get(key), lo, hi, lambda p: fail(key, p, f"give {key} [{unit}] as "
                                     "{ default = <number>, <land type> = <number>, ... }"))
    values[DROUGHT_RETENTION[0]] = _drought_retention(raw.get(DROUGHT_RETENTION[0]), values["retention"],
                                                      lambda p: fail(DROUGHT_RETENTION[0], p, "give "
                                                      f"{DROUGHT_RETENTION[0]} [{DROUGHT_RETENTION[1]}] as "
                                                      "{ <land type> = <number>, ... } (default: retention)"))
    codes = _cover_codes(raw.get("cover", {"default": "same"}), lambda p: fail(
        "cover", p, 'give cover = { default = "same" | <land type>, <land type> = ... }'))
    for key, (unit, lo, hi) in LIVELIHOOD_SCALARS.items():
        values[key] = _optional_number(raw, key, unit, lo, hi, lambda problem, fix, key=key: fail(key, problem, fix))
    labour, unit, lo, hi = LABOUR
    values[labour] = (np.zeros(len(LAND_TYPES)) if labour not in raw else _per_land_type(
        raw[labour], lo, hi, lambda p: fail(labour, p, f"give {labour} [{unit}] as "
                                            "{ default = <number>, <land type> = <number>, ... }")))
    sources = raw.get("sources", {})
    return LandUse(name=name, label=str(raw.get("label", name)), description=str(raw.get("description", "")),
                   allowed_land_types=tuple(allowed), cover=codes,
                   sources={str(k): str(v) for k, v in sources.items()}, **values)


def _cover_codes(cover: Any, cover_fail: Any) -> np.ndarray:
    """A use's land cover at the horizon per land type, as land-type codes ("same" keeps the land type)."""
    if not isinstance(cover, dict) or "default" not in cover:
        raise cover_fail(f"must be a table with a default, got {cover!r}")
    codes = np.empty(len(LAND_TYPES), dtype=np.int8)
    for t, land_type in enumerate(LAND_TYPES):
        target = cover.get(land_type, cover["default"])
        if target == "same":
            codes[t] = t
        elif target in LAND_TYPES:
            codes[t] = LAND_TYPES.index(target)
        else:
            raise cover_fail(f"{target!r} is neither 'same' nor a land type")
    unknown = set(cover) - set(LAND_TYPES) - {"default"}
    if unknown:
        raise cover_fail(f"unknown land types {sorted(unknown)}")
    return codes


def _drought_retention(raw: Any, retention: np.ndarray, fail: Any) -> np.ndarray | None:
    """The drought-year harvest ratio per land type: the table's value, its ``default``, else the normal
    retention of the land type; None when the use gives none."""
    if raw is None:
        return None
    _, lo, hi = DROUGHT_RETENTION[1:]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = {"default": raw}
    if not isinstance(raw, dict):
        raise fail(f"must be a number or a table by land type, got {raw!r}")
    unknown = set(raw) - set(LAND_TYPES) - {"default"}
    if unknown:
        raise fail(f"unknown land types {sorted(unknown)}")
    normal = dict(zip(LAND_TYPES, retention.tolist()))
    table = {"default": 0.0, **{t: raw.get(t, raw.get("default", normal[t])) for t in LAND_TYPES}}
    return _per_land_type(table, lo, hi, fail)


def _optional_number(raw: dict[str, Any], key: str, unit: str, lo: float, hi: float, fail: Any) -> float:
    """An optional number of a catalogue table: 0 when absent, else checked against its range."""
    if key not in raw:
        return 0.0
    value = raw[key]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not lo <= value <= hi:
        raise fail(f"must be a number from {lo:g} to {hi:g} [{unit}], got {value!r}", f"set {key} = <number in {unit}>")
    return float(value)


def _per_land_type(raw: Any, lo: float, hi: float, fail: Any) -> np.ndarray:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = {"default": raw}
    if not isinstance(raw, dict) or "default" not in raw:
        raise fail(f"must be a number or a table with a default, got {raw!r}")
    unknown = set(raw) - set(LAND_TYPES) - {"default"}
    if unknown:
        raise fail(f"unknown land types {sorted(unknown)}")
    out = np.array([raw.get(t, raw["default"]) for t in LAND_TYPES], dtype=object)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi for v in out):
        raise fail(f"values must be numbers from {lo:g} to {hi:g}")
    return out.astype(float)


def _load_transition(raw: Any, where: str) -> np.ndarray:
    fail = InputError("must have one row per land type, each a list of 8 values in -1, 0, 1 "
                      f"(columns in the order {', '.join(LAND_TYPES)})", path=where,
                      column="land_cover_transition", fix="complete the [land_cover_transition] table")
    if not isinstance(raw, dict) or set(raw) != set(LAND_TYPES):
        raise fail
    rows = [raw[t] for t in LAND_TYPES]
    if not all(isinstance(r, list) and len(r) == len(LAND_TYPES) and all(v in (-1, 0, 1) for v in r)
               for r in rows):
        raise fail
    matrix = np.array(rows, dtype=np.int8)
    if np.any(np.diag(matrix) != 0):
        raise InputError("a land type kept as it is must be stable (0 on the diagonal)", path=where,
                         column="land_cover_transition", fix="set the diagonal to 0")
    return matrix
