"""The QGIS default styles of the layers dualuse writes: QML documents stored in the GeoPackage's ``layer_styles``.

QGIS applies the style marked ``useAsDefault`` when a layer is opened.  The
plan layer gets a rule-based renderer: a fill per dominant use, and over it a
hatch with a dark outline on every parcel with PV on at least
:data:`~dualuse.palette.PV_SHARE_SHOWN` of its area, whatever its dominant use,
drawn in a second symbol-level pass so that no neighbour's fill covers it.
The communities layer shows how much of each community's demand the plan
meets; a region's parcels are coloured by land type.  Every style carries the
field aliases with units (``<aliases>``) of :mod:`dualuse.export.fields`.

Symbol properties are written both as ``<Option>`` maps (QGIS ≥ 3.26) and as
legacy ``<prop>`` elements (older QGIS 3), as QGIS itself writes them.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

from dualuse.export.fields import Field, fields_of
from dualuse.palette import (
    LAND_TYPE_COLOURS,
    LAND_TYPE_LABELS,
    PV_SHARE_SHOWN,
    PV_USES,
    USE_COLOURS,
    USE_LABELS,
    rgb,
)
from dualuse.vocabulary import LAND_TYPES, STYLES_TABLE, USES

#: The QGIS version the documents declare; every element is one QGIS 3.22 and later reads.
QGIS_VERSION = "3.22.0"
#: ``layerGeometryType`` of a QML: QgsWkbTypes.GeometryType.
GEOMETRY_TYPES = {"point": 0, "line": 1, "polygon": 2, "none": 4}
OUTLINE = "90,90,90,255"
INK = "34,34,34,255"
WHITE = "255,255,255,255"
#: The communities' classes of demand met: (lower bound of ``access_share``, upper bound, label, fill colour).
ACCESS_CLASSES: tuple[tuple[float, float, str, str], ...] = (
    (-1.0, 0.005, "No access gained", "#ffffff"),
    (0.005, 0.5, "Under half of the demand met", "#9ecae1"),
    (0.5, 0.995, "Half or more of the demand met", "#4292c6"),
    (0.995, 2.0, "All demand met", "#08306b"),
)


def _colour(hex_colour: str) -> str:
    r, g, b = rgb(hex_colour)
    return f"{r},{g},{b},255"


def _key(*parts: str) -> str:
    """A stable rule key: the same style document for the same inputs."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "dualuse:" + ":".join(parts))) + "}"


def symbol_layer(cls: str, props: dict[str, str], rendering_pass: int = 0, inner: str = "") -> str:
    """One ``<layer>`` of a symbol: its class (``SimpleFill``, ``LinePatternFill``, ``SimpleLine``,
    ``SimpleMarker``), its properties, the symbol-level pass it is drawn in, and an inner sub-symbol."""
    options = "".join(f'<Option name={quoteattr(k)} value={quoteattr(v)} type="QString"/>' for k, v in props.items())
    legacy = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return (f'<layer class="{cls}" enabled="1" locked="0" pass="{rendering_pass}">'
            f'<Option type="Map">{options}</Option>{legacy}{inner}</layer>')


def symbol(kind: str, name: str, layers: Sequence[str]) -> str:
    """A ``<symbol>`` of ``kind`` (fill, line, marker) named ``name``, of the given layers."""
    return (f'<symbol type="{kind}" name={quoteattr(name)} alpha="1" clip_to_extent="1" force_rhr="0">'
            + "".join(layers) + "</symbol>")


def simple_fill(colour: str, outline: str = OUTLINE, outline_width_mm: float = 0.1, style: str = "solid",
                rendering_pass: int = 0) -> str:
    """A solid (or empty, ``style="no"``) fill with an outline."""
    return symbol_layer("SimpleFill", {
        "color": colour, "style": style, "outline_color": outline, "outline_style": "solid",
        "outline_width": f"{outline_width_mm:g}", "outline_width_unit": "MM", "joinstyle": "bevel",
        "offset": "0,0", "offset_unit": "MM"}, rendering_pass)


def line(colour: str, width_mm: float, rendering_pass: int = 0, inside: bool = False) -> str:
    """A solid line; ``inside`` draws a polygon's outline inside it only."""
    return symbol_layer("SimpleLine", {
        "line_color": colour, "line_style": "solid", "line_width": f"{width_mm:g}", "line_width_unit": "MM",
        "capstyle": "square", "joinstyle": "bevel", "draw_inside_polygon": "1" if inside else "0",
        "offset": "0", "offset_unit": "MM"}, rendering_pass)


def hatch(parent: str, index: int, angle_deg: float, distance_mm: float, rendering_pass: int) -> str:
    """Diagonal hatching: dark lines cased in white, visible over light and dark fills alike."""
    lines = symbol("line", f"@{parent}@{index}", [line(WHITE, 0.7, rendering_pass), line(INK, 0.3, rendering_pass)])
    return symbol_layer("LinePatternFill", {
        "angle": f"{angle_deg:g}", "distance": f"{distance_mm:g}", "distance_unit": "MM", "color": INK,
        "line_width": "0.3", "line_width_unit": "MM", "offset": "0", "offset_unit": "MM",
        "coordinate_reference": "feature", "clip_mode": "during_render"}, rendering_pass, lines)


def aliases_xml(fields: dict[str, Field], columns: Sequence[str]) -> str:
    """The ``<aliases>`` of a layer with ``columns`` (in their order): each known column's title with its unit."""
    items = [f'<alias field={quoteattr(c)} index="{k}" name={quoteattr(fields[c].title)}/>'
             for k, c in enumerate(columns) if c in fields]
    return "<aliases>" + "".join(items) + "</aliases>"


def qml_document(body: str, geometry: str, categories: str = "Symbology|Labeling|Fields") -> str:
    """A QGIS style document around ``body`` (renderer, labeling, aliases)."""
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="{QGIS_VERSION}" styleCategories="{categories}"'
            f'{" labelsEnabled=" + chr(34) + "1" + chr(34) if "<labeling" in body else ""}>\n'
            f"{body}\n<layerGeometryType>{GEOMETRY_TYPES[geometry]}</layerGeometryType>\n</qgis>\n")


def rule(layer: str, label: str, expression: str, symbol_name: str) -> str:
    """One rule of a rule-based renderer: features where ``expression`` holds get the symbol ``symbol_name``."""
    return (f"<rule key={quoteattr(_key(layer, label))} filter={quoteattr(expression)} label={quoteattr(label)} "
            f'symbol="{symbol_name}"/>')


def rule_renderer(layer: str, rules: Sequence[tuple[str, str, str]], symbol_levels: bool = False) -> str:
    """A rule-based renderer from (label, expression, symbol XML named by its index) triples: every rule whose
    expression holds draws its symbol, in order."""
    rule_xml = "".join(rule(layer, label, expression, str(k)) for k, (label, expression, _) in enumerate(rules))
    return (f'<renderer-v2 type="RuleRenderer" symbollevels="{int(symbol_levels)}" enableorderby="0" '
            f'forceraster="0" referencescale="-1">'
            f"<rules key={quoteattr(_key(layer, 'root'))}>{rule_xml}</rules>"
            "<symbols>" + "".join(s for _, _, s in rules) + "</symbols></renderer-v2>")


def pv_expression() -> str:
    """The QGIS expression of a parcel with PV shown: the shares of the PV uses add up to at least
    :data:`~dualuse.palette.PV_SHARE_SHOWN`."""
    return " + ".join(f'"share_{u}"' for u in PV_USES) + f" >= {PV_SHARE_SHOWN:g}"


def pv_label() -> str:
    """The PV overlay's legend entry."""
    return f"PV panels (hatched): solar or agrivoltaics on at least {PV_SHARE_SHOWN:.1%} of the parcel"


def plan_qml(columns: Sequence[str], fields: dict[str, Field]) -> str:
    """The plan layer's style: a fill per dominant use, PV hatched over any use, aliases of ``columns``.

    The fills are drawn in symbol-level pass 0, the PV hatch and outline in
    pass 1, so the hatch of a parcel is never covered by its neighbours.
    """
    rules = [(USE_LABELS[u], f"\"use\" = '{u}'", symbol("fill", str(k), [simple_fill(_colour(USE_COLOURS[u]))]))
             for k, u in enumerate(USES)]
    pv = str(len(rules))
    rules.append((pv_label(), pv_expression(), symbol("fill", pv, [
        hatch(pv, 0, 45.0, 1.6, 1), line(INK, 0.6, 1, inside=True)])))
    body = rule_renderer("plan", rules, symbol_levels=True) + aliases_xml(fields_of(columns, fields), columns)
    return qml_document(body, "polygon")


def access_expression(lo: float, hi: float) -> str:
    """The QGIS expression of a community with demand whose ``access_share`` is in [lo, hi)."""
    return f'"demand_mwh" > 0 AND "access_share" >= {lo:g} AND "access_share" < {hi:g}'


def communities_qml(columns: Sequence[str], fields: dict[str, Field]) -> str:
    """The communities layer's style: a circle per community shaded by the share of its demand met (none,
    under half, half or more, all), hollow where it has no unserved demand, labelled by ``community_id``."""
    def marker(name: str, fill: str, outline: str = INK, outline_mm: float = 0.3) -> str:
        return symbol("marker", name, [symbol_layer("SimpleMarker", {
            "name": "circle", "color": fill, "outline_color": outline, "outline_style": "solid",
            "outline_width": f"{outline_mm:g}", "outline_width_unit": "MM", "size": "3.6", "size_unit": "MM",
            "angle": "0", "offset": "0,0", "offset_unit": "MM", "scale_method": "diameter",
            "horizontal_anchor_point": "1", "vertical_anchor_point": "1", "joinstyle": "bevel"})])

    rules = [(label, access_expression(lo, hi), marker(str(k), _colour(colour)))
             for k, (lo, hi, label, colour) in enumerate(ACCESS_CLASSES)]
    rules.append(("No unserved demand", 'NOT ("demand_mwh" > 0)',
                  marker(str(len(rules)), "0,0,0,0", "110,110,110,255", 0.4)))
    body = (rule_renderer("communities", rules) + _labeling("community_id")
            + aliases_xml(fields_of(columns, fields), columns))
    return qml_document(body, "point")


def _labeling(field: str) -> str:
    """Labels from ``field`` beside each point, with a white buffer."""
    return ('<labeling type="simple"><settings calloutType="simple">'
            f'<text-style fieldName={quoteattr(field)} isExpression="0" fontSize="8" fontSizeUnit="Point" '
            f'textColor="{INK}" textOpacity="1" namedStyle="Regular">'
            f'<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="{WHITE}" '
            'bufferOpacity="1"/></text-style>'
            '<placement placement="0" dist="1.2" distUnits="MM"/><rendering obstacle="1" scaleVisibility="0"/>'
            "</settings></labeling>")


def region_qml(columns: Sequence[str], fields: dict[str, Field]) -> str:
    """A region's parcels coloured by LDN land type, protected parcels outlined in green, aliases of
    ``columns``."""
    rules = [(LAND_TYPE_LABELS[t], f"lower(\"land_type\") = '{t}'",
              symbol("fill", str(k), [simple_fill(_colour(LAND_TYPE_COLOURS[t]))]))
             for k, t in enumerate(LAND_TYPES)]
    if "protected" in columns:
        rules.append(("Protected area (outlined)", '"protected" = 1',
                      symbol("fill", str(len(rules)), [line("20,112,47,255", 0.6, 1, inside=True)])))
    body = rule_renderer("parcels", rules, symbol_levels=True) + aliases_xml(fields_of(columns, fields), columns)
    return qml_document(body, "polygon")


def region_communities_qml(columns: Sequence[str], fields: dict[str, Field]) -> str:
    """A region's communities (before any plan): a dark circle per community, labelled by ``community_id``."""
    marker = symbol("marker", "0", [symbol_layer("SimpleMarker", {
        "name": "circle", "color": INK, "outline_color": WHITE, "outline_style": "solid", "outline_width": "0.4",
        "outline_width_unit": "MM", "size": "3", "size_unit": "MM", "angle": "0", "offset": "0,0",
        "offset_unit": "MM", "scale_method": "diameter", "horizontal_anchor_point": "1",
        "vertical_anchor_point": "1", "joinstyle": "bevel"})])
    body = (rule_renderer("region communities", [("Community", "TRUE", marker)]) + _labeling("community_id")
            + aliases_xml(fields_of(columns, fields), columns))
    return qml_document(body, "point")


def table_qml(columns: Sequence[str], fields: dict[str, Field]) -> str:
    """A table's style: its field aliases only."""
    return qml_document(aliases_xml(fields_of(columns, fields), columns), "none", categories="Fields")


def write_style(path: str | os.PathLike[str], layer: str, geometry_column: str, qml: str,
                name: str = "dualuse plan", description: str = "Plan coloured by dominant land use",
                synchronous: bool = True) -> None:
    """Store ``qml`` as the default QGIS style of ``layer`` in the GeoPackage's ``layer_styles`` table
    (``geometry_column`` "" for a table without geometry, as QGIS looks it up); ``synchronous`` False for a
    file that its writer flushes to disk itself once complete."""
    with contextlib.closing(sqlite3.connect(str(path))) as con, con:
        if not synchronous:
            con.execute("PRAGMA synchronous = OFF")
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
            (layer, geometry_column, name, qml, description))
        exists = con.execute("SELECT 1 FROM gpkg_contents WHERE table_name = ?", (STYLES_TABLE,)).fetchone()
        if not exists:
            con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                        "VALUES (?, 'attributes', ?, 'QGIS layer styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                        (STYLES_TABLE, STYLES_TABLE))
