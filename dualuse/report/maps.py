"""The land-use map of a plan: each parcel coloured by its dominant use, with legend, scale bar and north arrow.

The map draws one compound path per use (all parcels of a use in one
:class:`matplotlib.path.Path`), never one artist per parcel, so a plan of
100,000 parcels draws in seconds.  Geometry in degrees (or feet) is drawn in
the UTM zone of the region, so that the scale bar is in metres.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredOffsetbox, AuxTransformBox
from matplotlib.patches import FancyArrow, Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from pyproj import CRS, Transformer

from dualuse.palette import PV_SHARE_SHOWN, PV_USES, USE_COLOURS, USE_LABELS
from dualuse.report.figure import (
    DPI,
    INK,
    LABELLED_COMMUNITIES,
    MUTED,
    STYLE,
    Figure,
    render,
)
from dualuse.vocabulary import USES

#: Maps of more parcels than this are drawn at a higher resolution [dpi], so that parcels stay visible.
FINE_MAP_PARCELS, FINE_MAP_DPI = 20_000, 220
#: Parcels are outlined up to this many, where each is several pixels wide.
OUTLINED_PARCELS = 6000
#: Width of the map and of the panel beside it (legend, scale bar, north arrow, notes) [in].
MAP_WIDTH_IN, SIDE_WIDTH_IN = 7.4, 2.9
#: The map's height is its width × the region's aspect, within these bounds [in].
MAP_HEIGHT_IN = (3.5, 9.5)


@dataclass(frozen=True)
class MapFrame:
    """Geometry ready to draw: in a metre CRS where the input allows, with its north direction."""

    geometry: np.ndarray  # shapely geometries
    crs: CRS | None
    metres: bool  # coordinates are metres: a scale bar can be drawn
    north_deg: float  # direction of true north, degrees clockwise from the map's up


def map_frame(geometry: gpd.GeoSeries) -> MapFrame:
    """Geometry in a CRS fit for a map with a scale bar.

    A projected CRS in metres is kept as it is; a geographic CRS, or one in
    feet, is reprojected to the UTM zone of the region.  Without a CRS the
    geometry is drawn as it is, with neither scale bar nor north arrow.
    """
    crs = geometry.crs
    if crs is None:
        return MapFrame(np.asarray(geometry.array), None, False, math.nan)
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        utm = geometry.estimate_utm_crs()
        geometry = geometry.to_crs(utm)
        crs = utm
    return MapFrame(np.asarray(geometry.array), CRS.from_user_input(crs), True, _north_deg(geometry, crs))


def _north_deg(geometry: gpd.GeoSeries, crs: CRS) -> float:
    """Direction of true north at the map's centre, degrees clockwise from the map's up (grid north)."""
    x0, y0, x1, y1 = geometry.total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    to_geo = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    from_geo = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    lon, lat = to_geo.transform(cx, cy)
    nx, ny = from_geo.transform(lon, min(lat + 0.01, 89.99))
    return math.degrees(math.atan2(nx - cx, ny - cy))


def use_paths(geometry: np.ndarray, use: np.ndarray, names: Sequence[str] = USES) -> dict[str, MplPath]:
    """One compound path per use (or per class of ``names``, the labels of ``use``): every ring of every
    parcel of that use, exteriors counter-clockwise and holes clockwise, so that holes stay empty under
    either fill rule."""
    oriented = shapely.orient_polygons(geometry, exterior_cw=False)
    parts, part_parcel = shapely.get_parts(oriented, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of_vertex = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    if len(coords):
        first = np.r_[True, ring_of_vertex[1:] != ring_of_vertex[:-1]]
        last = np.r_[ring_of_vertex[1:] != ring_of_vertex[:-1], True]
        codes[first] = MplPath.MOVETO
        codes[last] = MplPath.CLOSEPOLY
    vertex_use = np.asarray(use, dtype=object)[part_parcel[ring_part[ring_of_vertex]]] if len(coords) else \
        np.array([], dtype=object)
    out: dict[str, MplPath] = {}
    for name in names:
        mask = vertex_use == name
        if mask.any():
            out[name] = MplPath(coords[mask], codes[mask])
    return out


def _nice_length(span_m: float) -> float:
    """A round scale-bar length, about a quarter of the map's width [m]."""
    target = span_m / 4.0
    exponent = math.floor(math.log10(target))
    for mantissa in (5, 2, 1):
        length = mantissa * 10.0 ** exponent
        if length <= target:
            return length
    return 10.0 ** exponent


def _length_label(metres: float) -> str:
    """A scale-bar label: metres below 1 km, else km."""
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def _draw_scale_bar(ax: Axes, length_m: float, anchor: tuple[float, float]) -> None:
    """A bar of four alternating segments, ``length_m`` long in ``ax``'s data units (metres), drawn in the
    figure at ``anchor`` (axes fraction of ``ax``, lower left), so it may sit outside the map."""
    bar_h = (ax.get_ylim()[1] - ax.get_ylim()[0]) * 0.012
    box = AuxTransformBox(ax.transData)
    for k in range(4):
        box.add_artist(Rectangle((k * length_m / 4, 0.0), length_m / 4, bar_h,
                                 facecolor=INK if k % 2 == 0 else "white", edgecolor=INK, linewidth=0.6))
    for position, text in ((0.0, "0"), (0.5, _length_label(length_m / 2)), (1.0, _length_label(length_m))):
        box.add_artist(Text(position * length_m, bar_h * 1.9, text, ha="center", va="bottom", fontsize=7.5))
    anchored = AnchoredOffsetbox(loc="lower left", child=box, pad=0.0, borderpad=0.0, frameon=False,
                                 bbox_to_anchor=anchor, bbox_transform=ax.transAxes)
    anchored.set_clip_on(False)
    ax.add_artist(anchored)


def _draw_north_arrow(ax: Axes, north_deg: float) -> None:
    """A north arrow filling the square axes ``ax``, turned to true north."""
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    ax.set_aspect("equal")
    ax.axis("off")
    dx, dy = 1.2 * math.sin(math.radians(north_deg)), 1.2 * math.cos(math.radians(north_deg))
    ax.add_patch(FancyArrow(-dx / 2 - 0.35 * dx, -dy / 2 - 0.35 * dy, dx, dy, width=0.16, head_width=0.55,
                            head_length=0.55, length_includes_head=True, facecolor=INK, edgecolor=INK,
                            linewidth=0.5))
    ax.text(dx * 0.32, dy * 0.32, "N", ha="center", va="center", fontsize=10, fontweight="bold",
            rotation=-north_deg, rotation_mode="anchor")


class _LegendEntry(NamedTuple):
    """One line of the map's legend: the symbol, its short label, and the text shown (with area or count)."""

    handle: Any
    label: str
    text: str


@dataclass(frozen=True)
class _MapLayout:
    """Where the map sits: its data bounds (with a margin) and its size on the page."""

    bounds: tuple[float, float, float, float]  # x0, y0, x1, y1 in the map's coordinates
    height_in: float
    squeezed: bool  # the region is too tall or too wide for the page: the data limits give way

    @property
    def width_in(self) -> float:
        """The whole figure's width, map and side panel [in]."""
        return MAP_WIDTH_IN + SIDE_WIDTH_IN

    @property
    def map_fraction(self) -> float:
        """The map's share of the figure's width."""
        return MAP_WIDTH_IN / (MAP_WIDTH_IN + SIDE_WIDTH_IN)


def land_use_map(geometry: gpd.GeoSeries, use: np.ndarray, area_by_use_ha: dict[str, float],
                 communities: gpd.GeoDataFrame | None = None, title: str = "Land use in the plan",
                 pv_share: np.ndarray | None = None, other_label: str | None = None) -> Figure:
    """The plan's map: each parcel coloured by its dominant use, with scale bar, north arrow and legend.

    Parameters
    ----------
    geometry : GeoSeries — parcel polygons, any CRS
    use : ndarray of str — dominant use per parcel
    area_by_use_ha : dict — area allocated to each use [ha], for the legend
    communities : GeoDataFrame, optional — community points (``community_id``, ``unserved_households``)
    pv_share : ndarray, optional — share of each parcel under solar or agrivoltaics; parcels with some PV
      where it is not the dominant use get a marker, so that small PV sites show on the map
    title : str — the map's title
    other_label : str, optional — draw the parcels whose ``use`` is none of the uses as white outlines, with
      this legend label (without it they are not drawn)

    Returns
    -------
    Figure
        ``legend`` lists the legend labels; ``data['uses']`` the uses drawn; ``data['scale_bar_m']``
        the scale bar's length [m] (NaN without one).
    """
    frame = map_frame(geometry)
    paths = use_paths(frame.geometry, use)
    layout = _map_layout(frame.geometry)
    n = len(frame.geometry)
    with matplotlib.rc_context(STYLE):
        fig = MplFigure(figsize=(layout.width_in, layout.height_in))
        ax = _map_axes(fig, layout)
        entries = []
        if other_label is not None:
            entries += _draw_others(ax, frame, use, other_label)
        _draw_uses(ax, paths, outlined=n <= OUTLINED_PARCELS)
        entries = _use_entries(paths, area_by_use_ha) + entries
        if pv_share is not None:
            entries += _draw_partial_pv(ax, frame, use, pv_share)
        if communities is not None and len(communities):
            _draw_communities(ax, communities, frame)
            entries.append(_LegendEntry(Line2D([], [], marker="o", linestyle="none", markersize=7,
                                               markerfacecolor="white", markeredgecolor=INK, markeredgewidth=1.2),
                                        "Community", "Community"))
        ax.set_title(title, fontsize=12, loc="left")
        bar_m = _draw_side_panel(fig, ax, layout, frame, entries)
        png = render(fig, dpi=FINE_MAP_DPI if n > FINE_MAP_PARCELS else DPI)
    return Figure("map", title, png, legend=[e.label for e in entries],
                  data={"uses": [u for u in USES if u in paths], "scale_bar_m": bar_m,
                        "north_deg": frame.north_deg, "crs": None if frame.crs is None else frame.crs.to_string()})


def _map_layout(geometry: np.ndarray) -> _MapLayout:
    """The map's bounds, 3 % of its larger side beyond the parcels, and its height for the region's aspect."""
    x0, y0, x1, y1 = shapely.total_bounds(geometry)
    margin = 0.03 * max(x1 - x0, y1 - y0, 1e-9)
    bounds = (x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    aspect = (bounds[3] - bounds[1]) / max(bounds[2] - bounds[0], 1e-9)
    low, high = MAP_HEIGHT_IN
    height_in = float(np.clip(MAP_WIDTH_IN * aspect, low, high))
    return _MapLayout(bounds, height_in, squeezed=aspect * MAP_WIDTH_IN > high or aspect * MAP_WIDTH_IN < low)


def _map_axes(fig: MplFigure, layout: _MapLayout) -> Axes:
    """The map's axes: equal scale on both axes, no ticks, a thin frame."""
    ax = fig.add_axes((0.0, 0.0, layout.map_fraction, 1.0))
    ax.set_aspect("equal")
    ax.set_xlim(layout.bounds[0], layout.bounds[2])
    ax.set_ylim(layout.bounds[1], layout.bounds[3])
    if layout.squeezed:
        ax.set_adjustable("datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("#7a7a7a")
    return ax


def _draw_uses(ax: Axes, paths: dict[str, MplPath], outlined: bool) -> None:
    """Fill each use's compound path in its palette colour, outlined in white where parcels are large enough."""
    for name, path in paths.items():
        # add_artist, not add_patch: the limits are set already, and add_patch would walk every vertex in
        # Python to update them
        ax.add_artist(PathPatch(path, facecolor=USE_COLOURS[name], edgecolor="white" if outlined else "none",
                                linewidth=0.25 if outlined else 0.0, antialiased=True, zorder=2))


def _draw_others(ax: Axes, frame: MapFrame, use: np.ndarray, label: str) -> list[_LegendEntry]:
    """Outline the parcels whose use is none of the uses in grey, on white; their legend entry."""
    others = ~np.isin(np.asarray(use, dtype=object), USES)
    if not others.any():
        return []
    path = use_paths(frame.geometry[others], np.full(int(others.sum()), USES[0], dtype=object))[USES[0]]
    ax.add_artist(PathPatch(path, facecolor="white", edgecolor="#9a9a9a", linewidth=0.3, antialiased=True, zorder=1))
    return [_LegendEntry(Patch(facecolor="white", edgecolor="#9a9a9a", linewidth=0.4), label,
                         f"{label}\n{int(others.sum()):,} parcels")]


def _use_entries(paths: dict[str, MplPath], area_by_use_ha: dict[str, float]) -> list[_LegendEntry]:
    """A legend entry for each use on the map, with its area [ha]."""
    return [_LegendEntry(Patch(facecolor=USE_COLOURS[name], edgecolor="#7a7a7a", linewidth=0.4), USE_LABELS[name],
                         f"{USE_LABELS[name]}\n{area_by_use_ha.get(name, 0.0):,.0f} ha")
            for name in USES if name in paths]


def _draw_partial_pv(ax: Axes, frame: MapFrame, use: np.ndarray, pv_share: np.ndarray) -> list[_LegendEntry]:
    """Mark the parcels with some PV (at least 0.5 %) whose dominant use is not PV; their legend entry."""
    partial = (np.asarray(pv_share, dtype=float) >= PV_SHARE_SHOWN) & ~np.isin(use, PV_USES)
    if not partial.any():
        return []
    centres = shapely.centroid(frame.geometry[partial])
    few = partial.sum() <= 100
    ax.scatter(shapely.get_x(centres), shapely.get_y(centres), marker="D", s=16 if few else 7,
               facecolor=USE_COLOURS["solar"], edgecolor=INK, linewidth=0.5 if few else 0.3, zorder=6)
    handle = Line2D([], [], marker="D", linestyle="none", markersize=5, markerfacecolor=USE_COLOURS["solar"],
                    markeredgecolor=INK, markeredgewidth=0.5)
    return [_LegendEntry(handle, "PV on part of a parcel", f"PV on part of a parcel\n{int(partial.sum()):,} parcels")]


def _draw_communities(ax: Axes, communities: gpd.GeoDataFrame, frame: MapFrame) -> None:
    points = communities
    if frame.crs is not None and points.crs is not None and CRS.from_user_input(points.crs) != frame.crs:
        points = points.to_crs(frame.crs)
    geometry = np.asarray(points.geometry.array)
    valid = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    if not valid.any():
        return
    centres = shapely.centroid(geometry[valid])
    x, y = shapely.get_x(centres), shapely.get_y(centres)
    few = valid.sum() <= LABELLED_COMMUNITIES
    ax.scatter(x, y, s=38 if few else 9, facecolor="white", edgecolor=INK, linewidth=1.2 if few else 0.6, zorder=7)
    if few and "community_id" in points:
        names = points["community_id"].astype(str).to_numpy()[valid]
        for xi, yi, name in zip(x, y, names):
            ax.annotate(name, (xi, yi), xytext=(5, 4), textcoords="offset points", fontsize=7.5, zorder=8,
                        fontweight="bold", path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")])


def _draw_side_panel(fig: MplFigure, ax: Axes, layout: _MapLayout, frame: MapFrame,
                     entries: list[_LegendEntry]) -> float:
    """Beside the map: the legend, the scale bar and north arrow (in metres only), and notes on areas and
    projection.  Returns the scale bar's length [m], NaN without one."""
    side = fig.add_axes((layout.map_fraction + 0.025, 0.0, 2.7 / layout.width_in, 1.0))
    side.axis("off")
    side.legend([e.handle for e in entries], [e.text for e in entries], loc="upper left",
                title="Dominant use of each parcel", title_fontproperties={"weight": "bold", "size": 9},
                alignment="left", handlelength=1.6, handleheight=1.3, labelspacing=0.9, fontsize=8.5,
                borderaxespad=0.3)
    bar_m = math.nan
    if frame.metres:
        bar_m = _nice_length(layout.bounds[2] - layout.bounds[0])
        _draw_scale_bar(ax, bar_m, (1.045, 0.2))
        arrow_in = 0.6  # side of the north arrow's square [in]
        _draw_north_arrow(fig.add_axes((layout.map_fraction + 0.03, 0.2 + 0.4 / layout.height_in,
                                        arrow_in / layout.width_in, arrow_in / layout.height_in)), frame.north_deg)
    side.text(0.0, 0.0, "\n".join(_map_notes(frame)), transform=side.transAxes, fontsize=7, color=MUTED,
              va="bottom")
    return bar_m


def _map_notes(frame: MapFrame) -> list[str]:
    """The lines of small print under the legend: parcels, how areas count, the projection, the arrow."""
    crs_text = f"{frame.crs.name}" + (f" (EPSG:{frame.crs.to_epsg()})" if frame.crs.to_epsg() else "") \
        if frame.crs is not None else "no coordinate reference system"
    notes = [f"{len(frame.geometry):,} parcels; areas count every", "share of every parcel.", "Projection:",
             *textwrap.wrap(crs_text, 40)]
    if frame.metres:
        notes.append("Arrow: true north.")
    return notes
