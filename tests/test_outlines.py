"""The lean read of a region equals the straightforward one: areas from shared ring vertices against GEOS on
exactly projected geometries, the hashed edge groups against exact coordinate grouping (also when every hash
collides), and the community and drought-id lookups against pandas and ``str``."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from dualuse.inputs import edges
from dualuse.inputs.areas import projected_area_m2
from dualuse.inputs.checks import finite_coordinates
from dualuse.inputs.convex import certainly_valid
from dualuse.inputs.drought_arrow import _as_text
from dualuse.inputs.outlines import polygon_outlines
from dualuse.inputs.overlaps import _directed_edges, candidate_pairs
from dualuse.inputs.region import _community_index
from dualuse.inputs.schema import equal_area_ha


def _awkward(x0: float, y0: float, unit: float) -> list:
    """Holes, a multipolygon with a hole, a sliver, a many-sided ring, an empty polygon and a missing one."""
    square = box(x0, y0, x0 + 10 * unit, y0 + 10 * unit)
    holed = Polygon(square.exterior, [box(x0 + unit, y0 + unit, x0 + 3 * unit, y0 + 3 * unit).exterior,
                                      box(x0 + 5 * unit, y0 + 5 * unit, x0 + 9 * unit, y0 + 6 * unit).exterior])
    shifted = shapely.affinity.translate(holed, 40 * unit, 0)
    multi = MultiPolygon([shifted, box(x0 + 60 * unit, y0, x0 + 61 * unit, y0 + 70 * unit)])
    sliver = box(x0, y0 + 20 * unit, x0 + 30 * unit, y0 + 20.01 * unit)
    many = shapely.Point(x0 + 20 * unit, y0 + 50 * unit).buffer(7 * unit, quad_segs=64)
    triangle = Polygon([(x0, y0 - 5 * unit), (x0 + 9 * unit, y0 - 4 * unit), (x0 + 2 * unit, y0 - unit)])
    return [square, holed, multi, sliver, many, triangle, Polygon(), None]


CASES = {
    "UTM 32N": (_awkward(500_000.0, 1_500_000.0, 30.0), "EPSG:32632"),
    "UTM 33S, far from the origin": (_awkward(200_000.0, 9_000_000.0, 50.0), "EPSG:32733"),
    # 12°E is the edge of zone 32: at 45°N it lies about 736 km east; these parcels reach into zone 33
    "across a UTM zone boundary": (_awkward(734_000.0, 4_985_000.0, 300.0), "EPSG:32632"),
    "geographic": (_awkward(12.0, -3.0, 1e-3), "EPSG:4326"),
    "geographic, across the antimeridian": (_awkward(179.95, 10.0, 1e-3), "EPSG:4326"),
}


@pytest.mark.parametrize("case", CASES)
def test_areas_equal_geos_on_exactly_projected_vertices(case: str) -> None:
    shapes, crs = CASES[case]
    series = gpd.GeoSeries(shapes, crs=crs)
    reference = np.array(series.to_crs("EPSG:6933").area, dtype=float)
    reference[series.isna().to_numpy()] = np.nan
    area_m2 = projected_area_m2(np.asarray(series.array, dtype=object), crs, "EPSG:6933")
    assert area_m2 is not None
    np.testing.assert_allclose(area_m2, reference, rtol=1e-9, atol=0.0, equal_nan=True)
    if case != "geographic, across the antimeridian":  # there equal_area_ha measures on 0–360° longitudes
        np.testing.assert_allclose(equal_area_ha(series) * 1e4, reference, rtol=1e-9, equal_nan=True)
    assert area_m2[-2] == 0.0 and np.isnan(area_m2[-1])


def test_areas_across_the_antimeridian_equal_the_parcels_moved_east() -> None:
    shapes, crs = CASES["geographic, across the antimeridian"]
    series = gpd.GeoSeries(shapes, crs=crs)
    east = gpd.GeoSeries(shapely.transform(np.asarray(series.array, dtype=object),
                                           lambda xy: np.where(xy[:, :1] < 0, xy + [360.0, 0.0], xy)), crs=crs)
    assert (shapely.bounds(np.asarray(series.array, dtype=object))[:-2, 2] > 180.0).any()
    expected = np.array(east.to_crs("+proj=cea +lat_ts=30 +lon_0=180 +datum=WGS84 +units=m").area) / 1e4
    expected[-1] = np.nan
    np.testing.assert_allclose(equal_area_ha(series), expected, rtol=1e-9, equal_nan=True)


def test_outlines_hold_every_ring_once() -> None:
    shapes, _ = CASES["UTM 32N"]
    geometry = np.asarray(shapes, dtype=object)
    outlines = polygon_outlines(geometry)
    assert outlines is not None and outlines.n_geometries == len(shapes)
    assert outlines.n_rings == 1 + 3 + (3 + 1) + 1 + 1 + 1  # square, holed, multi, sliver, many, triangle
    assert outlines.exterior.sum() == 1 + 1 + 2 + 1 + 1 + 1
    counts = np.diff(outlines.ring_start)
    assert counts.sum() == len(outlines.xy) == shapely.get_num_coordinates(geometry[:-1]).sum()
    assert polygon_outlines(np.array([box(0, 0, 1, 1), shapely.Point(0, 0)], dtype=object)) is None


def _reference_groups(coords: np.ndarray, start: np.ndarray, end: np.ndarray) -> set[frozenset]:
    """The edges grouped by their two ends' exact coordinates, each group split by direction."""
    _, vertex = np.unique(np.ascontiguousarray(coords).view(np.complex128).ravel(), return_inverse=True)
    a, b = vertex[start], vertex[end]
    groups: dict[tuple[int, int], dict[bool, set[int]]] = {}
    for k, (p, q) in enumerate(zip(a.tolist(), b.tolist())):
        groups.setdefault((min(p, q), max(p, q)), {}).setdefault(p < q, set()).add(k)
    return {frozenset(frozenset(d) for d in by.values()) for by in groups.values()}


def _groups(order: np.ndarray, group: np.ndarray, forward: np.ndarray) -> set[frozenset]:
    found: dict[int, dict[bool, set[int]]] = {}
    for k, g, f in zip(order.tolist(), group.tolist(), forward.tolist()):
        found.setdefault(g, {}).setdefault(f, set()).add(k)
    return {frozenset(frozenset(d) for d in by.values()) for by in found.values()}


@pytest.fixture(scope="module")
def tiling() -> np.ndarray:
    """A 12 × 12 tiling with planted overlaps, a duplicate, a hole, a multipolygon and a −0.0 coordinate."""
    cells = [box(i * 100.0, j * 100.0, (i + 1) * 100.0, (j + 1) * 100.0) for i in range(12) for j in range(12)]
    cells[0] = Polygon([(-0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)])
    cells[5] = cells[5].buffer(7.0, join_style="mitre")
    cells[30] = shapely.affinity.translate(cells[30], 30.0, 0.0)
    cells[40] = cells[41]
    cells[50] = Polygon(cells[50].exterior, [box(420.0, 220.0, 460.0, 260.0).exterior])
    cells[60] = MultiPolygon([cells[60], box(2000.0, 0.0, 2100.0, 100.0)])
    cells[61] = Polygon(list(reversed(cells[61].exterior.coords)))  # clockwise
    return np.asarray(cells, dtype=object)


@pytest.mark.parametrize("hash_kind", ["splitmix", "colliding", "constant"])
def test_edge_groups_are_the_exact_coordinate_groups(tiling: np.ndarray, hash_kind: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if hash_kind == "colliding":
        monkeypatch.setattr(edges, "_mix", lambda h: h & np.uint64(0x7))
    elif hash_kind == "constant":
        monkeypatch.setattr(edges, "_mix", lambda h: h * np.uint64(0))
    outlines = polygon_outlines(tiling)
    start, end, _ = _directed_edges(outlines)
    order, group, forward = edges.edge_groups(outlines.xy, start, end)
    assert np.array_equal(np.sort(order), np.arange(start.size))
    assert np.all(np.diff(group) >= 0) and group[0] == 0
    assert _groups(order, group, forward) == _reference_groups(outlines.xy, start, end)


def test_candidate_pairs_hold_every_overlap(tiling: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = {tuple(p) for p in candidate_pairs(tiling).tolist()}
    n = len(tiling)
    i, j = np.triu_indices(n, 1)
    overlap = shapely.area(shapely.intersection(tiling[i], tiling[j]))
    real = {(a, b) for a, b, o in zip(i.tolist(), j.tolist(), overlap) if o > 1e-6}
    assert real and real <= pairs
    monkeypatch.setattr(edges, "_mix", lambda h: h & np.uint64(0x3))
    assert {tuple(p) for p in candidate_pairs(tiling).tolist()} == pairs


@pytest.mark.parametrize("arrow", [True, False])
def test_community_lookup_equals_pandas(arrow: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    import dualuse.inputs.region as region_module

    monkeypatch.setattr(region_module, "has_extra", lambda name: arrow)
    names = pd.Series(["a", "b ", " ", "ç", "c"], dtype="string")
    ids = pd.Series(["a", "b", "b ", None, "", "  ", "\u2003", "\x1c", "x", "ç", " ", "c", "C"], dtype="string")
    index, has = _community_index(ids, names)
    expected_has = ids.notna().to_numpy() & (ids.str.strip() != "").fillna(False).to_numpy()
    expected_index = pd.Index(names).get_indexer(ids)
    np.testing.assert_array_equal(has, expected_has)
    np.testing.assert_array_equal(np.where(has, index, -1), np.where(expected_has, expected_index, -1))


@pytest.mark.parametrize("values", [["p1", "p2", "ç"], [1, 2, 3], ["p1", 2], ["p1", None], [np.str_("q"), "r"],
                                    [b"p1", "p2"], [1.5, np.nan]])
def test_drought_ids_as_text_equal_str(values: list) -> None:
    import pyarrow as pa

    array = np.empty(len(values), dtype=object)
    array[:] = values
    assert _as_text(array, pa.large_string()).to_pylist() == [str(v) for v in values]


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_finite_coordinates() -> None:
    geometry = np.asarray([box(0, 0, 1, 1), Polygon([(0, 0), (np.nan, 0), (1, 1)]), box(0, 0, np.inf, 1),
                           box(2, 2, 3, 3)], dtype=object)
    np.testing.assert_array_equal(finite_coordinates(geometry), [True, False, False, True])
    np.testing.assert_array_equal(finite_coordinates(geometry[[0, 3]]), [True, True])


def test_convex_polygons_cleared_without_geos_are_valid() -> None:
    """Random triangles and quadrilaterals on a coarse grid (many collinear and repeated vertices, bowties,
    spikes) and near-collinear ones at large coordinates: every polygon the vertex test clears is valid for GEOS,
    and it clears the plainly convex ones."""
    rng = np.random.default_rng(7)
    shapes = []
    for k in (3, 4):
        corners = rng.integers(0, 4, size=(3000, k, 2)).astype(float)
        shapes += [Polygon(c) for c in corners]
        near = 5e5 + rng.integers(0, 3, size=(1000, k, 2)) * 1e-9 + np.array([0.0, 1e6])
        shapes += [Polygon(c) for c in near]
    shapes += [box(x, x, x + 1, x + 2) for x in range(20)] + [Polygon([(0, 0), (2, 0), (1, 1e-12)])]
    shapes += [Polygon(list(reversed(box(0, 0, 1, 1).exterior.coords))), Polygon([(0, 0), (1, 0), (1, 0), (0, 1)])]
    shapes += [box(0, 0, 3, 3).difference(box(1, 1, 2, 2)), MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)])]
    geometry = np.asarray(shapes, dtype=object)
    outlines = polygon_outlines(geometry)
    cleared = certainly_valid(outlines)
    valid = shapely.is_valid(geometry)
    assert not (cleared & ~valid).any()
    assert cleared[-25:-5].all() and cleared[-4] and not cleared[-3] and not cleared[-2:].any()
    assert valid[cleared].size > 1000 and (~valid).sum() > 1000
    uniform = polygon_outlines(np.asarray([box(0, 0, 1, 1), box(1, 0, 2, 1), Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])],
                                          dtype=object))
    np.testing.assert_array_equal(certainly_valid(uniform), [True, True, False])
