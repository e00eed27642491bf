"""What a GIS reads about a layer beside its data: field titles and descriptions in ``gpkg_data_columns``
(the GeoPackage schema extension, which GDAL reads as field alternative names and comments) and the default
QGIS style in ``layer_styles``.

:func:`describe_layer` is the one call every writer makes per layer, after the
layer is written: the aliases, titles and units come from the layer's table in
:mod:`dualuse.export.fields`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Sequence

import pyogrio

from dualuse.export.fields import COMMUNITY_FIELDS, INPUT_FIELDS, Field, fields_of
from dualuse.export.qgis_style import region_communities_qml, region_qml, table_qml, write_style
from dualuse.vocabulary import COMMUNITIES_LAYER, PARCELS_LAYER

DATA_COLUMNS_TABLE = "gpkg_data_columns"
#: The schema extension's registration in ``gpkg_extensions`` (GeoPackage 1.2+, Annex F.9).
SCHEMA_EXTENSION = ("gpkg_schema", "http://www.geopackage.org/spec/#extension_schema", "read-write")


def write_data_columns(path: str | os.PathLike[str], table: str, fields: dict[str, Field],
                       synchronous: bool = True) -> None:
    """Record each field's title (alias with unit) and description in ``gpkg_data_columns`` for ``table``,
    registering the schema extension where the file has not yet (``synchronous`` as in
    :func:`~dualuse.export.qgis_style.write_style`)."""
    with contextlib.closing(sqlite3.connect(str(path))) as con, con:
        if not synchronous:
            con.execute("PRAGMA synchronous = OFF")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {DATA_COLUMNS_TABLE} (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
            "name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT, "
            "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), "
            "CONSTRAINT gdc_tn UNIQUE (table_name, name))")
        con.execute("CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
                    "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, "
                    "CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))")
        known = con.execute("SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND extension_name = ?",
                            (DATA_COLUMNS_TABLE, SCHEMA_EXTENSION[0])).fetchone()
        if not known:
            con.execute("INSERT INTO gpkg_extensions VALUES (?, NULL, ?, ?, ?)", (DATA_COLUMNS_TABLE, *SCHEMA_EXTENSION))
        con.execute(f"DELETE FROM {DATA_COLUMNS_TABLE} WHERE table_name = ?", (table,))
        rows, names = [], set()
        for column, field in fields.items():
            name = field.title if field.title not in names else f"{field.title} ({column})"  # names are unique
            names.add(name)
            rows.append((table, column, name, field.title, field.description))
        con.executemany(f"INSERT INTO {DATA_COLUMNS_TABLE} (table_name, column_name, name, title, description) "
                        "VALUES (?, ?, ?, ?, ?)", rows)


def describe_layer(path: str | os.PathLike[str], layer: str, table: dict[str, Field],
                   style: Callable[[Sequence[str], dict[str, Field]], str], style_name: str,
                   description: str, synchronous: bool = True) -> None:
    """Give a written layer its field titles (``gpkg_data_columns``) and its default QGIS style.

    Parameters
    ----------
    path : path — the GeoPackage, closed by its writer
    layer : str — the layer or table
    table : dict — the layer's fields (:mod:`dualuse.export.fields`)
    style : callable — (columns, fields) → QML, e.g. :func:`~dualuse.export.qgis_style.plan_qml`
    style_name, description : str — the style's name and description as QGIS lists them
    synchronous : bool — False for a file that its writer flushes to disk itself once complete
    """
    info = pyogrio.read_info(path, layer=layer)
    columns = [str(c) for c in info["fields"]]
    write_data_columns(path, layer, fields_of(columns, table), synchronous)
    write_style(path, layer, info["geometry_name"] or "", style(columns, table), style_name, description,
                synchronous)


def describe_region(path: str | os.PathLike[str], parcels_layer: str = PARCELS_LAYER) -> None:
    """Field titles and default QGIS styles of a region GeoPackage (``dualuse prepare``, ``dualuse example``):
    parcels coloured by land type, communities as labelled points (or, as a table, their aliases only)."""
    describe_layer(path, parcels_layer, INPUT_FIELDS, region_qml, "dualuse region",
                   "Parcels coloured by LDN land type, protected areas outlined")
    layers = {str(name): kind for name, kind in pyogrio.list_layers(path)}
    if COMMUNITIES_LAYER in layers:
        spatial = layers[COMMUNITIES_LAYER] is not None
        describe_layer(path, COMMUNITIES_LAYER, COMMUNITY_FIELDS, region_communities_qml if spatial else table_qml,
                       "dualuse communities", "Communities, labelled by id" if spatial else "Field aliases")
