"""One colour per use, shared by the QGIS style and every figure, so map and report agree."""

from __future__ import annotations

from dualuse.vocabulary import USES

#: Hex colours per use: colour-blind-distinguishable (Okabe–Ito based), readable on white.
USE_COLOURS: dict[str, str] = {
    "current": "#d9d9d9",      # light grey: unchanged land
    "solar": "#e69f00",        # orange: utility PV
    "agrivoltaic": "#0072b2",  # blue: PV over crops or pasture
    "grazing": "#f0e442",      # yellow: managed rangeland
    "restoration": "#009e73",  # green: restored land
}
USE_LABELS: dict[str, str] = {
    "current": "Current use",
    "solar": "Utility solar PV",
    "agrivoltaic": "Agrivoltaics",
    "grazing": "Sustainable grazing",
    "restoration": "Ecological restoration",
}

assert tuple(USE_COLOURS) == USES


def rgb(hex_colour: str) -> tuple[int, int, int]:
    """'#rrggbb' as an (r, g, b) tuple of 0–255 integers."""
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
