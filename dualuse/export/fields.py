"""What every field of the files dualuse writes is called for a reader, and in which unit.

One table per layer or table: field name → :class:`Field` (alias, unit,
description).  The QGIS styles (``<aliases>`` in ``layer_styles``), the
GeoPackage ``gpkg_data_columns`` table and the report's labels are all read
from here, so a new column gets its alias everywhere by one line in the
table of its layer.  Input columns take their unit and meaning from the
input schema (:data:`~dualuse.inputs.schema.PARCEL_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dualuse.inputs.schema import COMMUNITY_COLUMNS, PARCEL_COLUMNS
from dualuse.palette import USE_LABELS
from dualuse.vocabulary import LAND_TYPES, USES

#: Units that say nothing a reader needs beside the alias (a text, a flag, a unit-free id).
_SILENT_UNITS = ("", "—", "-", "text", "bool")


@dataclass(frozen=True)
class Field:
    """One field as a reader sees it.

    Attributes
    ----------
    alias : str — a short readable name, without the unit
    unit : str — the unit ("" for text and unit-free fields)
    description : str — one sentence: what the field holds
    """

    alias: str
    unit: str
    description: str

    @property
    def title(self) -> str:
        """The alias with its unit in brackets, as QGIS shows it in the attribute table and the report in a
        column head: ``Installed PV [MWp]``."""
        return f"{self.alias} [{self.unit}]" if self.unit not in _SILENT_UNITS else self.alias


def _input(name: str, unit: str, meaning: str) -> Field:
    """An input column's field: its alias is the schema meaning's first phrase."""
    alias = meaning
    for stop in (":", ";", ",", " ("):
        alias = alias.split(stop)[0]
    return Field(_IDS.get(name, alias[:1].upper() + alias[1:]), unit, meaning)


#: The aliases of input columns whose meaning's first phrase is not a good one.
_IDS = {"parcel_id": "Parcel", "community_id": "Community", "mtf_tier": "MTF tier"}

#: The input columns of a region, from the input schema, and those ``dualuse prepare`` adds beside them.
INPUT_FIELDS: dict[str, Field] = {
    **{c.name: _input(c.name, c.unit, c.meaning) for c in PARCEL_COLUMNS},
    "degraded_share": Field("Degraded share", "share", "share of the parcel's pixels degraded at baseline"),
    "protected_share": Field("Protected share", "share", "share of the parcel inside a protected area"),
}

#: The columns the plan layer adds to the input's (:meth:`dualuse.plan.Plan.parcel_values`).
PLAN_FIELDS: dict[str, Field] = {
    "area_ha": Field("Area", "ha", "parcel area, measured in an equal-area CRS"),
    "use": Field("Dominant use", "", "the use with the largest share of the parcel: " + ", ".join(USES)),
    **{f"share_{u}": Field(f"Share: {USE_LABELS[u]}", "share", f"share of the parcel under {u} (0–1)")
       for u in USES},
    "capacity_mwp": Field("Installed PV", "MWp", "PV capacity installed on the parcel, solar and agrivoltaics"),
    "energy_mwh": Field("PV generation", "MWh/yr", "yearly generation of the parcel's PV"),
    "productivity_t": Field("Harvest", "t DM/yr", "crop or forage harvest of the parcel with the plan"),
    "ldn_class": Field("LDN status at the horizon", "class 1–7",
                       "7-class LDN status of the dominant use at the horizon (1–2 loss, 6–7 gain)"),
    "sdg_status": Field("SDG 15.3.1 status", "−1, 0, 1",
                        "SDG 15.3.1 status of the dominant use at the horizon: degraded, stable, improving"),
    "ldn_gain_ha": Field("Counterbalancing gain", "ha", "hectares of the parcel that are LDN gains at the horizon"),
    "ldn_loss_ha": Field("Counterbalancing loss", "ha", "hectares of the parcel that are LDN losses at the horizon"),
    "sdg_degraded_ha": Field("SDG 15.3.1 degraded", "ha",
                             "hectares of the parcel that are SDG 15.3.1 degraded land at the horizon"),
    "soc_change_t": Field("Soil carbon change", "t C", "change of soil organic carbon over the horizon"),
    "cost_usd": Field("Cost", "USD", "capital cost of the parcel's uses, grid connection included"),
}

#: The communities layer of a plan (:meth:`dualuse.plan.Plan.community_values`).
COMMUNITY_FIELDS: dict[str, Field] = {
    **{c.name: _input(c.name, c.unit, c.meaning) for c in COMMUNITY_COLUMNS},
    "population": Field("Population", "people", "people in the community's settlements"),
    "settlements": Field("Settlements", "settlements", "settlements merged into the community"),
    "demand_mwh": Field("Demand of unserved households", "MWh/yr",
                        "yearly electricity demand of the households without electricity"),
    "served_mwh": Field("Delivered", "MWh/yr", "electricity the plan delivers to the community each year"),
    "households_served": Field("Households gaining access", "households",
                               "households the delivered electricity serves at their demand"),
    "access_share": Field("Demand met", "share", "delivered over the unserved households' demand (0–1)"),
}

#: The ``summary`` table of a plan.
SUMMARY_FIELDS: dict[str, Field] = {
    "kpi": Field("Indicator", "", "name of the KPI, shadow price or break-even"),
    "unit": Field("Unit", "", "unit of the values in the row"),
    "baseline": Field("Today", "", "value today: every parcel under its current use, nothing delivered"),
    "plan": Field("Plan", "", "value with the plan"),
    "meaning": Field("Meaning", "", "what the row measures"),
}

#: The ``ldn_balance`` table of a plan.
LDN_BALANCE_FIELDS: dict[str, Field] = {
    "ldn_baseline": Field("Baseline assumption", "", "stable (the baseline status holds) or persist (baseline "
                          "trends recur to the horizon)"),
    "land_type": Field("Land type", "", "LDN land type"),
    "area_ha": Field("Area", "ha", "land area of the land type"),
    "gains_ha": Field("Gains", "ha", "counterbalancing gains at the horizon"),
    "losses_ha": Field("Losses", "ha", "counterbalancing losses at the horizon"),
    "net_ha": Field("Net balance", "ha", "gains less losses"),
    "target_ha": Field("Target", "ha", "net balance the scenario's ldn_target asks for"),
    "in_constraint": Field("In the LDN constraint", "", "whether the land type is held to the target"),
    "meets_target": Field("Meets the target", "", "whether the net balance reaches the target"),
    "held_to": Field("Held to", "", "marks the rows of the scenario's own baseline assumption"),
}

#: Columns ``dualuse prepare`` adds to a region beside the input schema's: prefix → (alias, unit, meaning).
_PREPARED_PREFIXES: dict[str, tuple[str, str, str]] = {
    "lc_share_": ("Land-cover share: ", "share", "share of the parcel's land-cover pixels in the class "),
}
_PREPARED_SUFFIXES: dict[str, tuple[str, str, str]] = {
    "_coverage": ("Data coverage: ", "share", "share of the parcel that has data for "),
}


def field_for(name: str, table: dict[str, Field]) -> Field | None:
    """The field ``name`` of a layer described by ``table``: its own entry, an input column kept as
    ``input_<name>``, or a column ``dualuse prepare`` writes (``lc_share_<type>``, ``<column>_coverage``);
    None for a column dualuse knows nothing about (a user's own input column)."""
    if name in table:
        return table[name]
    if name in INPUT_FIELDS:
        return INPUT_FIELDS[name]
    if name.startswith("input_") and name[len("input_"):] in table:
        return Field(f"Input {name[len('input_'):]}", "", "the input's own column of this name, kept beside the "
                     "plan's column of the same name")
    for prefix, (alias, unit, meaning) in _PREPARED_PREFIXES.items():
        if name.startswith(prefix) and name[len(prefix):] in LAND_TYPES:
            return Field(alias + name[len(prefix):], unit, meaning + name[len(prefix):])
    for suffix, (alias, unit, meaning) in _PREPARED_SUFFIXES.items():
        base = name[:-len(suffix)] if name.endswith(suffix) else ""
        if base and (base in INPUT_FIELDS or base in table):
            known = INPUT_FIELDS.get(base) or table[base]
            return Field(alias + known.alias.lower(), unit, meaning + base)
    return None


def fields_of(columns: Iterable[str], table: dict[str, Field]) -> dict[str, Field]:
    """The known fields among ``columns``, in their order (see :func:`field_for`)."""
    out = {}
    for name in columns:
        found = field_for(str(name), table)
        if found is not None:
            out[str(name)] = found
    return out
