"""``dualuse report``: the HTML report of a plan file or a sweep results folder."""

from __future__ import annotations

import click

from dualuse.cli.options import emit_json, want_json
from dualuse.errors import require_extra

_REPORT_EPILOG = """\b
Examples:
  dualuse report plan.gpkg                   (writes plan.html and plan_*.png beside it)
  dualuse report plan.gpkg -o ministry/plan.html
  dualuse report results/                    (a sweep: writes results/report.html)
"""


@click.command(epilog=_REPORT_EPILOG)
@click.argument("source", type=click.Path(path_type=str))
@click.option("-o", "--output", default=None,
              help="HTML file to write  [default: PLAN.html beside the plan, or RESULTS_DIR/report.html]")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def report(source: str, output: str | None, as_json: bool) -> None:
    """Write a self-contained HTML report (maps, LDN balance, access, trade-offs) of a plan file or a sweep
    results folder, with its figures as PNG files beside it."""
    want_json(as_json)
    require_extra("report", "dualuse report")
    from dualuse.report.html import write_report

    written = write_report(source, output)
    if as_json:
        emit_json({"html": str(written.html), "pngs": [str(p) for p in written.pngs], "timings": written.seconds})
        return
    click.echo(f"report written to {written.html}")
    for png in written.pngs:
        click.echo(f"  figure {png}")
