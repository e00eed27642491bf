"""GeoPackage output: the plan and communities layers, the summary and run tables; atomic writes.

A plan is written to a temporary ``.gpkg`` in the destination's folder and
renamed over the destination only once complete: an interrupted run never
leaves a broken plan behind, and an earlier plan stays intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from dualuse import __version__
from dualuse.errors import has_extra
from dualuse.export.fields import COMMUNITY_FIELDS, LDN_BALANCE_FIELDS, PLAN_FIELDS, SUMMARY_FIELDS
from dualuse.export.layer_meta import describe_layer
from dualuse.export.plan_table import GEOMETRY_COLUMN, LayerTable, plan_table
from dualuse.export.polygons import SimplePolygons, centroids, polygon_centroids, simple_vertices
from dualuse.export.qgis_style import communities_qml, plan_qml, table_qml
from dualuse.files import atomic_path, check_output_path
from dualuse.plan import Plan
from dualuse.vocabulary import (
    COMMUNITIES_LAYER,
    DROUGHT_YEARS_TABLE,
    LDN_BALANCE_TABLE,
    PLAN_LAYER,
    RUN_TABLE,
    SUMMARY_TABLE,
)

os.environ.setdefault("GDAL_PAM_ENABLED", "NO")  # no *.aux.xml beside files whose metadata GDAL reads


def write_plan(plan: Plan, output: str | os.PathLike[str], extra_run: dict[str, Any] | None = None) -> Path:
    """Write a plan GeoPackage atomically: layers ``plan`` and ``communities``, tables ``summary``,
    ``ldn_balance``, ``drought_years`` (a region with drought years) and ``run``; the QGIS default styles of
    ``plan`` and ``communities`` in ``layer_styles``, and every field's alias with its unit
    (:mod:`dualuse.export.fields`)."""
    destination = check_output_path(output, (plan.region.path,))
    t0 = time.perf_counter()
    with atomic_path(destination) as temp, flushed_once(temp):
        polygons = simple_vertices(np.asarray(plan.region.parcels.geometry.array))
        communities = communities_frame(plan, polygons)
        layer = plan_table(plan, polygons) if has_extra("arrow") else None
        del polygons
        write_plan_layer(plan, temp, layer)
        del layer
        if communities is not None:
            pyogrio.write_dataframe(communities, temp, layer=COMMUNITIES_LAYER, driver="GPKG",
                                    use_arrow=has_extra("arrow"))
        pyogrio.write_dataframe(_strings_to_object(plan.summary()), temp, layer=SUMMARY_TABLE, driver="GPKG")
        pyogrio.write_dataframe(_strings_to_object(plan.ldn_balance()), temp, layer=LDN_BALANCE_TABLE, driver="GPKG")
        drought_years = plan.drought_years()
        if not drought_years.empty:
            pyogrio.write_dataframe(drought_years.astype({"scenario": object}), temp, layer=DROUGHT_YEARS_TABLE,
                                    driver="GPKG")
        plan.timings["write_s"] = time.perf_counter() - t0
        run = run_record(plan, extra_run or {})
        pyogrio.write_dataframe(pd.DataFrame([run]), temp, layer=RUN_TABLE, driver="GPKG")
        describe_layers(temp, communities is not None, synchronous=False)
    return destination


@contextlib.contextmanager
def flushed_once(path: Path) -> Iterator[None]:
    """Write a new file without waiting for the disk at every commit, then flush it to disk once, complete.

    GDAL's SQLite commits (``OGR_SQLITE_SYNCHRONOUS=OFF``, unless the option
    is set already) and the writers given ``synchronous=False`` leave the
    file to the operating system's cache while it is written; once the block
    ends without error the file is synced to disk, before
    :func:`~dualuse.files.atomic_path` renames it into place.  A file that is
    never renamed (a failed or interrupted write) is removed, so an
    unsynced one is never left for a reader.
    """
    option = "OGR_SQLITE_SYNCHRONOUS"
    ours = pyogrio.get_gdal_config_option(option) is None
    if ours:
        pyogrio.set_gdal_config_options({option: "OFF"})
    try:
        yield
    finally:
        if ours:
            pyogrio.set_gdal_config_options({option: None})
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_plan_layer(plan: Plan, path: Path, table: LayerTable | None = None) -> None:
    """Write the plan layer (:func:`plan_frame`) into a new or open GeoPackage: straight from ``table``
    (:func:`~dualuse.export.plan_table.plan_table`) when given, else through geopandas."""
    if table is None:
        frame = plan_frame(plan)
        pyogrio.write_dataframe(frame, path, layer=PLAN_LAYER, driver="GPKG", geometry_type=_geometry_type(frame),
                                use_arrow=has_extra("arrow"))
        return
    pyogrio.write_arrow(table.table, path, layer=PLAN_LAYER, driver="GPKG", geometry_name=GEOMETRY_COLUMN,
                        geometry_type=table.geometry_type, crs=table.crs)


def describe_layers(path: Path, with_communities: bool, synchronous: bool = True) -> None:
    """The field aliases and default QGIS styles of a plan file's layers and tables (``synchronous`` as in
    :func:`~dualuse.export.layer_meta.describe_layer`)."""
    describe_layer(path, PLAN_LAYER, PLAN_FIELDS, plan_qml, "dualuse plan",
                   "Plan: fill by dominant land use, PV hatched wherever installed", synchronous)
    if with_communities:
        describe_layer(path, COMMUNITIES_LAYER, COMMUNITY_FIELDS, communities_qml, "dualuse communities",
                       "Communities shaded by the share of their demand the plan meets", synchronous)
    describe_layer(path, SUMMARY_TABLE, SUMMARY_FIELDS, table_qml, "dualuse summary", "Field aliases", synchronous)
    describe_layer(path, LDN_BALANCE_TABLE, LDN_BALANCE_FIELDS, table_qml, "dualuse LDN balance", "Field aliases",
                   synchronous)


def _geometry_type(frame: gpd.GeoDataFrame) -> str:
    kinds = set(shapely.get_type_id(frame.geometry.array).tolist())
    return "Polygon" if kinds == {3} else "MultiPolygon"


def _strings_to_object(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: object for c in frame.columns if frame[c].dtype == "string"})


def plan_frame(plan: Plan) -> gpd.GeoDataFrame:
    """The plan layer: the input columns, then the plan's columns (an input column of the same name
    as a plan column is kept as ``input_<name>``): :meth:`Plan.to_geodataframe`."""
    return plan.to_geodataframe()


def communities_frame(plan: Plan, polygons: SimplePolygons | None = None) -> gpd.GeoDataFrame | pd.DataFrame | None:
    """Communities with demand and service; a point at the area-weighted centre of their parcels
    (or the input's own geometry) so that they show on the map.

    ``polygons``: the parcels' vertices when every parcel is a simple polygon
    (:func:`~dualuse.export.polygons.simple_vertices`), from which their centroids are computed.
    """
    region = plan.region
    if region.n_communities == 0:
        return None
    values = plan.community_values()
    values["community_id"] = values["community_id"].astype(object)
    if "geometry" in region.communities.columns:
        return gpd.GeoDataFrame(values, geometry=region.communities["geometry"].to_numpy(),
                                crs=region.parcels.crs).rename_geometry("geom")
    has = region.community >= 0
    x, y = _parcel_centroids(np.asarray(region.parcels.geometry.array), polygons)
    weights = region.area_ha[has]
    index = region.community[has]
    total = np.bincount(index, weights=weights, minlength=region.n_communities)
    cx = np.bincount(index, weights=weights * x[has], minlength=region.n_communities)
    cy = np.bincount(index, weights=weights * y[has], minlength=region.n_communities)
    with np.errstate(invalid="ignore", divide="ignore"):
        points = shapely.points(cx / total, cy / total)
    points = np.where(total > 0, points, None)
    return gpd.GeoDataFrame(values, geometry=points, crs=region.parcels.crs).rename_geometry("geom")


def _parcel_centroids(geometry: np.ndarray, polygons: SimplePolygons | None) -> tuple[np.ndarray, np.ndarray]:
    """Each parcel's centroid, from its vertices where they are given (shapely's for a ring without area)."""
    if polygons is None:
        return centroids(geometry)
    x, y = polygon_centroids(polygons)
    flat = np.isnan(x)
    if flat.any():
        x[flat], y[flat] = centroids(geometry[flat])
    return x, y


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("pyomo", "highspy", "geopandas", "pyogrio", "shapely", "pyproj", "numpy", "pandas"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = ""
    out["gdal"] = pyogrio.__gdal_version_string__
    return out


def run_record(plan: Plan, extra: dict[str, Any]) -> dict[str, Any]:
    """One row that says how the plan was made: enough to reproduce it."""
    result = plan.result
    catalogue = plan.catalogue
    versions = _versions()
    try:  # the text is recorded only if it is still the catalogue that was loaded
        raw = Path(catalogue.path).read_bytes()
        catalogue_toml = raw.decode("utf-8") if hashlib.sha256(raw).hexdigest() == catalogue.sha256 else ""
    except (OSError, UnicodeDecodeError):
        catalogue_toml = ""
    record: dict[str, Any] = {
        "dualuse_version": __version__,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": result.status.value,
        "objective": result.objective,
        "gap": result.gap,
        "solver": result.solver.get("name", ""),
        "solver_version": result.solver.get("version", ""),
        "solver_interface": result.solver.get("interface", ""),
        "handover": result.solver.get("handover", ""),
        "lp_path": result.solver.get("lp_path", ""),
        "lp_path_reason": result.solver.get("lp_path_reason", ""),
        "structured_rounds": int(result.solver.get("structured_rounds", -1)),
        "structured_seeded": bool(result.solver.get("structured_seeded", False)),
        "structured_certificate": json.dumps(result.solver.get("structured_certificate", {}), sort_keys=True),
        "solver_options": json.dumps(result.solver.get("options", {}), sort_keys=True),
        "threads": plan.scenario.threads,
        "seed": plan.scenario.seed,
        "scenario": plan.scenario.to_json(),
        "scenario_sha256": plan.scenario.sha256,
        "catalogue_path": catalogue.path,
        "catalogue_sha256": catalogue.sha256,
        "catalogue_toml": catalogue_toml,
        "input_path": str(Path(plan.region.path).resolve()) if plan.region.path else "",
        "input_layer": plan.region.layer,
        "input_sha256": plan.region.input_sha256,
        "n_parcels": plan.coef.n_parcels,
        "n_variables": result.size.get("columns", 0),
        "n_constraints": result.size.get("rows", 0),
        "n_nonzeros": result.size.get("nonzeros", 0),
        "command": " ".join(sys.argv),
        **{f"version_{k}": v for k, v in versions.items()},
        **{f"time_{k}": float(v) for k, v in {**result.timings, **plan.timings}.items()},
    }
    record.update(extra)
    return record


def read_table(path: str | os.PathLike[str], layer: str) -> pd.DataFrame:
    """A non-spatial table of a GeoPackage (``summary``, ``run``) as a DataFrame."""
    return pd.DataFrame(pyogrio.read_dataframe(path, layer=layer, read_geometry=False))

