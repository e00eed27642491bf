"""The QGIS default style of the no-regret layer: a rule-based QML, stored in the GeoPackage's ``layer_styles``.

Each use gets two rules: the parcels that every plan gives to it, in the
use's full colour, and the parcels most plans give to it while the plans
disagree, in the same colour faded, so that "every good plan restores here"
reads at a glance as the solid patches of green.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from xml.sax.saxutils import quoteattr

from dualuse.export.qgis_style import write_style
from dualuse.palette import USE_COLOURS, USE_LABELS, rgb
from dualuse.vocabulary import STYLES_TABLE, USES

#: The value of ``no_regret_use`` where the plans do not all agree.
DIFFERS = "differs"
#: The opacity of a use's colour where it is only the most frequent use.
FADED_ALPHA = 0.35


def qml_no_regret() -> str:
    """A QGIS QML style: per use, one solid rule (every plan) and one faded rule (most plans, not all)."""
    rules, symbols = [], []
    for use in USES:
        label = USE_LABELS[use]
        for alpha, filter_, text in (
                (1.0, f"\"no_regret_use\" = '{use}'", f"{label}: every plan"),
                (FADED_ALPHA, f"\"no_regret_use\" = '{DIFFERS}' AND \"most_frequent_use\" = '{use}'",
                 f"{label}: most often, plans differ")):
            k = len(symbols)
            rules.append(f'      <rule key="rule{k}" symbol="{k}" label={quoteattr(text)} filter={quoteattr(filter_)}/>')
            symbols.append(_fill_symbol(k, USE_COLOURS[use], alpha))
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22.0" styleCategories="Symbology">\n'
        '  <renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">\n'
        '    <rules key="root">\n' + "\n".join(rules) + "\n    </rules>\n"
        "    <symbols>\n" + "\n".join(symbols) + "\n    </symbols>\n"
        "  </renderer-v2>\n"
        "  <layerGeometryType>2</layerGeometryType>\n"
        "</qgis>\n"
    )


def _fill_symbol(k: int, colour: str, alpha: float) -> str:
    """A simple fill symbol in ``colour`` at opacity ``alpha``, its properties both as ``<Option>`` maps
    (QGIS ≥ 3.26) and as legacy ``<prop>`` elements."""
    r, g, b = rgb(colour)
    props = {"color": f"{r},{g},{b},255", "style": "solid", "outline_color": "90,90,90,255",
             "outline_style": "solid", "outline_width": "0.1", "outline_width_unit": "MM", "joinstyle": "bevel"}
    options = "\n".join(f'            <Option name="{name}" value="{v}" type="QString"/>' for name, v in props.items())
    legacy = "\n".join(f'          <prop k="{name}" v="{v}"/>' for name, v in props.items())
    return (f'      <symbol type="fill" name="{k}" alpha="{alpha:g}" clip_to_extent="1" force_rhr="0">\n'
            f'        <layer class="SimpleFill" enabled="1" locked="0" pass="0">\n'
            f'          <Option type="Map">\n{options}\n          </Option>\n{legacy}\n'
            f'        </layer>\n      </symbol>')


def write_no_regret_style(path: str | os.PathLike[str], layer: str, geometry_column: str) -> None:
    """Store :func:`qml_no_regret` as the default QGIS style of ``layer``, described for what it shows."""
    write_style(path, layer, geometry_column, qml_no_regret(), name="dualuse no-regret")
    with contextlib.closing(sqlite3.connect(str(path))) as con, con:
        con.execute(f"UPDATE {STYLES_TABLE} SET description = ? WHERE f_table_name = ?",
                    ("Parcels by the use the plans agree on: solid where every plan agrees, faded where most do",
                     layer))
