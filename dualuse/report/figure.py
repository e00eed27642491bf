"""The report's figure record and the look every figure shares: ink colours, fonts, resolution, PNG rendering.

Figures are drawn with matplotlib's Agg renderer into a
:class:`matplotlib.figure.Figure` (no pyplot, no global state) and returned
as a :class:`Figure` record: the PNG bytes and what was drawn (legend
entries, plotted values), so that tests can check a figure against its data.
Colours per use come from :mod:`dualuse.palette`, the same as the QGIS style.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)

from matplotlib.figure import Figure as MplFigure  # noqa: E402

#: Ink colours of every chart (not per use: those are in the palette).
INK = "#222222"
MUTED = "#6b6b6b"
GRID = "#e4e4e4"
TODAY = "#b8b8b8"
PLAN = "#1f4e79"
GAIN = "#1a9641"   # the palette's LDN "improving" green
LOSS = "#d7191c"   # the palette's LDN "degraded" red
DPI = 150
#: Communities are named on the map, and drawn one bar each in the access chart, up to this many;
#: beyond, the access chart shows the :data:`CHARTED_COMMUNITIES` with the most demand.
LABELLED_COMMUNITIES, CHARTED_COMMUNITIES = 40, 25

#: The matplotlib settings of every figure.
STYLE: dict[str, Any] = {
    "text.parse_math": False,  # user text (community names, scenario names) is drawn as written: "$5 well"
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#9a9a9a",
    "axes.linewidth": 0.6,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelcolor": INK,
    "ytick.labelcolor": INK,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "legend.frameon": False,
    "savefig.facecolor": "white",
}


@dataclass
class Figure:
    """A rendered figure.

    Attributes
    ----------
    name : str — short name, used for the PNG file (``<report>_<name>.png``)
    title : str — caption title
    png : bytes — the PNG image
    legend : list of str — the legend entries drawn, in order
    data : dict — the values plotted, by series name
    """

    name: str
    title: str
    png: bytes
    legend: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def render(fig: MplFigure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes, cropped to what is drawn."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.15,
                metadata={"Software": "dualuse"})
    return buffer.getvalue()
