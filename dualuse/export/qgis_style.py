"""The QGIS default style of the plan layer: a categorised QML, stored in the GeoPackage's ``layer_styles``.

QGIS applies the style marked ``useAsDefault`` when the layer is opened, so a
plan shows one colour per use (:mod:`dualuse.palette`) without any set-up.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from xml.sax.saxutils import quoteattr

from dualuse.palette import USE_COLOURS, USE_LABELS, rgb
from dualuse.vocabulary import STYLES_TABLE


def qml_categorised(attribute: str, values: tuple[str, ...]) -> str:
    """A QGIS QML style: a categorised renderer on ``attribute``, one fill colour per use.

    Symbol properties are written both as ``<Option>`` maps (QGIS ≥ 3.26)
    and as legacy ``<prop>`` elements (older QGIS), so every QGIS 3 reads them.
    """
    categories = []
    symbols = []
    for k, value in enumerate(values):
        r, g, b = rgb(USE_COLOURS[value])
        colour = f"{r},{g},{b},255"
        categories.append(f'      <category value={quoteattr(value)} label={quoteattr(USE_LABELS[value])} '
                          f'symbol="{k}" render="true" type="string"/>')
        props = {"color": colour, "style": "solid", "outline_color": "90,90,90,255", "outline_style": "solid",
                 "outline_width": "0.1", "outline_width_unit": "MM", "joinstyle": "bevel"}
        options = "\n".join(f'            <Option name="{k2}" value="{v}" type="QString"/>' for k2, v in props.items())
        legacy = "\n".join(f'          <prop k="{k2}" v="{v}"/>' for k2, v in props.items())
        symbols.append(
            f'      <symbol type="fill" name="{k}" alpha="1" clip_to_extent="1" force_rhr="0">\n'
            f'        <layer class="SimpleFill" enabled="1" locked="0" pass="0">\n'
            f'          <Option type="Map">\n{options}\n          </Option>\n{legacy}\n'
            f'        </layer>\n      </symbol>')
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22.0" styleCategories="Symbology">\n'
        f'  <renderer-v2 type="categorizedSymbol" attr={quoteattr(attribute)} symbollevels="0" '
        'enableorderby="0" forceraster="0">\n'
        "    <categories>\n" + "\n".join(categories) + "\n    </categories>\n"
        "    <symbols>\n" + "\n".join(symbols) + "\n    </symbols>\n"
        "  </renderer-v2>\n"
        "  <layerGeometryType>2</layerGeometryType>\n"
        "</qgis>\n"
    )


def write_style(path: str | os.PathLike[str], layer: str, geometry_column: str, qml: str,
                name: str = "dualuse plan") -> None:
    """Store ``qml`` as the default QGIS style of ``layer`` in the GeoPackage's ``layer_styles`` table."""
    with contextlib.closing(sqlite3.connect(str(path))) as con, con:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {STYLES_TABLE} ("
            "id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256), "
            "f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, "
            "styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
            "update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))")
        con.execute(
            f"INSERT INTO {STYLES_TABLE} (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
            "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui) "
            "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', '')",
            (layer, geometry_column, name, qml, "Plan coloured by dominant land use"))
        exists = con.execute("SELECT 1 FROM gpkg_contents WHERE table_name = ?", (STYLES_TABLE,)).fetchone()
        if not exists:
            con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                        "VALUES (?, 'attributes', ?, 'QGIS layer styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                        (STYLES_TABLE, STYLES_TABLE))
