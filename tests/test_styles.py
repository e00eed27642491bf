"""The QGIS styles and field aliases of every file dualuse writes, and the palette they share with the report.

QGIS is not run here: each QML is parsed and held to the structure QGIS 3
reads (renderer, rules, symbols, sub-symbols, aliases), every field a rule
names must exist in the layer, and the rules are evaluated on the written
layer to show that every parcel with PV is drawn with the PV symbol whatever
its dominant use.  GDAL (through pyogrio) must read the styles and the
``gpkg_data_columns`` titles back.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely

from dualuse.export.fields import COMMUNITY_FIELDS, INPUT_FIELDS, PLAN_FIELDS, SUMMARY_FIELDS, field_for
from dualuse.inputs.scenario import load_scenario
from dualuse.palette import (
    BACKGROUND,
    MIN_GREY_CONTRAST,
    PV_SHARE_SHOWN,
    USE_COLOURS,
    contrast_ratio,
    relative_luminance,
)
from dualuse.prepare.example import write_example
from dualuse.run import solve_region
from dualuse.vocabulary import USES

#: Symbol-layer classes the styles use, with the properties QGIS needs of each.
LAYER_PROPS = {"SimpleFill": {"color", "style", "outline_color", "outline_width"},
               "LinePatternFill": {"angle", "distance", "distance_unit"},
               "SimpleLine": {"line_color", "line_width", "line_style"},
               "SimpleMarker": {"name", "color", "size", "outline_color"}}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("styles")


@pytest.fixture(scope="module")
def region(folder: Path) -> Path:
    path = folder / "region.gpkg"
    write_example(path, parcels=150, seed=11)
    return path


@pytest.fixture(scope="module")
def plan_path(folder: Path, region: Path) -> Path:
    path = folder / "plan.gpkg"
    solve_region(region, path, scenario=load_scenario(sets={"budget_usd": "2.5e7"}), explain=False)
    return path


def _styles(path: Path) -> pd.DataFrame:
    """The layer_styles table as GDAL reads it."""
    return pd.DataFrame(pyogrio.read_dataframe(path, layer="layer_styles", read_geometry=False))


def _qml(path: Path, layer: str) -> ET.Element:
    styles = _styles(path)
    rows = styles[styles["f_table_name"] == layer]
    assert len(rows) == 1 and bool(rows["useAsDefault"].iloc[0]), f"one default style for {layer}"
    info = pyogrio.read_info(path, layer=layer)
    assert rows["f_geometry_column"].iloc[0] == (info["geometry_name"] or "")
    assert rows["f_table_schema"].iloc[0] == ""
    return ET.fromstring(rows["styleQML"].iloc[0])


def _fields(path: Path, layer: str) -> list[str]:
    return [str(c) for c in pyogrio.read_info(path, layer=layer)["fields"]]


def _check_symbol(element: ET.Element) -> None:
    """A symbol as QGIS 3 reads it: typed, named, its layers of known classes with their properties written
    both as Option maps and as legacy props, and any sub-symbol named @parent@layer."""
    assert element.tag == "symbol" and element.get("type") in ("fill", "line", "marker") and element.get("name")
    layers = element.findall("layer")
    assert layers, f"symbol {element.get('name')} has no layer"
    for k, layer in enumerate(layers):
        cls = layer.get("class")
        assert cls in LAYER_PROPS, cls
        assert layer.get("pass", "").isdigit() and layer.get("enabled") == "1"
        options = {o.get("name"): o.get("value") for o in layer.findall("Option[@type='Map']/Option")}
        legacy = {p.get("k"): p.get("v") for p in layer.findall("prop")}
        assert options == legacy and LAYER_PROPS[cls] <= set(options), (cls, LAYER_PROPS[cls] - set(options))
        for key in ("color", "outline_color", "line_color"):
            if key in options:
                assert re.fullmatch(r"\d{1,3},\d{1,3},\d{1,3},\d{1,3}", options[key]), options[key]
        for sub in layer.findall("symbol"):
            assert sub.get("name") == f"@{element.get('name')}@{k}"
            _check_symbol(sub)


def _check_rule_renderer(root: ET.Element, fields: list[str]) -> list[ET.Element]:
    """A rule-based renderer: a root rule with a key, each rule with a key, a label, a symbol that exists
    and a filter naming only fields of the layer; returns the rules."""
    renderer = root.find("renderer-v2")
    assert renderer is not None and renderer.get("type") == "RuleRenderer"
    rules = renderer.findall("rules/rule")
    assert renderer.find("rules").get("key", "").startswith("{") and rules
    symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
    for symbol in symbols.values():
        _check_symbol(symbol)
    keys = [r.get("key") for r in rules]
    assert len(set(keys)) == len(keys)
    for rule in rules:
        assert rule.get("label") and rule.get("symbol") in symbols
        referenced = re.findall(r'"([^"]+)"', rule.get("filter", ""))
        assert set(referenced) <= set(fields), (rule.get("filter"), set(referenced) - set(fields))
    return rules


def _aliases(root: ET.Element, fields: list[str]) -> dict[str, str]:
    """The QML's aliases, checked against the layer's fields (name and index)."""
    aliases = {}
    for alias in root.findall("aliases/alias"):
        assert fields[int(alias.get("index"))] == alias.get("field")
        aliases[alias.get("field")] = alias.get("name")
    return aliases


def _evaluate(expression: str, frame: pd.DataFrame) -> np.ndarray:
    """A QGIS filter expression of the kind the styles write ("field" = 'text', sums, comparisons, AND, NOT,
    lower()) evaluated on a frame with pandas."""
    text = re.sub(r"lower\(\"([^\"]+)\"\)", r"`\1`.str.lower()", expression)
    text = re.sub(r'"([^"]+)"', r"`\1`", text)
    text = re.sub(r"(?<![<>=!])=(?!=)", "==", text).replace(" AND ", " and ").replace("NOT ", "not ")
    if text.strip() == "TRUE":
        return np.ones(len(frame), dtype=bool)
    return np.asarray(frame.eval(text, engine="python"), dtype=bool)


# --------------------------------------------------------------------------- the plan


def test_plan_style_is_a_rule_renderer_qgis_reads(plan_path: Path) -> None:
    fields = _fields(plan_path, "plan")
    root = _qml(plan_path, "plan")
    assert root.tag == "qgis" and "Fields" in root.get("styleCategories") and "Symbology" in root.get(
        "styleCategories")
    assert root.findtext("layerGeometryType") == "2"
    rules = _check_rule_renderer(root, fields)
    assert root.find("renderer-v2").get("symbollevels") == "1"
    labels = [r.get("label") for r in rules]
    assert labels[:len(USES)] == ["Current use", "Utility solar PV", "Agrivoltaics", "Sustainable grazing",
                                  "Ecological restoration"]
    assert "PV panels" in labels[-1]
    # the PV symbol is drawn after every fill: its layers are in a later symbol-level pass
    symbols = {s.get("name"): s for s in root.findall("renderer-v2/symbols/symbol")}
    fill_passes = {int(layer.get("pass")) for r in rules[:-1] for layer in symbols[r.get("symbol")].iter("layer")}
    pv_passes = {int(layer.get("pass")) for layer in symbols[rules[-1].get("symbol")].iter("layer")}
    assert min(pv_passes) > max(fill_passes)


def test_pv_is_visible_wherever_installed_whatever_the_dominant_use(plan_path: Path) -> None:
    frame = pd.DataFrame(pyogrio.read_dataframe(plan_path, layer="plan", read_geometry=False))
    rules = _check_rule_renderer(_qml(plan_path, "plan"), list(frame.columns))
    pv_share = frame["share_solar"] + frame["share_agrivoltaic"]
    pv_rule = _evaluate(rules[-1].get("filter"), frame)
    # precondition: the plan has PV on parcels whose dominant use is not PV (shown as "Current use" before)
    assert (~frame.loc[frame["capacity_mwp"] > 0, "use"].isin(["solar", "agrivoltaic"])).any()
    assert np.array_equal(pv_rule, (pv_share >= PV_SHARE_SHOWN).to_numpy())
    assert np.all(pv_rule[(frame["capacity_mwp"] > 1e-3 * frame["capacity_mwp"].max()).to_numpy()])
    # every parcel gets exactly one fill
    fills = np.column_stack([_evaluate(r.get("filter"), frame) for r in rules[:-1]])
    assert (fills.sum(axis=1) == 1).all()


def test_pv_rule_holds_on_a_hand_made_frame() -> None:
    from dualuse.export.qgis_style import pv_expression

    frame = pd.DataFrame({"use": ["current", "grazing", "solar", "restoration", "agrivoltaic"],
                          "share_solar": [0.0, 0.3, 1.0, 0.004, 0.0], "share_agrivoltaic": [0.0, 0.0, 0.0, 0.002, 0.0]})
    assert _evaluate(pv_expression(), frame).tolist() == [False, True, True, True, False]


def test_every_plan_community_and_summary_field_has_an_alias_with_its_unit(plan_path: Path) -> None:
    for layer, table in (("plan", PLAN_FIELDS), ("communities", COMMUNITY_FIELDS), ("summary", SUMMARY_FIELDS),
                         ("ldn_balance", None)):
        fields = _fields(plan_path, layer)
        aliases = _aliases(_qml(plan_path, layer), fields)
        assert set(aliases) == set(fields), f"{layer}: no alias for {set(fields) - set(aliases)}"
        titles = pyogrio.read_dataframe(plan_path, read_geometry=False, sql=(
            f"SELECT column_name, name, title, description FROM gpkg_data_columns WHERE table_name = '{layer}'"))
        assert dict(zip(titles["column_name"], titles["title"])) == aliases
        assert titles["description"].str.len().gt(0).all()
        if table is not None:
            for name in fields:
                unit = field_for(name, table).unit
                if unit not in ("", "—", "text", "bool"):
                    assert aliases[name].endswith(f"[{unit}]"), (name, aliases[name])
    aliases = _aliases(_qml(plan_path, "plan"), _fields(plan_path, "plan"))
    assert aliases["capacity_mwp"] == "Installed PV [MWp]" and aliases["cost_usd"] == "Cost [USD]"
    with sqlite3.connect(plan_path) as con:
        extension = con.execute("SELECT extension_name, scope FROM gpkg_extensions "
                                "WHERE table_name = 'gpkg_data_columns'").fetchall()
        contents = con.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchall()
    assert extension == [("gpkg_schema", "read-write")] and contents == [("attributes",)]


def test_communities_style_reads_the_share_of_demand_met(plan_path: Path) -> None:
    fields = _fields(plan_path, "communities")
    root = _qml(plan_path, "communities")
    assert root.findtext("layerGeometryType") == "0"
    rules = _check_rule_renderer(root, fields)
    frame = pd.DataFrame(pyogrio.read_dataframe(plan_path, layer="communities", read_geometry=False))
    matched = np.column_stack([_evaluate(r.get("filter"), frame) for r in rules])
    assert (matched.sum(axis=1) == 1).all(), "every community in exactly one class"
    assert root.find("labeling/settings/text-style").get("fieldName") == "community_id"


def test_a_region_is_styled_by_land_type_with_aliases(region: Path) -> None:
    fields = _fields(region, "parcels")
    root = _qml(region, "parcels")
    rules = _check_rule_renderer(root, fields)
    frame = pd.DataFrame(pyogrio.read_dataframe(region, layer="parcels", read_geometry=False))
    fills = np.column_stack([_evaluate(r.get("filter"), frame) for r in rules if "Protected" not in r.get("label")])
    assert (fills.sum(axis=1) == 1).all()
    aliases = _aliases(root, fields)
    assert aliases["pv_yield_kwh_kwp"] == "Specific PV yield [kWh/kWp/yr]"
    assert set(aliases) == {f for f in fields if f in INPUT_FIELDS}
    communities = _qml(region, "communities")  # a table in the example: aliases only
    assert set(_aliases(communities, _fields(region, "communities"))) == set(_fields(region, "communities"))


def test_prepare_writes_text_ids_in_a_crs_with_an_authority_code(tmp_path: Path) -> None:
    from dualuse.prepare.assemble import in_authority_crs
    from dualuse.prepare.tiling import tile_parcels, tiling_crs

    aoi = shapely.Point(15.0, 45.0).buffer(0.03)
    crs = tiling_crs(aoi, pyproj.CRS.from_epsg(4326), None)
    assert crs.to_authority() is None, "precondition: the local equal-area tiling CRS has no code"
    tiled = tile_parcels(shapely.Polygon(pyproj.Transformer.from_crs(4326, crs, always_xy=True).itransform(
        aoi.exterior.coords)), crs, 50.0, "hex", 0.25)
    written, _ = in_authority_crs(tiled, None)
    assert written.crs.to_authority() == ("EPSG", "32633")
    assert written["parcel_id"].iloc[0] == "P0000001" and written["parcel_id"].is_unique
    from dualuse.inputs.schema import equal_area_ha

    assert equal_area_ha(written.geometry).sum() == pytest.approx(equal_area_ha(tiled.geometry).sum(), rel=1e-6)


# --------------------------------------------------------------------------- the palette


def test_use_colours_differ_in_grey_scale_and_stand_out_from_the_page() -> None:
    # a known value: white on black is 21:1, and the earlier grazing yellow against its grey 1.07
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#f0e442", "#d9d9d9") == pytest.approx(1.07, abs=0.01)
    for a, b in itertools.combinations(USES, 2):
        ratio = contrast_ratio(USE_COLOURS[a], USE_COLOURS[b])
        assert ratio >= MIN_GREY_CONTRAST, f"{a} and {b}: {ratio:.2f} in grey-scale"
    for use in USES:
        assert contrast_ratio(USE_COLOURS[use], BACKGROUND) >= MIN_GREY_CONTRAST
    # grey-scale print keeps the luminance: the five uses are five distinct greys in the same order
    greys = [round(255 * relative_luminance(USE_COLOURS[u]) ** (1 / 2.2)) for u in USES]
    assert len(set(greys)) == len(USES)
