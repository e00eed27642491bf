"""Connected restoration: parcel adjacency from the geometry, the boundary penalty solved by hand, and the
restored area's boundary and patches recomputed from the written plan."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import parcel, read_plan, recheck_plan

from dualuse.inputs.adjacency import CACHE_SUFFIX, parcel_adjacency, region_adjacency
from dualuse.inputs.region import read_region
from dualuse.inputs.scenario import load_scenario
from dualuse.model.connectivity import connectivity_figures
from dualuse.report.html import write_report
from dualuse.run import solve_region

CRS = "EPSG:32632"
ORIGIN = (400_000.0, 1_500_000.0)
#: Only harvest counts, nothing else: the objective is the plan's harvest over today's.
HARVEST_ONLY = {"weight_access": 0.0, "weight_energy": 0.0, "weight_productivity": 1.0, "weight_cost": 0.0,
                "ldn_scope": "off", "food_floor": 0.0}


def row_of_squares(path: Path, productivity_t_ha: list[float], side_m: float = 1000.0) -> Path:
    """Protected grassland squares side by side, touching (each shares one side with the next): only the
    current use (harvest kept) or restoration (a fifth of it kept) is allowed."""
    x0 = ORIGIN[0] + side_m * np.arange(len(productivity_t_ha))
    boxes = shapely.box(x0, ORIGIN[1], x0 + side_m, ORIGIN[1] + side_m)
    rows = [parcel("grassland", productivity_t_ha=p, protected=True, parcel_id=f"p{k}")
            for k, p in enumerate(productivity_t_ha)]
    gpd.GeoDataFrame(pd.DataFrame(rows), geometry=boxes, crs=CRS).to_file(path, layer="parcels", driver="GPKG",
                                                                          engine="pyogrio")
    return path


def restored(plan_path: Path) -> np.ndarray:
    plan, _, _ = read_plan(plan_path)
    return plan["share_restoration"].to_numpy()


def test_adjacency_of_a_hand_made_grid() -> None:
    # a 2 × 3 grid of 1 km squares, a 0.5 km × 0.5 km square on top of the middle one, and one apart
    x, y = np.meshgrid(np.arange(3) * 1000.0, np.arange(2) * 1000.0)
    cells = list(shapely.box(ORIGIN[0] + x.ravel(), ORIGIN[1] + y.ravel(), ORIGIN[0] + x.ravel() + 1000.0,
                             ORIGIN[1] + y.ravel() + 1000.0))
    cells.append(shapely.box(ORIGIN[0] + 1250.0, ORIGIN[1] + 2000.0, ORIGIN[0] + 1750.0, ORIGIN[1] + 2500.0))
    cells.append(shapely.box(ORIGIN[0] + 5000.0, ORIGIN[1], ORIGIN[0] + 6000.0, ORIGIN[1] + 1000.0))
    adjacency = parcel_adjacency(gpd.GeoSeries(cells, crs=CRS))
    # cells 0 1 2 (bottom row), 3 4 5 (top row), 6 on top of cell 4, 7 alone; diagonal neighbours touch at a
    # corner only and share no boundary
    expected = {(0, 1): 1.0, (1, 2): 1.0, (3, 4): 1.0, (4, 5): 1.0, (0, 3): 1.0, (1, 4): 1.0, (2, 5): 1.0,
                (4, 6): 0.5}
    found = {(int(a), int(b)): float(km) for a, b, km in zip(adjacency.a, adjacency.b, adjacency.shared_km)}
    assert set(found) == set(expected)
    for edge, km in expected.items():
        # UTM's scale factor near its central meridian is 0.9996–1.0001: grid metres are ground metres ± 0.05 %
        assert found[edge] == pytest.approx(km, rel=1e-3)
    # the grid in WGS 84 measures the same (without the small square: its corners on the side of cell 4
    # are no longer exactly on that side once reprojected, so that T-junction is lost)
    in_degrees = parcel_adjacency(gpd.GeoSeries(cells[:6], crs=CRS).to_crs("EPSG:4326"))
    np.testing.assert_allclose(in_degrees.shared_km, adjacency.shared_km[:7], rtol=1e-4)


def test_adjacency_is_cached_beside_the_region_by_its_digest(tmp_path: Path) -> None:
    path = row_of_squares(tmp_path / "row.gpkg", [1.0, 1.0, 1.0])
    cache = Path(str(path) + CACHE_SUFFIX)
    first = region_adjacency(read_region(path))
    assert cache.exists() and first.n_edges == 2
    with np.load(cache) as data:
        assert str(data["input_sha256"]) == read_region(path).input_sha256
    # another region file (other bytes) is never given this cache: it is computed again and replaces it
    row_of_squares(path, [1.0, 1.0, 1.0, 1.0])
    again = region_adjacency(read_region(path))
    assert again.n_edges == 3 and again.n_parcels == 4


def test_boundary_penalty_in_shares_by_hand(tmp_path: Path) -> None:
    r"""Two adjacent 100 ha parcels sharing 1 km, 90 ha to restore.  Today's harvest P0 = 100·3 + 100·1
    = 400 t; restoring a whole parcel keeps a fifth of its harvest, so it costs the objective
    L_A = 0.8·300/400 = 0.6 and L_B = 0.8·100/400 = 0.2.  With r_A + r_B = 0.9 and r_A ≤ r_B the objective
    is −0.9 (L_B + β) + (2β − (L_A − L_B)) r_A: below β* = (L_A − L_B)/2 = 0.2 all restoration goes to B
    (0.9 km of boundary between restored and unrestored land), above it it is shared equally (no boundary,
    and no parcel more than half restored: the boundary of shares does not see how thin it is)."""
    region = row_of_squares(tmp_path / "two.gpkg", [3.0, 1.0])
    # the squares are 1 km in UTM, 100.06 ha on the ground: restore 0.9 of one parcel's area
    area_ha = read_region(region).area_ha
    base = load_scenario(None, {**HARVEST_ONLY, "min_restored_ha": 0.9 * float(area_ha[1])})
    for beta, expected, boundary_km, patches in ((0.0, [0.0, 0.9], 0.9, 1), (0.18, [0.0, 0.9], 0.9, 1),
                                                 (0.22, [0.45, 0.45], 0.0, 0)):
        out = tmp_path / f"plan_{beta}.gpkg"
        plan = solve_region(region, out, scenario=base.replace(restoration_boundary_weight=beta))
        np.testing.assert_allclose(restored(out), expected, atol=1e-4)  # areas differ by 1e-6 on the ground
        assert plan.connectivity["restored_boundary_km"] == pytest.approx(boundary_km, abs=1e-3)
        assert plan.connectivity["restored_patches"] == patches
        assert plan.connectivity["restored_outside_patches_ha"] == pytest.approx(
            0.0 if patches else 0.9 * area_ha[1], rel=1e-4)
        harvest = (300.0 * (1 - 0.8 * expected[0]) + 100.0 * (1 - 0.8 * expected[1])) / 400.0
        assert plan.objective == pytest.approx(harvest - beta * plan.connectivity["restored_boundary_km"], rel=1e-5)
        recheck_plan(out, region)


def test_whole_parcels_join_above_the_gain_of_splitting(tmp_path: Path) -> None:
    r"""Three 100 ha parcels in a row A–B–C (1 km between neighbours), two to restore, one use per parcel.
    Harvests 1, 3, 2 t/ha: P0 = 600 t and restoring costs L = 0.8·(100, 300, 200)/600.  Split {A, C} loses
    0.4 with 2 km of boundary; joined {A, B} loses 0.5333 with 1 km; {B, C} and all three are worse up to
    β = 0.2667.  So the two restored parcels join when β > L_B − L_C = 80/600 = 0.1333, and not below."""
    region = row_of_squares(tmp_path / "three.gpkg", [1.0, 3.0, 2.0])
    base = load_scenario(None, {**HARVEST_ONLY, "min_restored_ha": 200.0, "mode": "whole"})
    for beta, expected, boundary_km, patches in ((0.12, [1, 0, 1], 2.0, 2), (0.15, [1, 1, 0], 1.0, 1)):
        out = tmp_path / f"whole_{beta}.gpkg"
        plan = solve_region(region, out, scenario=base.replace(restoration_boundary_weight=beta))
        np.testing.assert_allclose(restored(out), expected, atol=1e-6)
        _, summary, _ = read_plan(out)
        figures = summary.set_index("kpi")["plan"]
        assert figures["restored_boundary_km"] == pytest.approx(boundary_km, rel=1e-3)
        assert figures["restored_patches"] == patches
        assert figures["largest_patch_ha"] == pytest.approx(100.0 * (3 - patches), rel=1e-3)
        loss = 0.8 * np.dot(expected, [100.0, 300.0, 200.0]) / 600.0
        assert plan.objective == pytest.approx(1.0 - loss - beta * figures["restored_boundary_km"], rel=1e-5)
    # the plan report says how joined up the restoration is
    page = write_report(out).html.read_text(encoding="utf-8")
    assert "in 1 patch(es) of adjacent parcels" in page and "km of boundary with unrestored land" in page


def test_the_penalty_takes_the_generic_path_and_the_run_table_says_why(tmp_path: Path) -> None:
    region = row_of_squares(tmp_path / "two.gpkg", [3.0, 1.0])
    base = load_scenario(None, {**HARVEST_ONLY, "min_restored_ha": 100.0})
    solve_region(region, tmp_path / "without.gpkg", scenario=base)
    solve_region(region, tmp_path / "with.gpkg", scenario=base.replace(restoration_boundary_weight=0.1))
    _, _, without = read_plan(tmp_path / "without.gpkg")
    _, _, penalised = read_plan(tmp_path / "with.gpkg")
    assert without["lp_path"] == "structured" and not without["lp_path_reason"]
    assert penalised["lp_path"] == "generic"
    assert "restoration_boundary_above" in penalised["lp_path_reason"]
    assert "one-row-per-parcel" in penalised["lp_path_reason"]


def test_figures_from_the_shares() -> None:
    # a 1 × 4 row, 1 km edges: restored, restored, not, restored → two patches, boundary 1 + 1 km
    geometry = gpd.GeoSeries(shapely.box(ORIGIN[0] + 1000.0 * np.arange(4), ORIGIN[1],
                                         ORIGIN[0] + 1000.0 * np.arange(1, 5), ORIGIN[1] + 1000.0), crs=CRS)
    adjacency = parcel_adjacency(geometry)
    area = np.full(4, 100.0)
    figures = connectivity_figures(adjacency, area, np.array([1.0, 0.8, 0.0, 0.6]))
    assert figures["restored_boundary_km"] == pytest.approx(0.2 + 0.8 + 0.6, rel=1e-3)
    assert figures["restored_patches"] == 2 and figures["largest_patch_ha"] == pytest.approx(180.0)
    assert figures["restored_outside_patches_ha"] == 0.0
    # spread thinly: no boundary between the parcels, no patch, all of it outside patches
    thin = connectivity_figures(adjacency, area, np.full(4, 0.4))
    assert thin == {"restored_boundary_km": 0.0, "restored_patches": 0.0, "largest_patch_ha": 0.0,
                    "restored_outside_patches_ha": pytest.approx(160.0)}
    nothing = connectivity_figures(adjacency, area, np.zeros(4))
    assert nothing == {"restored_boundary_km": 0.0, "restored_patches": 0.0, "largest_patch_ha": 0.0,
                       "restored_outside_patches_ha": 0.0}


def test_component_labels_join_chains_and_leave_islands_alone() -> None:
    from dualuse.model.connectivity import component_labels

    # 0-1-2 a chain given back to front, 3 alone, 4-5 a pair, 6-7-8 a triangle
    labels = component_labels(9, np.array([2, 1, 5, 6, 7, 8]), np.array([1, 0, 4, 7, 8, 6]))
    assert labels.tolist() == [0, 0, 0, 3, 4, 4, 6, 6, 6]
    assert component_labels(3, np.zeros(0, dtype=int), np.zeros(0, dtype=int)).tolist() == [0, 1, 2]
