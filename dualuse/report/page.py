"""The pieces every report page is built of: the style sheet, escaped text, embedded figures, tables, cards,
and the self-contained page around them.

A page has no script, no stylesheet link and no network access: every
figure is embedded as a base64 PNG, shown at its print size.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from dualuse import __version__
from dualuse.report.figure import DPI, Figure
from dualuse.report.numbers import format_short
from dualuse.report.read import PLAN_STATUSES

#: Messages longer than this are cut short in a table (and given in full below it).
MESSAGE_CHARS = 60
#: Tables of more columns than this print in smaller type.
WIDE_COLUMNS = 8
#: The style sheet of every page.
CSS = """
:root { --ink:#222; --muted:#666; --line:#e2e4e8; --plan:#1f4e79; --ok:#1a9641; --bad:#c0392b; }
* { box-sizing: border-box; }
body { margin:0; background:#eef0f3; color:var(--ink);
  font: 15px/1.5 "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 24px auto; background:#fff; padding: 36px 48px 48px;
  box-shadow: 0 1px 3px rgba(0,0,0,.08); }
header { border-bottom: 3px solid var(--plan); padding-bottom: 14px; margin-bottom: 22px; }
h1 { font-size: 27px; margin: 0 0 4px; font-weight: 650; }
h2 { font-size: 20px; margin: 38px 0 10px; padding-bottom: 5px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
.sub { color: var(--muted); margin: 0; }
.cards { display:grid; grid-template-columns: repeat(3, 1fr); gap: 12px; margin: 18px 0 6px; }
.card { border:1px solid var(--line); border-left: 5px solid var(--plan); padding: 10px 14px; border-radius: 3px; }
.card .v { font-size: 24px; font-weight: 650; line-height: 1.2; }
.card .k { color: var(--muted); font-size: 13px; }
.card.ok { border-left-color: var(--ok); } .card.bad { border-left-color: var(--bad); }
figure { margin: 14px 0 8px; break-inside: avoid; }
figure img { display:block; max-width:100%; height:auto; border:1px solid var(--line); }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 10px 0; }
th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f5f6f8; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 650; border-top: 2px solid #bbb; }
.ok { color: var(--ok); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; }
.swatch { display:inline-block; width: 12px; height: 12px; border:1px solid #888; vertical-align: -1px;
  margin-right: 6px; }
ul.sentences li { margin: 6px 0; }
code, .mono { font-family: "DejaVu Sans Mono", Consolas, Menlo, monospace; font-size: 12.5px; word-break: break-all; }
.note { color: var(--muted); font-size: 13.5px; }
.changed { font-weight: 650; }
.scroll { overflow-x: auto; }
details summary { cursor: pointer; color: var(--plan); margin: 8px 0; }
@media print { details > *:not(summary) { display: block; } }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; border-top: 1px solid var(--line);
  padding-top: 10px; }
@media (max-width: 720px) { .cards { grid-template-columns: 1fr; } main { padding: 20px; } }
td:first-child code { white-space: nowrap; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { background: #fff; font-size: 10pt; }
  main { box-shadow: none; margin: 0; padding: 0; max-width: none; }
  h2, h3 { break-after: avoid; }
  .scroll { overflow: visible; }
  table { width: 100%; table-layout: auto; font-size: 8.5pt; break-inside: auto; }
  table.wide { font-size: 6.8pt; }
  table.wide th, table.wide td { padding: 2px 3px; }
  thead { display: table-header-group; }
  tr, .card, figure, li { break-inside: avoid; }
  th, td, td.num, th.num { white-space: normal; overflow-wrap: anywhere; }
  td:first-child code { white-space: normal; }
  figure img { max-width: 100%; height: auto; }
  a { color: inherit; text-decoration: none; }
}
"""
#: The print page of a page with wide tables (a sweep's scenarios): landscape.
LANDSCAPE_CSS = "@media print { @page { size: A4 landscape; margin: 12mm; } }"


def escape(value: Any) -> str:
    """Text safe inside HTML, quotes included."""
    return html.escape(str(value), quote=True)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG image [px], from its header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        return 0, 0
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def figure_html(figure: Figure, alt: str, caption: str, png_name: str, print_size: bool = True) -> str:
    """A figure embedded as base64 PNG, shown at its print size (CSS px at 96 per inch), at most the page's width.

    ``caption`` is HTML; the figure's legend (and the uses of a map) are kept in
    ``data-`` attributes, so that a browser test can read what was drawn.
    """
    data = base64.b64encode(figure.png).decode("ascii")
    width_px, height_px = png_size(figure.png)
    css_scale = 96.0 / DPI
    size = (f' width="{round(width_px * css_scale)}" height="{round(height_px * css_scale)}"'
            if width_px and print_size else "")
    legend = ";".join(figure.legend)
    uses = ",".join(figure.data.get("uses", []))
    extra = f' data-uses="{escape(uses)}"' if uses else ""
    return (f'<figure><img src="data:image/png;base64,{data}"{size} alt="{escape(alt)}" '
            f'data-figure="{escape(figure.name)}" data-legend="{escape(legend)}"{extra}>'
            f'<figcaption>{caption} <span class="mono">({escape(png_name)})</span></figcaption></figure>')


def table_html(header: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str]], total: bool = False,
               wide: bool = False) -> str:
    """A table of HTML cells; ``header`` gives each column's title and whether it is numeric (right-aligned);
    with ``total`` the last row is set apart as a total; a ``wide`` table prints in smaller type."""
    head = "".join(f'<th class="num">{escape(h)}</th>' if num else f"<th>{escape(h)}</th>" for h, num in header)
    body = []
    for k, row in enumerate(rows):
        cls = ' class="total"' if total and k == len(rows) - 1 else ""
        cells = "".join(f'<td class="num">{c}</td>' if num else f"<td>{c}</td>" for c, (_, num) in zip(row, header))
        body.append(f"<tr{cls}>{cells}</tr>")
    cls = ' class="wide"' if wide else ""
    return (f'<div class="scroll"><table{cls}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
            "</table></div>")


def frame_table_html(frame: pd.DataFrame, status: bool = False, headers: dict[str, str] | None = None) -> str:
    """A data frame as a table: numbers short, and with ``status`` the status coloured and long messages cut;
    ``headers`` gives a column's head (its label with unit) where it is not the column's name."""
    header = [(str(c), pd.api.types.is_numeric_dtype(frame[c])) for c in frame.columns]
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for (name, numeric), value in zip(header, record):
            if numeric:
                cells.append(format_short(value) if pd.notna(value) else "–")
            elif status and name == "status":
                ok = str(value).lower() in PLAN_STATUSES
                cells.append(f'<span class="{"ok" if ok else "bad"}">{escape(value)}</span>')
            elif status and name == "message" and pd.notna(value) and len(str(value)) > MESSAGE_CHARS:
                cells.append(escape(str(value)[:MESSAGE_CHARS - 3].rstrip() + "…") + " (below)")
            else:
                cells.append(escape(value) if pd.notna(value) else "")
        rows.append(cells)
    heads = [((headers or {}).get(name, name), numeric) for name, numeric in header]
    return table_html(heads, rows, wide=len(heads) > WIDE_COLUMNS)


def cards_html(cards: Sequence[tuple[str, str, str]]) -> str:
    """A row of cards, each (class: "", "ok" or "bad"; the value; what it counts)."""
    return '<div class="cards">' + "".join(
        f'<div class="card {cls}"><div class="v">{escape(value)}</div><div class="k">{escape(text)}</div></div>'
        for cls, value, text in cards) + "</div>"


def sentences_html(sentences: Sequence[str]) -> str:
    """A list of sentences, each item HTML."""
    return '<ul class="sentences">' + "".join(f"<li>{s}</li>" for s in sentences) + "</ul>"


def page_html(title: str, body: str, landscape: bool = False) -> str:
    """The whole page: head, style sheet, ``body`` and a footer saying what made it and when; ``landscape``
    prints it on landscape pages."""
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="dualuse {__version__}">\n<title>{escape(title)}</title>\n'
            f"<style>{CSS}{LANDSCAPE_CSS if landscape else ''}</style>\n</head>\n<body>\n<main>\n{body}\n"
            f"<footer>Made by dualuse {__version__} on {created}. This file is self-contained: its figures are "
            "embedded and it needs no network; the same figures are saved as PNG files beside it.</footer>\n"
            "</main>\n</body>\n</html>\n")
