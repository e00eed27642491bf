"""Files unusual in form: each is read (with a warning) or refused with one message naming the file and the fix.

The corpus is :mod:`other_files`; every file goes through ``dualuse validate``
and ``dualuse solve`` in a subprocess, as a user runs them.  The other tests
check what the warnings promise: the areas of curved, 3-D and antimeridian
parcels, communities in another CRS, blank values, overlaps, a rerun that
replaces its own plan, and a full disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from other_files import (
    CORPUS,
    RADIUS_M,
    Case,
    blank_optional_values,
    circles,
    communities_elsewhere,
    curvepolygon,
    duplicated,
    fiji,
    frame,
    multisurface,
    overlapping,
    polygon_z,
    sql,
    write,
)
from pyproj import Geod

from dualuse.cli import cli
from dualuse.errors import InputError, OutputError, UsageError
from dualuse.export.gpkg import plan_frame
from dualuse.files import atomic_write
from dualuse.inputs.overlaps import check_overlaps
from dualuse.inputs.region import read_region
from dualuse.inputs.schema import PLAN_COLUMNS, equal_area_ha
from dualuse.prepare.example import make_example
from dualuse.run import same_plan_table, solve_region

ROOT = Path(__file__).resolve().parents[1]


def _dualuse(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "dualuse", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def _dualuse_together(*commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Each command as its own ``python -m dualuse`` process, all running at once."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    running = [(args, subprocess.Popen([sys.executable, "-m", "dualuse", *args], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=env)) for args in commands]
    done = []
    for args, process in running:
        stdout, stderr = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return done


@pytest.mark.slow
@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_every_file_of_the_corpus_gets_one_answer(tmp_path: Path, case: Case) -> None:
    path = case.make(tmp_path)
    before = sorted(tmp_path.iterdir())
    out = tmp_path / "plan.gpkg"
    checked, solved = _dualuse_together(["validate", str(path)], ["solve", str(path), "-o", str(out)])
    for result in (checked, solved):
        text = result.stdout + result.stderr
        assert result.returncode == case.exit_code, text
        assert "internal error" not in text and "Traceback" not in text, text
        for word in case.words:
            assert word in text, f"{word!r} not in {text!r}"
    if case.exit_code == 2:
        before_error, error = solved.stderr.split("error: ", 1)
        assert all(line.endswith(" ...") or ": done in " in line for line in before_error.splitlines())  # stages
        assert str(path) in error and "Fix:" in error and "error: " not in error
        assert sorted(tmp_path.iterdir()) == before  # no plan, no temporary
    else:
        assert out.exists() and not any(p.name.startswith(".plan.tmp-") for p in tmp_path.iterdir())
        assert not case.words or "warning: " in solved.stderr


def test_the_corpus_has_every_kind_of_file() -> None:
    kinds = {c.kind for c in CORPUS}
    assert kinds == {"3-D", "curved", "no polygon layer", "text", "SRS", "names", "columns", "areas", "overlaps",
                     "where", "blanks"}


def test_curved_parcels_are_linearised_within_a_tenth_of_a_percent(tmp_path: Path) -> None:
    for make in (curvepolygon, multisurface):
        folder = tmp_path / make.__name__
        folder.mkdir()
        region = read_region(make(folder))
        (warning,) = [w for w in region.warnings if "curved edges" in w.message]
        assert "ogr2ogr -nlt CONVERT_TO_LINEAR out.gpkg in.gpkg" in warning.fix
        x, y = circles(1)[0]
        fine = gpd.GeoSeries([shapely.Point(x, y).buffer(RADIUS_M, quad_segs=4096)], crs=region.parcels.crs)
        circle_ha = equal_area_ha(fine)[0]
        expected = circle_ha + (equal_area_ha(gpd.GeoSeries([shapely.box(x + 600, y, x + 1100, y + 500)],
                                                            crs=region.parcels.crs))[0]
                                if make is multisurface else 0.0)
        assert region.area_ha[0] == pytest.approx(expected, rel=1e-3)
        assert region.area_ha[0] < expected
        assert set(shapely.get_type_id(region.parcels.geometry.array)) <= {3, 6}


def test_3d_parcels_are_flattened(tmp_path: Path) -> None:
    region = read_region(polygon_z(tmp_path))
    assert not shapely.has_z(region.parcels.geometry.array).any()
    assert any("3-D coordinates" in w.message for w in region.warnings)
    np.testing.assert_allclose(region.area_ha, equal_area_ha(frame().geometry), rtol=1e-12)


@pytest.mark.parametrize("past_180", [False, True])
def test_a_parcel_across_the_antimeridian_has_its_true_area(tmp_path: Path, past_180: bool) -> None:
    region = read_region(fiji(tmp_path, past_180=past_180))
    crossing = shapely.box(179.95, -17.10, 180.05, -17.00)  # the same land, one piece, for pyproj's geodesics
    true_ha = abs(Geod(ellps="WGS84").geometry_area_perimeter(crossing)[0]) / 1e4
    assert region.area_ha[1] == pytest.approx(true_ha, rel=1e-6)
    assert 11_000 < region.area_ha[1] < 12_000  # not 43 million
    assert region.area_ha[0] == pytest.approx(region.area_ha[2], rel=1e-9)  # the neighbours either side
    assert not region.warnings  # no sliver, no overlap


def test_communities_in_another_crs_are_reprojected(tmp_path: Path) -> None:
    out = tmp_path / "plan.gpkg"
    solve_region(communities_elsewhere(tmp_path), out)
    points = pyogrio.read_dataframe(out, layer="communities")
    assert points.crs == "EPSG:32632"
    centres = shapely.centroid(frame().geometry.array[[0, 2]])
    np.testing.assert_allclose(shapely.get_coordinates(points.geometry.array), shapely.get_coordinates(centres),
                               atol=1e-3)


def test_blank_values_take_the_columns_defaults(tmp_path: Path) -> None:
    region = read_region(blank_optional_values(tmp_path))
    assert (region.slope_deg[1], region.grid_km[1], region.degradation[1], region.protected[1]) == (0, 0, 0, False)
    assert np.isnan(region.communities["household_kwh_yr"].iloc[1])
    assert region.communities["household_kwh_yr"].iloc[0] == 800.0
    assert any("blank text" in w.message and w.column == "slope_deg" for w in region.warnings)


def test_overlaps_beyond_the_tolerance_are_refused(tmp_path: Path) -> None:
    path = duplicated(tmp_path)
    with pytest.raises(InputError, match="same polygon twice"):
        read_region(path)
    region = read_region(path, overlap_tolerance=0.5)
    (warning,) = [w for w in region.warnings if "overlap" in w.message]
    assert warning.ids == (3, 4) and "25.00%" in warning.message
    with pytest.raises(InputError, match="overlap tolerance of 0.00%"):
        read_region(overlapping(tmp_path), overlap_tolerance=0.0)
    with pytest.raises(UsageError, match="overlap_tolerance"):
        read_region(path, overlap_tolerance=-1)


def _brute_force_overlaps(geometry: np.ndarray) -> dict[tuple[int, int], float]:
    i, j = shapely.STRtree(geometry).query(geometry)
    keep = i < j
    i, j = i[keep], j[keep]
    area = shapely.area(shapely.intersection(geometry[i], geometry[j]))
    real = area > 1e-6 * np.minimum(shapely.area(geometry[i]), shapely.area(geometry[j]))
    return {(int(a), int(b)): float(x) for a, b, x in zip(i[real], j[real], area[real])}


def test_overlaps_are_found_as_geos_finds_them() -> None:
    """Planted overlaps of every shape, found by the edge test exactly as by intersecting every pair."""
    parcels = make_example(parcels=400, seed=3).parcels
    geometry = np.asarray(parcels.geometry.array, dtype=object).copy()
    x0, y0, x1, y1 = geometry[10].bounds
    geometry[11] = geometry[10]                                               # a duplicate
    geometry[20] = shapely.buffer(geometry[20], 40.0)                         # over all its neighbours
    geometry[30] = shapely.box(x0 + 100, y0 + 100, x0 + 200, y0 + 200)        # inside another parcel
    geometry[40] = shapely.affinity.translate(geometry[41], xoff=300.0)       # shifted onto a neighbour
    cx, cy = shapely.get_coordinates(shapely.centroid(geometry[50]))[0]
    geometry[51] = shapely.box(cx - 2_000, cy - 50, cx + 2_000, cy + 50)      # a bar crossing parcels, no vertex in
    geometry[52] = shapely.Polygon(shapely.box(cx - 3_000, cy - 3_000, cx + 3_000, cy + 3_000).exterior,
                                   [shapely.box(cx - 2_900, cy - 2_900, cx + 2_900, cy + 2_900).exterior])  # a frame
    frame_ = parcels.set_geometry(gpd.GeoSeries(geometry, crs=parcels.crs))
    expected = _brute_force_overlaps(geometry)
    problems: list = []
    area_ha = shapely.area(geometry) / 1e4
    check_overlaps(frame_, geometry, area_ha, "parcels", problems, tolerance=1.0)
    (warning,) = problems
    assert f"{len(expected)} pair(s) of parcels overlap, 1 of them the same polygon twice" in warning.message
    assert f"{sum(expected.values()) / 1e4:,.4g} ha in all" in warning.message
    assert {str(i) for pair in expected for i in frame_["parcel_id"].iloc[list(pair)]} >= set(warning.ids)


def test_the_plan_columns_the_checks_reserve_are_the_plans(tmp_path: Path) -> None:
    plan = solve_region(write(tmp_path / "region.gpkg", frame()))
    assert tuple(plan.parcel_values()) == PLAN_COLUMNS
    assert [c for c in plan_frame(plan).columns if c in PLAN_COLUMNS] == list(PLAN_COLUMNS)


def test_a_rerun_over_its_own_plan_compares_with_the_plan_it_replaced(tmp_path: Path) -> None:
    region = write(tmp_path / "region.gpkg", frame())
    plan = tmp_path / "plan.gpkg"
    solve_region(region, plan)
    assert same_plan_table(plan, plan)  # a file is its own plan table
    result = CliRunner().invoke(cli, ["solve", "--rerun", str(plan), "-o", str(plan), "--json", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["rerun"]["same_plan_table"] is True
    with sql(plan) as con:  # the recorded plan is not what this scenario gives
        con.execute("UPDATE plan SET cost_usd = cost_usd + 1 WHERE fid = 1")
    result = CliRunner().invoke(cli, ["solve", "--rerun", str(plan), "-o", str(plan), "--json", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["rerun"]["same_plan_table"] is False
    assert "plan table different" in result.stderr


@pytest.fixture
def tiny_disk(tmp_path: Path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.slow
def test_a_full_disk_is_one_message_and_leaves_no_file(tmp_path: Path, tiny_disk: Path) -> None:
    region = write(tmp_path / "region.gpkg", frame())
    out = tiny_disk / "plan.gpkg"
    solved = _dualuse("solve", str(region), "-o", str(out))
    assert solved.returncode == 2, solved.stderr
    assert "internal error" not in solved.stderr and "Traceback" not in solved.stderr
    assert f"cannot write {out}: the disk is full" in solved.stderr and "choose another -o PATH" in solved.stderr
    assert list(tiny_disk.iterdir()) == []
    with pytest.raises(OutputError, match="the disk is full"):
        atomic_write(tiny_disk / "big.bin", b"0" * 200_000)
    assert list(tiny_disk.iterdir()) == []
