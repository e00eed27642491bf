"""``dualuse catalogue``: what a land-use catalogue holds — every coefficient with its unit and source,
the land-cover matrix and each use's LDN response."""

from __future__ import annotations

from typing import Any

import click

from dualuse.cli.options import emit_json, want_json

_EPILOG = """Examples:

\b
  dualuse catalogue                           the default catalogue, models/landuses.toml
  dualuse catalogue --catalogue national.toml
  dualuse catalogue --json | jq '.uses.solar'
"""


@click.command(epilog=_EPILOG)
@click.option("--catalogue", type=click.Path(dir_okay=False), default=None,
              help="land-use catalogue TOML  [default: models/landuses.toml]")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def catalogue(catalogue: str | None, as_json: bool) -> None:
    """Print a land-use catalogue: each use's coefficients with unit and source, its LDN response and covers,
    and the land-cover transition matrix."""
    from dualuse.inputs.catalogue import LABOUR, LIVELIHOOD_GLOBALS, LIVELIHOOD_SCALARS, SCALARS, TABLES, load_catalogue

    want_json(as_json)
    loaded = load_catalogue(catalogue)
    data = loaded.to_dict()
    data["units"] = {k: unit for k, (unit, _, _) in {**SCALARS, **TABLES, **LIVELIHOOD_SCALARS}.items()}
    data["units"][LABOUR[0]] = LABOUR[1]
    data["livelihood_units"] = {k: unit for k, (unit, _, _) in LIVELIHOOD_GLOBALS.items()}
    if as_json:
        emit_json(data, indent=2)
        return
    click.echo(_text(data))


def _text(data: dict[str, Any]) -> str:
    """The catalogue as text a planner reads: one block per use, then the matrix."""
    units = data["units"]
    lines = [f"{data['name']} (version {data['version']}), {data['path']}", f"sha256 {data['sha256']}", ""]
    for name, use in data["uses"].items():
        lines.append(f"{name}: {use['label']}")
        lines.append(f"  LDN response: {use['response']}; allowed on {', '.join(use['allowed_land_types'])}"
                     + ("; also on protected land" if use["allowed_in_protected"] else ""))
        for key, unit in units.items():
            value = use[key]
            shown = (f"{value:g}" if not isinstance(value, dict)
                     else ", ".join(f"{t} {v:g}" for t, v in value.items()))
            lines.append(f"  {key} [{unit}]: {shown}")
            if key in use["sources"]:
                lines.append(f"      source: {use['sources'][key]}")
        lines.append("  cover left behind: " + ", ".join(f"{t} -> {c}" for t, c in use["cover"].items() if t != c))
        for key in sorted(set(use["sources"]) - set(units)):
            lines.append(f"  {key}: {use['sources'][key]}")
        lines.append("")
    lines.append(f"land-cover transition matrix: {data['land_cover_matrix']} (-1 degradation, 0 stable, +1 "
                 "improvement; rows from, columns to)")
    if data["matrix_source"]:
        lines.append(f"  source: {data['matrix_source']}")
    types = list(data["land_cover_transition"])
    lines.append("  " + " " * 11 + "".join(f"{t[:6]:>7}" for t in types))
    for t, row in data["land_cover_transition"].items():
        lines.append(f"  {t:<11}" + "".join(f"{row[c]:>7d}" for c in types))
    for key, unit in data["livelihood_units"].items():
        lines.append(f"{key} [{unit}]: {data[key]:g}")
        if key in data["livelihood_sources"]:
            lines.append(f"  source: {data['livelihood_sources'][key]}")
    return "\n".join(lines)
