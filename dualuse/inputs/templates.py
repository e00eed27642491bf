"""Commented TOML templates of a scenario and of a land-use catalogue (``dualuse new``).

Each template is written from the one declaration of what it holds — the
scenario from :data:`~dualuse.inputs.scenario.PARAMETERS`, the catalogue from
the coefficient tables of :mod:`dualuse.inputs.catalogue` with the values of
the bundled catalogue — so every key carries its unit, range and default as
a comment, and the file loads back as the defaults.
"""

from __future__ import annotations

import json
import math
from typing import Any

from dualuse.inputs.catalogue import (
    FLAGS,
    HARVEST_VALUE,
    SCALARS,
    TABLES,
    Catalogue,
    load_catalogue,
)
from dualuse.inputs.scenario import PARAMETERS, Parameter, load_scenario
from dualuse.vocabulary import LAND_TYPES, LDN_RESPONSES, USES

#: Width at which comment paragraphs are wrapped [characters].
WIDTH = 100


def toml_value(value: Any) -> str:
    """One value as TOML: a string, a bool, a number, or a list or inline table of them."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")


def comment(text: str, indent: str = "") -> list[str]:
    """``text`` as comment lines wrapped at :data:`WIDTH`."""
    lines, line = [], f"{indent}#"
    for word in text.split():
        if len(line) + 1 + len(word) > WIDTH and line != f"{indent}#":
            lines.append(line)
            line = f"{indent}#"
        line += " " + word
    return lines + [line]


def _parameter_lines(p: Parameter, value: Any) -> list[str]:
    default = toml_value(p.default if p.kind is not tuple else list(p.default))
    lines = comment(f"{p.name} [{p.unit}]: {p.help}.")
    lines += comment(f"range: {p.describe_range()}; default: {default}")
    if p.source:
        lines += comment(f"source: {p.source}")
    return lines + [f"{p.name} = {toml_value(value)}", ""]


def scenario_template() -> str:
    """A scenario file with every parameter at the value of the default scenario, each explained."""
    scenario = load_scenario()
    lines = comment("dualuse scenario: every parameter at its default value. Edit what the question needs "
                    "(or delete a line to keep its default) and pass the file with --scenario FILE; "
                    "`dualuse parameters` lists the same parameters.")
    lines.append("")
    for p in PARAMETERS:
        lines += _parameter_lines(p, getattr(scenario, p.name))
    return "\n".join(lines).rstrip() + "\n"


def _per_land_type(values: Any) -> dict[str, Any]:
    """A per-land-type array as a TOML table: the most common value as ``default``, the others by land type."""
    items = [v.item() if hasattr(v, "item") else v for v in values]
    default = max(items, key=items.count)
    return {"default": default, **{t: v for t, v in zip(LAND_TYPES, items) if v != default}}


def _use_lines(catalogue: Catalogue, name: str) -> list[str]:
    use = catalogue.use(name)
    lines = [f"[uses.{name}]", f"label = {toml_value(use.label)}", f"description = {toml_value(use.description)}"]
    for key, (unit, lo, hi) in SCALARS.items():
        lines += comment(f"[{unit}], {lo:g} … {hi:g}")
        lines.append(f"{key} = {toml_value(float(getattr(use, key)))}")
    lines += comment("land types where the use may go (the current use may go everywhere): "
                     + ", ".join(LAND_TYPES))
    lines.append(f"allowed_land_types = {toml_value(list(use.allowed_land_types))}")
    for key in FLAGS:
        lines += comment("true | false")
        lines.append(f"{key} = {toml_value(bool(getattr(use, key)))}")
    lines += comment(f"place in the LDN response hierarchy: {' | '.join(LDN_RESPONSES)}")
    lines.append(f"response = {toml_value(use.response)}")
    for key, (unit, lo, hi) in TABLES.items():
        lines += comment(f"[{unit}], {lo:g} … {hi:g}, per land type (a land type left out takes the default)")
        lines.append(f"{key} = {toml_value(_per_land_type(getattr(use, key)))}")
    lines += comment('land cover the use leaves behind, per land type: "same" or a land type')
    covers = [LAND_TYPES[c] if c != t else "same" for t, c in enumerate(use.cover.tolist())]
    lines.append(f"cover = {toml_value(_per_land_type(covers))}")
    lines += ["", f"[uses.{name}.sources]"]
    lines += [f"{key} = {toml_value(text)}" for key, text in use.sources.items()]
    return lines + [""]


def catalogue_template() -> str:
    """A catalogue file with the bundled catalogue's values, each key with its unit and range."""
    catalogue = load_catalogue()
    key, unit, lo, hi = HARVEST_VALUE
    lines = comment("dualuse land-use catalogue: the bundled values, every coefficient with its unit and "
                    "allowed range. Edit the figures for your region (and say where each comes from in the "
                    "use's sources table), then pass the file with --catalogue FILE; `dualuse catalogue` "
                    "prints what is loaded. Per-land-type tables are keyed by the land types "
                    + ", ".join(LAND_TYPES) + "; a land type left out takes the table's default.")
    lines += ["", f"catalogue = {toml_value(catalogue.name)}", f"version = {toml_value(catalogue.version)}", ""]
    lines += comment("LDN land-cover indicator: a shipped transition matrix by name, or a "
                     "[land_cover_transition] table with one row per land type (columns in the order "
                     + ", ".join(LAND_TYPES) + "; -1 degradation, 0 stable, +1 improvement; diagonal 0) "
                     "and land_cover_transition_source saying where it comes from")
    if catalogue.land_cover_matrix == "inline":
        lines.append("land_cover_transition_source = " + toml_value(catalogue.matrix_source))
        matrix = {t: row for t, row in zip(LAND_TYPES, catalogue.land_cover_transition.tolist())}
    else:
        lines.append(f"land_cover_transition = {toml_value(catalogue.land_cover_matrix)}")
        matrix = None
    lines += [""] + comment(f"value of a tonne of harvest [{unit}], {lo:g} … {hi:g}, per land type "
                            "(the net-benefit objective)")
    lines.append(f"{key} = {toml_value(_per_land_type(catalogue.harvest_value_usd_t))}")
    lines += [f"{key}_source = {toml_value(catalogue.harvest_value_source)}", ""]
    for name in USES:
        lines += _use_lines(catalogue, name)
    if matrix is not None:
        lines += ["[land_cover_transition]"] + [f"{t} = {toml_value(row)}" for t, row in matrix.items()] + [""]
    return "\n".join(lines).rstrip() + "\n"
