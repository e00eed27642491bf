"""``dualuse report``: the HTML report of a plan file or a sweep results folder."""

from __future__ import annotations

from pathlib import Path

import click

from dualuse.cli.options import check_overwrite, common_options, emit_json, overwrite_option, want_json
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
@overwrite_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
@common_options
def report(source: str, output: str | None, overwrite: bool, as_json: bool) -> None:
    """Write a self-contained HTML report (maps, LDN balance, access, trade-offs) of a plan file or a sweep
    results folder, with its figures as PNG files beside it."""
    want_json(as_json)
    require_extra("report", "dualuse report")
    from dualuse.progress import stage
    from dualuse.report.html import write_report

    check_overwrite(output if output is not None else _default_html(source), overwrite)
    with stage("report", source):
        written = write_report(source, output)
    if as_json:
        emit_json({"html": str(written.html), "pngs": [str(p) for p in written.pngs], "timings": written.seconds})
        return
    click.echo(f"report written to {written.html}")
    for png in written.pngs:
        click.echo(f"  figure {png}")


def _default_html(source: str) -> Path:
    """Where the report goes without -o: PLAN.html beside a plan, RESULTS_DIR/report.html for a folder."""
    path = Path(source)
    return path / "report.html" if path.is_dir() else path.with_suffix(".html")
