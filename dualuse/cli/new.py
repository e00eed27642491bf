"""``dualuse new``: commented templates of a scenario, a catalogue and a sweep file."""

from __future__ import annotations

from pathlib import Path

import click

from dualuse.errors import OutputError

_EPILOG = """\b
Examples:
  dualuse new scenario -o my_scenario.toml     # then: dualuse solve region.gpkg --scenario my_scenario.toml
  dualuse new catalogue -o my_landuses.toml    # then: dualuse solve region.gpkg --catalogue my_landuses.toml
  dualuse new sweep -o my_sweep.toml           # then: dualuse sweep region.gpkg my_sweep.toml -o results
  dualuse new scenario > my_scenario.toml
Each template loads as the defaults until you edit it.
"""


@click.command("new", epilog=_EPILOG)
@click.argument("kind", type=click.Choice(["scenario", "catalogue", "sweep"]))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="FILE",
              help="TOML file to write  [default: standard output]")
@click.option("--overwrite", is_flag=True, help="replace FILE if it exists")
def new(kind: str, output: str | None, overwrite: bool) -> None:
    """Write a commented TOML template of a scenario, a land-use catalogue or a sweep: every key with its
    unit, range and default."""
    from dualuse.files import atomic_write
    from dualuse.inputs.templates import catalogue_template, scenario_template
    from dualuse.studies.sweep_template import sweep_template

    text = {"scenario": scenario_template, "catalogue": catalogue_template, "sweep": sweep_template}[kind]()
    if output is None:
        click.echo(text, nl=False)
        return
    path = Path(output)
    if path.exists() and not overwrite:
        raise OutputError(f"output {path} exists; it is left untouched: give --overwrite to replace it, or "
                          "choose another -o FILE")
    if not path.resolve().parent.is_dir():
        raise OutputError(f"output folder {path.resolve().parent} does not exist; create it or choose another "
                          "-o FILE")
    atomic_write(path, text.encode("utf-8"))
    click.echo(f"{kind} template written to {path}", err=True)
